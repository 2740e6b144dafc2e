"""Co-travel: which devices and vehicles are repeatedly observed together.

Three pair kinds are scored the same way:

- ``vehicle_device``: a plate read (a) at a camera and an event of a device (b) in a
  cell sector covering that camera, within :data:`WINDOWS` seconds;
- ``device_device``: two devices in the same cell sector in the same quarter hour, the
  place being the sector's site; crowded cells (more than :data:`CROWD` devices) are
  left out;
- ``vehicle_vehicle``: two plates read at the same camera within a minute (convoys).

**Join.** Every join is on an equality key: the place (a sector, a camera) and a time
bucket as wide as the window, with the neighbouring buckets, then a filter on the
exact time difference. A range condition alone would make the engine compare every
pair of rows.

**Support.** A pair's support is the number of distinct *units*, a unit being a place
label (the camera, or the cell site) and a day: ten reads on one drive past one camera
count once, the same commute on twenty days counts twenty times, and a pair seen at
many places is reported as such (``places``, ``days``).

**Chance baseline.** For a pair (a, b) the expected number of units by chance is
``sum over a's units of P(b observed at that place within the window)``, where that
probability is b's own presence there: the share of time buckets in which b has an
observation at one of the place's keys, doubled for the two-sided window. A phone that
sits all day in a sector next to a camera is expected to coincide with every car that
passes; one that is rarely there is not. The surprise ``bits`` is the Chernoff bound on
the Poisson upper tail, ``(k ln(k/λ) - k + λ) / ln 2`` for k above λ (zero otherwise):
about the number of halvings of the chance of seeing k or more coincidences.

**Where b is a regular.** For ``vehicle_device`` pairs only the places where the
device is rare count (presence at most :data:`PRESENCE_CAP`: observed in at most 2.5 %
of the time buckets, about 36 minutes a day, in the sectors covering the camera), in
the units and in the baseline alike. The units left out are the ones a device earns
by living or working beside a camera, each worth little (a unit at presence p adds at
most ``log2(1/p)`` bits, under 4.3 here), and they are much of the join: at the
district tier, 36 % of the units and 51 % of the device events carried to cameras. A
phone in a car is rare at most of the car's cameras; at its owner's home and work it
may not be, and those units stop counting.

**Alibis.** For the pairs that are strong candidates on both sides (among the
:data:`ALIBI_TOP` strongest reported pairs of a or of b, ties broken by name, and with
at least :data:`ALIBI_REL` of the surprise of the strongest pair of a and of b), each
of a's units at which b was observed within the window is *together* (b at one of the
place's keys) or *apart* (b observed only elsewhere). Two cars in the same commuting
stream are together on some days and apart on the others; a phone and the car it rides
in are together whenever both are seen. ``together_share`` is the share of observable
units that were together. Alibis do not apply the presence cap. Device-device alibis,
like their units, look at the same quarter hour only (``shifts`` of (0,)); the other
kinds at b's observations within the window either side.

Pairs below :data:`REPORT_BITS` are counted but not kept; reported pairs keep their
supporting observations (``cotravel_evidence``: one row per unit with both obs ids).

**How it runs.** Everything works on a compact encoding: every device and plate is an
INTEGER (``_link_entity``, in name order), every sensor and cell site an INTEGER
(``_link_place``), every time BIGINT milliseconds. The device events are read once,
keeping the first event of each device, sensor and :data:`DEVICE_BUCKET_S` bucket
(``_link_obs``); ``link_device`` is made from their identities grouped (a few
thousand rows), not from every event. Then, per kind:

1. *units*: the bucketed equality join, grouped by (a, b, label, day): each unit once,
   with its evidence (a's first observation, b's closest to one of a's);
2. *candidates*: pairs with at least :data:`MIN_UNITS` units;
3. *baseline*: one equality join of the candidates' units per label on b's presence
   per label, summed;
4. *kept*: pairs with at least :data:`REPORT_BITS`; their units are the evidence, and
   give ``places``, ``days``, ``first_day`` and ``last_day``;
5. *alibis*: the kept pairs strong on both sides (:data:`ALIBI_TOP`,
   :data:`ALIBI_REL`), the time join on one BIGINT key (entity and bucket).

Phases 1 to 4 decide every pair of an a from a's units alone, so where the engine's
memory is bounded they run in batches of a's (entity id modulo the batch count, from
a's rows, the memory and the free disk: :func:`unit_batches`), each batch's evidence written
before the next batch's units are made; one pass on Spark, whose operators spill. The
rows are the same either way. Each kind's working tables are dropped as soon as they
are no longer needed (a batch's units once its pairs are kept, the rest before the
next kind), and its rows are written straight into ``cotravel_pair`` and
``cotravel_evidence``. Measured figures are
in ``docs/performance.md``; ``benchmarks/cotravel.py`` runs the stage on 100 million
generated events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from tessera.engines.base import Engine, TempFn, exact_sum, literal, memory_batches, quote
from tessera.errors import StageError
from tessera.link.keys import device_events_sql, haversine_sql, off_azimuth_sql, signal_db_sql

PAIRS = "cotravel_pair"
EVIDENCE = "cotravel_evidence"
DEVICES = "link_device"
COVERAGE = "link_coverage"

# Seconds between two observations for them to count as together, per pair kind.
WINDOWS = {"vehicle_device": 90, "device_device": 900, "vehicle_vehicle": 60}
# Pairs need at least this many units to be scored, and this surprise to be kept.
MIN_UNITS = 3
REPORT_BITS = 10.0
# A sector covers a camera when its predicted signal there is within this many dB of
# the best sector of the same network (see ``coverage_sql``).
COVERAGE_DB = 6.0
# Vehicle-device units count only where the device is rare: at places where its
# presence (see ``presence_sql``) is at most this; the baseline sums the same places.
PRESENCE_CAP = {"vehicle_device": 0.05}
# Device-device units are not counted in a sector and quarter hour with more devices.
CROWD = 15
# Sector sites farther than this from a camera place a device elsewhere (an alibi).
ALIBI_M = 2500.0
# Alibis are counted for each entity's strongest candidates only: a pair among the
# ALIBI_TOP strongest of a or of b, with at least ALIBI_REL of the surprise of the
# strongest pair of each (attribution weighs no pair below 0.3 of a vehicle's strongest
# or 0.5 of a device's). On the 100 M benchmark 18,230 of the 298,476 vehicle-device
# pairs in some entity's top five are strong on both sides (docs/performance.md).
ALIBI_TOP = 5
ALIBI_REL = 0.3
# Where the engine's memory is bounded, units are made in batches of a's (see
# ``unit_batches``), each expected to need at most the memory plus SPILL_SHARE of the
# free space where the engine spills, at UNIT_BYTES per unit. DuckDB's grouping spills
# past its memory limit, and a spill costs less than a batch more, which scans b's side
# again (the 100 M benchmark at 5.5 GiB: 211 s in one pass, 237 s with vehicle-device
# in 2 batches and device-device in 4). On `district` the vehicle-device units took
# about 160 bytes each in memory (64.0 M units, 9.5 GiB resident); a spill's rows are
# larger.
UNIT_BYTES = 250
SPILL_SHARE = 0.5
# Units per row of a, per kind, for that estimate (bounds on those measured: vehicle-
# device 18.7 on `district` and 15.2 on the 100 M benchmark, device-device 2.5 and 2.9,
# vehicle-vehicle 1.5 and 1.2; join_rows_sql measures the join behind them), so that
# the count is a's rows alone: counting the join itself took 12.6 s at 100 M events.
# Where devices are much denser around cameras the estimate is too low: the city tier's
# vehicle-device join makes 314 rows per plate read (33 on `district`, 23 at 100 M),
# and its units do not fit this project's 2-core VM in any batches (docs/performance.md).
UNIT_FANOUT = {"vehicle_device": 20, "device_device": 3, "vehicle_vehicle": 2}
# The alibi join's time buckets are this many windows wide (see ``alibi_sql``).
ALIBI_BUCKETS = 4

# Device events are read once, one per device, sensor and bucket of this many seconds
# (it divides every device window, so each kind's buckets are made from these).
DEVICE_BUCKET_S = 90
# The kinds whose sides read those device events (``_link_obs``, see :func:`sides`).
_DEVICE_KINDS = ("vehicle_device", "device_device")
DAY_MS = 86_400_000
# Spreads entity ids apart so that an entity and a time bucket make one BIGINT key.
_SPREAD = 1 << 32

Progress = Callable[[str], None]


def coverage_sql() -> str:
    """Which cell sectors serve each plate camera.

    A generic log-distance path loss (exponent 3.5) with the parabolic sector antenna
    pattern of 3GPP TR 36.814 (``-min(12 (off/beamwidth)^2, 20)`` dB) predicts each
    sector's signal at the camera; sectors within :data:`COVERAGE_DB` of the best of
    their network (their ``source``), and within 1.5 times their nominal range, cover
    it. Sectors without an azimuth count as omnidirectional.
    """
    dist = haversine_sql("s.lat", "s.lon", "c.lat", "c.lon")
    return f"""
