"""``tessera purge WS``: delete observations past their retention period (``retention``
in ``tessera.yaml``), record the purge in the audit log and rebuild."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def purge_cmd(
    workspace: Annotated[Path, typer.Argument(help="Workspace folder.", show_default=False)],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; change nothing.")
    ] = False,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Who purges: an account holding manage_users (default: the local "
            "operator, local.<login name>).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Delete observations older than their kind's retention period and rebuild."""
    from rich.table import Table

    from tessera.accounts.cli import local_operator
    from tessera.cli import _console, _fail
    from tessera.errors import TesseraError
    from tessera.retention import purge
    from tessera.workspace import Workspace

    try:
        with Workspace.open(workspace) as ws:
            if not ws.config.retention:
                _fail(
                    TesseraError(
                        f"{workspace} sets no retention periods; add e.g. "
                        "`retention: {device_event: 90d}` to tessera.yaml"
                    )
                )
            report = purge(ws, by=by or local_operator(), dry_run=dry_run)
    except TesseraError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    verb = "would delete" if dry_run else "deleted"
    table = Table(title=f"purge: {verb} {report.total:,} rows", title_justify="left")
    for col in ("kind", "period", "cutoff (UTC)", "rows", "quarantined"):
        table.add_column(col, justify="right" if col in {"rows", "quarantined"} else "left")
    for k in report.kinds:
        table.add_row(
            k.kind,
            k.period,
            k.cutoff.strftime("%Y-%m-%d %H:%M"),
            f"{k.rows:,}",
            f"{k.quarantined:,}",
        )
    console = _console()
    console.print(table)
    if not dry_run:
        console.print(f"audit entry {report.audit_seq}; rebuilt {len(report.rebuilt)} stages")
