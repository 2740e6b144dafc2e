"""Routines: the weekly presence profile of each subject, and how predictable it is.

Reads ``life_stay`` and writes two tables (layouts in :data:`tessera.life.tables.COLUMNS`).

**Hour slices.** Every stay is cut at the local clock hours it covers (the zone of
:func:`tessera.life.settings.local_timezone`). The cuts are made on the UTC time line
at the instants where local time reads a full hour, so a slice has its true length in
seconds on the days the clock changes too; ``dow`` (0 = Monday) and ``hour`` are the
local weekday and hour at the slice's start. Stays without a place (``place_id`` NULL)
count for ``days_observed`` and the radius of gyration only.

``life_routine`` (subject, subject_kind, place_id, dow, hour, seconds, share)
    ``seconds``: all the time the subject's stays at the place fall in that weekday-hour,
    summed over every week observed. ``share``: those seconds over the seconds spent at
    *any* place in that weekday-hour over the same weeks, so the shares of one
    (subject, dow, hour) sum to 1: the probability of each place given that the subject
    was seen at a place at that weekday-hour. Hours with no stay are not in the
    denominator (unknown, not "nowhere").

``life_profile`` (one row per subject with a stay)
    - ``days_observed``: local dates with any stay time.
    - ``places``: distinct places among the subject's stays.
    - ``radius_of_gyration_m``: ``sqrt(sum w_i d_i^2 / sum w_i)`` over stays, ``w_i``
      the stay's duration in seconds and ``d_i`` the equirectangular distance in metres
      (sphere of 6,371 km) from the stay's position to the duration-weighted mean
      position (Gonzalez et al. 2008, weighted by time rather than by record). A radius
      under ``ROG_FLOOR_M`` (1 mm) is reported as 0: stays at one place whose
      positions differ in the last bit (a sum made in another order) are not a radius.
    - The **hourly sequence**: each local clock hour in which the subject has stay time
      at a place is a *known hour*, labelled with the place of most seconds in it (the
      smaller ``place_id`` on a tie). Hours without stay time are *unknown*; they are
      left out and the known hours concatenated in time order (the sequence is what
      was observed, in order; no place is guessed for a gap). Song et al. (2010) kept
      only users whose share ``q`` of unknown hours was below 0.8; here every subject
      gets the figures, and a reader should weigh them by the known hours. With many
      unknown hours the sequence loses its daily period and ``entropy_real`` rises.
    - ``regularity``: the share of known hours whose place is the place most likely for
      their weekday-hour (highest ``share`` in ``life_routine``, the smaller id on a
      tie): in-sample, as Song et al.'s R; one week observed gives 1 by construction.
    - ``entropy_random``: ``log2 N``, ``N`` the distinct places of the hourly sequence
      (which may be fewer than ``places``: a place never the main one of an hour).
    - ``entropy_uncorrelated``: ``-sum p_j log2 p_j``, ``p_j`` the share of known hours
      at place ``j``.
    - ``entropy_real``: the Lempel-Ziv estimator of Kontoyiannis et al. (1998) on the
      sequence, ``n log2 n / sum_i Lambda_i``, where ``Lambda_i`` is the length of the
      shortest substring starting at ``i`` that does not occur inside positions
      ``0 .. i-1`` (``n - i + 1`` when the rest of the sequence does occur there); logs
      in base 2 throughout, as Xu et al. (2019) require. NULL below
      :data:`MIN_SEQUENCE_HOURS` known hours.
    - ``predictability_max``: Fano's bound, the ``Pi`` in ``[1/N, 1]`` solving
      ``S = H(Pi) + (1 - Pi) log2(N - 1)``, ``H`` the binary entropy and ``S`` the real
      entropy (1 when ``N = 1``; ``1/N`` when ``S >= log2 N``, which the estimator can
      give for short sequences).

All entropies are in bits. The Lempel-Ziv sums run in a compiled kernel (numba, loaded
on first use) over every subject's sequence, on all cores. Every floating-point sum
(the entropies, the radius of gyration) is made in a fixed order, so a rebuild on the
same stays gives the same bits (a parallel SQL sum need not).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from tessera.engines.base import literal, quote
from tessera.errors import StageError
from tessera.life import tables
from tessera.life.settings import local_timezone, utc_offset_sql

if TYPE_CHECKING:
    import pyarrow as pa

    from tessera.engines.base import Engine, TempFn

ROUTINE = tables.ROUTINE
PROFILE = tables.PROFILE


EARTH_RADIUS_M = 6_371_000.0
# a radius of gyration under this is reported as 0 (module docstring)
ROG_FLOOR_M = 1e-3
# entropy_real (and predictability_max) need at least this many known hours
MIN_SEQUENCE_HOURS = 24

# temporary tables shared with tessera.life.anomaly
CODES = "_life_code"  # code BIGINT, subject, subject_kind
SLICES = "_life_slices"  # code, stay_id, place_id, e, a, b, seconds (see slices_sql)
CALENDAR = "_life_calendar"  # e, day, dow, hour, wk: the local labels of each hour slot
SLOT_PLACE = "_life_slot_place"  # code, e, day, dow, hour, wk, place_id, seconds

_KERNEL: list[Any] = []
_SLOT_KERNELS: dict[str, Any] = {}


def prepare_codes(temp: TempFn, sources: Sequence[str]) -> None:
    """Temporary :data:`CODES`: a number for every (subject, subject_kind) of the
    ``sources`` tables, in (subject_kind, subject) order; the work is done on numbers
    and the names joined back at the end."""
    union = " UNION ".join(
        f"SELECT DISTINCT subject, subject_kind FROM {quote(t)}" for t in sources
    )
    temp(
        CODES,
        "SELECT CAST(row_number() OVER (ORDER BY subject_kind, subject) - 1 AS BIGINT) AS code, "
        f"subject, subject_kind FROM ({union}) u",
    )


def slices_sql(zone: str, stays: str = tables.STAY) -> str:
    """One row per stay of ``stays`` and local clock hour it covers (needs :data:`CODES`).

    Columns: ``code`` (the subject), stay_id, place_id, ``e`` (epoch seconds at which the
    local hour starts), ``a`` and ``b`` (epoch seconds where the stay's part in that hour
    starts and ends) and ``seconds`` (``b - a``). Cuts fall where ``zone``'s wall clock
    shows a full hour; the zone's offset within the hour (half-hour zones) is taken at
    each stay's start.
    """
    return f"""
