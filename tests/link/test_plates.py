"""Misread plates attributed to the true vehicle: known answers built by hand on a
street of six cameras 300 m apart, then a tiny simulated district scored through the
evaluate provider."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tessera.engines.base import Engine
from tessera.errors import StageError
from tessera.evaluate import evaluate
from tessera.evaluate.plates import PROVIDERS
from tessera.link.plates import OUTPUT, PlateSettings, attribute_plates
from tessera.types.plate import plate_key
from tessera.workspace import Workspace

DAY0 = dt.datetime(2026, 10, 5, tzinfo=dt.UTC)
STREET = tuple(f"CAM{i}" for i in range(1, 7))
# six cameras 300 m apart on a north-south street, and one 25 km away
CAMERAS = {cam: (52.50 + 0.0027 * i, 13.40) for i, cam in enumerate(STREET)} | {
    "FAR": (52.72, 13.40)
}


@dataclass(frozen=True)
class Read:
    plate: str
    camera: str
    time: dt.datetime
    confidence: float = 0.96


def trip(
    plate: str,
    start: dt.datetime,
    cameras: Sequence[str] = STREET,
    *,
    step_s: int = 30,
    misread: dict[int, str] | None = None,
) -> list[Read]:
    """A car passing ``cameras`` every ``step_s`` seconds; ``misread`` replaces the read
    at some passes (index -> text as read, with a low OCR confidence)."""
    reads = []
    for i, cam in enumerate(cameras):
        text = (misread or {}).get(i, plate)
        confidence = 0.96 if text == plate else 0.6
        reads.append(Read(text, cam, start + dt.timedelta(seconds=step_s * i), confidence))
    return reads


def daily(plate: str, days: Iterable[int], hours: Iterable[int]) -> list[Read]:
    """Trips along the street at the given hours on the given days."""
    hours = tuple(hours)
    return [
        read
        for day in days
        for hour in hours
        for read in trip(plate, DAY0 + dt.timedelta(days=day, hours=hour))
    ]


def load(ws: Workspace, reads: Sequence[Read], registered: Sequence[str] = ()) -> None:
    e = ws.engine
    for i, (cam, (lat, lon)) in enumerate(CAMERAS.items()):
        e.execute(
            "INSERT INTO sensor (obs_id, source, sensor_id, kind, lat, lon) "
            "VALUES (?, 'cameras', ?, 'plate_camera', ?, ?)",
            [i + 1, cam, lat, lon],
        )
    for i, plate in enumerate(registered):
        e.execute(
            "INSERT INTO reg_vehicle (obs_id, source, record_id, plate, plate_key) "
            "VALUES (?, 'register', ?, ?, ?)",
            [i + 1, f"V{i}", plate, plate_key(plate)],
        )
    for i, r in enumerate(reads):
        e.execute(
            "INSERT INTO obs_plate_read (obs_id, source, read_id, camera_id, plate, plate_key, "
            "time, confidence) VALUES (?, 'anpr', ?, ?, ?, ?, ?, ?)",
            [i + 1, f"R{i}", r.camera, r.plate, plate_key(r.plate), r.time, r.confidence],
        )


def attributed(e: Engine) -> dict[int, dict[str, Any]]:
    rows = e.fetch_rows(
        f"SELECT obs_id, read_plate, plate, corrected, confidence, n_candidates, evidence "
        f"FROM {OUTPUT} ORDER BY obs_id"
    )
    names = ("read_plate", "plate", "corrected", "confidence", "n_candidates", "evidence")
    return {int(r[0]): dict(zip(names, r[1:], strict=True)) for r in rows}


def by_read(out: dict[int, dict[str, Any]], text: str) -> list[dict[str, Any]]:
    return [row for row in out.values() if row["read_plate"] == text]


def test_a_swapped_character_is_corrected_from_the_trip(ws: Workspace) -> None:
    """BXY123 drives the street on three days; on day 0 the third camera reads
    ``8XY123``. That read becomes BXY123, with the swap and the neighbouring read as
    evidence; nothing else changes."""
    reads = daily("BXY123", range(3), [8]) + trip("BXY123", DAY0 + dt.timedelta(hours=17),
                                                 misread={2: "8XY123"})  # fmt: skip
    load(ws, reads, registered=["BXY123"])
    assert attribute_plates(ws.engine) == len(reads)
    out = attributed(ws.engine)
    [row] = by_read(out, "8XY123")
    assert row["plate"] == "BXY123"
    assert row["corrected"]
    assert row["confidence"] >= 0.99
    assert "8->B at position 1" in row["evidence"]
    assert "BXY123 read at CAM2 30 s" in row["evidence"]
    assert sum(r["corrected"] for r in out.values()) == 1
    assert all(r["plate"] == "BXY123" for r in out.values())


def test_a_dropped_character_is_corrected(ws: Workspace) -> None:
    """An unregistered car (through traffic) read as ``BKL4711`` at five cameras and as
    ``BKL471`` at the fourth: the short read is the same car."""
    reads = trip("BKL4711", DAY0 + dt.timedelta(hours=9), misread={3: "BKL471"})
    load(ws, reads)
    attribute_plates(ws.engine)
    [row] = by_read(attributed(ws.engine), "BKL471")
    assert row["plate"] == "BKL4711"
    assert row["corrected"]
    assert row["n_candidates"] == 1
    assert "1 dropped at position 6" in row["evidence"]
    assert row["confidence"] >= 0.99


def test_frequent_real_look_alikes_are_not_merged(ws: Workspace) -> None:
    """BSX505 (registered) and B5X505 (not registered) differ by one look-alike
    character, and both drive the street every day, at different hours: both are real,
    no read is changed, and every read keeps a high confidence."""
    reads = daily("BSX505", range(5), [7, 9, 15]) + daily("B5X505", range(5), [12, 18])
    load(ws, reads, registered=["BSX505"])
    attribute_plates(ws.engine)
    out = attributed(ws.engine)
    assert not any(r["corrected"] for r in out.values())
    weaker = by_read(out, "B5X505")
    assert len(weaker) == 60
    assert all(r["n_candidates"] == 1 and r["confidence"] >= 0.9 for r in weaker)


def test_registered_look_alikes_travelling_together_are_kept_apart(ws: Workspace) -> None:
    """Two registered cars, BXM3813 and BXM383 (one character dropped), drive the street
    one behind the other: the reads of the one read less are not moved to the other."""
    reads = daily("BXM3813", range(3), [8, 9, 17]) + [
        Read(r.plate, r.camera, r.time + dt.timedelta(seconds=5))
        for r in daily("BXM383", range(3), [8, 17])
    ]
    load(ws, reads, registered=["BXM3813", "BXM383"])
    attribute_plates(ws.engine)
    out = attributed(ws.engine)
    assert not any(r["corrected"] for r in out.values())
    kept = by_read(out, "BXM383")
    assert all("kept over BXM3813" in r["evidence"] for r in kept)


def test_a_misread_far_from_any_candidate_stays_as_read(ws: Workspace) -> None:
    """BHN250 drives the street at 08:00; ``BHN25O`` is read once, 25 km away at 03:00
    on another day: no trip and no habit links them, so it stays as read, with a low
    confidence and the one candidate counted."""
    lone = Read("BHN25O", "FAR", DAY0 + dt.timedelta(days=4, hours=3), 0.55)
    reads = [*daily("BHN250", range(3), [8]), lone]
    load(ws, reads, registered=["BHN250"])
    attribute_plates(ws.engine)
    [row] = by_read(attributed(ws.engine), "BHN25O")
    assert row["plate"] == "BHN25O"
    assert not row["corrected"]
    assert row["confidence"] < 0.5
    assert row["n_candidates"] == 1
    assert "kept as read" in row["evidence"]


def test_a_lone_misread_at_a_camera_its_plate_passes_daily(ws: Workspace) -> None:
    """BQR808 passes CAM3 every morning; one morning only CAM3 reads it, as ``BQR8O8``.
    No trip read is near, but the camera's habit attributes it, less surely."""
    habit = [Read("BQR808", "CAM3", DAY0 + dt.timedelta(days=d, hours=7)) for d in range(6)]
    reads = [*habit, Read("BQR8O8", "CAM3", DAY0 + dt.timedelta(days=6, hours=7), 0.6)]
    load(ws, reads, registered=["BQR808"])
    attribute_plates(ws.engine)
    [row] = by_read(attributed(ws.engine), "BQR8O8")
    assert row["plate"] == "BQR808"
    assert row["corrected"]
    assert 0.5 < row["confidence"] < 0.99
    assert "BQR808 read 6 times at CAM3" in row["evidence"]


