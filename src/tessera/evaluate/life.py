"""Metrics of the ``stays`` stage: stays, home and work against the simulator's truth.

Each true person is scored through the subject that stands for them: the resolved
person their registry records mostly belong to (``records.parquet``) with the most
observed hours, or else their own device when no person was attributed one. A person
is scored when that subject has observations on at least ``MIN_DAYS`` days.

- ``life.home.accuracy_300m``: share of people with a home in the district whose
  reported home lies within 300 m of it (no home reported counts as wrong);
  ``life.home.people`` counts them.
- ``life.work.accuracy_300m``: the same for people with a workplace in the district.
- ``life.anomaly.*``: anomalies of the scored people against the truth's
  (:mod:`tessera.evaluate.anomaly`, which defines both).
- ``life.stay_time_agreement``: how much of the time people spend at buildings
  (``stays.parquet``, stays outside the district left out) the reported stays
  agree with, as the harmonic mean of ``.recall`` (the share of true stay time
  covered by a reported stay whose place lies within ``STAY_MATCH_M`` of the true
  building) and ``.precision`` (the share of reported stay time at such a true stay).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tessera.evaluate.harness import Provider, SkipProvider, arrow_view, share
from tessera.evaluate.linking import _entity_person
from tessera.life import tables
from tessera.link.keys import haversine_sql

if TYPE_CHECKING:
    from tessera.evaluate.truth import Truth
    from tessera.workspace import Workspace

MIN_DAYS = 7
HOME_WORK_M = 300.0
STAY_MATCH_M = 300.0


def subject_person(ws: Workspace, truth: Truth, table: str) -> None:
    """Temp table ``_eval_subject_person(subject, subject_kind, person_id)``: every
    subject of ``table`` that stands for a true person. A person subject stands for the
    true person behind most of its registry records (``records.parquet``); a device
    subject (``imsi:X``, ``imei:Y``) for the owner of that SIM or handset
    (``devices.parquet``)."""
    devices = truth.read("devices.parquet", ["person_id", "imsi", "imei"])
    _entity_person(ws, truth)
    with arrow_view(ws, "_eval_life_devices", devices):
        ws.engine.temp_table(
            "_eval_subject_person",
            f"""
WITH s AS (SELECT DISTINCT subject, subject_kind FROM {table}),
dev AS (SELECT 'imsi:' || imsi AS subject, max(person_id) AS person_id
        FROM _eval_life_devices WHERE imsi IS NOT NULL GROUP BY imsi
        UNION ALL
        SELECT 'imei:' || imei, max(person_id) FROM _eval_life_devices
        WHERE imei IS NOT NULL GROUP BY imei)
SELECT s.subject, s.subject_kind, e.person_id
FROM s JOIN _eval_entity_person e ON e.entity_id = s.subject
WHERE s.subject_kind = 'person' AND e.person_id >= 0
UNION ALL
SELECT s.subject, s.subject_kind, d.person_id FROM s JOIN dev d USING (subject)
WHERE s.subject_kind = 'device' AND d.person_id >= 0
""",
        )


def _subjects(ws: Workspace, truth: Truth, min_days: int) -> None:
    """Temp table ``_eval_life_subject(person_id, subject, days)``: the subject scored for
    each true person with at least ``min_days`` observed days (a person subject before
    a device, then the one with the most observed hours)."""
    subject_person(ws, truth, tables.ACTIVE_HOUR)
    ws.engine.temp_table(
        "_eval_life_subject",
        f"""
WITH obs AS (SELECT subject, count(*) AS hours, count(DISTINCT CAST(hour AS DATE)) AS days
             FROM {tables.ACTIVE_HOUR} GROUP BY subject),
c AS (SELECT p.person_id, o.subject, o.days, o.hours,
             CASE WHEN p.subject_kind = 'person' THEN 0 ELSE 1 END AS rank
      FROM obs o JOIN _eval_subject_person p USING (subject))
SELECT person_id, arg_min(subject, rank * 1e12 - hours) AS subject,
       arg_min(days, rank * 1e12 - hours) AS days
FROM c GROUP BY person_id HAVING arg_min(days, rank * 1e12 - hours) >= {min_days}
""",
    )


def _home_work(ws: Workspace, truth: Truth) -> dict[str, float]:
    persons = truth.read("persons.parquet", ["person_id", "home_building", "work_building"])
    buildings = truth.read("buildings.parquet", ["building_id", "lat", "lon"])
    _subjects(ws, truth, MIN_DAYS)
    out: dict[str, float] = {}
    dist = haversine_sql("h.lat", "h.lon", "b.lat", "b.lon")
    with arrow_view(ws, "_eval_persons", persons), arrow_view(ws, "_eval_buildings", buildings):
        for role in ("home", "work"):
            rows = ws.engine.fetch_rows(
                f"""
