"""``tessera user``: add, list and change accounts, issue and revoke API tokens.

Passwords are read with a hidden prompt (asked twice) or, with ``--password-stdin``,
from the first line of standard input; never from the command line. ``--by`` names
who makes the change: an account holding ``manage_users`` or, by default, the local
operator ``local.<login name>`` (whoever can write the workspace files).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import re
import sys
from typing import Annotated

import typer

from tessera.cli_options import (
    JsonOption,
    PasswordStdinOption,
    WorkspaceArg,
    command_app,
    in_workspace,
)

user_app = command_app("user", "Manage accounts (roles, passwords, API tokens).")

_NameArg = Annotated[str, typer.Argument(help="Account (login) name.", show_default=False)]
_ByOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="Who makes the change: an account holding manage_users (default: the local "
        "operator, local.<login name>).",
        show_default=False,
    ),
]


def local_operator() -> str:
    """``local.<login name>`` (characters outside A-Z a-z 0-9 . _ - replaced by ``_``)."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):
        name = "operator"
    return "local." + (re.sub(r"[^A-Za-z0-9._-]", "_", name)[:56] or "operator")


def read_password(from_stdin: bool, *, confirm: bool = True, prompt: str = "Password") -> str:
    """The password from stdin's first line or a hidden prompt."""
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm))


@user_app.command("add")
def add_cmd(
    workspace: WorkspaceArg,
    name: _NameArg,
    role: Annotated[
        str, typer.Option("--role", "-r", help="viewer, analyst, supervisor, admin or auditor.")
    ],
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="Name shown in the interface.")
    ] = None,
    password_stdin: PasswordStdinOption = False,
    by: _ByOption = None,
) -> None:
    """Add an account with a role and a password (at least 12 characters)."""
    from tessera.accounts import add_user, check_password
    from tessera.cli import _console, _fail
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    try:
        password = check_password(read_password(password_stdin))
        with Workspace.open(workspace) as ws:
            user = add_user(
                ws, name, role, password, display_name=display_name, by=by or local_operator()
            )
    except TesseraError as exc:
        _fail(exc)
    _console().print(f"added {user.name} ({user.role})")


@user_app.command("list")
def list_cmd(workspace: WorkspaceArg, as_json: JsonOption = False) -> None:
    """List accounts with their roles."""
    from rich.table import Table
    from rich.text import Text

    from tessera.accounts import list_users
    from tessera.cli import _console, _fail
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    try:
        with Workspace.open(workspace, read_only=True) as ws:
            users = list_users(ws)
    except TesseraError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps([u.as_dict() for u in users], indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(users)} accounts", title_justify="left")
    for col in ("name", "role", "display name", "created (UTC)", "disabled"):
        table.add_column(col)
    for u in users:
        table.add_row(
            Text(u.name),
            u.role,
            Text(u.display_name),
            u.created_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"),
            "yes" if u.disabled else "",
        )
    _console().print(table)


@user_app.command("passwd")
def passwd_cmd(
    workspace: WorkspaceArg,
    name: _NameArg,
    password_stdin: PasswordStdinOption = False,
    by: _ByOption = None,
) -> None:
    """Set an account's password (its open sessions are closed)."""
    from tessera.accounts import check_password, set_password
    from tessera.cli import _console, _fail
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    try:
        password = check_password(read_password(password_stdin, prompt="New password"))
        with Workspace.open(workspace) as ws:
            set_password(ws, name, password, by=by or local_operator())
    except TesseraError as exc:
        _fail(exc)
    _console().print(f"password of {name} changed")


@user_app.command("role")
def role_cmd(
    workspace: WorkspaceArg,
    name: _NameArg,
    role: Annotated[str, typer.Argument(help="The new role.", show_default=False)],
    by: _ByOption = None,
) -> None:
    """Change an account's role."""
    from tessera.accounts import set_role
    from tessera.cli import _console

    user = in_workspace(workspace, lambda ws: set_role(ws, name, role, by=by or local_operator()))
    _console().print(f"{user.name} is now {user.role}")


@user_app.command("disable")
def disable_cmd(workspace: WorkspaceArg, name: _NameArg, by: _ByOption = None) -> None:
    """Disable an account (its tokens are revoked and its sessions closed)."""
    from tessera.accounts import disable_user
    from tessera.cli import _console

    in_workspace(workspace, lambda ws: disable_user(ws, name, by=by or local_operator()))
    _console().print(f"{name} disabled")


@user_app.command("token")
def token_cmd(
    workspace: WorkspaceArg,
    name: _NameArg,
    label: Annotated[str, typer.Option("--label", "-l", help="What the token is for.")],
    days: Annotated[
        int | None, typer.Option("--days", min=1, max=3660, help="Expire after N days.")
    ] = 90,
    no_expiry: Annotated[
        bool, typer.Option("--no-expiry", help="A token that never expires.")
    ] = False,
    by: _ByOption = None,
) -> None:
    """Issue an API token for an account; it is printed once and never shown again."""
    from tessera.accounts import issue_token
    from tessera.cli import _fail
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    expires = (
        None if no_expiry or days is None else dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    )
    try:
        with Workspace.open(workspace) as ws:
            token = issue_token(
                ws, name, label=label, expires_at=expires, by=by or local_operator()
            )
    except TesseraError as exc:
        _fail(exc)
    typer.echo(token)


@user_app.command("revoke")
def revoke_cmd(
    workspace: WorkspaceArg,
    token_id: Annotated[str, typer.Argument(help="The token's id (12 hex digits after tsr_).")],
    by: _ByOption = None,
) -> None:
    """Revoke an API token by its id."""
    from tessera.accounts import revoke_token
    from tessera.cli import _console, _fail
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    try:
        with Workspace.open(workspace) as ws:
            revoke_token(ws, token_id, by=by or local_operator())
    except TesseraError as exc:
        _fail(exc)
    _console().print(f"token {token_id} revoked")
