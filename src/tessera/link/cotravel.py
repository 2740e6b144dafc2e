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

**Alibis.** For every reported pair, each of a's units at which b was observed within
the window is *together* (b at one of the place's keys) or *apart* (b observed only
elsewhere). Two cars in the same commuting stream are together on some days and apart
on the others; a phone and the car it rides in are together whenever both are seen.
``together_share`` is the share of observable units that were together.

Pairs below :data:`REPORT_BITS` are counted but not kept; reported pairs keep their
supporting observations (``cotravel_evidence``: one row per unit with both obs ids).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tessera.engines.base import Engine, TempFn, literal, quote

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
# Device-device units are not counted in a sector and quarter hour with more devices.
CROWD = 15
# Sector sites farther than this from a camera place a device elsewhere (an alibi).
ALIBI_M = 2500.0
# Alibis are counted for each entity's strongest candidates only.
ALIBI_TOP = 5

Progress = Callable[[str], None]


def haversine_sql(lat1: str, lon1: str, lat2: str, lon2: str) -> str:
    """Great-circle distance in metres between two points (SQL expression)."""
    return (
        f"(12742000.0 * asin(sqrt(pow(sin(radians({lat2} - {lat1}) / 2), 2) + "
        f"cos(radians({lat1})) * cos(radians({lat2})) * "
        f"pow(sin(radians({lon2} - {lon1}) / 2), 2))))"
    )


def coverage_sql() -> str:
    """Which cell sectors serve each plate camera.

    A generic log-distance path loss (exponent 3.5) with the parabolic sector antenna
    pattern of 3GPP TR 36.814 (``-min(12 (off/beamwidth)^2, 20)`` dB) predicts each
    sector's signal at the camera; sectors within :data:`COVERAGE_DB` of the best of
    their network (their ``source``), and within 1.5 times their nominal range, cover
    it. Sectors without an azimuth count as omnidirectional.
    """
    dist = haversine_sql("s.lat", "s.lon", "c.lat", "c.lon")
    bearing = "degrees(atan2(radians(c.lon - s.lon) * cos(radians(s.lat)), radians(c.lat - s.lat)))"
    return f"""
WITH c AS (SELECT sensor_id AS camera_id, lat, lon FROM sensor WHERE kind = 'plate_camera'),
s AS (SELECT sensor_id, source, lat, lon, azimuth_deg, coalesce(beamwidth_deg, 65) AS bw,
             coalesce(range_m, 2000) AS range_m
      FROM sensor WHERE kind = 'cell_sector'),
p AS (SELECT c.camera_id, s.sensor_id, s.source, s.range_m, {dist} AS distance_m,
             CASE WHEN s.azimuth_deg IS NULL THEN 0.0
                  ELSE abs((({bearing} - s.azimuth_deg + 540) % 360) - 180) END AS off_deg,
             s.bw
      FROM c, s),
g AS (SELECT camera_id, sensor_id, source, distance_m,
             -35 * log10(greatest(distance_m, 30)) - least(12 * pow(off_deg / bw, 2), 20)
               AS signal_db
      FROM p WHERE distance_m <= 1.5 * range_m)
SELECT camera_id, sensor_id, distance_m, signal_db
FROM g
QUALIFY max(signal_db) OVER (PARTITION BY camera_id, source) - signal_db <= {COVERAGE_DB}
"""


def device_sql(events: str) -> str:
    """One row per device of ``events`` (a table or subquery of
    :func:`device_events_sql`): the SIM (IMSI) where known, else the handset (IMEI)."""
    return f"""
SELECT device, any_value(imsi) AS imsi, mode(msisdn) AS msisdn,
       list(DISTINCT imei ORDER BY imei) FILTER (WHERE imei IS NOT NULL) AS imeis,
       list(DISTINCT source ORDER BY source) AS sources,
       count(*) AS events, min(time) AS first_seen, max(time) AS last_seen
FROM {events} GROUP BY device
"""


def device_events_sql() -> str:
    """Every device event with its device key (``imsi:<IMSI>`` or ``imei:<IMEI>``).

    Events that carry only an IMEI (handset GPS fixes) are put on the SIM that the
    same IMEI was seen with at that time in network events, when there is one."""
    return """
SELECT coalesce('imsi:' || e.imsi, 'imsi:' || l.imsi, 'imei:' || e.imei) AS device,
       coalesce(e.imsi, l.imsi) AS imsi, e.msisdn, e.imei, e.time, e.sensor_id,
       e.lat, e.lon, e.obs_id, e.source
FROM obs_device_event e
LEFT JOIN (SELECT imei, imsi, min(time) AS t0, max(time) AS t1 FROM obs_device_event
           WHERE imei IS NOT NULL AND imsi IS NOT NULL GROUP BY imei, imsi) l
  ON e.imsi IS NULL AND e.imei = l.imei AND e.time BETWEEN l.t0 AND l.t1
"""