WITH s AS (
  SELECT c.code, st.stay_id, st.place_id,
         epoch(st.started_at) AS t0, epoch(st.finished_at) AS t1,
         (({utc_offset_sql(zone, "st.started_at")} % 3600) + 3600) % 3600 AS sub
  FROM {quote(stays)} st
  JOIN {CODES} c ON c.subject = st.subject AND c.subject_kind = st.subject_kind
  WHERE st.finished_at > st.started_at
), k AS (
  SELECT code, stay_id, place_id, t0, t1, sub,
         unnest(range(CAST(floor((t0 + sub) / 3600) AS BIGINT),
                      CAST(ceil((t1 + sub) / 3600) AS BIGINT))) AS k
  FROM s
), c AS (
  SELECT code, stay_id, place_id, k * 3600 - sub AS e,
         greatest(t0, k * 3600 - sub) AS a, least(t1, (k + 1) * 3600 - sub) AS b
  FROM k
)
SELECT code, stay_id, place_id, e, a, b, b - a AS seconds FROM c WHERE b > a
"""


def calendar_sql(zone: str, slots: str) -> str:
    """The local ``day`` (DATE), ``dow`` (0 = Monday), ``hour`` and ``wk`` (Saturday or
    Sunday) of every hour start ``e`` (epoch seconds) from the first to the last of table
    ``slots``, and of any other ``e`` it holds."""
    z = literal(zone)
    return f"""
WITH b AS (SELECT min(e) AS e0, max(e) AS e1 FROM {slots}),
d AS (SELECT unnest(range(e0, e1 + 3600, 3600)) AS e FROM b WHERE e0 IS NOT NULL
      UNION SELECT DISTINCT e FROM {slots}),
l AS (SELECT e, timezone({z}, to_timestamp(e)) AS t FROM d)
SELECT e, CAST(t AS DATE) AS day, CAST(isodow(t) - 1 AS SMALLINT) AS dow,
       CAST(hour(t) AS SMALLINT) AS hour, isodow(t) >= 6 AS wk
FROM l
"""


def prepare_slices(temp: TempFn, zone: str, stays: str = tables.STAY) -> None:
    """Temporary :data:`SLICES`, :data:`CALENDAR` and :data:`SLOT_PLACE` (the seconds at
    each place in each local hour of each subject) from ``stays``; needs :data:`CODES`."""
    temp(SLICES, slices_sql(zone, stays))
    temp(CALENDAR, calendar_sql(zone, SLICES))
    temp(
        SLOT_PLACE,
        f"""
WITH g AS (SELECT code, e, place_id, sum(seconds) AS seconds FROM {SLICES}
           WHERE place_id IS NOT NULL GROUP BY code, e, place_id)
