"""Co-travel scoring on hand-built observations with known answers."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from tessera.link import cotravel
from tessera.workspace import Workspace

T0 = dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC)
DAYS = 6
# three cameras, each with an omnidirectional cell sector at the same spot; C3 is
# about 3 km from C1 and C2 (far enough for an alibi)
PLACES = {"C1": (52.500, 13.300), "C2": (52.505, 13.300), "C3": (52.500, 13.345)}


def _sensors(ws: Workspace) -> None:
    for i, (cam, (lat, lon)) in enumerate(PLACES.items(), 1):
        ws.engine.execute(
            "INSERT INTO sensor (obs_id, source, sensor_id, kind, lat, lon) "
            "VALUES (?, 'cams', ?, 'plate_camera', ?, ?)",
            [i, cam, lat, lon],
        )
        ws.engine.execute(
            "INSERT INTO sensor (obs_id, source, sensor_id, kind, lat, lon, range_m, site_id) "
            "VALUES (?, 'cells', ?, 'cell_sector', ?, ?, 300, ?)",
            [100 + i, f"S{cam[1]}", lat, lon, f"SITE{cam[1]}"],
        )


class Feed:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.n = 0

    def read(self, plate: str, camera: str, t: dt.datetime) -> None:
        self.n += 1
        self.ws.engine.execute(
            "INSERT INTO obs_plate_read (obs_id, source, plate, camera_id, time) "
            "VALUES (?, 'anpr', ?, ?, ?)",
            [self.n, plate, camera, t],
        )

    def event(self, imsi: str, sector: str, t: dt.datetime, imei: str | None = None) -> None:
        self.n += 1
        self.ws.engine.execute(
            "INSERT INTO obs_device_event (obs_id, source, imsi, imei, time, event_type, "
            "sensor_id) VALUES (?, 'op', ?, ?, ?, 'data', ?)",
            [self.n, imsi, imei, t, sector],
        )

    def fix(self, imei: str, t: dt.datetime) -> None:
        """A handset GPS fix: an IMEI and a position, no SIM and no sector."""
        self.n += 1
        self.ws.engine.execute(
            "INSERT INTO obs_device_event (obs_id, source, imei, time, event_type, lat, lon) "
            "VALUES (?, 'gps', ?, ?, 'gps', 52.5, 13.3)",
            [self.n, imei, t],
        )


@pytest.fixture
def scored(ws: Workspace) -> Workspace:
    _sensors(ws)
    f = Feed(ws)
    for day in range(DAYS):
        morning = T0 + dt.timedelta(days=day, hours=1)
        # car AAA drives past C1 then C2 every morning
        f.read("AAA111", "C1", morning)
        f.read("AAA111", "C2", morning + dt.timedelta(minutes=10))
        # phone X rides in it
        f.event("262010000000001", "S1", morning + dt.timedelta(seconds=30))
        f.event("262010000000001", "S2", morning + dt.timedelta(minutes=10, seconds=20))
        # phone W rides in it on the first two days, and is across town on the others
        sector = "S1" if day < 2 else "S3"
        f.event("262010000000003", sector, morning + dt.timedelta(seconds=40))
        sector = "S2" if day < 2 else "S3"
        f.event("262010000000003", sector, morning + dt.timedelta(minutes=10, seconds=40))
        # car CCC follows AAA, half a minute behind, on the first four days (a convoy)
        if day < 4:
            f.read("CCC333", "C1", morning + dt.timedelta(seconds=30))
            f.read("CCC333", "C2", morning + dt.timedelta(minutes=10, seconds=30))
        # car BBB takes phone R from beside C1 (where R lives) to C3, later each morning
        later = morning + dt.timedelta(hours=2)
        f.read("BBB222", "C1", later)
        f.read("BBB222", "C3", later + dt.timedelta(minutes=10))
        f.event("262010000000002", "S3", later + dt.timedelta(minutes=10, seconds=20))
        # phone R lives beside camera C1 and talks every ten minutes, all day
        for k in range(144):
            f.event("262010000000002", "S1", T0 + dt.timedelta(days=day, minutes=10 * k - 420))
    with ws.engine.transaction():
        cotravel.run(ws.engine)
    return ws


def _pair(ws: Workspace, a: str, b: str) -> dict[str, object] | None:
    table = ws.engine.fetch_arrow(
        "SELECT * FROM cotravel_pair WHERE kind = 'vehicle_device' AND a = ? AND b = ?", [a, b]
    )
    rows = table.to_pylist()
    return rows[0] if rows else None


def test_a_phone_riding_in_a_car_is_a_surprising_pair(scored: Workspace) -> None:
    pair = _pair(scored, "AAA111", "imsi:262010000000001")
    assert pair is not None
    assert pair["units"] == 2 * DAYS
    assert pair["places"] == 2
    assert pair["days"] == DAYS
    assert pair["expected"] < 0.5
    assert pair["bits"] > 50
    assert pair["together"] == 2 * DAYS
    assert pair["apart"] == 0
    assert pair["together_share"] == 1.0


def test_a_phone_that_is_always_there_is_expected_by_chance(scored: Workspace) -> None:
    # R coincides with every pass at C1, but it is at C1 all day: not kept
    [(units,)] = scored.engine.fetch_rows(
        "SELECT count(*) FROM cotravel_evidence WHERE a = 'AAA111' AND b = 'imsi:262010000000002'"
    )
    assert units == 0
    assert _pair(scored, "AAA111", "imsi:262010000000002") is None


def test_a_phone_counts_only_where_it_is_rare(scored: Workspace) -> None:
    """R rides in BBB from C1 to C3 every morning. At C1, where R lives (presence about
    0.3, above PRESENCE_CAP), the coincidences say nothing and are not counted; at C3,
    where R is otherwise never seen, they are: 6 units at one place, expected about
    6 x 2 x 6 / (6 days of 90 s buckets) = 0.0125, about 45 bits."""
    pair = _pair(scored, "BBB222", "imsi:262010000000002")
    assert pair is not None
    assert pair["units"] == DAYS
    assert pair["places"] == 1
    assert pair["days"] == DAYS
    assert pair["expected"] < 0.02
    assert pair["bits"] > 40
    places = scored.engine.fetch_rows(
        "SELECT DISTINCT place FROM cotravel_evidence WHERE kind = 'vehicle_device' "
        "AND a = 'BBB222' AND b = 'imsi:262010000000002'"
    )
    assert places == [("C3",)]


def _kind_pair(ws: Workspace, kind: str, a: str, b: str) -> dict[str, object] | None:
    rows = ws.engine.fetch_arrow(
        "SELECT * FROM cotravel_pair WHERE kind = ? AND a = ? AND b = ?", [kind, a, b]
    ).to_pylist()
    return rows[0] if rows else None


def test_a_convoy_is_a_vehicle_pair(scored: Workspace) -> None:
    """CCC follows AAA past C1 and C2 on four days: 8 units at 2 places, together at
    every one of them."""
    pair = _kind_pair(scored, "vehicle_vehicle", "AAA111", "CCC333")
    assert pair is not None
    assert (pair["units"], pair["places"], pair["days"]) == (8, 2, 4)
    assert pair["bits"] > 40
    assert (pair["together"], pair["apart"]) == (8, 0)


def test_two_phones_in_the_same_cells_are_a_device_pair(scored: Workspace) -> None:
    """X and W share the quarter hour in S1 and in S2 on the first two days (4 units at
    2 sites); on the other four days W is at S3, 3 km away, while X passes both sites
    (8 units apart)."""
    pair = _kind_pair(scored, "device_device", "imsi:262010000000001", "imsi:262010000000003")
    assert pair is not None
    assert (pair["units"], pair["places"], pair["days"]) == (4, 2, 2)
    assert pair["bits"] > 10
    assert (pair["together"], pair["apart"]) == (4, 8)
    # R is at S1 in every quarter hour: X meeting it there is expected
    assert (
        _kind_pair(scored, "device_device", "imsi:262010000000001", "imsi:262010000000002") is None
    )


def test_devices_from_grouped_identities_match_every_event(ws: Workspace) -> None:
    """``link_device`` is made from identities grouped per (IMSI, IMEI, MSISDN, source);
    it equals the per-event definition (``device_sql`` over every keyed event),
    including a GPS fix put on the SIM its handset was seen with, and one from a
    handset never seen with a SIM."""
    _sensors(ws)
    f = Feed(ws)
    for k in range(3):
        f.event("262010000000001", "S1", T0 + dt.timedelta(hours=k), imei="356938035643809")
    f.fix("356938035643809", T0 + dt.timedelta(minutes=90))
    f.fix("490154203237518", T0 + dt.timedelta(minutes=95))
    with ws.engine.transaction():
        cotravel.run(ws.engine)
    got = ws.engine.fetch_rows("SELECT * FROM link_device ORDER BY device")
    want = ws.engine.fetch_rows(
        f"SELECT * FROM ({cotravel.device_sql(f'({cotravel.device_events_sql()})')}) "
        "ORDER BY device"
    )
    assert got == want
    assert [(r[0], r[5]) for r in got] == [("imei:490154203237518", 1), ("imsi:262010000000001", 4)]


def test_alibis_are_counted(scored: Workspace) -> None:
    pair = _pair(scored, "AAA111", "imsi:262010000000003")
    assert pair is not None
    assert pair["units"] == 4
    assert pair["together"] == 4
    assert pair["apart"] == 2 * (DAYS - 2)
    assert pair["together_share"] == pytest.approx(4 / DAYS / 2)


def test_evidence_cites_both_observations(scored: Workspace) -> None:
    rows = scored.engine.fetch_rows(
        "SELECT e.place, r.camera_id, d.sensor_id, abs(epoch(e.t_a) - epoch(e.t_b)) "
        "FROM cotravel_evidence e JOIN obs_plate_read r ON r.obs_id = e.obs_a "
        "JOIN obs_device_event d ON d.obs_id = e.obs_b "
        "WHERE e.kind = 'vehicle_device' AND e.a = 'AAA111' AND e.b = 'imsi:262010000000001'"
    )
    assert len(rows) == 2 * DAYS
    for place, camera, sector, gap in rows:
        assert place == camera
        assert sector == "S" + camera[1]
        assert gap <= cotravel.WINDOWS["vehicle_device"]


def test_coverage_and_devices(scored: Workspace) -> None:
    cover = set(scored.engine.fetch_rows("SELECT camera_id, sensor_id FROM link_coverage"))
    assert ("C1", "S1") in cover
    assert ("C3", "S3") in cover
    assert ("C1", "S3") not in cover  # 3 km away, beyond 1.5 x range
    devices = {r[0] for r in scored.engine.fetch_rows("SELECT device FROM link_device")}
    assert devices == {f"imsi:26201000000000{i}" for i in (1, 2, 3)}


def _tables(ws: Workspace) -> list[list[tuple[object, ...]]]:
    return [
        ws.engine.fetch_rows(f"SELECT * FROM {t} ORDER BY ALL")
        for t in ("cotravel_pair", "cotravel_evidence")
    ]


def test_units_in_batches_of_a_give_the_same_pairs_and_evidence(
    scored: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every pair of an a is decided by a's units alone: made in batches of a's (entity
    id modulo the batch count), the units give exactly the pairs and evidence of one
    pass, for every kind."""
    whole = _tables(scored)
    assert {r[0] for r in whole[0]} == {"vehicle_device", "vehicle_vehicle", "device_device"}
    for n in (2, 3, 7):
        monkeypatch.setattr(cotravel, "unit_batches", lambda engine, s, n=n: n)
        with scored.engine.transaction():
            cotravel.run(scored.engine)
        assert _tables(scored) == whole, n


