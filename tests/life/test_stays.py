"""Stays, places, home and work on hand-built observations with known answers, and
their accuracy on a small simulated district."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tessera.errors import WorkspaceError
from tessera.evaluate import life as life_eval
from tessera.evaluate.truth import Truth
from tessera.life import STAYS, tables
from tessera.link.cotravel import DEVICES, device_sql
from tessera.link.keys import device_events_sql
from tessera.workspace import Workspace

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = dt.datetime(2026, 3, 2, tzinfo=BERLIN)  # local midnight, a Monday
DAYS = 7
HOME = (52.500, 13.300)
HOME_2 = (52.500, 13.309)  # another residential building 600 m east
WORK = (52.520, 13.330)  # about 3 km away
MIDWAY = (52.510, 13.315)


def _local(day: int, hour: float) -> dt.datetime:
    return (MONDAY + dt.timedelta(days=day, hours=hour)).astimezone(dt.UTC)


class World:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.n = 0
        e = ws.engine
        e.execute("INSERT OR REPLACE INTO tessera_meta VALUES ('timezone', 'Europe/Berlin')")
        for rid, use, (lat, lon) in (
            ("H", "residential", HOME),
            ("H2", "residential", HOME_2),
            ("W", "office", WORK),
            ("M", "cafe", MIDWAY),
        ):
            e.execute(
                "INSERT INTO reg_address (obs_id, source, record_id, use, lat, lon) "
                "VALUES (?, 'addr', ?, ?, ?, ?)",
                [self._id(), rid, use, lat, lon],
            )
        # SA2 shares SA's site (tower ping-pong between its sectors); SD serves HOME_2
        sites = {"SA": HOME, "SA2": HOME, "SB": WORK, "SC": MIDWAY, "SD": HOME_2}
        for sid, (lat, lon) in sites.items():
            e.execute(
                "INSERT INTO sensor (obs_id, source, sensor_id, kind, lat, lon, range_m) "
                "VALUES (?, 'cells', ?, 'cell_sector', ?, ?, 2000)",
                [self._id(), sid, lat, lon],
            )
        e.execute(
            "CREATE TABLE link_device_person (device VARCHAR, person VARCHAR, "
            "confidence DOUBLE, runner_up DOUBLE, vias VARCHAR[], evidence VARCHAR)"
        )

    def _id(self) -> int:
        self.n += 1
        return self.n

    def owns(self, device: str, person: str) -> None:
        self.ws.engine.execute(
            "INSERT INTO link_device_person (device, person, confidence) VALUES (?, ?, 1)",
            [device, person],
        )

    def event(self, device: str, sector: str, t: dt.datetime) -> None:
        imsi = device.removeprefix("imsi:")
        self.ws.engine.execute(
            "INSERT INTO obs_device_event (obs_id, source, imsi, time, event_type, sensor_id) "
            "VALUES (?, 'op', ?, ?, 'data', ?)",
            [self._id(), imsi, t, sector],
        )

    def fix(self, device: str, lat: float, lon: float, t: dt.datetime) -> None:
        imsi = device.removeprefix("imsi:")
        self.ws.engine.execute(
            "INSERT INTO obs_device_event (obs_id, source, imsi, time, event_type, lat, lon) "
            "VALUES (?, 'gps', ?, ?, 'gps', ?, ?)",
            [self._id(), imsi, t, lat, lon],
        )

    def week(self, device: str, *, silent_saturday: bool = False) -> None:
        """Home at night, work 08:15-17:15 on weekdays; one ping-pong event each night."""
        for day in range(DAYS):
            for hour in (0.5, 2.0, 3.5, 5.0, 6.5):
                self.event(device, "SA", _local(day, hour))
            self.event(device, "SA2", _local(day, 3.6))  # tower ping-pong
            self.event(device, "SA", _local(day, 3.9))
            if day < 5:
                self.event(device, "SC", _local(day, 7.75))
                for hour in (8.25, 9.75, 11.25, 12.75, 14.25, 15.75, 17.25):
                    self.event(device, "SB", _local(day, hour))
                self.event(device, "SC", _local(day, 17.75))
                evening: tuple[float, ...] = (18.0, 19.5, 21.0, 22.5)
            elif day == 5 and silent_saturday:
                evening = (22.5,)  # switched off from 06:30 to 22:30, at home
            else:
                evening = (8.0, 9.5, 11.0, 12.5, 14.0, 15.5, 17.0, 18.5, 20.0, 21.5, 23.0)
            for hour in evening:
                self.event(device, "SA", _local(day, hour))


def _build(ws: Workspace) -> None:
    # the device list the cotravel stage writes, then the stage under test
    ws.engine.materialise(DEVICES, device_sql(f"({device_events_sql()})"))
    STAYS.run(ws.engine)


@pytest.fixture
def world(ws: Workspace) -> World:
    w = World(ws)
    w.owns("imsi:1", "person:a")
    w.owns("imsi:2", "person:a")  # a second phone, on at work only
    w.week("imsi:1", silent_saturday=True)
    for day in range(5):
        for hour in (10.0, 10.5, 11.0):
            w.event("imsi:2", "SB", _local(day, hour))
    w.week("imsi:9")  # nobody's device
    for k in range(4):
        w.fix("imsi:1", WORK[0] + 0.00005 * k, WORK[1], _local(1, 10.0 + k / 10))
    _build(ws)
    return w


def _rows(ws: Workspace, sql: str) -> list[tuple[object, ...]]:
    return ws.engine.fetch_rows(sql)


def test_work_stays_start_and_end_half_way_to_the_neighbouring_events(
    ws: Workspace, world: World
) -> None:
    rows = _rows(
        ws,
        f"SELECT s.started_at, s.finished_at FROM {tables.STAY} s JOIN {tables.HOME_WORK} h "
        "USING (subject, place_id) WHERE s.subject = 'person:a' AND h.role = 'work' "
        "ORDER BY 1",
    )
    assert len(rows) == 5
    for day, (start, end) in enumerate(rows):
        assert isinstance(start, dt.datetime)
        assert isinstance(end, dt.datetime)
        # first event 08:15, last 17:15; the travel events at 07:45 and 17:45
        assert start == _local(day, 8.0)
        assert end == _local(day, 17.5)


def test_ping_pong_and_a_switched_off_night_do_not_split_a_stay(
    ws: Workspace, world: World
) -> None:
    # no stay of anyone starts or ends between 03:00 and 05:00 local
    rows = _rows(
        ws,
        f"SELECT count(*) FROM {tables.STAY} WHERE "
        "hour(timezone('Europe/Berlin', started_at)) IN (3, 4) OR "
        "hour(timezone('Europe/Berlin', finished_at)) IN (3, 4)",
    )
    assert rows == [(0,)]
    # Saturday 06:30 to 22:30 silent (16 h > the 12 h gap limit): the stay ends at 07:00
    # (06:30 plus at most half an hour); the unattributed device's never does
    ends = ws.engine.fetch_rows(
        f"SELECT subject, finished_at FROM {tables.STAY} "
        "WHERE finished_at BETWEEN ? AND ? ORDER BY 1",
        [_local(5, 6.0), _local(5, 8.0)],
    )
    assert ends == [("person:a", _local(5, 7.0))]


def test_home_and_work_are_the_right_buildings(ws: Workspace, world: World) -> None:
    rows = _rows(
        ws,
        f"SELECT subject, subject_kind, role, building, confidence FROM {tables.HOME_WORK} "
        "ORDER BY subject, role",
    )
    assert rows == [
        ("imsi:9", "device", "home", "H", 1.0),
        ("imsi:9", "device", "work", "W", 1.0),
        ("person:a", "person", "home", "H", 1.0),
        ("person:a", "person", "work", "W", 1.0),
    ]
    kinds = _rows(
        ws,
        f"SELECT p.kind FROM {tables.PLACE} p JOIN {tables.HOME_WORK} h "
        "USING (subject, place_id) WHERE h.subject = 'person:a' ORDER BY h.role",
    )
    assert kinds == [("residential",), ("office",)]


def test_fixes_place_work_and_stays_cite_their_observations(ws: Workspace, world: World) -> None:
    [(lat, lon, radius)] = _rows(
        ws,
        f"SELECT p.lat, p.lon, p.radius_m FROM {tables.PLACE} p JOIN {tables.HOME_WORK} h "
        "USING (subject, place_id) WHERE h.subject = 'person:a' AND h.role = 'work'",
    )
    assert isinstance(lat, float)
    assert isinstance(lon, float)
    assert abs(lat - (WORK[0] + 0.000075)) < 1e-9
    assert abs(lon - WORK[1]) < 1e-9
    assert radius == 50.0
    # every observation of a stay lies inside it, and the stay names its sources
    bad = _rows(
        ws,
        f"""SELECT count(*) FROM (SELECT s.stay_id, s.started_at, s.finished_at,
                   unnest(s.obs_ids) AS obs_id FROM {tables.STAY} s) x
            JOIN obs_device_event e USING (obs_id)
            WHERE e.time < x.started_at OR e.time > x.finished_at""",
    )
    assert bad == [(0,)]
    sources = _rows(
        ws,
        f"SELECT DISTINCT sources FROM {tables.STAY} WHERE subject = 'person:a' "
        "AND list_contains(sources, 'gps')",
    )
    assert sources == [(["gps", "op"],)]


def test_active_hours_pool_a_persons_devices(ws: Workspace, world: World) -> None:
    [(events,)] = _rows(
        ws,
        f"SELECT events FROM {tables.ACTIVE_HOUR} WHERE subject = 'person:a' "
        "AND hour = TIMESTAMPTZ '2026-03-02 09:00:00+00'",
    )
    # 10:00 local (09:00 UTC) on Monday: imsi:2 at 10:00 and 10:30 (imsi:1 is silent)
    assert events == 2


def test_a_bad_timezone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="unknown timezone 'Mars/Olympus'"):
        Workspace.init(tmp_path / "w", timezone="Mars/Olympus")


def test_the_first_mapping_zone_becomes_the_workspace_zone(linked: tuple[Path, Path]) -> None:
    _, path = linked
    with Workspace.open(path, read_only=True) as ws:
        rows = ws.engine.fetch_rows("SELECT value FROM tessera_meta WHERE key = 'timezone'")
    assert rows == [("Europe/Berlin",)]


def test_accuracy_on_a_small_simulated_district(
    linked: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, path = linked
    monkeypatch.setattr(life_eval, "MIN_DAYS", 4)  # the fixture covers 5 days
    truth = Truth(out / "truth")
    with Workspace.open(path) as ws:
        home_work = life_eval._home_work(ws, truth)
        stays = life_eval._stay_time(ws, truth)
    assert home_work["life.home.people"] > 400
    assert home_work["life.home.accuracy_300m"] >= 0.9
    assert home_work["life.work.accuracy_300m"] >= 0.85
    assert stays["life.stay_time_agreement"] >= 0.85


def test_one_stray_observation_does_not_end_a_stay_but_two_do() -> None:
    import numpy as np

    from tessera.life import kernels

    # one subject at a spot for an hour, every 10 minutes; one observation 2 km away
    # (a far sector answering) at minute 30, back at minute 40
    t = np.arange(0, 3601, 600, dtype=np.float64)
    lat = np.full(len(t), 52.5)
    lat[3] = 52.518
    lon = np.full(len(t), 13.3)
    subj = np.zeros(len(t), dtype=np.int64)
    unc = np.full(len(t), 50.0)
    args = {"dist_threshold": 100.0, "time_threshold": 600.0, "gap_threshold": 7200.0}
    first, last = kernels.segment(subj, t, lat, lon, unc, patience_s=900.0, **args)
    assert (first.tolist(), last.tolist()) == ([0], [6])
    # without patience the stray one ends the first stay and a second one begins
    first, last = kernels.segment(subj, t, lat, lon, unc, patience_s=0.0, **args)
    assert (first.tolist(), last.tolist()) == ([0, 4], [2, 6])
    # two strays in a row end it (and, ten minutes apart, are a stay of their own)
    lat[4] = 52.518
    first, last = kernels.segment(subj, t, lat, lon, unc, patience_s=900.0, **args)
    assert (first.tolist(), last.tolist()) == ([0, 3, 5], [2, 4, 6])
    # a second subject never continues the first one's stay
    subj[4:] = 1
    lat[3:5] = 52.5
    first, last = kernels.segment(subj, t, lat, lon, unc, patience_s=900.0, **args)
    assert (first.tolist(), last.tolist()) == ([0, 4], [3, 6])


def test_place_sector_support_counts_distinct_buckets() -> None:
    """Subject 0 sees sector 5 at place 0 in buckets 0, 0, 1 and 2 (three distinct
    buckets), sector 5 at place 1 in bucket 0 and sector 7 at place 0 in bucket 1;
    subject 1 sees sector 5 at its place 0 twice in bucket 0 (one bucket)."""
    import numpy as np

    from tessera.life import kernels

    subj = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    bucket = np.array([0, 0, 0, 1, 1, 2, 0, 0])
    place = np.array([0, 0, 1, 0, 0, 0, 0, 0])
    sec = np.array([5, 5, 5, 5, 7, 5, 5, 5])
    out = kernels.support(subj, bucket, place, sec, 8)
    got = list(zip(*(a.tolist() for a in out), strict=True))
    assert got == [(0, 0, 5, 3), (0, 0, 7, 1), (0, 1, 5, 1), (1, 0, 5, 1)]


def test_compiled_order_matches_a_lexicographic_sort() -> None:
    """``kernels.order`` puts rows in (code, t, obs) order as ``ORDER BY`` would: codes
    shuffled, times with repeats (ties broken by obs) and NaN (last within a code),
    codes already in time order left as they are, and codes with no rows."""
    import numpy as np

    from tessera.life import kernels

    rng = np.random.default_rng(3)
    n = 5000
    code = rng.integers(10, 60, n)
    code[code == 33] = 34  # a code without rows
    t = rng.integers(0, 400, n).astype(np.float64)  # many repeated times
    t[rng.random(n) < 0.02] = np.nan
    obs = rng.permutation(n).astype(np.int64)
    # the rows of code 20 arrive in time order already
    mine = np.flatnonzero(code == 20)
    t[mine] = np.arange(len(mine), dtype=np.float64)
    perm = kernels.order(code, t, obs, 10, 59)
    nan_last = np.where(np.isnan(t), np.inf, t)
    want = np.lexsort((obs, nan_last, code))
    assert perm.tolist() == want.tolist()
    # a code range with nothing in it
    assert kernels.order(code[:0], t[:0], obs[:0], 0, 5).tolist() == []


def test_compiled_building_posterior_matches_its_sql(linked: tuple[Path, Path]) -> None:
    """The compiled posterior (``places._posterior``) gives what ``posterior_sql``
    defines for every place of the district: the same mean position and radius, and
    the same most likely building wherever the SQL's choice is not an exact tie."""
    from tessera.life.coverage import COVERAGE
    from tessera.life.places import EPS, EVIDENCE_N, _posterior, posterior_sql

    _, path = linked
    with Workspace.open(path, read_only=True) as ws:
        e = ws.engine
        with e.temp_tables() as temp:
            temp(
                "_life_sector_code",
                "SELECT sensor_id, CAST(row_number() OVER (ORDER BY sensor_id) - 1 AS INTEGER)"
                f" AS sec FROM (SELECT DISTINCT sensor_id FROM {COVERAGE})",
            )
            # the home and work places, each a histogram of the sectors that saw its stays
            temp(
                "_t_hist",
                "SELECT place_id, e.sensor_id, count(*) AS n "
                "FROM (SELECT DISTINCT place_id FROM life_home_work) h "
                "JOIN (SELECT place_id, unnest(obs_ids) AS obs_id FROM life_stay) s "
                "USING (place_id) JOIN obs_device_event e USING (obs_id) "
                "WHERE e.sensor_id IN (SELECT sensor_id FROM _life_sector_code) "
                "GROUP BY ALL",
            )
            temp(
                "_t_hist_sec",
                "SELECT place_id, sec, n FROM _t_hist JOIN _life_sector_code USING (sensor_id)",
            )
            where = _posterior(e, temp)
            for residential in (False, True):
                where("_t_got", "_t_hist_sec", residential)
                want = {r[0]: r[1:] for r in e.fetch_rows(posterior_sql("_t_hist", residential))}
                got = {r[0]: r[1:] for r in e.fetch_rows("SELECT * FROM _t_got")}
                assert len(want) > 300
                assert got.keys() == want.keys()
                # ties: buildings whose score equals the best's
                tied = {
                    r[0]
                    for r in e.fetch_rows(
                        f"""
WITH f AS (SELECT place_id, sensor_id, n / sum(n) OVER (PARTITION BY place_id) AS f
           FROM _t_hist),
sc AS (SELECT f.place_id, c.building,
              {EVIDENCE_N} * sum(f.f * greatest(0, ln(c.p) - ln({EPS}))) AS score
       FROM f JOIN {COVERAGE} c USING (sensor_id)
       JOIN (SELECT record_id AS building, any_value(use) AS use FROM reg_address
             GROUP BY ALL) a USING (building)
       WHERE a.use = 'residential' OR NOT {residential} GROUP BY ALL)
SELECT place_id FROM sc GROUP BY place_id
HAVING count(*) FILTER (WHERE score >= (SELECT max(score) FROM sc s2
                                        WHERE s2.place_id = sc.place_id) - 1e-9) > 1
"""
                    )
                }
                for place, (lat, lon, radius, building, kind) in want.items():
                    g = got[place]
                    assert g[:3] == pytest.approx((lat, lon, radius), rel=1e-9, abs=1e-6)
                    if place not in tied:
                        assert g[3:] == (building, kind), place