@dataclass(frozen=True)
class Sides:
    """The temporary tables one pair kind is scored from.

    ``left``: entity, key, label, t, obs_id (a's observations, one row per join key);
    ``right``: entity, key, t, obs_id (b's observations); ``keys``: label, key (the
    join keys of each place label); ``positions``: id, lat, lon of every key and label
    (for alibis)."""

    kind: str
    left: str
    right: str
    keys: str
    window_s: int
    symmetric: bool
    positions: str = "_link_positions"


def _bucket(column: str, width: int) -> str:
    return f"CAST(floor(epoch({column}) / {width}) AS BIGINT)"


def _first_per_bucket(width: int) -> str:
    """Device events with a sector, one row per device, sector and time bucket (the
    first event stands for the rest: presence, not chattiness)."""
    return (
        "SELECT device AS entity, sensor_id AS key, min(time) AS t, "
        "arg_min(obs_id, time) AS obs_id FROM _link_events WHERE sensor_id IS NOT NULL "
        f"GROUP BY device, sensor_id, {_bucket('time', width)}"
    )


def prepare(temp: TempFn, plates: str | None) -> None:
    """The observation tables every pair kind reads (temporary)."""
    temp("_link_events", device_events_sql())
    plate = "coalesce(a.plate, r.plate)" if plates else "r.plate"
    attributed = f"LEFT JOIN {quote(plates)} a ON a.obs_id = r.obs_id" if plates else ""
    temp(
        "_link_reads",
        f"SELECT {plate} AS entity, r.camera_id, r.time AS t, r.obs_id "
        f"FROM obs_plate_read r {attributed}",
    )
    # sensors and cell sites, by id, for distances
    temp(
        "_link_positions",
        "SELECT sensor_id AS id, any_value(lat) AS lat, any_value(lon) AS lon FROM sensor "
        "GROUP BY sensor_id UNION ALL SELECT site_id, any_value(lat), any_value(lon) "
        "FROM sensor WHERE site_id IS NOT NULL AND site_id NOT IN (SELECT sensor_id FROM sensor)"
        " GROUP BY site_id",
    )


def sides(temp: TempFn, kind: str) -> Sides:
    """Build the temporary side tables of one pair kind."""
    if kind not in WINDOWS:
        raise ValueError(f"unknown co-travel kind {kind!r}; expected one of {sorted(WINDOWS)}")
    w = WINDOWS[kind]
    if kind == "vehicle_device":
        temp(
            "_dv_left",
            f"SELECT r.entity, c.sensor_id AS key, r.camera_id AS label, r.t, r.obs_id "
            f"FROM _link_reads r JOIN {COVERAGE} c USING (camera_id)",
        )
        temp("_dv_right", _first_per_bucket(w))
        temp("_dv_keys", f"SELECT camera_id AS label, sensor_id AS key FROM {COVERAGE}")
        return Sides(kind, "_dv_left", "_dv_right", "_dv_keys", w, symmetric=False)
    if kind == "device_device":
        temp("_dd_obs", _first_per_bucket(w))
        temp(
            "_dd_keys",
            "SELECT coalesce(site_id, sensor_id) AS label, sensor_id AS key FROM sensor "
            "WHERE kind = 'cell_sector'",
        )
        # crowded cells (more than CROWD devices in one sector and quarter hour: an
        # office tower, a station at rush hour) make many weak coincidences; a pair is
        # told by the cells that are not crowded
        temp(
            "_dd_left",
            "SELECT o.entity, o.key, k.label, o.t, o.obs_id FROM _dd_obs o "
            "JOIN _dd_keys k ON k.key = o.key "
            f"QUALIFY count(*) OVER (PARTITION BY o.key, {_bucket('o.t', w)}) <= {CROWD}",
        )
        return Sides(kind, "_dd_left", "_dd_obs", "_dd_keys", w, symmetric=True)
    temp(
        "_vv_left",
        "SELECT entity, camera_id AS key, camera_id AS label, t, obs_id FROM _link_reads",
    )
    temp(
        "_vv_keys",
        "SELECT sensor_id AS label, sensor_id AS key FROM sensor WHERE kind = 'plate_camera'",
    )
    temp("_vv_right", "SELECT entity, camera_id AS key, t, obs_id FROM _link_reads")
    return Sides(kind, "_vv_left", "_vv_right", "_vv_keys", w, symmetric=True)


