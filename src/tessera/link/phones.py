"""Second phones and device swaps: which devices belong to one person.

Device keys are those of :mod:`tessera.link.cotravel` (``imsi:<IMSI>``, or
``imei:<IMEI>`` for a handset seen only by its IMEI, such as GPS fixes of a handset
whose operator records no IMEI); ``link_device`` (written by co-travel) gives each key
its most frequent number. Everything is SQL on the engine port, in temporary tables
dropped at the end; only equality joins, on a place and a quarter hour or an hour of
the day.

**Places.** Sectors at one position (rounded to about 10 m) form a *mast*, and those
that also point the same way an *antenna*, whatever the operator calls them (two
operators list the same antennas under different ids). Each device gets one antenna
per quarter hour, the one most of its events were at.

**Second phones** (``link_second_phone``). A second phone is carried by the owner of
another device, the *primary*: it is on only at some times (work hours, evenings,
around meetings) and then wherever its owner is. Site-level co-location cannot tell it
from a colleague's phone in the same office or a neighbour's in the same house, so:

1. *Part-time devices.* A candidate second phone is seen in fewer than
   :data:`PART_TIME` of the hours of its days, and regularly (on
   :data:`REGULAR_DAYS` of its days) in at most :data:`MAX_ON_HOURS` hours of the
   day. Primaries are always-on devices (the rest).
2. *Habits* (stage 1). A device's habit is where it is in each hour of the day
   (weekdays and weekends apart, with the neighbouring hours), as shares of its time
   per antenna, mixed with a small chance (:data:`ANYWHERE`) of being anywhere. The
   ``fit`` of a primary to a part-time device is the log-likelihood of the part-time
   device's quarter hours (antenna and hour) under the primary's habit; the
   :data:`TOP_K` best fits are its candidates. The owner's primary has the owner's
   habits, ping-pong between neighbouring antennas included; a neighbour two houses
   on sits on another antenna, a colleague elsewhere at lunch and at home time.
3. *Shared quarter hours* (stage 2). In each quarter hour in which both are seen, the
   distance between their masts falls in a class (same mast or within 500 m, 1.2 km,
   2.5 km, farther: an alibi) whose probability for one person's two phones is
   :data:`SAME_PERSON` and, for someone else, the candidate's own habit at that hour
   (how often it is that far from where the part-time device is). ``log2`` of their
   ratio, summed by day and kept within :data:`DAY_BITS`, adds to the score: a
   colleague who is at the office every day at ten gains nothing there, and loses for
   each quarter hour it was at the office while the phone went to lunch or home.
4. *Communications.* Each number both talk to (``obs_communication``; for the
   candidate also its listed contacts, ``obs_contact``) adds ``log2(devices /
   devices talking to that number)`` bits, at most :data:`CONTACT_BITS`, times
   :data:`CONTACT_WEIGHT`: one person's two phones talk to the same few people. Two
   devices that talk to each other are two people.
5. *Choice.* ``score`` = fit (relative to the part-time device's own habits, which fit
   it best) + place bits + contact bits. The best candidate is reported when it beats
   the runner-up by :data:`MIN_MARGIN_BITS`, shares :data:`MIN_UNITS` quarter hours on
   :data:`MIN_DAYS_TOGETHER` days with at most :data:`MAX_APART_SHARE` alibis. A
   *roaming* SIM, whose country code (MCC, the IMSI's first three digits) is not the
   home network's (the code most devices in ``link_device`` carry), needs
   :data:`MIN_DAYS_ROAMING` days and must fit within :data:`MAX_EXCESS_BITS` per
   quarter hour of its own habits: in an area, part-time phones on foreign networks
   are mostly visitors' own, and a visitor's phone fits nobody. (A home-network SIM is
   not held to the fit: a phone kept for meetings is on where its owner seldom goes.)
   A SIM of the home network whose best candidate beats the runner-up by
   :data:`STRONG_MARGIN_BITS` is reported on less: one quarter hour together suffices
   (a phone kept for rare meetings is on for a few hours a month, and its owner may
   leave the primary at home, which makes real alibis). ``confidence`` is ``1 / (1 + 2^-margin)``.
   ``together``/``apart``: shared quarter hours within 500 m / farther than 2.5 km;
   ``active_share``: the share of the hours of its days the second phone is seen.

**Swaps** (``link_device_swap``). *Handset* swaps keep the SIM (IMSI) and change the
IMEI: an IMSI whose events carry one IMEI until some time and another from then on;
old and new are written ``imsi:<IMSI>@imei:<IMEI>``. Where no operator event carries
the IMEIs but the handsets report GPS fixes, the two handset keys ``imei:<old>`` and
``imei:<new>`` are matched by behaviour as below (their SIM is then unknown). *Number*
swaps keep the handset and change the SIM (number and IMSI): an IMEI seen with one
IMSI until some time and another from then on (``imsi:`` keys); where the operator
records no IMEI, a device in daily use that stops is matched with one of the same key
type that starts within :data:`MAX_GAP_S`, by the places they frequent at each quarter
of the day (cosine), the numbers they talk to and the gap, each device and each
candidate taking its best match only. ``time`` is the first observation of the new
device.

Hours of the day, weekdays and days are those of the workspace's local clock
(:func:`tessera.life.settings.local_timezone`), so a habit survives the change to or
from summer time; quarter hours are compared on the UTC time line.

Known limits: a second phone that is always on is not
looked for; a phone kept for rare meetings (a few hours in a month) whose owner does
not stand out by a strong margin is not reported; a colleague or housemate with the owner's
habits and no shared contacts can win when the owner seldom goes elsewhere.
"""

