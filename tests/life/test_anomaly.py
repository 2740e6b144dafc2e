"""Anomalies against a subject's own routine (``tessera.life.anomaly``), the truth's
anomalies and the matching metrics (``tessera.evaluate.anomaly``), with known answers.

Subjects live in Berlin time (see ``test_routine``): the worker is home every night, at
work 09:00-17:00 on weekdays and home all weekend, from Monday 2 March 2026.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tessera.evaluate.anomaly import (
    COMPATIBLE,
    MATCH_TOLERANCE_S,
    anomaly_metrics,
    anomaly_truth,
)
from tessera.life import tables
from tessera.life.anomaly import (
    ANOMALY,
    DARK_BITS,
    MIN_HISTORY_DAYS,
    NEW_PLACE_MIN_S,
    anomalies,
)
from tessera.workspace import Workspace

from ._world import BERLIN, HOME, MONDAY, WORK, Stay, local, worker_stays, write_stays

CAFE = (3, 52.52, 13.32)


def write_active(ws: Workspace, hours: Iterable[tuple[str, dt.datetime]]) -> None:
    """``life_active_hour`` from (subject, UTC hour start)."""
    engine = ws.engine
    engine.execute(f"CREATE TABLE {tables.ACTIVE_HOUR} ({tables.COLUMNS[tables.ACTIVE_HOUR]})")
    pairs = list(hours)
    data = pa.table(
        {
            "subject": [p[0] for p in pairs],
            "hour": pa.array([p[1] for p in pairs], pa.timestamp("us", tz="UTC")),
        }
    )
    engine.register_arrow("_test_active", data)
    engine.execute(
        f"INSERT INTO {tables.ACTIVE_HOUR} SELECT subject, 'person', hour, 3, ['op'] "
        "FROM _test_active"
    )
    engine.unregister("_test_active")


def found(
    ws: Workspace, stays: Sequence[Stay], active: Iterable[tuple[str, dt.datetime]] = ()
) -> list[dict[str, Any]]:
    """Write the tables, run the stage, return the anomalies in id order."""
    write_stays(ws, stays)
    write_active(ws, active)
    with ws.engine.transaction():
        counts = anomalies(ws.engine)
    out = ws.engine.fetch_arrow(f"SELECT * FROM {ANOMALY} ORDER BY anomaly_id").to_pylist()
    assert counts == {ANOMALY: len(out)}
    return out


def replace_day(stays: list[Stay], day: dt.date, new: list[Stay]) -> list[Stay]:
    """The worker's stays with ``day``'s work stay replaced: the home stays around it are
    cut at ``new``'s first start and resume after its last end."""
    out: list[Stay] = []
    lo, hi = local(day, 0), local(day, 24)
    for s in stays:
        if s[3] == WORK and lo <= s[1] < hi:
            continue
        out.append(s)
    out.extend(new)
    return sorted(out, key=lambda s: s[1])


def test_one_visit_to_a_new_place_after_two_weeks(ws: Workspace) -> None:
    """Two weeks of routine, then on the third Monday 18:00-19:30 at a cafe: exactly one
    anomaly, a new place, scored against the subject's (single) new place among its
    eligible stays from day 7 on."""
    stays = worker_stays("w", 21)
    visit_day = MONDAY + dt.timedelta(days=14)
    cut = [s for s in stays if not (s[3] == HOME and s[1] == local(visit_day, 18))]
    home_after = next(s for s in stays if s[3] == HOME and s[1] == local(visit_day, 18))
    cut += [
        ("w", local(visit_day, 18), local(visit_day, 19.5), CAFE),
        ("w", local(visit_day, 19.75), home_after[2], HOME),
    ]
    got = found(ws, sorted(cut, key=lambda s: s[1]))
    assert [(a["kind"], a["place_id"]) for a in got] == [("new_place", CAFE[0])]
    (a,) = got
    assert a["started_at"] == local(visit_day, 18)
    assert a["finished_at"] == local(visit_day, 19.5)
    evidence = json.loads(str(a["evidence"]))
    eligible = [
        s
        for s in cut
        if (s[2] - s[1]).total_seconds() >= NEW_PLACE_MIN_S
        and local(MONDAY + dt.timedelta(days=MIN_HISTORY_DAYS), 0) <= s[1]
    ]
    assert evidence["new_places"] == 1
    assert evidence["stays"] == len(eligible)
    assert a["baseline"] == pytest.approx(0.5 / len(eligible))
    assert a["score"] == pytest.approx(-math.log2(0.5 / len(eligible)))


