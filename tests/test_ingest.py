"""Ingest: counts, quarantine, idempotency, overlaps, every bad-input case, all formats."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from tessera.errors import IngestError, MappingError, SourceFileError
from tessera.workspace import Workspace

UTC = dt.UTC


def write_mapping(path: Path, body: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(body, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def plate_mapping(tmp_path: Path, **extra: Any) -> Path:
    body: dict[str, Any] = {
        "source": "anpr",
        "kind": "plate_read",
        "timezone": "Europe/Berlin",
        "properties": {
            "camera_id": "cam",
            "plate": "plate",
            "time": {"column": "seen", "format": "%d/%m/%Y %H:%M:%S"},
            "confidence": "conf",
        },
    }
    body.update(extra)
    return write_mapping(tmp_path / "anpr.yaml", body)


PLATES_CSV = (
    "cam,plate,seen,conf\n"
    "C1,b-xy 123,01/03/2026 10:00:00,0.9\n"  # row 1
    "C2,BXY123,01/03/2026 10:05:00,0.8\n"  # row 2
    "C3,,01/03/2026 10:06:00,0.7\n"  # row 3: plate missing
    "C4,BXY124,31/02/2026 10:00:00,0.7\n"  # row 4: impossible date
    "C5,BXY125,01/03/2026 11:00:00,1.5\n"  # row 5: confidence above 1
    "C6,BXY126,01/03/2026 12:00:00,0.95\n"  # row 6
)


def snapshot(ws: Workspace) -> dict[str, Any]:
    """Everything a batch could change."""
    e = ws.engine
    return {
        t: sorted(map(repr, e.fetch_rows(f'SELECT * FROM "{t}"')))
        for t in e.table_names()
        if t not in {"tessera_meta"}
    }


def test_csv_counts_quarantine_and_values(ws: Workspace, tmp_path: Path) -> None:
    f = tmp_path / "reads.csv"
    f.write_text(PLATES_CSV, "utf-8")
    [r] = ws.ingest(plate_mapping(tmp_path), [f])
    assert (r.read, r.loaded, r.quarantined, r.added) == (6, 3, 3, 3)
    assert r.read == r.loaded + r.quarantined
    rows = ws.engine.fetch_rows(
        "SELECT row_no, plate, time, confidence, source FROM obs_plate_read ORDER BY row_no"
    )
    assert [x[0] for x in rows] == [1, 2, 6]
    assert rows[0][1] == "BXY123"
    # 10:00 in Berlin (CET, UTC+1) is 09:00 UTC.
    assert rows[0][2] == dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert rows[0][4] == "anpr"
    q = ws.engine.fetch_rows(
        "SELECT row_no, source_column, property, reason, file, raw FROM quarantine ORDER BY row_no"
    )
    assert [(x[0], x[1], x[2]) for x in q] == [
        (3, "plate", "plate"),
        (4, "seen", "time"),
        (5, "conf", "confidence"),
    ]
    assert "missing" in q[0][3]
    assert "maximum" in q[2][3] or "1.5" in q[2][3]
    assert all(x[4] == str(f) for x in q)
    assert json.loads(q[1][5])["seen"] == "31/02/2026 10:00:00"  # raw row kept whole


def test_reingest_same_file_adds_nothing(ws: Workspace, tmp_path: Path) -> None:
    f = tmp_path / "reads.csv"
    f.write_text(PLATES_CSV, "utf-8")
    m = plate_mapping(tmp_path)
    ws.ingest(m, [f])
    before = {t: ws.engine.row_count(t) for t in ("obs_plate_read", "quarantine")}
    [r] = ws.ingest(m, [f])
    assert (r.read, r.loaded, r.quarantined, r.added) == (6, 3, 3, 0)
    assert {t: ws.engine.row_count(t) for t in ("obs_plate_read", "quarantine")} == before
    assert len(ws.status()["batches"]) == 2


def test_overlapping_files_never_duplicate(ws: Workspace, tmp_path: Path) -> None:
    lines = PLATES_CSV.splitlines()
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text("\n".join(lines[:4]) + "\n", "utf-8")  # header + rows 1-3
    # rows 2-6, plus a duplicate of row 6 inside the same file
    b.write_text("\n".join([lines[0], *lines[2:], lines[-1]]) + "\n", "utf-8")
    m = plate_mapping(tmp_path)
    [ra] = ws.ingest(m, [a])
    [rb] = ws.ingest(m, [b])
    assert (ra.added, rb.added) == (2, 1)
    assert rb.loaded == 3
    assert rb.duplicates == 2
    assert ws.engine.row_count("obs_plate_read") == 3
    n_distinct = ws.engine.fetch_rows(
        "SELECT count(DISTINCT (camera_id, plate, time)) FROM obs_plate_read"
    )[0][0]
    assert n_distinct == 3


def test_ragged_rows_quarantined_with_exact_row_numbers(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tessera.ingest.readers as readers

    monkeypatch.setattr(readers, "_CSV_BLOCK", 512)  # many small blocks
    rows = ["cam,plate,seen,conf"]
    bad = {7, 40, 41, 99}
    for i in range(1, 121):
        if i in bad:
            rows.append(f"C{i},P{i}")  # too few fields
        else:
            rows.append(f'C{i},"P {i}",01/03/2026 10:{i % 60:02d}:00,0.5')
    f = tmp_path / "r.csv"
    f.write_text("\n".join(rows) + "\n", "utf-8")
    [r] = ws.ingest(plate_mapping(tmp_path), [f])
    assert (r.read, r.quarantined) == (120, 4)
    q = ws.engine.fetch_rows("SELECT row_no, source_column, raw FROM quarantine ORDER BY row_no")
    assert [x[0] for x in q] == sorted(bad)
    assert all(x[1] == "(row)" for x in q)
    assert json.loads(q[0][2]) == "C7,P7"
    got = ws.engine.fetch_rows("SELECT row_no, camera_id FROM obs_plate_read ORDER BY row_no")
    assert all(cam == f"C{no}" for no, cam in got)  # row numbers line up with content


def test_parquet_and_jsonl(ws: Workspace, tmp_path: Path) -> None:
    t0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    pq.write_table(
        pa.table(
            {
                "number": ["+4915112345678", "015112345678", "garbage", None],
                "when": pa.array([t0, t0, t0, t0], pa.timestamp("ms", tz="UTC")),
                "typ": ["LU", "LU", "sms", "LU"],
                "cell": ["S1", "S1", "S3", "S4"],
            }
        ),
        tmp_path / "ev.parquet",
    )
    m = write_mapping(
        tmp_path / "ev.yaml",
        {
            "source": "op",
            "kind": "device_event",
            "phone_region": "DE",
            "files": ["ev.parquet"],
            "properties": {
                "msisdn": "number",
                "time": "when",
                "sensor_id": "cell",
                "event_type": {"column": "typ", "values": {"LU": "location_update"}},
            },
        },
    )
    [r] = ws.ingest(m)
    # row 3: invalid phone; row 4: no identifier at all (rule)
    assert (r.read, r.loaded, r.quarantined, r.added) == (4, 2, 2, 1)  # rows 1, 2 same event
    reasons = ws.engine.fetch_rows("SELECT row_no, source_column FROM quarantine ORDER BY 1")
    assert reasons == [(3, "number"), (4, "(row)")]

    jl = tmp_path / "cdr.jsonl"
    jl.write_text(
        '{"a": "+4915112345678", "b": "+4915187654321", "ts": 1772352000000, '
        '"k": "voice", "d": 12}\n'
        "not json\n"
        '{"a": "+4915112345678", "b": "+4915187654321", "ts": 1772352060000, "k": "sms"}\n',
        "utf-8",
    )
    m2 = write_mapping(
        tmp_path / "cdr.yaml",
        {
            "source": "cdr",
            "kind": "communication",
            "properties": {
                "from_number": "a",
                "to_number": "b",
                "time": {"column": "ts", "format": "epoch_ms"},
                "channel": {"column": "k", "values": {"voice": "call"}},
                "duration_s": "d",
            },
        },
    )
    [r2] = ws.ingest(m2, [jl])
    assert (r2.read, r2.loaded, r2.quarantined) == (3, 2, 1)
    rows = ws.engine.fetch_rows(
        "SELECT channel, duration_s, time FROM obs_communication ORDER BY time"
    )
    assert rows[0] == ("call", 12.0, dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    assert rows[1][0] == "sms"
    assert rows[1][1] is None


def test_latin1_semicolon_constant_and_joined_columns(ws: Workspace, tmp_path: Path) -> None:
    f = tmp_path / "people.csv"
    f.write_bytes("ID;Vorname;Nachname;Geb\n1;Jürgen;Müller;02.01.1970\n".encode("latin-1"))
    m = write_mapping(
        tmp_path / "p.yaml",
        {
            "source": "reg",
            "kind": "registry.person",
            "csv": {"encoding": "latin-1"},
            "properties": {
                "record_id": "ID",
                "full_name": {"columns": ["Vorname", "Nachname"], "join": " "},
                "birth_date": {"column": "Geb", "format": "%d.%m.%Y"},
                "nationality": {"constant": "DE"},
            },
        },
    )
    [r] = ws.ingest(m, [f])
    assert (r.read, r.loaded) == (1, 1)
    row = ws.engine.fetch_rows("SELECT full_name, birth_date, nationality FROM reg_person")[0]
    assert row == ("Jürgen Müller", dt.date(1970, 1, 2), "DE")


def test_nothing_changes_on_file_errors(ws: Workspace, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(PLATES_CSV, "utf-8")
    m = plate_mapping(tmp_path)
    ws.ingest(m, [good])
    before = snapshot(ws)

    cases: dict[str, tuple[bytes, str]] = {
        "empty.csv": (b"", "empty"),
        "missing.csv": (b"cam,plate,when,conf\nC1,X1,01/03/2026 10:00:00,0.5\n", "'seen'"),
        "binary.csv": (b"PAR1\x00\x01\x02\x00garbage", "not a text file"),
        "trunc.csv": (PLATES_CSV.encode() + b"C7,BXY127,01/03/20", "truncated"),
        "quote.csv": (PLATES_CSV.encode() + b'C7,"BXY127,01/03/2026 10:00:00,0.5', "truncated"),
        "utf.csv": (
            PLATES_CSV.encode() + "C8,BÖ1,01/03/2026 10:00:00,0.5\n".encode("latin-1"),
            "encoding",
        ),
        "header_only.csv": (b"cam,plate,seen,conf\n", "no data rows"),
    }
    for name, (content, expected) in cases.items():
        f = tmp_path / name
        f.write_bytes(content)
        with pytest.raises(SourceFileError) as info:
            ws.ingest(m, [f])
        msg = str(info.value)
        assert str(f) in msg, name
        assert expected in msg, (name, msg)
        assert snapshot(ws) == before, name

    # A file whose delimiter differs from the one the mapping fixes: the error says so.
    semi = tmp_path / "semicolons.csv"
    semi.write_bytes(b"cam;plate;seen;conf\nC1;X;01/03/2026 10:00:00;0.5\n")
    fixed = plate_mapping(tmp_path, csv={"delimiter": ","})
    with pytest.raises(SourceFileError, match="delimiter") as info:
        ws.ingest(fixed, [semi])
    assert str(semi) in str(info.value)
    assert snapshot(ws) == before
    # Left to sniff, the same file loads.
    [r] = ws.ingest(plate_mapping(tmp_path), [semi])
    assert (r.read, r.loaded) == (1, 1)


def test_parquet_file_errors(ws: Workspace, tmp_path: Path) -> None:
    pq.write_table(
        pa.table(
            {
                "cam": ["C1"] * 1000,
                "plate": ["X"] * 1000,
                "seen": ["01/03/2026 10:00:00"] * 1000,
                "conf": [0.5] * 1000,
            }
        ),
        tmp_path / "full.parquet",
    )
    data = (tmp_path / "full.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.parquet").write_text(PLATES_CSV, "utf-8")
    m = plate_mapping(tmp_path)
    before = snapshot(ws)
    with pytest.raises(SourceFileError, match="truncated"):
        ws.ingest(m, [tmp_path / "cut.parquet"])
    with pytest.raises(SourceFileError, match="not a Parquet file"):
        ws.ingest(m, [tmp_path / "text.parquet"])
    assert snapshot(ws) == before
    [r] = ws.ingest(m, [tmp_path / "full.parquet"])
    assert (r.read, r.added) == (1000, 1)


def test_truncated_jsonl(ws: Workspace, tmp_path: Path) -> None:
    jl = tmp_path / "cut.jsonl"
    jl.write_text(
        '{"a": "+4915112345678", "b": "+4915187654321", "ts": 1, "k": "sms"}\n'
        '{"a": "+4915112345678", "b": "+49151',
        "utf-8",
    )
    m = write_mapping(
        tmp_path / "c.yaml",
        {
            "source": "cdr",
            "kind": "communication",
            "properties": {
                "from_number": "a",
                "to_number": "b",
                "time": {"column": "ts", "format": "epoch_ms"},
                "channel": "k",
            },
        },
    )
    with pytest.raises(SourceFileError, match="truncated"):
        ws.ingest(m, [jl])
    assert ws.engine.row_count("obs_communication") == 0


def test_timestamps_without_zone_need_a_timezone(ws: Workspace, tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text(PLATES_CSV, "utf-8")
    body = yaml.safe_load(plate_mapping(tmp_path).read_text())
    del body["timezone"]
    m = write_mapping(tmp_path / "nozone.yaml", body)
    with pytest.raises(IngestError, match="timezone"):
        ws.ingest(m, [f])
    assert ws.engine.row_count("obs_plate_read") == 0
    assert ws.status()["batches"] == []


def test_wrong_kind_and_mapping_errors(ws: Workspace, tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text(PLATES_CSV, "utf-8")
    m = plate_mapping(tmp_path)
    with pytest.raises(MappingError, match="declares kind 'plate_read'"):
        ws.ingest(m, [f], kind="device_event")
    bad_bodies = {
        "unknown key": {
            "source": "x",
            "kind": "plate_read",
            "properties": {"plate": "p"},
            "timzone": "UTC",
        },
        "no property": {"source": "x", "kind": "plate_read", "properties": {"plates": "p"}},
        "exactly one": {
            "source": "x",
            "kind": "plate_read",
            "properties": {"plate": {"column": "p", "constant": "X"}},
        },
        "time zone": {
            "source": "x",
            "kind": "plate_read",
            "timezone": "Mars/Olympus",
            "properties": {"plate": "p"},
        },
        "phone region": {
            "source": "x",
            "kind": "plate_read",
            "phone_region": "XX",
            "properties": {"plate": "p"},
        },
        "unknown source kind": {"source": "x", "kind": "plates", "properties": {"plate": "p"}},
        "formats": {
            "source": "x",
            "kind": "plate_read",
            "properties": {"plate": {"column": "p", "format": "%Y"}},
        },
    }
    for expected, body in bad_bodies.items():
        path = write_mapping(tmp_path / "bad.yaml", body)
        with pytest.raises((MappingError, Exception)) as info:
            ws.ingest(path, [f])
        assert expected in str(info.value), (expected, str(info.value))
        assert "bad.yaml" in str(info.value) or expected in {
            "no property",
            "unknown source kind",
            "formats",
        }
    assert ws.status()["batches"] == []


def test_status_json_shape(ws: Workspace, tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text(PLATES_CSV, "utf-8")
    ws.ingest(plate_mapping(tmp_path), [f])
    st = ws.status()
    assert st["tables"]["obs_plate_read"] == 3
    assert st["quarantined"] == 3
    [b] = st["batches"]
    assert {"source", "file", "read", "loaded", "quarantined"} <= set(b)
    assert (b["source"], b["read"], b["loaded"], b["quarantined"]) == ("anpr", 6, 3, 3)


def test_parquet_engine_scan_matches_arrow_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's own Parquet scan and the Arrow chunk path load the same rows and
    quarantine the same ones, for the same reasons."""
    import tessera.ingest.loader as loader

    n = 5_000
    rng = np.random.default_rng(7)
    numbers = np.array(["+4915112345678", "015112345679", "garbage", "+12025550143", None])
    events = np.array(["LU", "SMS", "nonsense", None])
    pq.write_table(
        pa.table(
            {
                "number": pa.array(numbers[rng.integers(0, 5, n)].tolist()),
                "when": pa.array(
                    np.int64(1_772_000_000_000) + rng.integers(0, 10**7, n) * 1000,
                    pa.timestamp("ms"),
                ),  # no zone: the mapping's timezone applies
                "typ": pa.array(events[rng.integers(0, 4, n)].tolist()),
                "cell": pa.array([f" s{x} " for x in rng.integers(0, 50, n)]),
                "lat": pa.array(rng.uniform(-100, 100, n)),
                "lon": pa.array(rng.uniform(-10, 10, n)),
                "acc": pa.array(rng.integers(-5, 500, n).astype("float64")),
            },
            schema=None,
        ),
        tmp_path / "ev.parquet",
        row_group_size=700,
    )
    m = write_mapping(
        tmp_path / "ev.yaml",
        {
            "source": "op",
            "kind": "device_event",
            "phone_region": "DE",
            "timezone": "Europe/Berlin",
            "properties": {
                "msisdn": "number",
                "time": "when",
                "sensor_id": "cell",
                "lat": "lat",
                "lon": "lon",
                "accuracy_m": "acc",
                "event_type": {"column": "typ", "values": {"LU": "location_update"}},
            },
        },
    )

    real = loader._native_parquet
    used: list[bool] = []

    def load(native: bool) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], Any]:
        def spy(*args: Any) -> bool:
            used.append(native and real(*args))
            return used[-1]

        monkeypatch.setattr(loader, "_native_parquet", spy)
        with Workspace.init(tmp_path / f"ws_{native}") as ws:
            [r] = ws.ingest(m, [tmp_path / "ev.parquet"])
            rows = ws.engine.fetch_rows(
                "SELECT * EXCLUDE (obs_id, batch_id) FROM obs_device_event ORDER BY row_no"
            )
            quarantined = ws.engine.fetch_rows(
                "SELECT row_no, source_column, property, reason, raw FROM quarantine "
                "ORDER BY row_no"
            )
        monkeypatch.undo()
        return rows, quarantined, (r.read, r.loaded, r.added, r.quarantined)

    native = load(True)
    arrow = load(False)
    assert used == [True, False]
    assert native[2] == arrow[2]
    assert native[2][3] > 0  # the file has bad rows of several kinds
    assert native[0] == arrow[0]
    assert native[1] == arrow[1]


