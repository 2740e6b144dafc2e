"""What ties a person's name to their identifiers, and who exposes them.

**Identifier links** are the rows of ``link_device_person`` and
``link_vehicle_person`` naming the person, each with its combined confidence, its
``vias`` (subscriber document or name, contact-list name, vehicle keeper, second phone;
keeper or primary user for vehicles) and its evidence text. *Linkability* is the
chance that at least one of them is right, taking them as independent::

    L = 1 - prod_i (1 - confidence_i)

(the same rule ``attribution`` uses to combine pieces of evidence). Independence
overstates ``L`` when one link is derived from another (a vehicle's primary user is
the person of its primary device); the links are listed so an analyst can see that.

The per-via evidence that attribution stored (``link_device_evidence``, one row per
piece of evidence, analysts' judgements included) is read here so that a device's
confidence *without* one kind of evidence (the ``vehicle_keeper`` evidence, gone with
the car) can be combined again.

``exposure_link`` also lists, outside the linkability, the links between identifiers
that make further identifiers the person's: device swaps (``link_device_swap``), second
phones seen travelling with the person's phone but attributed to nobody
(``link_second_phone``), and the person's registry records (``resolution_record``),
each with the source tables behind it.

``exposure_contact``: (1) owners of contact lists (``obs_contact``) that list one of the
person's numbers, with the entries, the names they are saved under and whether a name is
the person's own (what attribution's ``contact_name`` evidence reads); an owner is the
subject of the device carrying the owner number (the handset's IMEI preferred, then the
device seen last, most events, smallest key, as ``contacts`` does), else
``number:<e164>``; (2) the person's strongest communication partners (``net_contact``,
the :data:`TOP_PARTNERS` heaviest) and every partner that talks to one of the person's
second phones: such a tie is what links a second phone to its owner's circle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tessera.engines.base import literal
from tessera.link import attribute

if TYPE_CHECKING:
    from tessera.engines.base import TempFn

TOP_PARTNERS = 5

# which source tables each kind of evidence reads (the link tables are derived from
# them); every via attribution writes has an entry (tests/exposure/test_stage.py)
_SUBSCRIPTION = ("reg_subscription", "reg_person")
# where a device sleeps or works (its events, the buildings of the address register)
_WHERE = ("obs_device_event", "reg_address")
# ... against where people are registered or employed
_RESIDENCE = (*_WHERE, "reg_person")
VIA_SOURCES: dict[str, tuple[str, ...]] = {
    "subscriber_id": _SUBSCRIPTION,
    "subscriber_name": _SUBSCRIPTION,
    "subscriber_name_address": _SUBSCRIPTION,
    "subscriber_name_organisation": _SUBSCRIPTION,
    "subscriber_name_residence": _SUBSCRIPTION + _WHERE,
    "organisation_residence": _SUBSCRIPTION + _WHERE,
    "residence_unclaimed": _RESIDENCE,
    "residence_workplace": _RESIDENCE,
    "residence_contact": ("obs_contact", *_RESIDENCE),
    "workplace_contact": ("obs_contact", *_RESIDENCE),
    "contact_name": ("obs_contact", "reg_person"),
    "contact_words": ("obs_contact", "reg_person"),
    "analyst": ("link_judgement",),
    "vehicle_keeper": ("reg_vehicle", "reg_person", "obs_plate_read", "obs_device_event"),
    "second_phone": ("obs_device_event", "obs_communication", "obs_contact"),
    "device_swap": ("obs_device_event", "obs_communication"),
    "keeper": ("reg_vehicle", "reg_person"),
    "primary_user": ("obs_plate_read", "obs_device_event"),
    "handset_swap": ("obs_device_event",),
    "number_swap": ("obs_device_event", "obs_communication"),
    "travels_with_primary": ("obs_device_event", "obs_communication", "obs_contact"),
}


def _via_sources_sql() -> str:
    rows = [
        f"({literal(via)}, {literal(src)})" for via, srcs in VIA_SOURCES.items() for src in srcs
    ]
    return f"SELECT * FROM (VALUES {', '.join(rows)}) v(via, source)"


def _sources_of(vias: str) -> str:
    """SQL: the sorted distinct source tables of a list of vias (an expression over the
    list, not a correlated subquery: Spark runs no subquery inside list functions)."""
    parts = ", ".join(
        f"CASE WHEN list_contains({vias}, {literal(via)}) "
        f"THEN [{', '.join(literal(s) for s in srcs)}] ELSE CAST([] AS VARCHAR[]) END"
        for via, srcs in VIA_SOURCES.items()
    )
    return f"coalesce(list_sort(list_distinct(flatten([{parts}]))), [])"


def prepare(temp: TempFn) -> None:
    """Temporary tables: ``_exp_second`` (device, person: the person's second phones,
    attributed to them or travelling with their attributed primary), ``_exp_evidence``
    (the per-via evidence of each attributed device) and ``_exp_linkrow`` (person,
    identifier, kind, confidence, second, conf_no_car, role: one row per identifier link)."""
    temp("_exp_via_src", _via_sources_sql())
    temp(
        "_exp_second",
        """
