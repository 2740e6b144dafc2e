"""Retention: per-source-kind retention periods (``retention:`` in ``tessera.yaml``)
and :func:`purge`, which deletes expired observations, records the purge in the audit
log and rebuilds what depended on them. See ``docs/access.md``."""

from __future__ import annotations

from tessera.retention.purge import (
    KindPurge,
    PurgeReport,
    parse_period,
    periods,
    purge,
    timed_kinds,
)

__all__ = ["KindPurge", "PurgeReport", "parse_period", "periods", "purge", "timed_kinds"]