def test_unit_batches_follow_a_s_rows_the_memory_and_the_disk(
    scored: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch count is a's rows times the kind's units per row, at UNIT_BYTES each,
    over the engine's memory (at least a GiB) and SPILL_SHARE of the free space it
    spills to; one pass, with no count, where the engine spills every operator itself
    (memory_bytes None)."""
    engine = scored.engine
    gib = 2**30
    with engine.transaction(), engine.temp_tables() as temp:
        cotravel.prepare(temp, None)
        s = cotravel.sides(temp, "vehicle_device")
        [(left,)] = engine.fetch_rows(f"SELECT count(*) FROM {s.left}")
        assert left > 0
        # one GiB's worth of units: a GiB of memory and no disk, or half a GiB and two
        # of free disk (half of it counted), are one batch each
        units = gib // cotravel.UNIT_BYTES
        monkeypatch.setattr(cotravel, "UNIT_FANOUT", {"vehicle_device": units // left})
        seen = []
        for memory, disk in ((gib, 0), (gib // 2, 0), (gib, 2 * gib), (None, 0), (gib, None)):
            monkeypatch.setattr(engine, "memory_bytes", lambda m=memory: m)
            monkeypatch.setattr(engine, "spill_free_bytes", lambda d=disk: d)
            seen.append(cotravel.unit_batches(engine, s))
        monkeypatch.setattr(cotravel, "UNIT_FANOUT", {"vehicle_device": 3 * units // left})
        for memory, disk in ((gib, 0), (gib, 2 * gib), (gib, 4 * gib)):
            monkeypatch.setattr(engine, "memory_bytes", lambda m=memory: m)
            monkeypatch.setattr(engine, "spill_free_bytes", lambda d=disk: d)
            seen.append(cotravel.unit_batches(engine, s))
    assert seen == [1, 1, 1, 1, 1, 3, 2, 1]


def test_duckdb_reports_the_free_space_it_spills_to(ws: Workspace) -> None:
    """The workspace spills into its own folder (which may not exist before DuckDB first
    spills): the free space is that of the disk the workspace is on."""
    [(folder,)] = ws.engine.fetch_rows("SELECT current_setting('temp_directory')")
    assert str(folder).startswith(str(ws.path))
    free = ws.engine.spill_free_bytes()
    assert free is not None
    assert abs(free - shutil.disk_usage(ws.path).free) < 2**30


def test_the_unit_fanout_bounds_the_units_on_a_simulated_district(
    linked: tuple[Path, Path],
) -> None:
    """The batch count's estimate (a's rows times UNIT_FANOUT) is at least the units
    each kind really makes, on the simulated 600-person workspace (rolled back); the
    join they come from (join_rows_sql) holds at least as many rows."""
    _, path = linked
    with Workspace.open(path) as ws, ws.engine.transaction(), ws.engine.temp_tables() as temp:
        cotravel.prepare(temp, "link_plate_read")
        for kind in cotravel.WINDOWS:
            with ws.engine.temp_tables() as sides:
                s = cotravel.sides(sides, kind)
                [(left,)] = ws.engine.fetch_rows(f"SELECT count(*) FROM {s.left}")
                [(units,)] = ws.engine.fetch_rows(f"SELECT count(*) FROM ({cotravel.units_sql(s)})")
                [(rows,)] = ws.engine.fetch_rows(cotravel.join_rows_sql(s))
                assert 0 < units <= left * cotravel.UNIT_FANOUT[kind], kind
                assert units <= rows, kind


def test_inputs_are_not_changed(ws: Workspace) -> None:
    _sensors(ws)
    f = Feed(ws)
    f.read("AAA111", "C1", T0)
    f.event("262010000000001", "S1", T0)
    before = ws.engine.fetch_rows("SELECT * FROM obs_device_event ORDER BY obs_id")
    with ws.engine.transaction():
        counts = cotravel.run(ws.engine)
    assert ws.engine.fetch_rows("SELECT * FROM obs_device_event ORDER BY obs_id") == before
    assert counts["cotravel_pair"] == 0  # one coincidence is not a pair


def test_empty_inputs_give_empty_tables(ws: Workspace) -> None:
    with ws.engine.transaction():
        counts = cotravel.run(ws.engine)
    assert counts == {
        "link_device": 0,
        "link_coverage": 0,
        "cotravel_pair": 0,
        "cotravel_evidence": 0,
    }


def test_observation_ids_past_the_packed_keys_are_refused(ws: Workspace) -> None:
    from tessera.errors import StageError

    _sensors(ws)
    f = Feed(ws)
    f.read("AAA111", "C1", T0)
    f.event("262010000000001", "S1", T0)
    with ws.engine.transaction():
        cotravel.run(ws.engine)  # small ids: fine
    ws.engine.execute("UPDATE obs_plate_read SET obs_id = 10000000000000000")
    too_large = "observation id 10000000000000000 is too large"
    with pytest.raises(StageError, match=too_large), ws.engine.transaction():
        cotravel.run(ws.engine)


def test_unknown_kind_is_refused(ws: Workspace) -> None:
    with pytest.raises(ValueError, match="unknown co-travel kind"):
        cotravel.sides(ws.engine.temp_table, "boat_boat")


def test_observations_at_one_millisecond_are_chosen_by_obs_id() -> None:
    """Two events of a device at one millisecond: every engine must cite the same one
    (the smaller obs id), or builds differ (the Spark parity test on `small` found it)."""
    from tessera.engines import open_engine

    engine = open_engine("duckdb")
    engine.execute(
        "CREATE TABLE o AS SELECT * FROM (VALUES (1, 7, 1000, 19), (1, 7, 1000, 12), "
        "(1, 7, 1500, 3), (1, 8, 2000, 40), (1, 8, 2000, 41)) v(e, key, t, obs_id)"
    )
    got = engine.fetch_rows(
        f"SELECT key, t, obs_id FROM ({cotravel._first_per_bucket('o', 90)}) ORDER BY key"
    )
    assert got == [(7, 1000, 12), (8, 2000, 40)]


def test_units_cite_the_nearest_observation_and_break_ties_by_obs_id() -> None:
    """The packed keys of ``units_sql`` read back by ``evidence_sql``: a's first
    observation (of two at one millisecond, the smaller obs id) and b's nearest (of two
    at equal gaps, one before and one after, the earlier; of two at one millisecond, the
    smaller obs id), with b's time."""
    from tessera.engines import open_engine

    engine = open_engine("duckdb")
    day = 20_000 * cotravel.DAY_MS
    engine.execute(
        "CREATE TABLE l AS SELECT * FROM (VALUES "
        f"(1, 7, 7, {day} + 10000, 9002), (1, 7, 7, {day} + 10000, 9001), "
        f"(1, 7, 7, {day} + 50000, 9003)) v(e, k, label, t, obs_id)"
    )
    engine.execute(
        "CREATE TABLE r AS SELECT * FROM (VALUES "
        f"(2, 7, {day} + 40000, 61), (2, 7, {day} + 60000, 52), (2, 7, {day} + 5000, 70)) "
        "v(e, k, t, obs_id)"
    )
    s = cotravel.Sides("vehicle_device", "l", "r", "r", "k", 90, False)
    got = engine.fetch_rows(
        f"SELECT a, b, label, day, t_a, obs_a, t_b, obs_b FROM "
        f"({cotravel.evidence_sql(f'({cotravel.units_sql(s)})', 90)})"
    )
    # gaps: 5000 ms to obs 70; 10000 ms to obs 61 and to obs 52 (a tie)
    assert got == [(1, 2, 7, 20_000, day + 10000, 9001, day + 5000, 70)]
    engine.execute("DELETE FROM r WHERE obs_id = 70")
    got = engine.fetch_rows(
        f"SELECT t_b, obs_b FROM ({cotravel.evidence_sql(f'({cotravel.units_sql(s)})', 90)})"
    )
    # obs 61 (10 s before a's observation) is as near as obs 52 (10 s after): the earlier
    assert got == [(day + 40000, 61)]
    engine.execute(f"INSERT INTO r VALUES (2, 7, {day} + 40000, 58)")
    got = engine.fetch_rows(
        f"SELECT t_b, obs_b FROM ({cotravel.evidence_sql(f'({cotravel.units_sql(s)})', 90)})"
    )
    assert got == [(day + 40000, 58)]