def test_on_error_null_keeps_the_row_and_records_the_dropped_value(
    ws: Workspace, tmp_path: Path
) -> None:
    """Rows 3 (no plate), 4 (impossible date) and 5 (confidence 1.5) of PLATES_CSV: with
    ``on_error: null`` on ``confidence`` row 5 is kept with no confidence and the bad
    value is recorded in quarantine; rows 3 and 4 fail on properties mapped without the
    option, so they are still quarantined whole."""
    f = tmp_path / "reads.csv"
    f.write_text(PLATES_CSV, "utf-8")
    props = {
        "camera_id": "cam",
        "plate": "plate",
        "time": {"column": "seen", "format": "%d/%m/%Y %H:%M:%S"},
        "confidence": {"column": "conf", "on_error": None},  # YAML `on_error: null`
    }
    [r] = ws.ingest(plate_mapping(tmp_path, properties=props), [f])
    assert (r.read, r.loaded, r.quarantined, r.added, r.values_nulled) == (6, 4, 2, 4, 1)
    rows = ws.engine.fetch_rows("SELECT row_no, confidence FROM obs_plate_read ORDER BY row_no")
    assert rows == [(1, 0.9), (2, 0.8), (5, None), (6, 0.95)]
    q = ws.engine.fetch_rows(
        "SELECT row_no, source_column, property, reason, raw FROM quarantine ORDER BY row_no"
    )
    assert [(x[0], x[1], x[2]) for x in q] == [(3, "plate", "plate"), (4, "seen", "time"),
                                               (5, "conf", "confidence")]  # fmt: skip
    assert q[2][3].endswith("value set to null, row kept (on_error: null)")
    assert json.loads(q[2][4])["conf"] == "1.5"
    # re-ingesting the file records nothing twice
    [r2] = ws.ingest(plate_mapping(tmp_path, properties=props), [f])
    assert (r2.added, ws.engine.row_count("quarantine")) == (0, 3)


def test_on_error_null_on_a_required_property_is_a_mapping_error(
    ws: Workspace, tmp_path: Path
) -> None:
    f = tmp_path / "reads.csv"
    f.write_text(PLATES_CSV, "utf-8")
    props = {
        "camera_id": "cam",
        "plate": {"column": "plate", "on_error": "null"},
        "time": {"column": "seen", "format": "%d/%m/%Y %H:%M:%S"},
    }
    with pytest.raises(MappingError, match="on_error: null on 'plate'"):
        ws.ingest(plate_mapping(tmp_path, properties=props), [f])
    with pytest.raises(MappingError, match="on_error"):
        ws.ingest(plate_mapping(tmp_path, properties={**props, "plate": {
            "column": "plate", "on_error": "skip"}}), [f])  # fmt: skip