WITH c AS (SELECT sensor_id AS camera_id, lat, lon FROM sensor WHERE kind = 'plate_camera'),
s AS (SELECT sensor_id, source, lat, lon, azimuth_deg, coalesce(beamwidth_deg, 65) AS bw,
             coalesce(range_m, 2000) AS range_m
      FROM sensor WHERE kind = 'cell_sector'),
p AS (SELECT c.camera_id, s.sensor_id, s.source, s.range_m, {dist} AS distance_m,
             {off_azimuth_sql("s", "c")} AS off_deg, s.bw
      FROM c, s),
g AS (SELECT camera_id, sensor_id, source, distance_m,
             {signal_db_sql("distance_m", "off_deg", "bw")} AS signal_db
      FROM p WHERE distance_m <= 1.5 * range_m)
SELECT camera_id, sensor_id, distance_m, signal_db
FROM g
QUALIFY max(signal_db) OVER (PARTITION BY camera_id, source) - signal_db <= {COVERAGE_DB}
"""


def _ms(column: str) -> str:
    """A timestamp as BIGINT milliseconds since the epoch."""
    return f"CAST(round(epoch({column}) * 1000) AS BIGINT)"


def _time(ms: str) -> str:
    """BIGINT milliseconds back to a timestamp (with time zone)."""
    return f"to_timestamp({ms} / 1000.0)"


def _date(day: str) -> str:
    """A day number (days since the epoch, UTC) as a DATE."""
    return f"CAST(to_timestamp({day} * 86400.0) AS DATE)"


def prepare(temp: TempFn, plates: str | None) -> None:
    """The dictionaries and compact observation tables every pair kind reads
    (temporary), and the identity rows ``link_device`` is made from.

    - ``_link_place``: id (a sensor or cell site), place (INTEGER), lat, lon;
    - ``_link_ids``: device events with an IMSI, grouped by (imsi, imei, msisdn,
      source) with their count and first and last time; ``_link_sim``: the time span
      of each (IMEI, IMSI) combination; ``_link_handset``: events without an IMSI,
      put on the SIM their IMEI was seen with at that time in network events, else on
      the handset (``imei:<IMEI>``);
    - ``_link_entity``: name (device key or plate), id (INTEGER, in name order);
    - ``_link_obs``: device events at known sensors (e, key, t, obs_id), the first of
      each device, sensor and :data:`DEVICE_BUCKET_S` bucket;
    - ``_link_rd``: every plate read at a known camera as (e, key, t, obs_id), the plate
      being the attributed one when ``plates`` (``link_plate_read``) is given.
    """
    temp(
        "_link_place",
        "SELECT id, CAST(row_number() OVER (ORDER BY id) AS INTEGER) AS place, lat, lon FROM "
        "(SELECT sensor_id AS id, any_value(lat) AS lat, any_value(lon) AS lon FROM sensor "
        "GROUP BY sensor_id UNION ALL SELECT site_id, any_value(lat), any_value(lon) "
        "FROM sensor WHERE site_id IS NOT NULL AND site_id NOT IN (SELECT sensor_id FROM sensor)"
        " GROUP BY site_id)",
    )
    temp(
        "_link_ids",
        "SELECT imsi, imei, msisdn, source, count(*) AS n, min(time) AS t0, max(time) AS t1 "
        "FROM obs_device_event WHERE imsi IS NOT NULL GROUP BY imsi, imei, msisdn, source",
    )
    temp(
        "_link_sim",
        "SELECT imei, imsi, min(t0) AS t0, max(t1) AS t1 FROM _link_ids "
        "WHERE imei IS NOT NULL GROUP BY imei, imsi",
    )
    temp(
        "_link_handset",
        "SELECT coalesce('imsi:' || l.imsi, 'imei:' || e.imei) AS device, l.imsi, e.imei, "
        "e.msisdn, e.source, e.time, e.sensor_id, e.obs_id FROM obs_device_event e "
        "LEFT JOIN _link_sim l ON e.imei = l.imei AND e.time BETWEEN l.t0 AND l.t1 "
        "WHERE e.imsi IS NULL",
    )
    plate = "coalesce(a.plate, r.plate)" if plates else "r.plate"
    attributed = f"LEFT JOIN {quote(plates)} a ON a.obs_id = r.obs_id" if plates else ""
    temp(
        "_link_reads",
        f"SELECT {plate} AS plate, r.camera_id, r.time, r.obs_id "
        f"FROM obs_plate_read r {attributed}",
    )
    temp(
        "_link_entity",
        "SELECT name, CAST(row_number() OVER (ORDER BY name) AS INTEGER) AS id FROM "
        "(SELECT 'imsi:' || imsi AS name FROM _link_ids UNION "
        "SELECT device FROM _link_handset WHERE device IS NOT NULL UNION "
        "SELECT plate FROM _link_reads WHERE plate IS NOT NULL)",
    )
    t = _ms("x.time")
    events = (
        f"SELECT n.id AS e, p.place AS key, {t} AS t, x.obs_id "
        "FROM obs_device_event x JOIN _link_place p ON p.id = x.sensor_id "
        "JOIN (SELECT id, substr(name, 6) AS imsi FROM _link_entity WHERE name LIKE 'imsi:%')"
        " n ON n.imsi = x.imsi "
        f"UNION ALL SELECT n.id, p.place, {t}, x.obs_id FROM _link_handset x "
        "JOIN _link_place p ON p.id = x.sensor_id JOIN _link_entity n ON n.name = x.device"
    )
    temp("_link_obs", _first_per_bucket(f"({events})", DEVICE_BUCKET_S))
    temp(
        "_link_rd",
        f"SELECT n.id AS e, p.place AS key, {_ms('r.time')} AS t, r.obs_id FROM _link_reads r "
        "JOIN _link_entity n ON n.name = r.plate JOIN _link_place p ON p.id = r.camera_id",
    )


def device_sql(events: str) -> str:
    """One row per device of ``events`` (a table or subquery of
    :func:`~tessera.link.keys.device_events_sql`): the SIM (IMSI) where known, else the
    handset (IMEI). The stage itself uses :func:`devices_sql`, which reads the grouped
    identities of :func:`prepare` instead of every event."""
    return f"""
