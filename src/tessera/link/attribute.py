"""Attribution: which vehicles and devices belong to which people.

Three kinds of evidence meet here, each a hypothesis with a confidence and a reason:

1. **Co-travel** (``cotravel_pair``, kind ``vehicle_device``): a device rides in a
   vehicle when their pair is surprising (:data:`LINK_BITS`), among the strongest of
   the vehicle's devices (:data:`REL_VEHICLE` of its best) and of the device's
   vehicles (:data:`REL_DEVICE` of its best), seen together on at least
   :data:`LINK_MIN_DAYS` days, and not more often apart than together.
   The vehicle's strongest device is its *primary* device. A vehicle is **shared**
   (a taxi, a pool car) when its registry says taxi or rental, or when at least
   :data:`SHARED_MIN_DEVICES` devices ride in it: it is then linked to no single person.
2. **Registries** (resolved by the ``resolution`` stage): a subscription names its
   subscriber by document number or by name, a vehicle registration its keeper. A
   document number that belongs to one resolved person is strong evidence; a name is
   used when exactly one resolved person bears it (after transliteration folding,
   order-free), or when namesakes are told apart by the subscription's billing address
   (the person's registered address), its organisation (the person's employer, legal
   form dropped) or **residence**: where the device spends its nights (the posterior
   over residential buildings from its sector observations between 00:00 and 06:00,
   with the coverage model of :mod:`tessera.life.coverage`, over at least
   :data:`NIGHT_MIN_NIGHTS` nights) lies within :data:`NEAR_M` of the registered
   address of exactly one of them. Prepaid registrations are often false: a prepaid
   line's document or name is dropped when the device sleeps farther than
   :data:`FAR_M` from every registered address of the person it names. A corporate
   line that names only its organisation goes to the one person of that organisation
   registered in the building where the device most likely sleeps. Contact lists
   that save the number under a full name count as a name does, more the more lists
   agree. Every piece of evidence is stored in ``link_device_evidence``.
   **Devices nothing names** (most are prepaid cards registered to nobody or to a
   made-up name), that are no second phone, go in five more passes to persons who
   have no attributed device yet: among those registered where the device sleeps, by
   the words of their name that contact lists save the number under
   (:func:`contact_residence_sql`) and by where the device spends working hours
   against their employer's buildings (:func:`workplace_sql`); among those whose
   employer's buildings hold the device's working hours, registered anywhere or
   nowhere, by contact names (:func:`contact_workplace_sql`); among everyone, by two or
   more words of their name in contact lists (:func:`contact_alone_sql`); then by
   nights alone (:func:`unclaimed_sql`). Each pass leaves out what the ones before it linked, and
   keeps a pair only when each is the other's best and the device's choice is
   decisive (:func:`_mutual_best_sql`); the five run :data:`PASS_ROUNDS` times, since
   a person one pass settles can make another's device decisive. A vehicle
   registered to a name several people bear goes to the one of them registered near
   where its primary device sleeps.
3. **Chains**: a second phone (``link_second_phone``) points to the person of its
   primary phone (confidence multiplied); the two devices of a swap
   (``link_device_swap``: a new SIM in the old handset, or a new handset) point to each
   other's person (confidence multiplied, times :data:`CONFIDENCE` ``device_swap``):
   the passes above leave the new device of a swap out because its owner already has
   the old one; a device that is the primary device of a
   non-shared vehicle whose keeper is known points to the keeper (weaker: households
   share cars); a vehicle's primary user is the person of its primary device.

Independent pieces of evidence for the same (device, person) combine as
``1 - prod(1 - confidence)``; each device goes to its most confident person, and the
runner-up's confidence is kept so an analyst sees contested attributions.
"""

from __future__ import annotations

from collections.abc import Mapping

from tessera.engines.base import Engine, TempFn
from tessera.link.cotravel import DEVICES, PAIRS
from tessera.link.judgements import verdicts_sql
from tessera.link.keys import haversine_sql
from tessera.resolve.kinds import without_legal_forms
from tessera.resolve.sql import address_key, tokens, translit

VEHICLE_DEVICE = "link_vehicle_device"
VEHICLES = "link_vehicle"
DEVICE_PERSON = "link_device_person"
DEVICE_EVIDENCE = "link_device_evidence"
VEHICLE_PERSON = "link_vehicle_person"
SECOND_PHONES = "link_second_phone"
SWAPS = "link_device_swap"

LINK_BITS = 40.0
REL_VEHICLE = 0.3
# ... on at least this many distinct days: a car seen with a phone on one day only is a
# lift or a coincidence (through traffic passing a phone's sector at the same minutes)
LINK_MIN_DAYS = 3
REL_DEVICE = 0.5
SHARED_MIN_DEVICES = 4
SHARED_KINDS = ("taxi", "rental")
# Residence: a device's night home is located from at least NIGHT_MIN_NIGHTS nights of
# sector observations between 00:00 and 06:00 local time; a registered address within
# NEAR_M of it agrees, one farther than FAR_M contradicts.
NIGHT_END_HOUR = 6
NIGHT_MIN_NIGHTS = 3
NEAR_M = 300.0
FAR_M = 1000.0
# Workplaces: where a device spends working hours (DAY_HOURS local time, Monday to
# Friday, on at least DAY_MIN_DAYS days) against the buildings of people's employers
DAY_HOURS = (9, 17)
DAY_MIN_DAYS = 3
# Unclaimed residents: the confidence is this times the night posterior's share of the
# chosen person among the unclaimed persons it reaches, and a link needs more than
# UNCLAIMED_MIN_SHARE of that share (docs/linking.md: measured on `small`)
UNCLAIMED_SCALE = 0.85
UNCLAIMED_MIN_SHARE = 0.5
# Contact and workplace passes: the night (and working-hours) mass must reach this;
# their confidences are these times the share (precision 0.977 and 0.960 on
# `district`, docs/linking.md)
UNCLAIMED_MIN_MASS = 0.01
CONTACT_SCALE = 0.95
WORKPLACE_CONTACT_SCALE = 0.9
# contact names alone: at least this many words of the name, and agreements
CONTACT_ALONE_MIN_WORDS = 2
CONTACT_ALONE_SCALE = 0.9
# the passes run this many times (on `district`, a second round added 101 links, 81
# right; a third would add 14, 9 right)
PASS_ROUNDS = 2
WORKPLACE_SCALE = 0.9

