"""Retention: keep observations only as long as the workspace says, then purge them
and everything derived from them.

Periods
    ``tessera.yaml`` names a retention period per *source kind* that places its rows in
    time (a kind whose model declares a ``time`` property: ``device_event``,
    ``plate_read``, ``communication``)::

        retention:
          device_event: 90d
          plate_read: 30d
          communication: 180d

    A period is a whole number followed by ``h`` (hours), ``d`` (days) or ``w``
    (weeks). Kinds without a period are kept. Registries, contact lists and sensors
    have no observation time and cannot be given one (an error says so).

Purge
    :func:`purge` computes, for each kind with a period, the cutoff ``now - period``
    and, in one transaction,

    * deletes the rows of the kind's table whose time column is before the cutoff;
    * deletes the quarantined rows of that kind (rows that failed cleaning, kept with
      their raw text) whose ingest batch finished before the cutoff: their own time
      cannot be trusted, so they are kept no longer than the period after loading;

    then records one audit entry ``purge`` (case ``SYSTEM``, legal basis
    ``statutory_power``; ``result_size`` the rows deleted, ``detail`` the counts and
    cutoff per kind) and rebuilds the workspace. The build is incremental: a source
    table's version includes its row count (see :mod:`tessera.stages`), so deleting
    rows makes every stage that depends on it, directly or through other stages, run
    again, and the derived tables (stays, places, co-travel evidence, contacts,
    meetings, dossiers ...) are recomputed from what remains. Derived rows built only
    from purged observations are therefore gone, and rows built partly from them are
    recomputed without them. Ingest bookkeeping (``ingest_batch``: counts, file hashes)
    and analysts' judgements are kept.

``dry_run`` counts what would be deleted and changes nothing (and records nothing).
Only an account holding ``manage_users`` or a local operator (``local.<name>``) may
purge.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tessera.errors import RetentionError

if TYPE_CHECKING:
    from tessera.stages import StageResult
    from tessera.workspace import Workspace

_PERIOD = re.compile(r"\s*(\d{1,6})\s*([hdw])\s*")
_UNITS = {"h": dt.timedelta(hours=1), "d": dt.timedelta(days=1), "w": dt.timedelta(weeks=1)}


def parse_period(text: str) -> dt.timedelta:
    """``"90d"`` -> 90 days; ``h`` hours, ``d`` days, ``w`` weeks; at least one hour."""
    m = _PERIOD.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise RetentionError(
            f"retention period {text!r} cannot be read; write a whole number and a unit: "
            "h (hours), d (days) or w (weeks), e.g. 90d"
        )
    period = int(m.group(1)) * _UNITS[m.group(2)]
    if period < dt.timedelta(hours=1):
        raise RetentionError(f"retention period {text!r} is shorter than one hour")
    return period


def timed_kinds() -> dict[str, tuple[str, str]]:
    """Source kind -> (table, time column) for every kind that places rows in time."""
    from tessera.model import get_model

    out = {}
    for name, kind in get_model().sources.items():
        column = kind.time_property
        if column is not None:
            out[name] = (kind.table, column)
    return out


def periods(config: Mapping[str, str]) -> dict[str, dt.timedelta]:
    """The retention settings, checked: each key a kind that has a time column."""
    kinds = timed_kinds()
    out = {}
    for kind, text in config.items():
        if kind not in kinds:
            raise RetentionError(
                f"retention for {kind!r}: not a source kind with an observation time; "
                f"use one of: {', '.join(sorted(kinds))}"
            )
        out[kind] = parse_period(text)
    return out


@dataclass(frozen=True)
class KindPurge:
    """What the purge did (or would do) to one source kind."""

    kind: str
    table: str
    period: str
    cutoff: dt.datetime
    rows: int
    quarantined: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "table": self.table,
            "period": self.period,
            "cutoff": self.cutoff.isoformat(),
            "rows": self.rows,
            "quarantined": self.quarantined,
        }


@dataclass(frozen=True)
class PurgeReport:
    """The purge's counts per kind; ``audit_seq`` the audit entry (None for a dry run
    or when nothing was configured); ``rebuilt`` the stages the rebuild ran."""

    now: dt.datetime
    dry_run: bool
    kinds: list[KindPurge] = field(default_factory=list)
    audit_seq: int | None = None
    rebuilt: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(k.rows + k.quarantined for k in self.kinds)

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "dry_run": self.dry_run,
            "total": self.total,
            "kinds": [k.as_dict() for k in self.kinds],
            "audit_seq": self.audit_seq,
            "rebuilt": list(self.rebuilt),
        }


def purge(
    ws: Workspace,
    *,
    now: dt.datetime | None = None,
    by: str,
    dry_run: bool = False,
    retention: Mapping[str, str] | None = None,
    rebuild: bool = True,
) -> PurgeReport:
    """Delete observations older than their kind's retention period, record the purge in
    the audit log and rebuild (see the module docstring). ``retention`` overrides the
    workspace's settings (``tessera.yaml``); ``now`` (tz-aware) defaults to the current
    time; ``rebuild=False`` leaves the rebuild to the caller."""
    from tessera.accounts.store import _check_actor, _system_access
    from tessera.audit.log import _LOCK, record
    from tessera.engines.base import quote

    now = dt.datetime.now(dt.UTC) if now is None else now
    if not isinstance(now, dt.datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise RetentionError(f"now must be a tz-aware datetime, not {now!r}")
    config = dict(ws.config.retention if retention is None else retention)
    wanted = periods(config)
    kinds = timed_kinds()
    engine = ws.engine
    with _LOCK:
        actor = _check_actor(ws, by)
        plan: list[KindPurge] = []
        for kind, period in sorted(wanted.items()):
            table, column = kinds[kind]
            cutoff = now - period
            rows = int(
                engine.fetch_rows(
                    f"SELECT count(*) FROM {quote(table)} WHERE {quote(column)} < ?", [cutoff]
                )[0][0]
            )
            quarantined = int(
                engine.fetch_rows(
                    "SELECT count(*) FROM quarantine WHERE kind = ? AND batch_id IN "
                    "(SELECT batch_id FROM ingest_batch WHERE kind = ? AND finished_at < ?)",
                    [kind, kind, cutoff],
                )[0][0]
            )
            plan.append(KindPurge(kind, table, config[kind], cutoff, rows, quarantined))
        if dry_run or not plan:
            return PurgeReport(now.astimezone(dt.UTC), dry_run, plan)
        with engine.transaction():
            for k in plan:
                _, column = kinds[k.kind]
                engine.execute(
                    f"DELETE FROM {quote(k.table)} WHERE {quote(column)} < ?", [k.cutoff]
                )
                engine.execute(
                    "DELETE FROM quarantine WHERE kind = ? AND batch_id IN "
                    "(SELECT batch_id FROM ingest_batch WHERE kind = ? AND finished_at < ?)",
                    [k.kind, k.kind, k.cutoff],
                )
        report = PurgeReport(now.astimezone(dt.UTC), False, plan)
        seq = record(
            ws,
            _system_access(actor),
            "purge",
            "retention",
            report.total,
            {"now": report.now.isoformat(), "kinds": [k.as_dict() for k in plan]},
        )
    rebuilt: list[StageResult] = ws.build() if rebuild else []
    return PurgeReport(
        report.now,
        False,
        plan,
        audit_seq=seq,
        rebuilt=[r.stage for r in rebuilt if not r.skipped],
    )
