"""The access context: who reads, for which case, on which legal basis.

Every read of a dossier and every search is tied to an :class:`Access`. It is validated
on construction, so an access that exists is well formed:

* ``user``: a login name, ``[A-Za-z_][A-Za-z0-9._-]{0,63}`` (1 to 64 characters,
  starting with a letter or an underscore);
* ``case``: a case reference, ``[A-Za-z0-9][A-Za-z0-9._/-]{2,99}`` (3 to 100 characters,
  starting with a letter or a digit), e.g. ``OP-2024/017``;
* ``legal_basis``: one of :data:`LEGAL_BASES`, never free text, so that the audit log can
  be counted and reviewed by basis;
* ``note``: optional free text (one line or several, at most 1,000 characters, no
  control characters other than newlines and tabs).

Invalid values raise :class:`~tessera.errors.AccessError` naming the field and what it
accepts. This module imports nothing heavy.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from tessera.errors import AccessError

ENV_USER = "TESSERA_USER"
ENV_CASE = "TESSERA_CASE"
ENV_LEGAL_BASIS = "TESSERA_LEGAL_BASIS"
ENV_NOTE = "TESSERA_NOTE"

USER_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9._-]{0,63}")
CASE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{2,99}")
NOTE_MAX_CHARS = 1000
_NOTE_FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class LegalBasis(StrEnum):
    """The stated legal basis of an access (no free text)."""

    COURT_ORDER = "court_order"  # a judge ordered or authorised this analysis
    WARRANT = "warrant"  # a warrant covers this subject or data
    STATUTORY_POWER = "statutory_power"  # a statute empowers the agency to do this
    CONSENT = "consent"  # the subject consented to the analysis
    OPSEC_SELF_ASSESSMENT = "opsec_self_assessment"  # an organisation reviews its own exposure
    RESEARCH = "research"  # approved research on lawfully held data
    SYNTHETIC_DEMO = "synthetic_demo"  # simulator output only; no real person involved


LEGAL_BASES: tuple[str, ...] = tuple(b.value for b in LegalBasis)


@dataclass(frozen=True, slots=True)
class Access:
    """Who reads (``user``), for which ``case``, on which ``legal_basis``; see the module
    docstring for the accepted values. ``legal_basis`` may be given as a
    :class:`LegalBasis` or its string value; it is stored as the string value."""

    user: str
    case: str
    legal_basis: str
    note: str | None = None

    def __post_init__(self) -> None:
        _check_pattern("user", self.user, USER_PATTERN, "a login name: 1-64 of A-Z a-z 0-9 . _ -")
        _check_pattern(
            "case",
            self.case,
            CASE_PATTERN,
            "a case reference: 3-100 of A-Z a-z 0-9 . _ / - (starting with a letter or digit)",
        )
        basis = self.legal_basis
        value = basis.value if isinstance(basis, LegalBasis) else basis
        if not isinstance(value, str) or value not in LEGAL_BASES:
            raise AccessError(
                f"legal_basis {basis!r} is not a recognised legal basis; "
                f"use one of: {', '.join(LEGAL_BASES)}"
            )
        object.__setattr__(self, "legal_basis", value)
        note = self.note
        if note is not None:
            if not isinstance(note, str):
                raise AccessError(f"note must be text or absent, not {type(note).__name__}")
            note = note.strip()
            if len(note) > NOTE_MAX_CHARS:
                raise AccessError(
                    f"note has {len(note):,} characters; at most {NOTE_MAX_CHARS:,} are allowed"
                )
            if _NOTE_FORBIDDEN.search(note):
                raise AccessError("note contains control characters; use plain text")
            object.__setattr__(self, "note", note or None)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Access:
        """The access stated by the environment: ``TESSERA_USER``, ``TESSERA_CASE``,
        ``TESSERA_LEGAL_BASIS`` (required) and ``TESSERA_NOTE`` (optional). Raises
        :class:`AccessError` listing every required variable that is missing or empty."""
        env = os.environ if environ is None else environ
        names = (ENV_USER, ENV_CASE, ENV_LEGAL_BASIS)
        missing = [name for name in names if not env.get(name, "").strip()]
        if missing:
            raise AccessError(
                f"no access context: {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not set. Every read is recorded "
                f"with who reads, for which case and on which legal basis; set "
                f"{ENV_USER} (your login name), {ENV_CASE} (the case reference) and "
                f"{ENV_LEGAL_BASIS} (one of: {', '.join(LEGAL_BASES)})"
            )
        note = env.get(ENV_NOTE, "").strip() or None
        try:
            return cls(
                user=env[ENV_USER].strip(),
                case=env[ENV_CASE].strip(),
                legal_basis=env[ENV_LEGAL_BASIS].strip(),
                note=note,
            )
        except AccessError as exc:
            raise AccessError(f"{exc} (from the environment variables TESSERA_*)") from None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "user": self.user,
            "case": self.case,
            "legal_basis": self.legal_basis,
            "note": self.note,
        }


def _check_pattern(field: str, value: object, pattern: re.Pattern[str], accepts: str) -> None:
    if not isinstance(value, str):
        raise AccessError(f"{field} must be text, not {type(value).__name__}; it is {accepts}")
    if not value:
        raise AccessError(f"{field} is empty; it must be {accepts}")
    if pattern.fullmatch(value) is None:
        raise AccessError(f"{field} {value!r} is invalid; it must be {accepts}")
