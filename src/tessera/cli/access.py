"""The access context of a command that reads about people: who reads, for which case,
on which legal basis (options, or the TESSERA_* environment variables)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from tessera.audit import Access

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
