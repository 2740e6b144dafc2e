"""Unusual access: simple detectors over the audit log, for auditors.

Two kinds of :class:`Flag`:

``unrelated_people``
    A user opened many people who have nothing to do with each other in a short time:
    the pattern of browsing, not of working a case. A user's reads about people
    (:data:`PEOPLE_ACTIONS` whose target is an entity id such as ``person:17``) are cut
    into consecutive windows: a window opens at a read and takes every read of the
    next ``window`` (default one hour); the next read after it opens the next window.
    In a window, two people are *related* when they share a network community
    (``net_community``), are joined by an edge of the network (``net_edge``: contacts,
    co-presence, shared places), or are both named subjects of the case the reads were
    made under. The related-ness closure (union-find) splits the people into groups;
    the flag's ``count`` is the number of groups, and a window is flagged when it
    reaches ``min_unrelated`` (default 10).

``off_hours``
    Lookups (:data:`LOOKUP_ACTIONS`) outside working hours: before ``work_start`` or
    from ``work_end`` on (default 07:00 to 20:00) or on a day that is not a workday
    (default Monday to Friday), read in the workspace's local time zone
    (``tessera.yaml`` ``timezone``, else UTC). One flag per user and local calendar
    day, with the number of lookups.

Every flag carries the ``seq`` of the audit entries behind it, so an auditor can read
them (``tessera audit list``). The detectors only read the log; they judge nothing
about the people read.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tessera.audit.log import AuditEntry, entries
from tessera.errors import AccessError

if TYPE_CHECKING:
    from tessera.workspace import Workspace

PEOPLE_ACTIONS: tuple[str, ...] = ("dossier.read", "ego", "export")
LOOKUP_ACTIONS: tuple[str, ...] = ("dossier.read", "find", "ego", "path", "export")
KINDS: tuple[str, ...] = ("unrelated_people", "off_hours")


@dataclass(frozen=True, slots=True)
class Flag:
    """One unusual-access finding: ``user``, ``kind`` (one of :data:`KINDS`), the time
    window ``[start, end]`` (UTC) of the entries behind it, ``count`` (unrelated groups
    of people, or lookups) and the entries' ``seqs``."""

    user: str
    kind: str
    start: dt.datetime
    end: dt.datetime
    count: int
    seqs: tuple[int, ...]
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "count": self.count,
            "seqs": list(self.seqs),
            "detail": self.detail,
        }


def _zone(ws: Workspace, timezone: str | None) -> dt.tzinfo:
    from tessera.types.temporal import zone_info

    name = timezone or ws.config.timezone
    if name is None:
        rows = ws.engine.fetch_rows("SELECT value FROM tessera_meta WHERE key = 'timezone'")
        name = str(rows[0][0]) if rows else None
    return dt.UTC if name is None else zone_info(name)


def _is_subject(target: str) -> bool:
    head, _, rest = target.partition(":")
    return bool(rest) and head.isalpha() and " " not in target


def _relations(ws: Workspace, people: set[str]) -> tuple[dict[str, int], set[tuple[str, str]]]:
    """Community of each person and the network edges among them."""
    tables = set(ws.engine.table_names())
    community: dict[str, int] = {}
    edges: set[tuple[str, str]] = set()
    if not people:
        return community, edges
    plist = sorted(people)
    marks = ", ".join("?" for _ in plist)
    if "net_community" in tables:
        for subject, c in ws.engine.fetch_rows(
            f"SELECT subject, community FROM net_community WHERE subject IN ({marks})", plist
        ):
            if c is not None:
                community[str(subject)] = int(c)
    if "net_edge" in tables:
        for a, b in ws.engine.fetch_rows(
            f"SELECT a, b FROM net_edge WHERE a IN ({marks}) AND b IN ({marks})", plist + plist
        ):
            edges.add((str(a), str(b)))
    return community, edges


def _case_subjects(ws: Workspace, refs: Iterable[str]) -> dict[str, set[str]]:
    refs = sorted(set(refs))
    if not refs or "case_file" not in set(ws.engine.table_names()):
        return {}
    marks = ", ".join("?" for _ in refs)
    out = {}
    for ref, subjects in ws.engine.fetch_rows(
        f"SELECT ref, subjects FROM case_file WHERE ref IN ({marks})", refs
    ):
        out[str(ref)] = set(json.loads(subjects or "[]"))
    return out


def _groups(
    people: Sequence[str],
    community: dict[str, int],
    edges: set[tuple[str, str]],
    case_named: set[str],
) -> int:
    parent = {p: p for p in people}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb

    by_comm: dict[int, str] = {}
    named: str | None = None
    for p in people:
        c = community.get(p)
        if c is not None:
            if c in by_comm:
                union(p, by_comm[c])
            else:
                by_comm[c] = p
        if p in case_named:
            if named is None:
                named = p
            else:
                union(p, named)
    for a, b in edges:
        if a in parent and b in parent:
            union(a, b)
    return len({find(p) for p in people})


