"""Metrics of the ``meetings`` stage: detected meetings against the simulator's truth.

**Who a subject is.** A person subject stands for the true person behind most of its
registry records (``records.parquet``, as in :mod:`tessera.evaluate.linking`); a device
subject (``imsi:X`` or ``imei:Y``) for the true owner of that SIM or handset
(``devices.parquet``). A subject standing for no one (a visitor's roaming phone, an
entity with no record) stands for nobody.

**Which truth meetings are scored.** Those (``meetings.parquet``) of which at least two
participants are stood for by a subject with a stay (``life_stay``): a meeting of
people the workspace never sees cannot be found.

**Match.** A detected meeting ``D`` (``net_meeting`` with its members in
``net_meeting_member``) matches a true meeting ``T`` when all of:

1. *same place*: ``D``'s building is ``T``'s (the address register's record maps to
   the truth's building through ``records.parquet``), or ``D``'s position lies within
   :data:`MATCH_M` (150 m) of ``T``'s building;
2. *same time*: ``D.started_at < T.end`` and ``D.finished_at > T.start``;
3. *same people*: at least two of the true people ``D``'s members stand for are
   participants of ``T``.

- ``network.meeting.precision``: the share of detected meetings not flagged discreet
  that match a true meeting (discreet or not); ``.recall``: the share of scored true
  meetings that are not discreet matched by some detected meeting (flagged or not);
  ``.f1`` their harmonic mean. ``.detected``, ``.true`` and ``.matched_true`` count.
- ``network.meeting_discreet.precision|recall|f1``: the same for meetings flagged
  discreet against the truth's discreet meetings (a discreet truth meeting counts as
  found only when a detected meeting matching it is flagged discreet), with the same
  counts.
- ``network.meeting.contact.*`` and ``network.meeting.no_contact.*``: the same figures
  (precision, recall, F1, counts) split by whether two of the meeting's people (true
  participants, or the people a detected meeting's members stand for) are joined in
  the contact network (``net_contact``, between subjects standing for them). Most
  co-presence of strangers cannot be told from a meeting at the resolution of cell
  sectors; a contact can (see docs/network.md, Meetings). A detected meeting's side is
  its own, so a true meeting is matched only by detected meetings on its side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tessera.evaluate.harness import Provider, SkipProvider, arrow_view, precision_recall_f1
from tessera.evaluate.life import subject_person
from tessera.life import tables as life
from tessera.link.keys import haversine_sql
from tessera.network import tables

if TYPE_CHECKING:
    from tessera.evaluate.truth import Truth
    from tessera.workspace import Workspace

MATCH_M = 150.0


def _meetings(ws: Workspace, truth: Truth) -> dict[str, float]:
    meetings = truth.read(
        "meetings.parquet",
        ["meeting_id", "building_id", "start", "end", "discreet", "participants"],
    )
    buildings = truth.read("buildings.parquet", ["building_id", "lat", "lon"])
    records = truth.read("records.parquet", ["source", "record_id", "entity", "entity_id"])
    subject_person(ws, truth, life.STAY)
    dist = haversine_sql("d.lat", "d.lon", "t.blat", "t.blon")
    with (
        arrow_view(ws, "_eval_mt_truth", meetings),
        arrow_view(ws, "_eval_mt_buildings", buildings),
        arrow_view(ws, "_eval_mt_records", records),
    ):
        ws.engine.temp_table(
            "_eval_mt_true",
            """
WITH p AS (SELECT meeting_id, unnest(participants) AS person_id FROM _eval_mt_truth),
seen AS (SELECT p.meeting_id, count(DISTINCT p.person_id) AS n FROM p
         WHERE p.person_id IN (SELECT person_id FROM _eval_subject_person) GROUP BY p.meeting_id)
SELECT t.meeting_id, t.building_id, t.start, t."end", t.discreet, t.participants,
       b.lat AS blat, b.lon AS blon
FROM _eval_mt_truth t JOIN seen USING (meeting_id) JOIN _eval_mt_buildings b USING (building_id)
WHERE seen.n >= 2
""",
        )
        ws.engine.temp_table(
            "_eval_mt_found",
            f"""
WITH b AS (SELECT record_id, any_value(entity_id) AS building_id FROM _eval_mt_records
           WHERE entity = 'building' GROUP BY record_id),
who AS (SELECT m.meeting_id, list(DISTINCT sp.person_id) AS persons
        FROM {tables.MEETING_MEMBER} m JOIN _eval_subject_person sp USING (subject)
        GROUP BY m.meeting_id)
SELECT n.meeting_id, n.lat, n.lon, n.started_at, n.finished_at, n.discreet, b.building_id,
       coalesce(who.persons, []) AS persons
FROM {tables.MEETING} n LEFT JOIN b ON b.record_id = n.building
LEFT JOIN who USING (meeting_id)
""",
        )
        ws.engine.temp_table(
            "_eval_mt_match",
            f"""