def test_places_near_a_label_are_found_across_latitude_bands() -> None:
    """``near_sql``: the label's own keys (together) and every place within ALIBI_M,
    also where the two lie in neighbouring bands of latitude; not one farther away."""
    from tessera.engines import open_engine

    engine = open_engine("duckdb")
    m = 1 / 111_195.0  # degrees of latitude per metre on haversine_sql's sphere
    band = cotravel.ALIBI_M / 111_000.0
    lat = 40 * band - 10 * m  # 10 m below a band's edge
    engine.execute(
        "CREATE TABLE _link_place AS SELECT * FROM (VALUES "
        f"(1, {lat}, 13.0), (2, {lat}, 13.0), (3, {lat + 2450 * m}, 13.0), "
        f"(4, {lat + 2550 * m}, 13.0), (5, {lat - 2450 * m}, 13.0)) v(place, lat, lon)"
    )
    engine.execute("CREATE TABLE keys AS SELECT 1 AS label, 2 AS key")
    got = engine.fetch_rows(
        f"SELECT label, key, together FROM ({cotravel.near_sql('keys')}) ORDER BY key"
    )
    assert got == [(1, 1, False), (1, 2, True), (1, 3, False), (1, 5, False)]


def test_alibi_buckets_must_span_a_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cotravel, "ALIBI_BUCKETS", 1)
    s = cotravel.Sides("vehicle_device", "l", "r", "r", "k", 90, False)
    with pytest.raises(ValueError, match="ALIBI_BUCKETS must be at least 2"):
        cotravel.alibi_sql(s, "kept", "near")


