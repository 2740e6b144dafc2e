"""Weekly routines with randomness: who is where, when, and who meets whom.

Each person gets a day plan per day: home at night, work or school on their working
days (with lunch out for some), gym evenings, social evenings and weekend outings,
trips out of the district, holidays and illness days. Meetings are planned first and
bind their participants:

* ordinary meetings: friends (more often with stronger ties) spend an evening at a
  restaurant or cafe;
* discreet meetings: a few pairs meet repeatedly at a third place away from both
  homes and workplaces, at varying times, arriving separately; some leave a phone at
  home or switch it off for them.

Stays are whole building visits (``building`` -1: outside the district), each with an
activity: home, work, lunch, errand, gym, social, outing, visit, meeting or away. The gaps
between consecutive stays are the trips that the movement model fills in. Times are
planned as minutes after local midnight (Europe/Berlin) and stored as UTC epoch seconds;
on a clock-change day those minutes are counted from midnight's UTC instant, so the
wall-clock times after the change are an hour off (docs/simulation.md, Known limits).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np

from tessera.simulate.population import EMBASSY_ROLES, Population
from tessera.simulate.world import World, WorldError

if TYPE_CHECKING:
    import pyarrow as pa

LOCAL = ZoneInfo("Europe/Berlin")
OUTSIDE = -1

WORKS_WEEKENDS = {"service_worker": 0.5, "driver": 0.3}  # share with weekend shifts


@dataclass
class Schedule:
    """Stays and meetings; stays are sorted by person, then time, and never overlap."""

    stay_person: np.ndarray
    stay_building: np.ndarray
    stay_start: np.ndarray  # UTC epoch seconds
    stay_end: np.ndarray
    stay_activity: np.ndarray  # str
    meeting_building: np.ndarray
    meeting_start: np.ndarray
    meeting_end: np.ndarray
    meeting_discreet: np.ndarray  # bool
    meeting_people: list[list[int]] = field(default_factory=list)
    phone_left: set[tuple[int, int]] = field(default_factory=set)  # (person, meeting)

    def stays_table(self) -> pa.Table:
        import pyarrow as pa

        return pa.table(
            {
                "person_id": self.stay_person.astype(np.int32),
                "building_id": self.stay_building.astype(np.int32),
                "start": pa.array(self.stay_start * 1000, pa.timestamp("ms", tz="UTC")),
                "end": pa.array(self.stay_end * 1000, pa.timestamp("ms", tz="UTC")),
                "activity": self.stay_activity.tolist(),
            }
        )

    def meetings_table(self) -> pa.Table:
        import pyarrow as pa

        return pa.table(
            {
                "meeting_id": np.arange(len(self.meeting_building), dtype=np.int32),
                "building_id": self.meeting_building.astype(np.int32),
                "start": pa.array(self.meeting_start * 1000, pa.timestamp("ms", tz="UTC")),
                "end": pa.array(self.meeting_end * 1000, pa.timestamp("ms", tz="UTC")),
                "discreet": self.meeting_discreet,
                "participants": pa.array(self.meeting_people, pa.list_(pa.int32())),
                "phones_left_behind": pa.array(
                    [
                        sorted(p for p in people if (p, m) in self.phone_left)
                        for m, people in enumerate(self.meeting_people)
                    ],
                    pa.list_(pa.int32()),
                ),
            }
        )


@dataclass(frozen=True)
class _Person:
    home: int
    work: int  # building, OUTSIDE, or -2 (none)
    wake: int  # minutes after midnight
    work_start: int
    work_len: int
    works_weekend: bool
    gym: int  # building or -2
    gym_days: frozenset[int]
    lunch_place: int
    lunch_out: float
    outing_places: tuple[int, ...]


def local_midnights(start: dt.date, days: int) -> list[int]:
    """UTC epoch seconds of local midnight on ``start`` and each of the ``days`` days
    after it (``days + 1`` values)."""
    return [
        int(dt.datetime.combine(start + dt.timedelta(days=d), dt.time(), LOCAL).timestamp())
        for d in range(days + 1)
    ]


class Planner:
    """The parts of a schedule shared by everyone (profiles, absences, meetings), ready
    to plan the days of any block of people. Each person's days draw from their own
    random stream, so a block's stays are the same whichever blocks are planned."""

    def __init__(self, world: World, pop: Population, start: dt.date, days: int, seed: int) -> None:
        if days < 1:
            raise WorldError(f"days must be at least 1, got {days}")
        self.pop, self.start, self.days, self.seed = pop, start, days, seed
        rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
        self.people = _profiles(world, pop, rng)
        self.away = _absences(pop, days, rng)
        self.meetings = _meetings(world, pop, self.people, days, self.away, rng)
        self.booked: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
        for m, (day, b, s, e, _discreet, who) in enumerate(self.meetings):
            for p in who:
                self.booked.setdefault((p, day), []).append((s, e, b, m))
        self.phone_left: set[tuple[int, int]] = set()
        for m, (_d, _b, _s, _e, discreet, who) in enumerate(self.meetings):
            if discreet:
                for p in who:
                    if rng.random() < 0.35:
                        self.phone_left.add((p, m))
        ties = pop.tie_index()
        self.neighbours = [ties.other[ties.of(p)] for p in range(pop.size)]
        self.midnights = local_midnights(start, days)

    def schedule(self, persons: range | None = None) -> Schedule:
        """Stays of ``persons`` (default: everyone) and all meetings."""
        persons = range(self.pop.size) if persons is None else persons
        plans: list[tuple[int, list[list[tuple[int, int, int, str]]]]] = []
        for p in persons:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, 2, 1, p]))
            plans.append(
                (
                    p,
                    [
                        _day(
                            self.people[p],
                            self.start + dt.timedelta(days=day),
                            self.away[p, day],
                            self.booked.get((p, day), []),
                            self.neighbours[p],
                            self.pop,
                            rng,
                        )
                        for day in range(self.days)
                    ],
                )
            )
        return _assemble(plans, self.meetings, self.midnights, self.phone_left)


