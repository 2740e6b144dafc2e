"""Pure computations behind ``benchmarks/realism.py``: real data and simulator side by side.

Every function takes plain numpy arrays (or a folder to read) and returns new arrays or
small dataclasses; nothing here imports matplotlib or Tessera, so the tests can call
each one on a hand-written input whose answer is known.

Real data (read from ``../shared/data``, never copied):

- GeoLife (``geolife_dev``): stay points with the sliding algorithm of Li et al. (2008)
  as trackintel implements it (100 m, 5 min, 15 min gap), then dwell times and trips.
- Copenhagen Networks Study (``copenhagen_cns``): calls and SMS per tie per day, the
  channel mix per tie, the daily share of a person's partners contacted, and the
  inter-event times of each person's phone activity.
- SocioPatterns workplace (``sociopatterns_workplace``, InVS15): face-to-face contact
  durations and contacts per pair per day.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

EARTH_RADIUS_M = 6_371_000.0
DAY_S = 86_400.0
# GeoLife PLT day numbers count from 1899-12-30 (the spreadsheet epoch); 25569 days to 1970.
_PLT_EPOCH_OFFSET_DAYS = 25_569.0


# -- summaries -------------------------------------------------------------------------


def summarise(values: npt.ArrayLike) -> dict[str, float]:
    """n, mean, p10, median, p90 and p99 of ``values`` (NaN everywhere when empty)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        nan = float("nan")
        return {"n": 0.0, "mean": nan, "p10": nan, "median": nan, "p90": nan, "p99": nan}
    p10, p50, p90, p99 = np.quantile(x, [0.1, 0.5, 0.9, 0.99])
    return {
        "n": float(x.size),
        "mean": float(x.mean()),
        "p10": float(p10),
        "median": float(p50),
        "p90": float(p90),
        "p99": float(p99),
    }


def burstiness(gaps: npt.ArrayLike) -> float:
    """Goh and Barabasi's burstiness B = (sigma - mu) / (sigma + mu) of inter-event times.

    -1 for a periodic sequence, 0 for a Poisson process, towards 1 for bursty activity.
    """
    x = np.asarray(gaps, dtype=np.float64)
    if x.size < 2:
        return float("nan")
    mu, sigma = float(x.mean()), float(x.std())
    return (sigma - mu) / (sigma + mu) if sigma + mu > 0 else float("nan")


# -- geometry --------------------------------------------------------------------------


