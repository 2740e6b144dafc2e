"""Hidden ties and the combined edge list, on hand-made contact and co-presence pairs."""

from __future__ import annotations

import pytest

from tessera.life import tables as life
from tessera.network import tables
from tessera.network.ties import (
    COPRESENCE_FACTOR,
    MAX_SHARING,
    PLACE_NEIGHBOURS,
    PLACE_WEIGHT,
    ties,
)
from tessera.workspace import Workspace

T0 = "TIMESTAMPTZ '2026-10-05 10:00:00+00'"


def _contact(
    a: str, b: str, events: int, second: int, weight: float, b_kind: str = "person"
) -> str:
    return (
        f"('{a}', 'person', '{b}', '{b_kind}', {events}, {events}, 0, 60.0, {events}, 0, 0.0, 1, "
        f"{T0}, {T0}, false, {second}, {weight}, 'test', [1, 2])"
    )


def _met(a: str, b: str, meetings: int, weight: float) -> str:
    return (
        f"('{a}', 'person', '{b}', 'person', {meetings}, 0, {meetings}, 1, 3600.0, {weight}, "
        f"{T0}, {T0}, [7])"
    )


def _work(subject: str, building: str, role: str = "work") -> str:
    return f"('{subject}', 'person', '{role}', 1, 52.5, 13.4, '{building}', 0.9, 10, 'test')"


def _build(
    ws: Workspace, contacts: list[str], meetings: list[str], work: tuple[str, ...] = ()
) -> dict[str, int]:
    engine = ws.engine
    for name, rows in (
        (tables.CONTACT, contacts),
        (tables.COPRESENCE, meetings),
        (life.HOME_WORK, list(work)),
    ):
        layout = {**tables.COLUMNS, **life.COLUMNS}[name]
        engine.execute(f"CREATE TABLE {name} ({layout})")
        if rows:
            engine.execute(f"INSERT INTO {name} VALUES {', '.join(rows)}")
    return ties(engine)


def test_pairs_that_meet_repeatedly_but_never_talk_are_hidden_ties(ws: Workspace) -> None:
    counts = _build(
        ws,
        [_contact("person:1", "person:2", 5, 0, 2.0)],
        [_met("person:1", "person:2", 4, 3.0), _met("person:3", "person:4", 3, 1.5),
         _met("person:5", "person:6", 1, 0.5)],
    )  # fmt: skip
    rows = ws.engine.fetch_rows(f"SELECT a, b, kind, meetings, score FROM {tables.HIDDEN_TIE}")
    # 1-2 talk, 5-6 met only once: only 3-4 is hidden
    assert rows == [("person:3", "person:4", "meets_never_talks", 3, 1.5)]
    assert counts[tables.HIDDEN_TIE] == 1


def test_pairs_talking_only_through_second_phones_are_hidden_ties(ws: Workspace) -> None:
    _build(
        ws,
        [_contact("person:1", "person:2", 6, 6, 2.0), _contact("person:1", "person:3", 6, 2, 2.0)],
        [_met("person:1", "person:2", 1, 0.5)],
    )
    rows = ws.engine.fetch_rows(
        f"SELECT a, b, kind, meetings, contact_events, second_phone_events, score "
        f"FROM {tables.HIDDEN_TIE}"
    )
    assert rows == [
        ("person:1", "person:2", "second_phones_only", 1, 6, 6, 2.0 + COPRESENCE_FACTOR * 0.5)
    ]


