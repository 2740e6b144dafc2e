"""``tessera audit flags WS``: unusual access (see :mod:`tessera.audit.watch`),
registered on the ``tessera audit`` sub-app."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tessera.audit.cli import _parse_time, audit_app
from tessera.cli_options import JsonOption, WorkspaceArg


@audit_app.command("flags")
def flags_cmd(
    workspace: WorkspaceArg,
    since: Annotated[
        str | None, typer.Option(help="Only entries at or after this ISO time (UTC if no zone).")
    ] = None,
    window_min: Annotated[
        int, typer.Option("--window-min", min=1, help="Window for unrelated reads (minutes).")
    ] = 60,
    min_unrelated: Annotated[
        int, typer.Option("--min-unrelated", min=2, help="Unrelated people that raise a flag.")
    ] = 10,
    work_start: Annotated[int, typer.Option(min=0, max=23, help="Working day starts (hour).")] = 7,
    work_end: Annotated[int, typer.Option(min=1, max=24, help="Working day ends (hour).")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Flag unusual access: many unrelated people read in a short time, lookups outside
    working hours (local time of the workspace)."""
    import datetime as dt

    from rich.table import Table
    from rich.text import Text

    from tessera.audit.watch import flags
    from tessera.cli import _console, _fail
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    start = _parse_time(since, "--since")
    try:
        with Workspace.open(workspace, read_only=True) as ws:
            found = flags(
                ws,
                since=start,
                window=dt.timedelta(minutes=window_min),
                min_unrelated=min_unrelated,
                work_start=work_start,
                work_end=work_end,
            )
    except TesseraError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps([f.as_dict() for f in found], indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(found)} flags", title_justify="left")
    for col in ("user", "kind", "from (UTC)", "to (UTC)", "count", "entries", "detail"):
        table.add_column(col, overflow="fold")
    for f in found:
        table.add_row(
            Text(f.user),
            f.kind,
            f.start.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"),
            f.end.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"),
            str(f.count),
            ",".join(str(s) for s in f.seqs),
            Text(f.detail),
        )
    _console().print(table)
