"""The contact network (``tessera.network.contacts``) on a hand-made phone book with
known answers, the weight formula by hand, and the stage on the simulated district."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path
from typing import Any

import pytest

from tessera.engines.duckdb.engine import DuckDBEngine
from tessera.network.contacts import (
    CALL_WEIGHT,
    DURATION_UNIT_S,
    HALF_LIFE_DAYS,
    LISTED_WEIGHT,
    OBS_IDS_CAP,
    RECIPROCITY_FLOOR,
    SMS_WEIGHT,
    contacts,
    pair_weights_sql,
)
from tessera.network.tables import COLUMNS, CONTACT
from tessera.workspace import Workspace

UTC = dt.UTC
T0 = dt.datetime(2026, 1, 1, tzinfo=UTC)


def day(d: float) -> dt.datetime:
    return T0 + dt.timedelta(days=d)


# device, msisdn, first_seen day, last_seen day, events, person (None: unattributed)
DEVICES: list[tuple[str, str, float, float, int, str | None]] = [
    ("imsi:A1", "+4901", 0, 10, 50, "person:1"),  # +4901 until day 10 ...
    ("imsi:A2", "+4901", 11, 20, 40, "person:2"),  # ... then, after a number swap, person 2's
    ("imsi:B", "+4902", 0, 20, 90, "person:3"),
    ("imsi:S", "+4903", 0, 20, 10, "person:3"),  # person 3's second phone
    ("imsi:U", "+4904", 0, 20, 30, None),  # attributed to no one
    ("imsi:P4", "+4905", 0, 20, 60, "person:4"),
    ("imsi:X", "+4906", 0, 20, 5, "person:4"),  # person 4's second phone
    ("imsi:Q", "+4907", 0, 20, 5, None),  # second phone of imsi:R, neither attributed
    ("imsi:R", "+4908", 0, 20, 50, None),
    ("imsi:V", "+4909", 0, 20, 20, "person:5"),
]
SECOND = [("imsi:B", "imsi:S"), ("imsi:P4", "imsi:X"), ("imsi:R", "imsi:Q")]
# from, to, day, channel, duration_s
EVENTS: list[tuple[str, str, float, str, float]] = [
    ("+4901", "+4902", 5.5, "call", 120.0),  # person 1 -> person 3
    ("+4902", "+4901", 6.5, "sms", 0.0),  # person 3 -> person 1
    ("+4901", "+4902", 15.5, "call", 30.0),  # person 2 (after the swap) -> person 3
    ("+4902", "+4903", 7.5, "call", 60.0),  # person 3 to their own second phone
    ("+4902", "+4999", 8.5, "sms", 0.0),  # to a number no device carries
    ("+4904", "+4902", 9.5, "call", 10.0),  # unattributed device, one way, 3 times
    ("+4904", "+4902", 10.5, "call", 10.0),
    ("+4904", "+4902", 10.6, "sms", 0.0),
    ("+4906", "+4902", 12.5, "call", 45.0),  # person 4 from the second phone
    ("+4902", "+4905", 13.5, "sms", 0.0),  # person 3 -> person 4's primary
    ("+4907", "+4908", 14.5, "call", 300.0),  # second phone to its primary: one person
    ("+4901", "+4902", 19.5, "call", -1.0),  # person 2 -> person 3, missed
    ("+4902", "+4901", 10.7, "sms", 0.0),  # between the two: nearer person 2's interval
]
# owner number, owner imei, listed number
LISTS = [("+4902", None, "+4909"), ("+4909", None, "+4999"), ("+4903", None, "+4902")]


def build(ws: Workspace) -> None:
    e = ws.engine
    e.execute(
        "CREATE TABLE link_device (device VARCHAR, imsi VARCHAR, msisdn VARCHAR, "
        "imeis VARCHAR[], sources VARCHAR[], events BIGINT, first_seen TIMESTAMPTZ, "
        "last_seen TIMESTAMPTZ)"
    )
    e.execute(
        "CREATE TABLE link_device_person (device VARCHAR, person VARCHAR, confidence DOUBLE, "
        "runner_up DOUBLE, vias VARCHAR[], evidence VARCHAR)"
    )
    e.execute(
        'CREATE TABLE link_second_phone ("primary" VARCHAR, second VARCHAR, confidence DOUBLE)'
    )
    for dev, num, f, last, n, person in DEVICES:
        e.execute(
            "INSERT INTO link_device VALUES (?, NULL, ?, [], ['t'], ?, ?, ?)",
            [dev, num, n, day(f), day(last)],
        )
        if person:
            e.execute("INSERT INTO link_device_person VALUES (?, ?, 0.9, 0, [], '')", [dev, person])
    for p, s in SECOND:
        e.execute("INSERT INTO link_second_phone VALUES (?, ?, 0.9)", [p, s])
    for i, (a, b, d, ch, dur) in enumerate(EVENTS, 1):
        e.execute(
            "INSERT INTO obs_communication VALUES (?, 1, ?, 'cdr', ?, ?, ?, ?, ?)",
            [1000 + i, i, a, b, day(d), ch, dur],
        )
    for i, (owner, imei, listed) in enumerate(LISTS, 1):
        e.execute(
            "INSERT INTO obs_contact VALUES (?, 2, ?, 'lists', ?, ?, NULL, ?, 'x', 'x')",
            [2000 + i, i, owner, imei, listed],
        )


@pytest.fixture
def net(ws: Workspace) -> dict[tuple[str, str], dict[str, Any]]:
    build(ws)
    with ws.engine.transaction():
        counts = contacts(ws.engine)
    table = ws.engine.fetch_arrow(f"SELECT * FROM {CONTACT}").to_pylist()
    assert counts[CONTACT] == len(table)
    assert [c for c, _ in ws.engine.columns(CONTACT)] == [
        part.split()[0] for part in COLUMNS[CONTACT].split(", ")
    ]
    return {(r["a"], r["b"]): r for r in table}


def u(channel: str, duration: float, d: float, end: float) -> float:
    w = CALL_WEIGHT if channel == "call" else SMS_WEIGHT
    return (
        w
        * (1 + math.log2(1 + max(duration, 0) / DURATION_UNIT_S))
        * 0.5 ** ((end - d) / HALF_LIFE_DAYS)
    )


def expected_weight(events: list[tuple[str, float, float]], recip: float, listed: bool) -> float:
    """The documented formula, by hand; the data end at the end of day 20 (UTC)."""
    v = sum(u(ch, dur, d, 20.0) for ch, dur, d in events)
    return math.log(1 + v) * (RECIPROCITY_FLOOR + (1 - RECIPROCITY_FLOOR) * recip) + (
        LISTED_WEIGHT if listed else 0.0
    )


def test_the_pairs_are_those_known(net: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Every pair expected, and no other: the self pairs (person 3 and their second
    phone; imsi:Q and its primary imsi:R) are dropped."""
    assert set(net) == {
        ("person:1", "person:3"),
        ("person:2", "person:3"),
        ("number:+4999", "person:3"),
        ("imsi:U", "person:3"),
        ("person:3", "person:4"),
        ("person:3", "person:5"),
        ("number:+4999", "person:5"),
    }
    assert all(r["a"] < r["b"] for r in net.values())


