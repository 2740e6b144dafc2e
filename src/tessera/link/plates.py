"""Misread licence plates attributed to the vehicle that was really there.

Plate cameras misread plates: look-alike characters are swapped (``O 0 D Q``,
``I 1 L``, ``B 8``, ``S 5``, ``Z 2``, ``G 6``) and characters are dropped, and a
misread rarely stands alone: the same vehicle passes other cameras a minute before and
after, where its plate is mostly read right. So a read is attributed by where and when
it was made, not by its text alone.

Steps (each a named table ``<out>__<step>``, dropped at the end; all SQL in the
canonical dialect, candidates found by equality joins only):

1. ``reads``: every read with its time in seconds, a time bucket of ``window_s``
   seconds, and its camera's position (the read's own, else the ``sensor`` table's).
2. ``plates``: per distinct plate, its support: reads, days, registered or not
   (``reg_vehicle``), and a ``strength`` that orders plates by reads, then
   registration, then best OCR confidence.
3. ``variants``: each plate and its one-character deletions, with their OCR keys
   (``tessera.types.plate.plate_key``).
4. ``candidates``: for each read plate, the *stronger* plates whose key, or whose key
   less one character (a dropped character), equals its key: a read is only ever moved
   to a plate seen more. With the confusion distance (0.2 per look-alike swap, 1 per
   dropped character) and a text of the change (``O->0 at position 3``).
5. ``places``: reads per plate and camera, for the plates that take part.
6. ``context``: for each read of a plate that has candidates, for its own plate and
   each candidate: the *trip reads*, reads of that plate within ``window_s`` seconds
   at a camera the vehicle could have reached in the time (``slack_m +
   max_speed_mps * dt``, or any camera when either position is unknown; joined on the
   time bucket and its two neighbours, then filtered), the nearest of them, and how
   often the plate was read at this camera.
7. ``choice``: the best other plate is one with trip reads, fewest changes first, then
   nearest in time; failing that, the one most read at this camera. The read goes to
   it when it has trip reads (``trip``), unless the plate as read is registered and
   has trip reads too: two look-alike cars travelling together (``trip_kept``). With
   no trip read of any candidate, it goes to a plate read at least
   ``min_place_reads`` times at this very camera and ``place_ratio`` times as often as
   the plate as read (``place``: a habitual route). Otherwise it stays as read
   (``none``), with a low confidence.

A plate read many times is not thereby real: a taxi read thousands of times has misread
variants read hundreds of times, and they are corrected read by read. Support orients
the candidates and sets the confidence of reads with no look-alike at all.

Output ``link_plate_read``: one row per read of ``obs_plate_read``: ``obs_id``,
``read_plate`` (as read), ``plate`` (attributed), ``corrected``, ``confidence`` (0..1,
that ``plate`` is the vehicle read; per outcome, calibrated on simulated districts),
``n_candidates`` (look-alike plates considered) and ``evidence`` (a short text).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tessera.engines.base import Engine, quote
from tessera.errors import StageError

OUTPUT = "link_plate_read"
READS = "obs_plate_read"
SENSORS = "sensor"
REGISTERED = "reg_vehicle"
INPUTS = (READS, SENSORS, REGISTERED)
STEPS = ("reads", "plates", "variants", "candidates", "places", "context", "choice")

# metres per degree of latitude, and of longitude at the equator
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON = 111_320.0


@dataclass(frozen=True)
class PlateSettings:
    """What counts as the same trip, and as a habit.

    ``window_s``: the most seconds between two reads of a trip (in simulated districts
    99% of misreads have a right read of their plate within 131 s). ``decay_s``: trip
    reads are weighted by ``exp(-dt / decay_s)`` to find the nearest plate.
    ``max_distance_m``: the farthest two cameras of a trip may be. ``max_speed_mps``
    and ``slack_m``: a read ``dt`` seconds away counts only at a camera within
    ``slack_m + max_speed_mps * dt`` metres. ``min_deletion_length``: the shortest
    plate that may have lost a character. ``min_place_reads`` and ``place_ratio``: the
    camera habit that attributes a read with no trip evidence.
    """

    window_s: int = 300
    decay_s: float = 60.0
    max_distance_m: float = 5000.0
    max_speed_mps: float = 25.0
    slack_m: float = 300.0
    min_deletion_length: int = 4
    min_place_reads: int = 2
    place_ratio: float = 2.0

    def __post_init__(self) -> None:
        if self.window_s < 1:
            raise StageError(f"window_s must be at least 1 second, got {self.window_s}")
        for name in ("decay_s", "max_distance_m", "max_speed_mps", "slack_m"):
            if getattr(self, name) < 0:
                raise StageError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.min_place_reads < 1 or self.place_ratio < 0:
            raise StageError(
                "min_place_reads must be at least 1 and place_ratio not negative, got "
                f"{self.min_place_reads} and {self.place_ratio}"
            )
        if self.min_deletion_length < 2:
            raise StageError(
                f"min_deletion_length must be at least 2, got {self.min_deletion_length}"
            )


DEFAULTS = PlateSettings()


def attribute_plates(
    engine: Engine,
    *,
    out: str = OUTPUT,
    settings: PlateSettings = DEFAULTS,
    keep_steps: bool = False,
) -> int:
    """Attribute every read of ``obs_plate_read`` to a plate; materialise ``out`` and
    return its row count. The inputs are only read. The working tables are named
    ``<out>__<step>`` and dropped after a successful run unless ``keep_steps`` (for
    debugging); a failed run inside a stage's transaction leaves none, and outside one
    the next run replaces them."""
    present = set(engine.table_names())
    missing = [t for t in INPUTS if t not in present]
    if missing:
        raise StageError(
            f"plate attribution needs the table(s) {', '.join(missing)}; ingest the plate "
            "reads, the camera list and the vehicle register first"
        )
    work = {step: f"{out}__{step}" for step in STEPS}
    for step, sql in plate_steps(work, settings):
        engine.materialise(work[step], sql)
    rows = engine.materialise(out, output_sql(work))
    for name in () if keep_steps else work.values():
        engine.execute(f"DROP TABLE IF EXISTS {quote(name)}")
    return rows


def plate_steps(work: dict[str, str], settings: PlateSettings) -> Iterator[tuple[str, str]]:
    """``(step, query)`` for each working table, in order (canonical dialect)."""
    t = {step: quote(name) for step, name in work.items()}
    s = settings
    yield (
        "reads",
        f"""
        SELECT r.obs_id, r.plate, r.plate_key, r.camera_id, r.confidence,
               CAST(epoch(r.time) AS BIGINT) AS ts,
               CAST(floor(epoch(r.time) / {s.window_s}) AS BIGINT) AS bucket,
               coalesce(r.lat, c.lat) AS lat, coalesce(r.lon, c.lon) AS lon
        FROM {quote(READS)} AS r
        LEFT JOIN (
            SELECT sensor_id, min(lat) AS lat, min(lon) AS lon FROM {quote(SENSORS)}
            WHERE kind = 'plate_camera' GROUP BY sensor_id
        ) AS c ON c.sensor_id = r.camera_id
        WHERE r.plate IS NOT NULL
        """,
    )
    yield (
        "plates",
        f"""
        SELECT r.plate, min(r.plate_key) AS plate_key, count(*) AS n_reads,
               count(DISTINCT CAST(floor(r.ts / 86400) AS BIGINT)) AS n_days,
               reg.plate IS NOT NULL AS registered,
               count(*) + CASE WHEN reg.plate IS NOT NULL THEN 0.5 ELSE 0.0 END
                 + 0.1 * coalesce(max(r.confidence), 0.0) AS strength
        FROM {t["reads"]} AS r
        LEFT JOIN (SELECT DISTINCT plate FROM {quote(REGISTERED)} WHERE plate IS NOT NULL)
            AS reg ON reg.plate = r.plate
        GROUP BY r.plate, reg.plate
        """,
    )
    yield (
        "variants",
        f"""
        SELECT plate, plate AS variant, plate_key AS variant_key, 0 AS dropped
        FROM {t["plates"]}
        UNION ALL
        SELECT plate, variant, min(variant_key) AS variant_key, min(i) AS dropped
        FROM (
            SELECT plate, i,
                   substr(plate, 1, i - 1) || substr(plate, i + 1) AS variant,
                   substr(plate_key, 1, i - 1) || substr(plate_key, i + 1) AS variant_key
            FROM (
                SELECT plate, plate_key, unnest(generate_series(1, length(plate))) AS i
                FROM {t["plates"]} WHERE length(plate) >= {s.min_deletion_length}
            )
        )
        GROUP BY plate, variant
        """,
    )
    # positions where the read differs from the candidate (less its dropped character)
    yield (
        "candidates",
        f"""
        WITH pairs AS (
            SELECT p.plate AS read_plate, v.plate AS candidate, v.variant, v.dropped,
                   q.strength
            FROM {t["plates"]} AS p
            JOIN {t["variants"]} AS v ON v.variant_key = p.plate_key AND v.plate <> p.plate
            JOIN {t["plates"]} AS q ON q.plate = v.plate
            WHERE q.strength > p.strength
        ),
        positions AS (
            SELECT read_plate, candidate, variant, dropped, strength,
                   unnest(generate_series(1, length(read_plate))) AS i
            FROM pairs
        ),
        diffs AS (
            SELECT read_plate, candidate, dropped, strength,
                   sum(CASE WHEN substr(read_plate, i, 1) <> substr(variant, i, 1)
                       THEN 1 ELSE 0 END) AS n_swaps,
                   min(CASE WHEN substr(read_plate, i, 1) <> substr(variant, i, 1)
                       THEN i END) AS first_swap,
                   min(variant) AS variant
            FROM positions GROUP BY read_plate, candidate, dropped, strength
        ),
        best AS (
            SELECT *, row_number() OVER (
                PARTITION BY read_plate, candidate ORDER BY dropped, n_swaps, first_swap
            ) AS k
            FROM diffs
        )
        SELECT read_plate, candidate, dropped, n_swaps, strength,
               CASE WHEN dropped > 0 THEN 1.0 ELSE 0.0 END + 0.2 * n_swaps AS distance,
               concat_ws('; ',
                   CASE WHEN first_swap IS NOT NULL THEN
                       substr(read_plate, first_swap, 1) || '->'
                       || substr(variant, first_swap, 1) || ' at position '
                       || CAST(first_swap + CASE WHEN dropped > 0 AND dropped <= first_swap
                                                 THEN 1 ELSE 0 END AS VARCHAR)
                       || CASE WHEN n_swaps > 1
                               THEN ' (+' || CAST(n_swaps - 1 AS VARCHAR) || ' more)'
                               ELSE '' END
                   END,
                   CASE WHEN dropped > 0 THEN
                       substr(candidate, dropped, 1) || ' dropped at position '
                       || CAST(dropped AS VARCHAR)
                   END
               ) AS change
        FROM best WHERE k = 1
        """,
    )
    yield (
        "places",
        f"""
        SELECT plate, camera_id, count(*) AS n_reads FROM {t["reads"]}
        WHERE plate IN (SELECT candidate FROM {t["candidates"]}
                        UNION SELECT read_plate FROM {t["candidates"]})
        GROUP BY plate, camera_id
        """,
    )
    # the read plate itself is an option too (distance 0), so its own trip counts
    reach = (
        f"sqrt(power((x.lat - q.lat) * {_M_PER_DEG_LAT}, 2) + "
        f"power((x.lon - q.lon) * {_M_PER_DEG_LON} * cos(radians(q.lat)), 2))"
    )
    # the nearest read in time, the earlier one on a tie
    nearest = "abs(x.ts - q.ts) * 2 + CASE WHEN x.ts > q.ts THEN 1 ELSE 0 END"
    yield (
        "context",
        f"""
        WITH options AS (
            SELECT read_plate, candidate, distance, strength, change FROM {t["candidates"]}
            UNION ALL
            SELECT DISTINCT c.read_plate, c.read_plate, 0.0, p.strength, CAST(NULL AS VARCHAR)
            FROM {t["candidates"]} AS c JOIN {t["plates"]} AS p ON p.plate = c.read_plate
        ),
        queries AS (
            SELECT r.obs_id, r.ts, r.lat, r.lon, r.camera_id, o.candidate, o.distance,
                   o.strength, o.change, o.candidate = o.read_plate AS is_read,
                   r.bucket + b.shift AS bucket
            FROM {t["reads"]} AS r
            JOIN options AS o ON o.read_plate = r.plate
            CROSS JOIN (VALUES (-1), (0), (1)) AS b(shift)
        ),
        trips AS (
            SELECT q.obs_id, q.candidate, min(q.camera_id) AS camera_id,
                   bool_or(q.is_read) AS is_read, min(q.distance) AS distance,
                   min(q.strength) AS strength, min(q.change) AS change,
                   count(x.obs_id) AS n_trip,
                   coalesce(sum(exp(-abs(x.ts - q.ts) / {s.decay_s})), 0.0) AS w_trip,
                   min_by(x.camera_id, {nearest}) AS near_camera,
                   min_by(x.ts - q.ts, {nearest}) AS near_dt
            FROM queries AS q
            LEFT JOIN {t["reads"]} AS x
              ON x.plate = q.candidate AND x.bucket = q.bucket AND x.obs_id <> q.obs_id
             AND abs(x.ts - q.ts) <= {s.window_s}
             AND coalesce({reach} <= least({s.max_distance_m},
                                           {s.slack_m} + {s.max_speed_mps} * abs(x.ts - q.ts)),
                          TRUE)
            GROUP BY q.obs_id, q.candidate
        )
        SELECT tr.obs_id, tr.candidate, tr.is_read, tr.distance, tr.strength, tr.change,
               tr.n_trip, tr.w_trip, tr.near_camera, tr.near_dt,
               coalesce(pl.n_reads, 0) - CASE WHEN tr.is_read THEN 1 ELSE 0 END AS n_place
        FROM trips AS tr
        LEFT JOIN {t["places"]} AS pl
          ON pl.plate = tr.candidate AND pl.camera_id = tr.camera_id
        """,
    )
    # the best other plate: one on the trip with the fewest changes, nearest in time;
    # else the one most read at this camera. The read plate itself is kept when it is
    # registered and on the trip (two look-alike cars travelling together)
    yield (
        "choice",
        f"""
        WITH ranked AS (
            SELECT c.*, p.registered AS read_registered,
                   row_number() OVER (
                       PARTITION BY c.obs_id
                       ORDER BY CASE WHEN c.is_read THEN 1 ELSE 0 END,
                                CASE WHEN c.n_trip > 0 THEN 0 ELSE 1 END,
                                CASE WHEN c.n_trip > 0 THEN c.distance ELSE 0 END,
                                c.w_trip DESC, c.n_place DESC, c.distance, c.strength DESC,
                                c.candidate
                   ) AS preference,
                   count(*) OVER (PARTITION BY c.obs_id) - 1 AS n_candidates
            FROM {t["context"]} AS c
            JOIN {t["reads"]} AS r ON r.obs_id = c.obs_id
            JOIN {t["plates"]} AS p ON p.plate = r.plate
        ),
        own AS (SELECT * FROM ranked WHERE is_read),
        best AS (SELECT * FROM ranked WHERE preference = 1 AND NOT is_read)
        SELECT b.obs_id, b.n_candidates,
               CASE
                   WHEN b.n_trip > 0 AND NOT (o.read_registered AND o.n_trip > 0) THEN 'trip'
                   WHEN o.n_trip > 0 THEN 'trip_kept'
                   WHEN b.n_place >= {s.min_place_reads}
                        AND b.n_place >= {s.place_ratio} * (o.n_place + 1) THEN 'place'
                   ELSE 'none'
               END AS method,
               b.candidate AS other_plate, b.change, b.n_trip, b.w_trip, b.n_place,
               b.near_camera, b.near_dt,
               o.n_trip AS n_trip_read, o.w_trip AS w_trip_read, o.n_place AS n_place_read,
               o.near_camera AS near_camera_read, o.near_dt AS near_dt_read
        FROM best AS b JOIN own AS o ON o.obs_id = b.obs_id
        """,
    )


def output_sql(work: dict[str, str]) -> str:
    """The output query: one row per read, attributed (canonical dialect)."""
    t = {step: quote(name) for step, name in work.items()}

    def seen(plate: str, camera: str, dt: str, n: str) -> str:
        return (
            f"{plate} || ' read at ' || {camera} || ' ' || CAST(abs({dt}) AS VARCHAR)"
            f" || ' s ' || CASE WHEN {dt} < 0 THEN 'earlier' ELSE 'later' END"
            f" || CASE WHEN {n} > 1 THEN ' (' || CAST({n} AS VARCHAR) || ' trip reads)'"
            " ELSE '' END"
        )

    support = (
        "'read ' || CAST(p.n_reads AS VARCHAR) || ' times on ' || CAST(p.n_days AS VARCHAR)"
        " || ' day(s)' || CASE WHEN p.registered THEN ', registered' ELSE '' END"
    )
    place = (
        "c.change || '; no trip read nearby; ' || c.other_plate || ' read '"
        " || CAST(c.n_place AS VARCHAR) || ' times at ' || o.camera_id"
    )
    # how sure a read left alone is right, from its plate's support
    alone = (
        "CASE WHEN p.registered OR p.n_days >= 2 THEN 0.99 "
        "WHEN p.n_reads >= 2 THEN 0.97 ELSE 0.9 END"
    )
    return f"""
    SELECT o.obs_id, o.plate AS read_plate,
           CASE WHEN c.method IN ('trip', 'place') THEN c.other_plate ELSE o.plate END
               AS plate,
           coalesce(c.method IN ('trip', 'place'), FALSE) AS corrected,
           CAST(CASE
               WHEN o.plate IS NULL THEN 0.0
               WHEN c.method IS NULL THEN {alone}
               WHEN c.method = 'trip' THEN
                   CASE WHEN c.n_trip >= 2 THEN 0.999 ELSE 0.93 END
               WHEN c.method = 'trip_kept' THEN 0.99
               WHEN c.method = 'place' THEN 0.9
               ELSE 0.3
           END AS DOUBLE) AS confidence,
           CAST(coalesce(c.n_candidates, 0) AS INTEGER) AS n_candidates,
           CASE
               WHEN o.plate IS NULL THEN 'no plate read'
               WHEN c.method IS NULL THEN {support}
               WHEN c.method = 'trip' THEN
                   c.change || '; '
                   || {seen("c.other_plate", "c.near_camera", "c.near_dt", "c.n_trip")}
               WHEN c.method = 'trip_kept' THEN
                   {seen("o.plate", "c.near_camera_read", "c.near_dt_read", "c.n_trip_read")}
                   || '; registered; kept over ' || c.other_plate
               WHEN c.method = 'place' THEN {place}
               ELSE 'no trip read of ' || o.plate || ' or of ' || c.other_plate
                    || ' nearby; kept as read'
           END AS evidence
    FROM {quote(READS)} AS o
    LEFT JOIN {t["choice"]} AS c ON c.obs_id = o.obs_id
    LEFT JOIN {t["plates"]} AS p ON p.plate = o.plate
    """