SELECT g.code, g.e, l.day, l.dow, l.hour, l.wk, g.place_id, g.seconds
FROM g JOIN {CALENDAR} l USING (e)
""",
    )


def routine(engine: Engine) -> dict[str, int]:
    """Write ``life_routine`` and ``life_profile`` from ``life_stay``; return row counts.

    The hour slices, the seconds per (subject, local hour, place) and the hourly
    sequence are made by a compiled pass over the stays in (subject, time) order
    (:func:`_slots`), the same figures :func:`prepare_slices` gives in SQL; the
    weekly sums, shares and profile figures are SQL."""
    zone = local_timezone(engine)
    with engine.temp_tables() as temp:
        prepare_codes(temp, [tables.STAY])
        seq_code, seq_place, weekly = _slots(engine, temp, zone)
        engine.create_temp_table("_life_rt", weekly.schema)
        engine.append_arrow("_life_rt", weekly)
        n_routine = _write_routine(engine, weekly)
        del weekly
        n_profile = _profile(engine, temp, seq_code, seq_place)
    return {ROUTINE: n_routine, PROFILE: n_profile}


def _write_routine(engine: Engine, weekly: pa.Table, rows_per_append: int = 2_000_000) -> int:
    """Write :data:`ROUTINE` from the weekly table of :func:`_slots`, already in (code,
    place_id, dow, hour) order (no sort), with the subjects' names taken by code from
    :data:`CODES` (numbered 0 .. n - 1), ``rows_per_append`` rows at a time."""
    import pyarrow as pa

    names = engine.fetch_arrow(f"SELECT code, subject, subject_kind FROM {CODES} ORDER BY code")
    if not np.array_equal(names.column("code").to_numpy(), np.arange(names.num_rows)):
        raise StageError(f"routine: {CODES} does not number the subjects 0 .. n - 1")
    subject = names.column("subject").combine_chunks()
    kind = names.column("subject_kind").combine_chunks()
    engine.execute(f"CREATE OR REPLACE TABLE {quote(ROUTINE)} ({tables.COLUMNS[ROUTINE]})")
    for lo in range(0, weekly.num_rows, rows_per_append):
        part = weekly.slice(lo, rows_per_append)
        at = part.column("code").combine_chunks()
        engine.append_arrow(
            ROUTINE,
            pa.table(
                {
                    "subject": subject.take(at),
                    "subject_kind": kind.take(at),
                    "place_id": part.column("place_id"),
                    "dow": part.column("dow"),
                    "hour": part.column("hour"),
                    "seconds": part.column("seconds"),
                    "share": part.column("share"),
                }
            ),
        )
    return int(weekly.num_rows)


def _slot_kernels() -> dict[str, Any]:
    """The compiled hour slicer, slot aggregator and day counter (see :func:`_slots`)."""
    if _SLOT_KERNELS:
        return _SLOT_KERNELS
    from tessera.life.kernels import jit

    @jit
    def cut(
        code: np.ndarray, place: np.ndarray, t0: np.ndarray, t1: np.ndarray, sub: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
        # code, place, hour start e and seconds of every (stay, local hour) with b > a,
        # as slices_sql cuts them; and whether they come in (code, e) order
        n = len(t0)
        total = 0
        for i in range(n):
            total += int(np.ceil((t1[i] + sub[i]) / 3600)) - int(np.floor((t0[i] + sub[i]) / 3600))
        o_code = np.empty(total, dtype=np.int64)
        o_place = np.empty(total, dtype=np.int64)
        o_e = np.empty(total, dtype=np.int64)
        o_sec = np.empty(total, dtype=np.float64)
        m = 0
        ordered = True
        for i in range(n):
            k0 = int(np.floor((t0[i] + sub[i]) / 3600))
            k1 = int(np.ceil((t1[i] + sub[i]) / 3600))
            for k in range(k0, k1):
                start = k * 3600 - sub[i]
                a = max(t0[i], float(start))
                b = min(t1[i], float((k + 1) * 3600 - sub[i]))
                if b > a:
                    if m > 0 and (
                        o_code[m - 1] > code[i] or (o_code[m - 1] == code[i] and o_e[m - 1] > start)
                    ):
                        ordered = False
                    o_code[m] = code[i]
                    o_place[m] = place[i]
                    o_e[m] = start
                    o_sec[m] = b - a
                    m += 1
        return o_code[:m], o_place[:m], o_e[:m], o_sec[:m], ordered

    @jit
    def slots(
        code: np.ndarray,
        e: np.ndarray,
        place: np.ndarray,
        seconds: np.ndarray,
        cal_e: np.ndarray,
        cal_slot: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        # slices sorted by (code, e), place -1 for none. Per (code, e) with a place:
        # the seconds at each place (summed in slice order) and the main place (most
        # seconds, the smaller place on a tie): first row of the hour, main place.
        # Per code: those seconds summed over the weeks per (place, weekday-hour slot,
        # cal_slot of the hour start looked up in the sorted cal_e) and their share of
        # the slot's total over places, in (code, place, slot) order. Two passes (count,
        # then fill) so that the outputs are allocated at their size.
        n = len(code)
        hp = np.empty(16, dtype=np.int64)
        hs = np.empty(16, dtype=np.float64)
        g_row = np.empty(0, dtype=np.int64)
        g_main = np.empty(0, dtype=np.int64)
        w_code = np.empty(0, dtype=np.int64)
        w_place = np.empty(0, dtype=np.int64)
        w_slot = np.empty(0, dtype=np.int64)
        w_sec = np.empty(0, dtype=np.float64)
        w_share = np.empty(0, dtype=np.float64)
        n_grp = 0
        n_week = 0
        for fill in range(2):
            if fill == 1:
                g_row = np.empty(n_grp, dtype=np.int64)
                g_main = np.empty(n_grp, dtype=np.int64)
                w_code = np.empty(n_week, dtype=np.int64)
                w_place = np.empty(n_week, dtype=np.int64)
                w_slot = np.empty(n_week, dtype=np.int64)
                w_sec = np.empty(n_week, dtype=np.float64)
                w_share = np.empty(n_week, dtype=np.float64)
            g = 0
            k = 0
            i = 0
            while i < n:
                end = i
                while end < n and code[end] == code[i]:
                    end += 1
                places = np.unique(place[i:end])
                if len(places) > 0 and places[0] < 0:
                    places = places[1:]
                m = len(places)
                acc = np.zeros(m * 168)
                cnt = np.zeros(m * 168, dtype=np.int64)
                j = i
                while j < end:
                    stop = j
                    while stop < end and e[stop] == e[j]:
                        stop += 1
                    h = 0
                    for r in range(j, stop):
                        if place[r] < 0:
                            continue
                        q = 0
                        while q < h and hp[q] != place[r]:
                            q += 1
                        if q == h:
                            if h == len(hp):
                                hp = np.concatenate((hp, np.empty(h, dtype=np.int64)))
                                hs = np.concatenate((hs, np.empty(h, dtype=np.float64)))
                            hp[h] = place[r]
                            hs[h] = seconds[r]
                            h += 1
                        else:
                            hs[q] += seconds[r]
                    if h > 0:
                        # insertion sort by place (a handful of places per hour)
                        for q in range(1, h):
                            p, v = hp[q], hs[q]
                            r = q - 1
                            while r >= 0 and hp[r] > p:
                                hp[r + 1] = hp[r]
                                hs[r + 1] = hs[r]
                                r -= 1
                            hp[r + 1] = p
                            hs[r + 1] = v
                        best = 0
                        for q in range(1, h):
                            if hs[q] > hs[best]:
                                best = q
                        if fill == 1:
                            g_row[g] = j
                            g_main[g] = hp[best]
                        g += 1
                        slot = cal_slot[np.searchsorted(cal_e, e[j])]
                        for q in range(h):
                            x = np.searchsorted(places, hp[q]) * 168 + slot
                            acc[x] += hs[q]
                            cnt[x] += 1
                    j = stop
                if fill == 0:
                    for x in range(m * 168):
                        if cnt[x] > 0:
                            k += 1
                else:
                    total = np.zeros(168)
                    for q in range(m):
                        for x in range(168):
                            if cnt[q * 168 + x] > 0:
                                total[x] += acc[q * 168 + x]
                    for q in range(m):
                        for x in range(168):
                            if cnt[q * 168 + x] > 0:
                                w_code[k] = code[i]
                                w_place[k] = places[q]
                                w_slot[k] = x
                                w_sec[k] = acc[q * 168 + x]
                                w_share[k] = acc[q * 168 + x] / total[x]
                                k += 1
                i = end
            n_grp = g
            n_week = k
        return g_row, g_main, w_code, w_place, w_slot, w_sec, w_share

    @jit
    def days(
        code: np.ndarray, e: np.ndarray, cal_e: np.ndarray, cal_d: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        # distinct local dates (cal_d of the hour start, looked up in the sorted cal_e)
        # of each code's slices, which lie together
        n = len(code)
        o_code = np.empty(n, dtype=np.int64)
        o_days = np.empty(n, dtype=np.int64)
        k = 0
        i = 0
        while i < n:
            end = i
            while end < n and code[end] == code[i]:
                end += 1
            d = np.sort(cal_d[np.searchsorted(cal_e, e[i:end])])
            count = 1
            for j in range(1, len(d)):
                if d[j] != d[j - 1]:
                    count += 1
            o_code[k] = code[i]
            o_days[k] = count
            k += 1
            i = end
        return o_code[:k].copy(), o_days[:k].copy()

    _SLOT_KERNELS.update(cut=cut, slots=slots, days=days)
    return _SLOT_KERNELS


def _slots(engine: Engine, temp: TempFn, zone: str) -> tuple[np.ndarray, np.ndarray, pa.Table]:
    """:data:`CALENDAR` for the stays' hours, ``_life_seq`` (code, e, dow, hour,
    place_id: the hourly sequence) and ``_life_days`` (code, days: local dates with any
    stay time), as :func:`prepare_slices` and the SQL of the sequence define them, from
    compiled passes over the stays in (subject, time) order. Returns the sequence's
    subject codes and places, in (code, e) order, and the weekly table (code, place_id,
    dow, hour, seconds, share: the seconds at each place in each local hour, as
    :data:`SLOT_PLACE` has them, summed over the weeks per weekday-hour, and the shares
    of the module docstring) in (code, place_id, dow, hour) order. The per-hour
    seconds are never written to a table: the weekly sums are made from them here."""
    import pyarrow as pa

    st = engine.fetch_arrow(
        f"SELECT c.code, coalesce(st.place_id, -1) AS place_id, epoch(st.started_at) AS t0, "
        f"epoch(st.finished_at) AS t1, st.lat, st.lon, "
        f"(({utc_offset_sql(zone, 'st.started_at')} % 3600) + 3600) % 3600 AS sub "
        f"FROM {quote(tables.STAY)} st "
        f"JOIN {CODES} c ON c.subject = st.subject AND c.subject_kind = st.subject_kind "
        f"WHERE st.finished_at > st.started_at ORDER BY c.code, t0, st.stay_id"
    )
    k = _slot_kernels()
    code, place, e, seconds, ordered = k["cut"](
        *(st.column(c).to_numpy().astype(np.int64) for c in ("code", "place_id")),
        *(st.column(c).to_numpy().astype(np.float64) for c in ("t0", "t1")),
        st.column("sub").to_numpy().astype(np.int64),
    )
    rog = _gyration(st)
    del st
    # stays of a subject do not overlap, so their slices come in (code, e) order; sort
    # where they do not
    if not ordered:
        order = np.lexsort((e, code))
        code, e, place, seconds = code[order], e[order], place[order], seconds[order]
        del order
    # the local date, weekday and hour of every hour start
    engine.create_temp_table("_life_hour", pa.schema([("e", pa.int64())]))
    engine.append_arrow("_life_hour", pa.table({"e": pa.array(np.unique(e), pa.int64())}))
    temp(CALENDAR, calendar_sql(zone, "_life_hour"))
    cal = engine.fetch_arrow(f"SELECT e, epoch(day) AS d, dow, hour FROM {CALENDAR} ORDER BY e")
    cal_e = cal.column("e").to_numpy().astype(np.int64)
    cal_slot = cal.column("dow").to_numpy().astype(np.int64) * 24 + cal.column(
        "hour"
    ).to_numpy().astype(np.int64)
    g_row, g_main, w_code, w_place, w_slot, w_sec, w_share = k["slots"](
        code, e, place, seconds, cal_e, cal_slot
    )
    del place, seconds
    weekly = pa.table(
        {
            "code": w_code,
            "place_id": w_place,
            "dow": pa.array(w_slot // 24, pa.int16()),
            "hour": pa.array(w_slot % 24, pa.int16()),
            "seconds": w_sec,
            "share": w_share,
        }
    )
    del w_code, w_place, w_slot, w_sec, w_share
    # local dates with any stay time per subject (the calendar covers every e)
    d_code, d_days = k["days"](code, e, cal_e, cal.column("d").to_numpy().astype(np.int64) // 86400)
    seq_code, seq_e = code[g_row], e[g_row]
    del code, e, g_row
    tbl = {
        "_life_seq_raw": pa.table({"code": seq_code, "e": seq_e, "place_id": g_main}),
        "_life_days": pa.table({"code": d_code, "days": d_days}),
        "_life_rog": rog,
    }
    for name, data in tbl.items():
        engine.create_temp_table(name, data.schema)
        engine.append_arrow(name, data)
    temp(
        "_life_seq",
        f"SELECT q.code, q.e, l.dow, l.hour, q.place_id FROM _life_seq_raw q "
        f"JOIN {CALENDAR} l USING (e)",
    )
    return seq_code, g_main, weekly


def _profile(engine: Engine, temp: TempFn, seq_code: np.ndarray, seq_place: np.ndarray) -> int:
    # the hourly sequence (_life_seq: the main place of each local hour with stay time
    # at a place) is made by _slots. Sums over floating-point values (the entropies,
    # the radius of gyration) are made here in a fixed order, not by a parallel SQL
    # aggregate, so that a rebuild gives the same bits.
    import pyarrow as pa

    code = seq_code
    symbol = _dense_ranks(seq_code, seq_place)
    s_code, starts = np.unique(code, return_index=True)
    starts = starts.astype(np.int64)
    ends = np.append(starts[1:], len(code)).astype(np.int64)[: len(starts)]
    hours = ends - starts
    n_places, uncorrelated = _symbol_entropies(code, symbol, s_code)
    real = real_entropies(symbol, starts, ends, n_places)
    real[hours < MIN_SEQUENCE_HOURS] = np.nan
    pi = fano_predictability(real, n_places)
    seq_t = pa.table(
        {
            "code": pa.array(s_code, pa.int64()),
            "n_places": pa.array(n_places, pa.int64()),
            "entropy_uncorrelated": pa.array(uncorrelated, pa.float64()),
            "entropy_real": pa.array(real, pa.float64(), from_pandas=True),
            "predictability_max": pa.array(pi, pa.float64(), from_pandas=True),
        }
    )
    engine.register_arrow("_life_real", seq_t)
    try:
        return engine.materialise(
            PROFILE,
            f"""
