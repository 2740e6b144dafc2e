"""Known answers for the sliding staypoint kernel (trackintel's ``generate_staypoints``).

Thresholds are trackintel's defaults unless a test says otherwise: 100 m, 5 minutes, and a
15-minute gap. One degree of latitude is 111,195 m on the 6,371 km sphere, so a step of
0.0005 degrees north is 55.6 m.
"""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from tessera.errors import StageError
from tessera.life.staypoints import EARTH_RADIUS_M, detect_staypoints

T0 = 1_224_730_000_000  # 2008-10-23, the GeoLife era
MIN = 60_000
LAT, LON = 39.9, 116.3
M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0


def rows(table: Any) -> list[dict[str, Any]]:
    return list(table.to_pylist())


def stand_then_walk(
    minutes: int, every_s: int = 30, walk_steps: int = 10
) -> tuple[np.ndarray, ...]:
    """Standing at (LAT, LON) for ``minutes``, then walking north 55.6 m per ``every_s``."""
    n_stay = minutes * 60 // every_s + 1
    t = T0 + np.arange(n_stay + walk_steps, dtype=np.int64) * every_s * 1000
    lat = np.concatenate([np.full(n_stay, LAT), LAT + 0.0005 * np.arange(1, walk_steps + 1)])
    lon = np.full(n_stay + walk_steps, LON)
    return t, lat, lon


def test_standing_ten_minutes_then_walking_away_is_one_stay() -> None:
    """21 fixes at A over 10 min, then north: the first step (55.6 m) is still within 100 m
    of the stay's first fix, the second (111 m) leaves. One stay, points 0..21, from 0 to
    the time of the leaving fix (11 min), placed at the mean of its 22 points."""
    t, lat, lon = stand_then_walk(10)
    [sp] = rows(detect_staypoints(np.zeros(len(t), np.int64), t, lat, lon))
    assert sp["user"] == 0
    assert (sp["first"], sp["last"], sp["n"]) == (0, 21, 22)
    assert sp["started_at_ms"] == T0
    assert sp["finished_at_ms"] == T0 + 11 * MIN
    assert sp["lat"] == pytest.approx((21 * LAT + LAT + 0.0005) / 22, abs=1e-12)
    assert sp["lon"] == pytest.approx(LON, abs=1e-12)


def test_shorter_than_the_time_threshold_is_no_stay() -> None:
    """3 minutes at A, then away: the fix that leaves (the second step north, 111 m) comes
    4 minutes after the first; no stay."""
    t, lat, lon = stand_then_walk(3)
    out = detect_staypoints(np.zeros(len(t), np.int64), t, lat, lon)
    assert out.num_rows == 0
    assert out.column_names == [
        "user",
        "first",
        "last",
        "started_at_ms",
        "finished_at_ms",
        "lat",
        "lon",
        "n",
    ]


def test_time_threshold_is_inclusive() -> None:
    """The leaving fix exactly 5 minutes after the first makes a stay (``>=``)."""
    t = T0 + np.array([0, 4, 5], dtype=np.int64) * MIN
    lat = np.array([LAT, LAT, LAT + 0.01])
    lon = np.full(3, LON)
    [sp] = rows(detect_staypoints(np.zeros(3, np.int64), t, lat, lon))
    assert (sp["first"], sp["last"], sp["finished_at_ms"]) == (0, 1, T0 + 5 * MIN)
    assert detect_staypoints(np.zeros(3, np.int64), t, lat, lon, time_threshold_s=301).num_rows == 0


def test_distance_threshold_is_measured_from_the_first_point_of_the_stay() -> None:
    """Creeping north 40 m a minute: never 100 m from the previous fix, but the fix at
    minute 3 is 120 m from the first; the stay (0..2) lasted 3 min, too short. From the
    anchor at minute 3 the same happens again: no stay at all."""
    step = 40 / M_PER_DEG
    t = T0 + np.arange(10, dtype=np.int64) * MIN
    lat = LAT + step * np.arange(10)
    out = detect_staypoints(np.zeros(10, np.int64), t, lat, np.full(10, LON))
    assert out.num_rows == 0
    # with a 2-minute threshold each run of three fixes is a stay ending at the next anchor
    out = rows(
        detect_staypoints(np.zeros(10, np.int64), t, lat, np.full(10, LON), time_threshold_s=120)
    )
    assert [(s["first"], s["last"], s["n"]) for s in out] == [(0, 2, 3), (3, 5, 3), (6, 8, 3)]
    assert [s["finished_at_ms"] for s in out] == [T0 + 3 * MIN, T0 + 6 * MIN, T0 + 9 * MIN]