def test_no_new_place_before_the_history_is_long_enough(ws: Workspace) -> None:
    """The same cafe visit on the third day is no anomaly: there is no baseline yet."""
    stays = worker_stays("w", 21)
    day = MONDAY + dt.timedelta(days=2)
    home_after = next(s for s in stays if s[3] == HOME and s[1] == local(day, 18))
    stays = [s for s in stays if s is not home_after] + [
        ("w", local(day, 18), local(day, 19.5), CAFE),
        ("w", local(day, 19.75), home_after[2], HOME),
    ]
    assert found(ws, sorted(stays, key=lambda s: s[1])) == []


def test_work_at_three_in_the_morning_is_an_unusual_hour(ws: Workspace) -> None:
    """On the third Wednesday the worker is at work 03:00-05:00 (a known place, at an
    hour it never is there): one unusual hour at work spanning those two hours."""
    stays = worker_stays("w", 21)
    day = MONDAY + dt.timedelta(days=16)
    night = next(s for s in stays if s[3] == HOME and s[1] < local(day, 3) < s[2])
    stays = [s for s in stays if s is not night] + [
        ("w", night[1], local(day, 2.75), HOME),
        ("w", local(day, 3), local(day, 5), WORK),
        ("w", local(day, 5.25), night[2], HOME),
    ]
    got = found(ws, sorted(stays, key=lambda s: s[1]))
    assert [(a["kind"], a["place_id"]) for a in got] == [("unusual_hour", WORK[0])]
    (a,) = got
    assert (a["started_at"], a["finished_at"]) == (local(day, 3), local(day, 5))
    evidence = json.loads(str(a["evidence"]))
    assert evidence["hours"] == 2
    assert a["score"] == pytest.approx(-math.log2(evidence["p_min"]), rel=1e-3)
    assert a["score"] > 10 > a["baseline"]


def test_a_whole_weekday_at_home_breaks_the_profile(ws: Workspace) -> None:
    """On the second Wednesday the worker stays home from Tuesday evening to Thursday
    morning: that local day is a profile break (and the home stay is also at unusual
    hours); no other day is."""
    stays = worker_stays("w", 21)
    day = MONDAY + dt.timedelta(days=9)
    before = next(s for s in stays if s[3] == HOME and s[2] == local(day, 8))
    after = next(s for s in stays if s[3] == HOME and s[1] == local(day, 18))
    stays = [s for s in stays if s[1] < before[1] or s[1] > after[1]]
    stays.append(("w", before[1], after[2], HOME))
    got = found(ws, sorted(stays, key=lambda s: s[1]))
    kinds = sorted(str(a["kind"]) for a in got)
    assert kinds == ["profile_break", "unusual_hour"]
    brk = next(a for a in got if a["kind"] == "profile_break")
    assert (brk["started_at"], brk["finished_at"]) == (local(day, 0), local(day, 24))
    evidence = json.loads(str(brk["evidence"]))
    assert evidence["surprising_hours"] >= 9 > evidence["typical_surprising_hours"]
    assert brk["score"] > brk["baseline"]
    unusual = next(a for a in got if a["kind"] == "unusual_hour")
    assert unusual["place_id"] == HOME[0]
    assert local(day, 8) <= unusual["started_at"] < unusual["finished_at"] <= local(day, 18)


def hours(
    subject: str, days: int, keep: Callable[[dt.datetime], bool] | None = None
) -> list[tuple[str, dt.datetime]]:
    """Every hour of ``days`` days from MONDAY whose start ``t`` has ``keep(t)`` (all
    when ``keep`` is None)."""
    t0 = local(MONDAY, 0)
    out = []
    for k in range(days * 24):
        t = t0 + dt.timedelta(hours=k)
        if keep is None or keep(t):
            out.append((subject, t))
    return out