def build_schedule(world: World, pop: Population, start: dt.date, days: int, seed: int) -> Schedule:
    """Plan ``days`` days from ``start`` for everyone in ``pop``."""
    return Planner(world, pop, start, days, seed).schedule()


def _profiles(world: World, pop: Population, rng: np.random.Generator) -> list[_Person]:
    kind = world.building_kind
    xy = world.building_xy

    wanted: tuple[tuple[str, ...], ...] = (
        ("gym",),
        ("restaurant", "cafe"),
        ("cafe", "park", "restaurant"),
    )
    pools = {kinds: np.flatnonzero(np.isin(kind, kinds)) for kinds in wanted}
    memo: dict[tuple[int, tuple[str, ...], int], np.ndarray] = {}

    def near(building: int, kinds: tuple[str, ...], k: int) -> np.ndarray:
        """The ``k`` buildings of ``kinds`` nearest to ``building`` (memoised: many
        people share a building)."""
        key = (building, kinds, k)
        if key not in memo:
            pool = pools[kinds]
            d = np.hypot(*(xy[pool] - xy[building]).T)
            memo[key] = pool[np.argsort(d, kind="stable")[:k]]
        return memo[key]

    out = []
    for p in range(pop.size):
        home = int(pop.person_home[p])
        work = int(pop.person_work[p])
        anchor = work if work >= 0 else home
        role = str(pop.person_role[p])
        start = {"student": 480, "service_worker": 600, "driver": 450}.get(role, 510)
        length = {"student": 390, "service_worker": 480, "local_resident": 480}.get(role, 540)
        gym_pool = near(home, ("gym",), 3)
        has_gym = rng.random() < 0.3
        out.append(
            _Person(
                home=home,
                work=work,
                wake=int(rng.normal(400, 30)),
                work_start=int(start + rng.normal(0, 30)),
                work_len=int(length + rng.normal(0, 40)),
                works_weekend=rng.random() < WORKS_WEEKENDS.get(role, 0.0),
                gym=int(rng.choice(gym_pool)) if has_gym else -2,
                gym_days=frozenset(rng.choice(5, size=2, replace=False).tolist())
                if has_gym
                else frozenset(),
                lunch_place=int(rng.choice(near(anchor, ("restaurant", "cafe"), 6))),
                lunch_out=0.0 if work < 0 else float(rng.uniform(0.1, 0.6)),
                outing_places=tuple(int(b) for b in near(home, ("cafe", "park", "restaurant"), 8)),
            )
        )
    return out