def test_edges_combine_both_weights_and_leave_out_outside_numbers(ws: Workspace) -> None:
    _build(
        ws,
        [_contact("person:1", "person:2", 5, 0, 2.0),
         _contact("person:1", "number:+4930123", 9, 0, 4.0, b_kind="number")],
        [_met("person:1", "person:2", 1, 0.5), _met("person:3", "person:4", 2, 1.0)],
    )  # fmt: skip
    rows = ws.engine.fetch_rows(
        f"SELECT a, b, contact_weight, copresence_weight, weight, hidden FROM {tables.EDGE} "
        "ORDER BY a, b"
    )
    assert rows == [
        ("person:1", "person:2", 2.0, 0.5, 2.0 + COPRESENCE_FACTOR * 0.5, False),
        ("person:3", "person:4", 0.0, 1.0, COPRESENCE_FACTOR * 1.0, True),
    ]
    columns = [c for c, _ in ws.engine.columns(tables.EDGE)]
    assert columns == [part.split()[0] for part in tables.COLUMNS[tables.EDGE].split(",")]


def test_people_sharing_a_small_workplace_or_home_are_linked(ws: Workspace) -> None:
    import math

    big = tuple(_work(f"person:b{k:03d}", "TOWER") for k in range(MAX_SHARING["work"] + 1))
    block = tuple(
        _work(f"person:h{k:03d}", "BLOCK", "home") for k in range(MAX_SHARING["home"] + 1)
    )
    _build(
        ws,
        [_contact("person:1", "person:2", 5, 0, 2.0)],
        [],
        (
            _work("person:1", "SHOP"),
            _work("person:2", "SHOP"),
            _work("person:3", "SHOP"),
            _work("person:1", "HOUSE", "home"),
            _work("person:4", "HOUSE", "home"),
            _work("person:3", "SHOP", "home"),  # lives above the shop: home is not work
            *big,
            *block,
        ),
    )
    rows = ws.engine.fetch_rows(
        f"SELECT a, b, contact_weight, place_weight, weight FROM {tables.EDGE} ORDER BY a, b"
    )
    w = PLACE_WEIGHT["work"] / math.log(1 + 3)  # three people work at the shop
    h = PLACE_WEIGHT["home"] / math.log(1 + 2)  # two live in the house
    # the tower and the block have more workers or residents than MAX_SHARING: no edges
    assert rows == [
        ("person:1", "person:2", 2.0, w, 2.0 + w),
        ("person:1", "person:3", 0.0, w, w),
        ("person:1", "person:4", 0.0, h, h),
        ("person:2", "person:3", 0.0, w, w),
    ]


def test_a_large_workplace_is_linked_around_a_ring_with_the_cliques_strength(
    ws: Workspace,
) -> None:
    import math

    import igraph

    k = 2 * PLACE_NEIGHBOURS + 10  # just too many for every pair
    staff = [f"person:m{i:03d}" for i in range(k)]
    _build(ws, [], [], tuple(_work(s, "MINISTRY") for s in staff))
    rows = ws.engine.fetch_rows(f"SELECT a, b, place_weight FROM {tables.EDGE}")
    offsets = {
        math.floor(((k - 1) / 2) ** (j / PLACE_NEIGHBOURS)) for j in range(1, PLACE_NEIGHBOURS + 1)
    }
    # each subject links to the subjects len(offsets) places after it: k * offsets pairs
    assert len(rows) == k * len(offsets) < k * (k - 1) // 2
    assert len({(a, b) for a, b, _ in rows}) == len(rows)
    assert all(a < b for a, b, _ in rows)
    strength = dict.fromkeys(staff, 0.0)
    for a, b, w in rows:
        strength[a] += w
        strength[b] += w
    clique = (k - 1) * PLACE_WEIGHT["work"] / math.log(1 + k)
    assert all(v == pytest.approx(clique) for v in strength.values())
    g = igraph.Graph.TupleList([(a, b) for a, b, _ in rows])
    assert g.vcount() == k
    assert g.is_connected()
    # no quarter of the ring is cut off cheaply: at least a third of its members'
    # links leave it (a ring of nearest neighbours only would keep all but a few)
    quarter = set(staff[: k // 4])
    leaving = sum(1 for a, b, _ in rows if (a in quarter) != (b in quarter))
    touching = sum(1 for a, b, _ in rows if a in quarter or b in quarter)
    assert leaving / touching > 1 / 3