from __future__ import annotations

from tessera.engines.base import Engine, TempFn, exact_sum
from tessera.errors import StageError
from tessera.life.settings import local_timezone, utc_offset_sql
from tessera.link.cotravel import DEVICES
from tessera.link.judgements import judged_sql
from tessera.link.keys import device_events_sql, haversine_sql

SECOND = "link_second_phone"
SWAP = "link_device_swap"
INPUTS = ("obs_device_event", "sensor", "obs_communication", "obs_contact", DEVICES)

QUARTER_S = 900
# Second phones
PART_TIME = 0.45  # share of the hours of its observed days a part-time device is seen
REGULAR_DAYS = 0.25  # a device's hours of the day are those it is seen in on this share
MAX_ON_HOURS = 12  # of its days; a part-time device has at most this many of them
TOP_K = 40  # candidate primaries per part-time device, by habit
# habits: where a device is in each hour of the day (weekdays and weekends apart, and the
# neighbouring hours too), mixed with a small chance of being anywhere
ANYWHERE = 0.1
ANTENNAS = 400.0  # "anywhere" is one antenna of this many
# distance classes between the masts of two devices in one quarter hour (metres, upper
# bounds; the last class is everything farther) and their probabilities for two phones
# of one person (same mast or within 500 m; ping-pong; moving; an alibi)
CLASS_M = (500.0, 1200.0, 2500.0)
SAME_PERSON = (0.89, 0.08, 0.025, 0.005)
CLASS_PRIOR = (0.2, 0.15, 0.2, 0.45)  # smoothing of a candidate's habit over the classes
CLASS_WEIGHT = 4.0  # pseudo-observations of that prior
# the location bits of one day count at most this much either way: its quarter hours are
# not independent, and a single odd day (a phone left at home) should not decide
DAY_BITS = (-5.0, 4.0)
CONTACT_BITS = 6.0  # the most one shared contact's surprise counts ...
CONTACT_WEIGHT = 6.0  # ... times this: people are rarer evidence than places
# a second phone is reported when its best candidate ...
MIN_MARGIN_BITS = 3.0  # beats the runner-up by this much (no runner-up: NO_RUNNER_BITS)
NO_RUNNER_BITS = 10.0
MIN_UNITS = 4  # shares this many quarter hours with it
MIN_DAYS_TOGETHER = 2  # on this many days
MIN_DAYS_ROAMING = 3  # (a SIM of a foreign network: on this many)
# ... or, for a SIM of the home network, beats the runner-up by this much and was within
# 500 m of it at least once (a phone kept for rare meetings, on a few hours a month)
STRONG_MARGIN_BITS = 10.0
MAX_APART_SHARE = 0.2  # of which at most this share are alibis (farther than 2.5 km)
MAX_EXCESS_BITS = 3.0  # and (a roaming SIM) fits nearly as well as its own habits do
# Swaps
SWAP_TOLERANCE_S = 300  # old and new of a swap may overlap this much (clock skew)
EDGE_S = 12 * 3600  # a device stops/starts when seen this far from the period's ends
MAX_GAP_S = 10 * 86400
MIN_DAYS = 2  # a device in daily use is seen on this many days ...
MIN_REGULAR = 0.6  # ... and on this share of the days between its first and last
PLACE_BITS = 20.0  # bits for a perfect place match (cosine 1)
# a phone in daily use is rarely unseen for long: each hour between the old device's
# last and the new one's first observation costs this much, up to a day; each further
# day (its owner away) costs GAP_BITS_PER_DAY
GAP_BITS_PER_HOUR = 0.5
GAP_BITS_PER_DAY = 1.0
IMEI_BITS = 30.0
MIN_SWAP_BITS = 12.0
# GPS fixes are put on a grid of about 250 m for place profiles
_GRID_LAT = 440.0
_GRID_LON = 290.0