def haversine_m(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distance in metres (broadcasting)."""
    p1, p2 = np.radians(np.asarray(lat1, np.float64)), np.radians(np.asarray(lat2, np.float64))
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2, np.float64) - np.asarray(lon1, np.float64))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))), np.float64)


def radius_of_gyration_m(lat: npt.ArrayLike, lon: npt.ArrayLike, weight: npt.ArrayLike) -> float:
    """Weighted radius of gyration (Gonzalez et al. 2008) in metres, on a local plane."""
    la, lo, w = (np.asarray(v, np.float64) for v in (lat, lon, weight))
    if la.size == 0 or float(w.sum()) <= 0:
        return float("nan")
    lat0 = float(np.average(la, weights=w))
    y = np.radians(la - lat0) * EARTH_RADIUS_M
    x = np.radians(lo) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    cx, cy = np.average(x, weights=w), np.average(y, weights=w)
    return float(np.sqrt(np.average((x - cx) ** 2 + (y - cy) ** 2, weights=w)))


# -- GeoLife: stay points and trips ----------------------------------------------------


@dataclass(frozen=True)
class Track:
    """One user's GPS fixes, sorted by time (seconds since 1970)."""

    t: FloatArray
    lat: FloatArray
    lon: FloatArray


@dataclass(frozen=True)
class Stays:
    """Stay points of one track: fix indices [first, stop) and times [start, end)."""

    first: IntArray
    stop: IntArray
    start: FloatArray
    end: FloatArray
    lat: FloatArray
    lon: FloatArray

    @property
    def dwell_s(self) -> FloatArray:
        return self.end - self.start


def read_plt(path: Path) -> Track:
    """Read one GeoLife ``.plt`` file (6 header lines, then lat,lon,0,alt_ft,days,date,time)."""
    data = np.loadtxt(path, delimiter=",", skiprows=6, usecols=(0, 1, 4), ndmin=2)
    t = (data[:, 2] - _PLT_EPOCH_OFFSET_DAYS) * DAY_S
    return Track(t=np.round(t), lat=data[:, 0].copy(), lon=data[:, 1].copy())


def merge_tracks(tracks: Iterable[Track]) -> Track:
    """One time-sorted track from several files; fixes with a repeated time are dropped."""
    parts = list(tracks)
    if not parts:
        empty = np.zeros(0, np.float64)
        return Track(empty, empty.copy(), empty.copy())
    t = np.concatenate([p.t for p in parts])
    lat = np.concatenate([p.lat for p in parts])
    lon = np.concatenate([p.lon for p in parts])
    order = np.argsort(t, kind="stable")
    t, lat, lon = t[order], lat[order], lon[order]
    keep = np.ones(t.size, dtype=bool)
    keep[1:] = np.diff(t) > 0
    return Track(t[keep], lat[keep], lon[keep])


def staypoints(
    track: Track,
    *,
    dist_m: float = 100.0,
    time_s: float = 300.0,
    gap_s: float = 900.0,
    bridge_gaps: bool = False,
) -> Stays:
    """Stay points by the sliding algorithm of Li et al. (2008), as trackintel runs it.

    From an anchor fix, walk forward until a fix lies ``dist_m`` or more from the anchor.
    If the anchor and that fix are ``time_s`` or more apart, the fixes before it form a
    stay from the anchor's time to the time of the first fix outside (trackintel's
    ``finished_at``). The walk then restarts at the fix outside. Two consecutive fixes
    more than ``gap_s`` apart restart the walk after the gap and drop what came before it
    (trackintel's ``gap_threshold``), and a stay never left before the track ends is not
    kept (``include_last=False``).

    ``bridge_gaps`` is this module's own addition: a gap after which the fix is still
    within ``dist_m`` of the anchor counts as time spent there. GeoLife users often
    stopped logging at home or at work, so bridging recovers those long stays.
    """
    t, lat, lon = track.t, track.lat, track.lon
    n = t.size
    first: list[int] = []
    stop: list[int] = []
    start_t: list[float] = []
    end_t: list[float] = []
    # Plain floats: this loop visits every fix, and scalar numpy calls would dominate.
    tl = t.tolist()
    phi = np.radians(lat).tolist()
    lmb = np.radians(lon).tolist()
    cosphi = np.cos(np.radians(lat)).tolist()

    def dist(i: int, j: int) -> float:
        a = (
            math.sin((phi[j] - phi[i]) / 2) ** 2
            + cosphi[i] * cosphi[j] * math.sin((lmb[j] - lmb[i]) / 2) ** 2
        )
        return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(max(a, 0.0), 1.0)))

    def close(a: int, b: int, end: float) -> None:
        if end - tl[a] >= time_s:
            first.append(a)
            stop.append(b)
            start_t.append(tl[a])
            end_t.append(end)

    anchor = 0
    for cur in range(1, n):
        gap = tl[cur] - tl[cur - 1]
        d = dist(anchor, cur)
        bridged = bridge_gaps and d < dist_m
        if gap > gap_s and not bridged:
            anchor = cur
            continue
        if d >= dist_m:
            if gap < gap_s:
                close(anchor, cur, tl[cur])
            anchor = cur
    f = np.asarray(first, np.int64)
    s = np.asarray(stop, np.int64)
    la = np.asarray([float(np.median(lat[a:b])) for a, b in zip(f, s, strict=True)], np.float64)
    lo = np.asarray([float(np.median(lon[a:b])) for a, b in zip(f, s, strict=True)], np.float64)
    return Stays(f, s, np.asarray(start_t, np.float64), np.asarray(end_t, np.float64), la, lo)