def _absences(pop: Population, days: int, rng: np.random.Generator) -> np.ndarray:
    """Per person and day: '' present, 'away' out of the district, 'ill' at home."""
    away = np.full((pop.size, days), "", dtype=object)
    for p in range(pop.size):
        if rng.random() < 0.12:  # a holiday of 4-10 days within the period
            length = int(rng.integers(4, 11))
            first = int(rng.integers(-length + 1, days))
            away[p, max(0, first) : max(0, first + length)] = "away"
        role = pop.person_role[p]
        trip_rate = 0.06 if role in EMBASSY_ROLES or role == "business" else 0.015
        for d in range(days):
            if away[p, d] == "" and rng.random() < trip_rate:
                away[p, d : d + int(rng.integers(1, 4))] = "away"
            elif away[p, d] == "" and rng.random() < 0.02:
                away[p, d] = "ill"
    return away


def _meetings(
    world: World,
    pop: Population,
    people: list[_Person],
    days: int,
    away: np.ndarray,
    rng: np.random.Generator,
) -> list[tuple[int, int, int, int, bool, list[int]]]:
    """(day, building, start, end minutes local, discreet, participants)."""
    out: list[tuple[int, int, int, int, bool, list[int]]] = []
    busy: set[tuple[int, int]] = set()  # (person, day) already meeting
    venues = np.flatnonzero(np.isin(world.building_kind, ("restaurant", "cafe")))
    xy = world.building_xy
    friends = np.flatnonzero(pop.tie_type == "friend")
    for day in range(days):
        # ordinary: each friendship meets with probability ~ strength / 20 a day
        go = friends[rng.random(len(friends)) < pop.tie_strength[friends] / 20]
        for t in go.tolist():
            a, b = int(pop.tie_a[t]), int(pop.tie_b[t])
            if away[a, day] or away[b, day] or (a, day) in busy or (b, day) in busy:
                continue
            mid = (xy[people[a].home] + xy[people[b].home]) / 2
            place = int(venues[np.argmin(np.hypot(*(xy[venues] - mid).T))])
            s = int(rng.integers(18 * 60 + 30, 20 * 60 + 30))
            e = s + _minutes(rng, 80, 0.45, 30, 240)
            out.append((day, place, s, e, False, [a, b]))
            busy.update({(a, day), (b, day)})
    # discreet: a few pairs across nationalities, embassy people among them
    embassy_people = np.flatnonzero(np.isin(pop.person_role, ("diplomat", "attache")))
    n_pairs = max(1, len(embassy_people) // 8)
    thirds = np.flatnonzero(np.isin(world.building_kind, ("park", "cafe", "hotel")))
    for _ in range(n_pairs):
        if len(embassy_people) == 0:
            break
        a = int(rng.choice(embassy_people))
        locals_ = np.flatnonzero(pop.person_nationality != pop.person_nationality[a])
        b = int(rng.choice(locals_))
        anchors = [
            xy[x]
            for x in (people[a].home, people[b].home, people[a].work, people[b].work)
            if x >= 0
        ]
        far = np.min([np.hypot(*(xy[thirds] - pt).T) for pt in anchors], axis=0)
        options = thirds[far > 800] if (far > 800).any() else thirds[far.argsort()[-5:]]
        every = int(rng.integers(5, 11))
        day = int(rng.integers(0, every))
        while day < days:
            if (
                not away[a, day]
                and not away[b, day]
                and (a, day) not in busy
                and (
                    b,
                    day,
                )
                not in busy
            ):
                s = int(rng.choice([12 * 60 + 15, 16 * 60 + 30, 21 * 60])) + int(
                    rng.integers(-20, 20)
                )
                out.append(
                    (day, int(rng.choice(options)), s, s + int(rng.integers(35, 70)), True, [a, b])
                )
                busy.update({(a, day), (b, day)})
            day += every + int(rng.integers(-1, 2))
    return out


def _day(
    me: _Person,
    date: dt.date,
    absent: str,
    booked: list[tuple[int, int, int, int]],
    friends: np.ndarray,
    pop: Population,
    rng: np.random.Generator,
) -> list[tuple[int, int, int, str]]:
    """(start, end, building, activity) in local minutes of this day, 0..1440."""
    if absent == "away":
        return [(0, 1440, OUTSIDE, "away")]
    if absent == "ill":
        return [(0, 1440, me.home, "home")]
    weekday = date.weekday()
    working = me.work != -2 and (weekday < 5 or me.works_weekend)
    if me.works_weekend and weekday in (1, 2):  # weekend workers take two days off
        working = False
    plan: list[tuple[int, int, int, str]] = []
    t = 0
    leave = max(me.wake + 30, me.work_start - int(rng.integers(15, 45)))
    if working:
        arrive = leave + int(rng.integers(15, 45))
        end = arrive + me.work_len + int(rng.normal(0, 20))
        plan.append((t, leave, me.home, "home"))
        lunch = me.work >= 0 and rng.random() < me.lunch_out and end - arrive > 300
        if lunch:
            ls = 12 * 60 + int(rng.integers(0, 45))
            plan.append((arrive, ls, me.work, "work"))
            back = ls + 8 + _minutes(rng, 35, 0.35, 15, 75)
            plan.append((ls + 8, back, me.lunch_place, "lunch"))
            plan.append((back + 8, end, me.work, "work"))
        else:
            plan.append((arrive, end, me.work, "work"))
        t = end + int(rng.integers(15, 45))
        if rng.random() < 0.3:  # a short stop on the way home
            s = t + int(rng.integers(5, 15))
            e = s + _minutes(rng, 12, 0.6, 4, 45)
            plan.append((s, e, int(rng.choice(me.outing_places)), "errand"))
            t = e + int(rng.integers(10, 25))
    else:
        out_at = 10 * 60 + int(rng.integers(0, 240))
        plan.append((0, out_at, me.home, "home"))
        if rng.random() < (0.7 if weekday >= 5 else 0.45):
            place = int(rng.choice(me.outing_places))
            kind = "outing"
            if len(friends) and rng.random() < 0.25:  # visit someone at home
                place, kind = int(pop.person_home[int(rng.choice(friends))]), "visit"
            s = out_at + int(rng.integers(15, 40))
            e = s + _minutes(rng, 50 if kind == "outing" else 90, 0.7, 10, 300)
            plan.append((s, e, place, kind))
            t = e + int(rng.integers(15, 40))
        else:
            t = out_at
    # evening: the gym or a social evening, else home (meetings are carved in below)
    if me.gym >= 0 and weekday in me.gym_days and t < 20 * 60:
        s = t + int(rng.integers(10, 30))
        e = s + int(rng.integers(60, 100))
        plan += [(t, s - 10, me.home, "home")] if s - 10 - t > 20 else []
        plan.append((s, e, me.gym, "gym"))
        t = e + int(rng.integers(10, 30))
    elif rng.random() < 0.08:
        s = max(t + 20, 19 * 60 + int(rng.integers(0, 60)))
        e = s + _minutes(rng, 70, 0.5, 25, 200)
        plan.append((t, s - 15, me.home, "home"))
        plan.append((s, e, me.lunch_place, "social"))
        t = e + int(rng.integers(10, 30))
    plan.append((t, 1440, me.home, "home"))
    for s, e, b, _m in sorted(booked):  # meetings bind: everything else yields to them
        plan = _carve(plan, s, e, b, me.home, rng)
    return _tidy(plan)


def _minutes(rng: np.random.Generator, median: float, sigma: float, lo: int, hi: int) -> int:
    """A log-normal duration in minutes, clipped to [lo, hi]."""
    return int(np.clip(rng.lognormal(np.log(median), sigma), lo, hi))


def _carve(
    plan: list[tuple[int, int, int, str]],
    s: int,
    e: int,
    building: int,
    home: int,
    rng: np.random.Generator,
) -> list[tuple[int, int, int, str]]:
    """Insert a meeting at [s, e), with time to travel on either side."""
    before, after = s - int(rng.integers(10, 25)), e + int(rng.integers(10, 25))
    out: list[tuple[int, int, int, str]] = []
    for a, b, place, kind in plan:
        if b <= before or a >= after:
            out.append((a, b, place, kind))
            continue
        if a < before:
            out.append((a, before, place, kind))
        if b > after:
            out.append((after, b, place, kind))
    out.append((s, e, building, "meeting"))
    out.sort()
    if not any(a >= after for a, *_ in out):  # the day ends after the meeting: go home
        out.append((after, 1440, home, "home"))
    return out


def _tidy(plan: list[tuple[int, int, int, str]]) -> list[tuple[int, int, int, str]]:
    """Drop empty stays, clip overlaps, join consecutive stays at one place."""
    clean: list[tuple[int, int, int, str]] = []
    for s, e, b, kind in sorted(plan):
        s, e = max(0, s), min(1440, e)
        if clean and s < clean[-1][1]:
            if kind == "meeting":  # a meeting never yields
                prev = clean[-1]
                clean[-1] = (prev[0], s, prev[2], prev[3])
                if clean[-1][1] - clean[-1][0] < 5:
                    clean.pop()
            else:
                s = clean[-1][1]
        if e - s < 5:
            continue
        if clean and clean[-1][2] == b and clean[-1][3] == kind:
            clean[-1] = (clean[-1][0], e, b, kind)
        else:
            clean.append((s, e, b, kind))
    return clean


def _assemble(
    plans: list[tuple[int, list[list[tuple[int, int, int, str]]]]],
    meetings: list[tuple[int, int, int, int, bool, list[int]]],
    midnights: list[int],
    phone_left: set[tuple[int, int]],
) -> Schedule:
    def at(day: int, minute: int) -> int:
        # minutes within a local day; the day's length follows DST changes
        length = midnights[day + 1] - midnights[day]
        return midnights[day] + min(minute * 60, length)

    person: list[int] = []
    building: list[int] = []
    s_utc: list[int] = []
    e_utc: list[int] = []
    activity: list[str] = []
    for p, by_day in plans:
        for day, plan in enumerate(by_day):
            for s, e, b, kind in plan:
                s_at, e_at = at(day, s), at(day, e)
                # a stay continuing across midnight at the same place is one stay
                if (
                    person
                    and person[-1] == p
                    and building[-1] == b
                    and activity[-1] == kind
                    and (e_utc[-1] == s_at)
                ):
                    e_utc[-1] = e_at
                    continue
                person.append(p)
                building.append(b)
                s_utc.append(s_at)
                e_utc.append(e_at)
                activity.append(kind)
    return Schedule(
        np.array(person, dtype=np.int64),
        np.array(building, dtype=np.int64),
        np.array(s_utc, dtype=np.int64),
        np.array(e_utc, dtype=np.int64),
        np.array(activity),
        np.array([m[1] for m in meetings], dtype=np.int64),
        np.array([at(m[0], m[2]) for m in meetings], dtype=np.int64),
        np.array([at(m[0], m[3]) for m in meetings], dtype=np.int64),
        np.array([m[4] for m in meetings], dtype=bool),
        [sorted(m[5]) for m in meetings],
        phone_left,
    )
