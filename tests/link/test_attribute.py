"""Attribution of devices to people from registries and where a device sleeps, on
hand-built records whose answer is known: namesakes told apart by their registered
address, their employer or where the phone spends its nights, and a prepaid card
registered to somebody who lives elsewhere, and corporate lines that name only their
organisation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

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


_OBS = iter(range(1, 1_000_000))


def _building(ws: Workspace, rid: str, sensor: str, place: tuple[float, float, str]) -> None:
    """A residential building with its own cell site."""
    lat, lon, address = place
    ws.engine.execute(
        "INSERT INTO reg_address (obs_id, source, record_id, address, use, lat, lon) "
        "VALUES (?, 'addr', ?, ?, 'residential', ?, ?)",
        [next(_OBS), rid, address, lat, lon],
    )
    ws.engine.execute(
        "INSERT INTO sensor (obs_id, source, sensor_id, kind, lat, lon, range_m) "
        "VALUES (?, 'cells', ?, 'cell_sector', ?, ?, 1500)",
        [next(_OBS), sensor, lat, lon],
    )


def _person(
    ws: Workspace, entity: str, name: str, doc: str | None, address: str, org: str | None
) -> None:
    obs = next(_OBS)
    ws.engine.execute(
        "INSERT INTO reg_person (obs_id, source, record_id, full_name, full_name_latin, "
        "document_number, address, organisation, organisation_latin) "
        "VALUES (?, 'people', ?, ?, lower(?), ?, ?, ?, lower(?))",
        [obs, entity, name, name, doc, address, org, org],
    )
    ws.engine.execute("INSERT INTO resolution_record VALUES ('person', ?, ?)", [obs, entity])


def _line(ws: Workspace, imsi: str, sleeps: str, registration: tuple[Any, ...] | None) -> None:
    """A phone that spends four nights in sector ``sleeps``, with its subscription
    ``(contract, name, document, billing address, organisation)`` if any."""
    if registration is not None:
        contract, name, doc, address, org = registration
        ws.engine.execute(
            "INSERT INTO reg_subscription (obs_id, source, record_id, imsi, contract, "
            "subscriber_name, subscriber_name_latin, subscriber_id, address, "
            "subscriber_organisation, subscriber_organisation_latin) "
            "VALUES (?, 'subs', ?, ?, ?, ?, lower(?), ?, ?, ?, lower(?))",
            [next(_OBS), "line-" + imsi, imsi, contract, name, name, doc, address, org, org],
        )
    for day in range(4):  # four nights, two events a night
        for hour in (1.0, 3.5):
            ws.engine.execute(
                "INSERT INTO obs_device_event (obs_id, source, imsi, time, event_type, "
                "sensor_id) VALUES (?, 'op', ?, ?, 'data', ?)",
                [
                    next(_OBS),
                    imsi,
                    (MONDAY + dt.timedelta(days=day, hours=hour)).astimezone(dt.UTC),
                    sleeps,
                ],
            )


def _world(ws: Workspace, extra: Callable[[Workspace], None] | None = None) -> None:
    """The people and lines above (and what ``extra`` adds) with the tables the stage
    reads."""
    e = ws.engine
    e.execute("INSERT OR REPLACE INTO tessera_meta VALUES ('timezone', 'Europe/Berlin')")
    _building(ws, "B-N", "S-NORTH", NORTH)
    _building(ws, "B-S", "S-SOUTH", SOUTH)
    e.execute("CREATE TABLE resolution_record (kind VARCHAR, obs_id BIGINT, entity_id VARCHAR)")
    for person in PEOPLE:
        _person(ws, *person)
    for imsi, *registration in LINES:
        _line(ws, imsi, NIGHTS[imsi], tuple(registration))
    if extra is not None:
        extra(ws)
    ws.engine.materialise(DEVICES, device_sql(f"({device_events_sql()})"))
    e.execute(
        "CREATE TABLE cotravel_pair (kind VARCHAR, a VARCHAR, b VARCHAR, bits DOUBLE, "
        "units INTEGER, places INTEGER, days INTEGER, together INTEGER, apart INTEGER)"
    )
    e.execute(
        'CREATE TABLE link_second_phone ("primary" VARCHAR, second VARCHAR, confidence DOUBLE)'
    )
    e.execute(
        "CREATE TABLE IF NOT EXISTS link_device_swap "
        "(old VARCHAR, new VARCHAR, kind VARCHAR, confidence DOUBLE)"
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


def _east(ws: Workspace) -> None:
    """A third building where Eva Klein is the only resident, and two phones that no
    registration names: one sleeps east, one north (where three residents, Gerhard
    Lang, Paul Becker and Anna Vogt, have no phone attributed yet)."""
    _building(ws, "B-E", "S-EAST", EAST)
    _person(ws, "person:9", "Eva Klein", None, EAST[2], None)
    _line(ws, "008", "S-EAST", ("prepaid", None, None, None, None))
    _line(ws, "009", "S-NORTH", None)


EAST = (52.530, 13.345, "Oststraße 3 10243 Berlin")


def _links(ws: Workspace) -> dict[str, tuple[str, list[str], float]]:
    return {
        d: (p, vias, c)
        for d, p, vias, c in ws.engine.fetch_rows(
            f"SELECT device, person, vias, confidence FROM {attribute.DEVICE_PERSON}"
        )
    }


def _attributed(
    ws: Workspace, extra: Callable[[Workspace], None]
) -> dict[str, tuple[str, list[str], float]]:
    """:func:`_links` after the stage ran on :func:`_world` with ``extra``."""
    _world(ws, extra)
    with ws.engine.transaction():
        attribute.run(ws.engine)
    return _links(ws)


def test_an_unnamed_phone_goes_to_the_one_unclaimed_resident_where_it_sleeps(
    ws: Workspace,
) -> None:
    got = _attributed(ws, _east)
    # Eva Klein is the only resident east and has no phone: the east phone is hers
    person, vias, confidence = got["imsi:008"]
    assert (person, vias) == ("person:9", ["residence_unclaimed"])
    assert confidence == attribute.UNCLAIMED_SCALE  # all of its posterior on her building
    [(detail,)] = ws.engine.fetch_rows(
        f"SELECT detail FROM {attribute.DEVICE_EVIDENCE} WHERE device = 'imsi:008'"
    )
    assert "B-E" in detail
    assert "1 registered resident" in detail
    # three unclaimed residents share the north building: a third each, below the floor
    assert "imsi:009" not in got
    # the southern phones without a link (004, 007) stay unattributed, as before (every
    # southern resident already holds a phone; this fixture does not tell that rule
    # apart from the share floor, which four equal residents would not pass either)
    assert "imsi:004" not in got
    assert "imsi:007" not in got
    # ... and the links of the first test are unchanged
    assert got["imsi:003"][:2] == ("person:6", ["subscriber_name_residence"])


def test_a_rejected_unclaimed_resident_link_is_not_made_again(ws: Workspace) -> None:
    from tessera.audit import Access
    from tessera.link.judgements import hypothesis_id, judge

    _world(ws, _east)
    with ws.engine.transaction():
        attribute.run(ws.engine)
    judge(
        ws,
        hypothesis_id("device_person", "imsi:008", "person:9"),
        "reject",
        "contradicted_by_observation",
        Access("analyst1", "CASE-7", "synthetic_demo"),
    )
    with ws.engine.transaction():
        attribute.run(ws.engine)
    # the only candidate is rejected: the phone stays unattributed, nobody else gets it
    assert "imsi:008" not in _links(ws)


# an office building 3 km east of the north one, with its own cell site
OFFICE = (52.530, 13.344, "Ostweg 9 10249 Berlin")


def _housemates(ws: Workspace) -> None:
    """:func:`_east`, and two more phones that sleep north, where Gerhard Lang, Paul
    Becker and Anna Vogt have no phone attributed: 009 is saved as "Paul" in a contact
    list; 010 spends its working hours at the office of Anna's employer (a second
    record of hers names it); 011 leaves nothing but its nights."""
    _east(ws)
    _line(ws, "010", "S-NORTH", None)
    _line(ws, "011", "S-NORTH", None)
    e = ws.engine
    e.execute("UPDATE obs_device_event SET msisdn = '+4915100009' WHERE imsi = '009'")
    e.execute(
        "INSERT INTO obs_contact (obs_id, source, owner_number, listed_number, listed_name, "
        "listed_name_latin) VALUES (?, 'lists', '+4915100099', '+4915100009', 'Paul', 'paul')",
        [next(_OBS)],
    )
    lat, lon, address = OFFICE
    e.execute(
        "INSERT INTO reg_address (obs_id, source, record_id, address, occupant_name, "
        "occupant_name_latin, use, lat, lon) "
        "VALUES (?, 'addr', 'B-O', ?, 'Firma 99 GmbH', 'firma 99 gmbh', 'office', ?, ?)",
        [next(_OBS), address, lat, lon],
    )
    e.execute(
        "INSERT INTO sensor (obs_id, source, sensor_id, kind, lat, lon, range_m) "
        "VALUES (?, 'cells', 'S-OFFICE', 'cell_sector', ?, ?, 1500)",
        [next(_OBS), lat, lon],
    )
    _person(ws, "person:7", "Anna Vogt", None, NORTH[2], "Firma 99")
    _works_at_the_office(ws, "010")


def _works_at_the_office(ws: Workspace, imsi: str) -> None:
    """Phone ``imsi`` is at the office Monday to Thursday, 10:00 and 14:00."""
    for day in range(4):
        for hour in (10, 14):
            ws.engine.execute(
                "INSERT INTO obs_device_event (obs_id, source, imsi, time, event_type, "
                "sensor_id) VALUES (?, 'op', ?, ?, 'data', 'S-OFFICE')",
                [
                    next(_OBS),
                    imsi,
                    (MONDAY + dt.timedelta(days=day, hours=hour)).astimezone(dt.UTC),
                ],
            )


def test_housemates_are_told_apart_by_contact_names_workplaces_then_elimination(
    ws: Workspace,
) -> None:
    got = _attributed(ws, _housemates)
    # three unclaimed residents north: nights alone cannot choose (see the test above),
    # but a contact list calls 009 "Paul" ...
    person, vias, confidence = got["imsi:009"]
    assert (person, vias) == ("person:5", ["residence_contact"])
    assert confidence == attribute.CONTACT_SCALE  # Paul is its only candidate named so
    # ... 010 works where Anna Vogt's employer is ...
    person, vias, confidence = got["imsi:010"]
    assert (person, vias) == ("person:7", ["residence_workplace"])
    assert confidence == attribute.WORKPLACE_SCALE
    # ... and with both out of the way, the phone nothing names is the last resident's
    person, vias, _ = got["imsi:011"]
    assert (person, vias) == ("person:1", ["residence_unclaimed"])
    details = dict(
        ws.engine.fetch_rows(
            f"SELECT device, detail FROM {attribute.DEVICE_EVIDENCE} "
            "WHERE device IN ('imsi:009', 'imsi:010')"
        )
    )
    assert "'paul'" in details["imsi:009"]
    assert "B-O" in details["imsi:010"]
    assert "B-N" in details["imsi:010"]
    # Eva Klein's phone east is still hers by nights alone
    assert got["imsi:008"][:2] == ("person:9", ["residence_unclaimed"])


def _colleagues(ws: Workspace) -> None:
    """:func:`_housemates`, and two more people of Anna Vogt's employer whom no
    residence register holds (an embassy's staff), Mira Sander and Jan Roth; phone 012
    sleeps east and works at their office, and a contact list saves it as "Mira"."""
    _housemates(ws)
    _person(ws, "person:11", "Mira Sander", None, None, "Firma 99")
    _person(ws, "person:12", "Jan Roth", None, None, "Firma 99")
    _line(ws, "012", "S-EAST", None)
    _works_at_the_office(ws, "012")
    ws.engine.execute("UPDATE obs_device_event SET msisdn = '+4915100012' WHERE imsi = '012'")
    ws.engine.execute(
        "INSERT INTO obs_contact (obs_id, source, owner_number, listed_number, listed_name, "
        "listed_name_latin) VALUES (?, 'lists', '+4915100098', '+4915100012', 'Mira', 'mira')",
        [next(_OBS)],
    )


def test_people_with_no_registered_address_are_found_at_work_by_contact_names(
    ws: Workspace,
) -> None:
    got = _attributed(ws, _colleagues)
    # Mira has no registered address, so no residence pass reaches her; her employer's
    # office, where 012 spends its working hours, and the name a list saves it under do
    person, vias, confidence = got["imsi:012"]
    assert (person, vias) == ("person:11", ["workplace_contact"])
    assert confidence == attribute.WORKPLACE_CONTACT_SCALE
    [(detail,)] = ws.engine.fetch_rows(
        f"SELECT detail FROM {attribute.DEVICE_EVIDENCE} WHERE device = 'imsi:012'"
    )
    assert "'mira'" in detail
    assert "B-O" in detail
    # the east phone is still Eva Klein's, and Anna's phone hers, as without them
    assert got["imsi:008"][:2] == ("person:9", ["residence_unclaimed"])
    assert got["imsi:010"][:2] == ("person:7", ["residence_workplace"])


def test_without_a_contact_name_colleagues_are_not_told_apart(ws: Workspace) -> None:
    def unnamed(ws: Workspace) -> None:
        _colleagues(ws)
        ws.engine.execute("DELETE FROM obs_contact WHERE listed_number = '+4915100012'")

    # Mira and Jan work in one building and neither is registered anywhere: working
    # hours alone cannot choose between them
    assert "imsi:012" not in _attributed(ws, unnamed)


def _namesake_keeper(ws: Workspace) -> None:
    """A car registered by name to "Gerhard Lang" (two people bear it, north and
    south), whose primary device, 001, sleeps south."""
    ws.engine.execute(
        "INSERT INTO reg_vehicle (obs_id, source, record_id, plate, plate_kind, owner_name, "
        "owner_name_latin) VALUES (?, 'cars', 'car-1', 'B-GL 1', 'private', 'Gerhard Lang', "
        "'gerhard lang')",
        [next(_OBS)],
    )


def test_a_keeper_namesakes_share_is_told_apart_by_where_the_primary_device_sleeps(
    ws: Workspace,
) -> None:
    _world(ws, _namesake_keeper)
    ws.engine.execute(
        f"INSERT INTO {attribute.PAIRS} VALUES "
        "('vehicle_device', 'B-GL 1', 'imsi:001', 80.0, 20, 6, 4, 20, 0)"
    )
    with ws.engine.transaction():
        attribute.run(ws.engine)
    [(keeper, via)] = ws.engine.fetch_rows(
        f"SELECT keeper, keeper_via FROM {attribute.VEHICLES} WHERE vehicle = 'B-GL 1'"
    )
    assert (keeper, via) == ("person:2", "keeper_name_residence")
    roles = ws.engine.fetch_rows(
        f"SELECT role, person FROM {attribute.VEHICLE_PERSON} WHERE vehicle = 'B-GL 1' "
        "ORDER BY role"
    )
    assert roles == [("keeper", "person:2"), ("primary_user", "person:2")]


def _three_east(ws: Workspace) -> None:
    """:func:`_east` with two more residents east, Eva Roth and Otto Hahn, and a phone
    013 that sleeps there too; contact lists save 008 as "Klein" and 013 as "Eva"."""
    _east(ws)
    _person(ws, "person:13", "Eva Roth", None, EAST[2], None)
    _person(ws, "person:14", "Otto Hahn", None, EAST[2], None)
    _line(ws, "013", "S-EAST", None)
    for imsi, name in (("008", "Klein"), ("013", "Eva")):
        number = "+49151000" + imsi[1:]
        ws.engine.execute(f"UPDATE obs_device_event SET msisdn = '{number}' WHERE imsi = '{imsi}'")
        ws.engine.execute(
            "INSERT INTO obs_contact (obs_id, source, owner_number, listed_number, "
            "listed_name, listed_name_latin) VALUES (?, 'lists', '+4915100097', ?, ?, lower(?))",
            [next(_OBS), number, name, name],
        )


def test_a_second_round_of_passes_uses_what_the_first_settled(
    ws: Workspace, monkeypatch: Any
) -> None:
    # "Eva" fits two residents east until "Klein" settles Eva Klein's phone; then the
    # contact pass of the second round finds Eva Roth's. Nights alone could not: they
    # spread 013 over Eva Roth and Otto Hahn
    got = _attributed(ws, _three_east)
    assert got["imsi:008"][:2] == ("person:9", ["residence_contact"])
    assert got["imsi:013"][:2] == ("person:13", ["residence_contact"])
    monkeypatch.setattr(attribute, "PASS_ROUNDS", 1)
    with ws.engine.transaction():
        attribute.run(ws.engine)
    assert "imsi:013" not in _links(ws)


def _listed(lists: int, name: str) -> Callable[[Workspace], None]:
    """:func:`_east`, Lena Maria Fischer registered south, and a phone 014 that sleeps
    east (where she is not registered) and that ``lists`` contact lists save as
    ``name``."""

    def extra(ws: Workspace) -> None:
        _east(ws)
        _person(ws, "person:15", "Lena Maria Fischer", None, SOUTH[2], None)
        _line(ws, "014", "S-EAST", None)
        ws.engine.execute("UPDATE obs_device_event SET msisdn = '+4915100014' WHERE imsi = '014'")
        for n in range(lists):
            ws.engine.execute(
                "INSERT INTO obs_contact (obs_id, source, owner_number, listed_number, "
                "listed_name, listed_name_latin) VALUES (?, 'lists', ?, '+4915100014', ?, "
                "lower(?))",
                [next(_OBS), f"+49151009{n:02d}", name, name],
            )

    return extra


def test_contact_names_alone_link_when_two_words_of_the_name_agree(ws: Workspace) -> None:
    # "Lena Fischer Arbeit" is no one's whole name, and Lena does not live where the
    # phone sleeps; two of her name's words single her out
    got = _attributed(ws, _listed(1, "Lena Fischer Arbeit"))
    person, vias, confidence = got["imsi:014"]
    assert (person, vias) == ("person:15", ["contact_words"])
    assert confidence == attribute.CONTACT_ALONE_SCALE
    # Eva Klein's phone east is still hers: 014 was out of the way first
    assert got["imsi:008"][:2] == ("person:9", ["residence_unclaimed"])


def test_one_word_of_the_name_is_not_enough_alone(ws: Workspace) -> None:
    # however many lists agree on it
    assert "imsi:014" not in _attributed(ws, _listed(3, "Fischer"))


def _swapped(ws: Workspace) -> None:
    """Two SIMs no registration names that sleep south, where every resident already
    holds a phone: 010 replaced Jonas Wolf's line 005 (a number swap), and 011 was
    replaced by Lea Rieder's corporate line 006; 012 is in no swap."""
    for imsi in ("010", "011", "012"):
        _line(ws, imsi, "S-SOUTH", None)
    ws.engine.execute(
        "CREATE TABLE link_device_swap (old VARCHAR, new VARCHAR, kind VARCHAR, confidence DOUBLE)"
    )
    ws.engine.execute(
        "INSERT INTO link_device_swap VALUES ('imsi:005', 'imsi:010', 'number', 0.99), "
        "('imsi:011', 'imsi:006', 'number', 0.8)"
    )


def test_the_devices_of_a_swap_go_to_the_person_of_the_other(ws: Workspace) -> None:
    got = _attributed(ws, _swapped)
    jonas, jonas_vias, jonas_confidence = got["imsi:005"]
    assert (jonas, jonas_vias[0]) == ("person:8", "subscriber_id")
    assert "device_swap" not in jonas_vias  # the new SIM is linked only through 005
    person, vias, confidence = got["imsi:010"]  # the new SIM, forward
    assert (person, vias) == ("person:8", ["device_swap"])
    assert confidence == pytest.approx(
        attribute.CONFIDENCE["device_swap"] * 0.99 * jonas_confidence
    )
    lea, _, lea_confidence = got["imsi:006"]
    person, vias, confidence = got["imsi:011"]  # the old SIM, backward
    assert (person, vias) == (lea, ["device_swap"])
    assert confidence == pytest.approx(attribute.CONFIDENCE["device_swap"] * 0.8 * lea_confidence)
    [(detail,)] = ws.engine.fetch_rows(
        f"SELECT detail FROM {attribute.DEVICE_EVIDENCE} WHERE device = 'imsi:010'"
    )
    assert detail == "same owner as imsi:005 (a number swap; subscriber_id)"
    assert "imsi:012" not in got  # no swap, nobody unclaimed where it sleeps
