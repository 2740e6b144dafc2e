"""Weekly profiles, radius of gyration, regularity, entropies and Fano's bound
(``tessera.life.routine``) on hand-made stays with known answers."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tessera.life.routine import (
    EARTH_RADIUS_M,
    PROFILE,
    ROG_FLOOR_M,
    ROUTINE,
    fano_entropy,
    fano_predictability,
    real_entropies,
    real_entropy,
    routine,
)
from tessera.workspace import Workspace

from ._world import HOME, MONDAY, WORK, local, worker_stays, write_stays


def worker_sequence(days: int) -> list[int]:
    """The worker's hourly sequence of places (unknown hours left out)."""
    seq: list[int] = []
    for d in range(days):
        weekday = (MONDAY + dt.timedelta(days=d)).weekday() < 5
        for h in range(24):
            if not weekday or h < 8 or h >= 18:
                seq.append(HOME[0])
            elif 9 <= h < 17:
                seq.append(WORK[0])
    return seq


def naive_lz(seq: Sequence[int]) -> float:
    """Kontoyiannis' estimator straight from its definition: Lambda_i is the length of
    the shortest substring at i that does not occur inside seq[0:i]."""
    n = len(seq)
    total = 0
    for i in range(n):
        k = 1
        while i + k <= n:
            sub = list(seq[i : i + k])
            if any(list(seq[j : j + k]) == sub for j in range(i - k + 1)):
                k += 1
            else:
                break
        total += k
    return n * math.log2(n) / total


def fano_by_hand(s: float) -> float:
    """Pi solving H(Pi) = s for two places (log2(N - 1) = 0), by bisection on [1/2, 1]."""
    lo, hi = 0.5, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        h = -mid * math.log2(mid) - (1 - mid) * math.log2(1 - mid)
        lo, hi = (mid, hi) if h > s else (lo, mid)
    return (lo + hi) / 2


def rows(ws: Workspace, sql: str) -> list[tuple[object, ...]]:
    return ws.engine.fetch_rows(sql)


@pytest.fixture
def worker(ws: Workspace) -> Workspace:
    """Three weeks of the worker routine, the profile computed."""
    write_stays(ws, worker_stays("w", 21))
    with ws.engine.transaction():
        counts = routine(ws.engine)
    assert counts[PROFILE] == 1
    return ws


def test_weekly_profile_has_home_at_night_and_work_on_weekdays(worker: Workspace) -> None:
    """Monday 03:00 is home in all three weeks (3 x 3600 s, share 1); Monday 10:00 is
    work; Saturday noon is home; the transit hours 08:00 and 17:00 have no row."""
    got = {
        (dow, hour, place): (seconds, share)
        for place, dow, hour, seconds, share in rows(
            worker, f"SELECT place_id, dow, hour, seconds, share FROM {ROUTINE}"
        )
    }
    assert got[(0, 3, HOME[0])] == (3 * 3600.0, 1.0)
    assert got[(0, 10, WORK[0])] == (3 * 3600.0, 1.0)
    assert got[(5, 12, HOME[0])] == (3 * 3600.0, 1.0)
    assert not [k for k in got if k[1] in (8, 17) and k[0] < 5]
    # every weekday-hour's shares sum to one
    sums = rows(worker, f"SELECT dow, hour, sum(share) FROM {ROUTINE} GROUP BY dow, hour")
    assert all(abs(float(str(s)) - 1.0) < 1e-12 for _, _, s in sums)
    assert len(sums) == 5 * 22 + 2 * 24