def co_units_sql(s: Sides, pairs: str | None = None) -> str:
    """One row per (a, b, label, day) unit at which a and b were observed together.

    Without ``pairs`` only the unit keys are returned (the cheap pass over everything);
    with it, for those pairs only, each unit's closest observations (t_a, t_b, obs_a,
    obs_b) as evidence."""
    w = s.window_s
    order = "AND l.entity < r.entity" if s.symmetric else "AND l.entity <> r.entity"
    # the device-device kind is already one row per bucket: equal buckets suffice
    shifts = "(VALUES (0)) o(k)" if s.kind == "device_device" else "(VALUES (-1), (0), (1)) o(k)"
    if pairs is None:
        left, right, chosen = s.left, s.right, ""
        evidence = ""
    else:
        left = f"(SELECT * FROM {s.left} WHERE entity IN (SELECT a FROM {pairs}))"
        right = f"(SELECT * FROM {s.right} WHERE entity IN (SELECT b FROM {pairs}))"
        chosen = f"JOIN {pairs} p ON p.a = l.entity AND p.b = r.entity"
        gap = "abs(epoch(r.t) - epoch(l.t))"
        evidence = (
            f", min(l.t) AS t_a, arg_min(r.t, {gap}) AS t_b, "
            f"arg_min(l.obs_id, l.t) AS obs_a, arg_min(r.obs_id, {gap}) AS obs_b"
        )
    return f"""
WITH l AS (SELECT entity, key, label, t, obs_id, {_bucket("t", w)} + o.k AS b
           FROM {left}, {shifts}),
r AS (SELECT entity, key, t, obs_id, {_bucket("t", w)} AS b FROM {right})
SELECT l.entity AS a, r.entity AS b, l.label, CAST(l.t AS DATE) AS day {evidence}
FROM l JOIN r ON r.key = l.key AND r.b = l.b {order} {chosen}
WHERE abs(epoch(r.t) - epoch(l.t)) <= {w}
GROUP BY l.entity, r.entity, l.label, CAST(l.t AS DATE)
"""


def expected_sql(s: Sides, candidates: str) -> str:
    """λ for each candidate pair: the sum over a's units of b's presence at the place."""
    w = s.window_s
    return f"""
WITH span AS (SELECT greatest(1, (epoch(max(t)) - epoch(min(t))) / {w}) AS n FROM {s.right}),
presence_key AS (SELECT entity, key, count(DISTINCT {_bucket("t", w)}) AS buckets
                 FROM {s.right} WHERE entity IN (SELECT b FROM {candidates})
                 GROUP BY entity, key),
presence AS (SELECT p.entity, k.label, least(1.0, 2.0 * sum(p.buckets) / any_value(span.n)) AS p
             FROM presence_key p JOIN {s.keys} k ON k.key = p.key, span
             GROUP BY p.entity, k.label),
a_units AS (SELECT entity, label, count(DISTINCT CAST(t AS DATE)) AS n FROM {s.left}
            WHERE entity IN (SELECT a FROM {candidates}) GROUP BY entity, label)
SELECT c.a, c.b, sum(u.n * coalesce(p.p, 0.0)) AS expected
FROM {candidates} c JOIN a_units u ON u.entity = c.a
LEFT JOIN presence p ON p.entity = c.b AND p.label = u.label
GROUP BY c.a, c.b
"""


def alibi_sql(s: Sides, kept: str) -> str:
    """Together and apart counts over a's units at which b was observed in the window.

    Apart means b was observed only at keys more than :data:`ALIBI_M` from the place
    (nearer keys are ambiguous: a moving phone, a neighbouring cell)."""
    w = s.window_s
    dist = haversine_sql("kp.lat", "kp.lon", "lp.lat", "lp.lon")
    return f"""
WITH obs AS (SELECT entity, label, CAST(t AS DATE) AS day, min(t) AS t
             FROM {s.left} WHERE entity IN (SELECT a FROM {kept})
             GROUP BY entity, label, CAST(t AS DATE), {_bucket("t", w)}),
u AS (SELECT k.a, k.b, o.label, o.day, o.t, {_bucket("o.t", w)} + sh.k AS bucket
      FROM {kept} k JOIN obs o ON o.entity = k.a, (VALUES (-1), (0), (1)) sh(k)),
seen AS (SELECT u.a, u.b, u.label, u.day,
                bool_or(kk.key IS NOT NULL) AS together,
                bool_and(kk.key IS NULL AND {dist} > {ALIBI_M}) AS apart
         FROM u JOIN {s.right} r ON r.entity = u.b AND {_bucket("r.t", w)} = u.bucket
                                AND abs(epoch(r.t) - epoch(u.t)) <= {w}
         LEFT JOIN {s.keys} kk ON kk.label = u.label AND kk.key = r.key
         JOIN {s.positions} kp ON kp.id = r.key
         JOIN {s.positions} lp ON lp.id = u.label
         GROUP BY u.a, u.b, u.label, u.day)
SELECT a, b, count(*) FILTER (WHERE together) AS together,
       count(*) FILTER (WHERE apart) AS apart
FROM seen GROUP BY a, b
"""