def test_dark_periods_are_judged_against_the_subjects_own_silences(ws: Workspace) -> None:
    """A is heard every hour for three weeks except for 48 hours from the second
    Wednesday 10:00: one dark period, exactly that silence. B's phone is off every night
    from 00:00 to 06:00 local: those silences are its routine, none is reported."""
    start = local(MONDAY + dt.timedelta(days=9), 10)
    end = start + dt.timedelta(hours=48)
    a = hours("A", 21, lambda t: not start <= t < end)
    b = hours("B", 21, lambda t: t.astimezone(BERLIN).hour >= 6)
    got = found(ws, [], [*a, *b])
    assert [(x["subject"], x["kind"]) for x in got] == [("A", "dark_period")]
    (d,) = got
    assert (d["started_at"], d["finished_at"]) == (start, end)
    evidence = json.loads(str(d["evidence"]))
    assert evidence["hours"] == 48
    assert evidence["until_end_of_data"] is False
    assert d["score"] > DARK_BITS * 10
    assert d["baseline"] < 1
    assert d["place_id"] is None


def test_a_silence_at_the_end_of_the_data_is_reported_once_enough_was_heard(
    ws: Workspace,
) -> None:
    """A heard every hour for ten days and then silent for the last four: one dark
    period lasting to the end of the data. V, heard for two days and then gone (a
    visitor leaving), is not reported."""
    a = hours("A", 10)
    v = hours("V", 2)
    end = [("Z", local(MONDAY, 0) + dt.timedelta(hours=14 * 24 - 1))]
    got = found(ws, [], [*a, *v, *end, *hours("Z", 1)])
    assert [(x["subject"], x["kind"]) for x in got] == [("A", "dark_period")]
    evidence = json.loads(str(got[0]["evidence"]))
    assert evidence["until_end_of_data"] is True
    assert got[0]["finished_at"] == local(MONDAY, 0) + dt.timedelta(days=14)


# -- the truth and the metrics ------------------------------------------------------


def utc(day: int, hour: float) -> dt.datetime:
    return dt.datetime(2026, 3, 2, tzinfo=dt.UTC) + dt.timedelta(days=day, hours=hour)


def anomaly_table(rows: Sequence[tuple[int, str, dt.datetime, dt.datetime]]) -> pa.Table:
    return pa.table(
        {
            "person_id": pa.array([r[0] for r in rows], pa.int64()),
            "kind": [r[1] for r in rows],
            "started_at": pa.array([r[2] for r in rows], pa.timestamp("us", tz="UTC")),
            "finished_at": pa.array([r[3] for r in rows], pa.timestamp("us", tz="UTC")),
        }
    )


def test_metrics_match_by_person_overlap_and_compatible_kind() -> None:
    """Truth: person 1's new place and dark period, person 2's broken day. Found: an
    unusual hour overlapping the new place (compatible: a match), a broken day inside
    the dark period (compatible: a match), a new place on person 2's broken day (not
    compatible), a dark period of person 3 (no truth), and a new place of person 1 that
    ends 30 minutes before the true one starts (within the tolerance: a match)."""
    truth = anomaly_table(
        [
            (1, "new_place", utc(8, 10), utc(8, 11)),
            (1, "dark_period", utc(2, 0), utc(4, 0)),
            (2, "profile_break", utc(5, 0), utc(6, 0)),
        ]
    )
    got = anomaly_metrics(
        anomaly_table(
            [
                (1, "unusual_hour", utc(8, 10.5), utc(8, 11.5)),
                (1, "profile_break", utc(3, 0), utc(4, 0)),
                (2, "new_place", utc(5, 12), utc(5, 13)),
                (3, "dark_period", utc(2, 0), utc(4, 0)),
                (1, "new_place", utc(8, 9), utc(8, 9.5)),
            ]
        ),
        truth,
    )
    assert got["life.anomaly.precision"] == pytest.approx(3 / 5)
    assert got["life.anomaly.recall"] == pytest.approx(2 / 3)
    assert (got["life.anomaly.found"], got["life.anomaly.true"]) == (5, 3)
    assert got["life.anomaly.unusual_hour.precision"] == 1.0
    assert got["life.anomaly.new_place.precision"] == 0.5
    assert got["life.anomaly.profile_break.precision"] == 1.0
    assert got["life.anomaly.dark_period.precision"] == 0.0
    assert got["life.anomaly.new_place.recall"] == 1.0
    assert got["life.anomaly.dark_period.recall"] == 1.0
    assert got["life.anomaly.profile_break.recall"] == 0.0
    assert got["life.anomaly.unusual_hour.recall"] == 1.0  # nothing to find