def test_number_swap_maps_by_time_and_reciprocity(
    net: dict[tuple[str, str], dict[str, Any]],
) -> None:
    """+4901 is person 1's until day 10 and person 2's from day 11: the call on day 5 and
    the SMS back on day 6 are person 1's (reciprocal), the calls on days 15 and 19 (one
    missed) person 2's, and so is the SMS on day 10.7, covered by neither device but
    nearer person 2's first day (0.3 days) than person 1's last (0.7)."""
    one = net[("person:1", "person:3")]
    assert (one["events"], one["calls"], one["sms"], one["a_to_b"], one["b_to_a"]) == (
        2,
        1,
        1,
        1,
        1,
    )
    assert one["reciprocity"] == 1.0
    assert one["call_s"] == 120.0
    assert one["days"] == 2
    assert one["first_at"] == day(5.5)
    assert one["last_at"] == day(6.5)
    assert one["weight"] == pytest.approx(
        expected_weight([("call", 120.0, 5.5), ("sms", 0.0, 6.5)], 1.0, False)
    )
    two = net[("person:2", "person:3")]
    assert (two["events"], two["a_to_b"], two["b_to_a"], two["reciprocity"]) == (3, 2, 1, 0.5)
    assert two["call_s"] == 30.0  # the missed call (-1) counts 0 seconds
    assert two["days"] == 3
    assert two["weight"] == pytest.approx(
        expected_weight(
            [("call", 30.0, 15.5), ("call", -1.0, 19.5), ("sms", 0.0, 10.7)], 0.5, False
        )
    )
    assert two["obs_ids"] == [1012, 1003, 1013]  # newest first


def test_unknown_numbers_unattributed_devices_and_kinds(
    net: dict[tuple[str, str], dict[str, Any]],
) -> None:
    num = net[("number:+4999", "person:3")]
    assert (num["a_kind"], num["b_kind"], num["events"], num["sms"]) == ("number", "person", 1, 1)
    dev = net[("imsi:U", "person:3")]
    assert (dev["a_kind"], dev["b_kind"]) == ("device", "person")
    assert (dev["events"], dev["calls"], dev["sms"], dev["a_to_b"], dev["b_to_a"]) == (
        3,
        2,
        1,
        3,
        0,
    )
    assert dev["reciprocity"] == 0.0
    assert dev["days"] == 2