# Confidence of each kind of evidence (measured on the simulator; docs/linking.md).
CONFIDENCE = {
    "subscriber_id": 0.97,
    "subscriber_name": 0.85,
    "subscriber_name_address": 0.95,
    "subscriber_name_organisation": 0.93,
    "subscriber_name_residence": 0.9,
    "organisation_residence": 0.9,
    "vehicle_keeper": 0.6,
    "keeper_id": 0.95,
    "keeper_name": 0.8,
    "primary_device": 0.85,
    "contact_name": 0.6,
    "keeper_user": 0.5,
    "residence_unclaimed": UNCLAIMED_SCALE,
    "residence_workplace": WORKPLACE_SCALE,
    "residence_contact": CONTACT_SCALE,
    "workplace_contact": WORKPLACE_CONTACT_SCALE,
    "contact_words": CONTACT_ALONE_SCALE,
    # a swap's other device: 115 of the 126 links it leads right on `district`
    "device_swap": 0.9,
}


def name_key(expr: str) -> str:
    """Order-free, transliteration-folded key of a Latin name (SQL)."""
    return f"array_to_string(list_sort({tokens(translit(f'lower({expr})'))}), ' ')"


def vehicle_device_sql() -> str:
    return f"""
WITH p AS (SELECT a AS vehicle, b AS device, bits, units, places, days, together, apart,
                  bits / max(bits) OVER (PARTITION BY a) AS rel_vehicle,
                  bits / max(bits) OVER (PARTITION BY b) AS rel_device
           FROM {PAIRS} WHERE kind = 'vehicle_device')
SELECT vehicle, device, bits, units, places, days, together, apart, rel_vehicle, rel_device,
       rel_vehicle = 1.0 AS is_primary,
       least(0.99, 1 - pow(2, -bits / 10)) * least(1.0, rel_device) AS confidence
FROM p
WHERE bits >= {LINK_BITS} AND rel_vehicle >= {REL_VEHICLE} AND rel_device >= {REL_DEVICE}
  AND together >= apart AND days >= {LINK_MIN_DAYS}
"""


def place_key(expr: str) -> str:
    """An address folded to its words (SQL): lower-case ASCII, street-word variants
    unified, punctuation dropped (``Luisenstr. 228, 10975 Berlin`` and ``Luisenstraße
    228 10975 Berlin`` agree)."""
    return f"nullif(trim(regexp_replace({address_key(expr)}, '[^a-z0-9]+', ' ', 'g')), '')"


def organisation_key(expr: str) -> str:
    """An organisation's name folded to its words without legal form (SQL):
    ``Company 071 GmbH`` and ``company 071`` agree."""
    words = f"regexp_replace({translit(f'lower({expr})')}, '[^a-z0-9]+', ' ', 'g')"
    return f"nullif(trim(regexp_replace({without_legal_forms(words)}, ' +', ' ', 'g')), '')"


def persons_sql() -> str:
    """Resolved people with their document numbers, name keys, address keys and
    organisation keys, one row per registry record (temporary)."""
    full = "coalesce(p.full_name_latin, concat_ws(' ', p.given_name_latin, p.family_name_latin))"
    return f"""
SELECT r.entity_id AS person, p.document_number, p.national_id, {name_key(full)} AS name_key,
       {place_key("p.address")} AS address_key,
       {organisation_key("p.organisation_latin")} AS organisation_key
FROM reg_person p JOIN resolution_record r ON r.kind = 'person' AND r.obs_id = p.obs_id
"""


def person_ids_sql() -> str:
    """Each document number that belongs to exactly one resolved person: doc, person."""
    return """
SELECT doc, any_value(person) AS person FROM (
  SELECT document_number AS doc, person FROM _link_persons WHERE document_number IS NOT NULL
  UNION SELECT national_id, person FROM _link_persons WHERE national_id IS NOT NULL)
GROUP BY doc HAVING count(DISTINCT person) = 1
"""


def person_names_sql() -> str:
    """Each name key that belongs to exactly one resolved person: name_key, person."""
    return """
SELECT name_key, any_value(person) AS person FROM _link_persons
WHERE name_key <> '' GROUP BY name_key HAVING count(DISTINCT person) = 1
"""


def sector_histograms_sql(zone: str) -> str:
    """Per kind of hours, device and sector: distinct half hours (``n``) observed there,
    and the device's distinct local days with any observation of that kind
    (``nights``): ``(kind, place_id, sensor_id, n, nights)`` where ``place_id`` is the
    device key, from one read of the device events. Kind ``night``: 00:00 to
    :data:`NIGHT_END_HOUR` local time, devices seen on :data:`NIGHT_MIN_NIGHTS` nights
    or more; ``day``: working hours (:data:`DAY_HOURS`, Monday to Friday), devices seen
    on :data:`DAY_MIN_DAYS` days or more."""
    z = zone.replace("'", "''")
    first, last = DAY_HOURS
    return f"""
WITH l AS (SELECT d.device, e.sensor_id, e.time, timezone('{z}', e.time) AS t
           FROM obs_device_event e JOIN {DEVICES} d ON d.imsi = e.imsi
           WHERE e.sensor_id IS NOT NULL AND e.lat IS NULL),
e AS (SELECT device, sensor_id, time, CAST(t AS DATE) AS night,
             CASE WHEN hour(t) < {NIGHT_END_HOUR} THEN 'night'
                  WHEN hour(t) >= {first} AND hour(t) < {last} AND isodow(t) <= 5 THEN 'day'
             END AS kind
      FROM l),
h AS (SELECT kind, device AS place_id, sensor_id,
             count(DISTINCT floor(epoch(time) / 1800)) AS n
      FROM e WHERE kind IS NOT NULL GROUP BY kind, device, sensor_id),
k AS (SELECT kind, device AS place_id, count(DISTINCT night) AS nights FROM e
      WHERE kind IS NOT NULL GROUP BY kind, device)
SELECT h.kind, h.place_id, h.sensor_id, h.n, k.nights FROM h JOIN k USING (kind, place_id)
WHERE k.nights >= CASE h.kind WHEN 'night' THEN {NIGHT_MIN_NIGHTS} ELSE {DAY_MIN_DAYS} END
"""