WITH days AS (
  SELECT code, days FROM _life_days
), places AS (
  SELECT c.code, count(DISTINCT s.place_id) AS places FROM {quote(tables.STAY)} s
  JOIN {CODES} c ON c.subject = s.subject AND c.subject_kind = s.subject_kind
  GROUP BY c.code
), modal AS (
  SELECT code, dow, hour, arg_max(place_id, {{'s': seconds, 'p': -place_id}}) AS place_id
  FROM _life_rt GROUP BY code, dow, hour
), reg AS (
  SELECT q.code, avg(CASE WHEN q.place_id = m.place_id THEN 1.0 ELSE 0.0 END) AS regularity
  FROM _life_seq q JOIN modal m USING (code, dow, hour) GROUP BY q.code
)
SELECT c.subject, c.subject_kind, CAST(coalesce(d.days, 0) AS INTEGER) AS days_observed,
       CAST(coalesce(p.places, 0) AS INTEGER) AS places,
       CAST(g.rog AS DOUBLE) AS radius_of_gyration_m, CAST(reg.regularity AS DOUBLE) AS regularity,
       CAST(CASE WHEN r.n_places > 0 THEN log2(r.n_places) END AS DOUBLE) AS entropy_random,
       CAST(r.entropy_uncorrelated AS DOUBLE) AS entropy_uncorrelated,
       CAST(r.entropy_real AS DOUBLE) AS entropy_real,
       CAST(r.predictability_max AS DOUBLE) AS predictability_max