def test_profile_of_a_regular_worker(worker: Workspace) -> None:
    """Regularity 1; S_real < S_unc < S_rand = 1; each number as defined by hand."""
    (row,) = rows(
        worker,
        f"SELECT days_observed, places, radius_of_gyration_m, regularity, entropy_random, "
        f"entropy_uncorrelated, entropy_real, predictability_max FROM {PROFILE}",
    )
    days, places, rog, regularity, s_rand, s_unc, s_real, pi = (float(str(v)) for v in row)
    assert (days, places) == (21, 2)
    assert regularity == 1.0
    # weekly known hours: 5 x 14 + 48 at home, 5 x 8 at work
    p = 118 / 158
    assert s_unc == pytest.approx(-p * math.log2(p) - (1 - p) * math.log2(1 - p), abs=1e-12)
    assert s_rand == 1.0
    assert s_real == pytest.approx(naive_lz(worker_sequence(21)), abs=1e-12)
    assert s_real < s_unc < s_rand
    assert pi == pytest.approx(fano_by_hand(s_real), abs=1e-9)
    assert 0.9 < pi < 1.0
    # two points 0.01 degrees apart, time-weighted: d * sqrt(q (1 - q))
    work_s = 15 * 8 * 3600.0
    home_s = 21 * 24 * 3600.0 - 15 * 10 * 3600.0
    q = work_s / (work_s + home_s)
    d = EARTH_RADIUS_M * math.radians(0.01)
    assert rog == pytest.approx(d * math.sqrt(q * (1 - q)), rel=1e-9)


def test_stays_a_last_bit_apart_have_no_radius() -> None:
    """Two stays at one place whose latitudes differ in the last bit (a sum made in
    another order by another engine) have a radius of 0, not ~1e-9 m; stays 1 cm apart
    keep theirs."""
    import pyarrow as pa

    from tessera.life.routine import _gyration

    lat = 52.52
    table = pa.table(
        {
            "code": [0, 0, 1, 1],
            "t0": [0.0, 3600.0, 0.0, 3600.0],
            "t1": [3600.0, 9000.0, 3600.0, 9000.0],
            "lat": [lat, float(np.nextafter(lat, 90.0)), lat, lat + 1e-7],
            "lon": [13.4, 13.4, 13.4, 13.4],
        }
    )
    out = _gyration(table)
    rog = dict(zip(out.column("code").to_pylist(), out.column("rog").to_pylist(), strict=True))
    assert rog[0] == 0.0
    q = 3600.0 / 9000.0
    d = EARTH_RADIUS_M * math.radians(1e-7)
    assert rog[1] == pytest.approx(d * math.sqrt(q * (1 - q)), rel=1e-6)
    assert rog[1] > ROG_FLOOR_M


def test_stays_are_cut_at_local_hours_across_clock_changes(ws: Workspace) -> None:
    """Summer time begins 29 March 2026 at 02:00 (to 03:00) and ends 25 October at 03:00
    (back to 02:00): a night from 22:00 to 06:00 lasts 7 hours in spring, with no 02:00
    hour, and one from 00:00 to 04:00 lasts 5 hours in autumn, 02:00 counting twice."""
    spring = dt.date(2026, 3, 28)
    autumn = dt.date(2026, 10, 25)
    write_stays(
        ws,
        [
            ("spring", local(spring, 22), local(spring + dt.timedelta(days=1), 6), HOME),
            ("autumn", local(autumn, 0), local(autumn, 4), HOME),
        ],
    )
    with ws.engine.transaction():
        routine(ws.engine)
    got = {
        (str(s), int(str(d)), int(str(h))): float(str(x))
        for s, d, h, x in rows(ws, f"SELECT subject, dow, hour, seconds FROM {ROUTINE}")
    }
    spring_hours = {k[1:]: v for k, v in got.items() if k[0] == "spring"}
    assert sum(spring_hours.values()) == 7 * 3600
    assert (6, 2) not in spring_hours
    assert set(spring_hours) == {(5, 22), (5, 23), (6, 0), (6, 1), (6, 3), (6, 4), (6, 5)}
    autumn_hours = {k[1:]: v for k, v in got.items() if k[0] == "autumn"}
    assert sum(autumn_hours.values()) == 5 * 3600
    assert autumn_hours[(6, 2)] == 2 * 3600