def person_work_sql() -> str:
    """Each resolved person's work buildings: ``(person, building)`` for the buildings
    of the address register whose occupant is the person's organisation (names
    compared by :func:`organisation_key`), other than residences."""
    occupant = organisation_key("coalesce(a.occupant_name_latin, a.occupant_name)")
    return f"""
WITH w AS (SELECT DISTINCT {occupant} AS key, a.record_id AS building FROM reg_address a
           WHERE a.use IS DISTINCT FROM 'residential')
SELECT DISTINCT p.person, w.building FROM _link_persons p JOIN w ON w.key = p.organisation_key
"""


def person_homes_sql() -> str:
    """Each resolved person's registered addresses found in the address register:
    ``(person, lat, lon, building)``, one row per distinct building."""
    return f"""
WITH a AS (SELECT {place_key("address")} AS key, any_value(lat) AS lat, any_value(lon) AS lon,
                  any_value(record_id) AS building
           FROM reg_address WHERE lat IS NOT NULL GROUP BY key)
SELECT DISTINCT p.person, a.lat, a.lon, a.building FROM _link_persons p
JOIN a ON a.key = p.address_key
"""


def contradicted_sql() -> str:
    """``(device, person)`` pairs where a prepaid line's registration names ``person``
    (by document or by unique name) but the device sleeps farther than :data:`FAR_M`
    from every registered address of that person: a false subscriber, common for
    prepaid cards. Reads ``_link_subscription``, ``_link_night`` and
    ``_link_person_home``."""
    dist = haversine_sql("n.lat", "n.lon", "h.lat", "h.lon")
    return f"""
WITH named AS (
  SELECT s.device, i.person FROM _link_subscription s
  JOIN _link_person_ids i ON i.doc = s.subscriber_id WHERE s.prepaid
  UNION
  SELECT s.device, m.person FROM _link_subscription s
  JOIN _link_person_names m ON m.name_key = s.name_key WHERE s.prepaid)
SELECT named.device, named.person FROM named
JOIN _link_night n ON n.device = named.device
JOIN _link_person_home h ON h.person = named.person
GROUP BY named.device, named.person HAVING min({dist}) >= {FAR_M}
"""


def subscriptions_sql() -> str:
    """Each device's registered subscriptions current when it was first seen, with
    their name, address and organisation keys (temporary ``_link_subscription``)."""
    return f"""
WITH line AS (SELECT d.device, d.first_seen, s.* FROM {DEVICES} d
              JOIN reg_subscription s ON s.imsi = d.imsi
              UNION ALL
              SELECT d.device, d.first_seen, s.* FROM {DEVICES} d
              JOIN reg_subscription s ON s.imsi IS NULL AND s.msisdn = d.msisdn)
SELECT device, subscriber_id, {name_key("subscriber_name_latin")} AS name_key, record_id,
       coalesce(contract = 'prepaid', FALSE) AS prepaid,
       {place_key("address")} AS address_key,
       {organisation_key("subscriber_organisation_latin")} AS organisation_key
FROM line WHERE end_date IS NULL OR end_date >= CAST(first_seen AS DATE)
"""


def person_name_with_sql(column: str) -> str:
    """Each (name key, ``column``) that belongs to exactly one resolved person: a name
    shared by several people is often told apart by their address or employer."""
    return f"""
SELECT name_key, {column} AS key, any_value(person) AS person FROM _link_persons
WHERE name_key <> '' AND {column} IS NOT NULL
GROUP BY name_key, {column} HAVING count(DISTINCT person) = 1
"""


def _namesake_sleeping_near_sql(rows: str, key: str, detail: str) -> str:
    """``(<key>, person, detail)``: for each ``key`` of ``rows`` (a table or a
    parenthesised query, alias ``r``, with ``name_key`` and ``device``), the person
    bearing its name who is registered within :data:`NEAR_M` of where its device spends
    its nights (``_link_night``), where exactly one is; ``detail`` is an SQL text over
    ``r`` (one of the rows' texts when several give the same person)."""
    near = haversine_sql("n.lat", "n.lon", "h.lat", "h.lon")
    return f"""
SELECT {key}, any_value(person) AS person, any_value(detail) AS detail
FROM (SELECT DISTINCT r.{key}, p.person, {detail} AS detail
      FROM {rows} r JOIN _link_persons p ON p.name_key = r.name_key AND r.name_key <> ''
      JOIN _link_person_home h ON h.person = p.person
      JOIN _link_night n ON n.device = r.device
      WHERE {near} < {NEAR_M})
GROUP BY {key} HAVING count(DISTINCT person) = 1"""