def score(temp: TempFn, kind: str, progress: Progress | None = None) -> None:
    """Score one pair kind into the temporary tables ``_pairs_<kind>`` and
    ``_evidence_<kind>`` (prepare() first)."""
    say = progress or (lambda _m: None)
    s = sides(temp, kind)
    say(f"co-travel {kind}: joining")
    temp("_co_units", co_units_sql(s))
    temp(
        "_co_cand",
        "SELECT a, b, count(*) AS units, count(DISTINCT label) AS places, "
        "count(DISTINCT day) AS days, min(day) AS first_day, max(day) AS last_day "
        f"FROM _co_units GROUP BY a, b HAVING count(*) >= {MIN_UNITS}",
    )
    say(f"co-travel {kind}: chance baseline")
    temp("_co_expected", expected_sql(s, "_co_cand"))
    temp(
        "_co_scored",
        "SELECT c.*, greatest(e.expected, 1e-6) AS expected, "
        "CASE WHEN c.units > e.expected THEN (c.units * ln(c.units / greatest(e.expected, 1e-6))"
        " - c.units + e.expected) / ln(2) ELSE 0.0 END AS bits "
        "FROM _co_cand c JOIN _co_expected e USING (a, b)",
    )
    temp("_co_kept", f"SELECT * FROM _co_scored WHERE bits >= {REPORT_BITS}")
    say(f"co-travel {kind}: alibis")
    temp(
        "_co_top",
        f"SELECT a, b FROM _co_kept QUALIFY row_number() OVER (PARTITION BY a ORDER BY bits DESC)"
        f" <= {ALIBI_TOP} OR row_number() OVER (PARTITION BY b ORDER BY bits DESC) <= {ALIBI_TOP}",
    )
    temp("_co_alibi", alibi_sql(s, "_co_top"))
    temp(
        f"_pairs_{kind}",
        f"SELECT {literal(kind)} AS kind, k.a, k.b, k.units, k.places, k.days, k.expected, "
        "k.bits, coalesce(x.together, 0) AS together, coalesce(x.apart, 0) AS apart, "
        "coalesce(x.together, 0) / greatest(1, coalesce(x.together, 0) + coalesce(x.apart, 0))"
        " AS together_share, k.first_day, k.last_day "
        "FROM _co_kept k LEFT JOIN _co_alibi x USING (a, b)",
    )
    say(f"co-travel {kind}: evidence")
    temp("_co_kept_keys", "SELECT a, b FROM _co_kept")
    temp(
        f"_evidence_{kind}",
        f"SELECT {literal(kind)} AS kind, a, b, label AS place, day, t_a, t_b, obs_a, obs_b "
        f"FROM ({co_units_sql(s, '_co_kept_keys')})",
    )


def run(
    engine: Engine, *, plates: str | None = None, progress: Progress | None = None
) -> Mapping[str, int]:
    """Write ``link_device``, ``link_coverage``, ``cotravel_pair`` and ``cotravel_evidence``."""
    counts = {COVERAGE: engine.materialise(COVERAGE, coverage_sql())}
    with engine.temp_tables() as temp:
        prepare(temp, plates)
        counts[DEVICES] = engine.materialise(DEVICES, device_sql("_link_events"))
        for kind in WINDOWS:
            score(temp, kind, progress)
        union = " UNION ALL ".join(f"SELECT * FROM _pairs_{k}" for k in WINDOWS)
        counts[PAIRS] = engine.materialise(PAIRS, union)
        union = " UNION ALL ".join(f"SELECT * FROM _evidence_{k}" for k in WINDOWS)
        counts[EVIDENCE] = engine.materialise(EVIDENCE, union)
    return counts