def test_half_hour_zones_cut_at_their_own_full_hours(ws: Workspace) -> None:
    """In Asia/Kolkata (UTC+05:30) a stay from 10:00 to 11:30 local is an hour at 10
    and half an hour at 11."""
    kolkata = ZoneInfo("Asia/Kolkata")
    start = dt.datetime(2026, 3, 4, 10, 0, tzinfo=kolkata).astimezone(dt.UTC)
    write_stays(ws, [("k", start, start + dt.timedelta(minutes=90), HOME)], zone="Asia/Kolkata")
    with ws.engine.transaction():
        routine(ws.engine)
    got = rows(ws, f"SELECT dow, hour, seconds FROM {ROUTINE} ORDER BY hour")
    assert [(int(str(d)), int(str(h)), float(str(s))) for d, h, s in got] == [
        (2, 10, 3600.0),
        (2, 11, 1800.0),
    ]


def test_real_entropy_follows_its_definition() -> None:
    """The compiled estimator agrees with the definition on random sequences."""
    rng = np.random.default_rng(7)
    seqs = [list(rng.integers(0, k, n) * 11 + 5) for k, n in [(1, 9), (2, 40), (3, 60), (5, 33)]]
    seqs += [[4], [1, 2, 1, 2, 1, 2, 1, 2], [3, 3, 3, 3, 3, 3, 3]]
    for seq in seqs:
        assert real_entropy(seq) == pytest.approx(naive_lz(seq), abs=1e-12)
    values = np.concatenate([np.asarray(s) for s in seqs])
    ends = np.cumsum([len(s) for s in seqs])
    starts = ends - [len(s) for s in seqs]
    together = real_entropies(values, starts, ends)
    assert together == pytest.approx([naive_lz(s) for s in seqs], abs=1e-12)
    assert math.isnan(real_entropies(values, np.array([0]), np.array([0]))[0])


def test_fano_bound_known_values() -> None:
    """Two places at one bit are a coin (1/2); no entropy is certainty; one place is
    certain; more entropy than log2 N is capped at 1/N; the inverse round-trips."""
    got = fano_predictability([1.0, 0.0, 0.7, 3.0, np.nan], [2, 5, 1, 4, 3])
    assert got[:4] == pytest.approx([0.5, 1.0, 1.0, 0.25])
    assert math.isnan(got[4])
    for pi, n in [(0.93, 50), (0.6, 3), (0.99, 2)]:
        s = fano_entropy(pi, n)
        assert fano_predictability(s, n)[0] == pytest.approx(pi, abs=1e-9)


def test_tables_have_the_declared_columns(worker: Workspace) -> None:
    """The written tables match the layouts in ``COLUMNS`` (names and types)."""
    from tessera.life.tables import COLUMNS

    for table in (ROUTINE, PROFILE):
        ddl = COLUMNS[table]
        declared = [tuple(c.strip().split(" ", 1)) for c in ddl.split(",")]
        assert worker.engine.columns(table) == declared