@pytest.mark.parametrize(("metres", "stays"), [(99.99, 0), (100.01, 1)])
def test_distance_threshold_at_one_centimetre(metres: float, stays: int) -> None:
    """A fix 99.99 m from the anchor does not leave it (no stay, no departure); 100.01 m does."""
    t = T0 + np.array([0, 6], dtype=np.int64) * MIN
    lat = np.array([LAT, LAT + metres / M_PER_DEG])
    out = detect_staypoints(np.zeros(2, np.int64), t, lat, np.full(2, LON))
    assert out.num_rows == stays


def test_a_gap_drops_the_candidate_however_long() -> None:
    """10 min at A, 20 min without fixes (> 15), 3 more min at A, then away. trackintel
    drops the candidate at the gap even though it lasted 10 min, and re-anchors at the fix
    after the gap, whose candidate lasts 3.5 min: no stay. With a 4-min stay after the gap
    (and a 30-min gap threshold) the answers change as commented."""
    before = T0 + np.arange(0, 11, dtype=np.int64) * MIN
    after = before[-1] + 20 * MIN + np.arange(0, 4, dtype=np.int64) * MIN
    t = np.concatenate([before, after, [after[-1] + 30_000]])
    lat = np.concatenate([np.full(len(before) + len(after), LAT), [LAT + 0.01]])
    lon = np.full(len(t), LON)
    user = np.zeros(len(t), np.int64)
    assert detect_staypoints(user, t, lat, lon).num_rows == 0
    # a longer stay after the gap: one stay, starting at the first fix after the gap
    t2 = np.concatenate([before, after, after[-1] + np.array([MIN, 2 * MIN, 2 * MIN + 30_000])])
    lat2 = np.concatenate([np.full(len(t2) - 1, LAT), [LAT + 0.01]])
    [sp] = rows(detect_staypoints(np.zeros(len(t2), np.int64), t2, lat2, np.full(len(t2), LON)))
    assert sp["started_at_ms"] == after[0]
    assert sp["first"] == len(before)
    assert sp["finished_at_ms"] == t2[-1]
    # a gap under the threshold is no gap: a single stay over all of it
    [sp] = rows(detect_staypoints(user, t, lat, lon, gap_threshold_s=30 * 60))
    assert (sp["first"], sp["last"], sp["started_at_ms"]) == (0, len(t) - 2, T0)
    assert sp["finished_at_ms"] == t[-1]


def test_include_last_keeps_the_stay_nobody_left() -> None:
    """Standing 10 min until the data ends: no departure, so no stay; with include_last one
    stay over all points, finishing at the last fix."""
    t = T0 + np.arange(0, 11, dtype=np.int64) * MIN
    lat, lon = np.full(11, LAT), np.full(11, LON)
    user = np.zeros(11, np.int64)
    assert detect_staypoints(user, t, lat, lon).num_rows == 0
    [sp] = rows(detect_staypoints(user, t, lat, lon, include_last=True))
    assert (sp["first"], sp["last"], sp["n"]) == (0, 10, 11)
    assert (sp["started_at_ms"], sp["finished_at_ms"]) == (T0, T0 + 10 * MIN)
    short = detect_staypoints(user[:4], t[:4], lat[:4], lon[:4], include_last=True)
    assert short.num_rows == 0


def test_two_users_are_never_mixed() -> None:
    """User 1 stands at A from minute 0 to 3, user 2 from minute 3 to 6, both then leave:
    each candidate lasts 3.5 min, no stay (mixed, they would make one of 6.5 min). User 3
    stands 10 min and user 4 starts far away: user 3 never left, so no stay either."""
    t1 = T0 + np.array([0, 1, 2, 3, 3.5]) * MIN
    t2 = T0 + np.array([3, 4, 5, 6, 6.5]) * MIN
    t = np.concatenate([t1, t2]).astype(np.int64)
    lat = np.array([LAT] * 4 + [LAT + 0.01] + [LAT] * 4 + [LAT + 0.01])
    user = np.array([1] * 5 + [2] * 5)
    assert detect_staypoints(user, t, lat, np.full(10, LON)).num_rows == 0
    t3 = T0 + np.arange(0, 11, dtype=np.int64) * MIN
    t = np.concatenate([t3, t3[-1:] + MIN])
    lat = np.concatenate([np.full(11, LAT), [LAT + 0.01]])
    user = np.array([3] * 11 + [4])
    assert detect_staypoints(user, t, lat, np.full(12, LON)).num_rows == 0