SELECT DISTINCT s.second AS device, coalesce(d2.person, d1.person) AS person,
       d2.person IS NOT NULL AS attributed
FROM link_second_phone s
LEFT JOIN link_device_person d1 ON d1.device = s."primary"
LEFT JOIN link_device_person d2 ON d2.device = s.second
WHERE coalesce(d2.person, d1.person) IS NOT NULL
""",
    )
    # the people's name keys, as attribution folds them
    temp("_link_persons", attribute.persons_sql())
    temp(
        "_exp_evidence",
        f"""
SELECT e.* FROM {attribute.DEVICE_EVIDENCE} e
JOIN link_device_person dp ON dp.device = e.device AND dp.person = e.person
""",
    )
    temp(
        "_exp_linkrow",
        """
WITH nocar AS (
  SELECT device, person, 1 - exp(sum(ln(greatest(1e-9, 1 - confidence)))) AS c
  FROM _exp_evidence WHERE via <> 'vehicle_keeper' GROUP BY device, person)
SELECT dp.person, dp.device AS identifier, 'device' AS kind, dp.confidence,
       sp.device IS NOT NULL AS second,
       CASE WHEN list_contains(dp.vias, 'vehicle_keeper') THEN coalesce(n.c, 0.0)
            ELSE dp.confidence END AS conf_no_car,
       CAST(NULL AS VARCHAR) AS role
FROM link_device_person dp
LEFT JOIN (SELECT DISTINCT device, person FROM _exp_second WHERE attributed) sp
  ON sp.device = dp.device AND sp.person = dp.person
LEFT JOIN nocar n ON n.device = dp.device AND n.person = dp.person
UNION ALL
SELECT person, vehicle, 'vehicle', confidence, false, 0.0, role FROM link_vehicle_person
""",
    )


def linkability_sql() -> str:
    """One row per person of ``_exp_linkrow``: linkability, identifier counts and link
    sources (distinct source tables behind the links), before and after the
    countermeasures that remove links (``second_off``: the person's second phones gone;
    ``no_car``: vehicle links and ``vehicle_keeper`` evidence gone)."""
    combine = "1 - exp(sum(ln(greatest(1e-12, 1 - {c}))))"
    return f"""
WITH r AS (SELECT l.*, CASE WHEN l.kind = 'device' THEN dp.vias ELSE [l.role] END AS vias
           FROM _exp_linkrow l
           LEFT JOIN link_device_person dp ON l.kind = 'device' AND dp.device = l.identifier),
s AS (SELECT r.person, r.second, r.kind, unnest(r.vias) AS via FROM r),
src AS (SELECT s.person, s.second, s.kind, s.via, v.source
        FROM s JOIN _exp_via_src v USING (via)),
n AS (SELECT person, count(DISTINCT source) AS link_sources,
             count(DISTINCT source) FILTER (WHERE NOT second) AS link_sources_second_off,
             count(DISTINCT source) FILTER (WHERE kind = 'device' AND via <> 'vehicle_keeper')
               AS link_sources_no_car
      FROM src GROUP BY person)