def vehicles_sql() -> str:
    """Every plate with co-travel or a registration: shared or not, its primary device
    and its registered keeper (a resolved person) where known: by the registration's
    document number, by a name one person bears, or by a name several bear when only
    one of them is registered within :data:`NEAR_M` of where the vehicle's primary
    device spends its nights (``keeper_name_residence``)."""
    keeper_name = name_key("v.owner_name_latin")
    primary = (
        f"(SELECT reg.plate, reg.keeper_key AS name_key, vd.device FROM reg "
        f"JOIN {VEHICLE_DEVICE} vd ON vd.vehicle = reg.plate AND vd.is_primary)"
    )
    return f"""
WITH reg AS (SELECT v.plate, v.plate_kind, v.owner_id, {keeper_name} AS keeper_key
             FROM reg_vehicle v WHERE v.registered_to IS NULL
             QUALIFY row_number() OVER (PARTITION BY v.plate ORDER BY v.registered_from DESC
                                        NULLS LAST, v.obs_id DESC) = 1),
resident AS ({_namesake_sleeping_near_sql(primary, "plate", "CAST(NULL AS VARCHAR)")}),
keeper AS (SELECT reg.plate,
                  coalesce(i.person, n.person, r.person) AS keeper,
                  CASE WHEN i.person IS NOT NULL THEN 'keeper_id'
                       WHEN n.person IS NOT NULL THEN 'keeper_name'
                       WHEN r.person IS NOT NULL THEN 'keeper_name_residence' END AS keeper_via
           FROM reg LEFT JOIN _link_person_ids i ON i.doc = reg.owner_id
           LEFT JOIN _link_person_names n ON n.name_key = reg.keeper_key
           LEFT JOIN resident r ON r.plate = reg.plate),
rides AS (SELECT vehicle AS plate, count(*) AS devices FROM {VEHICLE_DEVICE} GROUP BY vehicle),
plates AS (SELECT plate FROM reg UNION SELECT plate FROM rides)
SELECT plates.plate AS vehicle, reg.plate_kind,
       coalesce(reg.plate_kind IN {SHARED_KINDS}, FALSE)
         OR coalesce(rides.devices >= {SHARED_MIN_DEVICES}, FALSE) AS shared,
       coalesce(rides.devices, 0) AS devices, vd.device AS primary_device,
       keeper.keeper, keeper.keeper_via
FROM plates LEFT JOIN reg USING (plate) LEFT JOIN rides USING (plate)
LEFT JOIN keeper USING (plate)
LEFT JOIN {VEHICLE_DEVICE} vd ON vd.vehicle = plates.plate AND vd.is_primary
"""


def _name_with_sql(via: str, key: str, word: str, what: str) -> str:
    """Evidence ``via``: the subscription's name and its ``key`` (an address or an
    organisation key) belong to exactly one resolved person (the temporary table
    :func:`person_name_with_sql` makes for ``key``)."""
    table = f"_link_person_name_{key.removesuffix('_key')}"
    return f"""
SELECT sub.device, w.person, '{via}', {CONFIDENCE[via]},
       'subscription ' || coalesce(sub.record_id, '?') || ' names ' || sub.name_key
         || ' {word} ' || sub.{key} || ', this person''s {what}'
FROM sub JOIN {table} w ON w.name_key = sub.name_key AND w.key = sub.{key}"""


def evidence_sql() -> str:
    """Every piece of device-to-person evidence: device, person, via, confidence, detail."""
    c = CONFIDENCE
    sub_detail = (
        "'subscription ' || coalesce(r.record_id, '?') || ' names ' || r.name_key "
        f"|| ', the only person of that name registered within {NEAR_M:.0f} m of where ' "
        "|| 'the device spends its nights'"
    )
    return f"""
WITH sub AS (SELECT * FROM _link_subscription)
SELECT sub.device, i.person, 'subscriber_id' AS via, {c["subscriber_id"]} AS confidence,
       'subscription ' || coalesce(sub.record_id, '?') || ' names document '
         || sub.subscriber_id AS detail
FROM sub JOIN _link_person_ids i ON i.doc = sub.subscriber_id
LEFT JOIN _link_contradicted x ON x.device = sub.device AND x.person = i.person
WHERE x.device IS NULL
UNION ALL
SELECT sub.device, n.person, 'subscriber_name', {c["subscriber_name"]},
       'subscription ' || coalesce(sub.record_id, '?') || ' names ' || sub.name_key
FROM sub JOIN _link_person_names n ON n.name_key = sub.name_key
LEFT JOIN _link_contradicted x ON x.device = sub.device AND x.person = n.person
WHERE x.device IS NULL
UNION ALL
SELECT device, person, 'subscriber_name_residence', {c["subscriber_name_residence"]}, detail
FROM ({_namesake_sleeping_near_sql("sub", "device", sub_detail)})
UNION ALL
SELECT device, any_value(person), 'organisation_residence',
       {c["organisation_residence"]}, any_value(detail)
FROM (SELECT DISTINCT sub.device, p.person,
             'subscription ' || coalesce(sub.record_id, '?') || ' is a line of '
               || sub.organisation_key || ', and this is the only person of it registered '
               || 'in the building where the device most likely spends its nights ('
               || n.building || ')' AS detail
      FROM sub JOIN _link_persons p ON p.organisation_key = sub.organisation_key
      JOIN _link_person_home h ON h.person = p.person
      JOIN _link_night n ON n.device = sub.device AND n.building = h.building)
GROUP BY device HAVING count(DISTINCT person) = 1
UNION ALL
{_name_with_sql("subscriber_name_address", "address_key", "at", "registered address")}
UNION ALL
{_name_with_sql("subscriber_name_organisation", "organisation_key", "of", "organisation")}
UNION ALL
SELECT v.primary_device, v.keeper, 'vehicle_keeper',
       {c["vehicle_keeper"]} * vd.confidence,
       'primary device of ' || v.vehicle || ', registered to this person (' || v.keeper_via || ')'
FROM {VEHICLES} v JOIN {VEHICLE_DEVICE} vd ON vd.vehicle = v.vehicle AND vd.is_primary
WHERE NOT v.shared AND v.keeper IS NOT NULL
UNION ALL
SELECT d.device, n.person, 'contact_name', 1 - pow(1 - {c["contact_name"]}, count(DISTINCT
       coalesce(k.owner_number, k.owner_imei))),
       'listed under this name in ' || count(DISTINCT coalesce(k.owner_number, k.owner_imei))
         || ' contact list(s)'
FROM obs_contact k JOIN {DEVICES} d ON d.msisdn = k.listed_number
JOIN _link_person_names n ON n.name_key = {name_key("k.listed_name_latin")}
WHERE len(string_split(trim(k.listed_name_latin), ' ')) >= 2
GROUP BY d.device, n.person
"""


