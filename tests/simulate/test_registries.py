"""Registries: formats, the truth behind every row, planted quarantines, dirt at its rates.

Each feed is written the way the simulator's output writes it (CSV in the feed's
delimiter and encoding, Parquet as is, the mapping under ``mappings/``) and ingested
into a real workspace: the rows quarantined must be exactly the planted ones.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tessera.simulate import Population, World, build_population, build_world, output
from tessera.simulate.assets import Assets, build_assets
from tessera.simulate.feeds import Feed
from tessera.simulate.registries import REGISTRIES, build_registries
from tessera.simulate.routine import LOCAL, build_schedule
from tessera.types.name import compare_latin, latin_name
from tessera.workspace import Workspace

START = dt.date(2026, 10, 5)
DAYS = 7
SEED = 3
_HAN = re.compile("[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def city() -> tuple[World, Population, Assets]:
    world = build_world(SEED)
    pop = build_population(world, 600, SEED)
    schedule = build_schedule(world, pop, START, DAYS, SEED)
    return world, pop, build_assets(world, pop, schedule, START, DAYS, SEED)


@pytest.fixture(scope="module")
def feeds(city: tuple[World, Population, Assets]) -> dict[str, Feed]:
    return {f.name: f for f in build_registries(*city, seed=SEED)}


@pytest.fixture(scope="module")
def quarantined(
    feeds: dict[str, Feed], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[int, int, list[int]]]]:
    """Per feed: rows read, rows loaded and the quarantined row numbers."""
    out = tmp_path_factory.mktemp("registries")
    ws = Workspace.init(out / "ws")
    try:
        result = {}
        for feed in feeds.values():
            [r] = ws.ingest(output.write_feed(out, feed))
            rows = ws.engine.fetch_rows(
                "SELECT row_no FROM quarantine WHERE source = ? ORDER BY row_no", [feed.name]
            )
            result[feed.name] = (r.read, r.loaded, [int(x[0]) for x in rows])
        yield result
    finally:
        ws.close()


def _column(feed: Feed, prop: str) -> list[object]:
    spec = feed.properties[prop]
    return list(feed.table.column(spec if isinstance(spec, str) else spec["column"]).to_pylist())


def _truth_names(pop: Population, feed: Feed) -> list[str]:
    ids = feed.records.column("entity_id").to_pylist() if feed.records is not None else []
    return [pop.person_name_latin[i] for i in ids]


def test_all_registries_in_order(feeds: dict[str, Feed]) -> None:
    assert tuple(feeds) == REGISTRIES
    kinds = {f.name: f.kind for f in feeds.values()}
    assert kinds["residents_registry"] == kinds["accreditation_list"] == "registry.person"
    assert kinds["employer_list"] == "registry.person"
    assert kinds["vehicle_register"] == "registry.vehicle"
    assert kinds["subscriber_register"] == "registry.subscription"
    assert {f.format for f in feeds.values()} == {"csv", "parquet"}


def test_same_seed_same_tables(
    city: tuple[World, Population, Assets], feeds: dict[str, Feed]
) -> None:
    again = build_registries(*city, seed=SEED)
    other = {f.name: f for f in build_registries(*city, seed=SEED + 1)}
    for feed in again:
        first = feeds[feed.name]
        assert feed.table.equals(first.table), feed.name
        assert feed.records is not None
        assert feed.records.equals(first.records), feed.name
        assert feed.planted == first.planted
        assert not other[feed.name].table.equals(first.table), feed.name


def test_records_name_the_entity_behind_every_row(
    city: tuple[World, Population, Assets], feeds: dict[str, Feed]
) -> None:
    world, pop, assets = city
    sizes = {
        "person": pop.size,
        "organisation": len(pop.org_kind),
        "vehicle": len(assets.vehicle_kind),
        "device": len(assets.device_person),
        "building": len(world.building_kind),
    }
    for feed in feeds.values():
        rec = feed.records
        assert rec is not None
        assert rec.column_names == ["source", "record_id", "entity", "entity_id"]
        assert rec.schema.field("entity_id").type == pa.int32()
        assert rec.num_rows == feed.table.num_rows, feed.name
        assert set(rec.column("source").to_pylist()) == {feed.name}
        ids = rec.column("record_id").to_pylist()
        assert ids == _column(feed, "record_id"), feed.name  # row by row
        assert len(set(ids)) == len(ids), feed.name
        for entity in set(rec.column("entity").to_pylist()):
            mine = pc.equal(rec.column("entity"), entity)
            values = rec.column("entity_id").filter(mine).to_numpy()
            assert values.min() >= 0, feed.name
            assert values.max() < sizes[entity], feed.name


def test_quarantine_holds_exactly_the_planted_rows(
    feeds: dict[str, Feed], quarantined: dict[str, tuple[int, int, list[int]]]
) -> None:
    for name, (read, loaded, rows) in quarantined.items():
        feed = feeds[name]
        assert read == feed.table.num_rows, name
        assert feed.planted, name
        assert rows == [r for r, _ in feed.planted], name
        assert loaded == read - len(feed.planted), name


def test_residents_register_is_latin1_and_leaves_out_most_diplomats(
    city: tuple[World, Population, Assets], feeds: dict[str, Feed]
) -> None:
    _, pop, _ = city
    feed = feeds["residents_registry"]
    assert feed.csv == {"delimiter": ";", "encoding": "latin-1"}
    for col in feed.table.columns:
        for value in col.to_pylist():
            if value is not None:
                value.encode("latin-1")
    assert feed.records is not None
    listed = set(feed.records.column("entity_id").to_pylist())
    diplomats = {
        int(p)
        for p in np.flatnonzero(
            np.isin(pop.person_role, ("diplomat", "attache")) & (pop.person_nationality != "DE")
        )
    }
    assert len(diplomats & listed) < 0.4 * len(diplomats)
    others = {int(p) for p in np.flatnonzero(~np.isin(pop.person_role, ("diplomat", "attache")))}
    assert len(others - listed) < 0.1 * len(others)  # only their households are missing
    dates = [d for d in feed.table.column("Geburtsdatum").to_pylist() if d]
    assert all(re.fullmatch(r"\d\d\.\d\d\.\d{4}", d) for d in dates)


def test_wrong_birth_dates_are_rare(
    city: tuple[World, Population, Assets], feeds: dict[str, Feed]
) -> None:
    _, pop, _ = city
    feed = feeds["residents_registry"]
    planted = {r - 1 for r, _ in feed.planted}
    assert feed.records is not None
    ids = feed.records.column("entity_id").to_pylist()
    wrong = total = 0
    births = feed.table.column("Geburtsdatum").to_pylist()
    for i, (p, d) in enumerate(zip(ids, births, strict=True)):
        if d is None or i in planted:
            continue
        total += 1
        wrong += f"{d[6:]}-{d[3:5]}-{d[:2]}" != str(pop.person_birth[p])
    assert 0 < wrong < 0.05 * total


def test_accreditation_names_use_other_spellings(
    city: tuple[World, Population, Assets], feeds: dict[str, Feed]
) -> None:
    _, pop, _ = city
    feed = feeds["accreditation_list"]
    assert feed.format == "parquet"
    names = feed.table.column("name").to_pylist()
    truth = _truth_names(pop, feed)
    written = [(n, t) for n, t in zip(names, truth, strict=True) if n is not None]
    assert all(n.split(",")[0].split()[0].isupper() for n, _ in written)  # FAMILY first
    differ = [sorted(latin_name(n).split()) != sorted(latin_name(t).split()) for n, t in written]
    assert 0.05 < sum(differ) / len(differ) < 0.5
    # still recognisable: the same person's names stay close
    assert all(compare_latin(latin_name(n), latin_name(t)) > 0.6 for n, t in written)


def test_employer_list_mixes_scripts_formats_and_nicknames(
    city: tuple[World, Population, Assets], feeds: dict[str, Feed]
) -> None:
    _, pop, _ = city
    feed = feeds["employer_list"]
    names = feed.table.column("name").to_pylist()
    assert any(_HAN.search(n) for n in names)
    dates = [d for d in feed.table.column("date_of_birth").to_pylist() if d]
    assert any(re.fullmatch(r"\d\d/\d\d/\d{4}", d) for d in dates)
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d", d) for d in dates)
    truth = _truth_names(pop, feed)
    latin = [(latin_name(n), latin_name(t)) for n, t in zip(names, truth, strict=True)]
    differ = sum(sorted(a.split()) != sorted(b.split()) for a, b in latin)
    assert 0.03 < differ / len(latin) < 0.4
    phones = [p for p in feed.table.column("work_phone").to_pylist() if p]
    assert phones
    assert feed.options == {"phone_region": "DE"}


def test_subscribers_prepaid_without_or_with_false_names(
    city: tuple[World, Population, Assets], feeds: dict[str, Feed]
) -> None:
    _, pop, assets = city
    feed = feeds["subscriber_register"]
    t = feed.table
    assert feed.records is not None
    device = feed.records.column("entity_id").to_pylist()
    contract = t.column("Vertragsart").to_pylist()
    names = t.column("Teilnehmer").to_pylist()
    prepaid = [i for i, c in enumerate(contract) if c.lower().startswith("prepaid")]
    assert any(names[i] is None for i in prepaid)
    false = [
        i
        for i in prepaid
        if names[i] is not None
        and compare_latin(
            latin_name(names[i]), latin_name(pop.person_name[assets.device_person[device[i]]])
        )
        < 0.7
    ]
    assert false
    msisdn = [m for m in t.column("Rufnummer").to_pylist() if m]
    assert any(m.startswith("+49") for m in msisdn)
    assert any(m.startswith("0") for m in msisdn)
    # a handset swap keeps one subscription row (with the new IMEI), a number swap
    # starts a second one on the day of the swap
    swaps = list(zip(assets.swap_new.tolist(), assets.swap_kind.tolist(), strict=True))
    handset = [n for n, k in swaps if k == "handset"]
    number = [n for n, k in swaps if k == "number"]
    assert handset
    assert number
    # one current row per line (a line may also have an earlier row of an old SIM card)
    assert len(set(device)) == len(assets.device_person) - len(handset)
    assert set(handset) <= set(device)
    started = t.column("Aktivierung").to_pylist()
    for n, t_swap in zip(assets.swap_new.tolist(), assets.swap_time.tolist(), strict=True):
        if n in number:
            day = dt.datetime.fromtimestamp(t_swap, LOCAL).date()
            assert started[device.index(n)] == day


def test_vehicles_registered_to_organisations_and_taxi_firms(
    city: tuple[World, Population, Assets], feeds: dict[str, Feed]
) -> None:
    _, _, assets = city
    feed = feeds["vehicle_register"]
    assert feed.records is not None
    vehicle = feed.records.column("entity_id").to_pylist()
    firm = feed.table.column("Halter_Firma").to_pylist()
    kind = [str(assets.vehicle_kind[v]) for v in vehicle]
    by_org = [k for k, f in zip(kind, firm, strict=True) if f is not None]
    assert {"company", "taxi"} <= set(by_org)
    assert all(f is not None for k, f in zip(kind, firm, strict=True) if k == "taxi")
    plates = feed.table.column("Kennzeichen").to_pylist()
    assert any(p and "-" not in p and " " not in p for p in plates)  # spacing varies