def test_metrics_tolerance_is_an_hour_each_side() -> None:
    """A found anomaly ending 1 h 59 min before the true one starts still matches (each
    span widened by an hour), one ending 2 h 1 min before does not."""
    assert MATCH_TOLERANCE_S == 3600
    truth = anomaly_table([(7, "dark_period", utc(1, 12), utc(1, 20))])
    near = anomaly_table([(7, "dark_period", utc(1, 6), utc(1, 12 - 119 / 60))])
    far = anomaly_table([(7, "dark_period", utc(1, 6), utc(1, 12 - 121 / 60))])
    assert anomaly_metrics(near, truth)["life.anomaly.recall"] == 1.0
    assert anomaly_metrics(far, truth)["life.anomaly.recall"] == 0.0
    assert anomaly_metrics(anomaly_table([]), truth)["life.anomaly.precision"] == 1.0
    assert all(k in COMPATIBLE[v] for k, vs in COMPATIBLE.items() for v in vs)


def write_truth(folder: Path) -> None:
    """Person 7: the worker's routine for 12 days in district buildings 1 (home) and 2
    (work), a cafe (building 3) on day 9 for 45 minutes, away on days 4-5 (joined from
    two rows) and at home, kept there, on day 10; away on day 0 too (under way when
    the period starts). Person 8: away for a day that starts at the period's start."""
    folder.mkdir(parents=True)
    stays = worker_stays("7", 12)
    cafe_day = MONDAY + dt.timedelta(days=9)
    after = next(s for s in stays if s[3] == HOME and s[1] == local(cafe_day, 18))
    stays = [s for s in stays if s is not after] + [
        ("7", local(cafe_day, 18), local(cafe_day, 18.75), CAFE),
        ("7", local(cafe_day, 19), after[2], HOME),
    ]
    stays.append(("8", local(MONDAY, 0), local(MONDAY, 24), (-1, 0.0, 0.0)))
    pq.write_table(
        pa.table(
            {
                "person_id": pa.array([int(s[0]) for s in stays], pa.int32()),
                "building_id": pa.array([s[3][0] for s in stays], pa.int32()),
                "start": pa.array([s[1] for s in stays], pa.timestamp("ms", tz="UTC")),
                "end": pa.array([s[2] for s in stays], pa.timestamp("ms", tz="UTC")),
                "activity": ["x"] * len(stays),
            }
        ),
        folder / "stays.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "building_id": pa.array([1, 2, 3], pa.int32()),
                "lat": [HOME[1], WORK[1], CAFE[1]],
                "lon": [HOME[2], WORK[2], CAFE[2]],
            }
        ),
        folder / "buildings.parquet",
    )
    d = MONDAY
    absences = [
        (7, local(d, 0), local(d, 24), "away"),
        (7, local(d + dt.timedelta(days=4), 0), local(d + dt.timedelta(days=5), 0), "away"),
        (7, local(d + dt.timedelta(days=5), 0), local(d + dt.timedelta(days=6), 0), "away"),
        (7, local(d + dt.timedelta(days=10), 0), local(d + dt.timedelta(days=11), 0), "ill"),
        (8, local(d, 0), local(d, 24), "away"),
    ]
    pq.write_table(
        pa.table(
            {
                "person_id": pa.array([a[0] for a in absences], pa.int32()),
                "start": pa.array([a[1] for a in absences], pa.timestamp("ms", tz="UTC")),
                "end": pa.array([a[2] for a in absences], pa.timestamp("ms", tz="UTC")),
                "kind": [a[3] for a in absences],
            }
        ),
        folder / "absences.parquet",
    )
    (folder.parent / "manifest.json").write_text(json.dumps({"timezone": "Europe/Berlin"}))