def test_second_phone_events_and_listed(net: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Person 4 calls from the second phone and gets an SMS on the primary: 2 events, 1
    with a second phone. Person 3's second phone lists person 3 (a self pair, dropped);
    person 3 lists person 5, who never communicated: a listed-only pair of weight
    LISTED_WEIGHT."""
    four = net[("person:3", "person:4")]
    assert (four["events"], four["second_phone_events"], four["reciprocity"]) == (2, 1, 1.0)
    assert "1 event(s) with a second phone" in four["evidence"]
    five = net[("person:3", "person:5")]
    assert five["listed"] is True
    assert five["events"] == 0
    assert five["first_at"] is None
    assert five["weight"] == pytest.approx(LISTED_WEIGHT)
    assert five["obs_ids"] == [2001]
    assert five["evidence"] == "in a contact list"
    assert net[("number:+4999", "person:5")]["weight"] == pytest.approx(LISTED_WEIGHT)
    assert sum(r["listed"] for r in net.values()) == 2


def test_weight_orders_ties_sensibly() -> None:
    """On any table of directed events (the core weighting): more contact weighs more,
    a reciprocated pair more than a one-way one, calls more than SMS, recent more than
    old, and the evidence lists are capped."""
    engine = DuckDBEngine(None)
    rows = []

    def add(a: str, b: str, d: float, ch: str = "call", dur: float = 60.0) -> None:
        rows.append(f"('{a}', '{b}', TIMESTAMPTZ '{day(d).isoformat()}', '{ch}', {dur})")

    for i in range(6):
        add("many", "x", 19 + i * 0.1)  # 6 calls one way
    add("few", "x", 19.5)  # 1 call
    for i in range(3):
        add("recip", "y", 19 + i * 0.1)
        add("y", "recip", 19.05 + i * 0.1)
    for i in range(6):
        add("oneway", "y", 19 + i * 0.1)
    add("sms", "z", 19.5, "sms", 0.0)
    add("call", "z", 19.5, "call", 0.0)
    add("old", "w", 1.0)
    add("new", "w", 19.0)
    for i in range(OBS_IDS_CAP + 5):
        add("chatty", "v", 10 + i * 0.01, "sms", 0.0)
    engine.execute(
        "CREATE TABLE ev AS SELECT * FROM (VALUES "
        + ", ".join(rows)
        + ") t(a, b, time, channel, duration_s)"
    )
    sql = pair_weights_sql(
        "ev", extra={"ids": f"list(epoch(time) ORDER BY time DESC)[1:{OBS_IDS_CAP}]"}
    )
    got = {(r["a"], r["b"]): r for r in engine.fetch_arrow(sql).to_pylist()}
    w = {k: r["weight"] for k, r in got.items()}
    assert w[("many", "x")] > w[("few", "x")]
    assert w[("recip", "y")] > w[("oneway", "y")]
    assert got[("recip", "y")]["reciprocity"] == 1.0
    assert got[("oneway", "y")]["reciprocity"] == 0
    assert w[("call", "z")] > w[("sms", "z")]
    assert w[("new", "w")] > w[("old", "w")]
    old, new = got[("old", "w")]["volume"], got[("new", "w")]["volume"]
    # a call on day 1 is 18 days older than one on day 19
    assert old / new == pytest.approx(0.5 ** (18.0 / HALF_LIFE_DAYS))
    assert got[("chatty", "v")]["events"] == OBS_IDS_CAP + 5
    assert len(got[("chatty", "v")]["ids"]) == OBS_IDS_CAP


@pytest.fixture(scope="module")
def district(linked: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the simulated district's workspace with ``net_contact`` built."""
    _, path = linked
    copy = tmp_path_factory.mktemp("net") / "ws"
    shutil.copytree(path, copy)
    with Workspace.open(copy) as ws, ws.engine.transaction():
        contacts(ws.engine)
    return copy


def test_contacts_on_the_simulated_district(district: Path) -> None:
    with Workspace.open(district, read_only=True) as ws:
        e = ws.engine
        n, persons, listed, bad, weights = e.fetch_rows(
            f"""SELECT count(*), count(*) FILTER (WHERE a_kind = 'person' AND b_kind = 'person'),
                       count(*) FILTER (WHERE listed),
                       count(*) FILTER (WHERE a >= b OR events <> calls + sms
                                        OR a_to_b + b_to_a <> events OR weight <= 0),
                       count(DISTINCT weight)
                FROM {CONTACT}"""
        )[0]
        comms = e.fetch_rows("SELECT count(*) FROM obs_communication")[0][0]
        kept = e.fetch_rows(f"SELECT sum(events) FROM {CONTACT}")[0][0]
    assert bad == 0
    assert n > 500
    assert persons > n / 3
    assert listed > 0
    assert weights > n / 4
    # only self pairs (a person and their own second phone) are dropped
    assert 0.97 * comms <= kept <= comms
