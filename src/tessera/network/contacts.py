"""The contact network: who communicates with whom, at the level of subjects.

Reads ``obs_communication`` (calls and SMS: from_number, to_number, time, channel,
duration_s), ``obs_contact`` (handset contact lists: owner_number, owner_imei,
listed_number), ``link_device``, ``link_device_person`` and ``link_second_phone``, and
writes ``net_contact`` (layout in :data:`tessera.network.tables.COLUMNS`), one row per
undirected pair of subjects (``a < b``) that communicated or where one lists the other.

**Numbers to subjects.** A number is carried by the devices of ``link_device`` whose
``msisdn`` it is. After a number swap one number can belong to different devices over
time, so each *event* goes to the device whose ``first_seen .. last_seen`` covers the
event's time; when none or several do, the deterministic fallback is: covering first,
then the smallest gap in seconds between the event and the device's interval, then the
most events, then the smallest device key. A contact list has no time: its owner is the
device carrying the owner number whose handsets (``imeis``) include the list's
``owner_imei``, else the one seen last (``last_seen``), then most events, then smallest
key; a listed number goes to the device seen last, then most events, then smallest key.
A device is its person's (``link_device_person``, ``subject_kind = 'person'``) or else
its own subject (``'device'``). A number no ingested device carries becomes the subject
``'number:<e164>'`` (``'number'``).

**Self pairs are dropped**: both ends the same subject (a person calling their own
second phone, both attributed to them), and both ends of one *owner*, where a second
phone's owner is the subject of its primary device (``link_second_phone``, the most
confident primary) and any other device's owner is its subject: so calls between a
second phone and its primary are dropped even when neither is attributed to a person.

**Per pair** (:func:`pair_weights_sql`, usable on any table of directed events with
columns ``a, b, time, channel, duration_s``): ``events``; ``calls`` and ``sms`` (by
channel); ``call_s`` (seconds of calls; a negative duration, a missed call, counts 0);
``a_to_b`` and ``b_to_a`` (events from ``a`` to ``b`` and back); ``reciprocity =
min(a_to_b, b_to_a) / max(a_to_b, b_to_a)`` (0 for one-way pairs and listed-only
pairs); ``days`` (distinct local days, zone of
:func:`tessera.life.settings.local_timezone`); ``first_at`` and ``last_at``; ``listed``
(in a contact list, either way round); ``second_phone_events`` (events where either end
is the ``second`` device of ``link_second_phone``); ``obs_ids`` (the most recent
:data:`OBS_IDS_CAP` communication events, newest first, then the contact-list entries,
at most :data:`OBS_IDS_CAP` of those: the lists are capped, ``events`` is not); and
``evidence`` (the same in words).

**Weight.** Each event ``i`` (channel ``c_i``, duration ``d_i`` seconds, time ``t_i``)
contributes::

    u_i = w(c_i) * (1 + log2(1 + max(d_i, 0) / DURATION_UNIT_S)) * 2 ** (-(T - t_i) / H)

with ``w(call) = CALL_WEIGHT`` (1.0), ``w(sms) = SMS_WEIGHT`` (0.5) (a call says more
about a tie than a message, and a long call more than a short one, logarithmically),
``T`` the end of the last UTC day of the data and ``H = HALF_LIFE_DAYS`` (30 days): an
event a month old counts half. With ``V = sum_i u_i``::

    weight = ln(1 + V) * (RECIPROCITY_FLOOR + (1 - RECIPROCITY_FLOOR) * reciprocity)
             + LISTED_WEIGHT * listed

``ln(1 + V)`` makes frequency count with diminishing returns (the tenth call adds less
than the first); a one-way pair keeps :data:`RECIPROCITY_FLOOR` (0.5) of it, a balanced
pair all of it; a contact-list entry adds :data:`LISTED_WEIGHT` (0.3), so a listed pair
that never communicated has a small weight (one reciprocated call today weighs
``ln 2 = 0.69``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tessera.engines.base import exact_sum, literal, quote
from tessera.life.settings import local_timezone
from tessera.network import tables

if TYPE_CHECKING:
    from tessera.engines.base import Engine

CONTACT = tables.CONTACT

CALL_WEIGHT = 1.0
SMS_WEIGHT = 0.5
# the weight of an event on a channel the weights do not name (face-to-face contacts,
# when the weighting is applied to other data)
OTHER_CHANNEL_WEIGHT = 1.0
CHANNEL_WEIGHTS: Mapping[str, float] = {"call": CALL_WEIGHT, "sms": SMS_WEIGHT}
DURATION_UNIT_S = 60.0
HALF_LIFE_DAYS = 30.0
RECIPROCITY_FLOOR = 0.5
LISTED_WEIGHT = 0.3
OBS_IDS_CAP = 50


def event_weight_sql(
    channel: str,
    duration: str,
    time: str,
    end: str,
    channel_weights: Mapping[str, float] = CHANNEL_WEIGHTS,
) -> str:
    """SQL for ``u_i``, the weight of one event (see the module docstring): channel
    weight, times the logarithmic duration factor, times the recency decay from ``end``."""
    cases = " ".join(
        f"WHEN {literal(name)} THEN {float(w)!r}" for name, w in sorted(channel_weights.items())
    )
    cw = f"(CASE {channel} {cases} ELSE {OTHER_CHANNEL_WEIGHT!r} END)" if cases else "1.0"
    dur = f"(1 + log2(1 + greatest(coalesce({duration}, 0), 0) / {DURATION_UNIT_S!r}))"
    decay = f"pow(0.5, (epoch({end}) - epoch({time})) / {HALF_LIFE_DAYS * 86400.0!r})"
    return f"{cw} * {dur} * {decay}"


def weight_sql(volume: str, reciprocity: str, listed: str) -> str:
    """SQL for a pair's ``weight`` from its decayed volume ``V``, reciprocity and listed
    flag (see the module docstring)."""
    floor = RECIPROCITY_FLOOR
    return (
        f"(ln(1 + coalesce({volume}, 0)) "
        f"* ({floor!r} + {1.0 - floor!r} * coalesce({reciprocity}, 0)) "
        f"+ {LISTED_WEIGHT!r} * CASE WHEN {listed} THEN 1 ELSE 0 END)"
    )


def pair_weights_sql(
    events: str,
    *,
    end: str | None = None,
    zone: str = "UTC",
    channel_weights: Mapping[str, float] = CHANNEL_WEIGHTS,
    extra: Mapping[str, str] | None = None,
) -> str:
    """One row per undirected pair of the directed ``events`` (a table or subquery with
    columns ``a, b, time, channel, duration_s``; ``a`` the sender), with the pair stored
    once as ``a < b``.

    Columns: a, b, events, calls, sms, call_s, a_to_b, b_to_a, reciprocity, days (local
    days in ``zone``), first_at, last_at, volume (``V``) and weight (``listed`` false),
    then the ``extra`` aggregates (name -> SQL aggregate expression, which may use the
    raw columns of ``events`` and ``fwd``, true when the event goes from the smaller
    subject to the larger). ``end`` is the SQL expression of ``T``; by default the end
    of the last UTC day in ``events``. Rows with ``a = b`` are left out.
    """
    t_end = end or f"(SELECT date_trunc('day', max(time)) + INTERVAL 1 DAY FROM {events})"
    u = event_weight_sql("channel", "duration_s", "time", "_t_end", channel_weights)
    extras = "".join(f", {expr} AS {quote(name)}" for name, expr in (extra or {}).items())
    extra_cols = "".join(f", {quote(name)}" for name in (extra or {}))
    z = literal(zone)
    recip = "CAST(least(a_to_b, b_to_a) AS DOUBLE) / greatest(a_to_b, b_to_a)"
    return f"""