def test_truth_anomalies_from_a_hand_made_truth_folder(tmp_path: Path) -> None:
    """One new place (the cafe, day 9: after the seven-day history), one dark period
    (days 4-5 joined; the absence on day 0 and person 8's are under way at the start),
    one profile break (day 10, local midnight to midnight)."""
    write_truth(tmp_path / "out" / "truth")
    got = anomaly_truth(tmp_path / "out").to_pylist()
    kinds = [(r["person_id"], r["kind"], r["building_id"]) for r in got]
    assert (7, "new_place", 3) in kinds
    assert [k for k in kinds if k[1] != "unusual_hour"] == [
        (7, "dark_period", -1),
        (7, "new_place", 3),
        (7, "profile_break", -1),
    ]
    dark = next(r for r in got if r["kind"] == "dark_period")
    assert (dark["started_at"], dark["finished_at"]) == (
        local(MONDAY + dt.timedelta(days=4), 0),
        local(MONDAY + dt.timedelta(days=6), 0),
    )
    brk = next(r for r in got if r["kind"] == "profile_break")
    assert (brk["started_at"], brk["finished_at"]) == (
        local(MONDAY + dt.timedelta(days=10), 0),
        local(MONDAY + dt.timedelta(days=11), 0),
    )
    new = next(r for r in got if r["kind"] == "new_place")
    assert new["started_at"] == local(MONDAY + dt.timedelta(days=9), 18)


def test_empty_tables_give_empty_results(ws: Workspace) -> None:
    """No stays and no active hours: no anomalies, no routine, no profile."""
    from tessera.life.routine import PROFILE, ROUTINE, routine

    assert found(ws, []) == []
    with ws.engine.transaction():
        assert routine(ws.engine) == {ROUTINE: 0, PROFILE: 0}


def test_anomaly_table_has_the_declared_columns(ws: Workspace) -> None:
    """``life_anomaly`` matches its layout in ``COLUMNS``, even when empty."""
    from tessera.life.tables import COLUMNS

    found(ws, [])
    ddl = COLUMNS[ANOMALY].replace("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE")
    declared = [tuple(c.strip().split(" ", 1)) for c in ddl.split(",")]
    assert ws.engine.columns(ANOMALY) == declared


def test_the_place_model_in_batches_of_subjects_gives_the_same_anomalies(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three workers, one with a night at work and one with a day at home: building the
    place model one subject at a time (batches of one subject's hours) finds exactly the
    anomalies of one pass over everyone."""
    from tessera.life import anomaly

    stays: list[Stay] = []
    for name in ("a", "b", "c"):
        stays.extend((name, s[1], s[2], s[3]) for s in worker_stays("w", 21))
    day = MONDAY + dt.timedelta(days=16)
    night = next(s for s in stays if s[0] == "b" and s[3] == HOME and s[1] < local(day, 3) < s[2])
    stays = [s for s in stays if s is not night] + [
        ("b", night[1], local(day, 2.75), HOME),
        ("b", local(day, 3), local(day, 5), WORK),
        ("b", local(day, 5.25), night[2], HOME),
    ]
    off = MONDAY + dt.timedelta(days=9)
    before = next(s for s in stays if s[0] == "c" and s[3] == HOME and s[2] == local(off, 8))
    after = next(s for s in stays if s[0] == "c" and s[3] == HOME and s[1] == local(off, 18))
    stays = [s for s in stays if s[0] != "c" or s[1] < before[1] or s[1] > after[1]]
    stays.append(("c", before[1], after[2], HOME))
    write_stays(ws, sorted(stays, key=lambda s: (s[0], s[1])))
    write_active(ws, [])

    def run() -> list[tuple[Any, ...]]:
        with ws.engine.transaction():
            anomalies(ws.engine)
        return ws.engine.fetch_rows(
            f"SELECT subject, kind, started_at, finished_at, place_id, score, baseline, "
            f"evidence FROM {ANOMALY} ORDER BY anomaly_id"
        )

    whole = run()
    assert {(r[0], r[1]) for r in whole} >= {("b", "unusual_hour"), ("c", "profile_break")}
    # one subject's 21 days of hours per GiB: three batches in one GiB, two in two
    monkeypatch.setattr(anomaly, "PLACE_MODEL_BATCH_HOURS", 21 * 24)
    seen: list[int] = []
    real = anomaly._place_model_batches
    monkeypatch.setattr(anomaly, "_place_model_batches", lambda e: seen.append(real(e)) or seen[-1])
    engine = ws.engine
    for memory in (2**30, 2 * 2**30, None):
        monkeypatch.setattr(engine, "memory_bytes", lambda m=memory: m)
        assert run() == whole
    # an engine that spills every operator itself (memory_bytes None) makes one pass
    assert seen == [3, 2, 1]