def test_unsorted_input_gives_the_same_stays_with_indices_in_the_callers_order() -> None:
    """Two users' traces, shuffled: the same stays, ``first``/``last`` point at the same
    fixes in the shuffled arrays; the inputs are left as they were."""
    t, lat, lon = stand_then_walk(10)
    n = len(t)
    user = np.repeat(np.array([7, 3]), n)
    tt = np.concatenate([t, t + 5 * MIN])
    la = np.concatenate([lat, lat + 1.0])
    lo = np.concatenate([lon, lon])
    sorted_out = rows(detect_staypoints(user, tt, la, lo))  # user 7 first: not sorted either
    perm = np.random.default_rng(3).permutation(2 * n)
    args = (user[perm], tt[perm], la[perm], lo[perm])
    copies = [a.copy() for a in args]
    out = rows(detect_staypoints(*args))
    for a, c in zip(args, copies, strict=True):
        np.testing.assert_array_equal(a, c)
    assert [s["user"] for s in out] == [3, 7]  # ordered by user, then time
    key = ("user", "started_at_ms", "finished_at_ms", "lat", "lon", "n")
    assert sorted([tuple(s[k] for k in key) for s in out]) == sorted(
        [tuple(s[k] for k in key) for s in sorted_out]
    )
    for s in out:
        assert args[0][s["first"]] == s["user"] == args[0][s["last"]]
        assert args[1][s["first"]] == s["started_at_ms"]
        assert args[1][s["last"]] == s["finished_at_ms"] - MIN // 2
    assert sorted(perm[[s["first"] for s in out]]) == sorted(s["first"] for s in sorted_out)


def test_a_repeated_fix_is_ignored() -> None:
    """A repeated fix (same user, time, position) is ignored (trackintel's
    exclude_duplicate_pfs): not counted in ``n``, unless ``exclude_duplicates=False``."""
    t, lat, lon = stand_then_walk(10)
    dup = 5
    t2 = np.insert(t, dup + 1, t[dup])
    lat2 = np.insert(lat, dup + 1, lat[dup])
    lon2 = np.insert(lon, dup + 1, lon[dup])
    user = np.zeros(len(t2), np.int64)
    [sp] = rows(detect_staypoints(user, t2, lat2, lon2))
    assert (sp["first"], sp["last"], sp["n"]) == (0, 22, 22)
    [sp] = rows(detect_staypoints(user, t2, lat2, lon2, exclude_duplicates=False))
    assert sp["n"] == 23


def test_equal_times_keep_the_callers_order_and_a_duplicate_does_not_re_anchor() -> None:
    """At minute 6 the subject is reported at B (far from A), then C (far from B), then B
    again, in that order. B ends the stay at A and anchors; C re-anchors (0 min, too
    short); the repeated B is ignored, so C stays the anchor and the fixes at C up to
    minute 12 make a stay (3..6), left at 12.5. Without dropping duplicates the repeated B
    re-anchors, C at minute 9 re-anchors again, and its candidate is too short."""
    b, c = LAT + 0.01, LAT + 0.02
    t = T0 + np.array([0, 5, 6, 6, 6, 9, 12, 12.5], dtype=np.float64) * MIN
    lat = np.array([LAT, LAT, b, c, b, c, c, LAT])
    lon = np.full(len(t), LON)
    user = np.zeros(len(t), np.int64)
    out = rows(detect_staypoints(user, t.astype(np.int64), lat, lon))
    assert [(s["first"], s["last"]) for s in out] == [(0, 1), (3, 6)]
    out = rows(detect_staypoints(user, t.astype(np.int64), lat, lon, exclude_duplicates=False))
    assert [(s["first"], s["last"]) for s in out] == [(0, 1)]


