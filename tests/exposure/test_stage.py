"""The exposure stage on a hand-made district whose answers are known, and on the
simulated one (the ``linked`` fixture).

The hand-made district: sector sites 1-9, camera CAM1, hour ``h`` = 2026-01-05 00:00
UTC plus ``h`` hours. Points x1 = (site 1, h0) and x2 = (site 2, h1) are shared by
everyone; each person adds what a countermeasure takes away:

- person:1 - phone A (0.9) at x1, x2; second phone S (0.5) alone at (site 5, h2).
  Without the second phone the trace is {x1, x2}, which person:2 also has.
- person:2 - phone B (0.85) at x1, x2 only: never singled out, no countermeasure.
- person:3 - phone D (0.6) at x1, x2; car CAR1 (keeper, 0.8) read once at (CAM1, h3).
- person:4 - phone E (0.97) at x1, x2, and outside any stay at site 7 at 08:00 on
  days 1, 2 and 3: varied routes keep day 1 only.
- person:5 - phone F (0.9) at x1 (in a stay at home) and x2, and at site 9 at h5, h6
  in a stay at a cafe: fewer regular places leaves {x1, x2}.
- unattributed: device C at x1 only; vehicle CAR2 at (CAM1, h4).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tessera.engines.base import Engine
from tessera.exposure import STAGE, most_exposed, population_summary, tables
from tessera.exposure.assess import assess, exposure_score, predictability_of
from tessera.life import tables as life
from tessera.network import tables as net
from tessera.workspace import Workspace

T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
DRAWS = 2000  # the hand-made traces are tiny: many draws make the estimates exact enough

LINK_DDL = {
    "link_device": (
        "device VARCHAR, imsi VARCHAR, msisdn VARCHAR, imeis VARCHAR[], sources VARCHAR[], "
        "events BIGINT, first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ"
    ),
    "link_device_person": (
        "device VARCHAR, person VARCHAR, confidence DOUBLE, runner_up DOUBLE, vias VARCHAR[], "
        "evidence VARCHAR"
    ),
    "link_device_evidence": (
        "device VARCHAR, person VARCHAR, via VARCHAR, confidence DOUBLE, detail VARCHAR"
    ),
    "link_vehicle": (
        "vehicle VARCHAR, plate_kind VARCHAR, shared BOOLEAN, devices BIGINT, "
        "primary_device VARCHAR, keeper VARCHAR, keeper_via VARCHAR"
    ),
    "link_vehicle_device": (
        "vehicle VARCHAR, device VARCHAR, bits DOUBLE, units BIGINT, places BIGINT, days BIGINT, "
        "together BIGINT, apart BIGINT, rel_vehicle DOUBLE, rel_device DOUBLE, "
        "is_primary BOOLEAN, confidence DOUBLE"
    ),
    "link_vehicle_person": (
        "vehicle VARCHAR, person VARCHAR, role VARCHAR, confidence DOUBLE, evidence VARCHAR"
    ),
    "link_plate_read": (
        "obs_id BIGINT, read_plate VARCHAR, plate VARCHAR, corrected BOOLEAN, confidence DOUBLE, "
        "n_candidates INTEGER, evidence VARCHAR"
    ),
    "link_second_phone": (
        '"primary" VARCHAR, second VARCHAR, score DOUBLE, confidence DOUBLE, together INTEGER, '
        "apart INTEGER, shared_contacts INTEGER, second_contacts INTEGER, active_share DOUBLE, "
        "evidence VARCHAR"
    ),
    "link_device_swap": (
        "old VARCHAR, new VARCHAR, kind VARCHAR, time TIMESTAMPTZ, score DOUBLE, "
        "confidence DOUBLE, evidence VARCHAR"
    ),
    "resolution_record": (
        "kind VARCHAR, obs_id BIGINT, source VARCHAR, record_id VARCHAR, entity_id VARCHAR, "
        "model_id VARCHAR"
    ),
}

# device key -> (number, person or None, confidence, vias)
DEVICES: dict[str, tuple[str, str | None, float, list[str]]] = {
    "A": ("+4901", "person:1", 0.9, ["subscriber_id"]),
    "S": ("+4902", "person:1", 0.5, ["second_phone"]),
    "B": ("+4903", "person:2", 0.85, ["subscriber_name"]),
    "D": ("+4904", "person:3", 0.6, ["subscriber_name"]),
    "E": ("+4905", "person:4", 0.97, ["subscriber_id"]),
    "F": ("+4906", "person:5", 0.9, ["subscriber_id"]),
    "C": ("+4907", None, 0.0, []),
}
SHARED = [(1, 0), (2, 1)]  # (site, hour): x1, x2
# device key -> [(site, hour)]
EVENTS: dict[str, list[tuple[int, int]]] = {
    "A": SHARED,
    "S": [(5, 2)],
    "B": SHARED,
    "D": SHARED,
    "E": [*SHARED, (7, 24 + 8), (7, 48 + 8), (7, 72 + 8)],
    "F": [*SHARED, (9, 5), (9, 6)],
    "C": [(1, 0)],
}


def _t(hour: int, minute: int = 10) -> str:
    return f"TIMESTAMPTZ '{(T0 + dt.timedelta(hours=hour, minutes=minute)).isoformat()}'"


def build(ws: Workspace) -> Engine:
    e = ws.engine
    for name, ddl in {**LINK_DDL, **{k: life.COLUMNS[k] for k in
                      (life.STAY, life.HOME_WORK, life.PROFILE)},
                      net.CONTACT: net.COLUMNS[net.CONTACT]}.items():  # fmt: skip
        e.execute(f"CREATE TABLE {name} ({ddl})")
    for k in range(1, 10):
        e.execute(
            "INSERT INTO sensor (obs_id, source, sensor_id, kind, lat, lon, site_id) VALUES "
            f"({k}, 'cells', 'S{k}a', 'cell_sector', 52.5, {13.0 + k / 100}, 'SITE{k}')"
        )
    e.execute(
        "INSERT INTO sensor (obs_id, source, sensor_id, kind, lat, lon) VALUES "
        "(99, 'anpr', 'CAM1', 'plate_camera', 52.6, 13.5)"
    )
    obs = 1000
    obs_of: dict[tuple[str, int, int], int] = {}
    for dev, points in EVENTS.items():
        for site, hour in points:
            obs += 1
            obs_of[(dev, site, hour)] = obs
            e.execute(
                "INSERT INTO obs_device_event (obs_id, source, msisdn, imsi, time, event_type, "
                f"sensor_id) VALUES ({obs}, 'op', '{DEVICES[dev][0]}', '{dev}', {_t(hour)}, "
                f"'data', 'S{site}a')"
            )
    for dev, (number, person, conf, vias) in DEVICES.items():
        e.execute(
            f"INSERT INTO link_device VALUES ('imsi:{dev}', '{dev}', '{number}', [], ['op'], "
            f"{len(EVENTS[dev])}, {_t(0)}, {_t(80)})"
        )
        if person:
            e.execute(
                f"INSERT INTO link_device_person VALUES ('imsi:{dev}', '{person}', {conf}, 0.0, "
                f"{vias}, 'test evidence')"
            )
            for via in vias:
                e.execute(
                    f"INSERT INTO link_device_evidence VALUES ('imsi:{dev}', '{person}', "
                    f"'{via}', {conf}, 'test evidence')"
                )
    e.execute(
        "INSERT INTO link_second_phone VALUES ('imsi:A', 'imsi:S', 5.0, 0.9, 3, 0, 0, 0, 0.2, "
        "'together')"
    )
    for obs_id, plate, hour in ((2001, "CAR1", 3), (2002, "CAR2", 4)):
        e.execute(
            "INSERT INTO obs_plate_read (obs_id, source, camera_id, plate, time) VALUES "
            f"({obs_id}, 'anpr', 'CAM1', '{plate}', {_t(hour)})"
        )
        e.execute(
            f"INSERT INTO link_plate_read VALUES ({obs_id}, '{plate}', '{plate}', false, 0.99, "
            "0, 'read')"
        )
    e.execute("INSERT INTO link_vehicle VALUES ('CAR1', 'private', false, 0, NULL, "
              "'person:3', 'keeper_id')")  # fmt: skip
    e.execute("INSERT INTO link_vehicle_person VALUES ('CAR1', 'person:3', 'keeper', 0.8, "
              "'registered keeper')")  # fmt: skip
    # person 5's stays: home at x1, a cafe at site 9
    home = obs_of[("F", 1, 0)]
    cafe = [obs_of[("F", 9, 5)], obs_of[("F", 9, 6)]]
    e.execute(
        f"INSERT INTO life_stay VALUES ('person:5', 'person', 1, {_t(0, 0)}, {_t(0, 50)}, 52.5, "
        f"13.01, 100, 501, 1, ['op'], [{home}]), ('person:5', 'person', 2, {_t(5, 0)}, "
        f"{_t(6, 50)}, 52.5, 13.09, 100, 502, 2, ['op'], {cafe})"
    )
    e.execute(
        "INSERT INTO life_home_work VALUES ('person:5', 'person', 'home', 501, 52.5, 13.01, "
        "'b1', 0.9, 1, 'nights')"
    )
    e.execute(
        "INSERT INTO life_profile VALUES ('person:1', 'person', 1, 2, 100.0, 0.9, 1.0, 1.0, "
        "0.5, 0.8)"
    )
    # registries: person 1 and 2 work for Org X; person 1 is listed by name by device C
    for k, (person, name) in enumerate((("person:1", "anna alpha"), ("person:2", "bert beta"))):
        e.execute(
            "INSERT INTO reg_person (obs_id, source, record_id, full_name, full_name_latin, "
            f"organisation) VALUES ({3000 + k}, 'staff', 'R{k}', '{name.title()}', '{name}', "
            "'Org X')"
        )
        e.execute(
            f"INSERT INTO resolution_record VALUES ('person', {3000 + k}, 'staff', 'R{k}', "
            f"'{person}', 'm')"
        )
    e.execute(
        "INSERT INTO obs_contact (obs_id, source, owner_number, listed_number, listed_name, "
        "listed_name_latin) VALUES (4001, 'lists', '+4907', '+4901', 'Anna Alpha', 'anna alpha')"
    )
    return e


@pytest.fixture
def world(ws: Workspace) -> Engine:
    return build(ws)


def _rows(e: Engine, table: str, key: str = "subject") -> dict[Any, dict[str, Any]]:
    cols = [c for c, _ in e.columns(table)]
    return {
        r[cols.index(key)] if key != "pair" else (r[0], r[1]): dict(zip(cols, r, strict=True))
        for r in e.fetch_rows(f"SELECT * FROM {table}")
    }


def test_persons_and_their_unicity(world: Engine) -> None:
    counts = assess(world, draws=DRAWS)
    assert set(counts) == set(STAGE.outputs)
    person = _rows(world, tables.PERSON)
    assert sorted(person) == [f"person:{k}" for k in range(1, 6)]
    p1, p2 = person["person:1"], person["person:2"]
    # person 2's trace lies inside person 1's: never singled out, no exposure
    assert p2["points"] == 2
    assert p2["unicity_1"] == 0
    assert p2["unicity_2"] == 0
    assert p2["unicity_3"] is None
    assert p2["exposure"] == 0
    assert p2["points_to_single_out"] is None
    # person 1: one private point of three
    assert p1["points"] == 3
    assert p1["devices"] == 2
    assert p1["unicity_3"] == 1
    assert p1["unicity_1"] == pytest.approx(1 / 3, abs=0.04)
    assert p1["unicity_2"] == pytest.approx(2 / 3, abs=0.04)
    assert p1["points_to_single_out"] == 2
    # linkability: 1 - (1 - 0.9)(1 - 0.5)
    assert p1["linkability"] == pytest.approx(0.95)
    assert person["person:3"]["linkability"] == pytest.approx(1 - 0.4 * 0.2)
    # the score is the documented formula of the row's own components
    u = [p1[f"unicity_{p}"] for p in range(1, 5)]
    expected = exposure_score([0.95], [[np.nan if x is None else x for x in u]], [0.8])[0]
    assert p1["exposure"] == pytest.approx(expected)
    t = (u[0] + u[1] + 1 + 1) / 4
    assert p1["exposure"] == pytest.approx(0.95 * t * 1.8 / 2)
    # the population: everyone has 2+ points but person 2 is singled out by 2 points
    summary = population_summary(world)
    assert summary["persons"] == 5
    assert summary["mean_unicity_1"] < summary["mean_unicity_2"]


def test_each_countermeasure_lowers_exposure_where_it_should(world: Engine) -> None:
    assess(world, draws=DRAWS)
    rows = {(r[0], r[1]): r for r in world.fetch_rows(
        "SELECT subject, countermeasure, exposure_before, exposure_after, drop, points, "
        "linkability, removed_points, removed_links, unicity_1, unicity_3 FROM exposure_whatif"
    )}  # fmt: skip
    assert set(rows) == {
        ("person:1", "second_phone_off"),
        ("person:3", "no_personal_car"),
        ("person:4", "varied_routes"),
        ("person:5", "fewer_regular_places"),
    }
    # without the private point the trace is someone else's too: no exposure left
    for key, lk in (
        (("person:1", "second_phone_off"), 0.9),
        (("person:3", "no_personal_car"), 0.6),
        (("person:5", "fewer_regular_places"), 0.9),
    ):
        _, _, before, after, drop, points, link, removed, _, u1, _ = rows[key]
        assert before > 0
        assert after == 0
        assert drop == pytest.approx(before)
        assert points == 2
        assert removed >= 1
        assert link == pytest.approx(lk)
    assert rows[("person:1", "second_phone_off")][8] == 1  # the second phone's link
    assert rows[("person:3", "no_personal_car")][8] == 1  # the car's link
    # varied routes: site 7 kept on day 1 only; {x1, x2, y1} still singled out by 3
    _, _, before, after, drop, points, _, removed, _, u1, u3 = rows[("person:4", "varied_routes")]
    assert (points, removed, u3) == (3, 2, 1.0)
    assert u1 == pytest.approx(1 / 3, abs=0.04)
    assert 0 < after < before
    assert drop > 0.05


def test_links_and_contacts_name_their_sources(world: Engine) -> None:
    assess(world, draws=50)
    links = world.fetch_rows(
        "SELECT identifier, identifier_kind, link_table, role, confidence, in_linkability, "
        "points, source_tables FROM exposure_link WHERE subject = 'person:1' ORDER BY identifier"
    )
    assert ("imsi:A", "device", "link_device_person", "device", 0.9, True, 2,
            ["reg_person", "reg_subscription"]) in links  # fmt: skip
    second = next(r for r in links if r[0] == "imsi:S")
    assert second[3] == "second_phone"
    assert second[6] == 1
    assert "obs_device_event" in second[7]
    assert "reg_subscription" in second[7]
    assert any(r[1] == "registry" and r[7] == ["staff"] for r in links)
    car = world.fetch_rows(
        "SELECT identifier, role, points FROM exposure_link WHERE subject = 'person:3' "
        "AND identifier_kind = 'vehicle'"
    )
    assert car == [("CAR1", "keeper", 1)]
    lists = world.fetch_rows(
        "SELECT subject, contact, contact_kind, numbers, entries, names_person, obs_ids "
        "FROM exposure_contact WHERE kind = 'lists_number'"
    )
    assert lists == [("person:1", "imsi:C", "device", ["+4901"], 1, True, [4001])]


def test_every_via_attribution_writes_names_its_sources() -> None:
    """A via with no entry would silently add no source to a person's count of the
    sources that give them away (the residence passes had none); the district test
    below checks the vias a real build writes."""
    from tessera.exposure.links import VIA_SOURCES
    from tessera.link import attribute

    vehicle_only = {"keeper_id", "keeper_name", "keeper_user", "primary_device"}
    device_vias = set(attribute.CONFIDENCE) - vehicle_only | {"second_phone", "analyst"}
    assert device_vias - set(VIA_SOURCES) == set()


def test_organisation_view_ranks_members(world: Engine) -> None:
    assess(world, draws=DRAWS)
    ranked = most_exposed(world, "org x")
    assert [r["subject"] for r in ranked] == ["person:1", "person:2"]
    assert ranked[0]["exposure"] > ranked[1]["exposure"] == 0
    assert most_exposed(world, "Org X", limit=1)[0]["subject"] == "person:1"
    assert most_exposed(world, "nobody") == []


def _snapshot(e: Engine) -> dict[str, list[tuple[Any, ...]]]:
    return {t: sorted(map(repr, e.fetch_rows(f"SELECT * FROM {t}"))) for t in STAGE.inputs}


def test_deterministic_and_pure(world: Engine) -> None:
    before = _snapshot(world)
    assess(world, draws=25)
    first = {t: world.fetch_rows(f"SELECT * FROM {t}") for t in STAGE.outputs}
    assess(world, draws=25)
    assert {t: world.fetch_rows(f"SELECT * FROM {t}") for t in STAGE.outputs} == first
    assert _snapshot(world) == before
    assert not [t for t in world.table_names() if t.startswith("_exp_")]


# -- the simulated district -------------------------------------------------------------


def test_on_the_simulated_district(linked: tuple[Path, Path], tmp_path: Path) -> None:
    _, path = linked
    copy = tmp_path / "ws"
    shutil.copytree(path, copy)
    with Workspace.open(copy) as ws:
        e = ws.engine
        with e.transaction():
            written = STAGE.run(e)
        assert set(written) == set(STAGE.outputs)
        persons = {r[0] for r in e.fetch_rows("SELECT subject FROM exposure_person")}
        attributed = {
            r[0]
            for r in e.fetch_rows(
                "SELECT person FROM link_device_person UNION SELECT person FROM link_vehicle_person"
            )
        }
        assert attributed <= persons
        from tessera.exposure.links import VIA_SOURCES

        vias = {r[0] for r in e.fetch_rows("SELECT DISTINCT unnest(vias) FROM link_device_person")}
        assert "residence_contact" in vias
        assert vias - set(VIA_SOURCES) == set()
        s = population_summary(e)
        print(s)
        means = [s[f"mean_unicity_{p}"] for p in range(1, 5)]
        assert means == sorted(means)  # more points single out more
        assert 0.5 < s["mean_unicity_4"] <= 1.0
        assert 0 < s["mean_exposure"] < 1
        bad = e.fetch_rows(
            "SELECT count(*) FROM exposure_person WHERE exposure < 0 OR exposure > 1 "
            "OR linkability < 0 OR linkability > 1"
        )
        assert bad == [(0,)]
        # device confidences combined again from the stored evidence agree with
        # link_device_person (devices without second-phone evidence)
        from tessera.exposure import links

        with e.temp_tables() as temp:
            links.prepare(temp)
            diff = e.fetch_rows(
                "SELECT max(abs(confidence - c)) FROM (SELECT l.device, "
                "any_value(l.confidence) AS confidence, "
                "1 - exp(sum(ln(greatest(1e-9, 1 - x.confidence)))) AS c "
                "FROM _exp_evidence x JOIN link_device_person l USING (device, person) "
                "WHERE NOT list_contains(l.vias, 'second_phone') GROUP BY l.device)"
            )
            assert diff[0][0] < 1e-6
            # the what-if predictability is routine's on unchanged stays
            pred = predictability_of(e, temp, life.STAY)
        prof = dict(
            e.fetch_rows(
                "SELECT subject, predictability_max FROM life_profile "
                "WHERE predictability_max IS NOT NULL"
            )
        )
        assert len(prof) > 100
        assert max(abs(pred[s] - v) for s, v in prof.items()) < 1e-6
        # a what-if never adds points or links
        worse = e.fetch_rows(
            "SELECT count(*) FROM exposure_whatif w JOIN exposure_person p USING (subject) "
            "WHERE w.points > p.points OR w.linkability > p.linkability + 1e-12"
        )
        assert worse == [(0,)]
