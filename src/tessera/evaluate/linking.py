"""Metrics of the ``attribution`` stage: devices and vehicles to people.

A resolved person entity stands for the true person behind most of its registry
records (``records.parquet``); an entity with no record in the truth stands for no one,
so a link to it is wrong.

- ``linking.device_person.precision|recall|f1``: over devices seen in the feeds
  (``link_device``) whose true owner is a resident (visitors' roaming phones have
  none: any link of one is a false positive). A device key ``imsi:X`` is the truth's
  devices with IMSI X (a handset swap keeps the SIM, so both rows have one owner).
  ``linking.device_person.devices`` counts the scored devices.
- ``linking.vehicle_person.precision|recall|f1``: the true primary user of a
  vehicle is the driver with the most trips (``vehicle_use.parquet``); taxis have
  none (they are shared). Predicted: ``link_vehicle_person`` rows of role
  ``primary_user``. ``linking.vehicle.shared_precision|recall`` score the shared flag
  against the truth's taxis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tessera.evaluate.harness import (
    Provider,
    SkipProvider,
    arrow_view,
    precision_recall_f1,
    share,
)
from tessera.link.attribute import DEVICE_PERSON, VEHICLE_PERSON, VEHICLES
from tessera.link.cotravel import DEVICES

if TYPE_CHECKING:
    from tessera.evaluate.truth import Truth
    from tessera.workspace import Workspace


def _f1(prefix: str, correct: int, predicted: int, true: int) -> dict[str, float]:
    p, r, f = precision_recall_f1(correct, predicted, true)
    return {f"{prefix}.precision": p, f"{prefix}.recall": r, f"{prefix}.f1": f}


def _entity_person(ws: Workspace, truth: Truth) -> None:
    """Temp table ``_eval_entity_person(entity_id, person_id)``: each resolved person
    entity's true person (the most common among its records)."""
    records = truth.read("records.parquet", ["source", "record_id", "entity", "entity_id"])
    with arrow_view(ws, "_eval_records", records):
        ws.engine.temp_table(
            "_eval_entity_person",
            "SELECT r.entity_id, mode(t.entity_id) AS person_id "
            "FROM resolution_record r JOIN _eval_records t "
            "ON t.source = r.source AND t.record_id = r.record_id AND t.entity = 'person' "
            "WHERE r.kind = 'person' GROUP BY r.entity_id",
        )


def device_person_metrics(ws: Workspace, truth: Truth) -> dict[str, float]:
    """``linking.device_person.*`` (see the module docstring); also used by the
    matchability curve, once per number of days."""
    devices = truth.read("devices.parquet", ["person_id", "imsi"])
    _entity_person(ws, truth)
    with arrow_view(ws, "_eval_devices", devices):
        rows = ws.engine.fetch_rows(
            f"""
WITH t AS (SELECT 'imsi:' || imsi AS device, max(person_id) AS person_id
           FROM _eval_devices GROUP BY imsi),
seen AS (SELECT d.device, t.person_id FROM {DEVICES} d LEFT JOIN t USING (device))
SELECT count(*) FILTER (WHERE seen.person_id >= 0),
       count(p.person),
       count(*) FILTER (WHERE p.person IS NOT NULL AND e.person_id = seen.person_id)
FROM seen LEFT JOIN {DEVICE_PERSON} p USING (device)
LEFT JOIN _eval_entity_person e ON e.entity_id = p.person
"""
        )
    true, predicted, correct = (int(v) for v in rows[0])
    if not true:
        raise SkipProvider("no device seen in the feeds belongs to a person of the truth")
    out = _f1("linking.device_person", correct, predicted, true)
    out["linking.device_person.devices"] = float(true)
    return out


def _vehicle_user(ws: Workspace, truth: Truth) -> dict[str, float]:
    vehicles = truth.read("vehicles.parquet", ["vehicle_id", "plate", "kind"])
    use = truth.read("vehicle_use.parquet", ["vehicle_id", "person_id", "role", "trips"])
    _entity_person(ws, truth)
    with arrow_view(ws, "_eval_vehicles", vehicles), arrow_view(ws, "_eval_use", use):
        rows = ws.engine.fetch_rows(
            f"""
WITH v AS (SELECT vehicle_id, regexp_replace(upper(plate), '[^A-Z0-9]', '', 'g') AS plate, kind
           FROM _eval_vehicles),
primary_user AS (SELECT vehicle_id,
                        arg_max(person_id, CAST(role = 'driver' AS BIGINT) * 1000000 + trips)
                          AS person_id
                 FROM _eval_use GROUP BY vehicle_id),
t AS (SELECT v.plate, v.kind, CASE WHEN v.kind <> 'taxi' THEN u.person_id END AS person_id
      FROM v LEFT JOIN primary_user u USING (vehicle_id)),
p AS (SELECT l.vehicle, e.person_id FROM {VEHICLE_PERSON} l
      LEFT JOIN _eval_entity_person e ON e.entity_id = l.person WHERE l.role = 'primary_user'),
sh AS (SELECT vehicle, shared FROM {VEHICLES})
SELECT (SELECT count(*) FROM t WHERE person_id IS NOT NULL),
       (SELECT count(*) FROM p),
       (SELECT count(*) FROM p JOIN t ON t.plate = p.vehicle AND t.person_id = p.person_id),
       (SELECT count(*) FROM t WHERE kind = 'taxi'),
       (SELECT count(*) FROM sh WHERE shared AND vehicle IN (SELECT plate FROM t)),
       (SELECT count(*) FROM sh JOIN t ON t.plate = sh.vehicle WHERE sh.shared AND t.kind = 'taxi')
"""
        )
    true, predicted, correct, taxis, shared, shared_taxis = (int(v) for v in rows[0])
    if not true:
        raise SkipProvider("the truth has no vehicle with a primary driver")
    out = _f1("linking.vehicle_person", correct, predicted, true)
    out["linking.vehicle.shared_precision"] = share(shared_taxis, shared)
    out["linking.vehicle.shared_recall"] = share(shared_taxis, taxis)
    return out


PROVIDERS = (
    Provider(
        name="linking.device_person",
        prefix="linking",
        description="Devices attributed to the right person.",
        compute=device_person_metrics,
        tables=(DEVICES, DEVICE_PERSON, "resolution_record"),
        truth_files=("devices.parquet", "records.parquet"),
    ),
    Provider(
        name="linking.vehicle_person",
        prefix="linking",
        description="Vehicles attributed to their primary user; shared vehicles recognised.",
        compute=_vehicle_user,
        tables=(VEHICLE_PERSON, VEHICLES, "resolution_record"),
        truth_files=("vehicles.parquet", "vehicle_use.parquet", "records.parquet"),
    ),
)