def night_posterior_sql(devices: str) -> str:
    """``(device, building, q)``: the posterior over residential buildings of where each
    device of ``devices`` (a query of device keys) sleeps, normalised per device (the
    weights of :func:`tessera.life.places.posterior_weights_sql` from
    ``_link_night_sector`` and ``_link_coverage``)."""
    from tessera.life.places import posterior_weights_sql

    hist = f"(SELECT * FROM _link_night_sector WHERE place_id IN ({devices}))"
    return f"""
SELECT place_id AS device, building, w / sum(w) OVER (PARTITION BY place_id) AS q
FROM ({posterior_weights_sql(hist, True, "_link_coverage")})
"""


def _unclaimed_devices(claimed: str) -> str:
    """Devices with a night home that ``claimed`` (a table of ``device, person``) does
    not attribute and that are no second phone (a query of device keys)."""
    return (
        f"SELECT device FROM _link_night WHERE device NOT IN (SELECT device FROM {claimed}) "
        f"AND device NOT IN (SELECT second FROM {SECOND_PHONES})"
    )


def _mass_sql(
    posterior: str, buildings: str, names: tuple[str, str], devices: str, claimed: str
) -> str:
    """``(device, person, <mass>, <building>)`` (``names``): the mass of ``posterior``
    (``device, building, q``) of each device of ``devices`` on the ``buildings``
    (``person, building``) of each person ``claimed`` gives no device, and the building
    of that person it favours most."""
    mass, building = names
    return f"""
SELECT post.device, h.person, sum(post.q) AS {mass},
       list(h.building ORDER BY post.q DESC, h.building)[1] AS {building}
FROM {posterior} post JOIN {buildings} h USING (building)
WHERE post.device IN ({devices}) AND h.person NOT IN (SELECT person FROM {claimed})
GROUP BY post.device, h.person"""


def _night_mass_sql(devices: str, claimed: str) -> str:
    """``(device, person, n, home)``: :func:`_mass_sql` of the night posterior
    (``_link_night_post``) on each person's registered buildings."""
    return _mass_sql("_link_night_post", "_link_person_home", ("n", "home"), devices, claimed)


def _mutual_best_sql(ctes: str, via: str, detail: str) -> str:
    """The pairs of ``pq(device, person, q, ...)`` (defined by ``ctes``, a WITH list)
    where each is the other's best by ``q`` (rounded to 9 decimals; ties go to the
    smaller key, so a build is reproducible) and the person holds more than
    :data:`UNCLAIMED_MIN_SHARE` of the device's ``q`` (two tied candidates get no link),
    as evidence ``via`` of confidence ``CONFIDENCE[via]`` times that share. Pairs an
    analyst rejected (``_link_verdict_device``) are left out before the best are
    chosen. ``detail`` is an SQL text over ``b`` (the pair's ``pq`` row, with ``qr``,
    its rounded ``q``, ``total``, the device's sum of ``qr``, and ``persons``, its
    number of candidates)."""
    return f"""
WITH {ctes},
kept AS (SELECT pq.*, round(pq.q, 9) AS qr FROM pq
         LEFT JOIN _link_verdict_device v ON v.a = pq.device AND v.b = pq.person
         WHERE v.verdict IS DISTINCT FROM 'reject' AND round(pq.q, 9) > 0),
by_device AS (SELECT *, sum(qr) OVER (PARTITION BY device) AS total,
                     count(*) OVER (PARTITION BY device) AS persons,
                     row_number() OVER (PARTITION BY device ORDER BY qr DESC, person) AS r
              FROM kept),
decisive AS (SELECT * FROM by_device
             WHERE r = 1 AND qr / total > {UNCLAIMED_MIN_SHARE} + 1e-6),
by_person AS (SELECT person, device,
                     row_number() OVER (PARTITION BY person ORDER BY qr DESC, device) AS r
              FROM decisive)
SELECT b.device, b.person, '{via}' AS via, {CONFIDENCE[via]} * b.qr / b.total AS confidence,
       {detail} AS detail
FROM decisive b JOIN by_person p ON p.person = b.person AND p.device = b.device AND p.r = 1
"""


def unclaimed_sql(claimed: str) -> str:
    """Evidence ``residence_unclaimed`` (see the module docstring): each device of
    :func:`_unclaimed_devices` against the persons ``claimed`` gives no device, by the
    device's night posterior mass on their registered buildings
    (:func:`_mutual_best_sql`)."""
    night = _night_mass_sql(_unclaimed_devices(claimed), claimed)
    detail = (
        "'no registration or contact list names this device; it spends its nights where "
        "this person is registered (' || b.home || '), ' "
        "|| CAST(round(100 * b.qr / b.total) AS INTEGER) || '% of its night posterior on the ' "
        "|| b.persons || ' registered resident(s) with no attributed device'"
    )
    return _mutual_best_sql(
        f"pq AS (SELECT *, n AS q FROM ({night}))", "residence_unclaimed", detail
    )


def _contact_words_sql(devices: str, claimed: str) -> str:
    """WITH items ending in ``m(device, person, hits, words)``: for each device of
    ``devices`` and each person ``claimed`` gives no device, the number of (contact
    list, word) agreements between the names lists save the device's number under and
    the words of the person's name, and those words."""
    words = tokens(translit("lower(k.listed_name_latin)"))
    return f"""lw AS (SELECT d.device, coalesce(k.owner_number, k.owner_imei) AS lister,
              unnest({words}) AS word
       FROM obs_contact k JOIN {DEVICES} d ON d.msisdn = k.listed_number
       WHERE d.device IN ({devices})),
lt AS (SELECT device, word, count(DISTINCT lister) AS lists FROM lw
       WHERE length(word) >= 2 GROUP BY device, word),
pw AS (SELECT DISTINCT person, word FROM (
         SELECT person, unnest(string_split(name_key, ' ')) AS word FROM _link_persons
         WHERE name_key <> '' AND person NOT IN (SELECT person FROM {claimed}))),
m AS (SELECT lt.device, pw.person, sum(lt.lists) AS hits,
             array_to_string(list(lt.word ORDER BY lt.word), ' ') AS words
      FROM lt JOIN pw USING (word) GROUP BY lt.device, pw.person)"""