WITH _e AS (SELECT *, least(a, b) AS _lo, greatest(a, b) AS _hi, a < b AS fwd,
                   {t_end} AS _t_end
            FROM {events} WHERE a IS NOT NULL AND b IS NOT NULL AND a <> b),
_g AS (SELECT _lo, _hi, CAST(count(*) AS INTEGER) AS events,
              CAST(count(*) FILTER (WHERE channel = 'call') AS INTEGER) AS calls,
              CAST(count(*) FILTER (WHERE channel = 'sms') AS INTEGER) AS sms,
              CAST(coalesce(sum(greatest(duration_s, 0)) FILTER (WHERE channel = 'call'), 0)
                   AS DOUBLE) AS call_s,
              CAST(count(*) FILTER (WHERE fwd) AS INTEGER) AS a_to_b,
              CAST(count(*) FILTER (WHERE NOT fwd) AS INTEGER) AS b_to_a,
              CAST(count(DISTINCT CAST(timezone({z}, time) AS DATE)) AS INTEGER) AS days,
              min(time) AS first_at, max(time) AS last_at,
              {exact_sum(u)} AS volume{extras}
       FROM _e GROUP BY _lo, _hi)
SELECT _lo AS a, _hi AS b, events, calls, sms, call_s, a_to_b, b_to_a,
       {recip} AS reciprocity, days, first_at, last_at, volume,
       {weight_sql("volume", recip, "false")} AS weight{extra_cols}