def test_alibis_are_counted_for_pairs_strong_on_both_sides() -> None:
    """``alibi_pairs_sql``: a pair among the five strongest of a or of b, and with at
    least ALIBI_REL of the strongest surprise of a and of b."""
    from tessera.engines import open_engine

    engine = open_engine("duckdb")
    rows = [
        (1, 10, 100.0),  # a 1's strongest; b 10's strongest
        (1, 11, 31.0),  # 0.31 of a 1's strongest, b 11's only pair: counted
        (1, 12, 29.0),  # 0.29 of a 1's strongest: not counted
        (2, 10, 40.0),  # a 2's strongest, but 0.4 of b 10's strongest: counted
        (3, 10, 20.0),  # a 3's strongest, 0.2 of b 10's strongest: not counted
    ]
    # b 20 has seven pairs of equal surprise, a 4..10's only pairs: the five first by
    # name are in b's top five, the rest in their own a's top five, so all count
    rows += [(a, 20, 50.0) for a in range(4, 11)]
    values = ", ".join(f"({a}, {b}, {bits})" for a, b, bits in rows)
    engine.execute(f"CREATE TABLE kept AS SELECT * FROM (VALUES {values}) v(a, b, bits)")
    got = engine.fetch_rows(f"SELECT a, b FROM ({cotravel.alibi_pairs_sql('kept')}) ORDER BY a, b")
    assert got == [(1, 10), (1, 11), (2, 10)] + [(a, 20) for a in range(4, 11)]
    # a 11 with six pairs of equal surprise: the sixth by name is in neither top five
    # (b 35 has five stronger pairs), so it is left out however strong it is
    engine.execute("DELETE FROM kept")
    strong = [(a, 35, 60.0) for a in range(12, 17)]
    mine = [(11, b, 50.0) for b in range(30, 36)]
    values = ", ".join(f"({a}, {b}, {bits})" for a, b, bits in strong + mine)
    engine.execute(f"INSERT INTO kept SELECT * FROM (VALUES {values}) v(a, b, bits)")
    got = engine.fetch_rows(f"SELECT a, b FROM ({cotravel.alibi_pairs_sql('kept')}) ORDER BY a, b")
    assert got == [(11, b) for b in range(30, 35)] + [(a, 35) for a in range(12, 17)]