def test_duplicate_reads_and_plates_without_look_alikes_are_left_alone(ws: Workspace) -> None:
    """A car read twice by one camera a second apart, and a plate with no look-alike:
    every read keeps its plate, with no candidates and a confidence from its support."""
    reads = trip("WF69204", DAY0 + dt.timedelta(hours=10))
    reads.append(Read("WF69204", "CAM3", reads[2].time + dt.timedelta(seconds=1)))
    reads += daily("HHJL8194", range(2), [11])
    load(ws, reads)
    attribute_plates(ws.engine)
    out = attributed(ws.engine)
    assert len(out) == len(reads)
    assert all(not r["corrected"] and r["n_candidates"] == 0 for r in out.values())
    assert {r["confidence"] for r in by_read(out, "HHJL8194")} == {0.99}
    assert {r["confidence"] for r in by_read(out, "WF69204")} == {0.97}
    assert by_read(out, "HHJL8194")[0]["evidence"] == "read 12 times on 2 day(s)"


def test_inputs_are_not_mutated_and_working_tables_are_dropped(ws: Workspace) -> None:
    reads = daily("BXY123", range(2), [8]) + trip("BXY123", DAY0, misread={1: "BXYI23"})
    load(ws, reads, registered=["BXY123"])
    e = ws.engine
    inputs = ("obs_plate_read", "sensor", "reg_vehicle")

    def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        return {t: e.fetch_rows(f"SELECT * FROM {t} ORDER BY ALL") for t in inputs}

    before, tables = snapshot(), set(e.table_names())
    attribute_plates(e, out="plates_attributed")
    assert snapshot() == before
    assert set(e.table_names()) == tables | {"plates_attributed"}
    # run again: the output is replaced, not appended to
    assert attribute_plates(e, out="plates_attributed") == len(reads)