_FAR = 1.0e9  # distance of masts farther apart than the table holds


def detect_phones(engine: Engine) -> dict[str, int]:
    """Write ``link_second_phone`` and ``link_device_swap``; return their row counts."""
    tables = set(engine.table_names())
    missing = [t for t in INPUTS if t not in tables]
    if missing:
        hint = " (run tessera.link.cotravel.run first)" if DEVICES in missing else ""
        raise StageError(f"second phones and swaps need tables {missing}{hint}")
    with engine.temp_tables() as temp:
        _places(temp, local_timezone(engine))
        _second_phones(temp)
        second = judged_sql(
            engine, "second_phone", _second_sql(), '"primary"', "second", "x.second"
        )
        counts = {SECOND: engine.materialise(SECOND, second)}
        _swaps(temp)
        swap = judged_sql(engine, "device_swap", _swap_sql(), "old", "new", "x.time, x.old")
        counts[SWAP] = engine.materialise(SWAP, swap)
    return counts


# -- shared: places and events ------------------------------------------------------------


def _bucket(column: str, width: int) -> str:
    return f"CAST(floor({column} / {width}) AS BIGINT)"


def _places(temp: TempFn, zone: str) -> None:
    temp(
        "_ph_mast",
        "WITH s AS (SELECT sensor_id, lat, lon, round(lat, 4) AS la, round(lon, 4) AS lo, "
        "round(coalesce(azimuth_deg, -5) / 5) AS az FROM sensor "
        "WHERE kind = 'cell_sector' AND lat IS NOT NULL AND lon IS NOT NULL) "
        "SELECT sensor_id, min(sensor_id) OVER (PARTITION BY la, lo) AS mast, "
        "min(sensor_id) OVER (PARTITION BY la, lo, az) AS antenna, lat, lon FROM s",
    )
    temp(
        "_ph_mast_pos",
        "SELECT mast, any_value(lat) AS lat, any_value(lon) AS lon FROM _ph_mast GROUP BY mast",
    )
    dist = haversine_sql("a.lat", "a.lon", "b.lat", "b.lon")
    temp(
        "_ph_mast_dist",
        f"SELECT a.mast AS m, b.mast AS n, CASE WHEN a.mast = b.mast THEN 0.0 ELSE {dist} END "
        f"AS d FROM _ph_mast_pos a, _ph_mast_pos b WHERE {dist} <= {CLASS_M[-1]}",
    )
    # every located event: cell events at their mast, GPS fixes on a grid
    grid = (
        f"'g' || CAST(round(e.lat * {_GRID_LAT}) AS BIGINT) || ':' || "
        f"CAST(round(e.lon * {_GRID_LON}) AS BIGINT)"
    )
    temp(
        "_ph_events",
        f"SELECT e.device, CAST(epoch(e.time) AS BIGINT) AS t, m.mast, m.antenna, "
        f"coalesce(m.mast, {grid}) AS place FROM ({device_events_sql()}) e "
        "LEFT JOIN _ph_mast m ON m.sensor_id = e.sensor_id "
        "WHERE m.mast IS NOT NULL OR (e.lat IS NOT NULL AND e.lon IS NOT NULL)",
    )
    # the local clock's offset from UTC in each hour with an event, so that habits are
    # read in local hours across a change of the clock
    temp(
        "_ph_offset",
        f"SELECT h, {utc_offset_sql(zone, 'to_timestamp(h * 3600)')} AS off "
        f"FROM (SELECT DISTINCT {_bucket('t', 3600)} AS h FROM _ph_events "
        "WHERE mast IS NOT NULL) x",
    )
    # one place per device and quarter hour: the antenna most of its events were at; q
    # counts UTC quarter hours, lq the local clock's
    temp(
        "_ph_main",
        f"SELECT x.device, x.q, x.q + CAST(o.off / {QUARTER_S} AS BIGINT) AS lq, x.mast, "
        f"x.antenna FROM (SELECT device, {_bucket('t', QUARTER_S)} AS q, "
        "mast, antenna, count(*) AS k FROM _ph_events WHERE mast IS NOT NULL "
        "GROUP BY device, 2, mast, antenna) x "
        f"JOIN _ph_offset o ON o.h = {_bucket('x.q', 4)} "
        "QUALIFY row_number() OVER (PARTITION BY x.device, x.q ORDER BY x.k DESC, x.antenna) = 1",
    )
    hours, days = _bucket("lq", 4), _bucket("lq", 96)
    temp(
        "_ph_active",
        f"SELECT device, count(DISTINCT {hours}) AS hours, count(DISTINCT {days}) AS days, "
        f"count(DISTINCT {hours}) / (24.0 * count(DISTINCT {days})) AS share, "
        "count(*) AS quarters FROM _ph_main GROUP BY device",
    )
    # numbers each device talks to, and numbers a device's owner lists as contacts
    temp(
        "_ph_number",
        f"SELECT device, msisdn FROM {DEVICES} WHERE msisdn IS NOT NULL",
    )
    temp(
        "_ph_talk",
        "SELECT device, other, sum(k) AS events FROM ("
        "SELECT n.device, c.to_number AS other, count(*) AS k FROM obs_communication c "
        "JOIN _ph_number n ON n.msisdn = c.from_number GROUP BY n.device, c.to_number "
        "UNION ALL SELECT n.device, c.from_number AS other, count(*) AS k "
        "FROM obs_communication c JOIN _ph_number n ON n.msisdn = c.to_number "
        "GROUP BY n.device, c.from_number) x WHERE other IS NOT NULL GROUP BY device, other",
    )
    temp(
        "_ph_known",
        "SELECT device, other FROM _ph_talk UNION SELECT n.device, c.listed_number "
        "FROM obs_contact c JOIN _ph_number n ON n.msisdn = c.owner_number "
        "WHERE c.listed_number IS NOT NULL",
    )
    temp(
        "_ph_contact_bits",
        f"SELECT other, least({CONTACT_BITS}, log2((SELECT count(*) FROM _ph_active) / "
        "count(DISTINCT device))) AS bits FROM _ph_known GROUP BY other",
    )