FROM {CODES} c
LEFT JOIN days d USING (code)
LEFT JOIN places p USING (code)
LEFT JOIN _life_rog g USING (code)
LEFT JOIN reg USING (code)
LEFT JOIN _life_real r USING (code)
ORDER BY c.code
""",
        )
    finally:
        engine.unregister("_life_real")


def _symbol_entropies(
    code: np.ndarray, symbol: np.ndarray, codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``codes`` (the sorted distinct values of ``code``): the number of
    distinct symbols in its sequence and ``-sum p_j log2 p_j`` over their shares, summed
    in symbol order (the same bits on every run)."""
    if len(code) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    order = np.lexsort((symbol, code))
    c, s = code[order], symbol[order]
    new = np.r_[True, (c[1:] != c[:-1]) | (s[1:] != s[:-1])]
    run_start = np.flatnonzero(new)
    counts = np.diff(np.append(run_start, len(c))).astype(np.float64)
    run_code = c[run_start]
    group = np.searchsorted(codes, run_code)
    total = np.bincount(group, weights=counts, minlength=len(codes))
    p = counts / total[group]
    terms = -p * np.log2(p)
    first = np.searchsorted(run_code, codes)
    n_places = np.diff(np.append(first, len(run_code))).astype(np.int64)
    return n_places, np.add.reduceat(terms, first)