def test_far_jumps_and_the_antimeridian() -> None:
    """A 10 km jump ends a stay (distance by trigonometry rather than series); a stay
    across the antimeridian is placed at 180 degrees, not at 0."""
    t = T0 + np.array([0, 6, 7], dtype=np.int64) * MIN
    lat = np.array([LAT, LAT, LAT])
    lon = np.array([LON, LON, LON + 10_000 / (M_PER_DEG * math.cos(math.radians(LAT)))])
    [sp] = rows(detect_staypoints(np.zeros(3, np.int64), t, lat, lon))
    assert (sp["first"], sp["last"]) == (0, 1)
    lon = np.array([179.9999, -179.9999, -179.9999, 170.0])
    t = T0 + np.array([0, 2, 6, 7], dtype=np.int64) * MIN
    [sp] = rows(detect_staypoints(np.zeros(4, np.int64), t, np.zeros(4), lon))
    assert (sp["first"], sp["last"], sp["n"]) == (0, 2, 3)
    assert abs(sp["lon"]) > 179.99


def test_datetimes_and_string_users() -> None:
    t, lat, lon = stand_then_walk(10)
    users = np.array(["imsi:262010000000001"] * len(t), dtype=object)
    [sp] = rows(detect_staypoints(users, t.astype("datetime64[ms]"), lat, lon))
    assert sp["user"] == "imsi:262010000000001"
    assert sp["started_at_ms"] == T0


