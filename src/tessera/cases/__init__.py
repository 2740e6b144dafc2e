"""Cases: every search, dossier view and export happens inside a case with a legal
basis, a scope (named subjects, an area, a time window) and an expiry, approved by a
supervisor. :func:`authorise` and :func:`require_in_scope` are the gates; refusals
are audited. See ``docs/access.md``."""

from __future__ import annotations

from tessera.cases.store import (
    AUDIT_ACTIONS,
    MAX_CASE_DAYS,
    STATUSES,
    Case,
    Grant,
    Scope,
    add_member,
    admit,
    approve_case,
    authorise,
    close_case,
    filter_in_scope,
    get_case,
    in_scope,
    list_cases,
    open_case,
    require_in_scope,
    scope_filter,
)

__all__ = [
    "AUDIT_ACTIONS",
    "MAX_CASE_DAYS",
    "STATUSES",
    "Case",
    "Grant",
    "Scope",
    "add_member",
    "admit",
    "approve_case",
    "authorise",
    "close_case",
    "filter_in_scope",
    "get_case",
    "in_scope",
    "list_cases",
    "open_case",
    "require_in_scope",
    "scope_filter",
]