def _named_by_contacts_sql(via: str, devices: str, claimed: str, mass: str, where: str) -> str:
    """Evidence ``via`` by ``a h`` (:func:`_mutual_best_sql`): ``mass`` is a query of
    ``(device, person, a, place)``, a posterior mass of each device of ``devices`` on
    the buildings ``place`` of each person ``claimed`` gives no device (at least
    :data:`UNCLAIMED_MIN_MASS`), ``h`` the (list, word) agreements of the names contact
    lists save the device under with the person's name; ``where`` says in words which
    mass it is, as SQL string text (quotes doubled)."""
    ctes = f"""
a AS ({mass}),
{_contact_words_sql(devices, claimed)},
pq AS (SELECT a.device, a.person, a.place, a.a, m.hits, m.words, a.a * m.hits AS q
       FROM a JOIN m ON m.device = a.device AND m.person = a.person
       WHERE a.a >= {UNCLAIMED_MIN_MASS})"""
    detail = (
        "'contact lists save this device under ''' || b.words || ''' (' || b.hits "
        f"|| ' agreement(s)), words of this person''s name; it spends its {where} (' "
        "|| b.place || ', ' || CAST(round(100 * b.a) AS INTEGER) || '% of that posterior)'"
    )
    return _mutual_best_sql(ctes, via, detail)


def contact_residence_sql(claimed: str) -> str:
    """Evidence ``residence_contact``: a device of :func:`_unclaimed_devices` that
    contact lists save under a name sharing words with persons ``claimed`` gives no
    device (a given name alone, a full name many people bear), against those persons
    by ``n h``: ``n`` the device's night mass on the person's registered buildings (at
    least :data:`UNCLAIMED_MIN_MASS`), ``h`` the number of (list, word) agreements
    (:func:`_mutual_best_sql`). Two residents of one building, which nights cannot tell
    apart, are told apart by what their contacts call them."""
    devices = _unclaimed_devices(claimed)
    night = (
        f"SELECT device, person, n AS a, home AS place FROM ({_night_mass_sql(devices, claimed)})"
    )
    return _named_by_contacts_sql(
        "residence_contact", devices, claimed, night, "nights where this person is registered"
    )


def contact_alone_sql(claimed: str) -> str:
    """Evidence ``contact_words``: a device of :func:`_unclaimed_devices` that contact
    lists save under :data:`CONTACT_ALONE_MIN_WORDS` or more distinct words of the name
    of a person ``claimed`` gives no device (so at least that many (list, word)
    agreements: two words in one list suffice), wherever either sleeps or is
    registered, by the number of agreements ``h`` (:func:`_mutual_best_sql`). It catches the
    full names that the ``contact_name`` evidence, which needs the whole name to be
    one person's, misses: "Paul Fussball Williams" for Paul Williams."""
    devices = _unclaimed_devices(claimed)
    ctes = f"""{_contact_words_sql(devices, claimed)},
pq AS (SELECT device, person, hits, words, hits AS q FROM m
       WHERE len(string_split(words, ' ')) >= {CONTACT_ALONE_MIN_WORDS}
         AND hits >= {CONTACT_ALONE_MIN_WORDS})"""
    detail = (
        "'contact lists save this device under ''' || b.words || ''' (' || b.hits "
        "|| ' agreement(s)), words of this person''s name, and under no other unclaimed "
        "person''s as often'"
    )
    return _mutual_best_sql(ctes, "contact_words", detail)


def day_posterior_sql(devices: str) -> str:
    """``(device, building, q)``: the posterior over buildings other than residences of
    where each device of ``devices`` (a query of device keys) spends working hours
    (from ``_link_day_sector``), normalised per device."""
    from tessera.life.places import posterior_weights_sql

    day = f"(SELECT * FROM _link_day_sector WHERE place_id IN ({devices}))"
    return f"""
WITH dw AS (SELECT place_id AS device, building, w FROM
              ({posterior_weights_sql(day, False, "_link_coverage")})
            WHERE use IS DISTINCT FROM 'residential')
SELECT device, building, w / sum(w) OVER (PARTITION BY device) AS q FROM dw
"""


def _working_devices(claimed: str) -> str:
    """The devices of :func:`_unclaimed_devices` with a working-hours posterior."""
    return f"{_unclaimed_devices(claimed)} AND device IN (SELECT device FROM _link_day_post)"


def _work_mass_sql(devices: str, claimed: str) -> str:
    """``(device, person, w, work)``: :func:`_mass_sql` of the working-hours posterior
    (``_link_day_post``) on each person's work buildings."""
    return _mass_sql("_link_day_post", "_link_person_work", ("w", "work"), devices, claimed)


def workplace_sql(claimed: str) -> str:
    """Evidence ``residence_workplace``: a device of :func:`_unclaimed_devices` with a
    working-hours posterior (``_link_day_post``, :func:`day_posterior_sql`) against the
    persons ``claimed`` gives no device and with a known work building
    (``_link_person_work``), by ``n w``: ``n`` the device's night mass on the person's
    registered buildings, ``w`` its working-hours mass on the person's work buildings,
    each at least :data:`UNCLAIMED_MIN_MASS` (:func:`_mutual_best_sql`). Two residents
    of one building, which nights cannot tell apart, are told apart by where they
    work."""
    devices = _working_devices(claimed)
    ctes = f"""
n AS ({_night_mass_sql(devices, claimed)}),
w AS ({_work_mass_sql(devices, claimed)}),
pq AS (SELECT n.device, n.person, n.home, w.work, n.n, w.w, n.n * w.w AS q
       FROM n JOIN w ON w.device = n.device AND w.person = n.person
       WHERE n.n >= {UNCLAIMED_MIN_MASS} AND w.w >= {UNCLAIMED_MIN_MASS})"""
    detail = (
        "'no registration or contact list names this device; it spends its nights where "
        "this person is registered (' || b.home || ', ' || CAST(round(100 * b.n) AS INTEGER) "
        "|| '% of its night posterior) and its working hours where this person''s employer "
        "is (' || b.work || ', ' || CAST(round(100 * b.w) AS INTEGER) || '%)'"
    )
    return _mutual_best_sql(ctes, "residence_workplace", detail)