# -- second phones ----------------------------------------------------------------------------


def _hour_of_week(lq: str) -> str:
    """The local hour of the day of quarter hour ``lq``, 24 more at weekends (local
    quarter hours since 1 January 1970, a Thursday)."""
    return f"{_bucket(lq, 4)} % 24 + CASE WHEN ({_bucket(lq, 96)} + 3) % 7 >= 5 THEN 24 ELSE 0 END"


def _second_phones(temp: TempFn) -> None:
    # the home network's country code: the one most devices' SIMs carry
    temp(
        "_ph_roaming",
        f"SELECT d.device FROM {DEVICES} d CROSS JOIN (SELECT mcc FROM (SELECT "
        f"substr(imsi, 1, 3) AS mcc, count(*) AS n FROM {DEVICES} WHERE imsi IS NOT NULL "
        "GROUP BY substr(imsi, 1, 3)) x ORDER BY n DESC, mcc LIMIT 1) h "
        "WHERE d.imsi IS NOT NULL AND substr(d.imsi, 1, 3) <> h.mcc",
    )
    hod = _hour_of_week("lq")
    day = _bucket("lq", 96)
    temp(
        "_ph_part",
        f"WITH h AS (SELECT device, {_bucket('lq', 4)} % 24 AS h, "
        f"count(DISTINCT {day}) AS days FROM _ph_main GROUP BY device, 2), "
        f"d AS (SELECT device, count(DISTINCT {day}) AS days FROM _ph_main GROUP BY device) "
        "SELECT a.device, a.share, a.quarters FROM _ph_active a "
        "JOIN h ON h.device = a.device JOIN d ON d.device = a.device "
        f"WHERE a.share < {PART_TIME} GROUP BY a.device, a.share, a.quarters, d.days "
        f"HAVING count(*) FILTER (WHERE h.days >= {REGULAR_DAYS} * d.days) <= {MAX_ON_HOURS}",
    )
    temp(
        "_ph_habit",
        f"SELECT device, {hod} AS hod, antenna, any_value(mast) AS mast, count(*) AS n "
        f"FROM _ph_main GROUP BY device, 2, antenna",
    )
    temp(
        "_ph_habit_tot",
        "SELECT device, hod, sum(n) AS tot FROM _ph_habit GROUP BY device, hod",
    )
    # habits with the neighbouring hours, as the share of the device's time there
    shifted = "(hod % 24 + k + 24) % 24 + 24 * CAST(floor(hod / 24) AS BIGINT)"
    temp(
        "_ph_near_hours",
        "WITH x AS (SELECT device, "
        f"{shifted} AS hod, antenna, sum(n) AS n FROM _ph_habit, "
        "(VALUES (-1), (0), (1)) o(k) GROUP BY device, 2, antenna) "
        "SELECT device, hod, antenna, n / sum(n) OVER (PARTITION BY device, hod) AS r FROM x",
    )
    # stage 1: how well each always-on device's habits predict the part-time device's
    # places, hour by hour; the best TOP_K are its candidates
    gain = f"log2(1 + {1 - ANYWHERE} * h.r / ({ANYWHERE} / {ANTENNAS}))"
    temp(
        "_ph_pairs",
        f"SELECT s.device AS s, h.device AS p, {exact_sum(f's.n * {gain}')} AS fit "
        "FROM _ph_habit s "
        "JOIN _ph_part pt ON pt.device = s.device "
        "JOIN _ph_near_hours h ON h.hod = s.hod AND h.antenna = s.antenna "
        "AND h.device <> s.device JOIN _ph_active ap ON ap.device = h.device "
        f"WHERE ap.share >= {PART_TIME} GROUP BY s.device, h.device "
        f"QUALIFY row_number() OVER (PARTITION BY s.device ORDER BY fit DESC, h.device) <= {TOP_K}",
    )
    temp(
        "_ph_self",
        f"SELECT s.device AS s, {exact_sum(f's.n * {gain}')} AS fit, sum(s.n) AS quarters "
        "FROM _ph_habit s JOIN _ph_part pt ON pt.device = s.device "
        "JOIN _ph_near_hours h ON h.device = s.device AND h.hod = s.hod "
        "AND h.antenna = s.antenna GROUP BY s.device",
    )
    # stage 2: the quarter hours in which both are observed, each by how far apart their
    # masts are, against how far from there the candidate usually is at that hour
    cls = " ".join(f"WHEN {{d}} <= {m} THEN {i}" for i, m in enumerate(CLASS_M))
    klass = f"CASE WHEN {{a}} = {{b}} THEN 0 {cls} ELSE {len(CLASS_M)} END"
    temp(
        "_ph_units",
        f"SELECT c.s, c.p, a.lq, {_hour_of_week('a.lq')} AS hod, a.mast AS ms, "
        f"{klass.format(a='a.mast', b='b.mast', d=f'coalesce(md.d, {_FAR})')} AS c "
        "FROM _ph_pairs c JOIN _ph_main a ON a.device = c.s "
        "JOIN _ph_main b ON b.device = c.p AND b.q = a.q "
        "LEFT JOIN _ph_mast_dist md ON md.m = a.mast AND md.n = b.mast",
    )
    temp(
        "_ph_need",
        "SELECT DISTINCT p, hod, ms FROM _ph_units",
    )
    classes = ", ".join(
        f"({i}, {s}, {h})" for i, (s, h) in enumerate(zip(SAME_PERSON, CLASS_PRIOR, strict=True))
    )
    temp(
        "_ph_odds",
        "WITH k AS (SELECT n.p, n.hod, n.ms, "
        f"{klass.format(a='n.ms', b='h.mast', d=f'coalesce(md.d, {_FAR})')} AS c, "
        "sum(h.n) AS k FROM _ph_need n JOIN _ph_habit h ON h.device = n.p AND h.hod = n.hod "
        "LEFT JOIN _ph_mast_dist md ON md.m = n.ms AND md.n = h.mast "
        "GROUP BY n.p, n.hod, n.ms, 4) "
        "SELECT n.p, n.hod, n.ms, v.c, "
        f"log2(v.same / ((coalesce(k.k, 0) + {CLASS_WEIGHT} * v.prior) / "
        f"(coalesce(t.tot, 0) + {CLASS_WEIGHT}))) AS bits "
        f"FROM _ph_need n CROSS JOIN (VALUES {classes}) v(c, same, prior) "
        "LEFT JOIN k ON k.p = n.p AND k.hod = n.hod AND k.ms = n.ms AND k.c = v.c "
        "LEFT JOIN _ph_habit_tot t ON t.device = n.p AND t.hod = n.hod",
    )
    temp(
        "_ph_day",
        f"SELECT u.s, u.p, {_bucket('u.lq', 96)} AS day, count(*) AS units, "
        "count(*) FILTER (WHERE u.c = 0) AS together, "
        f"count(*) FILTER (WHERE u.c = {len(CLASS_M)}) AS apart, {exact_sum('o.bits')} AS bits, "
        "count(DISTINCT u.ms) FILTER (WHERE u.c = 0) AS places "
        "FROM _ph_units u JOIN _ph_odds o ON o.p = u.p AND o.hod = u.hod AND o.ms = u.ms "
        "AND o.c = u.c GROUP BY u.s, u.p, 3",
    )
    day_bits = f"least(greatest(d.bits, {DAY_BITS[0]}), {DAY_BITS[1]})"
    temp(
        "_ph_loc",
        "SELECT c.s, c.p, c.fit - sf.fit AS fit, sf.quarters, "
        "coalesce(sum(d.units), 0) AS units, coalesce(sum(d.together), 0) AS together, "
        "coalesce(sum(d.apart), 0) AS apart, "
        f"coalesce({exact_sum(day_bits)}, 0.0) AS bits, "
        "count(d.day) FILTER (WHERE d.together > 0) AS days, "
        "coalesce(max(d.places), 0) AS places FROM _ph_pairs c "
        "JOIN _ph_self sf ON sf.s = c.s "
        "LEFT JOIN _ph_day d ON d.s = c.s AND d.p = c.p "
        "GROUP BY c.s, c.p, c.fit, sf.fit, sf.quarters",
    )
    temp(
        "_ph_comm",
        f"SELECT l.s, l.p, count(*) AS shared, {exact_sum('b.bits')} AS bits FROM _ph_loc l "
        "JOIN _ph_talk a ON a.device = l.s JOIN _ph_known k ON k.device = l.p AND k.other = a.other"
        " JOIN _ph_contact_bits b ON b.other = a.other GROUP BY l.s, l.p",
    )
    temp(
        "_ph_direct",
        "SELECT DISTINCT l.s, l.p FROM _ph_loc l JOIN _ph_talk a ON a.device = l.s "
        "JOIN _ph_number n ON n.msisdn = a.other AND n.device = l.p",
    )
    temp(
        "_ph_ranked",
        "WITH x AS (SELECT l.*, coalesce(c.shared, 0) AS shared, "
        f"{CONTACT_WEIGHT} * coalesce(c.bits, 0.0) AS comm_bits, "
        f"l.fit + l.bits + {CONTACT_WEIGHT} * coalesce(c.bits, 0.0) AS score FROM _ph_loc l "
        "LEFT JOIN _ph_comm c ON c.s = l.s AND c.p = l.p "
        "LEFT JOIN _ph_direct dr ON dr.s = l.s AND dr.p = l.p WHERE dr.s IS NULL) "
        "SELECT x.*, row_number() OVER (PARTITION BY s ORDER BY score DESC, p) AS rank, "
        "lead(score) OVER (PARTITION BY s ORDER BY score DESC, p) AS runner_score, "
        "lead(p) OVER (PARTITION BY s ORDER BY score DESC, p) AS runner FROM x",
    )