def test_device_alibis_look_at_the_same_quarter_hour() -> None:
    """Device-device alibis, like their units, compare one quarter hour with the same
    quarter hour; vehicle-device alibis look at b's observations within the window."""
    from tessera.engines import open_engine

    engine = open_engine("duckdb")
    q = 900_000
    day = 20_000 * cotravel.DAY_MS
    # place 1 is a's; place 2 within ALIBI_M (ambiguous); place 3 far away
    engine.execute(
        "CREATE TABLE near AS SELECT * FROM (VALUES (1, 1, true), (1, 2, false)) "
        "v(label, key, together)"
    )
    engine.execute("CREATE TABLE kept AS SELECT 1 AS a, 2 AS b")
    # a at place 1 in quarter hours 4 (day 0) and 4 (day 1); b: day 0 at place 1 in
    # the same quarter hour; day 1 far away in the next quarter hour, 5 minutes later
    engine.execute(
        "CREATE TABLE l AS SELECT * FROM (VALUES "
        f"(1, 1, 1, {day} + 4 * {q} + 600000, 1), "
        f"(1, 1, 1, {day} + {cotravel.DAY_MS} + 4 * {q} + 600000, 2)) v(e, k, label, t, obs_id)"
    )
    engine.execute(
        "CREATE TABLE o AS SELECT * FROM (VALUES "
        f"(2, 1, {day} + 4 * {q} + 700000, 3), "
        f"(2, 3, {day} + {cotravel.DAY_MS} + 5 * {q} + 100000, 4)) v(e, key, t, obs_id)"
    )
    dd = cotravel.Sides("device_device", "l", "o", "o", "k", 900, True, shifts=(0,))
    got = engine.fetch_rows(
        f"SELECT a, b, together, apart FROM ({cotravel.alibi_sql(dd, 'kept', 'near')})"
    )
    assert got == [(1, 2, 1, 0)]
    # within the window either side, the next quarter hour's far observation is apart
    wide = cotravel.Sides("device_device", "l", "o", "o", "k", 900, True)
    got = engine.fetch_rows(
        f"SELECT a, b, together, apart FROM ({cotravel.alibi_sql(wide, 'kept', 'near')})"
    )
    assert got == [(1, 2, 1, 1)]
    # in the same quarter hour far away, it is apart for device-device too
    engine.execute(
        f"UPDATE o SET t = {day} + {cotravel.DAY_MS} + 4 * {q} + 800000 WHERE obs_id = 4"
    )
    got = engine.fetch_rows(
        f"SELECT a, b, together, apart FROM ({cotravel.alibi_sql(dd, 'kept', 'near')})"
    )
    assert got == [(1, 2, 1, 1)]


def test_every_pair_attribution_weighs_can_have_alibis() -> None:
    """Attribution keeps a vehicle-device pair only when it is not more often apart than
    together; a pair without counted alibis (0 and 0) would pass unexamined. Co-travel
    counts alibis down to ALIBI_REL of each side's strongest, so no pair attribution
    can read (REL_VEHICLE of the vehicle's strongest, REL_DEVICE of the device's) is
    left out by that rule."""
    from tessera.link import attribute

    assert cotravel.ALIBI_REL <= attribute.REL_VEHICLE
    assert cotravel.ALIBI_REL <= attribute.REL_DEVICE
