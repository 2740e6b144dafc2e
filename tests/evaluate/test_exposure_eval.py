"""The ``exposure`` evaluation provider: known answers on a hand-built world, and a run
on the simulated district.

The hand-built world (:func:`_world`), one UTC day, buildings ``10`` and ``12`` in one
250 m grid cell, ``11``, ``13`` and ``14`` each in a cell of its own:

===========  ========  ===================  ==========================================
true person  building  stay (UTC)           true trace
===========  ========  ===================  ==========================================
0 (A)        10        00:00-06:00          hours 0..5 in cell X (6 points)
3 (D)        12        00:00-06:00          the same 6 points (D is not assessed)
1 (B)        13        00:00-06:00          hours 0..5 in cell Z
5 (F)        13        00:00-06:00          the same (not assessed)
2 (C)        11        00:30-05:10          hours 0..5 in cell Y: nobody else there
4 (E)        14        01:00-04:00          hours 1..3 only (ends on the hour): 3 points
===========  ========  ===================  ==========================================

D also has a stay outside the district (building -1), which has no place. True
``unicity_4``: A 0 and B 0 (each has a twin, whom the workspace never assessed), C 1,
E undefined (fewer than 4 points).

The workspace assessed ``person:1`` (A, unicity_4 0.2), ``person:2`` (B, 0.1),
``person:3`` (C, 0.9, 50 points), ``person:4`` (also C, by its record, 0.0 but only
10 points: not the one scored), ``person:5`` (E, 0.5: left out, E's true trace is too
short) and ``person:6`` (no record in the truth: left out). Compared: A, B, C, so

* ``exposure.people`` = 3, ``truth_mean`` = (0 + 0 + 1) / 3 = 1/3;
* ``mean_error`` = (0.2 + 0.1 + 0.9) / 3 - 1/3 = 0.4 - 1/3 = 1/15;
* ``spearman``: ranks of (0.2, 0.1, 0.9) are (2, 1, 3), of (0, 0, 1) (1.5, 1.5, 3);
  centred (0, -1, 1) and (-0.5, -0.5, 1): 1.5 / sqrt(2 * 1.5) = sqrt(3) / 2.

``exposure_link`` names 9 device or vehicle identifiers (plus one registry record, not
scored): ``imsi:111`` of A (right), ``imei:222`` of B (right), ``imsi:333`` of C (wrong:
A's), plate ``BXY123`` of C (right: C drives it), ``CD1`` of A (right: A is the
passenger of that diplomatic car), ``TX1`` of B (wrong: B only rode in the taxi), the
handset ``imsi:111@imei:999`` of A (right: both parts A's), ``imsi:111@imei:222`` of A
(wrong: the IMEI is B's) and ``imsi:111`` of ``person:6`` (wrong: stands for nobody):
precision 5/9.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tessera.evaluate import evaluate
from tessera.evaluate.exposure import PROVIDERS, spearman
from tessera.exposure import tables
from tessera.workspace import Workspace


def _ts(values: list[str]) -> pa.Array:
    """Times of 2 March 2026, UTC."""
    day = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    return pa.array(
        [day + (dt.datetime.strptime(v, "%H:%M:%S") - dt.datetime(1900, 1, 1)) for v in values],
        pa.timestamp("ms", "UTC"),
    )


def _truth(folder: Path) -> Path:
    folder.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "source": ["registry"] * 5,
                "record_id": ["r1", "r2", "r3", "r4", "r5"],
                "entity": ["person"] * 5,
                "entity_id": pa.array([0, 1, 2, 2, 4], pa.int32()),
            }
        ),
        folder / "records.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "building_id": pa.array([10, 11, 12, 13, 14], pa.int32()),
                "lat": [52.5003, 52.5203, 52.5008, 52.5403, 52.5603],
                "lon": [13.4001, 13.4501, 13.4005, 13.5001, 13.5501],
            }
        ),
        folder / "buildings.parquet",
    )
    stays = [
        (0, 10, "00:00:00", "06:00:00"),
        (3, 12, "00:00:00", "06:00:00"),
        (3, -1, "06:00:00", "09:00:00"),
        (1, 13, "00:00:00", "06:00:00"),
        (5, 13, "00:00:00", "06:00:00"),
        (2, 11, "00:30:00", "05:10:00"),
        (4, 14, "01:00:00", "04:00:00"),
    ]
    pq.write_table(
        pa.table(
            {
                "person_id": pa.array([s[0] for s in stays], pa.int32()),
                "building_id": pa.array([s[1] for s in stays], pa.int32()),
                "start": _ts([s[2] for s in stays]),
                "end": _ts([s[3] for s in stays]),
            }
        ),
        folder / "stays.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "person_id": pa.array([0, 1, 0], pa.int32()),
                "imsi": ["111", None, "333"],
                "imei": ["999", "222", None],
            }
        ),
        folder / "devices.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "vehicle_id": pa.array([1, 2, 3], pa.int32()),
                "plate": ["B-XY 123", "CD 1", "TX 1"],
                "kind": ["private", "diplomatic", "taxi"],
                "owner_person_id": pa.array([-1, -1, -1], pa.int32()),
            }
        ),
        folder / "vehicles.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "vehicle_id": pa.array([1, 2, 3], pa.int32()),
                "person_id": pa.array([2, 0, 1], pa.int32()),
                "role": ["driver", "passenger", "passenger"],
                "trips": pa.array([3, 4, 1], pa.int32()),
            }
        ),
        folder / "vehicle_use.parquet",
    )
    return folder


def _world(root: Path) -> tuple[Path, Path]:
    path = root / "ws"
    with Workspace.init(path) as ws:
        e = ws.engine
        e.execute(
            "CREATE TABLE resolution_record (kind VARCHAR, obs_id BIGINT, source VARCHAR, "
            "record_id VARCHAR, entity_id VARCHAR, model_id VARCHAR)"
        )
        e.execute(
            "INSERT INTO resolution_record VALUES "
            + ", ".join(
                f"('person', {i}, 'registry', 'r{i}', 'person:{i}', 'm')" for i in range(1, 7)
            )
        )
        e.execute(f"CREATE TABLE {tables.PERSON} ({tables.COLUMNS[tables.PERSON]})")
        e.execute(
            f"INSERT INTO {tables.PERSON} (subject, points, unicity_4) VALUES "
            "('person:1', 40, 0.2), ('person:2', 30, 0.1), ('person:3', 50, 0.9), "
            "('person:4', 10, 0.0), ('person:5', 20, 0.5), ('person:6', 60, 0.7)"
        )
        e.execute(f"CREATE TABLE {tables.LINK} ({tables.COLUMNS[tables.LINK]})")
        links = [
            ("person:1", "imsi:111", "device"),
            ("person:2", "imei:222", "device"),
            ("person:3", "imsi:333", "device"),
            ("person:3", "BXY123", "vehicle"),
            ("person:1", "CD1", "vehicle"),
            ("person:2", "TX1", "vehicle"),
            ("person:1", "imsi:111@imei:999", "device"),
            ("person:1", "imsi:111@imei:222", "device"),
            ("person:6", "imsi:111", "device"),
            ("person:1", "registry:r1", "registry"),
        ]
        e.execute(
            f"INSERT INTO {tables.LINK} (subject, identifier, identifier_kind) VALUES "
            + ", ".join(f"('{s}', '{i}', '{k}')" for s, i, k in links)
        )
    return path, _truth(root / "out" / "truth")


def test_known_answers(tmp_path: Path) -> None:
    ws, truth = _world(tmp_path)
    result = evaluate(ws, truth, providers=list(PROVIDERS))
    assert result.skipped == {}
    assert result.metrics == pytest.approx(
        {
            "exposure.people": 3.0,
            "exposure.unicity_4.truth_mean": 1 / 3,
            "exposure.unicity_4.mean_error": 1 / 15,
            "exposure.unicity_4.spearman": math.sqrt(3) / 2,
            "exposure.link.precision": 5 / 9,
            "exposure.link.rows": 9.0,
        }
    )


def test_missing_truth_file_skips_with_reason(tmp_path: Path) -> None:
    ws, truth = _world(tmp_path)
    (truth / "stays.parquet").unlink()
    result = evaluate(ws, truth, providers=list(PROVIDERS))
    assert result.metrics == {}
    assert "stays.parquet" in result.skipped["exposure"]


def test_spearman_known_values() -> None:
    assert spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # ties take the mean rank: see the module docstring's worked example
    assert spearman([0.2, 0.1, 0.9], [0, 0, 1]) == pytest.approx(math.sqrt(3) / 2)
    assert spearman([1, 2], [5, 5]) is None
    assert spearman([1], [1]) is None


def test_district(linked: tuple[Path, Path], tmp_path: Path) -> None:
    """On the simulated district: every metric is there and in range, and people whose
    observed traces single them out more easily are those whose true traces do."""
    out, path = linked
    ws = tmp_path / "ws"
    shutil.copytree(path, ws)
    result = evaluate(ws, out, providers=list(PROVIDERS))
    m = result.metrics
    assert result.skipped == {}
    assert m["exposure.people"] >= 300
    assert 0.0 < m["exposure.unicity_4.truth_mean"] <= 1.0
    assert -1.0 <= m["exposure.unicity_4.mean_error"] <= 1.0
    assert 0.0 < m["exposure.unicity_4.spearman"] <= 1.0
    assert m["exposure.link.rows"] >= 300
    assert 0.8 <= m["exposure.link.precision"] <= 1.0
