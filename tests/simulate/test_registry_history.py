"""History rows in the registers: earlier registrations of a vehicle and earlier SIM
cards of a line, so that some entities have two records to resolve.

One small district is simulated and written; the vehicle and subscriber registers are
read back from its files and checked against its truth (``records.parquet``, devices,
vehicles, plate reads and the operators' events), and loaded into a workspace where
only the planted rows may be quarantined.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.csv as pv
import pyarrow.parquet as pq
import pytest

from tessera.types import get_type
from tessera.types.base import CleanOptions
from tessera.workspace import Workspace

PEOPLE, DAYS, SEED = 600, 1, 3
_COLOURS = {"schwarz": "black", "silber": "silver", "weiß": "white", "grau": "grey",
            "blau": "blue", "rot": "red", "dunkelblau": "dark blue"}  # fmt: skip
_KINDS = {"privat": "private", "diplomatenkennzeichen": "diplomatic", "cd": "diplomatic",
          "dienstkennzeichen": "official", "gewerblich": "company", "taxi": "taxi"}  # fmt: skip

# vehicle register columns read as text (the CSV reader would take some for numbers)
_TEXT = ("Zulassungsnummer", "Kennzeichen", "FIN", "Halter_Kennung", "Zulassung_ab",
         "Zulassung_bis", "Farbe", "Modell")  # fmt: skip


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tessera.simulate.output import simulate

    folder = tmp_path_factory.mktemp("history") / "out"
    simulate(folder, persons=PEOPLE, days=DAYS, seed=SEED)
    return folder


def _rows(out: Path, source: str) -> list[dict[str, Any]]:
    """The feed's rows, each with the truth's ``entity_id`` (as ``_entity``)."""
    if source == "vehicle_register":
        table = pv.read_csv(
            out / "sources" / "vehicle_register.csv",
            parse_options=pv.ParseOptions(delimiter=";"),
            convert_options=pv.ConvertOptions(
                column_types=dict.fromkeys(_TEXT, "string"),
                strings_can_be_null=True,
            ),
        )
        key = "Zulassungsnummer"
    else:
        table = pq.read_table(out / "sources" / "subscriber_register.parquet")
        key = "Vertragsnummer"
    records = pq.read_table(out / "truth" / "records.parquet")
    records = records.filter(pc.equal(records.column("source"), source))
    entity = dict(
        zip(
            records.column("record_id").to_pylist(),
            records.column("entity_id").to_pylist(),
            strict=True,
        )
    )
    rows = table.to_pylist()
    for row in rows:
        row["_entity"] = entity[row[key]]
    assert len(entity) == len(rows)
    return rows


def _pairs(
    rows: list[dict[str, Any]], ended: str
) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], Counter[int]]:
    """(current row, history row) of each entity with two rows, the history row being
    the ended one; and the number of rows of each entity."""
    by_entity: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_entity.setdefault(row["_entity"], []).append(row)
    pairs = []
    for group in by_entity.values():
        if len(group) == 2:
            first, second = group
            current, old = (first, second) if second[ended] is not None else (second, first)
            pairs.append((current, old))
    return pairs, Counter(len(g) for g in by_entity.values())


def _date(text: str) -> dt.date:
    if "." in text:
        return dt.datetime.strptime(text, "%d.%m.%Y").date()
    return dt.date.fromisoformat(text)


def _plate_key(plate: str) -> str:
    return "".join(c for c in plate if c.isalnum()).upper()


def _planted(out: Path, file: str) -> set[int]:
    planted = pq.read_table(out / "truth" / "planted_errors.parquet").to_pydict()
    return {r - 1 for r, f in zip(planted["row_no"], planted["file"], strict=True) if f == file}


def test_some_vehicles_have_an_earlier_registration(out: Path) -> None:
    rows = _rows(out, "vehicle_register")
    vehicles = pq.read_table(out / "truth" / "vehicles.parquet").num_rows
    pairs, sizes = _pairs(rows, "Zulassung_bis")
    assert set(sizes) == {1, 2}
    assert sum(sizes.values()) == vehicles  # every vehicle is listed
    assert 0.05 <= sizes[2] / vehicles <= 0.15
    assert len(pairs) == sizes[2]
    # only the history rows have ended; the current ones are open
    assert sum(r["Zulassung_bis"] is not None for r in rows) == sizes[2]


def test_vehicle_history_rows_are_earlier_records_of_the_same_car(out: Path) -> None:
    rows = _rows(out, "vehicle_register")
    planted = _planted(out, "vehicle_register.csv")
    bad = {rows[i]["Zulassungsnummer"] for i in planted}
    pairs, _ = _pairs(rows, "Zulassung_bis")
    same_vin = same_plate = same_keeper = 0
    for current, old in pairs:
        assert old["Zulassungsnummer"] not in bad  # history rows are never planted
        if current["Zulassungsnummer"] not in bad:
            began = _date(current["Zulassung_ab"])
            assert _date(old["Zulassung_bis"]) == began - dt.timedelta(days=1)
        years = (_date(old["Zulassung_bis"]) - _date(old["Zulassung_ab"])).days / 365.25
        assert 0.9 < years < 8.1
        if current["FIN"] and old["FIN"]:
            same_vin += current["FIN"].upper() == old["FIN"].upper()
        if current["Kennzeichen"] and current["Zulassungsnummer"] not in bad:
            same_plate += _plate_key(current["Kennzeichen"]) == _plate_key(old["Kennzeichen"])
        same_keeper += current["Halter_Kennung"] == old["Halter_Kennung"]
        assert current["Hersteller"].upper() == old["Hersteller"].upper()
        assert current["Modell"] == old["Modell"]
        colour = old["Farbe"].lower()
        assert _COLOURS.get(current["Farbe"], current["Farbe"]) == _COLOURS.get(colour, colour)
        assert _KINDS[current["Kennzeichenart"].lower()] == _KINDS[old["Kennzeichenart"].lower()]
    n = len(pairs)
    assert same_vin >= 0.85 * n
    assert 0.25 * n < same_plate < 0.75 * n
    assert 0.3 * n < same_keeper < 0.95 * n


def test_old_plates_belong_to_no_vehicle_and_are_never_read(out: Path) -> None:
    rows = _rows(out, "vehicle_register")
    pairs, _ = _pairs(rows, "Zulassung_bis")
    planted = {rows[i]["Zulassungsnummer"] for i in _planted(out, "vehicle_register.csv")}
    old_plates = {
        _plate_key(old["Kennzeichen"])
        for current, old in pairs
        if current["Zulassungsnummer"] not in planted
        and _plate_key(current["Kennzeichen"]) != _plate_key(old["Kennzeichen"])
    }
    assert old_plates
    plates = pq.read_table(out / "truth" / "vehicles.parquet").column("plate").to_pylist()
    assert not old_plates & {_plate_key(p) for p in plates}
    reads = pq.read_table(out / "truth" / "plate_reads.parquet").column("true_plate")
    assert not old_plates & {_plate_key(p) for p in reads.to_pylist()}
    seen = pv.read_csv(out / "sources" / "anpr_reads.csv").column("plate_text").to_pylist()
    assert not old_plates & {_plate_key(str(p)) for p in seen}


def test_some_lines_have_an_earlier_sim_card(out: Path) -> None:
    rows = _rows(out, "subscriber_register")
    swaps = pq.read_table(out / "truth" / "device_swaps.parquet").to_pydict()
    number_swapped = {
        d
        for o, w, k in zip(
            swaps["old_device_id"], swaps["new_device_id"], swaps["kind"], strict=True
        )
        if k == "number"
        for d in (o, w)
    }
    pairs, sizes = _pairs(rows, "Kuendigung")
    lines = sum(sizes.values())
    assert set(sizes) == {1, 2}
    assert 0.04 <= sizes[2] / lines <= 0.12
    assert not {current["_entity"] for current, _ in pairs} & number_swapped


def test_subscription_history_rows_are_old_sim_cards_of_the_same_line(out: Path) -> None:
    rows = _rows(out, "subscriber_register")
    bad = {rows[i]["Vertragsnummer"] for i in _planted(out, "subscriber_register.parquet")}
    devices = pq.read_table(out / "truth" / "devices.parquet").to_pydict()
    imei_of = dict(zip(devices["device_id"], devices["imei"], strict=True))
    phone = get_type("phone")
    options = CleanOptions(phone_region="DE")
    pairs, _ = _pairs(rows, "Kuendigung")
    assert pairs
    for current, old in pairs:
        assert old["Vertragsnummer"] not in bad
        assert old["Kuendigung"] == current["Aktivierung"]
        assert old["Aktivierung"] < old["Kuendigung"]
        assert current["Kuendigung"] is None
        assert old["IMEI"] is None or old["IMEI"] in set(imei_of.values())
        if current["Vertragsnummer"] in bad:
            continue
        assert (
            phone.clean(old["Rufnummer"], options).value
            == phone.clean(current["Rufnummer"], options).value
        )
        assert old["IMSI"] != current["IMSI"]
        assert len(old["IMSI"]) == 15
        assert old["IMSI"][:5] == current["IMSI"][:5]
        assert get_type("imsi").clean(old["IMSI"]).value == old["IMSI"]


def test_old_imsis_belong_to_no_device_and_are_never_seen(out: Path) -> None:
    rows = _rows(out, "subscriber_register")
    pairs, _ = _pairs(rows, "Kuendigung")
    assert pairs
    old_imsis = {old["IMSI"] for _, old in pairs}
    assert len(old_imsis) == len(pairs)  # every old SIM card its own
    devices = pq.read_table(out / "truth" / "devices.parquet").column("imsi").to_pylist()
    assert not old_imsis & set(devices)
    for file, column in (
        ("network_events_operator_a.parquet", "IMSI"),
        ("network_events_operator_b.parquet", "subscriber_imsi"),
    ):
        seen = pq.read_table(out / "sources" / file, columns=[column]).column(column)
        assert not old_imsis & set(pc.unique(seen).to_pylist()), file


def test_history_rows_load_and_only_planted_rows_are_quarantined(out: Path, tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        for source in ("vehicle_register", "subscriber_register"):
            [result] = ws.ingest(out / "mappings" / f"{source}.yaml")
            file = (out / "mappings" / f"{source}.yaml").read_text()
            planted = pq.read_table(out / "truth" / "planted_errors.parquet").to_pydict()
            mine = sorted(
                r for r, s in zip(planted["row_no"], planted["source"], strict=True) if s == source
            )
            quarantined = ws.engine.fetch_rows(
                "SELECT row_no FROM quarantine WHERE source = ? ORDER BY row_no", [source]
            )
            assert [int(r[0]) for r in quarantined] == mine, file
            assert result.loaded == result.read - len(mine)
        [(ended,)] = ws.engine.fetch_rows(
            "SELECT count(*) FROM reg_vehicle WHERE registered_to IS NOT NULL"
        )
        [(backwards,)] = ws.engine.fetch_rows(
            "SELECT count(*) FROM reg_vehicle WHERE registered_to < registered_from"
        )
    rows = _rows(out, "vehicle_register")
    assert ended == sum(r["Zulassung_bis"] is not None for r in rows) > 0
    assert backwards == 0  # no registration ends before it begins