def test_compiled_hour_slots_match_the_sql_definition(ws: Workspace) -> None:
    """The compiled pass (``_slots``) gives the weekly seconds and shares per (subject,
    place, weekday-hour), the hourly sequence and the observed days that
    ``prepare_slices`` and the SQL of the sequence and of the weekly sums define:
    places A, B, A within one hour (A's seconds summed: 20 + 15 minutes against B's
    25, so A is the hour's main place), an exact tie (30 minutes each: the smaller
    place id wins), a stay over midnight, and stays given out of order in the table."""
    from tessera.life.routine import CODES, SLOT_PLACE, _slots, prepare_codes, prepare_slices

    day = dt.date(2026, 3, 4)
    a, b = HOME, WORK
    write_stays(
        ws,
        [
            ("x", local(day, 23.5), local(day + dt.timedelta(days=1), 1.25), b),
            ("x", local(day, 10), local(day, 10 + 20 / 60), a),
            ("x", local(day, 10 + 20 / 60), local(day, 10.75), b),
            ("x", local(day, 10.75), local(day, 11), a),
            ("x", local(day, 12), local(day, 12.5), b),
            ("x", local(day, 12.5), local(day, 13), a),
            ("y", local(day, 12), local(day, 12.5), b),
        ],
    )
    e = ws.engine
    with e.transaction(), e.temp_tables() as temp:
        prepare_codes(temp, ["life_stay"])
        prepare_slices(temp, "Europe/Berlin")
        want_slots = sorted(e.fetch_rows(f"SELECT code, e, place_id, seconds FROM {SLOT_PLACE}"))
        want_seq = e.fetch_rows(
            f"SELECT code, arg_max(place_id, {{'s': seconds, 'p': -place_id}}) "
            f"FROM {SLOT_PLACE} GROUP BY code, e ORDER BY code, e"
        )
        want_days = sorted(
            e.fetch_rows(
                "SELECT s.code, count(DISTINCT l.day) FROM _life_slices s "
                "JOIN _life_calendar l USING (e) GROUP BY s.code"
            )
        )
        want_weekly = e.fetch_rows(
            "SELECT code, place_id, dow, hour, sum(seconds), sum(seconds) / "
            "sum(sum(seconds)) OVER (PARTITION BY code, dow, hour) "
            f"FROM {SLOT_PLACE} GROUP BY code, place_id, dow, hour "
            "ORDER BY code, place_id, dow, hour"
        )
        seq_code, seq_place, weekly = _slots(e, temp, "Europe/Berlin")
        got_days = sorted(e.fetch_rows("SELECT code, days FROM _life_days"))
        codes = dict(e.fetch_rows(f"SELECT subject, code FROM {CODES}"))
    got_weekly = [tuple(r.values()) for r in weekly.to_pylist()]
    assert [r[:4] for r in got_weekly] == [r[:4] for r in want_weekly]
    assert [r[4:] for r in got_weekly] == [pytest.approx(r[4:]) for r in want_weekly]
    # one day: each (code, dow, hour) is one hour, so the weekly sums are the slots
    assert [(c, p, s) for c, p, _, _, s, _ in got_weekly] == [
        (c, p, pytest.approx(s)) for c, _, p, s in sorted(want_slots, key=lambda r: r[::2])
    ]
    assert list(zip(seq_code.tolist(), seq_place.tolist(), strict=True)) == want_seq
    assert got_days == want_days == [(codes["x"], 2), (codes["y"], 1)]
    x_seq = [p for c, p in want_seq if c == codes["x"]]
    # 10h: A (35 min) over B; 12h: the tie goes to A (the smaller id); 23h, 0h, 1h: B
    assert x_seq == [a[0], a[0], b[0], b[0], b[0]]


def test_a_rerun_gives_the_same_profile_bits(ws: Workspace) -> None:
    """Four hundred subjects, each with three to six places of unequal hours over a week:
    five runs of the stage give bit-identical profiles. Parallel SQL sums of the
    entropy terms differed in the last bit from run to run on a 200-person simulation
    (so a rebuild changed ``life_profile`` and the dossiers); the sums are now made in a
    fixed order."""
    rng = np.random.default_rng(11)
    stays = []
    for k in range(400):
        t = local(MONDAY, 0)
        end = local(MONDAY + dt.timedelta(days=7), 0)
        n_places = 3 + k % 4
        while t < end:
            place = int(rng.integers(n_places))
            hours = float(rng.integers(1, 9)) + float(rng.integers(60)) / 60
            stop = min(t + dt.timedelta(hours=hours), end)
            stays.append(
                (f"s{k}", t, stop, (100 * k + place, 52.5 + 0.003 * place, 13.3 + 0.001 * k))
            )
            t = stop + dt.timedelta(minutes=int(rng.integers(0, 90)))
    write_stays(ws, stays)
    runs = []
    for _ in range(5):
        with ws.engine.transaction():
            routine(ws.engine)
        runs.append(rows(ws, f"SELECT * FROM {PROFILE} ORDER BY subject"))
    assert len(runs[0]) == 400
    assert all(r == runs[0] for r in runs[1:])
