"""Anomalies: where a subject's days depart from their own routine.

Reads ``life_stay`` and ``life_active_hour`` and writes ``life_anomaly`` (layout in
:data:`tessera.life.tables.COLUMNS`), one row per anomaly of four kinds. Every score is
a surprise in bits
against the subject's *own* baseline, never against other people's; thresholds are the
module constants below. Local weekdays and hours are those of
:func:`tessera.life.settings.local_timezone`, and hour slices are those of
:mod:`tessera.life.routine`.

**The place model** (``unusual_hour``, ``profile_break``). Every local hour of every
day on which a subject was at a place is split between the places of its stays and
an ``unknown`` state (:data:`UNKNOWN_PLACE`: no stay, or a stay with no place), so that
each hour weighs one: where a subject is usually *not* seen (at work outside the area,
on the road) is part of their routine. For state ``x`` in local hour ``h`` of day ``D``
(weekday ``w``), ``P(x | w, h)`` is estimated from the subject's *other* days (leave one
day out), in hours, smoothed down a ladder of coarser profiles with
:data:`PSEUDO_HOURS` pseudo-hours ``K`` at each step::

    P0   = (c(x) + K / (M + 1)) / (n + K)            all hours; M states, one more unseen
    Ph   = (c(h, x) + K P0) / (n(h) + K)             same clock hour, any day
    Pwh  = (c(weekend?, h, x) + K Ph) / (n(weekend?, h) + K)
    P    = (c(w, h, x) + K Pwh) / (n(w, h) + K)      same weekday and hour

``c`` are the hours in state ``x`` and ``n`` all hours, without day ``D``. The surprise
of the hour is ``-log2 P`` bits. The hours are added as whole milliseconds and the bits
with :func:`~tessera.engines.base.exact_sum`, so every figure is the same whatever
order an engine adds in: two runs on one workspace write identical tables (on
`district` they differed in the last bits of about 25,000 rows, and now and then by a
whole anomaly near a threshold, while the hours were DOUBLE fractions).

Kinds (``score`` / ``baseline``):

- ``new_place``: the first stay at a place (no earlier stay of the subject there, of any
  length), lasting at least :data:`NEW_PLACE_MIN_S`, on a local day at least
  :data:`MIN_HISTORY_DAYS` after the subject's first day with a stay. ``baseline`` is
  ``p``, how often the subject's other eligible stays (those lasting
  :data:`NEW_PLACE_MIN_S`, from that day on) were at a new place, with a Jeffreys
  prior: ``(k + 0.5) / (m + 1)`` for ``k`` new among ``m`` others; ``score = -log2 p``
  bits: a new place is a bigger surprise for a creature of habit than for an explorer.
- ``unusual_hour``: a stay at a place the subject was also at on another day, with at
  least one local hour (of at least :data:`UNUSUAL_MIN_SLICE_S` there) whose ``P`` is
  below :data:`UNUSUAL_P`; first visits reported as ``new_place`` are left out.
  ``started_at``/``finished_at`` span the unusual hours; ``score`` is the largest
  surprise among them (bits), ``baseline`` the subject's median surprise per hour.
  Needs :data:`MIN_BASELINE_DAYS` days with a place.
- ``profile_break``: a local day with at least :data:`BREAK_MIN_HOURS` hours at places
  that has at least :data:`BREAK_EXCESS_HOURS` more *surprising* hours (``P`` below
  :data:`BREAK_HOUR_P`) than the subject's typical day: the median over its days with
  enough hours of the same kind (weekday or weekend; all days when it has fewer than
  :data:`BREAK_SAME_KIND_DAYS` of that kind), at least :data:`MIN_BASELINE_DAYS` days in
  all. A sustained departure (a working day spent elsewhere) rather than one event (an
  evening out, which is an ``unusual_hour`` or a ``new_place``). ``score`` is the day's
  surprise in bits, ``baseline`` the typical day's (the median). The anomaly spans the
  local day.
- ``dark_period``: a silence, in ``life_active_hour``, of all the subject's identifiers
  at once (hours with no observation between two hours with one, or from the last one
  to the end of the data) of at least :data:`DARK_MIN_HOURS` hours. Each silent hour
  costs ``-log2 Q`` bits, ``Q`` the subject's own probability of being silent in that
  local hour (weekday or weekend), from its hours outside this silence (between its
  first observation and the end of the data), smoothed with :data:`DARK_PSEUDO_HOURS`
  pseudo-hours towards the same hour on any day and then towards its overall silent
  share (Jeffreys). ``score`` is the sum, reported from :data:`DARK_BITS`;
  ``baseline`` the silent hours the subject's profile expects in that span (``sum Q``).
  A phone that is always off at night makes its night silences cost nothing; a phone
  heard every hour makes a two-day silence cost hundreds of bits. Needs
  :data:`DARK_MIN_OTHER_HOURS` hours outside the silence, and a silence lasting to the
  end of the data needs :data:`MIN_BASELINE_DAYS` days heard before it (a visitor who
  leaves is not dark). The place is that of the last stay begun before the silence.

``evidence`` is a short JSON object with the numbers behind each row. An absence is
reported as what is observed (a silence, a day unlike the others), never as a reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tessera.engines.base import exact_sum, literal, memory_batches, quote
from tessera.life import tables
from tessera.life.routine import CALENDAR, CODES, SLICES, SLOT_PLACE, prepare_codes, prepare_slices
from tessera.life.settings import local_timezone

if TYPE_CHECKING:
    from tessera.engines.base import Engine, TempFn

ANOMALY = tables.ANOMALY


KINDS = ("new_place", "unusual_hour", "profile_break", "dark_period")
STAY_KINDS = ("new_place", "unusual_hour", "profile_break")

# new_place: days of history before a first visit counts, and the least stay that does
MIN_HISTORY_DAYS = 7
NEW_PLACE_MIN_S = 1800.0
# unusual_hour, profile_break, dark_period: days of a subject's own data needed first
MIN_BASELINE_DAYS = 7
# the place model's state for an hour (or part of one) without a stay at a place
UNKNOWN_PLACE = -1
# smoothing of the place model, in hours, at each step of the ladder
PSEUDO_HOURS = 1.0
# unusual_hour: an hour is unusual below this probability; slices shorter are ignored
UNUSUAL_P = 0.01
UNUSUAL_MIN_SLICE_S = 900.0
# profile_break: hours at places a day needs, the probability below which an hour of it
# is surprising, and how many more surprising hours than on the subject's typical day
# (of the same kind, weekday or weekend, when it has this many) make a break
BREAK_MIN_HOURS = 6.0
BREAK_HOUR_P = 0.05
BREAK_EXCESS_HOURS = 5.0
BREAK_SAME_KIND_DAYS = 3
# dark_period: the shortest silence considered, its smoothing, the bits to report it,
# the hours the subject must have been heard outside it, and the days it must have been
# heard before a silence that lasts to the end of the data (a visitor who leaves)
DARK_MIN_HOURS = 6
DARK_PSEUDO_HOURS = 1.0
DARK_BITS = 20.0
DARK_MIN_OTHER_HOURS = 72
# the place model is built for batches of subjects of about this many subject-hours
# per GiB of the engine's memory (a subject's rows never span two batches), so that
# its working tables stay within it whatever the population: measured on the district
# tier, one pass over every subject needed more than a 1 GB memory limit allows. An
# engine that spills every operator (Spark) builds it in one pass: on district, eight
# batches took 420 s on Spark local[2] and one 320 s; on DuckDB with an 11 GiB limit
# one pass took as long as eight batches (28 to 31 s) at the same peak memory
PLACE_MODEL_BATCH_HOURS = 2_000_000

# the place model adds milliseconds (BIGINT), so its sums are exact in any order
HOUR_MS = 3_600_000
# the place model's sums: level name -> grouping columns after the subject's code
# (l_: hours in the state, n_: hours in any state; d_: the same on the row's own day)
_LEVELS: dict[str, tuple[str, ...]] = {
    "l_dh": ("dow", "hour", "place_id"),
    "n_dh": ("dow", "hour"),
    "l_th": ("wk", "hour", "place_id"),
    "n_th": ("wk", "hour"),
    "l_h": ("hour", "place_id"),
    "n_h": ("hour",),
    "l_0": ("place_id",),
    "n_0": (),
    "d_h": ("day", "hour"),
    "d_p": ("day", "place_id"),
    "d_0": ("day",),
}

_LEVEL_PAIRS = (
    ("l_dh", "n_dh"),
    ("l_th", "n_th"),
    ("l_h", "n_h"),
    ("l_0", "n_0"),
    ("d_h", "d_0"),
    ("d_p",),
)

_PART_COLUMNS = "code, kind, started_at, finished_at, place_id, lat, lon, score, baseline, evidence"


def anomalies(engine: Engine) -> dict[str, int]:
    """Write ``life_anomaly`` from ``life_stay`` and ``life_active_hour``; return its
    row count."""
    zone = local_timezone(engine)
    return {ANOMALY: detect(engine, zone=zone)}


def detect(
    engine: Engine,
    *,
    zone: str,
    stays: str = tables.STAY,
    active_hours: str | None = tables.ACTIVE_HOUR,
    kinds: Sequence[str] = KINDS,
    out: str = ANOMALY,
) -> int:
    """Write the anomalies of ``kinds`` to table ``out`` (layout
    :data:`tessera.life.tables.COLUMNS`) from a
    stay table and an active-hour table of the ``tables`` layouts, reading local time in
    ``zone``; return the row count. ``dark_period`` needs ``active_hours``; the other
    kinds only ``stays`` (of which subject, subject_kind, stay_id, started_at,
    finished_at, lat, lon and place_id are read)."""
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown anomaly kinds {unknown}; expected some of {list(KINDS)}")
    dark = "dark_period" in kinds
    if dark and active_hours is None:
        raise ValueError("dark_period anomalies need an active-hour table")
    parts: list[str] = []
    with engine.temp_tables() as temp:
        prepare_codes(temp, [stays, active_hours] if dark and active_hours else [stays])
        temp(
            "_an_stay",
            f"SELECT c.code, s.stay_id, s.place_id, s.started_at, s.finished_at, s.lat, s.lon "
            f"FROM {quote(stays)} s "
            f"JOIN {CODES} c ON c.subject = s.subject AND c.subject_kind = s.subject_kind",
        )
        if any(k in kinds for k in STAY_KINDS):
            prepare_slices(temp, zone, stays)
            temp("_an_new", _new_place_sql(zone))
            if "new_place" in kinds:
                parts.append("_an_new")
            modelled = [
                (name, sql)
                for kind, name, sql in (
                    ("unusual_hour", "_an_unusual", _unusual_sql()),
                    ("profile_break", "_an_break", _break_sql(zone)),
                )
                if kind in kinds
            ]
            batches = _place_model_batches(engine) if modelled else 0
            for batch in range(batches):
                _place_model(temp, batches, batch)
                for name, sql in modelled:
                    if batch == 0:
                        temp(name, sql)
                    else:
                        engine.execute(f"INSERT INTO {name} {sql}")
            parts.extend(name for name, _ in modelled)
        if dark and active_hours is not None:
            _dark(temp, zone, active_hours)
            parts.append("_an_dark")
        union = " UNION ALL ".join(f"SELECT {_PART_COLUMNS} FROM {p}" for p in parts)
        if not union:
            union = (
                "SELECT CAST(NULL AS BIGINT) AS code, "
                "CAST(NULL AS VARCHAR) AS kind, CAST(NULL AS TIMESTAMPTZ) AS started_at, "
                "CAST(NULL AS TIMESTAMPTZ) AS finished_at, CAST(NULL AS BIGINT) AS place_id, "
                "CAST(NULL AS DOUBLE) AS lat, CAST(NULL AS DOUBLE) AS lon, "
                "CAST(NULL AS DOUBLE) AS score, CAST(NULL AS DOUBLE) AS baseline, "
                "CAST(NULL AS VARCHAR) AS evidence WHERE false"
            )
        return engine.materialise(
            out,
            f"""