def _second_sql() -> str:
    margin = f"least(r.score - coalesce(r.runner_score, r.score - {NO_RUNNER_BITS}), 60.0)"
    evidence = (
        "'together in ' || r.together || ' of ' || r.units || ' shared quarter hours at ' || "
        "r.places || ' places on ' || r.days || ' days, ' || r.apart || ' apart; habits ' || "
        "CAST(round(r.fit, 1) AS VARCHAR) || ' bits, places ' || "
        "CAST(round(r.bits, 1) AS VARCHAR) || ' bits, ' || r.shared || "
        "' shared contacts ' || CAST(round(r.comm_bits, 1) AS VARCHAR) || ' bits; on ' || "
        "CAST(round(100 * ps.share) AS BIGINT) || '% of the hours of its days; runner-up ' || "
        "coalesce(r.runner || ' at ' || CAST(round(r.runner_score, 1) AS VARCHAR) || ' bits', "
        "'none')"
    )
    # the usual rule (a roaming SIM asks more days), or a home-network SIM's strong margin
    usual = (
        f"(r.units >= {MIN_UNITS} AND r.apart <= {MAX_APART_SHARE} * r.units "
        f"AND (ro.device IS NULL OR -r.fit <= {MAX_EXCESS_BITS} * r.quarters) "
        f"AND {margin} >= {MIN_MARGIN_BITS} "
        f"AND r.days >= CASE WHEN ro.device IS NULL THEN {MIN_DAYS_TOGETHER} "
        f"ELSE {MIN_DAYS_ROAMING} END)"
    )
    strong = f"(ro.device IS NULL AND r.together >= 1 AND {margin} >= {STRONG_MARGIN_BITS})"
    # say which rule reported it, and that a SIM roams
    evidence += (
        f" || CASE WHEN NOT {usual} THEN '; reported on its margin alone (at least "
        f"{STRONG_MARGIN_BITS:g} bits), with too few days or quarter hours together, or too "
        "many apart, for the usual rule' ELSE '' END"
        " || CASE WHEN ro.device IS NOT NULL THEN '; a roaming SIM (country code ' || "
        "substr(r.s, 6, 3) || ')' ELSE '' END"
    )
    return (
        'SELECT r.p AS "primary", r.s AS second, r.score, '
        f"1.0 / (1.0 + pow(2.0, -{margin})) AS confidence, "
        "CAST(r.together AS INTEGER) AS together, CAST(r.apart AS INTEGER) AS apart, "
        "CAST(r.shared AS INTEGER) AS shared_contacts, "
        "CAST(coalesce(sc.n, 0) AS INTEGER) AS second_contacts, ps.share AS active_share, "
        f"{evidence} AS evidence "
        "FROM _ph_ranked r JOIN _ph_part ps ON ps.device = r.s "
        "LEFT JOIN (SELECT device, count(*) AS n FROM _ph_talk GROUP BY device) sc "
        f"ON sc.device = r.s LEFT JOIN _ph_roaming ro ON ro.device = r.s WHERE r.rank = 1 "
        f"AND ({usual} OR {strong}) ORDER BY r.s"
    )