SELECT count(*), count(*) FILTER (WHERE {dist} <= {HOME_WORK_M})
FROM _eval_life_subject s JOIN _eval_persons p USING (person_id)
JOIN _eval_buildings b ON b.building_id = p.{role}_building
LEFT JOIN {tables.HOME_WORK} h ON h.subject = s.subject AND h.role = '{role}'
"""
            )
            people, right = (int(v) for v in rows[0])
            if people:
                out[f"life.{role}.accuracy_300m"] = share(right, people)
                out[f"life.{role}.people"] = float(people)
    if not out:
        raise SkipProvider(f"no true person has {MIN_DAYS} or more days of observations")
    return out


def _stay_time(ws: Workspace, truth: Truth) -> dict[str, float]:
    stays = truth.read("stays.parquet", ["person_id", "building_id", "start", "end"])
    buildings = truth.read("buildings.parquet", ["building_id", "lat", "lon"])
    _subjects(ws, truth, 1)
    hours = "unnest(generate_series(date_trunc('hour', a), date_trunc('hour', b), INTERVAL 1 HOUR))"
    dist = haversine_sql("t.lat", "t.lon", "e.lat", "e.lon")
    overlap = (
        "greatest(0, epoch(least(t.b, e.b, t.h + INTERVAL 1 HOUR)) - "
        "epoch(greatest(t.a, e.a, t.h)))"
    )
    with arrow_view(ws, "_eval_stays", stays), arrow_view(ws, "_eval_buildings", buildings):
        rows = ws.engine.fetch_rows(
            f"""
WITH t0 AS (SELECT t.person_id, t.start AS a, t."end" AS b, g.lat, g.lon FROM _eval_stays t
            JOIN _eval_buildings g USING (building_id)
            WHERE t.building_id >= 0 AND t.person_id IN (SELECT person_id FROM _eval_life_subject)),
e0 AS (SELECT s.person_id, x.started_at AS a, x.finished_at AS b,
              coalesce(p.lat, x.lat) AS lat, coalesce(p.lon, x.lon) AS lon
       FROM _eval_life_subject s JOIN {tables.STAY} x USING (subject)
       LEFT JOIN {tables.PLACE} p ON p.subject = x.subject AND p.place_id = x.place_id),
t AS (SELECT *, {hours} AS h FROM t0),
e AS (SELECT *, {hours} AS h FROM e0)
SELECT (SELECT sum(epoch(b) - epoch(a)) FROM t0), (SELECT sum(epoch(b) - epoch(a)) FROM e0),
       sum({overlap}) FILTER (WHERE {dist} <= {STAY_MATCH_M})
FROM t JOIN e USING (person_id, h)
"""
        )
    true_s, est_s, agree_s = (float(v or 0) for v in rows[0])
    if not true_s or not est_s:
        raise SkipProvider("no stay of a scored person, in the truth or in the workspace")
    recall, precision = agree_s / true_s, agree_s / est_s
    f1 = 2 * recall * precision / (recall + precision) if recall + precision else 0.0
    return {
        "life.stay_time_agreement": f1,
        "life.stay_time_agreement.recall": recall,
        "life.stay_time_agreement.precision": precision,
    }


def _anomalies(ws: Workspace, truth: Truth) -> dict[str, float]:
    from tessera.evaluate.anomaly import anomaly_metrics, anomaly_truth
    from tessera.life.settings import local_timezone

    _subjects(ws, truth, 1)
    expected = anomaly_truth(truth, zone=local_timezone(ws.engine))
    with arrow_view(ws, "_eval_anomaly_truth", expected):
        # the truth's anomalies of scored people; found ones keyed by true person
        expected = ws.engine.fetch_arrow(
            "SELECT t.* FROM _eval_anomaly_truth t "
            "WHERE t.person_id IN (SELECT person_id FROM _eval_life_subject)"
        )
    if not expected.num_rows:
        raise SkipProvider("the truth has no anomaly of a scored person")
    found = ws.engine.fetch_arrow(
        "SELECT s.person_id, a.kind, a.started_at, a.finished_at "
        f"FROM {tables.ANOMALY} a JOIN _eval_life_subject s USING (subject)"
    )
    return anomaly_metrics(found, expected)


PROVIDERS = (
    Provider(
        name="life.home_work",
        prefix="life",
        description="Home and work found within 300 m of the true buildings.",
        compute=_home_work,
        tables=(tables.HOME_WORK, tables.ACTIVE_HOUR, "resolution_record"),
        truth_files=("persons.parquet", "buildings.parquet", "devices.parquet", "records.parquet"),
    ),
    Provider(
        name="life.stays",
        prefix="life",
        description="Time in stays agreeing with the true stays (place within 300 m).",
        compute=_stay_time,
        tables=(tables.STAY, tables.PLACE, tables.ACTIVE_HOUR, "resolution_record"),
        truth_files=("stays.parquet", "buildings.parquet", "devices.parquet", "records.parquet"),
    ),
    Provider(
        name="life.anomalies",
        prefix="life",
        description="New places, unusual hours, profile breaks and dark periods found.",
        compute=_anomalies,
        tables=(tables.ANOMALY, tables.ACTIVE_HOUR, "resolution_record"),
        truth_files=("stays.parquet", "absences.parquet", "devices.parquet", "records.parquet"),
    ),
)
