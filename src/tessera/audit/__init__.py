"""Accountable access: every read of a dossier or a search is tied to a user, a case
and a stated legal basis (:class:`Access`) and written to a tamper-evident, hash-chained
audit log in the workspace (:func:`record`), which :func:`verify` checks. See
``docs/audit.md``. Importing this package imports nothing heavy."""

from __future__ import annotations

from tessera.audit.access import (
    ENV_CASE,
    ENV_LEGAL_BASIS,
    ENV_NOTE,
    ENV_USER,
    LEGAL_BASES,
    Access,
    LegalBasis,
)
from tessera.audit.log import (
    ACTIONS,
    AUDIT_COLUMNS,
    AUDIT_TABLE,
    GENESIS_HASH,
    HEAD_NAME,
    AuditEntry,
    AuditLog,
    Head,
    Problem,
    VerifyResult,
    audited,
    entries,
    record,
    verify,
)

__all__ = [
    "ACTIONS",
    "AUDIT_COLUMNS",
    "AUDIT_TABLE",
    "ENV_CASE",
    "ENV_LEGAL_BASIS",
    "ENV_NOTE",
    "ENV_USER",
    "GENESIS_HASH",
    "HEAD_NAME",
    "LEGAL_BASES",
    "Access",
    "AuditEntry",
    "AuditLog",
    "Head",
    "LegalBasis",
    "Problem",
    "VerifyResult",
    "audited",
    "entries",
    "record",
    "verify",
]
