"""Attribution of devices to people from registries and where a device sleeps, on
hand-built records whose answer is known: namesakes told apart by their registered
address, their employer or where the phone spends its nights, and a prepaid card
registered to somebody who lives elsewhere, and corporate lines that name only their
organisation."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from tessera.link import attribute
from tessera.link.cotravel import DEVICES, device_sql
from tessera.link.keys import device_events_sql
from tessera.workspace import Workspace

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = dt.datetime(2026, 3, 2, tzinfo=BERLIN)
# two residential buildings 3 km apart, each with its own cell site
NORTH = (52.530, 13.300, "Nordstraße 1 10115 Berlin")
SOUTH = (52.503, 13.300, "Südstraße 2 10965 Berlin")

# resolved people: (entity, name, document, address, organisation)
PEOPLE = (
    ("person:1", "Gerhard Lang", None, NORTH[2], None),
    ("person:2", "Gerhard Lang", None, SOUTH[2], None),
    ("person:3", "Lea Rieder", None, NORTH[2], "Company 260 GmbH"),
    ("person:4", "Lea Rieder", None, SOUTH[2], "Company 7"),
    ("person:5", "Paul Becker", None, NORTH[2], None),
    ("person:6", "Paul Becker", None, SOUTH[2], None),
    ("person:7", "Anna Vogt", "DOC7", NORTH[2], None),
    ("person:8", "Jonas Wolf", "DOC8", SOUTH[2], None),
)
# subscriptions: (imsi, contract, name, document, billing address, organisation)
LINES = (
    ("001", "postpaid", "Lang, Gerhard", None, "Südstr. 2, 10965 Berlin", None),
    ("002", "corporate", "Rieder Lea", None, None, "company 260"),
    ("003", "prepaid", "Paul Becker", None, None, None),
    ("004", "prepaid", "Anna Vogt", "DOC7", None, None),  # sleeps far from Anna's home
    ("005", "prepaid", "Jonas Wolf", "DOC8", None, None),  # sleeps at Jonas's home
    ("006", "corporate", None, None, None, "Company 7 AG"),  # sleeps south
    ("007", "corporate", None, None, None, "Company 260"),  # sleeps south
)
# where each line's phone spends its nights
NIGHTS = {"001": "S-SOUTH", "002": "S-NORTH", "003": "S-SOUTH", "004": "S-SOUTH",
          "005": "S-SOUTH", "006": "S-SOUTH", "007": "S-SOUTH"}  # fmt: skip


def _world(ws: Workspace) -> None:
    e = ws.engine
    n = iter(range(1, 10_000))
    e.execute("INSERT OR REPLACE INTO tessera_meta VALUES ('timezone', 'Europe/Berlin')")
    for rid, (lat, lon, address) in (("B-N", NORTH), ("B-S", SOUTH)):
        e.execute(
            "INSERT INTO reg_address (obs_id, source, record_id, address, use, lat, lon) "
            "VALUES (?, 'addr', ?, ?, 'residential', ?, ?)",
            [next(n), rid, address, lat, lon],
        )
        e.execute(
            "INSERT INTO sensor (obs_id, source, sensor_id, kind, lat, lon, range_m) "
            "VALUES (?, 'cells', ?, 'cell_sector', ?, ?, 1500)",
            [next(n), "S-" + ("NORTH" if rid == "B-N" else "SOUTH"), lat, lon],
        )
    e.execute("CREATE TABLE resolution_record (kind VARCHAR, obs_id BIGINT, entity_id VARCHAR)")
    for entity, name, doc, address, org in PEOPLE:
        obs = next(n)
        e.execute(
            "INSERT INTO reg_person (obs_id, source, record_id, full_name, full_name_latin, "
            "document_number, address, organisation, organisation_latin) "
            "VALUES (?, 'people', ?, ?, lower(?), ?, ?, ?, lower(?))",
            [obs, entity, name, name, doc, address, org, org],
        )
        e.execute("INSERT INTO resolution_record VALUES ('person', ?, ?)", [obs, entity])
    for imsi, contract, name, doc, address, org in LINES:
        e.execute(
            "INSERT INTO reg_subscription (obs_id, source, record_id, imsi, contract, "
            "subscriber_name, subscriber_name_latin, subscriber_id, address, "
            "subscriber_organisation, subscriber_organisation_latin) "
            "VALUES (?, 'subs', ?, ?, ?, ?, lower(?), ?, ?, ?, lower(?))",
            [next(n), "line-" + imsi, imsi, contract, name, name, doc, address, org, org],
        )
        for day in range(4):  # four nights, two events a night
            for hour in (1.0, 3.5):
                e.execute(
                    "INSERT INTO obs_device_event (obs_id, source, imsi, time, event_type, "
                    "sensor_id) VALUES (?, 'op', ?, ?, 'data', ?)",
                    [
                        next(n),
                        imsi,
                        (MONDAY + dt.timedelta(days=day, hours=hour)).astimezone(dt.UTC),
                        NIGHTS[imsi],
                    ],
                )
    ws.engine.materialise(DEVICES, device_sql(f"({device_events_sql()})"))
    e.execute(
        "CREATE TABLE cotravel_pair (kind VARCHAR, a VARCHAR, b VARCHAR, bits DOUBLE, "
        "units INTEGER, places INTEGER, days INTEGER, together INTEGER, apart INTEGER)"
    )
    e.execute(
        'CREATE TABLE link_second_phone ("primary" VARCHAR, second VARCHAR, confidence DOUBLE)'
    )


def test_namesakes_are_told_apart_and_false_prepaid_registrations_dropped(
    ws: Workspace,
) -> None:
    _world(ws)
    with ws.engine.transaction():
        counts = attribute.run(ws.engine)
    assert counts[attribute.DEVICE_PERSON] == 5
    got = {
        d: (p, vias)
        for d, p, vias in ws.engine.fetch_rows(
            f"SELECT device, person, vias FROM {attribute.DEVICE_PERSON}"
        )
    }
    # the billing address names the southern Gerhard Lang
    assert got["imsi:001"][0] == "person:2"
    assert got["imsi:001"][1][0] == "subscriber_name_address"
    # the corporate line's organisation names the Lea Rieder of Company 260 (GmbH dropped)
    assert got["imsi:002"][0] == "person:3"
    assert got["imsi:002"][1][0] == "subscriber_name_organisation"
    # (where the two phones sleep agrees: both lines also carry residence evidence)
    assert "subscriber_name_residence" in got["imsi:001"][1] + got["imsi:002"][1]
    # no address on the line, but the phone sleeps at the southern Paul Becker's address
    assert got["imsi:003"] == ("person:6", ["subscriber_name_residence"])
    # Anna Vogt's document is on a prepaid card that sleeps 3 km from her home: dropped
    assert "imsi:004" not in got
    # Jonas Wolf's card sleeps where he lives: his document stands
    assert got["imsi:005"][0] == "person:8"
    assert "subscriber_id" in got["imsi:005"][1]
    # a corporate line naming only Company 7 sleeps where its one member lives
    assert got["imsi:006"] == ("person:4", ["organisation_residence"])
    # nobody of Company 260 lives where line 007 sleeps: no link
    assert "imsi:007" not in got
    # every piece of evidence is stored, and the chosen links cite theirs
    [(stored, cited)] = ws.engine.fetch_rows(
        f"SELECT count(*), count(*) FILTER (WHERE detail <> '') FROM {attribute.DEVICE_EVIDENCE}"
    )
    assert stored == cited >= 4


def test_without_night_observations_a_prepaid_registration_stands(ws: Workspace) -> None:
    _world(ws)
    # the card of line 004 is seen only in the afternoon: nothing contradicts Anna Vogt
    ws.engine.execute(
        "UPDATE obs_device_event SET time = time + INTERVAL 13 HOUR WHERE imsi = '004'"
    )
    with ws.engine.transaction():
        attribute.run(ws.engine)
    [(person,)] = ws.engine.fetch_rows(
        f"SELECT person FROM {attribute.DEVICE_PERSON} WHERE device = 'imsi:004'"
    )
    assert person == "person:7"