def contact_workplace_sql(claimed: str) -> str:
    """Evidence ``workplace_contact``: a device of :func:`_unclaimed_devices` with a
    working-hours posterior against the persons ``claimed`` gives no device, by ``w h``:
    ``w`` its working-hours mass on the person's work buildings (at least
    :data:`UNCLAIMED_MIN_MASS`), ``h`` the (list, word) agreements of its contact names
    with the person's name (:func:`_mutual_best_sql`). No registered address is needed:
    people no residence register holds (an embassy's staff) are found where they work,
    by what their contacts call them."""
    devices = _working_devices(claimed)
    work = f"SELECT device, person, w AS a, work AS place FROM ({_work_mass_sql(devices, claimed)})"
    return _named_by_contacts_sql(
        "workplace_contact",
        devices,
        claimed,
        work,
        "working hours where this person''s employer is",
    )


def _claimed_sql(*passes: str) -> str:
    """``(device, person)`` of every link the given tables hold."""
    return " UNION ALL ".join(f"SELECT device, person FROM {p}" for p in passes)


def second_phone_sql(first_pass: str) -> str:
    """A second phone is attributed to the person of its primary phone."""
    return f"""
SELECT s.second AS device, p.person, 'second_phone' AS via, s.confidence * p.confidence,
       'second phone of ' || s."primary" || ' (' || p.vias[1] || ')' AS detail
FROM {SECOND_PHONES} s JOIN {first_pass} p ON p.device = s."primary"
"""


def swap_sql(first_pass: str) -> str:
    """Evidence ``device_swap``: each device of a swap (``link_device_swap``, both
    sides devices of ``link_device``) points to the person ``first_pass`` gives the
    other, with the swap's confidence times the person's times
    ``CONFIDENCE['device_swap']``."""
    c = CONFIDENCE["device_swap"]
    sides = (
        f"SELECT old AS device, new AS other, kind, confidence FROM {SWAPS} "
        f"UNION ALL SELECT new, old, kind, confidence FROM {SWAPS}"
    )
    return f"""
SELECT w.device, p.person, 'device_swap' AS via, {c} * w.confidence * p.confidence,
       'same owner as ' || w.other || ' (a ' || w.kind || ' swap; ' || p.vias[1] || ')' AS detail
FROM ({sides}) w JOIN {first_pass} p ON p.device = w.other
WHERE w.device IN (SELECT device FROM {DEVICES})
"""


def device_person_sql(evidence: str = "_link_evidence") -> str:
    return f"""
WITH combined AS (
  SELECT device, person, 1 - exp(sum(ln(greatest(1e-9, 1 - confidence)))) AS confidence,
         list(via ORDER BY confidence DESC, via, detail) AS vias,
         string_agg(detail, '; ' ORDER BY confidence DESC, via, detail) AS evidence
  FROM {evidence} GROUP BY device, person),
ranked AS (
  SELECT *, row_number() OVER (PARTITION BY device ORDER BY confidence DESC, person) AS r,
         lead(confidence) OVER (PARTITION BY device ORDER BY confidence DESC, person)
           AS runner_up
  FROM combined)
SELECT device, person, confidence, coalesce(runner_up, 0.0) AS runner_up, vias, evidence
FROM ranked WHERE r = 1
"""


def vehicle_person_sql() -> str:
    c = CONFIDENCE["primary_device"]
    return f"""
SELECT v.vehicle, dp.person, 'primary_user' AS role,
       {c} * vd.confidence * dp.confidence AS confidence,
       'primary device ' || v.primary_device || ' belongs to this person' AS evidence
FROM {VEHICLES} v JOIN {VEHICLE_DEVICE} vd ON vd.vehicle = v.vehicle AND vd.is_primary
JOIN {DEVICE_PERSON} dp ON dp.device = v.primary_device
WHERE NOT v.shared
UNION ALL
SELECT v.vehicle, v.keeper, 'primary_user', {CONFIDENCE["keeper_user"]},
       'no co-travel; registered keeper assumed to be the user (' || v.keeper_via || ')'
FROM {VEHICLES} v WHERE NOT v.shared AND v.keeper IS NOT NULL AND NOT EXISTS (
  SELECT 1 FROM {VEHICLE_DEVICE} vd JOIN {DEVICE_PERSON} dp USING (device)
  WHERE vd.vehicle = v.vehicle AND vd.is_primary)
UNION ALL
SELECT v.vehicle, v.keeper, 'keeper', CASE v.keeper_via WHEN 'keeper_id' THEN
       {CONFIDENCE["keeper_id"]} ELSE {CONFIDENCE["keeper_name"]} END,
       'registered keeper (' || v.keeper_via || ')'
FROM {VEHICLES} v WHERE v.keeper IS NOT NULL
"""


def judged_evidence_sql(evidence: str) -> str:
    """Device-to-person ``evidence`` with the analysts' latest judgements
    (``_link_verdict_device``, see :mod:`tessera.link.judgements`): a rejected pair
    loses all its evidence, a confirmed one gains ``analyst`` evidence of confidence 1
    (for a device still in the data)."""
    return f"""
WITH e AS ({evidence})
SELECT e.* FROM e LEFT JOIN _link_verdict_device v ON v.a = e.device AND v.b = e.person
WHERE v.verdict IS DISTINCT FROM 'reject'
UNION ALL
SELECT v.a, v.b, 'analyst', 1.0, 'confirmed by an analyst (link_judgement)'
FROM _link_verdict_device v WHERE v.verdict = 'confirm'
  AND v.a IN (SELECT device FROM {DEVICES})
"""


