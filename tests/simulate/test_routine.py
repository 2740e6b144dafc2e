"""Routines: a consistent timeline per person, binding meetings, nights at home."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from tessera.simulate import Population, World, WorldError, build_population, build_world
from tessera.simulate.routine import LOCAL, OUTSIDE, Schedule, build_schedule

START = dt.date(2026, 3, 23)  # spans the switch to summer time on 2026-03-29
DAYS = 14


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(5)


@pytest.fixture(scope="module")
def pop(world: World) -> Population:
    return build_population(world, 1500, seed=5)


@pytest.fixture(scope="module")
def sched(world: World, pop: Population) -> Schedule:
    return build_schedule(world, pop, START, DAYS, seed=5)


def _epoch(day: dt.date, hour: int) -> int:
    return int(dt.datetime.combine(day, dt.time(hour), LOCAL).timestamp())


def test_same_seed_same_schedule(world: World, pop: Population, sched: Schedule) -> None:
    again = build_schedule(world, pop, START, DAYS, seed=5)
    assert sched.stays_table().equals(again.stays_table())
    assert sched.meetings_table().equals(again.meetings_table())


def test_each_timeline_is_ordered_without_overlaps(sched: Schedule) -> None:
    first, last = _epoch(START, 0), _epoch(START + dt.timedelta(days=DAYS), 0)
    assert (sched.stay_end > sched.stay_start).all()
    assert sched.stay_start.min() == first
    assert sched.stay_end.max() == last
    same_person = sched.stay_person[1:] == sched.stay_person[:-1]
    assert (np.diff(sched.stay_person) >= 0).all()
    # the next stay starts when the previous one ended or later (the gap is the trip)
    assert (sched.stay_start[1:][same_person] >= sched.stay_end[:-1][same_person]).all()
    # trips take minutes, not hours
    gaps = sched.stay_start[1:][same_person] - sched.stay_end[:-1][same_person]
    assert gaps.max() <= 3 * 3600


def _where(sched: Schedule, person: int, t: int) -> tuple[int, str] | None:
    mine = np.flatnonzero(sched.stay_person == person)
    hit = mine[(sched.stay_start[mine] <= t) & (sched.stay_end[mine] > t)]
    return (
        (int(sched.stay_building[hit[0]]), str(sched.stay_activity[hit[0]])) if len(hit) else None
    )


def test_nights_at_home_or_away(pop: Population, sched: Schedule) -> None:
    for person in range(0, pop.size, 37):
        for d in range(1, DAYS):
            at = _where(sched, person, _epoch(START + dt.timedelta(days=d), 3))
            assert at is not None
            assert at in ((int(pop.person_home[person]), "home"), (OUTSIDE, "away")), at


def test_meetings_bind_their_participants(world: World, pop: Population, sched: Schedule) -> None:
    assert len(sched.meeting_building) > 0
    assert sched.meeting_discreet.any()
    for m in range(len(sched.meeting_building)):
        mid = int((sched.meeting_start[m] + sched.meeting_end[m]) // 2)
        for person in sched.meeting_people[m]:
            assert _where(sched, person, mid) == (int(sched.meeting_building[m]), "meeting")
        if sched.meeting_discreet[m]:
            anchors = {int(pop.person_home[p]) for p in sched.meeting_people[m]}
            anchors |= {int(pop.person_work[p]) for p in sched.meeting_people[m]}
            assert int(sched.meeting_building[m]) not in anchors
    left = sched.meetings_table().column("phones_left_behind").to_pylist()
    assert all(not x for x, d in zip(left, sched.meeting_discreet.tolist(), strict=True) if not d)


def test_workers_work_on_weekdays(pop: Population, sched: Schedule) -> None:
    office = np.flatnonzero(np.isin(pop.person_role, ["business", "diplomat", "student"]))
    at_work = total = 0
    for person in office[:200].tolist():
        for d in range(DAYS):
            day = START + dt.timedelta(days=d)
            if day.weekday() >= 5:
                continue
            at = _where(sched, person, _epoch(day, 11))
            if at is None or at[1] == "away":
                continue
            total += 1
            at_work += at[1] == "work"
    assert at_work / total > 0.8


def test_bad_days_refused(world: World, pop: Population) -> None:
    with pytest.raises(WorldError, match="days"):
        build_schedule(world, pop, START, 0, seed=1)