def test_settings_are_validated() -> None:
    with pytest.raises(StageError, match="window_s"):
        PlateSettings(window_s=0)
    with pytest.raises(StageError, match="max_speed_mps"):
        PlateSettings(max_speed_mps=-1)


# -- a tiny simulated district (tests/link/conftest.py), scored by the evaluate provider
def test_misreads_in_a_simulated_district_are_attributed(linked: tuple[Path, Path]) -> None:
    out, path = linked
    m = evaluate(path, out, providers=list(PROVIDERS)).metrics
    # floors that catch breakage, not tuning (measured: 0.990 and 0.0 with this seed)
    assert m["linking.misread.reads"] > 100
    assert m["linking.misread.accuracy"] >= 0.95
    assert m["linking.plate.false_correction_rate"] <= 0.005
    assert m["linking.plate.accuracy"] >= 0.99
    with Workspace.open(path, read_only=True) as ws:
        [(reads, distinct, bad)] = ws.engine.fetch_rows(
            f"SELECT count(*), count(DISTINCT obs_id), count(*) FILTER (WHERE "
            f"corrected <> (plate <> read_plate) OR confidence NOT BETWEEN 0 AND 1 "
            f"OR evidence IS NULL) FROM {OUTPUT}"
        )
        [(source_reads,)] = ws.engine.fetch_rows("SELECT count(*) FROM obs_plate_read")
    assert reads == distinct == source_reads
    assert bad == 0
