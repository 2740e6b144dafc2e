"""The vehicle-to-primary-user metric on a hand-made truth whose answer is known: the
driver with the most trips is the primary user, a vehicle nobody simulated drives (a
chauffeured car) goes to its passenger with the most trips, a taxi to nobody."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tessera.evaluate.linking import _vehicle_user
from tessera.evaluate.truth import Truth
from tessera.workspace import Workspace


def _truth(folder: Path) -> Truth:
    folder.mkdir()
    pq.write_table(
        pa.table(
            {
                "vehicle_id": [0, 1, 2],
                "plate": ["B-AB 1", "0 97-1", "B-TX 9"],
                "kind": ["private", "diplomatic", "taxi"],
            }
        ),
        folder / "vehicles.parquet",
    )
    # car 0: person 1 drives it most, person 2 drives less, person 3 rides along often;
    # car 1: chauffeured, person 4 its only (passenger) user; taxi 2: person 5 rides
    pq.write_table(
        pa.table(
            {
                "vehicle_id": [0, 0, 0, 1, 2],
                "person_id": [1, 2, 3, 4, 5],
                "role": ["driver", "driver", "passenger", "passenger", "passenger"],
                "trips": [30, 10, 90, 40, 5],
            }
        ),
        folder / "vehicle_use.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "source": ["reg"] * 5,
                "record_id": [f"r{k}" for k in range(1, 6)],
                "entity": ["person"] * 5,
                "entity_id": [1, 2, 3, 4, 5],
            }
        ),
        folder / "records.parquet",
    )
    return Truth(folder)


@pytest.mark.parametrize(
    ("links", "want"),
    [
        # the driver, the chauffeured person: both right
        ([("BAB1", "person:1"), ("0971", "person:4")], (1.0, 1.0)),
        # the passenger who rides most is not the primary user of a car someone drives
        ([("BAB1", "person:3"), ("0971", "person:4")], (0.5, 0.5)),
        # a taxi has no primary user: linking it to its rider is a false positive
        ([("BAB1", "person:1"), ("BTX9", "person:5")], (0.5, 0.5)),
    ],
)
def test_primary_users(
    ws: Workspace, tmp_path: Path, links: list[tuple[str, str]], want: tuple[float, float]
) -> None:
    e = ws.engine
    e.execute("CREATE TABLE resolution_record (kind VARCHAR, source VARCHAR, record_id VARCHAR, "
              "entity_id VARCHAR)")  # fmt: skip
    for k in range(1, 6):
        e.execute(f"INSERT INTO resolution_record VALUES ('person', 'reg', 'r{k}', 'person:{k}')")
    e.execute(
        "CREATE TABLE link_vehicle_person (vehicle VARCHAR, person VARCHAR, role VARCHAR, "
        "confidence DOUBLE, evidence VARCHAR)"
    )
    for vehicle, person in links:
        e.execute(
            "INSERT INTO link_vehicle_person VALUES (?, ?, 'primary_user', 0.9, 'test')",
            [vehicle, person],
        )
    e.execute("CREATE TABLE link_vehicle (vehicle VARCHAR, shared BOOLEAN)")
    e.execute("INSERT INTO link_vehicle VALUES ('BTX9', true), ('BAB1', false)")
    m = _vehicle_user(ws, _truth(tmp_path / "truth"))
    # two true primary users (car 0 and the chauffeured car; the taxi has none)
    assert (m["linking.vehicle_person.precision"], m["linking.vehicle_person.recall"]) == want
    assert m["linking.vehicle.shared_precision"] == 1.0