SELECT c.subject, c.subject_kind,
       CAST(row_number() OVER (ORDER BY u.code, u.started_at, u.kind, u.place_id,
                                        u.finished_at) AS BIGINT) AS anomaly_id,
       u.kind, u.started_at, u.finished_at, u.place_id, u.lat, u.lon, u.score, u.baseline,
       u.evidence
FROM ({union}) u JOIN {CODES} c USING (code)
ORDER BY anomaly_id
""",
        )


def _part(
    kind: str,
    started: str,
    finished: str,
    place: str,
    lat: str,
    lon: str,
    score: str,
    baseline: str,
    evidence: str,
) -> str:
    """The select list of one kind's rows (after ``code``), cast to the table's layout."""
    return (
        f"CAST({literal(kind)} AS VARCHAR) AS kind, CAST({started} AS TIMESTAMPTZ) AS started_at, "
        f"CAST({finished} AS TIMESTAMPTZ) AS finished_at, CAST({place} AS BIGINT) AS place_id, "
        f"CAST({lat} AS DOUBLE) AS lat, CAST({lon} AS DOUBLE) AS lon, "
        f"CAST({score} AS DOUBLE) AS score, CAST({baseline} AS DOUBLE) AS baseline, "
        f"CAST({evidence} AS VARCHAR) AS evidence"
    )


def _new_place_sql(zone: str) -> str:
    z = literal(zone)
    p = "((c.new - 0.5) / c.stays)"
    part = _part(
        "new_place",
        "e.started_at",
        "e.finished_at",
        "e.place_id",
        "e.lat",
        "e.lon",
        f"-log2({p})",
        p,
        f"json_object('dwell_s', round(e.dur), 'history_days', e.age, 'new_places', c.new, "
        f"'stays', c.stays, 'p_new', round({p}, 6))",
    )
    return f"""
