"""Settings the pattern-of-life stages read from the workspace."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tessera.engines.base import Engine

TIMEZONE_KEY = "timezone"


def utc_offset_sql(zone: str, ts: str) -> str:
    """SQL: the seconds (BIGINT) by which the wall clock of IANA ``zone`` is ahead of
    UTC at ``ts``, a TIMESTAMPTZ expression (negative west of Greenwich)."""
    from tessera.engines.base import literal

    return f"CAST(round(epoch(timezone({literal(zone)}, {ts})) - epoch({ts})) AS BIGINT)"


def local_timezone(engine: Engine) -> str:
    """The IANA zone in which routines are read (hours of the day, days of the week).

    ``tessera_meta['timezone']`` when set (``tessera init --timezone``, or the zone of the
    first mapping ingested that names one), else UTC.
    """
    if "tessera_meta" in engine.table_names():
        rows = engine.fetch_rows("SELECT value FROM tessera_meta WHERE key = ?", [TIMEZONE_KEY])
        if rows and rows[0][0]:
            return str(rows[0][0])
    return "UTC"