# -- swaps --------------------------------------------------------------------------------------


def _swaps(temp: TempFn) -> None:
    temp(
        "_ph_sim_imei",
        "SELECT imsi, imei, min(time) AS first_seen, max(time) AS last_seen, count(*) AS events "
        "FROM obs_device_event WHERE imsi IS NOT NULL AND imei IS NOT NULL GROUP BY imsi, imei",
    )
    # one identifier kept (imsi for handsets, imei for numbers), the other changed
    for kind, kept, changed in (("handset", "imsi", "imei"), ("number", "imei", "imsi")):
        temp(
            f"_ph_{kind}_swap",
            f"WITH o AS (SELECT *, lead({changed}) OVER w AS next_{changed}, "
            "lead(first_seen) OVER w AS next_first, lead(events) OVER w AS next_events, "
            f"max(last_seen) OVER (PARTITION BY {kept} ORDER BY first_seen ROWS BETWEEN "
            "UNBOUNDED PRECEDING AND CURRENT ROW) AS seen_until "
            f"FROM _ph_sim_imei WINDOW w AS (PARTITION BY {kept} ORDER BY first_seen)) "
            f"SELECT {kept}, {changed} AS old_{changed}, next_{changed} AS new_{changed}, "
            "next_first AS time, events AS old_events, next_events AS new_events FROM o "
            f"WHERE next_{changed} IS NOT NULL "
            f"AND epoch(seen_until) <= epoch(next_first) + {SWAP_TOLERANCE_S}",
        )
    # behaviour: a device in daily use that stops, another that starts soon after
    temp(
        "_ph_life",
        f"WITH e AS (SELECT device, t, place, {_bucket('t', 86400)} AS day FROM _ph_events), "
        "b AS (SELECT min(t) AS t0, max(t) AS t1 FROM e) "
        "SELECT e.device, min(e.t) AS first_t, max(e.t) AS last_t, count(DISTINCT e.day) AS days,"
        " count(DISTINCT e.day) / (1.0 + max(e.day) - min(e.day)) AS regular, "
        f"min(e.t) >= any_value(b.t0) + {EDGE_S} AS started, "
        f"max(e.t) <= any_value(b.t1) - {EDGE_S} AS stopped "
        "FROM e, b GROUP BY e.device",
    )
    temp(
        "_ph_turn",
        "SELECT o.device AS old, n.device AS new, n.first_t - o.last_t AS gap_s, "
        "n.first_t AS t FROM _ph_life o JOIN _ph_life n "
        "ON substr(o.device, 1, 5) = substr(n.device, 1, 5) AND o.device <> n.device "
        f"WHERE o.stopped AND n.started AND o.days >= {MIN_DAYS} AND n.days >= {MIN_DAYS} "
        f"AND o.regular >= {MIN_REGULAR} AND n.regular >= {MIN_REGULAR} "
        f"AND n.first_t >= o.last_t - {SWAP_TOLERANCE_S} AND n.first_t - o.last_t <= {MAX_GAP_S}",
    )
    # where a device is at each quarter of the day, weighted by hours seen there
    tod = f"CAST(floor(({_bucket('t', 3600)} % 24) / 6) AS BIGINT)"
    temp(
        "_ph_profile",
        f"SELECT device, place || '@' || {tod} AS place, "
        f"count(DISTINCT {_bucket('t', 3600)}) AS w FROM _ph_events "
        "WHERE device IN (SELECT old FROM _ph_turn UNION SELECT new FROM _ph_turn) "
        f"GROUP BY device, place, {tod}",
    )
    temp(
        "_ph_norm",
        f"SELECT device, sqrt({exact_sum('w * w')}) AS norm FROM _ph_profile GROUP BY device",
    )
    temp(
        "_ph_turn_scored",
        f"WITH cos AS (SELECT t.old, t.new, {exact_sum('a.w * b.w')} / (any_value(na.norm) * "
        "any_value(nb.norm)) AS cosine FROM _ph_turn t "
        "JOIN _ph_profile a ON a.device = t.old JOIN _ph_profile b ON b.device = t.new "
        "AND b.place = a.place JOIN _ph_norm na ON na.device = t.old "
        "JOIN _ph_norm nb ON nb.device = t.new GROUP BY t.old, t.new), "
        f"com AS (SELECT t.old, t.new, count(*) AS shared, {exact_sum('cb.bits')} AS bits "
        "FROM _ph_turn t "
        "JOIN _ph_talk a ON a.device = t.old JOIN _ph_talk b ON b.device = t.new "
        "AND b.other = a.other JOIN _ph_contact_bits cb ON cb.other = a.other "
        "GROUP BY t.old, t.new), "
        "x AS (SELECT t.*, coalesce(c.cosine, 0.0) AS cosine, coalesce(m.shared, 0) AS shared, "
        f"{PLACE_BITS} * coalesce(c.cosine, 0.0) + coalesce(m.bits, 0.0) "
        f"- {GAP_BITS_PER_HOUR} * least(greatest(t.gap_s, 0) / 3600.0, 24) "
        f"- {GAP_BITS_PER_DAY} * greatest(t.gap_s / 86400.0 - 1, 0) AS score "
        "FROM _ph_turn t LEFT JOIN cos c ON c.old = t.old AND c.new = t.new "
        "LEFT JOIN com m ON m.old = t.old AND m.new = t.new) "
        "SELECT * FROM x QUALIFY row_number() OVER (PARTITION BY old ORDER BY score DESC, new) = 1"
        " AND row_number() OVER (PARTITION BY new ORDER BY score DESC, old) = 1",
    )