SELECT device, any_value(imsi) AS imsi, mode(msisdn) AS msisdn,
       list(DISTINCT imei ORDER BY imei) FILTER (WHERE imei IS NOT NULL) AS imeis,
       list(DISTINCT source ORDER BY source) AS sources,
       count(*) AS events, min(time) AS first_seen, max(time) AS last_seen
FROM {events} GROUP BY device
"""


def devices_sql() -> str:
    """``link_device`` from the tables of :func:`prepare`: one row per device, the SIM
    (IMSI) where known, else the handset (IMEI), with its commonest number, handsets,
    sources, event count and first and last event (as :func:`device_sql` over every
    event, from a few thousand grouped identities)."""
    return """
WITH g AS (SELECT 'imsi:' || imsi AS device, imsi, imei, msisdn, source, n, t0, t1
           FROM _link_ids
           UNION ALL
           SELECT device, imsi, imei, msisdn, source, count(*), min(time), max(time)
           FROM _link_handset GROUP BY device, imsi, imei, msisdn, source),
m AS (SELECT device, msisdn, sum(n) AS n FROM g WHERE msisdn IS NOT NULL
      GROUP BY device, msisdn),
top AS (SELECT device, arg_max(msisdn, n) AS msisdn FROM m GROUP BY device)
SELECT g.device, any_value(g.imsi) AS imsi, any_value(top.msisdn) AS msisdn,
       list(DISTINCT g.imei ORDER BY g.imei) FILTER (WHERE g.imei IS NOT NULL) AS imeis,
       list(DISTINCT g.source ORDER BY g.source) AS sources,
       CAST(sum(g.n) AS BIGINT) AS events, min(g.t0) AS first_seen, max(g.t1) AS last_seen