def _unrelated(
    ws: Workspace, reads: list[AuditEntry], window: dt.timedelta, min_unrelated: int
) -> list[Flag]:
    by_user: dict[str, list[AuditEntry]] = defaultdict(list)
    for e in reads:
        if e.action in PEOPLE_ACTIONS and _is_subject(e.target):
            by_user[e.user].append(e)
    windows: list[tuple[str, list[AuditEntry]]] = []
    for user, es in by_user.items():
        es.sort(key=lambda e: (e.at, e.seq))
        current: list[AuditEntry] = []
        for e in es:
            if current and e.at >= current[0].at + window:
                windows.append((user, current))
                current = []
            current.append(e)
        if current:
            windows.append((user, current))
    candidates = [(u, w) for u, w in windows if len({e.target for e in w}) >= min_unrelated]
    if not candidates:
        return []
    people = {e.target for _, w in candidates for e in w}
    community, edges = _relations(ws, people)
    subjects = _case_subjects(ws, {e.case for _, w in candidates for e in w})
    flags = []
    for user, w in candidates:
        targets = list(dict.fromkeys(e.target for e in w))
        named: set[str] = set()
        for ref in {e.case for e in w}:
            named |= subjects.get(ref, set())
        groups = _groups(targets, community, edges, named)
        if groups >= min_unrelated:
            flags.append(
                Flag(
                    user=user,
                    kind="unrelated_people",
                    start=w[0].at,
                    end=w[-1].at,
                    count=groups,
                    seqs=tuple(e.seq for e in w),
                    detail=(
                        f"{len(targets)} people read in {len(w)} reads within "
                        f"{window}; {groups} groups share no community, network tie or "
                        "case subject"
                    ),
                )
            )
    return flags


def _off_hours(
    reads: list[AuditEntry],
    zone: dt.tzinfo,
    work_start: int,
    work_end: int,
    workdays: frozenset[int],
) -> list[Flag]:
    buckets: dict[tuple[str, dt.date], list[AuditEntry]] = defaultdict(list)
    for e in reads:
        if e.action not in LOOKUP_ACTIONS:
            continue
        local = e.at.astimezone(zone)
        if local.weekday() in workdays and work_start <= local.hour < work_end:
            continue
        buckets[(e.user, local.date())].append(e)
    flags = []
    for (user, day), es in sorted(buckets.items()):
        es.sort(key=lambda e: e.seq)
        flags.append(
            Flag(
                user=user,
                kind="off_hours",
                start=es[0].at,
                end=es[-1].at,
                count=len(es),
                seqs=tuple(e.seq for e in es),
                detail=(
                    f"{len(es)} lookups on {day.isoformat()} outside working hours "
                    f"({work_start:02d}:00-{work_end:02d}:00 local, workdays "
                    f"{','.join(str(d) for d in sorted(workdays))})"
                ),
            )
        )
    return flags


def flags(
    ws: Workspace,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    window: dt.timedelta = dt.timedelta(hours=1),
    min_unrelated: int = 10,
    work_start: int = 7,
    work_end: int = 20,
    workdays: Iterable[int] = (0, 1, 2, 3, 4),
    timezone: str | None = None,
) -> list[Flag]:
    """Unusual access in the audit entries at or after ``since`` (and before
    ``until``); see the module docstring. ``workdays`` are ISO weekday numbers minus
    one (Monday 0 ... Sunday 6); ``timezone`` overrides the workspace's zone."""
    if not isinstance(window, dt.timedelta) or window <= dt.timedelta(0):
        raise AccessError(f"window must be a positive duration, not {window!r}")
    if not isinstance(min_unrelated, int) or min_unrelated < 2:
        raise AccessError(f"min_unrelated must be an integer >= 2, not {min_unrelated!r}")
    if not (0 <= work_start < work_end <= 24):
        raise AccessError(
            f"working hours {work_start}-{work_end} are invalid; need 0 <= start < end <= 24"
        )
    days = frozenset(int(d) for d in workdays)
    if not days <= set(range(7)):
        raise AccessError(f"workdays {sorted(days)} must be in 0 (Monday) .. 6 (Sunday)")
    zone = _zone(ws, timezone)
    reads = entries(ws, since=since, until=until)
    out = _unrelated(ws, reads, window, min_unrelated)
    out += _off_hours(reads, zone, work_start, work_end, days)
    out.sort(key=lambda f: (f.start, f.user, f.kind))
    return out