WITH st AS (
  SELECT code, stay_id, place_id, started_at, finished_at, lat, lon,
         CAST(timezone({z}, started_at) AS DATE) AS day,
         epoch(finished_at) - epoch(started_at) AS dur,
         row_number() OVER (PARTITION BY code, place_id ORDER BY started_at, stay_id) AS visit
  FROM _an_stay WHERE place_id IS NOT NULL
), f AS (
  SELECT code, CAST(timezone({z}, min(started_at)) AS DATE) AS first_day
  FROM _an_stay GROUP BY code
), e AS (
  SELECT st.*, date_diff('day', f.first_day, st.day) AS age
  FROM st JOIN f USING (code)
  WHERE date_diff('day', f.first_day, st.day) >= {MIN_HISTORY_DAYS}
    AND st.dur >= {NEW_PLACE_MIN_S}
), c AS (
  SELECT code, count(*) AS stays, count(*) FILTER (WHERE visit = 1) AS new
  FROM e GROUP BY code
)
SELECT e.code, e.stay_id, {part}
FROM e JOIN c USING (code) WHERE e.visit = 1
"""


def _place_model_batches(engine: Engine) -> int:
    """How many batches of subjects the place model is built in: the subject-hours it
    covers (24 for every day a subject was at a place) over
    :data:`PLACE_MODEL_BATCH_HOURS` per GiB of the engine's memory
    (:meth:`Engine.memory_bytes`; at least one GiB's worth), at least one; one where
    the engine spills every operator itself."""

    def hours() -> int:
        sql = f"SELECT count(*) FROM (SELECT DISTINCT code, day FROM {SLOT_PLACE})"
        return int(engine.fetch_rows(sql)[0][0]) * 24

    return memory_batches(engine, hours, PLACE_MODEL_BATCH_HOURS)


def _place_model(temp: TempFn, batches: int = 1, batch: int = 0) -> None:
    """``_an_sp`` (hours per subject, local day, hour and place), ``_an_subject`` (days
    and places per subject) and ``_an_p`` (each of those rows with its leave-one-day-out
    probability ``p`` and surprise ``bits``, the other days' hours at the place ``c_0``
    and at the weekday-hour ``n_dh``), for the subjects whose code is ``batch`` modulo
    ``batches``; every figure is the subject's own, so batches are independent."""
    mine = f"code % {int(batches)} = {int(batch)}"
    # every local hour of each day on which the subject was at a place, split between
    # its places and UNKNOWN (no stay, or a stay without a place) so that each hour
    # weighs one: where a subject is usually unseen is part of the routine too
    temp(
        "_an_sp",
        f"""
WITH d AS (SELECT DISTINCT code, day FROM {SLOT_PLACE} WHERE {mine}),
k AS (SELECT code, e, place_id, CAST(round(seconds * 1000) AS BIGINT) AS ms
      FROM {SLOT_PLACE} WHERE {mine}),
u AS (
  SELECT d.code, l.e, {UNKNOWN_PLACE} AS place_id,
         greatest({HOUR_MS} - coalesce(sum(k.ms), 0), 0) AS ms
  FROM d JOIN {CALENDAR} l USING (day)
  LEFT JOIN k ON k.code = d.code AND k.e = l.e
  GROUP BY d.code, l.e
), a AS (SELECT * FROM k UNION ALL SELECT * FROM u WHERE ms > 0)
SELECT a.code, l.day, any_value(l.dow) AS dow, l.hour, any_value(l.wk) AS wk, a.place_id,
       CAST(sum(a.ms) AS BIGINT) AS ms
FROM a JOIN {CALENDAR} l USING (e)
GROUP BY a.code, l.day, l.hour, a.place_id
""",
    )
    temp(
        "_an_subject",
        "SELECT code, count(DISTINCT day) AS days, count(DISTINCT place_id) AS n_places, "
        f"sum(ms) FILTER (WHERE place_id <> {UNKNOWN_PLACE}) / {HOUR_MS}.0 AS known_hours "
        "FROM _an_sp GROUP BY code",
    )
    # hours per subject at each level of the ladder, and on each day of the subject,
    # attached to the rows a pair of levels at a time: with every level in one join,
    # DuckDB joins the levels to each other on the subject alone first (an equality it
    # infers), which explodes inside a transaction
    for name, keys in _LEVELS.items():
        cols = ", ".join(["code", *keys])
        temp(
            f"_an_{name}",
            f"SELECT {cols}, CAST(sum(ms) AS BIGINT) AS v FROM _an_sp GROUP BY {cols}",
        )
    current = "_an_sp"
    for step, pair in enumerate(_LEVEL_PAIRS):
        joins = " ".join(
            f"JOIN _an_{name} {name} ON "
            + " AND ".join(f"{name}.{c} = x.{c}" for c in ("code", *_LEVELS[name]))
            for name in pair
        )
        values = ", ".join(f"{name}.v AS {name}" for name in pair)
        temp(f"_an_x{step}", f"SELECT x.*, {values} FROM {current} x {joins}")
        current = f"_an_x{step}"
    k = PSEUDO_HOURS
    temp(
        "_an_p",
        f"""
WITH loo AS (
  -- the other days' hours: the row's own day taken out at every level
  SELECT x.code, x.day, x.dow, x.hour, x.wk, x.place_id, x.ms, x.ms / {HOUR_MS}.0 AS h,
         u.n_places,
         {_loo("l_dh", "ms")} AS c_dh, {_loo("n_dh", "d_h")} AS n_dh,
         {_loo("l_th", "ms")} AS c_th, {_loo("n_th", "d_h")} AS n_th,
         {_loo("l_h", "ms")} AS c_h, {_loo("n_h", "d_h")} AS n_h,
         {_loo("l_0", "d_p")} AS c_0, {_loo("n_0", "d_0")} AS n_0
  FROM {current} x JOIN _an_subject u ON u.code = x.code
), p0 AS (SELECT *, (c_0 + {k} / (n_places + 1)) / (n_0 + {k}) AS p_0 FROM loo),
ph AS (SELECT *, (c_h + {k} * p_0) / (n_h + {k}) AS p_h FROM p0),
pt AS (SELECT *, (c_th + {k} * p_h) / (n_th + {k}) AS p_th FROM ph)
SELECT code, day, dow, hour, wk, place_id, ms, h, c_0, n_dh,
       (c_dh + {k} * p_th) / (n_dh + {k}) AS p,
       -log2((c_dh + {k} * p_th) / (n_dh + {k})) AS bits
FROM pt
""",
    )


def _loo(total: str, own: str) -> str:
    """``total - own`` milliseconds (exact integers, so a place seen on no other day has
    exactly zero hours there), in hours."""
    return f"(greatest({total} - {own}, 0) / {HOUR_MS}.0)"


def _unusual_sql() -> str:
    part = _part(
        "unusual_hour",
        "to_timestamp(min(sl.a))",
        "to_timestamp(max(sl.b))",
        "sl.place_id",
        "any_value(st.lat)",
        "any_value(st.lon)",
        "max(sl.bits)",
        "any_value(m.med)",
        "json_object('hours', count(*), 'p_min', round(min(sl.p), 6), "
        # a stay over midnight has a slice on each day, with other days' hours each:
        # those of its first slice
        "'place_hours_other_days', round(arg_min(sl.c_0, sl.a), 2), "
        "'weekday_hour_hours_other_days', round(min(sl.n_dh), 2), "
        "'median_bits_per_hour', round(any_value(m.med), 3))",
    )
    return f"""
WITH m AS (SELECT code, median(bits) AS med FROM _an_p GROUP BY code),
sl AS (
  SELECT s.code, s.stay_id, s.place_id, s.a, s.b, p.p, p.bits, p.c_0, p.n_dh
  FROM {SLICES} s
  JOIN {CALENDAR} l USING (e)
  JOIN _an_p p ON p.code = s.code AND p.day = l.day AND p.hour = l.hour
    AND p.place_id = s.place_id
  JOIN _an_subject u ON u.code = s.code
  WHERE s.seconds >= {UNUSUAL_MIN_SLICE_S} AND p.p < {UNUSUAL_P} AND p.c_0 > 0
    AND u.days >= {MIN_BASELINE_DAYS}
    AND NOT EXISTS (SELECT 1 FROM _an_new n WHERE n.code = s.code AND n.stay_id = s.stay_id)
)
SELECT sl.code, {part}
FROM sl JOIN m USING (code)
JOIN _an_stay st ON st.code = sl.code AND st.stay_id = sl.stay_id
GROUP BY sl.code, sl.stay_id, sl.place_id
"""


def _break_sql(zone: str) -> str:
    z = literal(zone)
    part = _part(
        "profile_break",
        f"timezone({z}, CAST(day AS TIMESTAMP))",
        f"timezone({z}, CAST(day + 1 AS TIMESTAMP))",
        "NULL",
        "NULL",
        "NULL",
        "bits",
        "med_bits",
        "json_object('surprising_hours', round(surprising, 2), "
        "'typical_surprising_hours', round(med_surprising, 2), "
        "'hours_at_places', round(known, 2), 'bits', round(bits, 1), "
        "'typical_bits', round(med_bits, 1), 'days_compared', days, 'weekend', e.wk)",
    )
    hour_bits = -math.log2(BREAK_HOUR_P)
    return f"""
WITH d AS (
  SELECT code, day, any_value(wk) AS wk, {exact_sum("h * bits")} AS bits,
         coalesce(sum(ms) FILTER (WHERE bits >= {hour_bits}), 0) / {HOUR_MS}.0 AS surprising,
         coalesce(sum(ms) FILTER (WHERE place_id <> {UNKNOWN_PLACE}), 0) / {HOUR_MS}.0
           AS known
  FROM _an_p GROUP BY code, day
), e AS (SELECT * FROM d WHERE known >= {BREAK_MIN_HOURS}),
all_days AS (SELECT code, median(surprising) AS ms, median(bits) AS mb, count(*) AS days
             FROM e GROUP BY code),
same AS (SELECT code, wk, median(surprising) AS ms, median(bits) AS mb, count(*) AS days
         FROM e GROUP BY code, wk),
m AS (
  -- the typical day: of the same kind (weekday or weekend) when there are enough
  SELECT s.code, s.wk, a.days AS all_days,
         CASE WHEN s.days >= {BREAK_SAME_KIND_DAYS} THEN s.ms ELSE a.ms END AS med_surprising,
         CASE WHEN s.days >= {BREAK_SAME_KIND_DAYS} THEN s.mb ELSE a.mb END AS med_bits,
         CASE WHEN s.days >= {BREAK_SAME_KIND_DAYS} THEN s.days ELSE a.days END AS days
  FROM same s JOIN all_days a USING (code)
)
SELECT e.code, {part}
FROM e JOIN m ON m.code = e.code AND m.wk = e.wk
WHERE m.all_days >= {MIN_BASELINE_DAYS}
  AND e.surprising - m.med_surprising >= {BREAK_EXCESS_HOURS}
"""


def _dark(temp: TempFn, zone: str, active: str) -> None:
    """``_an_dark``: silences of all of a subject's identifiers (see the module
    docstring), scored against the subject's own silent hours."""
    z = literal(zone)
    # distinct active hours (epoch seconds of UTC hour starts) of each subject
    temp(
        "_an_act",
        f"SELECT DISTINCT c.code, CAST(floor(epoch(a.hour) / 3600) AS BIGINT) * 3600 AS e "
        f"FROM {quote(active)} a "
        f"JOIN {CODES} c ON c.subject = a.subject AND c.subject_kind = a.subject_kind",
    )
    # every hour of the data with its local label (weekend or not, hour of the day)
    temp(
        "_an_cal",
        f"""
WITH b AS (SELECT min(e) AS t0, max(e) AS t1 FROM _an_act),
c AS (SELECT unnest(range(t0, t1 + 3600, 3600)) AS e FROM b),
l AS (SELECT e, timezone({z}, to_timestamp(e)) AS t FROM c)
SELECT e, isodow(t) >= 6 AS wk, CAST(hour(t) AS SMALLINT) AS hr FROM l
""",
    )
    # for every hour and label: how many hours of that label come before it, and in all
    temp(
        "_an_cum",
        """
WITH labels AS (SELECT DISTINCT wk, hr FROM _an_cal),
grid AS (SELECT c.e, lb.wk, lb.hr,
                CASE WHEN c.wk = lb.wk AND c.hr = lb.hr THEN 1 ELSE 0 END AS hit
         FROM _an_cal c CROSS JOIN labels lb)
SELECT e, wk, hr,
       sum(hit) OVER (PARTITION BY wk, hr ORDER BY e ROWS UNBOUNDED PRECEDING) - hit AS before,
       sum(hit) OVER (PARTITION BY wk, hr) AS total
FROM grid
""",
    )
    # per subject and label: hours in the subject's window (its first active hour to the
    # end of the data) and the silent ones among them
    temp(
        "_an_silent",
        """
WITH f AS (SELECT code, min(e) AS first FROM _an_act GROUP BY code),
w AS (SELECT f.code, c.wk, c.hr, c.total - c.before AS win
      FROM f JOIN _an_cum c ON c.e = f.first),
a AS (SELECT x.code, l.wk, l.hr, count(*) AS act FROM _an_act x JOIN _an_cal l USING (e)
      GROUP BY x.code, l.wk, l.hr)
SELECT w.code, w.wk, w.hr, w.win, w.win - coalesce(a.act, 0) AS silent
FROM w LEFT JOIN a ON a.code = w.code AND a.wk = w.wk AND a.hr = w.hr
""",
    )
    temp(
        "_an_gap",
        f"""
WITH t AS (SELECT max(e) AS t1 FROM _an_cal),
g AS (
  SELECT code, prev + 3600 AS s, e AS f, false AS tail, first
  FROM (SELECT code, e, lag(e) OVER (PARTITION BY code ORDER BY e) AS prev,
               min(e) OVER (PARTITION BY code) AS first FROM _an_act)
  WHERE prev IS NOT NULL
  UNION ALL
  SELECT code, max(e) + 3600, any_value(t.t1) + 3600, true, min(e) FROM _an_act, t GROUP BY code
)
SELECT code, s, f, tail, first, CAST((f - s) / 3600 AS BIGINT) AS hours,
       row_number() OVER (ORDER BY code, s) AS gap_id
FROM g WHERE f - s >= {DARK_MIN_HOURS} * 3600
""",
    )
    k = DARK_PSEUDO_HOURS
    temp(
        "_an_gap_score",
        f"""
WITH gh AS (SELECT g.gap_id, unnest(range(g.s, g.f, 3600)) AS e FROM _an_gap g),
gl AS (SELECT gh.gap_id, c.wk, c.hr, count(*) AS g FROM gh JOIN _an_cal c USING (e)
       GROUP BY gh.gap_id, c.wk, c.hr),
gl2 AS (SELECT *, sum(g) OVER (PARTITION BY gap_id, hr) AS g_h,
               sum(g) OVER (PARTITION BY gap_id) AS g_0 FROM gl),
sh AS (SELECT code, hr, sum(win) AS win, sum(silent) AS silent FROM _an_silent
       GROUP BY code, hr),
s0 AS (SELECT code, sum(win) AS win, sum(silent) AS silent FROM _an_silent GROUP BY code),
x AS (
  SELECT gl2.gap_id, gl2.g,
         greatest(sl.silent - gl2.g, 0) AS s_l, greatest(sl.win - gl2.g, 0) AS n_l,
         greatest(sh.silent - gl2.g_h, 0) AS s_h, greatest(sh.win - gl2.g_h, 0) AS n_h,
         greatest(s0.silent - gl2.g_0, 0) AS s_0, greatest(s0.win - gl2.g_0, 0) AS n_0
  FROM gl2 JOIN _an_gap g ON g.gap_id = gl2.gap_id
  JOIN _an_silent sl ON sl.code = g.code AND sl.wk = gl2.wk AND sl.hr = gl2.hr
  JOIN sh ON sh.code = g.code AND sh.hr = gl2.hr
  JOIN s0 ON s0.code = g.code
), q0 AS (SELECT *, (s_0 + 0.5) / (n_0 + 1.0) AS q_0 FROM x),
qh AS (SELECT *, (s_h + {k} * q_0) / (n_h + {k}) AS q_h FROM q0),
ql AS (SELECT *, (s_l + {k} * q_h) / (n_l + {k}) AS q FROM qh)
SELECT gap_id, {exact_sum("g * -log2(q)")} AS bits, {exact_sum("g * q")} AS expected,
       any_value(n_0) AS other_hours, any_value(s_0) AS other_silent
FROM ql GROUP BY gap_id
""",
    )
    part = _part(
        "dark_period",
        "to_timestamp(g.s)",
        "to_timestamp(g.f)",
        "arg_max(st.place_id, st.started_at)",
        "arg_max(st.lat, st.started_at)",
        "arg_max(st.lon, st.started_at)",
        "any_value(sc.bits)",
        "any_value(sc.expected)",
        "json_object('hours', g.hours, 'expected_silent_hours', round(any_value(sc.expected), 2), "
        "'bits', round(any_value(sc.bits), 2), 'other_hours', any_value(sc.other_hours), "
        "'other_silent_hours', any_value(sc.other_silent), 'until_end_of_data', g.tail)",
    )
    temp(
        "_an_dark",
        f"""
SELECT g.code, {part}
FROM _an_gap g JOIN _an_gap_score sc ON sc.gap_id = g.gap_id
LEFT JOIN _an_stay st ON st.code = g.code AND st.started_at < to_timestamp(g.s)
WHERE sc.bits >= {DARK_BITS} AND sc.other_hours >= {DARK_MIN_OTHER_HOURS}
  AND (NOT g.tail OR g.s - g.first >= {MIN_BASELINE_DAYS} * 86400)
GROUP BY g.code, g.gap_id, g.s, g.f, g.hours, g.tail, g.first
""",
    )