FROM _g
"""


def _subjects_sql() -> str:
    """``_net_dev``: every device with a number, its subject, whether it is a second
    phone, and its ``owner``: the subject of its primary device for a second phone (the
    most confident primary), else its own subject; two ends with one owner are one
    person (self pairs)."""
    return """
WITH d AS (
  SELECT d.device, d.msisdn, d.imeis, d.first_seen, d.last_seen,
         coalesce(d.events, 0) AS events,
         coalesce(p.person, d.device) AS subject,
         CASE WHEN p.person IS NULL THEN 'device' ELSE 'person' END AS subject_kind
  FROM link_device d
  LEFT JOIN (SELECT device, arg_max(person, confidence) AS person FROM link_device_person
             GROUP BY device) p USING (device)),
s AS (SELECT second, arg_max("primary", confidence) AS prim FROM link_second_phone
      GROUP BY second)
SELECT d.device, d.msisdn, d.imeis, d.first_seen, d.last_seen, d.events, d.subject,
       d.subject_kind, s.second IS NOT NULL AS is_second,
       coalesce(pd.subject, s.prim, d.subject) AS owner
FROM d LEFT JOIN s ON s.second = d.device
LEFT JOIN (SELECT device, subject FROM d) pd ON pd.device = s.prim
WHERE d.msisdn IS NOT NULL
"""


def _evidence_sql() -> str:
    # minutes rounded half away from zero by round() (printf's %.0f rounds half to even
    # on DuckDB, half up on Spark)
    return """concat_ws('; ',
  CASE WHEN events > 0
       THEN printf('%d call(s) (%d min), %d SMS; %d a->b, %d b->a; on %d day(s), %s to %s',
       calls, CAST(round(call_s / 60.0) AS BIGINT), sms, a_to_b, b_to_a, days,
       strftime(first_at, '%Y-%m-%d'), strftime(last_at, '%Y-%m-%d')) END,
  CASE WHEN events > calls + sms
       THEN printf('%d event(s) on other channels', events - calls - sms) END,
  CASE WHEN listed THEN 'in a contact list' END,
  CASE WHEN second_phone_events > 0
       THEN printf('%d event(s) with a second phone', second_phone_events) END)"""


def contacts(engine: Engine) -> dict[str, int]:
    """Write :data:`CONTACT` (see the module docstring); return its row count."""
    zone = local_timezone(engine)
    with engine.temp_tables() as temp:
        temp("_net_dev", _subjects_sql())
        temp(
            "_net_uniq",
            "SELECT msisdn, any_value(device) AS device, any_value(subject) AS subject, "
            "any_value(subject_kind) AS subject_kind, bool_or(is_second) AS is_second, "
            "any_value(owner) AS owner "
            "FROM _net_dev GROUP BY msisdn HAVING count(*) = 1",
        )
        temp(
            "_net_multi",
            "SELECT * FROM _net_dev WHERE msisdn IN "
            "(SELECT msisdn FROM _net_dev GROUP BY msisdn HAVING count(*) > 1)",
        )
        # events of numbers several devices carried: the device whose interval covers
        # the event, else the nearest interval, then most events, then the smallest key
        temp(
            "_net_pick",
            """
