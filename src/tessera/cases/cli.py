"""``tessera case``: open, approve, close, list and show cases, add members.

Commands that change a case act as an account (``--by``) and check its password
(hidden prompt, or ``--password-stdin``), so that the four-eyes rule of approvals
holds on the command line too.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Annotated

import typer

from tessera.cli_options import (
    JsonOption,
    PasswordStdinOption,
    WorkspaceArg,
    command_app,
    in_workspace,
)

if TYPE_CHECKING:
    from tessera.cases import Case
    from tessera.workspace import Workspace

case_app = command_app("case", "Manage cases: legal basis, scope, expiry, approval, members.")

_RefArg = Annotated[str, typer.Argument(help="Case reference, e.g. OP-2024/017.")]
_ByOption = Annotated[str, typer.Option("--by", help="The account acting (its password is asked).")]


def _time(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 time (e.g. 2024-05-01T08:00:00Z)", param_hint=option
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _login(ws: Workspace, by: str, stdin: bool) -> str:
    from tessera.accounts import authenticate
    from tessera.accounts.cli import read_password

    return authenticate(ws, by, read_password(stdin, confirm=False)).name


def _show(case: Case, as_json: bool) -> None:
    from tessera.cli import _console

    if as_json:
        typer.echo(json.dumps(case.as_dict(), indent=2, ensure_ascii=False))
        return
    d = case.as_dict()
    lines = [f"{k}: {v}" for k, v in d.items() if k != "scope"]
    lines += [f"scope.{k}: {v}" for k, v in d["scope"].items()]
    _console().print("\n".join(lines), markup=False)


@case_app.command("open")
def open_cmd(
    workspace: WorkspaceArg,
    ref: _RefArg,
    title: Annotated[str, typer.Option("--title", help="A short label (not a reason).")],
    legal_basis: Annotated[
        str,
        typer.Option(
            "--legal-basis",
            help="court_order, warrant, statutory_power, consent, opsec_self_assessment, "
            "research or synthetic_demo.",
        ),
    ],
    by: _ByOption,
    subject: Annotated[
        list[str] | None,
        typer.Option("--subject", "-s", help="A named subject (repeat), e.g. person:17."),
    ] = None,
    area: Annotated[
        str | None, typer.Option("--area", help="LAT,LON,RADIUS_M: everyone seen there.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Scope window start (ISO time).")] = None,
    until: Annotated[str | None, typer.Option(help="Scope window end (ISO time).")] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="Expire after N days.")] = 30,
    member: Annotated[
        list[str] | None, typer.Option("--member", "-m", help="Another member (repeat).")
    ] = None,
    password_stdin: PasswordStdinOption = False,
    as_json: JsonOption = False,
) -> None:
    """Open a case (pending until another supervisor approves it)."""
    from tessera.cases import Scope, open_case
    from tessera.cli import _fail
    from tessera.dossier.find import parse_visited
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    try:
        scope = Scope(
            tuple(subject or ()),
            None if area is None else parse_visited(area),
            _time(since, "--since"),
            _time(until, "--until"),
        )
        with Workspace.open(workspace) as ws:
            actor = _login(ws, by, password_stdin)
            case = open_case(
                ws,
                ref,
                title=title,
                legal_basis=legal_basis,
                scope=scope,
                expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=days),
                opened_by=actor,
                members=tuple(member or ()),
            )
    except TesseraError as exc:
        _fail(exc)
    _show(case, as_json)


@case_app.command("approve")
def approve_cmd(
    workspace: WorkspaceArg,
    ref: _RefArg,
    by: _ByOption,
    password_stdin: PasswordStdinOption = False,
) -> None:
    """Approve a pending case (a supervisor other than its opener)."""
    from tessera.cases import approve_case
    from tessera.cli import _console

    case = in_workspace(
        workspace, lambda ws: approve_case(ws, ref, by=_login(ws, by, password_stdin))
    )
    _console().print(f"case {case.ref} is {case.status} until {case.expires_at.isoformat()}")


@case_app.command("close")
def close_cmd(
    workspace: WorkspaceArg,
    ref: _RefArg,
    by: _ByOption,
    password_stdin: PasswordStdinOption = False,
) -> None:
    """Close a case (its opener or a supervisor)."""
    from tessera.cases import close_case
    from tessera.cli import _console

    in_workspace(workspace, lambda ws: close_case(ws, ref, by=_login(ws, by, password_stdin)))
    _console().print(f"case {ref} closed")


@case_app.command("add-member")
def add_member_cmd(
    workspace: WorkspaceArg,
    ref: _RefArg,
    user: Annotated[str, typer.Argument(help="The account to add.")],
    by: _ByOption,
    password_stdin: PasswordStdinOption = False,
) -> None:
    """Add an account to a case (by its opener or a supervisor)."""
    from tessera.cases import add_member
    from tessera.cli import _console

    in_workspace(workspace, lambda ws: add_member(ws, ref, user, by=_login(ws, by, password_stdin)))
    _console().print(f"{user} added to case {ref}")


@case_app.command("list")
def list_cmd(
    workspace: WorkspaceArg,
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="Only cases of this account.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List cases (newest first)."""
    from rich.table import Table
    from rich.text import Text

    from tessera.cases import list_cases
    from tessera.cli import _console, _fail
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    try:
        with Workspace.open(workspace, read_only=True) as ws:
            cases = list_cases(ws, user=user)
    except TesseraError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps([c.as_dict() for c in cases], indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(cases)} cases", title_justify="left")
    for col in ("ref", "title", "legal basis", "status", "opened by", "approved by", "expires"):
        table.add_column(col, overflow="fold")
    now = dt.datetime.now(dt.UTC)
    for c in cases:
        status = c.status if c.status != "active" or c.is_active(now) else "expired"
        table.add_row(
            Text(c.ref),
            Text(c.title),
            c.legal_basis,
            status,
            Text(c.opened_by),
            Text(c.approved_by or ""),
            c.expires_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        )
    _console().print(table)


@case_app.command("show")
def show_cmd(workspace: WorkspaceArg, ref: _RefArg, as_json: JsonOption = False) -> None:
    """Show one case: legal basis, scope, status, members."""
    from tessera.cases import get_case
    from tessera.cli import _fail
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    try:
        with Workspace.open(workspace, read_only=True) as ws:
            case = get_case(ws, ref)
    except TesseraError as exc:
        _fail(exc)
    _show(case, as_json)
