"""Calls and SMS between the district's phones, and contact lists read off some handsets.

Communications follow the social graph. Every tie is a *link* with a rate in events per
day (both directions together) set by its type and strength, a per-tie spread and the
activity of both people; so is every outside party a person keeps in touch with (about a
fifth of a person's communications) and every contact of a second phone. Each link has
its own channel mix (calls only, SMS only or both), its own balance of who starts
(reciprocal, never exactly even) and its own call lengths (lognormal, median about 75 s).

Timing is bursty, a cluster process per link: active days (Poisson over the period,
weighted by the link's daily rhythm), one or more sessions on an active day (at hours
drawn from the rhythm: quiet nights, peaks late morning and evening, colleagues on
working days and hours), and within a session several events minutes apart (an SMS
exchange, a call and a call back). Rhythms are in local time (Europe/Berlin): the hour
grid is built from UTC hours of the period, so days of 23 or 25 hours are right.

A communication uses the phone active at its time: a primary phone is looked up per
event, so a swap moves a person's communications to the new device at the swap time.
Phones switched off at night neither call nor answer then; primary phones rest during
their owner's discreet meetings. People keep communicating while away. Second phones
talk only to their contacts (the contact's primary phone, or the contact's own second
phone when that one lists this person and keeps the same hours), only at their policy's
times (``work_hours``: weekdays 9-18; ``evenings``: 18-23; ``meetings``: a few SMS with
the partner in the 48 hours before each discreet meeting), and a discreet pair never
communicates primary to primary.

Calibration (rates per link type, the channel mix, burstiness) follows the Copenhagen
Networks Study figures in docs/simulation.md; the constants below say what was taken.

Contact lists come from about a tenth of the primary phones (as if from seized or
consented handsets): most of the owner's ties, the outside parties the owner talks to,
and a few stale numbers, under names as people type them.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from tessera.simulate.assets import NIGHT_OFF_HOURS, Assets
from tessera.simulate.feeds import Feed
from tessera.simulate.population import FEMALE_GIVEN, Population
from tessera.simulate.routine import LOCAL, Schedule

if TYPE_CHECKING:
    import pyarrow as pa

# --- calibration -----------------------------------------------------------------------
# Events per day on a tie of reference strength (both directions together), and that
# strength; a tie's rate scales with (strength / reference) ** 2. Family and close friends
# are in touch daily, colleagues on working days, acquaintances about once a month. The
# Copenhagen Networks Study (students, 28 days) has 0.29 events per active tie and day
# at the median, 1.13 mean, 1.9 at p90: strongly heavy-tailed. All tie rates are then
# scaled together to PER_PERSON_DAY (the factor stays within about 0.8-1.1 from 2,000 to
# 200,000 people).
TIE_RATES: dict[str, tuple[float, float]] = {
    "family": (1.0, 0.85),
    "friend": (0.30, 0.55),
    "colleague": (0.40, 0.40),
    "acquaintance": (0.04, 0.14),
}
PER_PERSON_DAY = 5.0  # communications a person sends or receives a day, on average
_TIE_SPREAD = 1.5  # sigma of each tie's lognormal rate factor (mean one)
_ACTIVITY_SPREAD = 0.6  # sigma of each person's lognormal activity (mean one)
OUTSIDE_SHARE = 0.20  # share of a person's communications with people outside the district
# Channel mix per tie: calls only, SMS only, both (CNS: 21% / 29% / 50% of active ties;
# adults call more than students, whose SMS:call ratio is 6.8:1).
_CHANNEL_MIX = (0.12, 0.18, 0.70)
_SESSIONS_EXTRA = 0.7  # sessions on an active day: 1 + Poisson(0.7)
_CALLS_PER_SESSION = 1.3  # geometric, mean (a call, sometimes a call back)
_SMS_PER_SESSION = 4.0  # geometric, mean (an exchange)
_REPLY = {True: 0.45, False: 0.75}  # chance the next event of a session goes the other way
_CALL_MEDIAN_S = 75.0
_CALL_SIGMA = 1.0
_SWITCH_CHANNEL = 0.2  # chance an event of a session uses the link's other channel
_UNANSWERED = 0.12  # calls not answered: duration 0
_SMS_GAP = (30.0, 1.2)  # median seconds and sigma between SMS of a session
_CALL_GAP = (150.0, 1.2)  # between the end of a call and the next call of a session
_SECOND_RATE = 0.5  # mean events per day between a second phone and one contact
_CHUNK = 200_000  # links per generation chunk (bounds memory; part of determinism)

# Hourly rhythms (local hour 0..23): weekday and weekend weights.
_GENERAL_WEEKDAY = (0.25, 0.12, 0.06, 0.04, 0.04, 0.10, 0.35, 0.90, 1.5, 1.9, 2.3, 2.6,
                    2.4, 2.1, 2.0, 2.1, 2.3, 2.6, 2.8, 3.0, 2.9, 2.5, 1.7, 0.8)  # fmt: skip
_GENERAL_WEEKEND = (0.40, 0.25, 0.12, 0.06, 0.04, 0.05, 0.12, 0.35, 0.8, 1.4, 2.0, 2.5,
                    2.6, 2.4, 2.3, 2.3, 2.4, 2.6, 2.8, 3.0, 2.9, 2.5, 1.8, 1.0)  # fmt: skip
_WORK_WEEKDAY = (0, 0, 0, 0, 0, 0, 0.05, 0.5, 2.0, 3.0, 3.2, 3.0,
                 1.8, 2.6, 3.0, 2.8, 2.4, 1.6, 0.6, 0.3, 0.2, 0.1, 0.05, 0)  # fmt: skip
_OFFICE_WEEKDAY = (0, 0, 0, 0, 0, 0, 0, 0.2, 1.5, 2.5, 2.8, 2.6,
                   1.5, 2.2, 2.6, 2.4, 2.0, 1.0, 0.2, 0, 0, 0, 0, 0)  # fmt: skip
_NONE = (0.0,) * 24
GENERAL, WORK, OFFICE, WORK_HOURS, EVENINGS = range(5)
_PROFILES: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...] = (
    (_GENERAL_WEEKDAY, _GENERAL_WEEKEND),
    (_WORK_WEEKDAY, tuple(0.03 * w for w in _GENERAL_WEEKEND)),
    (_OFFICE_WEEKDAY, _NONE),
    (tuple(1.0 if 9 <= h < 18 else 0.0 for h in range(24)), _NONE),
    ((tuple(1.0 if 18 <= h < 23 else 0.0 for h in range(24)),) * 2),
)
_POLICY_PROFILE = {"work_hours": WORK_HOURS, "evenings": EVENINGS}
_STRICT = (OFFICE, WORK_HOURS, EVENINGS)  # rhythms whose zero hours are closed hours

# Outside numbers: (prefixes, random digits after the prefix), all valid numbers. German
# mobiles use prefixes the district's own phones do not (assets draws 151-177 others).
NUMBER_PLANS: dict[str, tuple[tuple[str, ...], int]] = {
    "DE_FIXED": (tuple(f"+4930{d}" for d in "23456789"), 7),
    "DE_MOBILE": (("+49159", "+49163", "+49173", "+49174", "+49175", "+49178", "+49179"), 8),
    "CN": (("+86138", "+86139", "+86135", "+86136", "+86137"), 8),
    "RU": (("+7915", "+7916", "+7903", "+7926", "+7985"), 7),
    "UA": (("+38067", "+38050", "+38063"), 7),
    "US": (tuple(f"+1202{d}" for d in "23456789") + tuple(f"+1212{d}" for d in "23456789"), 6),
    "GB": (("+44740", "+44759", "+44789", "+44795"), 7),
    "FR": (("+3361", "+3365", "+3367"), 7),
    "IR": (("+98912", "+98935"), 7),
    "SA": (("+96650", "+96655"), 7),
    "EG": (("+2010", "+2012"), 8),
    "TR": (("+90532", "+90533", "+90542", "+90555"), 7),
    "JP": (("+81901", "+81902", "+81801"), 7),
    "IN": (("+919",), 9),
    "BR": (("+55119", "+55219"), 8),
    "PL": (("+4850", "+4851", "+4860", "+4869", "+4879"), 7),
    "IT": (("+39331", "+39347", "+39320"), 7),
    "ES": (("+346",), 8),
    "KR": (("+82102", "+82109"), 7),
    "AE": (("+97150", "+97155"), 7),
    "PK": (("+9230",), 8),
    "NG": (("+234803", "+234806"), 7),
}
_ABROAD = tuple(k for k in NUMBER_PLANS if not k.startswith("DE_"))
_CALLING_CODES = ("1", "7", "20", "33", "34", "39", "44", "48", "49", "55", "81", "82",
                  "86", "90", "91", "92", "98", "234", "380", "966", "971")  # fmt: skip

_CONTACT_LIST_SHARE = 0.10
_LISTED = {"family": 0.95, "friend": 0.85, "colleague": 0.75, "acquaintance": 0.25}


@dataclass(frozen=True)
class Communications:
    """Calls and SMS sorted by time; arrays aligned by row.

    Parties are indices into ``numbers``: the devices first (party ``d`` is device ``d``
    of the assets), then the outside parties. ``from_number``, ``to_number`` and
    ``channel`` are the same rows as strings, built on first use.
    """

    time: np.ndarray  # (n,) int64 UTC epoch seconds, ascending
    from_device: np.ndarray  # (n,) int32 device id, -1 outside the population
    to_device: np.ndarray
    from_party: np.ndarray  # (n,) int32 index into numbers
    to_party: np.ndarray
    is_call: np.ndarray  # (n,) bool; False: SMS
    duration_s: np.ndarray  # (n,) float64; 0 for SMS and unanswered calls
    numbers: np.ndarray  # (m,) object, E.164: device numbers by device id, then outsiders

    def __len__(self) -> int:
        return len(self.time)

    @cached_property
    def from_number(self) -> np.ndarray:
        return np.asarray(self.numbers[self.from_party])

    @cached_property
    def to_number(self) -> np.ndarray:
        return np.asarray(self.numbers[self.to_party])

    @cached_property
    def channel(self) -> np.ndarray:
        return np.asarray(np.array(["sms", "call"], dtype=object)[self.is_call.view(np.int8)])

    def table(self) -> pa.Table:
        """The rows as Arrow; numbers and channel are dictionary-encoded strings."""
        import pyarrow as pa

        numbers = pa.array(self.numbers.tolist(), pa.string())
        return pa.table(
            {
                "time": pa.array(self.time * 1000, pa.timestamp("ms", tz="UTC")),
                "from_device": self.from_device,
                "to_device": self.to_device,
                "from_number": pa.DictionaryArray.from_arrays(self.from_party, numbers),
                "to_number": pa.DictionaryArray.from_arrays(self.to_party, numbers),
                "channel": pa.DictionaryArray.from_arrays(
                    self.is_call.view(np.int8), pa.array(["sms", "call"])
                ),
                "duration_s": self.duration_s,
            }
        )


# --- the hour grid ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Clock:
    """The period's UTC hours with their local hour and day, and cumulative rhythms."""

    t0: int
    t1: int
    slot_utc: np.ndarray  # (h,) UTC epoch seconds of each hour's start
    slot_hour: np.ndarray  # (h,) local hour 0..23
    slot_day: np.ndarray  # (h,) local day index
    day_first: np.ndarray  # (days + 1,) first slot of each local day, then h
    weight: np.ndarray  # (profiles, h) each rhythm's weight of each hour
    cum: np.ndarray  # (profiles, h + 1) cumulative weights

    @classmethod
    def of(cls, t0: int, t1: int) -> _Clock:
        n = (t1 - t0) // 3600
        utc = t0 + 3600 * np.arange(n, dtype=np.int64)
        local = [dt.datetime.fromtimestamp(int(t), LOCAL) for t in utc]
        hour = np.array([x.hour for x in local], dtype=np.int64)
        weekend = np.array([x.weekday() >= 5 for x in local], dtype=bool)
        first = local[0].date().toordinal()
        day = np.array([x.date().toordinal() - first for x in local], dtype=np.int64)
        day_first = np.searchsorted(day, np.arange(int(day[-1]) + 2))
        weights = np.array(
            [np.where(weekend, np.array(we)[hour], np.array(wd)[hour]) for wd, we in _PROFILES]
        )
        cum = np.concatenate([np.zeros((len(_PROFILES), 1)), np.cumsum(weights, axis=1)], axis=1)
        return cls(t0, t1, utc, hour, day, day_first, weights, cum)

    @property
    def days(self) -> float:
        return (self.t1 - self.t0) / 86400

    def sample(
        self, profile: int, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """One slot per row in [lo, hi), weighted by the profile (hi > lo, some weight)."""
        cum = self.cum[profile]
        u = cum[lo] + rng.random(len(lo)) * (cum[hi] - cum[lo])
        slot = np.searchsorted(cum, u, side="right") - 1
        return np.asarray(np.clip(slot, lo, hi - 1))

    def slot(self, t: np.ndarray) -> np.ndarray:
        return np.asarray(np.clip((t - self.t0) // 3600, 0, len(self.slot_hour) - 1))

    def local_hour(self, t: np.ndarray) -> np.ndarray:
        return np.asarray(self.slot_hour[self.slot(t)])


# --- who talks to whom -----------------------------------------------------------------


@dataclass(frozen=True)
class _Outside:
    """The outside parties people keep in touch with (one row per person and party)."""

    person: np.ndarray
    party: np.ndarray  # index into numbers
    relation: np.ndarray  # family | friend | service | work
    weight: np.ndarray  # share of the person's outside communications
    numbers: list[str]


@dataclass(frozen=True)
class _Links:
    """Pairs that communicate: side a is a person, side b a person or an outside party."""

    a_person: np.ndarray
    a_device: np.ndarray  # a fixed device, or -1: a's primary phone at the time
    b_person: np.ndarray  # -1: an outside party
    b_device: np.ndarray
    b_outside: np.ndarray  # outside party, or -1
    profile: np.ndarray
    rate: np.ndarray  # events per day
    p_call: np.ndarray  # share of sessions that are calls
    p_a: np.ndarray  # share of sessions side a starts
    dur_scale: np.ndarray  # call length factor

    def __len__(self) -> int:
        return len(self.a_person)

    @staticmethod
    def concat(parts: Sequence[_Links]) -> _Links:
        fields = _Links.__dataclass_fields__
        return _Links(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in fields})

    def take(self, idx: np.ndarray | slice) -> _Links:
        fields = _Links.__dataclass_fields__
        return _Links(**{f: getattr(self, f)[idx] for f in fields})


def _streams(seed: int) -> list[np.random.SeedSequence]:
    """comms, contacts and outside parties (shared by both, so the lists match the calls)."""
    return np.random.SeedSequence([seed, 5]).spawn(3)


def draw_numbers(plan: str, count: int, rng: np.random.Generator) -> list[str]:
    """``count`` distinct numbers of one plan of :data:`NUMBER_PLANS`."""
    prefixes, digits = NUMBER_PLANS[plan]
    got = np.zeros(0, dtype=np.int64)
    while len(got) < count:
        extra = count - len(got) + 8
        draw = rng.integers(0, len(prefixes), extra) * 10**digits + rng.integers(
            0, 10**digits, extra
        )
        both = np.concatenate([got, draw])
        _, first = np.unique(both, return_index=True)
        got = both[np.sort(first)]
    got = got[:count]
    return [f"{prefixes[int(c) // 10**digits]}{int(c) % 10**digits:0{digits}d}" for c in got]


def _outside(pop: Population, rng: np.random.Generator) -> _Outside:
    """1 + Poisson(3) outside parties per person, some shared (services, common friends)."""
    n = pop.size
    person = np.repeat(np.arange(n), 1 + rng.poisson(3.0, n))
    m = len(person)
    nat = pop.person_nationality[person]
    foreign = nat != "DE"
    u = rng.random(m)
    # DE nationals: landline 35%, German mobile 50%, abroad 15%;
    # foreigners: 20%, 30%, their home country 40%, elsewhere abroad 10%
    landline = u < np.where(foreign, 0.20, 0.35)
    mobile = ~landline & (u < np.where(foreign, 0.50, 0.85))
    abroad = ~landline & ~mobile
    home = abroad & foreign & (u < 0.90) & np.isin(nat, _ABROAD)
    plan = np.where(landline, "DE_FIXED", "DE_MOBILE").astype(object)
    plan[abroad] = np.array(_ABROAD)[rng.integers(0, len(_ABROAD), m)][abroad]
    plan[home] = nat[home]
    r = rng.random(m)
    relation = np.full(m, "friend", dtype=object)
    relation[landline] = "service"
    relation[mobile & (r < 0.3)] = "family"
    relation[home & (r < 0.5)] = "family"
    relation[abroad & ~home & (r < 0.5)] = "work"
    party = np.empty(m, dtype=np.int64)
    numbers: list[str] = []
    for key in sorted(set(plan.tolist())):
        who = np.flatnonzero(plan == key)
        # landlines are shared a lot (a doctor's practice, a pizza service)
        share, skew = (0.3, 2.5) if key == "DE_FIXED" else (0.8, 1.3)
        size = max(1, round(share * len(who)))
        party[who] = len(numbers) + np.floor(size * rng.random(len(who)) ** skew).astype(np.int64)
        numbers += draw_numbers(str(key), size, rng)
    _, keep = np.unique(person * len(numbers) + party, return_index=True)
    keep.sort()
    person, party, relation = person[keep], party[keep], relation[keep]
    weight = rng.gamma(0.6, size=len(person)) + 1e-3
    weight /= np.bincount(person, weight, minlength=n)[person]
    return _Outside(person, party, relation.astype(str), weight, numbers)


def _discreet_pairs(schedule: Schedule) -> list[tuple[int, int]]:
    pairs = {
        (int(min(people)), int(max(people)))
        for m, people in enumerate(schedule.meeting_people)
        if schedule.meeting_discreet[m] and len(people) == 2
    }
    return sorted(pairs)


def _links(
    pop: Population,
    assets: Assets,
    schedule: Schedule,
    outside: _Outside,
    rng: np.random.Generator,
) -> _Links:
    n = pop.size
    activity = rng.lognormal(-(_ACTIVITY_SPREAD**2) / 2, _ACTIVITY_SPREAD, n)
    # ties, less the discreet pairs (they coordinate by second phone only)
    pairs = _discreet_pairs(schedule)
    hidden = np.array([a * n + b for a, b in pairs], dtype=np.int64)
    keep = ~np.isin(pop.tie_a * n + pop.tie_b, hidden)
    ta, tb = pop.tie_a[keep], pop.tie_b[keep]
    kind = pop.tie_type[keep]
    strength = pop.tie_strength[keep]
    t = len(ta)
    base = np.zeros(t)
    ref = np.ones(t)
    dur = np.ones(t)
    call_a = np.full(t, 2.0)
    for name, (rate, at) in TIE_RATES.items():
        base[kind == name] = rate
        ref[kind == name] = at
    for name, scale, a in (("family", 1.2, 2.0), ("friend", 1.4, 1.5), ("colleague", 0.8, 3.0),
                           ("acquaintance", 0.9, 2.0)):  # fmt: skip
        dur[kind == name] = scale
        call_a[kind == name] = a
    spread = rng.lognormal(-(_TIE_SPREAD**2) / 2, _TIE_SPREAD, t)
    rate = base * (strength / ref) ** 2 * spread * np.sqrt(activity[ta] * activity[tb])
    # the social graph's density varies with the population's size (organisations grow):
    # scale so that a person sends or receives PER_PERSON_DAY on average
    rate *= PER_PERSON_DAY * (1 - OUTSIDE_SHARE) * n / max(2 * rate.sum(), 1e-9)
    none = np.full(t, -1, dtype=np.int64)
    ties = _Links(
        ta, none, tb, none, none,
        np.where(kind == "colleague", WORK, GENERAL).astype(np.int8), rate,
        _mix(call_a, rng),
        rng.beta(4.0, 4.0, t), dur,
    )  # fmt: skip
    # outside parties: about OUTSIDE_SHARE of everything a person sends or receives
    internal = np.bincount(ta, rate, minlength=n) + np.bincount(tb, rate, minlength=n)
    ratio = OUTSIDE_SHARE / (1 - OUTSIDE_SHARE)
    o = len(outside.person)
    rel = outside.relation
    o_rate = ratio * np.maximum(internal, 0.5)[outside.person] * outside.weight
    o_call = _mix(np.full(o, 2.0), rng)
    o_call[rel == "service"] = 1.0  # landlines take calls only
    o_call[rel == "family"] = np.maximum(o_call[rel == "family"], 0.5)
    o_none = np.full(o, -1, dtype=np.int64)
    outsiders = _Links(
        outside.person, o_none, o_none, o_none, outside.party,
        np.select([rel == "service", rel == "work"], [OFFICE, WORK], GENERAL).astype(np.int8),
        o_rate, o_call,
        np.where(rel == "service", 0.75, rng.beta(4.0, 4.0, o)),
        np.select([rel == "family", rel == "service"], [2.0, 0.8], 1.2),
    )  # fmt: skip
    return _Links.concat([ties, outsiders, _second_links(assets, rng)])


def _mix(call_a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per link, the share of sessions that are calls: 1 calls only, 0 SMS only, or a mix
    drawn from Beta(call_a, 2)."""
    kind = rng.choice(3, size=len(call_a), p=_CHANNEL_MIX)
    return np.where(kind == 0, 1.0, np.where(kind == 1, 0.0, rng.beta(call_a, 2.0)))


def _second_links(assets: Assets, rng: np.random.Generator) -> _Links:
    """Second phones on work hours or evenings, to each of their contacts."""
    by_person: dict[int, list[int]] = {}
    for d in sorted(assets.second_policy):
        by_person.setdefault(int(assets.device_person[d]), []).append(d)
    rows: list[tuple[int, int, int, int, int]] = []
    for d, policy in sorted(assets.second_policy.items()):
        if policy not in _POLICY_PROFILE:
            continue
        for c in assets.second_contacts.get(d, []):
            other = -1
            for cand in by_person.get(int(c), []):
                if assets.second_policy[cand] == policy and int(
                    assets.device_person[d]
                ) in assets.second_contacts.get(cand, []):
                    other = cand
                    break
            if 0 <= other < d:
                continue  # the pair of second phones is already a link
            rows.append((int(assets.device_person[d]), d, int(c), other, _POLICY_PROFILE[policy]))
    k = len(rows)
    arr = np.array(rows, dtype=np.int64).reshape(k, 5)
    return _Links(
        arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], np.full(k, -1, dtype=np.int64),
        arr[:, 4].astype(np.int8),
        rng.lognormal(np.log(_SECOND_RATE) - 0.32, 0.8, k),
        rng.beta(2.0, 2.0, k), rng.beta(4.0, 4.0, k), np.full(k, 0.7),
    )  # fmt: skip


# --- events ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    link: np.ndarray
    time: np.ndarray
    from_a: np.ndarray
    is_call: np.ndarray
    duration: np.ndarray


def _segment_cumsum(values: np.ndarray, first: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running sum within groups; ``first[g]`` is the first row of group g."""
    total = np.cumsum(values)
    return np.asarray(total - (total[first] - values[first])[group])


def _events(links: _Links, clock: _Clock, rng: np.random.Generator) -> _Raw:
    """The cluster process: active days, sessions on them, events within sessions."""
    ev_per_session = links.p_call * _CALLS_PER_SESSION + (1 - links.p_call) * _SMS_PER_SESSION
    day_rate = links.rate / ((1 + _SESSIONS_EXTRA) * ev_per_session)
    n_days = rng.poisson(day_rate * clock.days)
    ep_link = np.repeat(np.arange(len(links), dtype=np.int64), n_days)
    e = len(ep_link)
    ep_profile = links.profile[ep_link]
    ep_slot = np.empty(e, dtype=np.int64)
    whole_lo = np.zeros(1, dtype=np.int64)
    whole_hi = np.full(1, len(clock.slot_utc), dtype=np.int64)
    for k in range(len(_PROFILES)):
        idx = np.flatnonzero(ep_profile == k)
        if len(idx):
            lo, hi = np.broadcast_to(whole_lo, len(idx)), np.broadcast_to(whole_hi, len(idx))
            ep_slot[idx] = clock.sample(k, lo, hi, rng)
    # sessions: the first at the day's anchor hour, the others elsewhere on the same day
    n_sess = 1 + rng.poisson(_SESSIONS_EXTRA, e)
    s_ep = np.repeat(np.arange(e, dtype=np.int64), n_sess)
    s = len(s_ep)
    s_first = np.zeros(s, dtype=bool)
    s_first[np.cumsum(n_sess) - n_sess] = True
    slot = ep_slot[s_ep]
    again = np.flatnonzero(~s_first)
    if len(again):
        day = clock.slot_day[slot[again]]
        prof = ep_profile[s_ep[again]]
        for k in range(len(_PROFILES)):
            idx = np.flatnonzero(prof == k)
            if len(idx):
                lo, hi = clock.day_first[day[idx]], clock.day_first[day[idx] + 1]
                slot[again[idx]] = clock.sample(k, lo, hi, rng)
    del s_first, again
    s_link = ep_link[s_ep]
    del s_ep, ep_link, ep_slot, ep_profile
    s_start = clock.slot_utc[slot] + rng.integers(0, 3600, s)
    s_call = rng.random(s) < links.p_call[s_link]
    s_from_a = rng.random(s) < links.p_a[s_link]
    n_ev = np.where(
        s_call,
        rng.geometric(1 / _CALLS_PER_SESSION, s),
        rng.geometric(1 / _SMS_PER_SESSION, s),
    )
    ev_s = np.repeat(np.arange(s, dtype=np.int64), n_ev)
    first = np.cumsum(n_ev) - n_ev
    del n_ev
    n = len(ev_s)
    link = s_link[ev_s]
    # now and then an exchange switches channel ("call me"), on links that use both
    mixed = (links.p_call[link] > 0) & (links.p_call[link] < 1)
    call = s_call[ev_s] ^ (mixed & (rng.random(n) < _SWITCH_CHANNEL))
    answered = rng.random(n) >= _UNANSWERED
    duration = np.where(
        call & answered,
        np.maximum(
            1.0,
            np.round(rng.lognormal(np.log(_CALL_MEDIAN_S), _CALL_SIGMA, n) * links.dur_scale[link]),
        ),
        0.0,
    )
    np.minimum(duration, 4 * 3600.0, out=duration)
    gap = (
        np.where(
            call,
            rng.lognormal(np.log(_CALL_GAP[0]), _CALL_GAP[1], n),
            rng.lognormal(np.log(_SMS_GAP[0]), _SMS_GAP[1], n),
        ).astype(np.int64)
        + 1
    )  # at least a second apart
    gap[1:] += duration[:-1].astype(np.int64)  # a call back waits for the call to end
    gap[first] = 0
    offset = _segment_cumsum(gap, first, ev_s)
    del gap
    turn = (rng.random(n) < np.where(call, _REPLY[True], _REPLY[False])).astype(np.int64)
    turn[first] = 0
    flips = _segment_cumsum(turn, first, ev_s) & 1
    del turn
    return _Raw(
        link,
        s_start[ev_s] + offset,
        s_from_a[ev_s] ^ flips.astype(bool),
        call,
        duration,
    )


def _meeting_events(
    assets: Assets, schedule: Schedule, clock: _Clock, rng: np.random.Generator
) -> tuple[_Links, _Raw]:
    """A few SMS on ``meetings`` second phones in the 48 h before each discreet meeting."""
    phones: dict[tuple[int, int], int] = {}  # (owner, partner) -> the owner's meetings phone
    for d, policy in sorted(assets.second_policy.items()):
        if policy == "meetings":
            for c in assets.second_contacts.get(d, []):
                phones.setdefault((int(assets.device_person[d]), int(c)), d)
    rows: list[tuple[int, int, int, int, int]] = []
    for m in np.flatnonzero(schedule.meeting_discreet).tolist():
        people = schedule.meeting_people[m]
        if len(people) != 2:
            continue
        a, b = int(people[0]), int(people[1])
        da, db = phones.get((a, b), -1), phones.get((b, a), -1)
        if da < 0 and db < 0:
            continue
        if da < 0:
            a, b, da, db = b, a, db, da
        rows.append((a, da, b, db, int(schedule.meeting_start[m])))
    k = len(rows)
    arr = np.array(rows, dtype=np.int64).reshape(k, 5)
    none = np.full(k, -1, dtype=np.int64)
    links = _Links(
        arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], none, np.full(k, GENERAL, np.int8),
        np.zeros(k), np.zeros(k), np.full(k, 0.5), np.ones(k),
    )  # fmt: skip
    start = arr[:, 4]
    h = len(clock.slot_utc)
    lo = np.clip((start - 48 * 3600 - clock.t0) // 3600, 0, h)
    hi = np.clip((start - 15 * 60 - clock.t0) // 3600 + 1, 0, h)
    ok = hi > lo
    n_sess = np.where(ok, 1 + (rng.random(k) < 0.5), 0)
    s_link = np.repeat(np.arange(k, dtype=np.int64), n_sess)
    slot = clock.sample(GENERAL, lo[s_link], hi[s_link], rng)
    s_start = np.clip(
        clock.slot_utc[slot] + rng.integers(0, 3600, len(s_link)),
        start[s_link] - 48 * 3600 + 60,
        start[s_link] - 15 * 60,
    )
    n_ev = 2 + rng.poisson(1.0, len(s_link))
    ev_s = np.repeat(np.arange(len(s_link), dtype=np.int64), n_ev)
    first = np.cumsum(n_ev) - n_ev
    gap = rng.lognormal(np.log(_SMS_GAP[0]), _SMS_GAP[1], len(ev_s)).astype(np.int64) + 1
    gap[first] = 0
    turn = (rng.random(len(ev_s)) < 0.8).astype(np.int64)
    turn[first] = 0
    flips = (_segment_cumsum(turn, first, ev_s) & 1).astype(bool)
    from_a = (rng.random(len(s_link)) < 0.5)[ev_s] ^ flips
    raw = _Raw(
        s_link[ev_s],
        np.minimum(s_start[ev_s] + _segment_cumsum(gap, first, ev_s), start[s_link][ev_s] - 60),
        from_a,
        np.zeros(len(ev_s), dtype=bool),
        np.zeros(len(ev_s)),
    )
    return links, raw


# --- phones at the time ----------------------------------------------------------------


@dataclass(frozen=True)
class _Phones:
    """Look-ups: each person's primary phone at a time; discreet meetings per person."""

    single: np.ndarray  # person -> their only primary device, -1 none, -2 several
    keys: np.ndarray  # person << 32 | active_from of primary devices, sorted
    device: np.ndarray  # the device of each key
    dev_from: np.ndarray
    dev_to: np.ndarray
    night_off: np.ndarray
    meets: np.ndarray  # person -> has discreet meetings
    busy_keys: np.ndarray  # person << 32 | meeting start, sorted
    busy_end: np.ndarray

    @classmethod
    def of(cls, pop: Population, assets: Assets, schedule: Schedule) -> _Phones:
        prim = np.flatnonzero(assets.device_role == "primary")
        owner = assets.device_person[prim]
        count = np.bincount(owner, minlength=pop.size)
        single = np.where(count == 0, -1, -2)
        alone = count[owner] == 1
        single[owner[alone]] = prim[alone]
        keys = (owner << 32) | assets.device_from[prim]
        order = np.argsort(keys, kind="stable")
        # the primary phone rests during a discreet meeting, and an hour either side when
        # it was left at home for it (as the sensors see it)
        rest = [
            (p, int(schedule.meeting_start[m]) - pad, int(schedule.meeting_end[m]) + pad)
            for m in np.flatnonzero(schedule.meeting_discreet).tolist()
            for p in schedule.meeting_people[m]
            for pad in [3600 if (p, m) in schedule.phone_left else 0]
        ]
        bp = np.array([r[0] for r in rest], dtype=np.int64)
        be = np.array([r[2] for r in rest], dtype=np.int64)
        busy_keys = (bp << 32) | np.array([r[1] for r in rest], dtype=np.int64)
        b_order = np.argsort(busy_keys, kind="stable")
        meets = np.zeros(pop.size, dtype=bool)
        meets[bp] = True
        return cls(
            single, keys[order], prim[order], assets.device_from, assets.device_to,
            assets.device_night_off, meets, busy_keys[b_order], be[b_order],
        )  # fmt: skip

    def primary(self, person: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The primary device of each person (-1: an outside party) active at t, or -1."""
        dev = np.where(person >= 0, self.single[np.maximum(person, 0)], -1)
        several = np.flatnonzero(dev == -2)
        if len(several):
            p, at = person[several], t[several]
            i = np.searchsorted(self.keys, (p << 32) | at, side="right") - 1
            j = np.maximum(i, 0)
            found = (i >= 0) & ((self.keys[j] >> 32) == p)
            dev[several] = np.where(found, self.device[j], -1)
        return np.asarray(dev)

    def busy(self, person: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Whether each person is in one of their discreet meetings at t."""
        out = np.zeros(len(person), dtype=bool)
        check = np.flatnonzero((person >= 0) & self.meets[np.maximum(person, 0)])
        if len(check):
            p, at = person[check], t[check]
            i = np.searchsorted(self.busy_keys, (p << 32) | at, side="right") - 1
            j = np.maximum(i, 0)
            out[check] = (i >= 0) & ((self.busy_keys[j] >> 32) == p) & (at < self.busy_end[j])
        return out


def _side(
    person: np.ndarray, fixed: np.ndarray, t: np.ndarray, phones: _Phones
) -> tuple[np.ndarray, np.ndarray]:
    """Device of one side at t (-1: none) and whether that side may communicate."""
    primary = fixed < 0
    dev = np.where(primary, phones.primary(person, t), fixed)
    safe = np.maximum(dev, 0)
    ok = (dev >= 0) & (phones.dev_from[safe] <= t) & (t < phones.dev_to[safe])
    ok &= ~(primary & phones.busy(person, t))
    return dev, ok


def _resolve(
    links: _Links, raw: _Raw, clock: _Clock, phones: _Phones, n_devices: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(time, from_party, to_party, is_call, duration) of the events that can happen."""
    t = raw.time
    link = raw.link
    dev_a, ok = _side(links.a_person[link], links.a_device[link], t, phones)
    outside = links.b_outside[link]
    dev_b, ok_b = _side(links.b_person[link], links.b_device[link], t, phones)
    ok &= (outside >= 0) | ok_b
    ok &= (t >= clock.t0) & (t < clock.t1)
    lo, hi = NIGHT_OFF_HOURS
    hour = clock.local_hour(t)
    night = (hour >= lo) & (hour < hi)
    off = phones.night_off[np.maximum(dev_a, 0)] | (
        (dev_b >= 0) & phones.night_off[np.maximum(dev_b, 0)]
    )
    ok &= ~(night & off)
    # second phones keep to their hours, offices to theirs, even when a session runs late
    profile = links.profile[link]
    strict = np.isin(profile, _STRICT)
    ok[strict] &= clock.weight[profile[strict], clock.slot(t[strict])] > 0
    keep = np.flatnonzero(ok)
    # two sessions of a link may meet in one second: keep one of identical rows
    key = (((link[keep] << 1 | raw.from_a[keep]) << 1 | raw.is_call[keep]) << 27) | (
        t[keep] - clock.t0
    )
    ordered = np.sort(key)
    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    if len(twice):
        again = np.flatnonzero(np.isin(key, twice))
        _, first = np.unique(key[again], return_index=True)
        keep = np.delete(keep, np.delete(again, first))
    party_a = dev_a[keep]
    party_b = np.where(outside[keep] >= 0, n_devices + outside[keep], dev_b[keep])
    from_a = raw.from_a[keep]
    return (
        t[keep],
        np.where(from_a, party_a, party_b).astype(np.int32),
        np.where(from_a, party_b, party_a).astype(np.int32),
        raw.is_call[keep],
        raw.duration[keep].astype(np.float32),  # whole seconds: exact
    )


def build_communications(
    pop: Population, assets: Assets, schedule: Schedule, seed: int
) -> Communications:
    """Calls and SMS over the assets' period: the same inputs and seed give the same rows."""
    comms_ss, _, outside_ss = _streams(seed)
    links_ss, events_ss, meetings_ss = comms_ss.spawn(3)
    rng = np.random.default_rng(links_ss)
    outside = _outside(pop, np.random.default_rng(outside_ss))
    links = _links(pop, assets, schedule, outside, rng)
    clock = _Clock.of(assets.period_start, assets.period_end)
    phones = _Phones.of(pop, assets, schedule)
    n_dev = len(assets.device_person)
    chunks = [links.take(slice(i, i + _CHUNK)) for i in range(0, len(links), _CHUNK)]
    parts = []
    for part, ss in zip(chunks, events_ss.spawn(len(chunks)), strict=True):
        raw = _events(part, clock, np.random.default_rng(ss))
        parts.append(_resolve(part, raw, clock, phones, n_dev))
        del raw
    m_links, m_raw = _meeting_events(assets, schedule, clock, np.random.default_rng(meetings_ss))
    parts.append(_resolve(m_links, m_raw, clock, phones, n_dev))
    columns = [list(c) for c in zip(*parts, strict=True)]  # time, from, to, call, duration
    del parts
    time = np.concatenate(columns[0])
    columns[0] = []
    # unique sort keys (time, then generation order): any sort algorithm gives one order
    key = ((time - clock.t0) << 35) | np.arange(len(time), dtype=np.int64)
    del time
    key.sort()
    order = key & ((1 << 35) - 1)
    time = (key >> 35) + clock.t0
    del key
    sorted_columns = []
    for i in range(1, 5):  # one column at a time, to keep the peak low
        sorted_columns.append(np.concatenate(columns[i])[order])
        columns[i] = []
    del order
    from_party, to_party, is_call, duration = sorted_columns
    numbers = np.array([*assets.device_msisdn, *outside.numbers], dtype=object)
    return Communications(
        time,
        np.where(from_party < n_dev, from_party, -1).astype(np.int32),
        np.where(to_party < n_dev, to_party, -1).astype(np.int32),
        from_party,
        to_party,
        is_call,
        duration.astype(np.float64),
        numbers,
    )


# --- contact lists ---------------------------------------------------------------------

_NICKNAMES = {
    "Thomas": "Tom", "Michael": "Micha", "Katrin": "Kati", "Stefan": "Steffen",
    "Lukas": "Luki", "Sabine": "Bine", "Aleksandr": "Sasha", "Dmitri": "Dima",
    "Mikhail": "Misha", "Natalia": "Natasha", "Tatiana": "Tanya", "Elena": "Lena",
    "Yuri": "Yura", "Aleksei": "Lyosha", "Sergei": "Seryozha", "Mohammed": "Mo",
    "William": "Will", "Oliver": "Olli", "Charlotte": "Lotte", "Jennifer": "Jen",
    "Robert": "Bob", "Jessica": "Jess", "Alessandro": "Ale", "Francesca": "Fra",
    "Alejandro": "Alex", "Katarzyna": "Kasia", "Agnieszka": "Aga", "Piotr": "Piotrek",
    "Tomasz": "Tomek", "Krzysztof": "Krzysiek", "Christopher": "Chris", "Jürgen": "Jürgi",
}  # fmt: skip
_PARENTS = {
    "DE": ("Mama", "Papa"), "GB": ("Mum", "Dad"), "US": ("Mom", "Dad"),
    "FR": ("Maman", "Papa"), "RU": ("Мама", "Папа"), "UA": ("Мама", "Тато"),
    "CN": ("妈妈", "爸爸"), "ES": ("Mamá", "Papá"), "IT": ("Mamma", "Papà"),
    "PL": ("Mama", "Tata"), "TR": ("Annem", "Babam"), "BR": ("Mãe", "Pai"),
}  # fmt: skip
_SERVICES = ("Praxis Dr. {f}", "Zahnarzt", "Hausverwaltung", "Pizza Roma", "Friseur",
             "Werkstatt {f}", "Steuerberater {f}", "Kita", "Taxi", "Büro")  # fmt: skip
_PLACES_DE = ("Nachbar", "Gym", "Kita", "Fußball", "Yoga", "Handwerker")
_PLACES_EN = ("neighbour", "gym", "school", "football", "yoga")


@dataclass(frozen=True)
class _Names:
    """Each person's given and family name, Latin and in their own script."""

    given: list[str]
    family: list[str]
    own_given: list[str]
    own_family: list[str]

    @classmethod
    def of(cls, pop: Population) -> _Names:
        given, family, own_given, own_family = [], [], [], []
        for i in range(pop.size):
            latin = pop.person_name_latin[i].split(" ", 1)
            own = pop.person_name[i]
            if str(pop.person_nationality[i]) == "CN":  # family name first
                family.append(latin[0])
                given.append(latin[-1])
                own_family.append(own[:1])
                own_given.append(own[1:])
            else:
                given.append(latin[0])
                family.append(latin[-1])
                own_given.append(latin[0])
                own_family.append(latin[-1])
        return cls(given, family, own_given, own_family)


def _entry_name(
    pop: Population, names: _Names, owner: int, contact: int, tie: str, u: np.ndarray
) -> str:
    """How ``owner`` would have typed ``contact``'s name (u: uniforms for the choices)."""
    nat = str(pop.person_nationality[owner])
    german = nat == "DE"
    given, family = names.given[contact], names.family[contact]
    full = pop.person_name_latin[contact]
    years = (pop.person_birth[owner] - pop.person_birth[contact]).astype(int) / 365.25
    if tie == "family" and years > 18:  # a parent
        mother, father = _PARENTS.get(nat, ("Mama", "Papa"))
        return mother if given in FEMALE_GIVEN else father
    if nat == "CN" and str(pop.person_nationality[contact]) == "CN":
        hanzi = pop.person_name[contact]
        if tie == "family":
            return names.own_given[contact] if u[0] < 0.5 else hanzi
        if tie == "colleague" and u[0] < 0.3:
            return names.own_family[contact] + ("总" if u[1] < 0.5 else "经理")
        if tie == "friend" and u[0] < 0.2:
            return "老" + names.own_family[contact]
        return hanzi if u[1] < 0.8 else full
    if tie == "family":
        if u[0] < 0.15 and years > -18:  # a partner
            return "Schatz" if german else ("Love" if u[1] < 0.5 else f"{given} ♥")
        return _NICKNAMES.get(given, given) if u[1] < 0.3 else given
    if tie == "colleague":
        if u[0] < 0.35:
            return family
        if u[0] < 0.55:
            return f"{given} ({'Arbeit' if german else 'work'})"
        return full
    if tie == "friend":
        if u[0] < 0.45:
            return given
        if u[0] < 0.65:
            return _NICKNAMES.get(given, given)
        return full
    # acquaintances: a full name, or a given name with where they met
    if u[0] < 0.45:
        return full
    if u[0] < 0.85:
        places = _PLACES_DE if german else _PLACES_EN
        return f"{given} {places[int(u[1] * len(places))]}"
    return family


def _outside_name(
    pop: Population, names: _Names, owner: int, relation: str, u: np.ndarray, same: np.ndarray
) -> str:
    """A name for an outside party; ``same`` lists people of the owner's nationality."""
    nat = str(pop.person_nationality[owner])
    someone = int(same[int(u[2] * len(same))])
    if relation == "service":
        return _SERVICES[int(u[0] * len(_SERVICES))].format(f=names.family[someone])
    if relation == "family":
        mother, father = _PARENTS.get(nat, ("Mama", "Papa"))
        return (mother, father, names.own_given[someone])[int(u[0] * 3)]
    if relation == "work":
        label = "Arbeit" if nat == "DE" else "work"
        return f"{names.given[someone]} ({label})"
    if u[0] < 0.5:
        return names.given[someone]
    return f"{names.given[someone]} {names.family[someone][:1]}."


def build_contact_lists(pop: Population, assets: Assets, schedule: Schedule, seed: int) -> pa.Table:
    """Contact lists of about a tenth of the primary phones, with the true E.164 numbers.

    Each lists most of the owner's family, friends and colleagues and some acquaintances
    (never a discreet partner in ``schedule``), most of the outside parties
    the owner talks to, and a few stale entries: the old number of a contact who changed
    numbers, and numbers of nobody the owner still talks to.
    """
    import pyarrow as pa

    _, contacts_ss, outside_ss = _streams(seed)
    rng = np.random.default_rng(contacts_ss)
    outside = _outside(pop, np.random.default_rng(outside_ss))
    names = _Names.of(pop)
    n = pop.size
    prim = np.flatnonzero(assets.device_role == "primary")
    # each person's current primary phone (the latest), and the number they had before
    current = np.full(n, -1, dtype=np.int64)
    order = prim[np.lexsort((assets.device_from[prim], assets.device_person[prim]))]
    current[assets.device_person[order]] = order
    old_number: dict[int, str] = {}
    for p, old, new in zip(assets.swap_person, assets.swap_old, assets.swap_new, strict=True):
        if assets.device_msisdn[old] != assets.device_msisdn[new]:
            old_number[int(p)] = assets.device_msisdn[old]
    hidden = set(_discreet_pairs(schedule))
    ties = pop.tie_index()
    o_bounds = np.searchsorted(outside.person, np.arange(n + 1))
    by_nat: dict[str, np.ndarray] = {
        str(c): np.flatnonzero(pop.person_nationality == c)
        for c in np.unique(pop.person_nationality)
    }
    taken = {*assets.device_msisdn, *outside.numbers}
    owners = np.flatnonzero((current >= 0) & (rng.random(n) < _CONTACT_LIST_SHARE))
    rows: list[tuple[str, str, str, str]] = []
    for o in owners.tolist():
        dev = int(current[o])
        me, imei = assets.device_msisdn[dev], assets.device_imei[dev]
        same = by_nat[str(pop.person_nationality[o])]
        entries: list[tuple[str, str]] = []
        mine = range(ties.bounds[o], ties.bounds[o + 1])
        u = rng.random((len(mine), 4))
        for j, i in enumerate(mine):
            c, tie = int(ties.other[i]), str(ties.kind[i])
            listed = _LISTED[tie] + (float(ties.strength[i]) if tie == "acquaintance" else 0.0)
            if current[c] < 0 or u[j, 3] >= listed or (min(o, c), max(o, c)) in hidden:
                continue
            name = _entry_name(pop, names, o, c, tie, u[j])
            now = assets.device_msisdn[current[c]]
            stale = old_number.get(c)
            if stale is None or u[j, 2] >= 0.5:
                entries.append((now, name))
                continue
            entries.append((stale, name))  # not updated after the contact changed numbers
            if u[j, 2] < 0.2:
                entries.append((now, f"{name} neu"))
        parties = np.arange(o_bounds[o], o_bounds[o + 1])
        u = rng.random((len(parties), 4))
        for j, k in enumerate(parties.tolist()):
            if u[j, 3] < 0.8:
                name = _outside_name(pop, names, o, str(outside.relation[k]), u[j], same)
                entries.append((outside.numbers[outside.party[k]], name))
        fresh = draw_numbers("DE_MOBILE", int(rng.poisson(1.0)), rng)
        u = rng.random((len(fresh), 4))
        for j, number in enumerate(fresh):
            if number not in taken:  # a number of nobody the owner still talks to
                entries.append((number, _outside_name(pop, names, o, "friend", u[j], same)))
        seen = {me}
        for number, name in entries:
            if number not in seen:
                seen.add(number)
                rows.append((me, imei, number, name))
    cols = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    return pa.table(
        {
            "owner_number": pa.array(cols[0], pa.string()),
            "owner_imei": pa.array(cols[1], pa.string()),
            "listed_number": pa.array(cols[2], pa.string()),
            "listed_name": pa.array(cols[3], pa.string()),
        }
    )


# --- feeds -----------------------------------------------------------------------------

_CALL_TYPES = ("SMS-MO", "MOC", "SMS-MT", "MTC")  # index: is_call + 2 * incoming


def communication_feed(comms: Communications) -> Feed:
    """The operator's CDR export (Parquet): one row per call or SMS, raw call-type codes;
    a communication from outside the network is recorded as terminating (MTC, SMS-MT)."""
    import pyarrow as pa

    numbers = pa.array(comms.numbers.tolist(), pa.string())
    code = comms.is_call.astype(np.int8) + 2 * (comms.from_device < 0).astype(np.int8)
    table = pa.table(
        {
            "A_NUMBER": pa.DictionaryArray.from_arrays(comms.from_party, numbers),
            "B_NUMBER": pa.DictionaryArray.from_arrays(comms.to_party, numbers),
            "START_TIME": pa.array(comms.time * 1000, pa.timestamp("ms", tz="UTC")),
            "CALL_TYPE": pa.DictionaryArray.from_arrays(code, pa.array(_CALL_TYPES)),
            "DURATION": comms.duration_s.astype(np.int32),
        }
    )
    return Feed(
        name="operator_cdr",
        kind="communication",
        file="operator_cdr.parquet",
        table=table,
        properties={
            "from_number": "A_NUMBER",
            "to_number": "B_NUMBER",
            "time": "START_TIME",
            "channel": {
                "column": "CALL_TYPE",
                "values": {"MOC": "call", "MTC": "call", "SMS-MO": "sms", "SMS-MT": "sms"},
            },
            "duration_s": "DURATION",
        },
    )


def _calling_code(e164: str) -> str:
    for n in (1, 2, 3):
        if e164[1 : 1 + n] in _CALLING_CODES:
            return e164[1 : 1 + n]
    return e164[1:3]


def typed_number(e164: str, style: int) -> str:
    """``e164`` as a person types it into a phone (style picks one of the usual forms)."""
    cc = _calling_code(e164)
    nsn = e164[1 + len(cc) :]
    if cc != "49":
        forms = [f"+{cc} {nsn}", f"00{cc} {nsn}", e164, f"00 {cc} {nsn}",
                 f"+{cc} {nsn[:3]} {nsn[3:]}"]  # fmt: skip
        return forms[style % len(forms)]
    cut = 3 if nsn.startswith("1") else 2  # mobile prefix 15x/16x/17x, or Berlin 30
    area, rest = nsn[:cut], nsn[cut:]
    national = [f"0{area} {rest}", f"0{area}{rest}", f"0{area}-{rest}", f"0{area}/{rest}"]
    if cut == 2:
        national.append(f"(0{area}) {rest}")
    international = [f"+49 {area} {rest}", e164, f"0049 {area} {rest}", f"00 49 {area} {rest}",
                     f"+49 (0){area} {rest}"]  # fmt: skip
    forms = national * 2 + international  # national forms are the most common
    return forms[style % len(forms)]


def contact_feed(table: pa.Table) -> Feed:
    """Contact lists as an extraction tool exports them (CSV): owner number and IMEI,
    then each entry's number as typed on the handset and its name."""
    import pyarrow as pa

    owner = table.column("owner_number").to_pylist()
    listed = table.column("listed_number").to_pylist()
    typed = [
        typed_number(n, zlib.crc32(f"{o}|{n}".encode())) for o, n in zip(owner, listed, strict=True)
    ]
    out = pa.table(
        {
            "owner": owner,
            "imei": table.column("owner_imei"),
            "number": typed,
            "name": table.column("listed_name"),
        }
    )
    return Feed(
        name="handset_contacts",
        kind="contact_list",
        file="handset_contacts.csv",
        table=out,
        properties={
            "owner_number": "owner",
            "owner_imei": "imei",
            "listed_number": "number",
            "listed_name": "name",
        },
        csv={"delimiter": ",", "encoding": "utf-8"},
        options={"phone_region": "DE"},
    )
