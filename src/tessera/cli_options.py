"""Typer pieces shared by every command group: the app factory and common arguments.

It lives outside the ``tessera.cli`` package and imports nothing of Tessera's, so that
the sub-apps ``tessera.cli`` mounts (``audit``, ``user``, ``case``) and ``tessera.cli``
itself can all use it without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:
    from tessera.workspace import Workspace

T = TypeVar("T")


def command_app(name: str, help: str) -> typer.Typer:
    """A Typer app with Tessera's settings: help when called bare, no shell completion,
    plain tracebacks, and plain help text (rich_utils would import markdown-it, ~0.4 s)."""
    return typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )


def in_workspace(path: Path, action: Callable[[Workspace], T]) -> T:
    """``action`` run on the workspace at ``path``, opened for it; a Tessera error ends
    the command with its message (exit code 1)."""
    from tessera.cli import _fail
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    try:
        with Workspace.open(path) as ws:
            return action(ws)
    except TesseraError as exc:
        _fail(exc)


WorkspaceArg = Annotated[Path, typer.Argument(help="Workspace folder.", show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
PasswordStdinOption = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]