def _gyration(st: pa.Table) -> pa.Table:
    """(code, rog): each subject's radius of gyration over its located stays (module
    docstring), from the stays of :func:`_slots` (code, t0, t1, lat, lon, in (code,
    t0, stay_id) order), summed in that order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    st = st.filter(pc.and_(pc.is_valid(st.column("lat")), pc.is_valid(st.column("lon"))))
    code = st.column("code").to_numpy().astype(np.int64)
    if len(code) == 0:
        return pa.table({"code": pa.array([], pa.int64()), "rog": pa.array([], pa.float64())})
    lat, lon, t0, t1 = (
        st.column(k).to_numpy().astype(np.float64) for k in ("lat", "lon", "t0", "t1")
    )
    w = t1 - t0
    codes, first = np.unique(code, return_index=True)
    group = np.repeat(np.arange(len(codes)), np.diff(np.append(first, len(code))))
    tw = np.add.reduceat(w, first)
    clat = (np.add.reduceat(w * lat, first) / tw)[group]
    clon = (np.add.reduceat(w * lon, first) / tw)[group]
    r = EARTH_RADIUS_M
    d2 = (np.radians(lat - clat) * r) ** 2 + (
        np.radians(lon - clon) * np.cos(np.radians(clat)) * r
    ) ** 2
    rog = np.sqrt(np.add.reduceat(w * d2, first) / tw)
    # one unit in the last place of a latitude is ~1e-9 m: below a millimetre the
    # radius is the noise of the coordinates' sums, and differs between engines
    rog[rog < ROG_FLOOR_M] = 0.0
    return pa.table({"code": pa.array(codes, pa.int64()), "rog": pa.array(rog, pa.float64())})


# -- entropy and predictability -------------------------------------------------------


def _lz_kernel() -> Any:
    """The compiled Lempel-Ziv kernel ``(symbols, alphabet, starts, ends, out, lo, hi)``."""
    if _KERNEL:
        return _KERNEL[0]
    from tessera.life.kernels import jit

    @jit
    def lz(
        symbols: np.ndarray,
        alphabet: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        out: np.ndarray,
        lo: int,
        hi: int,
    ) -> None:
        # For each sequence g in [lo, hi), of symbols 0 .. alphabet[g] - 1: a suffix
        # automaton of the prefix s[0:i] is grown one symbol at a time; Lambda_i - 1 is
        # how far s[i:] can be walked in it, i.e. the longest match of the text at i
        # lying wholly in s[0:i]. The cost is the automaton (linear) plus the sum of
        # the Lambda_i, about n log2(n) / S for a sequence of entropy S.
        for g in range(lo, hi):
            a = starts[g]
            n = ends[g] - a
            if n <= 0:
                out[g] = np.nan
                continue
            k = max(alphabet[g], 1)
            trans = np.full((2 * n + 1, k), -1, dtype=np.int32)
            link = np.full(2 * n + 1, -1, dtype=np.int32)
            length = np.zeros(2 * n + 1, dtype=np.int32)
            size = 1
            last = 0
            total = 0
            for i in range(n):
                # walk the rest of the text in the automaton of s[0:i]
                state = 0
                m = 0
                while i + m < n:
                    nxt = trans[state, symbols[a + i + m]]
                    if nxt < 0:
                        break
                    state = nxt
                    m += 1
                total += m + 1
                # extend the automaton with s[i]
                c = symbols[a + i]
                cur = size
                size += 1
                length[cur] = length[last] + 1
                p = last
                while p != -1 and trans[p, c] == -1:
                    trans[p, c] = cur
                    p = link[p]
                if p == -1:
                    link[cur] = 0
                else:
                    q = trans[p, c]
                    if length[p] + 1 == length[q]:
                        link[cur] = q
                    else:
                        clone = size
                        size += 1
                        length[clone] = length[p] + 1
                        for x in range(k):
                            trans[clone, x] = trans[q, x]
                        link[clone] = link[q]
                        while p != -1 and trans[p, c] == q:
                            trans[p, c] = clone
                            p = link[p]
                        link[q] = clone
                        link[cur] = clone
                last = cur
            out[g] = n * np.log2(n) / total

    _KERNEL.append(lz)
    return lz


def real_entropies(
    values: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    alphabet: np.ndarray | None = None,
) -> np.ndarray:
    """The Lempel-Ziv real entropy (bits) of each sequence ``values[starts[g]:ends[g]]``
    (see the module docstring); NaN for an empty one. Runs on all cores.

    Any integers will do as values; with ``alphabet`` the values of sequence ``g`` must
    already be ``0 .. alphabet[g] - 1`` (as the stage numbers them in SQL), which saves
    renumbering them here."""
    st = np.ascontiguousarray(starts, dtype=np.int64)
    en = np.ascontiguousarray(ends, dtype=np.int64)
    if len(st) != len(en):
        raise ValueError("real_entropies: starts and ends differ in length")
    out = np.full(len(st), np.nan)
    if len(st) == 0:
        return out
    lengths = en - st
    if (lengths < 0).any() or st.min() < 0 or en.max() > len(values):
        raise ValueError("real_entropies: every sequence must lie within values")
    if alphabet is None:
        symbols, alpha = _renumber(np.asarray(values, dtype=np.int64), st, en)
        st = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        en = st + lengths
    else:
        symbols = np.ascontiguousarray(values, dtype=np.int32)
        alpha = np.ascontiguousarray(alphabet, dtype=np.int64)
        if len(alpha) != len(st):
            raise ValueError("real_entropies: one alphabet size per sequence is needed")
    kernel = _lz_kernel()
    # chunks of about equal work, two per core
    work = np.cumsum(lengths.astype(np.float64) * np.log2(np.maximum(lengths, 2)))
    workers = max(1, os.cpu_count() or 1)
    pieces = min(len(st), 2 * workers)
    cuts = np.searchsorted(work, np.linspace(0, work[-1], pieces + 1)[1:-1], side="right")
    bounds = [0, *sorted({int(c) for c in cuts}), len(st)]
    spans = [(lo, hi) for lo, hi in pairwise(bounds) if hi > lo]
    if len(spans) == 1 or workers == 1:
        for lo, hi in spans:
            kernel(symbols, alpha, st, en, out, lo, hi)
        return out
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(kernel, symbols, alpha, st, en, out, lo, hi) for lo, hi in spans]
        for f in futures:
            f.result()
    return out


def _renumber(
    values: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The sequences laid end to end with their values renumbered ``0 .. k-1`` within
    each, and each one's ``k``."""
    lengths = ends - starts
    group = np.repeat(np.arange(len(starts), dtype=np.int64), lengths)
    taken = np.concatenate([values[s:e] for s, e in zip(starts, ends, strict=True)])
    _, rank = np.unique(taken, return_inverse=True)
    width = int(rank.max(initial=0)) + 1
    pairs, local = np.unique(group * width + rank, return_inverse=True)
    first = np.searchsorted(pairs // width, np.arange(len(starts)))
    symbols = (local - first[group]).astype(np.int32)
    alphabet = np.diff(np.append(first, len(pairs))).astype(np.int64)
    return symbols, alphabet


def real_entropy(sequence: Sequence[int] | np.ndarray) -> float:
    """The Lempel-Ziv real entropy (bits) of one sequence of place ids."""
    vals = np.asarray(sequence, dtype=np.int64)
    out = real_entropies(vals, np.array([0]), np.array([len(vals)]))
    return float(out[0])


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    q = 1.0 - p
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log2(p), 0.0) - np.where(q > 0, q * np.log2(q), 0.0)
    return np.asarray(h)