FROM g LEFT JOIN top ON top.device IS NOT DISTINCT FROM g.device
GROUP BY g.device
"""


@dataclass(frozen=True)
class Sides:
    """The tables (or subqueries) one pair kind is scored from, all in the compact
    encoding of :func:`prepare` (entities and places INTEGER, times BIGINT ms).

    ``left``: e, k, label, t, obs_id (a's observations; ``k`` the join key);
    ``right``: e, k, t, obs_id (b's observations on the same join keys);
    ``obs``: e, key, t, obs_id (b's observations at their own keys, for presence and
    alibis); ``keys``: label, key (the keys of each place label);
    ``one_per_bucket``: ``obs`` has one row per entity, key and time bucket;
    ``presence``: a table of b's presence (b, label, p) made beforehand, when
    ``right`` keeps only the places where b is rare (see :data:`PRESENCE_CAP`)."""

    kind: str
    left: str
    right: str
    obs: str
    keys: str
    window_s: int
    symmetric: bool
    shifts: tuple[int, ...] = (-1, 0, 1)
    one_per_bucket: bool = True
    presence: str | None = None


# Obs ids are below _OBS (10^16; ingest makes them batch id << 40 | row, so this holds
# for the first 9,094 ingest batches; run() checks it, check_obs_ids); the nearest
# observation's time within its window, and its gap, are below _OFF ms (a day and two
# windows: under 6.6 hours each), so the two pack in a BIGINT below 2^54.
_OBS = 10**16
_OFF = 1 << 27


def _packed(major: str, obs_id: str) -> str:
    """``major`` (a non-negative BIGINT below 2^54: a time in ms, a gap and a time) and
    ``obs_id`` packed in one 128-bit integer (HUGEINT; Spark's DECIMAL(38, 0)) that
    orders by ``major``, then by the obs id. Its ``min`` picks one observation, the same
    on every engine where two tie (two events of a device at one millisecond), and
    carries it.
    On `district` the stage took 116 s with no tie-break, 194 s with ``arg_min`` over a
    struct key and 158 s with ``arg_min`` over the key as a DECIMAL(38, 0), whose
    arithmetic DuckDB checks for overflow (docs/performance.md). A 128-bit division is
    slow too, so the obs id is read back by a subtraction (:func:`_obs_id`)."""
    return f"(CAST({major} AS HUGEINT) * {_OBS} + {obs_id})"


def _obs_id(packed: str, major: str) -> str:
    """The obs id of a :func:`_packed` key whose ``major`` is known."""
    return f"CAST({packed} - CAST({major} AS HUGEINT) * {_OBS} AS BIGINT)"


def _first_per_bucket(source: str, width_s: int) -> str:
    """Observations of ``source`` (e, key, t, obs_id), one row per entity, key and time
    bucket (the first event stands for the rest: presence, not chattiness; of two at
    one millisecond, the smaller obs id)."""
    return (
        f"SELECT e, key, t, {_obs_id('f', 't')} AS obs_id FROM "
        f"(SELECT e, key, min(t) AS t, min({_packed('t', 'obs_id')}) AS f FROM {source} x "
        f"GROUP BY e, key, t // {width_s * 1000})"
    )


def presence_sql(
    obs: str, keys: str, window_s: int, *, one_per_bucket: bool, entities: str | None = None
) -> str:
    """Presence at each label (b, label, p): the share of time buckets with an
    observation of b at one of the label's keys, doubled for the two-sided window (at
    most 1); for the entities of the query ``entities`` (column ``e``), else all."""
    wms = window_s * 1000
    where = f"WHERE e IN ({entities})" if entities else ""
    buckets = (
        f"SELECT e, key, count(*) AS n FROM {obs} {where} GROUP BY e, key"
        if one_per_bucket
        else f"SELECT e, key, count(*) AS n FROM (SELECT DISTINCT e, key, t // {wms} FROM "
        f"{obs} {where}) GROUP BY e, key"
    )
    return f"""
WITH span AS (SELECT greatest(1, (max(t) - min(t)) / {wms}) AS n FROM {obs}),
bk AS ({buckets})
SELECT bk.e AS b, k.label, least(1.0, 2.0 * sum(bk.n) / any_value(span.n)) AS p
FROM bk JOIN {keys} k ON k.key = bk.key, span
GROUP BY bk.e, k.label
"""


def _device_obs(temp: TempFn, name: str, window_s: int) -> str:
    """The table of device observations one per device, sensor and ``window_s`` bucket:
    ``_link_obs`` itself for its own bucket, else ``name`` made from it (its buckets
    divide every device window)."""
    if window_s % DEVICE_BUCKET_S:
        raise ValueError(
            f"device windows must be multiples of DEVICE_BUCKET_S ({DEVICE_BUCKET_S} s), "
            f"not {window_s} s"
        )
    if window_s == DEVICE_BUCKET_S:
        return "_link_obs"
    temp(name, _first_per_bucket("_link_obs", window_s))
    return name


def sides(temp: TempFn, kind: str) -> Sides:
    """Build the temporary side tables of one pair kind (:func:`prepare` first)."""
    if kind not in WINDOWS:
        raise ValueError(f"unknown co-travel kind {kind!r}; expected one of {sorted(WINDOWS)}")
    w = WINDOWS[kind]
    if kind == "vehicle_device":
        obs = _device_obs(temp, "_dv_obs", w)
        temp(
            "_dv_keys",
            "SELECT DISTINCT c.place AS label, s.place AS key FROM link_coverage v "
            "JOIN _link_place c ON c.id = v.camera_id JOIN _link_place s ON s.id = v.sensor_id",
        )
        # the places where each device is rare: only there does meeting a car say much
        temp(
            "_dv_presence",
            f"SELECT * FROM ({presence_sql(obs, '_dv_keys', w, one_per_bucket=True)}) "
            f"WHERE p <= {PRESENCE_CAP[kind]}",
        )
        # a device's events carried to the cameras their sector covers, where it is
        # rare: the join key is the camera, so each read is one probe
        right = (
            f"(SELECT o.e, k.label AS k, o.t, o.obs_id FROM {obs} o "
            "JOIN _dv_keys k ON k.key = o.key "
            "JOIN _dv_presence p ON p.b = o.e AND p.label = k.label)"
        )
        left = (
            "(SELECT e, key AS k, key AS label, t, obs_id FROM _link_rd "
            "WHERE key IN (SELECT label FROM _dv_keys))"
        )
        return Sides(kind, left, right, obs, "_dv_keys", w, False, presence="_dv_presence")
    if kind == "device_device":
        obs = _device_obs(temp, "_dd_obs", w)
        temp(
            "_dd_keys",
            "SELECT DISTINCT coalesce(l.place, p.place) AS label, p.place AS key FROM sensor s "
            "JOIN _link_place p ON p.id = s.sensor_id LEFT JOIN _link_place l ON l.id = s.site_id "
            "WHERE s.kind = 'cell_sector'",
        )
        # crowded cells (more than CROWD devices in one sector and quarter hour: an
        # office tower, a station at rush hour) make many weak coincidences; a pair is
        # told by the cells that are not crowded
        bucket = f"t // {w * 1000}"
        temp(
            "_dd_crowded",
            f"SELECT key, {bucket} AS bucket FROM {obs} GROUP BY key, {bucket} "
            f"HAVING count(*) > {CROWD}",
        )
        temp(
            "_dd_left",
            f"SELECT o.e, o.key AS k, k.label, o.t, o.obs_id FROM {obs} o "
            "JOIN _dd_keys k ON k.key = o.key LEFT JOIN _dd_crowded c ON c.key = o.key "
            f"AND c.bucket = o.{bucket} WHERE c.key IS NULL",
        )
        # b's side is a's: the join is on equal (sector, bucket), so a row of b can only
        # meet a's rows in a cell that is not crowded (a third of the rows of `obs` on
        # the 100 M benchmark, the same units)
        right = "(SELECT e, k, t, obs_id FROM _dd_left)"
        # one row per bucket on both sides: equal buckets suffice
        return Sides(kind, "_dd_left", right, obs, "_dd_keys", w, True, shifts=(0,))
    temp(
        "_vv_keys",
        "SELECT DISTINCT p.place AS label, p.place AS key FROM sensor s "
        "JOIN _link_place p ON p.id = s.sensor_id WHERE s.kind = 'plate_camera'",
    )
    left = "(SELECT e, key AS k, key AS label, t, obs_id FROM _link_rd)"
    right = "(SELECT e, key AS k, t, obs_id FROM _link_rd)"
    return Sides(kind, left, right, "_link_rd", "_vv_keys", w, True, one_per_bucket=False)


def units_sql(s: Sides) -> str:
    """Phase 1: every (a, b, label, day) unit with its observations, packed: a's first
    (``t_a``, and ``ka``, :func:`_packed` with its obs id) and b's closest to one of a's
    (``kb``: the gap and b's time, as an offset from the start of the day less a window,
    packed with the obs id, so of two at equal gaps the earlier, and of two at one
    millisecond the smaller obs id); from the bucketed equality join of ``left`` and
    ``right``, filtered on the exact gap. Three plain ``min`` where ``arg_min`` needed
    four; :func:`evidence_sql` reads them back for the units it keeps."""
    wms = s.window_s * 1000
    if DAY_MS + 2 * wms >= _OFF:
        raise ValueError(
            f"a co-travel window of {s.window_s} s is too long (it must stay under 6.6 hours)"
        )
    order = "l.e < r.e" if s.symmetric else "l.e <> r.e"
    shifts = ", ".join(f"({k})" for k in s.shifts)
    gap = "abs(r.t - l.t)"
    day = f"l.t // {DAY_MS}"
    offset = f"(r.t - ({day}) * {DAY_MS} + {wms})"
    return f"""
WITH l AS (SELECT x.e, x.k, x.label, x.t, x.obs_id, x.t // {wms} + o.s AS bucket
           FROM {s.left} x, (VALUES {shifts}) o(s)),
r AS (SELECT e, k, t, obs_id, t // {wms} AS bucket FROM {s.right})
SELECT l.e AS a, r.e AS b, l.label, {day} AS day, min(l.t) AS t_a,
       min({_packed("l.t", "l.obs_id")}) AS ka,
       min({_packed(f"{gap} * {_OFF} + {offset}", "r.obs_id")}) AS kb
FROM l JOIN r ON r.k = l.k AND r.bucket = l.bucket
WHERE {order} AND {gap} <= {wms}
GROUP BY l.e, r.e, l.label, {day}
"""


def evidence_sql(units: str, window_s: int) -> str:
    """The rows of ``units`` (:func:`units_sql`) with their observations read back:
    a, b, label, day, t_a, obs_a, t_b, obs_b. ``kb`` is divided once, by 10^16 (its
    major part fits a BIGINT; a 128-bit remainder by the 2^27 * 10^16 of the earlier
    layout took 5.4 s per 16 M units, this 1.7 s)."""
    wms = window_s * 1000
    return (
        f"SELECT a, b, label, day, t_a, obs_a, mb % {_OFF} + day * {DAY_MS} - {wms} AS t_b, "
        f"{_obs_id('kb', 'mb')} AS obs_b FROM (SELECT a, b, label, day, t_a, kb, "
        f"{_obs_id('ka', 't_a')} AS obs_a, CAST(kb // {_OBS} AS BIGINT) AS mb FROM {units})"
    )


def a_units_sql(s: Sides, entities: str) -> str:
    """Each entity's units per label (a, label, n: its number of days there), for the
    entities of the query ``entities``."""
    return (
        f"SELECT e AS a, label, count(DISTINCT t // {DAY_MS}) AS n FROM {s.left} "
        f"WHERE e IN ({entities}) GROUP BY e, label"
    )


def bits_sql(units: str, expected: str) -> str:
    """The Chernoff bound, in bits, on the Poisson tail of ``units`` given ``expected``."""
    lam = f"greatest({expected}, 1e-6)"
    return (
        f"CASE WHEN {units} > {expected} THEN ({units} * ln({units} / {lam}) - {units} "
        f"+ {expected}) / ln(2) ELSE 0.0 END"
    )


def near_sql(keys: str) -> str:
    """The keys that do not make an alibi at each label of ``keys`` (label, key,
    together): the label's own keys (together) and every other place within
    :data:`ALIBI_M` of it. Places are matched on bands of latitude :data:`ALIBI_M` wide
    (an equality key, with the neighbouring bands), then on the exact distance."""
    # a band is a little more than ALIBI_M of latitude (a degree is 111,195 m on the
    # sphere of haversine_sql), so places within ALIBI_M are in neighbouring bands
    band = f"CAST(floor(CAST(lat AS DOUBLE) * 111000.0 / {ALIBI_M}) AS BIGINT)"
    dist = haversine_sql("l.lat", "l.lon", "p.lat", "p.lon")
    return f"""
WITH own AS (SELECT DISTINCT label, key FROM {keys}),
l AS (SELECT place AS label, lat, lon, {band} + o.s AS band FROM _link_place,
      (VALUES (-1), (0), (1)) o(s) WHERE place IN (SELECT label FROM own)),
p AS (SELECT place AS key, lat, lon, {band} AS band FROM _link_place),
near AS (SELECT l.label, p.key FROM l JOIN p ON p.band = l.band WHERE {dist} <= {ALIBI_M})
SELECT label, key, true AS together FROM own
UNION ALL
SELECT n.label, n.key, false FROM near n
WHERE NOT EXISTS (SELECT 1 FROM own o WHERE o.label = n.label AND o.key = n.key)
"""


def alibi_sql(s: Sides, kept: str, near: str) -> str:
    """Together and apart counts over a's units at which b was observed in the window.

    Apart means b was observed only at keys more than :data:`ALIBI_M` from the place
    (nearer keys are ambiguous: a moving phone, a neighbouring cell): at no key of
    ``near`` (:func:`near_sql`) for the place. The time join is on one BIGINT key, the
    entity and a time bucket. Where the kind's units are on equal buckets (``shifts``
    of (0,): device-device, one observation per device, sector and quarter hour) so are
    the alibis: a's bucket looks up b's same bucket. Otherwise the buckets are
    :data:`ALIBI_BUCKETS` windows wide: an observation of a looks up the bucket its
    window starts in and, when it ends in the next, that one too (one lookup for most,
    where buckets a window wide need three; b's observations are sparse, so the wider
    buckets hold few more), then the exact gap is checked."""
    if ALIBI_BUCKETS < 2:
        raise ValueError(
            f"ALIBI_BUCKETS must be at least 2 (a window spans two buckets), not {ALIBI_BUCKETS}"
        )
    wms = s.window_s * 1000
    if s.shifts == (0,):
        lookups = f"""
obs AS (SELECT DISTINCT e, label, t // {DAY_MS} AS day, t // {wms} AS q
        FROM {s.left} WHERE e IN (SELECT a FROM {kept})),
u AS (SELECT k.a, k.b, o.label, o.day, k.b * {_SPREAD} + o.q AS g
      FROM {kept} k JOIN obs o ON o.e = k.a),
r AS (SELECT key, e * {_SPREAD} + t // {wms} AS g FROM {s.obs}
      WHERE e IN (SELECT b FROM {kept}))"""
        match = "r.g = u.g"
    else:
        width = wms * ALIBI_BUCKETS
        lookups = f"""
obs AS (SELECT e, label, t // {DAY_MS} AS day, min(t) AS t
        FROM {s.left} WHERE e IN (SELECT a FROM {kept})
        GROUP BY e, label, t // {DAY_MS}, t // {wms}),
u AS (SELECT k.a, k.b, o.label, o.day, o.t, k.b * {_SPREAD} + (o.t + sh.k * {wms}) // {width} AS g
      FROM {kept} k JOIN obs o ON o.e = k.a, (VALUES (-1), (1)) sh(k)
      WHERE sh.k = -1 OR (o.t + {wms}) // {width} <> (o.t - {wms}) // {width}),
r AS (SELECT key, t, e * {_SPREAD} + t // {width} AS g FROM {s.obs}
      WHERE e IN (SELECT b FROM {kept}))"""
        match = f"r.g = u.g AND abs(r.t - u.t) <= {wms}"
    return f"""
WITH {lookups.strip()},
seen AS (SELECT u.a, u.b, u.label, u.day,
                bool_or(coalesce(n.together, false)) AS together,
                bool_and(n.key IS NULL) AS apart
         FROM u JOIN r ON {match}
         LEFT JOIN {near} n ON n.label = u.label AND n.key = r.key
         GROUP BY u.a, u.b, u.label, u.day)
SELECT a, b, count(*) FILTER (WHERE together) AS together,
       count(*) FILTER (WHERE apart) AS apart
FROM seen GROUP BY a, b
"""


def alibi_pairs_sql(kept: str) -> str:
    """The pairs of ``kept`` (a, b, bits) whose alibis are counted: among the
    :data:`ALIBI_TOP` strongest of a or of b (ties broken by name), and with at least
    :data:`ALIBI_REL` of the surprise of the strongest pair of a and of b."""
    return (
        f"SELECT a, b FROM {kept} QUALIFY "
        f"(row_number() OVER (PARTITION BY a ORDER BY bits DESC, b) <= {ALIBI_TOP} OR "
        f"row_number() OVER (PARTITION BY b ORDER BY bits DESC, a) <= {ALIBI_TOP}) AND "
        f"bits >= {ALIBI_REL} * max(bits) OVER (PARTITION BY a) AND "
        f"bits >= {ALIBI_REL} * max(bits) OVER (PARTITION BY b)"
    )


def join_rows_sql(s: Sides) -> str:
    """The number of row pairs the bucketed equality join of :func:`units_sql` makes
    before its exact gap filter and grouping: per join key and bucket, a's rows (one per
    shift) times b's, summed (two grouped scans, no join of rows): what the units are
    made from (:data:`UNIT_FANOUT`)."""
    wms = s.window_s * 1000
    shifts = ", ".join(f"({k})" for k in s.shifts)
    return f"""
WITH l AS (SELECT x.k, x.t // {wms} + o.s AS bucket, count(*) AS n
           FROM {s.left} x, (VALUES {shifts}) o(s) GROUP BY x.k, x.t // {wms} + o.s),
r AS (SELECT k, t // {wms} AS bucket, count(*) AS n FROM {s.right} GROUP BY k, t // {wms})
SELECT coalesce(sum(CAST(l.n AS BIGINT) * r.n), 0) FROM l
JOIN r ON r.k = l.k AND r.bucket = l.bucket
"""


def unit_batches(engine: Engine, s: Sides) -> int:
    """How many batches of a's the units of ``s`` are made in: one where the engine
    spills every operator by itself (:meth:`Engine.memory_bytes` None: Spark), else as
    many as keep each batch's units (a's rows times :data:`UNIT_FANOUT`, at
    :data:`UNIT_BYTES` each) within the engine's memory (at least a GiB) plus
    :data:`SPILL_SHARE` of the free space it spills to
    (:meth:`Engine.spill_free_bytes`)."""

    def unit_bytes() -> int:
        [(left,)] = engine.fetch_rows(f"SELECT count(*) FROM {s.left}")
        return int(left) * UNIT_FANOUT[s.kind] * UNIT_BYTES

    return memory_batches(engine, unit_bytes, 2**30, spill_share=SPILL_SHARE)


def _batch(s: Sides, i: int, n: int) -> Sides:
    """``s`` with only the a's of batch ``i`` of ``n`` on the left (entity id modulo n)."""
    if n == 1:
        return s
    return replace(s, left=f"(SELECT * FROM {s.left} WHERE e % {n} = {i})")


def _kept_units(
    engine: Engine, s: Sides, temp: TempFn, kept: str, say: Progress, note: str
) -> None:
    """Phases 1 to 4 for the a's of ``s``: the kept pairs (a, b, units, expected, bits,
    places, days, d0, d1) in the temporary table ``kept``, and their evidence rows
    (:func:`evidence_sql`) in ``_co_ev``, both made with ``temp``; the units and the
    other working tables are dropped on return. Every pair of an a is decided by a's
    units alone, so batches of a's give the same rows as one."""
    with engine.temp_tables() as work:
        say(f"co-travel {s.kind}: joining{note}")
        work("_co_units", units_sql(s))
        work(
            "_co_cand",
            f"SELECT a, b, count(*) AS units FROM _co_units GROUP BY a, b "
            f"HAVING count(*) >= {MIN_UNITS}",
        )
        say(f"co-travel {s.kind}: chance baseline{note}")
        presence = s.presence
        if presence is None:
            presence = "_co_presence"
            work(
                presence,
                presence_sql(
                    s.obs,
                    s.keys,
                    s.window_s,
                    one_per_bucket=s.one_per_bucket,
                    entities="SELECT b FROM _co_cand",
                ),
            )
        work("_co_au", a_units_sql(s, "SELECT a FROM _co_cand"))
        work(
            "_co_expected",
            f"SELECT c.a, c.b, {exact_sum('u.n * p.p')} AS expected FROM _co_cand c "
            f"JOIN _co_au u ON u.a = c.a JOIN {presence} p "
            "ON p.b = c.b AND p.label = u.label GROUP BY c.a, c.b",
        )
        expected = "coalesce(e.expected, 0.0)"
        work(
            "_co_bits",
            f"SELECT c.a, c.b, c.units, greatest({expected}, 1e-6) AS expected, "
            f"{bits_sql('c.units', expected)} AS bits FROM _co_cand c "
            f"LEFT JOIN _co_expected e ON e.a = c.a AND e.b = c.b "
            f"WHERE {bits_sql('c.units', expected)} >= {REPORT_BITS}",
        )
        say(f"co-travel {s.kind}: evidence{note}")
        temp(
            "_co_ev",
            evidence_sql(
                "(SELECT u.* FROM _co_units u JOIN _co_bits k ON k.a = u.a AND k.b = u.b)",
                s.window_s,
            ),
        )
        temp(
            kept,
            "WITH d AS (SELECT a, b, count(*) AS days, min(day) AS d0, max(day) AS d1 FROM "
            "(SELECT DISTINCT a, b, day FROM _co_ev) GROUP BY a, b), "
            "p AS (SELECT a, b, count(*) AS places FROM "
            "(SELECT DISTINCT a, b, label FROM _co_ev) GROUP BY a, b) "
            "SELECT k.a, k.b, k.units, k.expected, k.bits, p.places, d.days, d.d0, d.d1 "
            "FROM _co_bits k JOIN d ON d.a = k.a AND d.b = k.b "
            "JOIN p ON p.a = k.a AND p.b = k.b",
        )


def score(
    engine: Engine,
    kind: str,
    progress: Progress | None = None,
    *,
    append: bool = False,
    release: Sequence[str] = (),
) -> None:
    """Score one pair kind and write its rows of ``cotravel_pair`` and
    ``cotravel_evidence`` (made anew, or appended to with ``append``). Needs the tables
    of :func:`prepare` in the same session; its own working tables are dropped as soon
    as they are no longer needed (each batch's units once its pairs are kept), all when
    it returns. The tables of :func:`prepare` named in ``release`` are dropped once this
    kind's sides are made (no later kind reads them).

    The units are made in batches of a's (:func:`unit_batches`) where the engine's
    memory is bounded: a batch's evidence is written as soon as its pairs are kept, so
    no more than one batch's units exist at a time; the rows are the same."""
    say = progress or (lambda _m: None)
    with engine.temp_tables() as temp:
        s = sides(temp, kind)
        for name in release:
            engine.execute(f"DROP TABLE IF EXISTS {quote(name)}")
        batches = unit_batches(engine, s)
        # each batch's evidence (_co_ev, made by _kept_units) with names and times
        evidence = (
            f"SELECT {literal(kind)} AS kind, na.name AS a, nb.name AS b, p.id AS place, "
            f"{_date('x.day')} AS day, {_time('x.t_a')} AS t_a, {_time('x.t_b')} AS t_b, "
            "x.obs_a, x.obs_b FROM _co_ev x JOIN _link_entity na ON na.id = x.a "
            "JOIN _link_entity nb ON nb.id = x.b JOIN _link_place p ON p.place = x.label"
        )
        parts = [f"_co_kept{i}" for i in range(batches)]
        for i, name in enumerate(parts):
            note = f" (batch {i + 1} of {batches})" if batches > 1 else ""
            _kept_units(engine, _batch(s, i, batches), temp, name, say, note)
            _write(engine, EVIDENCE, evidence, append=append or i > 0)
            engine.execute("DROP TABLE IF EXISTS _co_ev")
        if batches > 1:
            temp("_co_kept", " UNION ALL ".join(f"SELECT * FROM {n}" for n in parts))
            for name in parts:
                engine.execute(f"DROP TABLE IF EXISTS {quote(name)}")
        kept = "_co_kept" if batches > 1 else parts[0]
        say(f"co-travel {kind}: alibis")
        temp("_co_top", alibi_pairs_sql(kept))
        temp("_co_near", near_sql(s.keys))
        temp("_co_alibi", alibi_sql(s, "_co_top", "_co_near"))
        say(f"co-travel {kind}: writing")
        pairs = (
            f"SELECT {literal(kind)} AS kind, na.name AS a, nb.name AS b, k.units, k.places, "
            "k.days, k.expected, k.bits, coalesce(x.together, 0) AS together, "
            "coalesce(x.apart, 0) AS apart, coalesce(x.together, 0) / "
            "greatest(1, coalesce(x.together, 0) + coalesce(x.apart, 0)) AS together_share, "
            f"{_date('k.d0')} AS first_day, {_date('k.d1')} AS last_day "
            f"FROM {kept} k LEFT JOIN _co_alibi x ON x.a = k.a AND x.b = k.b "
            "JOIN _link_entity na ON na.id = k.a JOIN _link_entity nb ON nb.id = k.b"
        )
        _write(engine, PAIRS, pairs, append=append)


def _write(engine: Engine, table: str, sql: str, *, append: bool) -> None:
    """Make ``table`` from the query ``sql``, or append its rows with ``append``."""
    if append:
        engine.execute(f"INSERT INTO {quote(table)} {sql}")
    else:
        engine.materialise(table, sql)


def check_obs_ids(engine: Engine) -> None:
    """Refuse observations whose ids the packed keys cannot hold (:func:`_packed`: ids
    below 10^16, which ingest's ``batch_id << 40 | row`` keeps for its first 9,094
    batches); past that, the evidence would cite wrong observations without an error."""
    [(top,)] = engine.fetch_rows(
        "SELECT greatest((SELECT max(obs_id) FROM obs_device_event), "
        "(SELECT max(obs_id) FROM obs_plate_read))"
    )
    if top is not None and top >= _OBS:
        raise StageError(
            f"co-travel: observation id {top} is too large; its keys hold ids below 10^16 "
            "(the first 9,094 ingest batches of a workspace). Load the observations into a "
            "fresh workspace with fewer, larger batches."
        )


def run(
    engine: Engine, *, plates: str | None = None, progress: Progress | None = None
) -> Mapping[str, int]:
    """Write ``link_device``, ``link_coverage``, ``cotravel_pair`` and ``cotravel_evidence``."""
    say = progress or (lambda _m: None)
    check_obs_ids(engine)
    counts = {COVERAGE: engine.materialise(COVERAGE, coverage_sql())}
    with engine.temp_tables() as temp:
        say("co-travel: reading observations")
        prepare(temp, plates)
        counts[DEVICES] = engine.materialise(DEVICES, devices_sql())
        # the device events (98 M rows at 100 M events) are dropped once the last kind
        # that reads them has made its sides, so that its units have their memory
        last_reader = [k for k in WINDOWS if k in _DEVICE_KINDS][-1]
        for i, kind in enumerate(WINDOWS):
            release = ("_link_obs",) if kind == last_reader else ()
            score(engine, kind, progress, append=i > 0, release=release)
    counts[PAIRS] = engine.row_count(PAIRS)
    counts[EVIDENCE] = engine.row_count(EVIDENCE)
    return counts


__all__ = [
    "ALIBI_M",
    "ALIBI_REL",
    "ALIBI_TOP",
    "COVERAGE",
    "CROWD",
    "DEVICES",
    "EVIDENCE",
    "MIN_UNITS",
    "PAIRS",
    "PRESENCE_CAP",
    "REPORT_BITS",
    "SPILL_SHARE",
    "UNIT_BYTES",
    "UNIT_FANOUT",
    "WINDOWS",
    "Sides",
    "alibi_pairs_sql",
    "alibi_sql",
    "coverage_sql",
    "device_events_sql",
    "device_sql",
    "devices_sql",
    "evidence_sql",
    "haversine_sql",
    "join_rows_sql",
    "near_sql",
    "prepare",
    "run",
    "score",
    "sides",
    "unit_batches",
    "units_sql",
]