SELECT r.person,
       {combine.format(c="r.confidence")} AS linkability,
       {combine.format(c="CASE WHEN r.second THEN 0 ELSE r.confidence END")}
         AS linkability_second_off,
       {combine.format(c="CASE WHEN r.kind = 'vehicle' THEN 0 ELSE r.conf_no_car END")}
         AS linkability_no_car,
       count(*) AS links,
       count(*) FILTER (WHERE r.second) AS second_links,
       count(*) FILTER (WHERE r.kind = 'vehicle') AS vehicle_links,
       count(DISTINCT r.identifier) FILTER (WHERE r.kind = 'device') AS devices,
       count(DISTINCT r.identifier) FILTER (WHERE r.kind = 'vehicle') AS vehicles,
       any_value(coalesce(n.link_sources, 0)) AS link_sources,
       any_value(coalesce(n.link_sources_second_off, 0)) AS link_sources_second_off,
       any_value(coalesce(n.link_sources_no_car, 0)) AS link_sources_no_car
FROM r LEFT JOIN n USING (person) GROUP BY r.person
"""


def link_rows_sql(points: str, persons: str) -> str:
    """The rows of ``exposure_link`` (``points``: subject, identifier, points; ``persons``:
    a table with the ``subject`` of every person assessed)."""
    return f"""
WITH dev AS (
  SELECT dp.person AS subject, dp.device AS identifier, 'device' AS identifier_kind,
         'link_device_person' AS link_table, dp.vias,
         CASE WHEN sp.device IS NOT NULL THEN 'second_phone' ELSE 'device' END AS role,
         dp.confidence, true AS in_linkability,
         list_sort(list_distinct(list_concat({_sources_of("dp.vias")},
           coalesce(pv.sources, [])))) AS source_tables,
         coalesce(d.msisdn, '') || CASE WHEN d.msisdn IS NULL THEN '' ELSE ': ' END
           || dp.evidence AS evidence
  FROM link_device_person dp
  LEFT JOIN link_device d USING (device)
  LEFT JOIN (SELECT DISTINCT device, person FROM _exp_second WHERE attributed) sp
    ON sp.device = dp.device AND sp.person = dp.person
  LEFT JOIN (SELECT s.second AS device, list_distinct(flatten(list({_sources_of("p.vias")})))
                    AS sources
             FROM link_second_phone s JOIN link_device_person p ON p.device = s."primary"
             GROUP BY s.second) pv ON list_contains(dp.vias, 'second_phone')
                                     AND pv.device = dp.device),
veh AS (
  SELECT vp.person, vp.vehicle, 'vehicle', 'link_vehicle_person', [vp.role], vp.role,
         vp.confidence, true,
         list_sort(list_distinct(list_concat({_sources_of("[vp.role]")},
           CASE WHEN vp.role = 'primary_user' THEN coalesce({_sources_of("pd.vias")}, [])
                ELSE [] END))),
         vp.evidence
  FROM link_vehicle_person vp
  LEFT JOIN link_vehicle v ON v.vehicle = vp.vehicle
  LEFT JOIN link_device_person pd ON pd.device = v.primary_device),
mine AS (SELECT device, person FROM link_device_person),
swap AS (
  SELECT DISTINCT m.person, CASE WHEN split_part(w.old, '@', 1) = m.device THEN w.new
                                 ELSE w.old END,
         'device', 'link_device_swap', [w.kind || '_swap'], w.kind || '_swap',
         w.confidence, false, {_sources_of("[w.kind || '_swap']")}, w.evidence
  FROM link_device_swap w JOIN mine m
    ON m.device IN (split_part(w.old, '@', 1), split_part(w.new, '@', 1))),
travel AS (
  SELECT sp.person, sp.device, 'device', 'link_second_phone', ['travels_with_primary'],
         'second_phone', s.confidence, false, {_sources_of("['travels_with_primary']")},
         'travels with ' || s."primary" || ': ' || s.evidence
  FROM _exp_second sp JOIN link_second_phone s ON s.second = sp.device
  JOIN link_device_person p ON p.device = s."primary" AND p.person = sp.person
  WHERE NOT sp.attributed),