def fano_predictability(entropy: Any, n_places: Any) -> np.ndarray:
    """Fano's upper bound on predictability: ``Pi`` in ``[1/N, 1]`` solving
    ``S = H(Pi) + (1 - Pi) log2(N - 1)`` (Song et al. 2010), element-wise, by bisection
    to 1e-12. 1 where ``N <= 1`` or ``S <= 0``; ``1/N`` where ``S >= log2 N``; NaN where
    ``S`` or ``N`` is NaN."""
    s = np.atleast_1d(np.asarray(entropy, dtype=np.float64))
    n = np.atleast_1d(np.asarray(n_places, dtype=np.float64))
    s, n = np.broadcast_arrays(s, n)
    out = np.full(s.shape, np.nan)
    ok = np.isfinite(s) & np.isfinite(n)
    one = ok & ((n <= 1) | (s <= 0))
    out[one] = 1.0
    top = ok & ~one & (s >= np.log2(np.maximum(n, 1)))
    out[top] = 1.0 / n[top]
    solve = ok & ~one & ~top
    if solve.any():
        ss, nn = s[solve], n[solve]
        lo, hi = 1.0 / nn, np.ones_like(nn)
        log_rest = np.log2(np.maximum(nn - 1, 1))
        for _ in range(60):
            mid = (lo + hi) / 2
            f = _binary_entropy(mid) + (1 - mid) * log_rest - ss
            # f decreases in Pi on [1/N, 1]: positive means Pi lies above mid
            lo = np.where(f > 0, mid, lo)
            hi = np.where(f > 0, hi, mid)
        out[solve] = (lo + hi) / 2
    return out


def fano_entropy(pi: float, n_places: int) -> float:
    """The entropy (bits) at which Fano's bound is ``pi`` for ``n_places`` places: the
    inverse of :func:`fano_predictability`."""
    if not (0.0 <= pi <= 1.0):
        raise ValueError(f"fano_entropy: pi must be in [0, 1], got {pi}")
    h = float(_binary_entropy(np.array([pi]))[0])
    return h + (1 - pi) * math.log2(max(n_places - 1, 1))


def _dense_ranks(code: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``dense_rank() - 1`` of each value among its code's values (int32): the values of
    each code numbered ``0 .. k-1`` in increasing order."""
    if len(code) == 0:
        return np.zeros(0, dtype=np.int32)
    order = np.lexsort((values, code))
    c, v = code[order], values[order]
    new_code = np.r_[True, c[1:] != c[:-1]]
    new_value = new_code | np.r_[True, v[1:] != v[:-1]]
    count = np.cumsum(new_value)
    # rank within the code: distinct values so far less those before the code began
    base = np.maximum.accumulate(np.where(new_code, count, 0))
    ranks = np.empty(len(code), dtype=np.int32)
    ranks[order] = count - base
    return ranks
