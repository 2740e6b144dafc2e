"""The access context of a command that reads about people: who reads, for which case,
on which legal basis (options, or the TESSERA_* environment variables)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from tessera.audit import Access
    from tessera.cases import Case
    from tessera.workspace import Workspace

UserOption = Annotated[
    str | None,
    typer.Option(
        "--user", envvar="TESSERA_USER", help="Who reads (login name).", show_default=False
    ),
]
CaseOption = Annotated[
    str | None,
    typer.Option(
        "--case", envvar="TESSERA_CASE", help="The case this read is for.", show_default=False
    ),
]
BasisOption = Annotated[
    str | None,
    typer.Option(
        "--legal-basis",
        envvar="TESSERA_LEGAL_BASIS",
        help="The legal basis: court_order, warrant, statutory_power, consent, "
        "opsec_self_assessment, research or synthetic_demo.",
        show_default=False,
    ),
]


def access_from(user: str | None, case: str | None, basis: str | None) -> Access:
    """The access context from options (or their environment variables), with an error
    naming what is missing."""
    from tessera.audit import Access
    from tessera.errors import AccessError

    missing = [
        n for n, v in (("--user", user), ("--case", case), ("--legal-basis", basis)) if not v
    ]
    if missing:
        raise AccessError(
            f"every read is audited: give {', '.join(missing)} (or set TESSERA_USER, "
            "TESSERA_CASE and TESSERA_LEGAL_BASIS)"
        )
    return Access(user=str(user), case=str(case), legal_basis=str(basis))


def enforce(
    ws: Workspace, access: Access, permission: str, subjects: Sequence[str] | None = ()
) -> Case | None:
    """The command line's part of case control. A workspace without accounts (one
    analyst's own) only needs the stated access context, which every read records. Once
    a workspace has accounts, the command line is held to the same rules as the web
    service: ``access.user`` must be an account holding ``permission`` and a member (or
    the opener) of ``access.case``, a registered case that a supervisor approved and that
    has not expired, stated with that case's legal basis; and every subject in
    ``subjects`` must be in the case's scope (``None``: a read of everyone, refused).
    Refusals are audited (``case.refused``, ``case.out_of_scope``) and raised as
    PermissionDenied or AccessError. Returns the case (None without accounts), whose
    scope the caller applies to lists of people."""
    from tessera.accounts import get_user
    from tessera.cases import admit, require_in_scope
    from tessera.errors import AccessError, AccountError

    if not ws.engine.fetch_rows("SELECT 1 FROM account_user LIMIT 1"):
        return None
    try:
        user = get_user(ws, access.user)
    except AccountError:
        raise AccessError(
            f"--user {access.user!r} is not an account of this workspace (it has accounts: "
            "every read names an account and a registered case it belongs to)"
        ) from None
    grant = admit(ws, user, access.case, permission)
    if grant.access.legal_basis != access.legal_basis:
        raise AccessError(
            f"case {access.case!r} was approved on the legal basis "
            f"{grant.access.legal_basis!r}, not {access.legal_basis!r}"
        )
    if subjects is None:
        raise AccessError(
            f"case {access.case!r} has a scope: name the subjects to read (a read of "
            "everyone is refused in a workspace with accounts)"
        )
    for subject in subjects:
        require_in_scope(ws, grant.access, grant.case, subject)
    return grant.case


def in_scope(
    ws: Workspace, case: Case | None, persons: Callable[[], Iterable[str]]
) -> set[str] | None:
    """The persons of a list a case may see (None: no case control, all of them); the
    list is only made when there is a case."""
    if case is None:
        return None
    from tessera.cases import filter_in_scope

    return filter_in_scope(ws, case, persons())
