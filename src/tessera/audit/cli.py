"""``tessera audit``: check and list a workspace's audit log.

The sub-app is mounted on the main app with ``app.add_typer(audit_app, name="audit")``.
It imports only Typer at module level; the shared helpers of ``tessera.cli``
(``_console``, ``_fail``) are imported inside the commands, so that ``tessera.cli`` can
import this module without a cycle.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Annotated

import typer

from tessera.cli_options import JsonOption, WorkspaceArg, command_app

if TYPE_CHECKING:
    from tessera.audit.log import AuditEntry

audit_app = command_app(
    "audit", "Check and list the audit log of reads (who, which case, which legal basis)."
)


@audit_app.command("verify")
def verify_cmd(workspace: WorkspaceArg, as_json: JsonOption = False) -> None:
    """Check the audit log's hash chain and head file; exit 1 naming each problem."""
    from rich.table import Table
    from rich.text import Text

    from tessera.audit.log import AuditLog
    from tessera.cli import _console, _fail
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    try:
        with Workspace.open(workspace, read_only=True) as ws:
            result = AuditLog.of(ws).verify()
    except TesseraError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
    elif result.ok:
        head = f", head {result.head.hash[:16]}..." if result.head else ""
        _console().print(f"audit log intact: {_entries(result.entries)}{head}")
    else:
        console = _console()
        console.print(
            Text(
                f"audit log FAILED verification: {len(result.problems)} problem(s) in "
                f"{_entries(result.entries)}",
                style="bold red",
            )
        )
        table = Table(title_justify="left")
        table.add_column("seq", justify="right")
        table.add_column("problem")
        for p in result.problems:
            table.add_row("-" if p.seq is None else str(p.seq), Text(p.reason))
        console.print(table)
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("list")
def list_cmd(
    workspace: WorkspaceArg,
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only this user.")] = None,
    case: Annotated[str | None, typer.Option("--case", "-c", help="Only this case.")] = None,
    action: Annotated[
        str | None, typer.Option("--action", "-a", help="Only this action (e.g. dossier.read).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only entries at or after this ISO time (no zone given: UTC)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="Only entries before this ISO time (no zone given: UTC)."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=0, help="Only the most recent N entries.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List audit entries (oldest first), filtered by user, case, action and time."""
    from tessera.audit.log import AuditLog
    from tessera.cli import _fail
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    start = _parse_time(since, "--since")
    end = _parse_time(until, "--until")
    try:
        with Workspace.open(workspace, read_only=True) as ws:
            rows = AuditLog.of(ws).entries(
                user=user, case=case, action=action, since=start, until=end, limit=limit
            )
    except TesseraError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps([e.as_dict() for e in rows], indent=2, ensure_ascii=False))
        return
    _print_entries(rows)


def _print_entries(rows: list[AuditEntry]) -> None:
    from rich.table import Table
    from rich.text import Text

    from tessera.cli import _console

    table = Table(title=f"Audit log: {_entries(len(rows))}", title_justify="left")
    for col in ("seq", "at (UTC)", "user", "case", "legal basis", "action", "target", "results"):
        # fold, never truncate: an audit listing must show every value whole
        table.add_column(
            col, justify="right" if col in {"seq", "results"} else "left", overflow="fold"
        )
    for e in rows:
        table.add_row(
            str(e.seq),
            e.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
            # Text, not str: values an analyst typed must not be read as Rich markup
            Text(e.user),
            Text(e.case),
            Text(e.legal_basis),
            Text(e.action),
            Text(e.target),
            f"{e.result_size:,}",
        )
    _console().print(table)


def _parse_time(value: str | None, option: str) -> dt.datetime | None:
    """An ISO 8601 time (``2024-05-01``, ``2024-05-01T08:00``, ``...+02:00``); a time
    without a zone is read as UTC."""
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 time (e.g. 2024-05-01 or 2024-05-01T08:00:00Z)",
            param_hint=option,
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def _entries(n: int) -> str:
    return f"{n:,} {'entry' if n == 1 else 'entries'}"