WITH ends AS (SELECT obs_id, time, from_number AS number FROM obs_communication
              WHERE from_number IN (SELECT msisdn FROM _net_multi)
              UNION ALL
              SELECT obs_id, time, to_number FROM obs_communication
              WHERE to_number IN (SELECT msisdn FROM _net_multi))
SELECT e.obs_id, e.number, d.device, d.subject, d.subject_kind, d.is_second, d.owner
FROM ends e JOIN _net_multi d ON d.msisdn = e.number
QUALIFY row_number() OVER (
  PARTITION BY e.obs_id, e.number
  ORDER BY (e.time BETWEEN d.first_seen AND d.last_seen) DESC,
           greatest(epoch(d.first_seen) - epoch(e.time), epoch(e.time) - epoch(d.last_seen), 0),
           d.events DESC, d.device) = 1
""",
        )
        # one pass over the events: both ends mapped, self pairs left out
        events = """
SELECT c.obs_id, c.time, c.channel, c.duration_s,
       coalesce(pf.subject, uf.subject, 'number:' || c.from_number) AS a,
       coalesce(pf.subject_kind, uf.subject_kind, 'number') AS a_kind,
       coalesce(pt.subject, ut.subject, 'number:' || c.to_number) AS b,
       coalesce(pt.subject_kind, ut.subject_kind, 'number') AS b_kind,
       coalesce(pf.is_second, uf.is_second, false)
         OR coalesce(pt.is_second, ut.is_second, false) AS second
FROM obs_communication c
LEFT JOIN _net_uniq uf ON uf.msisdn = c.from_number
LEFT JOIN _net_uniq ut ON ut.msisdn = c.to_number
LEFT JOIN _net_pick pf ON pf.obs_id = c.obs_id AND pf.number = c.from_number
LEFT JOIN _net_pick pt ON pt.obs_id = c.obs_id AND pt.number = c.to_number
WHERE c.from_number IS NOT NULL AND c.to_number IS NOT NULL AND c.time IS NOT NULL
  AND coalesce(pf.owner, uf.owner, 'number:' || c.from_number)
      <> coalesce(pt.owner, ut.owner, 'number:' || c.to_number)
"""
        extra = {
            "a_kind": "any_value(CASE WHEN fwd THEN a_kind ELSE b_kind END)",
            "b_kind": "any_value(CASE WHEN fwd THEN b_kind ELSE a_kind END)",
            "second_phone_events": "CAST(count(*) FILTER (WHERE second) AS INTEGER)",
            # newest first; the key breaks ties at one instant by obs_id
            "obs_ids": f"arg_max(obs_id, {{'t': time, 'o': obs_id}}, {OBS_IDS_CAP})",
        }
        end = (
            "(SELECT date_trunc('day', max(time)) + INTERVAL 1 DAY FROM obs_communication "
            "WHERE from_number IS NOT NULL AND to_number IS NOT NULL)"
        )
        temp(
            "_net_pairs",
            pair_weights_sql(f"({events})", end=end, zone=zone, extra=extra),
        )
        temp(
            "_net_list",
            f"""
WITH o AS (SELECT k.obs_id, d.subject, d.subject_kind, d.owner
           FROM obs_contact k JOIN _net_dev d ON d.msisdn = k.owner_number
           WHERE k.listed_number IS NOT NULL
           QUALIFY row_number() OVER (
             PARTITION BY k.obs_id
             ORDER BY coalesce(list_contains(d.imeis, k.owner_imei), false) DESC,
                      d.last_seen DESC NULLS LAST, d.events DESC, d.device) = 1),