SELECT d.meeting_id AS found_id, d.discreet AS found_discreet, t.meeting_id AS true_id,
       t.discreet AS true_discreet
FROM _eval_mt_found d JOIN _eval_mt_true t
  ON d.started_at < t."end" AND d.finished_at > t.start
WHERE (d.building_id = t.building_id OR {dist} <= {MATCH_M})
  AND len(list_intersect(d.persons, t.participants)) >= 2
""",
        )
        ws.engine.temp_table(
            "_eval_mt_contact",
            f"""
WITH k AS (SELECT DISTINCT least(x.person_id, y.person_id) AS p1,
                           greatest(x.person_id, y.person_id) AS p2
           FROM {tables.CONTACT} c JOIN _eval_subject_person x ON x.subject = c.a
           JOIN _eval_subject_person y ON y.subject = c.b WHERE x.person_id <> y.person_id),
people AS (SELECT 'found' AS side, meeting_id, persons FROM _eval_mt_found
           UNION ALL SELECT 'true', meeting_id, participants FROM _eval_mt_true),
one AS (SELECT side, meeting_id, unnest(persons) AS p1, persons FROM people),
pairs AS (SELECT side, meeting_id, p1, unnest(persons) AS p2 FROM one)
SELECT DISTINCT side, meeting_id FROM pairs JOIN k USING (p1, p2)
""",
        )
        out: dict[str, float] = {}
        for prefix, where in (
            ("network.meeting.contact", "IN"),
            ("network.meeting.no_contact", "NOT IN"),
        ):
            [split] = ws.engine.fetch_rows(
                f"""
WITH f AS (SELECT meeting_id FROM _eval_mt_found WHERE NOT discreet AND meeting_id {where}
           (SELECT meeting_id FROM _eval_mt_contact WHERE side = 'found')),
t AS (SELECT meeting_id FROM _eval_mt_true WHERE NOT discreet AND meeting_id {where}
      (SELECT meeting_id FROM _eval_mt_contact WHERE side = 'true')),
m AS (SELECT * FROM _eval_mt_match WHERE found_id IN (SELECT meeting_id FROM f)
      AND true_id IN (SELECT meeting_id FROM t))
SELECT (SELECT count(*) FROM f), (SELECT count(DISTINCT found_id) FROM m),
       (SELECT count(*) FROM t), (SELECT count(DISTINCT true_id) FROM m)
"""
            )
            out.update(_figures(prefix, *(int(v) for v in split)))
        rows = ws.engine.fetch_rows(
            """
SELECT (SELECT count(*) FROM _eval_mt_found WHERE NOT discreet),
       (SELECT count(DISTINCT found_id) FROM _eval_mt_match WHERE NOT found_discreet),
       (SELECT count(*) FROM _eval_mt_true WHERE NOT discreet),
       (SELECT count(DISTINCT true_id) FROM _eval_mt_match WHERE NOT true_discreet),
       (SELECT count(*) FROM _eval_mt_found WHERE discreet),
       (SELECT count(DISTINCT found_id) FROM _eval_mt_match
        WHERE found_discreet AND true_discreet),
       (SELECT count(*) FROM _eval_mt_true WHERE discreet),
       (SELECT count(DISTINCT true_id) FROM _eval_mt_match
        WHERE found_discreet AND true_discreet)
"""
        )
    found, found_ok, true, true_ok, dfound, dfound_ok, dtrue, dtrue_ok = (int(v) for v in rows[0])
    if not true and not dtrue:
        raise SkipProvider("no true meeting has two participants with stays in the workspace")
    out.update(_figures("network.meeting", found, found_ok, true, true_ok))
    out.update(_figures("network.meeting_discreet", dfound, dfound_ok, dtrue, dtrue_ok))
    return out


def _figures(prefix: str, f: int, f_ok: int, t: int, t_ok: int) -> dict[str, float]:
    """Precision (``f_ok`` of ``f`` detected match), recall (``t_ok`` of ``t`` true are
    matched), F1 and the counts, under ``prefix``."""
    precision, _, _ = precision_recall_f1(f_ok, f, t)
    _, recall, _ = precision_recall_f1(t_ok, f, t)
    total = precision + recall
    return {
        f"{prefix}.precision": precision,
        f"{prefix}.recall": recall,
        f"{prefix}.f1": 2 * precision * recall / total if total else 0.0,
        f"{prefix}.detected": float(f),
        f"{prefix}.true": float(t),
        f"{prefix}.matched_true": float(t_ok),
    }


PROVIDERS = (
    Provider(
        name="network.meetings",
        prefix="network",
        description="Meetings found at the true place and time with the true participants.",
        compute=_meetings,
        tables=(
            tables.MEETING,
            tables.MEETING_MEMBER,
            tables.CONTACT,
            life.STAY,
            "resolution_record",
        ),
        truth_files=(
            "meetings.parquet",
            "buildings.parquet",
            "devices.parquet",
            "records.parquet",
        ),
    ),
)