def merge_stays(track: Track, stays: Stays, *, dist_m: float, max_gap_s: float) -> Stays:
    """Merge consecutive stays whose centres lie within ``dist_m`` and whose gap is short.

    The sliding algorithm splits one visit in two when the fixes drift across the distance
    threshold (GPS noise indoors); a move of less than ``max_gap_s`` between two stays
    that close together is not a trip.
    """
    if len(stays.start) < 2:
        return stays
    groups: list[list[int]] = [[0]]
    for k in range(1, len(stays.start)):
        prev = groups[-1][0]
        near = float(haversine_m(stays.lat[prev], stays.lon[prev], stays.lat[k], stays.lon[k]))
        if near < dist_m and stays.start[k] - stays.end[groups[-1][-1]] <= max_gap_s:
            groups[-1].append(k)
        else:
            groups.append([k])
    first = np.asarray([stays.first[g[0]] for g in groups], np.int64)
    stop = np.asarray([stays.stop[g[-1]] for g in groups], np.int64)
    lat = np.asarray([float(np.median(track.lat[a:b])) for a, b in zip(first, stop, strict=True)])
    lon = np.asarray([float(np.median(track.lon[a:b])) for a, b in zip(first, stop, strict=True)])
    return Stays(
        first,
        stop,
        np.asarray([stays.start[g[0]] for g in groups], np.float64),
        np.asarray([stays.end[g[-1]] for g in groups], np.float64),
        lat.astype(np.float64),
        lon.astype(np.float64),
    )


@dataclass(frozen=True)
class Trips:
    """Trips between consecutive stays: path length along the fixes, and duration."""

    distance_m: FloatArray
    duration_s: FloatArray
    straight_m: FloatArray


def trips_between(track: Track, stays: Stays, *, gap_s: float = 900.0) -> Trips:
    """Trips from each stay to the next, kept only when fully observed (no gap > ``gap_s``).

    Distance is the path length along the fixes from the last fix of one stay to the first
    fix of the next; duration is next start minus previous end.
    """
    dist: list[float] = []
    dur: list[float] = []
    straight: list[float] = []
    for k in range(len(stays.start) - 1):
        a = int(stays.stop[k]) - 1
        b = int(stays.first[k + 1])
        if b <= a:
            continue
        seg_t = track.t[a : b + 1]
        if seg_t.size > 1 and float(np.diff(seg_t).max()) > gap_s:
            continue
        la, lo = track.lat[a : b + 1], track.lon[a : b + 1]
        dist.append(float(haversine_m(la[:-1], lo[:-1], la[1:], lo[1:]).sum()))
        dur.append(float(stays.start[k + 1] - stays.end[k]))
        straight.append(
            float(haversine_m(stays.lat[k], stays.lon[k], stays.lat[k + 1], stays.lon[k + 1]))
        )
    return Trips(
        np.asarray(dist, np.float64), np.asarray(dur, np.float64), np.asarray(straight, np.float64)
    )


@dataclass
class GeoLife:
    """Dwell times and trips over all users of a GeoLife folder."""

    users: int = 0
    fixes: int = 0
    dwell_s: FloatArray = field(default_factory=lambda: np.zeros(0))
    dwell_bridged_s: FloatArray = field(default_factory=lambda: np.zeros(0))
    trip_distance_m: FloatArray = field(default_factory=lambda: np.zeros(0))
    trip_duration_s: FloatArray = field(default_factory=lambda: np.zeros(0))
    trip_straight_m: FloatArray = field(default_factory=lambda: np.zeros(0))


def geolife_stays(root: Path, *, dist_m: float = 100.0, time_s: float = 300.0) -> GeoLife:
    """Stay points and trips of every ``<user>/Trajectory/*.plt`` under ``root``."""
    users = sorted(p for p in root.iterdir() if (p / "Trajectory").is_dir())
    if not users:
        raise FileNotFoundError(f"no <user>/Trajectory folders under {root}")
    out = GeoLife(users=len(users))
    dwell, bridged, tdist, tdur, tstraight = [], [], [], [], []
    for user in users:
        track = merge_tracks(read_plt(p) for p in sorted((user / "Trajectory").glob("*.plt")))
        out.fixes += int(track.t.size)
        sp = staypoints(track, dist_m=dist_m, time_s=time_s)
        sp = merge_stays(track, sp, dist_m=2 * dist_m, max_gap_s=time_s)
        dwell.append(sp.dwell_s)
        spb = staypoints(track, dist_m=dist_m, time_s=time_s, bridge_gaps=True)
        bridged.append(merge_stays(track, spb, dist_m=2 * dist_m, max_gap_s=time_s).dwell_s)
        trips = trips_between(track, sp)
        tdist.append(trips.distance_m)
        tdur.append(trips.duration_s)
        tstraight.append(trips.straight_m)
    out.dwell_s = np.concatenate(dwell)
    out.dwell_bridged_s = np.concatenate(bridged)
    out.trip_distance_m = np.concatenate(tdist)
    out.trip_duration_s = np.concatenate(tdur)
    out.trip_straight_m = np.concatenate(tstraight)
    return out


