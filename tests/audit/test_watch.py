"""The access watch: many unrelated people read in a short window; lookups outside
working hours."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from tessera.audit import Access, entries, record
from tessera.audit.watch import flags
from tessera.errors import AccessError
from tessera.workspace import Workspace

ANN = Access("ann", "OP-1", "warrant")
BOB = Access("bob", "OP-2", "warrant")
PEOPLE = [f"person:{i}" for i in range(12)]


def _browse(ws: Workspace, access: Access = ANN, people: list[str] = PEOPLE) -> None:
    for p in people:
        record(ws, access, "dossier.read", p, 1)


def _all_hours(**kw: Any) -> dict[str, Any]:
    """Working hours that cover the whole week, so no off-hours flag is raised."""
    return {"work_start": 0, "work_end": 24, "workdays": range(7), **kw}


def test_twelve_unrelated_people_raise_one_flag(ws: Workspace) -> None:
    _browse(ws)
    _browse(ws, BOB, PEOPLE[:5])  # five people: below the threshold
    found = flags(ws, **_all_hours())
    assert [(f.user, f.kind, f.count) for f in found] == [("ann", "unrelated_people", 12)]
    assert found[0].seqs == tuple(range(1, 13))
    assert found[0].start == entries(ws)[0].at
    assert flags(ws, **_all_hours(min_unrelated=13)) == []


def test_people_of_one_community_or_network_are_related(ws: Workspace) -> None:
    _browse(ws)
    ws.engine.execute("CREATE TABLE net_community (subject VARCHAR, community INTEGER)")
    ws.engine.execute("CREATE TABLE net_edge (a VARCHAR, b VARCHAR)")
    # persons 0-5 form one community; 6-8 are chained by network edges: 12 -> 1 + 1 + 3 groups
    for p in PEOPLE[:6]:
        ws.engine.execute("INSERT INTO net_community VALUES (?, 1)", [p])
    ws.engine.execute(
        "INSERT INTO net_edge VALUES ('person:6', 'person:7'), ('person:8', 'person:7')"
    )
    assert flags(ws, **_all_hours()) == []
    (flag,) = flags(ws, **_all_hours(min_unrelated=5))
    assert flag.count == 1 + 1 + 3


def test_subjects_named_by_the_case_are_related(ws: Workspace) -> None:
    _browse(ws)
    ws.engine.execute(
        "INSERT INTO case_file (ref, subjects) VALUES ('OP-1', ?)", [json.dumps(PEOPLE[:8])]
    )
    (flag,) = flags(ws, **_all_hours(min_unrelated=4))
    assert flag.count == 1 + 4


def test_reads_spread_over_windows_are_not_flagged(ws: Workspace) -> None:
    _browse(ws)
    # with a window of one microsecond every read opens its own window
    assert flags(ws, window=dt.timedelta(microseconds=1), **_all_hours()) == []


def test_off_hours(ws: Workspace) -> None:
    record(ws, ANN, "find", "name:Smith", 3)
    record(ws, ANN, "dossier.read", "person:1", 1)
    record(ws, ANN, "user.add", "zed", 1)  # administration is not a lookup
    at = entries(ws)[0].at.astimezone(dt.UTC)
    hour, day = at.hour, at.weekday()
    # working hours that exclude the hour of the reads, every day a workday
    start, end = (hour + 1, 24) if hour < 23 else (0, 23)
    (flag,) = flags(ws, work_start=start, work_end=end, workdays=range(7), timezone="UTC")
    assert (flag.user, flag.kind, flag.count, flag.seqs) == ("ann", "off_hours", 2, (1, 2))
    # the hour inside working hours, but the day not a workday
    days = [d for d in range(7) if d != day]
    (flag,) = flags(ws, work_start=0, work_end=24, workdays=days, timezone="UTC")
    assert flag.count == 2
    assert flags(ws, work_start=0, work_end=24, workdays=range(7)) == []
    # a zone shifts the local hour: UTC+14 moves the reads out of a window built in UTC
    assert flags(ws, work_start=hour, work_end=hour + 1, workdays=range(7), timezone="UTC") == []
    shifted = flags(
        ws, work_start=hour, work_end=hour + 1, workdays=range(7), timezone="Pacific/Kiritimati"
    )
    assert [f.kind for f in shifted] == ["off_hours"]


def test_since_and_validation(ws: Workspace) -> None:
    _browse(ws)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert flags(ws, since=later, **_all_hours()) == []
    with pytest.raises(AccessError, match="working hours"):
        flags(ws, work_start=20, work_end=7)
    with pytest.raises(AccessError, match="min_unrelated"):
        flags(ws, min_unrelated=1)
