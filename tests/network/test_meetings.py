"""Meetings: hand-built stays whose meetings are known, and accuracy on the simulator."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tessera.engines.base import Engine
from tessera.engines.duckdb.engine import DuckDBEngine
from tessera.life import tables as life
from tessera.network import MEETINGS, tables
from tessera.network.meetings import meetings

CAFE = (52.5200, 13.4000)
T0 = "2026-10-05 18:00:00+00"


def _at(minutes: int) -> str:
    return f"TIMESTAMPTZ '{T0}' + INTERVAL ({minutes}) MINUTE"


@pytest.fixture
def engine() -> Iterator[Engine]:
    eng = DuckDBEngine(None)
    for name in (life.STAY, life.PLACE, life.HOME_WORK):
        eng.execute(f"CREATE TABLE {name} ({life.COLUMNS[name]})")
    try:
        yield eng
    finally:
        eng.close()


_next = iter(range(1, 10_000))


def _home(eng: Engine, subject: str, n: int, building: str | None = None) -> tuple[float, float]:
    """Subject ``n`` lives 2 km north of the cafe, each in a separate building; returns
    where."""
    lat, lon = CAFE[0] + 0.02 + n * 0.01, CAFE[1]
    building = building or f"HOME{n}"
    eng.execute(
        f"INSERT INTO {life.HOME_WORK} VALUES ('{subject}', 'person', 'home', {n * 100}, "
        f"{lat}, {lon}, '{building}', 0.9, 5, '{{}}')"
    )
    return lat, lon


def _stay(
    eng: Engine,
    subject: str,
    start: int,
    end: int,
    place_id: int,
    building: str | None,
    at: tuple[float, float] = CAFE,
    u: float = 50.0,
) -> None:
    sid = next(_next)
    b = f"'{building}'" if building else "NULL"
    eng.execute(
        f"INSERT INTO {life.STAY} VALUES ('{subject}', 'person', {sid}, {_at(start)}, "
        f"{_at(end)}, {at[0]}, {at[1]}, {u}, {place_id}, 5, ['operator_a_events'], [])"
    )
    eng.execute(
        f"INSERT INTO {life.PLACE} SELECT '{subject}', 'person', {place_id}, {at[0]}, {at[1]}, "
        f"50, {b}, 'cafe', 1, 1, 3600, {_at(start)}, {_at(end)} "
        f"WHERE NOT EXISTS (SELECT 1 FROM {life.PLACE} WHERE subject = '{subject}' "
        f"AND place_id = {place_id})"
    )


def test_two_people_at_a_cafe_meet(engine: Engine) -> None:
    """A and B, both away from home, spend 90 minutes at one cafe: one meeting of two,
    and one co-presence pair of one meeting."""
    for n, s in enumerate(("person:a", "person:b")):
        _home(engine, s, n)
        _stay(engine, s, 0, 90, 1000 + n, "CAFE1")
    out = meetings(engine)
    assert out[tables.MEETING] == 1
    row = engine.fetch_rows(
        f"SELECT participants, building, epoch(finished_at) - epoch(started_at), discreet "
        f"FROM {tables.MEETING}"
    )[0]
    assert row == (2, "CAFE1", 5400.0, False)
    pair = engine.fetch_rows(f"SELECT a, b, meetings, seconds FROM {tables.COPRESENCE}")
    assert pair == [("person:a", "person:b", 1, 5400.0)]


def test_at_home_of_one_and_work_of_the_other_is_no_meeting(engine: Engine) -> None:
    """The place is A's home and B's work: neither is away, so no meeting. A visitor C
    who comes and goes with A meets A there: one member away suffices ("away from the
    home and work of at least one of them", MIN_AWAY = 1). B, there all day, is not in
    it: B's day does not line up with C's visit."""
    _home(engine, "person:a", 0, building="FLAT")
    _home(engine, "person:b", 1)
    engine.execute(
        f"INSERT INTO {life.HOME_WORK} VALUES ('person:b', 'person', 'work', 555, "
        f"{CAFE[0]}, {CAFE[1]}, 'FLAT', 0.9, 5, '{{}}')"
    )
    _stay(engine, "person:a", 0, 90, 0, "FLAT")
    _stay(engine, "person:b", 0, 420, 555, "FLAT")
    assert meetings(engine)[tables.MEETING] == 0
    _home(engine, "person:c", 2)
    _stay(engine, "person:c", 5, 85, 777, "FLAT")
    assert meetings(engine)[tables.MEETING] == 1
    members = engine.fetch_rows(
        f"SELECT subject, away_from_home_work FROM {tables.MEETING_MEMBER} ORDER BY subject"
    )
    assert members == [("person:a", False), ("person:c", True)]


@pytest.mark.parametrize(("weeks", "met"), [(3, 0), (5, 1)])
def test_a_place_is_routine_when_visited_weekly(engine: Engine, weeks: int, met: int) -> None:
    """A and B were both at the cafe on 4 days. Over 3 weeks of stays that is at least
    weekly, so the cafe is routine for both, neither is away, and their 90 minutes there
    are no meeting; over 5 weeks it is not routine, and they meet (3 days alone, the
    earlier rule, made it routine over any span)."""
    for n, s in enumerate(("person:a", "person:b")):
        home = _home(engine, s, n)
        _stay(engine, s, -weeks * 7 * 1440, -weeks * 7 * 1440 + 60, 10 + n, f"HOME{n}", at=home)
        _stay(engine, s, 0, 90, 1000 + n, "CAFE1")
    engine.execute(f"UPDATE {life.PLACE} SET days = 4 WHERE place_id IN (1000, 1001)")
    assert meetings(engine)[tables.MEETING] == met


def test_short_overlap_is_no_meeting(engine: Engine) -> None:
    """20 minutes together is below the 30-minute minimum."""
    _home(engine, "person:a", 0)
    _home(engine, "person:b", 1)
    _stay(engine, "person:a", 0, 40, 1, "CAFE1")
    _stay(engine, "person:b", 20, 60, 2, "CAFE1")
    assert meetings(engine)[tables.MEETING] == 0


def test_far_apart_is_no_meeting(engine: Engine) -> None:
    """Same time, 2 km apart, different buildings: no meeting."""
    _home(engine, "person:a", 0)
    _home(engine, "person:b", 1)
    _stay(engine, "person:a", 0, 90, 1, "CAFE1")
    _stay(engine, "person:b", 0, 90, 2, "CAFE2", at=(CAFE[0] - 0.018, CAFE[1]))
    assert meetings(engine)[tables.MEETING] == 0


def test_three_people_make_one_meeting(engine: Engine) -> None:
    """Three people at one cafe, arriving and leaving within five minutes of each other:
    every pair scores above Z_GROUP, so the third joins the matched pair: one meeting
    with three members, three co-presence pairs."""
    for n, s in enumerate(("person:a", "person:b", "person:c")):
        _home(engine, s, n)
        _stay(engine, s, n * 5, 90 + n * 5, 10 + n, "CAFE1")
    out = meetings(engine)
    assert out[tables.MEETING] == 1
    assert out[tables.MEETING_MEMBER] == 3
    assert out[tables.COPRESENCE] == 3
    assert engine.fetch_rows(f"SELECT participants FROM {tables.MEETING}") == [(3,)]


def test_one_meeting_at_a_time_keeps_the_best_partner(engine: Engine) -> None:
    """A and B arrive and leave together; C sits 250 m away and arrives 40 minutes
    later. C scores below Z_GROUP with both and A is already matched with B, so there is
    one meeting of A and B, and C is in none (one person, one meeting at a time)."""
    for n, s in enumerate(("person:a", "person:b", "person:c")):
        _home(engine, s, n)
    _stay(engine, "person:a", 0, 120, 1, "CAFE1")
    _stay(engine, "person:b", 0, 120, 2, "CAFE1")
    _stay(engine, "person:c", 40, 160, 3, "CAFE2", at=(CAFE[0] + 0.00225, CAFE[1]))
    out = meetings(engine)
    assert out[tables.MEETING] == 1
    members = engine.fetch_rows(f"SELECT subject FROM {tables.MEETING_MEMBER} ORDER BY 1")
    assert members == [("person:a",), ("person:b",)]


def test_contact_raises_the_score(engine: Engine) -> None:
    """Two people 450 m apart who arrive 50 minutes apart score below Z_MIN as
    strangers (no meeting); the same pair in the contact network is a meeting."""
    for n, s in enumerate(("person:a", "person:b")):
        _home(engine, s, n)
    _stay(engine, "person:a", 0, 150, 1, "CAFE1")
    _stay(engine, "person:b", 50, 170, 2, "CAFE2", at=(CAFE[0] + 0.00405, CAFE[1]))
    assert meetings(engine)[tables.MEETING] == 0
    engine.execute(f"CREATE TABLE {tables.CONTACT} ({tables.COLUMNS[tables.CONTACT]})")
    engine.execute(
        f"INSERT INTO {tables.CONTACT} (a, a_kind, b, b_kind, events, weight) "
        "VALUES ('person:a', 'person', 'person:b', 'person', 12, 3.0)"
    )
    assert meetings(engine)[tables.MEETING] == 1


def _two_pairs(engine: Engine, other: str, strangers: list[tuple[int, int]]) -> None:
    """A and B at the cafe QUIET, C and D at ``other`` 3 km away, each pair for the same
    90 minutes, and strangers at ``other`` (their stays' minutes)."""
    for n, s in enumerate(("person:a", "person:b", "person:c", "person:d")):
        _home(engine, s, n)
    _stay(engine, "person:a", 0, 90, 1, "QUIET")
    _stay(engine, "person:b", 0, 90, 2, "QUIET")
    there = (CAFE[0] - 0.03, CAFE[1])
    _stay(engine, "person:c", 0, 90, 3, other, at=there)
    _stay(engine, "person:d", 0, 90, 4, other, at=there)
    for k, (start, end) in enumerate(strangers):
        _home(engine, f"person:x{k}", 10 + k)
        _stay(engine, f"person:x{k}", start, end, 50 + k, other, at=there)


def test_a_pair_among_strangers_is_less_sure(engine: Engine) -> None:
    """A and B spend the same 90 minutes at a quiet cafe as C and D at a crowded one,
    where six strangers come and go at about the same time: both pairs meet, but the
    crowded pair's p is lower (each of its stays is a candidate with many others; the
    strangers pair off among themselves)."""
    _two_pairs(engine, "CROWDED", [(20 + 5 * k, 130 + 5 * k) for k in range(6)])
    meetings(engine)
    p = {
        members: json.loads(evidence)["p"]
        for members, evidence in engine.fetch_rows(
            f"SELECT string_agg(m.subject, ' ' ORDER BY m.subject), any_value(n.evidence) "
            f"FROM {tables.MEETING} n JOIN {tables.MEETING_MEMBER} m USING (meeting_id) "
            "GROUP BY n.meeting_id"
        )
    }
    assert p["person:c person:d"] < p["person:a person:b"]


def test_busy_place_has_higher_entropy_and_lower_privacy(engine: Engine) -> None:
    """A pair meets at a quiet cafe only they use, another pair at a busy one that ten
    other people pass through on other days: the busy place has the higher entropy
    (ln of about twelve visitors), the lower privacy and the lower score."""
    _two_pairs(engine, "BUSY", [(2000 + 200 * k, 2090 + 200 * k) for k in range(10)])
    meetings(engine)
    rows = {
        r[0]: r[1:]
        for r in engine.fetch_rows(
            f"SELECT building, place_entropy, privacy, score FROM {tables.MEETING}"
        )
    }
    quiet, crowded = rows["QUIET"], rows["BUSY"]
    assert quiet[0] == pytest.approx(0.6931, abs=1e-3)  # two equal visitors: ln 2
    assert crowded[0] == pytest.approx(2.4849, abs=1e-3)  # twelve equal visitors: ln 12
    assert crowded[1] < quiet[1]
    assert crowded[2] < quiet[2]


# -- accuracy on the simulated district ------------------------------------------------
def test_meetings_on_the_simulator(linked: tuple[Path, Path], tmp_path: Path) -> None:
    """Run the stage on a copy of the built 600-person workspace (twice: the tables
    must not change, whatever order the threads add scores in) and score it; the
    floors are the figures measured when this was written, less a margin (far below
    the issue's target of F1 0.90: see docs/network.md, Meetings, for why)."""
    from tessera.evaluate import Truth, evaluate
    from tessera.evaluate.meetings import PROVIDERS
    from tessera.workspace import Workspace

    out, path = linked
    copy = tmp_path / "ws"
    shutil.copytree(path, copy)
    with Workspace.open(copy) as ws:
        written = meetings(ws.engine)
        assert set(written) == set(MEETINGS.outputs)
        print(written)
        first = _digest(ws.engine)
        meetings(ws.engine)
        assert _digest(ws.engine) == first, "a second run changed the tables"
        result = evaluate(ws, Truth(out), PROVIDERS)
    m = result.metrics
    print(m)
    assert m["network.meeting.true"] >= 50
    assert m["network.meeting.recall"] >= RECALL_FLOOR
    assert m["network.meeting.precision"] >= PRECISION_FLOOR
    assert "network.meeting_discreet.f1" in m
    # the split by contact covers every meeting once, on each side
    for count in ("true", "detected"):
        split = m[f"network.meeting.contact.{count}"] + m[f"network.meeting.no_contact.{count}"]
        assert split == m[f"network.meeting.{count}"]
    split = m["network.meeting.contact.matched_true"] + m["network.meeting.no_contact.matched_true"]
    assert 0 < split <= m["network.meeting.matched_true"]
    # a meeting of people in contact is told from a chance encounter better (on this
    # fixture 0.758 against 0.516; on `district` 0.790 against 0.244)
    assert m["network.meeting.contact.precision"] > m["network.meeting.no_contact.precision"] + 0.1


def _digest(engine: Engine) -> dict[str, object]:
    """Row count and content hash of each output of the stage."""
    return {
        t: engine.fetch_rows(f"SELECT count(*), sum(hash(x)) FROM (SELECT * FROM {t}) x")[0]
        for t in MEETINGS.outputs
    }


# measured on the fixture (600 people, 5 days, seed 5): recall 0.406, precision 0.611
# (58 of 143 true meetings); with both members required away and no crowding term,
# 0.397 and 0.667 (56 of 141); fixed rules with connected components, 0.376 and 0.165
RECALL_FLOOR = 0.33
PRECISION_FLOOR = 0.55