ow AS (SELECT k.obs_id, 'number:' || k.owner_number AS subject, 'number' AS subject_kind,
              'number:' || k.owner_number AS owner
       FROM obs_contact k WHERE k.listed_number IS NOT NULL
         AND k.owner_number IS NOT NULL AND k.obs_id NOT IN (SELECT obs_id FROM o)),
l AS (SELECT msisdn, subject, subject_kind, owner FROM _net_dev
      QUALIFY row_number() OVER (PARTITION BY msisdn
                                 ORDER BY last_seen DESC NULLS LAST, events DESC, device) = 1),
e AS (SELECT x.obs_id, x.subject AS a, x.subject_kind AS a_kind, x.owner AS a_owner,
             coalesce(l.subject, 'number:' || k.listed_number) AS b,
             coalesce(l.subject_kind, 'number') AS b_kind,
             coalesce(l.owner, 'number:' || k.listed_number) AS b_owner
      FROM (SELECT * FROM o UNION ALL SELECT * FROM ow) x
      JOIN obs_contact k USING (obs_id)
      LEFT JOIN l ON l.msisdn = k.listed_number)
SELECT least(a, b) AS a, greatest(a, b) AS b,
       any_value(CASE WHEN a < b THEN a_kind ELSE b_kind END) AS a_kind,
       any_value(CASE WHEN a < b THEN b_kind ELSE a_kind END) AS b_kind,
       list(obs_id ORDER BY obs_id)[1:{OBS_IDS_CAP}] AS obs_ids
FROM e WHERE a <> b AND a_owner <> b_owner
GROUP BY least(a, b), greatest(a, b)
""",
        )
        engine.execute(f"CREATE OR REPLACE TABLE {CONTACT} ({tables.COLUMNS[CONTACT]})")
        weight = weight_sql("p.volume", "p.reciprocity", "l.a IS NOT NULL")
        engine.execute(
            f"""
INSERT INTO {CONTACT}
WITH j AS (
  SELECT coalesce(p.a, l.a) AS a, coalesce(p.a_kind, l.a_kind) AS a_kind,
         coalesce(p.b, l.b) AS b, coalesce(p.b_kind, l.b_kind) AS b_kind,
         coalesce(p.events, 0) AS events, coalesce(p.calls, 0) AS calls,
         coalesce(p.sms, 0) AS sms, coalesce(p.call_s, 0) AS call_s,
         coalesce(p.a_to_b, 0) AS a_to_b, coalesce(p.b_to_a, 0) AS b_to_a,
         coalesce(p.reciprocity, 0) AS reciprocity, coalesce(p.days, 0) AS days,
         p.first_at, p.last_at, l.a IS NOT NULL AS listed,
         coalesce(p.second_phone_events, 0) AS second_phone_events,
         {weight} AS weight,
         list_concat(coalesce(p.obs_ids, []), coalesce(l.obs_ids, [])) AS obs_ids
  FROM _net_pairs p FULL OUTER JOIN _net_list l ON l.a = p.a AND l.b = p.b)
SELECT a, a_kind, b, b_kind, events, calls, sms, call_s, a_to_b, b_to_a, reciprocity, days,
       first_at, last_at, listed, second_phone_events, weight, {_evidence_sql()} AS evidence,
       obs_ids
FROM j
"""
        )
    return {CONTACT: engine.row_count(CONTACT)}


__all__ = [
    "CALL_WEIGHT",
    "CHANNEL_WEIGHTS",
    "HALF_LIFE_DAYS",
    "LISTED_WEIGHT",
    "OBS_IDS_CAP",
    "RECIPROCITY_FLOOR",
    "SMS_WEIGHT",
    "contacts",
    "event_weight_sql",
    "pair_weights_sql",
    "weight_sql",
]