reg AS (
  SELECT r.entity_id, r.source || ':' || coalesce(r.record_id, CAST(r.obs_id AS VARCHAR)),
         'registry', 'resolution_record', ['registry_record'], 'registry_record',
         CAST(NULL AS DOUBLE), false, [r.source],
         'record ' || coalesce(r.record_id, '?') || ' of ' || r.source || ' resolved to this person'
  FROM resolution_record r WHERE r.kind = 'person'
    AND r.entity_id IN (SELECT subject FROM {persons}))
SELECT u.*, coalesce(pt.points, 0) AS points
FROM (SELECT * FROM dev UNION ALL SELECT * FROM veh UNION ALL SELECT * FROM swap
      UNION ALL SELECT * FROM travel UNION ALL SELECT * FROM reg) u
LEFT JOIN {points} pt ON pt.subject = u.subject AND pt.identifier = u.identifier
"""


def contact_rows_sql(persons: str) -> str:
    """The rows of ``exposure_contact`` for the people of ``persons`` (a table with a
    ``subject`` column)."""
    name_key = attribute.name_key("k.listed_name_latin")
    return f"""
WITH num AS (SELECT DISTINCT dp.person, d.msisdn FROM link_device_person dp
             JOIN link_device d USING (device) WHERE d.msisdn IS NOT NULL),
dev AS (SELECT d.device, d.msisdn, d.imeis, d.last_seen, coalesce(d.events, 0) AS events,
               coalesce(p.person, d.device) AS subject,
               CASE WHEN p.person IS NULL THEN 'device' ELSE 'person' END AS subject_kind
        FROM link_device d LEFT JOIN link_device_person p USING (device)
        WHERE d.msisdn IS NOT NULL),
owner AS (SELECT k.obs_id, d.subject, d.subject_kind FROM obs_contact k
          JOIN dev d ON d.msisdn = k.owner_number
          QUALIFY row_number() OVER (
            PARTITION BY k.obs_id
            ORDER BY coalesce(list_contains(d.imeis, k.owner_imei), false) DESC,
                     d.last_seen DESC NULLS LAST, d.events DESC, d.device) = 1),
listed AS (
  SELECT n.person AS subject, coalesce(o.subject, 'number:' || k.owner_number) AS contact,
         coalesce(o.subject_kind, 'number') AS contact_kind, k.listed_number,
         k.listed_name, k.obs_id,
         {name_key} IN (SELECT p.name_key FROM _link_persons p WHERE p.person = n.person)
           AS names_person
  FROM obs_contact k JOIN num n ON n.msisdn = k.listed_number
  LEFT JOIN owner o USING (obs_id)
  WHERE k.owner_number IS NOT NULL AND n.person IN (SELECT subject FROM {persons})),
lists AS (
  SELECT subject, contact, any_value(contact_kind) AS contact_kind, 'lists_number' AS kind,
         list(DISTINCT listed_number ORDER BY listed_number) AS numbers,
         count(*) AS entries, bool_or(coalesce(names_person, false)) AS names_person,
         CAST(NULL AS DOUBLE) AS weight, 0 AS second_phone_events,
         'lists ' || string_agg(DISTINCT listed_number || ' as "' || coalesce(listed_name, '')
                                || '"', ', ' ORDER BY listed_number || ' as "'
                                || coalesce(listed_name, '') || '"') AS evidence,
         list(obs_id ORDER BY obs_id) AS obs_ids
  FROM listed WHERE contact <> subject GROUP BY subject, contact),
ends AS (
  SELECT a AS subject, b AS contact, b_kind AS contact_kind, weight, events,
         second_phone_events, evidence, obs_ids FROM net_contact
  UNION ALL
  SELECT b, a, a_kind, weight, events, second_phone_events, evidence, obs_ids FROM net_contact),
partners AS (
  SELECT subject, contact, contact_kind,
         CASE WHEN second_phone_events > 0 THEN 'second_phone_partner' ELSE 'partner' END,
         CAST([] AS VARCHAR[]), events, false, weight, second_phone_events, evidence, obs_ids
  FROM ends WHERE subject IN (SELECT subject FROM {persons})
  QUALIFY row_number() OVER (PARTITION BY subject ORDER BY weight DESC, contact)
            <= {TOP_PARTNERS} OR second_phone_events > 0)
SELECT * FROM lists UNION ALL SELECT * FROM partners
"""