# -- communications: ties and inter-event times ----------------------------------------


@dataclass(frozen=True)
class PairRates:
    """Per unordered pair (tie): calls and SMS per day, and the channel mix over ties."""

    pairs: int
    calls_per_day: FloatArray  # one value per tie (0 when the tie only texts)
    sms_per_day: FloatArray
    share_calls_only: float
    share_sms_only: float
    share_both: float
    days: float


def pair_rates(
    a: npt.ArrayLike, b: npt.ArrayLike, is_call: npt.ArrayLike, days: float
) -> PairRates:
    """Calls and SMS per day of each unordered pair {a, b}; self-pairs are dropped."""
    a_, b_ = np.asarray(a, np.int64), np.asarray(b, np.int64)
    call = np.asarray(is_call, bool)
    ok = a_ != b_
    lo, hi, call = np.minimum(a_, b_)[ok], np.maximum(a_, b_)[ok], call[ok]
    pairs, inv = np.unique(np.stack([lo, hi], axis=1), axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    n = len(pairs)
    calls = np.asarray(np.bincount(inv, weights=call.astype(np.float64), minlength=n), np.float64)
    sms = np.asarray(np.bincount(inv, weights=(~call).astype(np.float64), minlength=n), np.float64)
    if n == 0:
        return PairRates(0, calls, sms, float("nan"), float("nan"), float("nan"), days)
    return PairRates(
        pairs=n,
        calls_per_day=calls / days,
        sms_per_day=sms / days,
        share_calls_only=float(((calls > 0) & (sms == 0)).mean()),
        share_sms_only=float(((calls == 0) & (sms > 0)).mean()),
        share_both=float(((calls > 0) & (sms > 0)).mean()),
        days=days,
    )


@dataclass(frozen=True)
class DailyPartners:
    """How many of a person's partners (over the study) they contact on a given day."""

    partners: FloatArray  # distinct partners over the study, per person
    per_day: FloatArray  # distinct partners contacted per person-day (all days counted)
    share_per_day: FloatArray  # per_day / partners, per person-day


def daily_partners(
    t_s: npt.ArrayLike, a: npt.ArrayLike, b: npt.ArrayLike, *, origin_s: float, days: int
) -> DailyPartners:
    """Per person-day, distinct partners contacted (either direction) over all ``days``."""
    t = np.asarray(t_s, np.float64)
    a_, b_ = np.asarray(a, np.int64), np.asarray(b, np.int64)
    ok = a_ != b_
    t, a_, b_ = t[ok], a_[ok], b_[ok]
    day = np.clip(((t - origin_s) // DAY_S).astype(np.int64), 0, days - 1)
    who = np.concatenate([a_, b_])
    other = np.concatenate([b_, a_])
    dd = np.concatenate([day, day])
    people, pidx = np.unique(who, return_inverse=True)
    pidx = pidx.reshape(-1)
    pairs = np.unique(np.stack([pidx, other], axis=1), axis=0)
    partners = np.bincount(pairs[:, 0], minlength=len(people)).astype(np.float64)
    pdays = np.unique(np.stack([pidx, dd, other], axis=1), axis=0)
    counts = np.zeros((len(people), days), np.float64)
    np.add.at(counts, (pdays[:, 0], pdays[:, 1]), 1.0)
    share = counts / partners[:, None]
    return DailyPartners(partners, counts.reshape(-1), share.reshape(-1))


def inter_event_times(
    t_s: npt.ArrayLike, who: npt.ArrayLike, *, min_events: int = 2
) -> tuple[FloatArray, FloatArray]:
    """All inter-event times (seconds) per person pooled, and each person's burstiness.

    Events at the same second for the same person are kept (a zero gap).
    """
    t = np.asarray(t_s, np.float64)
    w = np.asarray(who, np.int64)
    order = np.lexsort((t, w))
    t, w = t[order], w[order]
    same = w[1:] == w[:-1]
    gaps = np.diff(t)[same]
    owners = w[1:][same]
    bs: list[float] = []
    if gaps.size:
        bounds = np.flatnonzero(np.diff(owners)) + 1
        for g in np.split(gaps, bounds):
            if g.size + 1 >= min_events and g.size >= 2:
                bs.append(burstiness(g))
    return gaps, np.asarray(bs, np.float64)


@dataclass(frozen=True)
class CNS:
    """Copenhagen Networks Study calls and SMS, in the shapes the comparisons need."""

    t_s: FloatArray
    a: IntArray
    b: IntArray
    is_call: npt.NDArray[np.bool_]
    missed: int
    days: float


def read_cns(root: Path) -> CNS:
    """Calls (timestamp, caller, callee, duration) and SMS (timestamp, sender, recipient)."""
    calls = np.loadtxt(root / "calls.csv", delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
    sms = np.loadtxt(root / "sms.csv", delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
    t = np.concatenate([calls[:, 0], sms[:, 0]]).astype(np.float64)
    a = np.concatenate([calls[:, 1], sms[:, 1]])
    b = np.concatenate([calls[:, 2], sms[:, 2]])
    is_call = np.concatenate([np.ones(len(calls), bool), np.zeros(len(sms), bool)])
    days = max(float(t.max() - t.min()) / DAY_S, 1.0)
    return CNS(t, a, b, is_call, int((calls[:, 3] < 0).sum()), days)


@dataclass(frozen=True)
class Communications:
    """Per-tie rates, daily partners and inter-event times of one communications feed."""

    rates: PairRates
    daily: DailyPartners
    gaps_s: FloatArray
    burstiness: FloatArray
    events: int
    people: int


def communications(
    t_s: npt.ArrayLike, a: npt.ArrayLike, b: npt.ArrayLike, is_call: npt.ArrayLike
) -> Communications:
    """Every communications figure from events (time in s, party a, party b, call or not)."""
    t = np.asarray(t_s, np.float64)
    a_, b_ = np.asarray(a, np.int64), np.asarray(b, np.int64)
    origin = float(t.min())
    days_f = max((float(t.max()) - origin) / DAY_S, 1.0)
    days = math.ceil(days_f)
    rates = pair_rates(a_, b_, is_call, days_f)
    daily = daily_partners(t, a_, b_, origin_s=origin, days=days)
    # Inter-event times of each person's own activity: calls and SMS sent or received.
    who = np.concatenate([a_, b_])
    tt = np.concatenate([t, t])
    gaps, bs = inter_event_times(tt, who)
    return Communications(rates, daily, gaps, bs, int(t.size), int(np.unique(who).size))


def cns_pair_rates(root: Path) -> Communications:
    """Every communications figure of the Copenhagen Networks Study."""
    cns = read_cns(root)
    return communications(cns.t_s, cns.a, cns.b, cns.is_call)


# -- face-to-face contacts -------------------------------------------------------------


@dataclass(frozen=True)
class Contacts:
    """Contact events (consecutive windows of one pair joined) and their pairs and days."""

    duration_s: FloatArray
    pair: IntArray  # index of the unordered pair, per contact
    day: IntArray  # day index of the contact's start, per contact
    pairs: int
    per_pair_day: FloatArray  # contacts per pair on each day the pair met
    time_per_pair_day_s: FloatArray  # total contact time per pair on each day the pair met


def contact_durations(
    t: npt.ArrayLike, i: npt.ArrayLike, j: npt.ArrayLike, *, step_s: float = 20.0
) -> Contacts:
    """Join consecutive ``step_s`` windows of the same pair into contacts.

    A row ``t i j`` says the pair was in contact during [t - step, t]; rows of one pair at
    t, t + step, t + 2 step ... form one contact lasting (rows) * step seconds.
    """
    t_ = np.asarray(t, np.float64)
    i_, j_ = np.asarray(i, np.int64), np.asarray(j, np.int64)
    lo, hi = np.minimum(i_, j_), np.maximum(i_, j_)
    pairs, pidx = np.unique(np.stack([lo, hi], axis=1), axis=0, return_inverse=True)
    pidx = pidx.reshape(-1)
    order = np.lexsort((t_, pidx))
    t_, pidx = t_[order], pidx[order]
    new = np.ones(t_.size, dtype=bool)
    new[1:] = (pidx[1:] != pidx[:-1]) | (np.abs(np.diff(t_) - step_s) > 1e-6)
    # Duplicate rows (same pair, same t) would make a zero step: keep them in the contact.
    if t_.size > 1:
        dup = (pidx[1:] == pidx[:-1]) & (np.diff(t_) == 0)
        new[1:][dup] = False
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], t_.size)
    first_t = t_[starts] - step_s
    last_t = t_[ends - 1]
    duration = last_t - first_t
    pair = pidx[starts]
    day = (first_t // DAY_S).astype(np.int64)
    key, kinv = np.unique(np.stack([pair, day], axis=1), axis=0, return_inverse=True)
    kinv = kinv.reshape(-1)
    per = np.bincount(kinv, minlength=len(key)).astype(np.float64)
    tot = np.asarray(np.bincount(kinv, weights=duration, minlength=len(key)), np.float64)
    return Contacts(duration, pair.astype(np.int64), day, len(pairs), per, tot)


def read_tij(path: Path) -> tuple[FloatArray, IntArray, IntArray]:
    """A SocioPatterns ``t i j`` file (plain or gzip)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        data = np.loadtxt(fh, dtype=np.int64, usecols=(0, 1, 2), ndmin=2)
    return data[:, 0].astype(np.float64), data[:, 1], data[:, 2]


def sociopatterns_contacts(root: Path) -> Contacts:
    """Contacts of the InVS15 workplace deployment."""
    return contact_durations(*read_tij(root / "workplace_InVS15_tij.dat.gz"))


# -- simulator side: stays and co-presence ---------------------------------------------


def copresence_durations(
    person: npt.ArrayLike,
    building: npt.ArrayLike,
    start: npt.ArrayLike,
    end: npt.ArrayLike,
    *,
    max_stays_per_building: int = 600,
    seed: int = 0,
) -> FloatArray:
    """Overlap of every pair of stays of two different people in the same building.

    A building with more stays than ``max_stays_per_building`` is represented by a uniform
    sample of that many (deterministic from ``seed``), which keeps the shape of the
    distribution and bounds the work to that many squared per building.
    """
    p = np.asarray(person, np.int64)
    bld = np.asarray(building, np.int64)
    s, e = np.asarray(start, np.float64), np.asarray(end, np.float64)
    rng = np.random.default_rng(seed)
    order = np.argsort(bld, kind="stable")
    p, bld, s, e = p[order], bld[order], s[order], e[order]
    bounds = np.flatnonzero(np.diff(bld)) + 1
    out: list[FloatArray] = []
    for idx in np.split(np.arange(bld.size), bounds):
        if idx.size < 2:
            continue
        if idx.size > max_stays_per_building:
            idx = np.sort(rng.choice(idx, size=max_stays_per_building, replace=False))
        ps, ss, es = p[idx], s[idx], e[idx]
        ov = np.minimum(es[:, None], es[None, :]) - np.maximum(ss[:, None], ss[None, :])
        iu = np.triu_indices(idx.size, k=1)
        ov_u = ov[iu]
        keep = (ov_u > 0) & (ps[iu[0]] != ps[iu[1]])
        out.append(ov_u[keep])
    return np.concatenate(out) if out else np.zeros(0, np.float64)


@dataclass(frozen=True)
class PersonMobility:
    """Per person: significant places, places per week, radius of gyration, time at home."""

    places: FloatArray  # distinct buildings with at least ``min_total_s`` over the period
    places_per_week: FloatArray  # distinct buildings visited per week (any duration)
    radius_m: FloatArray  # time-weighted radius of gyration over stays in the district
    home_share: FloatArray  # time at home over observed time


def person_mobility(
    person: npt.ArrayLike,
    building: npt.ArrayLike,
    start_s: npt.ArrayLike,
    end_s: npt.ArrayLike,
    b_lat: npt.ArrayLike,
    b_lon: npt.ArrayLike,
    home: npt.ArrayLike,
    *,
    min_total_s: float = 3600.0,
) -> PersonMobility:
    """Mobility figures per person from stays (building -1: outside, counted in time only).

    ``b_lat``/``b_lon`` give each building id's position (indexed by id); ``home`` is the
    home building of each person id (indexed by id, negative when none).
    """
    p = np.asarray(person, np.int64)
    bld = np.asarray(building, np.int64)
    s, e = np.asarray(start_s, np.float64), np.asarray(end_s, np.float64)
    lat_of, lon_of = np.asarray(b_lat, np.float64), np.asarray(b_lon, np.float64)
    home_of = np.asarray(home, np.int64)
    dur = np.maximum(e - s, 0.0)
    order = np.argsort(p, kind="stable")
    p, bld, s, dur = p[order], bld[order], s[order], dur[order]
    bounds = np.flatnonzero(np.diff(p)) + 1
    places, weekly, radius, home_share = [], [], [], []
    t0 = float(s.min()) if s.size else 0.0
    for idx in np.split(np.arange(p.size), bounds):
        if idx.size == 0:
            continue
        pid = int(p[idx[0]])
        b, d, st = bld[idx], dur[idx], s[idx]
        total = float(d.sum())
        inside = b >= 0
        if inside.any():
            ub, inv = np.unique(b[inside], return_inverse=True)
            per_b = np.bincount(inv.reshape(-1), weights=d[inside])
            places.append(float((per_b >= min_total_s).sum()))
            radius.append(radius_of_gyration_m(lat_of[ub], lon_of[ub], per_b))
            week = ((st[inside] - t0) // (7 * DAY_S)).astype(np.int64)
            visits = np.unique(np.stack([week, b[inside]], axis=1), axis=0)
            weekly.append(len(visits) / float(len(np.unique(week))))
        else:
            places.append(0.0)
            radius.append(float("nan"))
            weekly.append(0.0)
        h = int(home_of[pid]) if 0 <= pid < home_of.size else -1
        home_share.append(float(d[b == h].sum()) / total if total > 0 and h >= 0 else np.nan)
    return PersonMobility(
        np.asarray(places, np.float64),
        np.asarray(weekly, np.float64),
        np.asarray(radius, np.float64),
        np.asarray(home_share, np.float64),
    )


def distinct_places_growth(
    person: npt.ArrayLike, building: npt.ArrayLike, start_s: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, float]:
    """Mean number of distinct buildings S(t) a person has visited by day t = 1, 2, ...

    Returns the days, the mean S over people, and the exponent mu of S(t) ~ t^mu fitted
    by least squares on log-log axes (Song et al. 2010 report mu = 0.6). Stays outside the
    district (building < 0) are ignored.
    """
    p = np.asarray(person, np.int64)
    bld = np.asarray(building, np.int64)
    s = np.asarray(start_s, np.float64)
    keep = bld >= 0
    p, bld, s = p[keep], bld[keep], s[keep]
    if p.size == 0:
        return np.zeros(0), np.zeros(0), float("nan")
    day = ((s - s.min()) // DAY_S).astype(np.int64)
    days = int(day.max()) + 1
    # First day each person visits each building.
    order = np.lexsort((day, bld, p))
    p, bld, day = p[order], bld[order], day[order]
    first = np.ones(p.size, dtype=bool)
    first[1:] = (p[1:] != p[:-1]) | (bld[1:] != bld[:-1])
    people = np.unique(p).size
    new_per_day = np.bincount(day[first], minlength=days).astype(np.float64)
    mean_s = np.cumsum(new_per_day) / people
    t = np.arange(1, days + 1, dtype=np.float64)
    mu = float(np.polyfit(np.log(t), np.log(mean_s), 1)[0]) if days >= 2 else float("nan")
    return t, mean_s, mu


def ccdf(values: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Sorted values and P(X >= x) for a complementary cumulative distribution plot."""
    x = np.sort(np.asarray(values, np.float64))
    x = x[np.isfinite(x)]
    if x.size == 0:
        return x, x.copy()
    return x, 1.0 - np.arange(x.size, dtype=np.float64) / x.size