def judged_vehicle_person_sql(links: str) -> str:
    """Vehicle-to-person ``links`` with the analysts' latest judgements
    (``_link_verdict_vehicle``): a rejected primary-user link is left out, a confirmed
    one is a primary-user link of confidence 1."""
    return f"""
WITH x AS ({links}),
j AS (
  SELECT x.* FROM x LEFT JOIN _link_verdict_vehicle v
    ON v.a = x.vehicle AND v.b = x.person AND x.role = 'primary_user'
  WHERE v.verdict IS DISTINCT FROM 'reject'
  UNION ALL
  SELECT v.a, v.b, 'primary_user', 1.0, 'confirmed by an analyst (link_judgement)'
  FROM _link_verdict_vehicle v WHERE v.verdict = 'confirm'
    AND v.a IN (SELECT vehicle FROM {VEHICLES})
)
SELECT * FROM j
QUALIFY row_number() OVER (PARTITION BY vehicle, person, role
                           ORDER BY confidence DESC, evidence) = 1
"""


def _residence(engine: Engine, temp: TempFn) -> None:
    """Temporary ``_link_night(device, lat, lon, building, nights)``, where each device
    with enough night observations sleeps (the posterior mean over residential
    buildings under the sector coverage model, :func:`tessera.life.places.posterior_sql`,
    and its most likely building), ``_link_person_home(person, lat, lon, building)``,
    the night and working-hours sector histograms (``_link_night_sector``,
    ``_link_day_sector``, from :func:`sector_histograms_sql`) and
    ``_link_person_work(person, building)``."""
    from tessera.life.coverage import coverage_sql
    from tessera.life.places import posterior_sql
    from tessera.life.settings import local_timezone

    temp("_link_coverage", coverage_sql())
    temp("_link_sector_hist", sector_histograms_sql(local_timezone(engine)))
    for kind in ("night", "day"):
        temp(
            f"_link_{kind}_sector",
            f"SELECT place_id, sensor_id, n, nights FROM _link_sector_hist WHERE kind = '{kind}'",
        )
    temp(
        "_link_night",
        f"SELECT p.place_id AS device, p.lat, p.lon, p.building, k.nights "
        f"FROM ({posterior_sql('_link_night_sector', True, '_link_coverage')}) p "
        "JOIN (SELECT DISTINCT place_id, nights FROM _link_night_sector) k USING (place_id)",
    )
    temp("_link_person_home", person_homes_sql())
    temp("_link_person_work", person_work_sql())
    temp("_link_contradicted", contradicted_sql())


def run(engine: Engine) -> Mapping[str, int]:
    """Write the vehicle, device-to-person and vehicle-to-person link tables."""
    counts = {VEHICLE_DEVICE: engine.materialise(VEHICLE_DEVICE, vehicle_device_sql())}
    with engine.temp_tables() as temp:
        temp("_link_persons", persons_sql())
        temp("_link_person_ids", person_ids_sql())
        temp("_link_person_names", person_names_sql())
        for key in ("address_key", "organisation_key"):
            temp(f"_link_person_name_{key.removesuffix('_key')}", person_name_with_sql(key))
        temp("_link_subscription", subscriptions_sql())
        _residence(engine, temp)
        counts[VEHICLES] = engine.materialise(VEHICLES, vehicles_sql())
        temp("_link_verdict_device", verdicts_sql(engine, "device_person"))
        temp("_link_verdict_vehicle", verdicts_sql(engine, "vehicle_person"))
        temp("_link_evidence", judged_evidence_sql(evidence_sql()))
        temp("_link_first_pass", device_person_sql())
        # the devices nothing names, most precise pass first: each pass leaves out the
        # devices and persons the earlier ones linked, so the last, nights alone,
        # finds residents once their housemates are out of the way
        claimed = "_link_first_pass"
        # each posterior once, for every device the passes may consider (as tables:
        # nested in one query, the two would repeat their CTE names, which Spark refuses)
        temp("_link_night_post", night_posterior_sql(_unclaimed_devices(claimed)))
        temp("_link_day_post", day_posterior_sql(_unclaimed_devices(claimed)))
        passes = []
        evidence_kinds = (
            contact_residence_sql,
            workplace_sql,
            contact_workplace_sql,
            contact_alone_sql,
            unclaimed_sql,
        )
        for n, evidence in enumerate(evidence_kinds * PASS_ROUNDS):
            passes.append(f"_link_unclaimed_{n}")
            temp(passes[-1], evidence(claimed))
            temp(f"_link_claimed_{n}", _claimed_sql(claimed, passes[-1]))
            claimed = f"_link_claimed_{n}"
        temp("_link_unclaimed", " UNION ALL ".join(f"SELECT * FROM {p}" for p in passes))
        temp(
            "_link_second_pass",
            device_person_sql(
                "(SELECT * FROM _link_evidence UNION ALL SELECT * FROM _link_unclaimed)"
            ),
        )
        temp(
            "_link_evidence_all",
            judged_evidence_sql(
                f"SELECT * FROM _link_evidence WHERE via <> 'analyst' "
                f"UNION ALL SELECT * FROM _link_unclaimed "
                f"UNION ALL {second_phone_sql('_link_second_pass')} "
                f"UNION ALL {swap_sql('_link_second_pass')}"
            ),
        )
        counts[DEVICE_EVIDENCE] = engine.materialise(
            DEVICE_EVIDENCE, "SELECT * FROM _link_evidence_all"
        )
        counts[DEVICE_PERSON] = engine.materialise(
            DEVICE_PERSON, device_person_sql(DEVICE_EVIDENCE)
        )
        counts[VEHICLE_PERSON] = engine.materialise(
            VEHICLE_PERSON, judged_vehicle_person_sql(vehicle_person_sql())
        )
    return counts