def _swap_sql() -> str:
    ts = "to_timestamp({})"
    handset = (
        "SELECT 'imsi:' || imsi || '@imei:' || old_imei AS old, "
        "'imsi:' || imsi || '@imei:' || new_imei AS new, 'handset' AS kind, time, "
        f"{IMEI_BITS} AS score, 0.99 AS confidence, "
        "'the SIM is seen with IMEI ' || old_imei || ' (' || old_events || ' events) until ' || "
        "'IMEI ' || new_imei || ' (' || new_events || ' events) takes over' AS evidence "
        "FROM _ph_handset_swap"
    )
    number = (
        "SELECT 'imsi:' || old_imsi AS old, 'imsi:' || new_imsi AS new, 'number' AS kind, time, "
        f"{IMEI_BITS} AS score, 0.99 AS confidence, "
        "'handset ' || imei || ' is seen with SIM ' || old_imsi || ' (' || old_events || "
        "' events) until SIM ' || new_imsi || ' (' || new_events || ' events) takes over' "
        "AS evidence FROM _ph_number_swap"
    )
    behaviour = (
        "SELECT old, new, CASE WHEN old LIKE 'imei:%' THEN 'handset' ELSE 'number' END AS kind, "
        f"{ts.format('t')} AS time, score, 1.0 / (1.0 + pow(2.0, -(score - {MIN_SWAP_BITS}))) "
        "AS confidence, 'stops ' || CAST(round(gap_s / 3600.0, 1) AS VARCHAR) || "
        "' h before the other starts; places cosine ' || CAST(round(cosine, 2) AS VARCHAR) || "
        "', ' || shared || ' shared contacts' AS evidence FROM _ph_turn_scored "
        f"WHERE score >= {MIN_SWAP_BITS} AND NOT (old LIKE 'imsi:%' AND "
        "(substr(old, 6) IN (SELECT old_imsi FROM _ph_number_swap) OR "
        "substr(new, 6) IN (SELECT new_imsi FROM _ph_number_swap)))"
    )
    return (
        f"SELECT old, new, kind, time, score, confidence, evidence FROM ({handset} "
        f"UNION ALL {number} UNION ALL {behaviour}) x ORDER BY time, old"
    )