def test_cell_sector_scale_thresholds() -> None:
    """Coarse positions (sector centroids 300-800 m apart): a 1 km threshold and a 30 min
    minimum stay, with hourly events and a 2 h gap threshold."""
    t = T0 + np.arange(8, dtype=np.int64) * 60 * MIN
    lat = LAT + np.array([0, 0.004, -0.003, 0.002, 0.05, 0.05, 0.0504, 0.2])
    out = rows(
        detect_staypoints(
            np.zeros(8, np.int64),
            t,
            lat,
            np.full(8, LON),
            dist_threshold_m=1000,
            time_threshold_s=30 * 60,
            gap_threshold_s=2 * 3600,
        )
    )
    assert [(s["first"], s["last"]) for s in out] == [(0, 3), (4, 6)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lat": np.array([LAT, np.nan])}, r"lat\[1\] = nan"),
        ({"lat": np.array([LAT, 91.0])}, r"lat\[1\] = 91.0 is not a coordinate in \[-90, 90\]"),
        ({"lon": np.array([LON, -180.5])}, r"lon\[1\] = -180.5"),
        ({"t_ms": np.array([1.5, 2.5])}, "t_ms must be integer milliseconds or datetime64"),
        ({"t_ms": np.array(["NaT", "2008-10-23"], "datetime64[ms]")}, r"t_ms\[0\] is NaT"),
        ({"user": np.array([1, 2, 3])}, "input lengths differ"),
        ({"lat": np.array([[LAT, LAT]])}, "lat must be one-dimensional"),
        ({"lat": np.array(["a", "b"])}, "lat must be numeric"),
        ({"dist_threshold_m": -1.0}, "dist_threshold_m must be finite and >= 0"),
        ({"gap_threshold_s": math.inf}, "gap_threshold_s must be finite"),
    ],
)
def test_bad_input_is_refused_with_context(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {
        "user": np.zeros(2, np.int64),
        "t_ms": np.array([T0, T0 + MIN]),
        "lat": np.full(2, LAT),
        "lon": np.full(2, LON),
    }
    args.update(kwargs)
    with pytest.raises(StageError, match=message):
        detect_staypoints(**args)


def test_empty_input() -> None:
    e = np.zeros(0)
    out = detect_staypoints(np.zeros(0, np.int64), np.zeros(0, np.int64), e, e)
    assert out.num_rows == 0
    assert str(out.schema.field("n").type) == "int32"


# -- differential test against a direct transcription of the semantics -----------------


def _reference(
    user: np.ndarray,
    t: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    include_last: bool,
    dist: float = 100.0,
    time_ms: float = 300_000.0,
    gap_ms: float = 900_000.0,
) -> list[tuple[int, int, int, int, int, int]]:
    """Plain Python, one user at a time, as trackintel 1.4.2 documents and does it."""
    out = []
    order = sorted(range(len(t)), key=lambda i: (user[i], t[i], i))
    by_user: dict[int, list[int]] = {}
    for i in order:
        by_user.setdefault(int(user[i]), []).append(i)
    for u, idx in by_user.items():
        seen: set[tuple[int, float, float]] = set()
        pts = []
        for i in idx:
            if (int(t[i]), lat[i], lon[i]) not in seen:
                seen.add((int(t[i]), lat[i], lon[i]))
                pts.append(i)

        def metres(a: int, b: int) -> float:
            la1, la2 = math.radians(lat[a]), math.radians(lat[b])
            dlo = math.radians(lon[a]) - math.radians(lon[b])
            x = math.cos(la1 - la2) - math.cos(la1) * math.cos(la2) * (1 - math.cos(dlo))
            return EARTH_RADIUS_M * math.acos(min(1.0, x))

        start = curr = 0
        for curr in range(1, len(pts)):
            if t[pts[curr]] - t[pts[curr - 1]] > gap_ms:
                start = curr
                continue
            if metres(pts[start], pts[curr]) >= dist:
                if t[pts[curr]] - t[pts[start]] >= time_ms:
                    s, e = pts[start], pts[curr - 1]
                    out.append((u, s, e, int(t[s]), int(t[pts[curr]]), curr - start))
                start = curr
        if include_last and pts and t[pts[curr]] - t[pts[start]] >= time_ms:
            s, e = pts[start], pts[-1]
            out.append((u, s, e, int(t[s]), int(t[e]), len(pts) - start))
    return out


def _random_traces(seed: int, users: int = 4, n: int = 1500) -> tuple[np.ndarray, ...]:
    """Stays and moves at GPS sampling rates, with gaps, repeated fixes and equal times."""
    rng = np.random.default_rng(seed)
    parts: list[tuple[np.ndarray, ...]] = []
    for u in range(users):
        dt = rng.choice([1, 5, 30, 60, 400, 1200], size=n, p=[0.3, 0.3, 0.2, 0.1, 0.07, 0.03])
        t = T0 + np.cumsum(dt).astype(np.int64) * 1000
        moving = (np.arange(n) // rng.integers(20, 200)) % 2 == 1
        sigma = np.where(moving, 0.0008, 0.00012)[:, None]
        pos = np.round(
            np.cumsum(rng.normal(0, 1, (n, 2)) * sigma, axis=0) + np.array([LAT, LON]), 6
        )
        rep = rng.choice(n, n // 40, replace=False)
        tie = rng.choice(n, n // 40, replace=False)
        t = np.concatenate([t, t[rep], t[tie]])
        pos = np.concatenate([pos, pos[rep], pos[tie] + rng.normal(0, 0.002, (len(tie), 2))])
        parts.append((np.full(len(t), u), t, pos[:, 0], pos[:, 1]))
    u, t, lat, lon = (np.concatenate(cols) for cols in zip(*parts, strict=True))
    perm = rng.permutation(len(u))
    return u[perm], t[perm], lat[perm], lon[perm]


@pytest.mark.parametrize(("seed", "include_last"), [(1, False), (2, True)])
def test_random_traces_match_the_reference_transcription(seed: int, include_last: bool) -> None:
    user, t, lat, lon = _random_traces(seed)
    want = _reference(user, t, lat, lon, include_last)
    got = detect_staypoints(user, t, lat, lon, include_last=include_last).to_pydict()
    cols = ("user", "first", "last", "started_at_ms", "finished_at_ms", "n")
    assert list(zip(*(got[c] for c in cols), strict=True)) == want
    assert len(want) > 50


def test_many_stays_grow_the_output() -> None:
    """Every fix 200 m and 6 minutes from the previous one is a one-point stay: n - 1 stays
    (more than the kernel's first allocation)."""
    n = 5000
    t = T0 + np.arange(n, dtype=np.int64) * 6 * MIN
    lat = LAT + (np.arange(n) % 2) * 200 / M_PER_DEG
    out = detect_staypoints(np.zeros(n, np.int64), t, lat, np.full(n, LON))
    assert out.num_rows == n - 1
    assert set(out.column("n").to_pylist()) == {1}


def test_importing_the_module_does_not_import_numba() -> None:
    code = "import sys, tessera.life.staypoints; print('numba' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"
