"""Stays and significant places from every observation of a subject.

A subject's observations are the events of all its devices (``link_device_person``
puts a person's devices, second phones included, together; a device attributed to no
one is its own subject): cell events placed at their sector's mean serving position
(:mod:`tessera.life.coverage`) with the sector's spread as uncertainty, and GPS-grade
fixes at their own position.

**Stays** (:func:`tessera.life.kernels.segment`): in time order, a stay grows from an
anchor observation while later ones lie within ``STAY_DIST_M`` plus both
uncertainties of the anchor; one stray observation followed within ``PATIENCE_S`` by
one back near the anchor is tower ping-pong and does not end it; a silence longer than
``STAY_GAP_S`` does (a phone switched off for the night at home still gives one stay,
since the observations before and after agree). A stay needs ``STAY_TIME_S`` between
its first and last observation. Its start and end are moved half way towards the
neighbouring observations outside it, by at most ``EDGE_S``.

**Places** (:func:`tessera.life.kernels.cluster`): a subject's stays, heaviest first,
join the nearest place within ``PLACE_RADIUS_M`` of its weighted centroid or found a
new one. Where each place is exactly is decided in :mod:`tessera.life.places` from all
its observations together.

Work is done in chunks of whole subjects (about ``CHUNK_EVENTS`` observations each),
so memory stays bounded however many events there are. Every observation is keyed once
into a narrow table of integers and times (subject code, time, obs_id, source number,
sector number); a chunk is read back in (subject, time, obs_id) order and its positions
filled in from the sector table, or for GPS-grade fixes from the events themselves. The
stays, their places and the place-sector support (:func:`tessera.life.kernels.support`)
are computed on arrays, and the per-stay source lists taken from a dictionary of the
few distinct source sets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from tessera.engines.base import literal
from tessera.errors import StageError
from tessera.life import tables
from tessera.life.coverage import SECTORS
from tessera.link.cotravel import DEVICES
from tessera.link.keys import device_events_sql

if TYPE_CHECKING:
    from tessera.engines.base import Engine, TempFn

STAY_DIST_M = 150.0
STAY_TIME_S = 600.0
STAY_GAP_S = 12 * 3600.0
PATIENCE_S = 1800.0
EDGE_S = 1800.0
PLACE_RADIUS_M = 300.0
GPS_UNC_M = 30.0
SECTOR_UNC_M = (100.0, 600.0)
CHUNK_EVENTS = 4_000_000
# Place-sector support is counted in distinct buckets of this many seconds.
BUCKET_S = 1800
# place_id = subject code * PLACE_SPACE + the subject's place number
PLACE_SPACE = 1 << 20

# Temporary tables the places step reads (see tessera.life.places).
PLACE_SECTORS = "_life_place_sector"  # place_id, sec (sector number), n
SECTOR_CODES = "_life_sector_code"  # sensor_id, sec (0 .. sectors - 1)
PLACE_GPS = "_life_place_gps"  # place_id, n, lat, lon
SUBJECTS = "_life_subject"  # code, subject, subject_kind, events

Progress = Callable[[str, int, int], None]


def events_sql() -> str:
    """Every located observation with its device key (``device``, ``t`` epoch seconds,
    ``sensor_id`` (null for fixes), ``lat``, ``lon``, ``unc`` metres, ``obs_id``,
    ``source``)."""
    lo, hi = SECTOR_UNC_M
    return f"""
WITH e AS ({device_events_sql()})
SELECT e.device, epoch(e.time) AS t, CASE WHEN e.lat IS NULL THEN e.sensor_id END AS sensor_id,
       coalesce(e.lat, s.lat) AS lat, coalesce(e.lon, s.lon) AS lon,
       CASE WHEN e.lat IS NOT NULL THEN {GPS_UNC_M}
            ELSE least(greatest(s.spread_m, {lo}), {hi}) END AS unc,
       e.obs_id, e.source
FROM e LEFT JOIN {SECTORS} s ON e.lat IS NULL AND s.sensor_id = e.sensor_id
WHERE coalesce(e.lat, s.lat) IS NOT NULL
"""


def _chunks(engine: Engine) -> list[tuple[int, int]]:
    """Subject code ranges [lo, hi] of about CHUNK_EVENTS observations each."""
    rows = engine.fetch_rows(f"SELECT code, events FROM {SUBJECTS} ORDER BY code")
    out: list[tuple[int, int]] = []
    lo, acc = 0, 0
    for code, events in rows:
        acc += int(events)
        if acc >= CHUNK_EVENTS:
            out.append((lo, int(code)))
            lo, acc = int(code) + 1, 0
    if rows and lo <= int(rows[-1][0]):
        out.append((lo, int(rows[-1][0])))
    return out


def _source_lists(masks: np.ndarray, sources: list[str]) -> pa.Array:
    """The list of source names of each bit mask (bit k: ``sources[k]``), built once
    per distinct mask and taken from that small dictionary."""
    uniq, index = np.unique(masks, return_inverse=True)
    names = pa.array(
        [[s for k, s in enumerate(sources) if m >> k & 1] for m in uniq.tolist()],
        pa.list_(pa.string()),
    )
    return names.take(pa.array(index.astype(np.int64), pa.int64()))


def _located(
    engine: Engine, lo: int, hi: int, sector_pos: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> pa.Table:
    """The observations of subject codes ``lo .. hi`` in (code, t, obs_id) order with
    their positions: a cell event at its sector's (``sector_pos``: lat, lon and
    uncertainty by sector number), a fix at its own with ``GPS_UNC_M``."""
    from tessera.life import kernels

    # read unordered (a filtered scan) and put in (code, t, obs_id) order by a compiled
    # counting sort: an ORDER BY here was the costliest part of the stage
    data = engine.fetch_arrow(
        "SELECT code, t, obs_id, src, sec FROM _life_keyed WHERE code BETWEEN ? AND ?",
        [lo, hi],
    )
    t = data.column("t").to_numpy()
    obs = data.column("obs_id").to_numpy()
    perm = kernels.order(data.column("code").to_numpy(), t, obs, lo, hi)
    code = data.column("code").to_numpy().astype(np.int64)[perm]
    t, obs = t[perm], obs[perm]
    src = data.column("src").to_numpy()[perm]
    sec = data.column("sec").to_numpy()[perm]
    del data, perm
    fix = sec < 0
    # a fix's row takes the last sector's values here and its own just below
    at = np.maximum(sec, 0)
    lat, lon, unc = (by_sector[at] for by_sector in sector_pos)
    del at
    if fix.any():
        fixes = engine.fetch_arrow(
            "SELECT f.lat, f.lon FROM _life_keyed k JOIN _life_fix f USING (obs_id) "
            "WHERE k.code BETWEEN ? AND ? AND k.sec < 0 ORDER BY k.code, k.t, k.obs_id",
            [lo, hi],
        )
        if fixes.num_rows != int(fix.sum()):
            raise StageError("stays: obs_device_event holds an obs_id more than once")
        lat[fix] = fixes.column("lat").to_numpy(zero_copy_only=False)
        lon[fix] = fixes.column("lon").to_numpy(zero_copy_only=False)
        unc[fix] = GPS_UNC_M
    return pa.table(
        {
            "code": code,
            "t": t,
            "lat": lat,
            "lon": lon,
            "unc": unc,
            "obs_id": obs,
            "src": src,
            "sec": sec,
        }
    )


def _stays_of_chunk(
    data: pa.Table, sources: list[str], n_sec: int, first_id: int
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Stays, place-sector support and GPS fixes per place of a chunk sorted by (code,
    t, obs_id)."""
    from tessera.life import kernels

    code = data.column("code").to_numpy()
    t = data.column("t").to_numpy().astype(np.float64)
    lat = data.column("lat").to_numpy()
    lon = data.column("lon").to_numpy()
    unc = data.column("unc").to_numpy()
    obs = data.column("obs_id").to_numpy()
    src = data.column("src").to_numpy()
    sec = data.column("sec").to_numpy()
    first, last = kernels.segment(
        code,
        t,
        lat,
        lon,
        unc,
        dist_threshold=STAY_DIST_M,
        time_threshold=STAY_TIME_S,
        gap_threshold=STAY_GAP_S,
        patience_s=PATIENCE_S,
    )
    n = last - first + 1
    # observations inside a stay (stays are disjoint: their bounds are distinct)
    member = np.zeros(len(t) + 1, dtype=np.int64)
    member[first] += 1
    member[last + 1] -= 1
    inside = np.cumsum(member[:-1]) > 0
    # precision-weighted position (members of a stay are contiguous: sums by reduceat)
    starts = np.cumsum(n) - n
    w = 1.0 / np.square(unc)
    wsum = np.add.reduceat(w[inside], starts)
    s_lat = np.add.reduceat((w * lat)[inside], starts) / wsum
    s_lon = np.add.reduceat((w * lon)[inside], starts) / wsum
    s_unc = np.add.reduceat((w * unc)[inside], starts) / wsum
    # bounds moved towards the neighbouring observations of the same subject
    prev_ok = (first > 0) & (code[np.maximum(first - 1, 0)] == code[first])
    next_ok = (last + 1 < len(t)) & (code[np.minimum(last + 1, len(t) - 1)] == code[last])
    lead = np.where(prev_ok, np.minimum((t[first] - t[np.maximum(first - 1, 0)]) / 2, EDGE_S), 0)
    trail = np.where(
        next_ok, np.minimum((t[np.minimum(last + 1, len(t) - 1)] - t[last]) / 2, EDGE_S), 0
    )
    started = t[first] - lead
    finished = t[last] + trail
    subj = code[first]
    place = kernels.cluster(subj, s_lat, s_lon, finished - started, PLACE_RADIUS_M)
    place_id = subj * PLACE_SPACE + place
    # sources of each stay as a bit mask
    mask = np.left_shift(1, src.astype(np.int64))
    bits = np.bitwise_or.reduceat(mask[inside], starts)
    offsets = np.r_[0, np.cumsum(n)].astype(np.int32)
    stays = pa.table(
        {
            "code": pa.array(subj, pa.int64()),
            "stay_id": pa.array(np.arange(first_id, first_id + len(first)), pa.int64()),
            "started": pa.array(started),
            "finished": pa.array(finished),
            "lat": pa.array(s_lat),
            "lon": pa.array(s_lon),
            "unc": pa.array(s_unc),
            "place_id": pa.array(place_id, pa.int64()),
            "n_obs": pa.array(n, pa.int32()),
            "sources": _source_lists(bits, sources),
            "obs_ids": pa.ListArray.from_arrays(
                pa.array(offsets, pa.int32()), pa.array(obs[inside], pa.int64())
            ),
        }
    )
    # support of each (place, sector): distinct half hours, counted by the kernel over
    # the cell observations in stays (in time order within each subject)
    ev_code = code[inside]
    ev_place = np.repeat(place, n)
    ev_sec = sec[inside]
    cell = ev_sec >= 0
    p_code, p_place, p_sec, counts = kernels.support(
        ev_code[cell],
        (t[inside][cell] // BUCKET_S).astype(np.int64),
        ev_place[cell],
        ev_sec[cell],
        n_sec,
    )
    place_sectors = pa.table(
        {
            "place_id": pa.array(p_code * PLACE_SPACE + p_place, pa.int64()),
            "sec": pa.array(p_sec, pa.int32()),
            "n": pa.array(counts, pa.int64()),
        }
    )
    gps = ~cell
    gp, inv, gn = np.unique(
        (ev_code * PLACE_SPACE + ev_place)[gps], return_inverse=True, return_counts=True
    )
    place_gps = pa.table(
        {
            "place_id": pa.array(gp, pa.int64()),
            "n": pa.array(gn, pa.int64()),
            "lat": pa.array(np.bincount(inv, lat[inside][gps], len(gp)) / np.maximum(gn, 1)),
            "lon": pa.array(np.bincount(inv, lon[inside][gps], len(gp)) / np.maximum(gn, 1)),
        }
    )
    return stays, place_sectors, place_gps


def _active_hours_of_chunk(data: pa.Table, sources: list[str]) -> pa.Table:
    """Events per (subject code, clock hour) with the sources seen in it, from a chunk
    sorted by (code, t): the rows of one (code, hour) lie together."""
    code = data.column("code").to_numpy().astype(np.int64)
    hour = np.floor(data.column("t").to_numpy() / 3600).astype(np.int64)
    src = data.column("src").to_numpy().astype(np.int64)
    # a run starts at the first row (if any) and wherever subject or hour changes
    new = np.r_[len(code) > 0, (code[1:] != code[:-1]) | (hour[1:] != hour[:-1])]
    starts = np.flatnonzero(new)
    events = np.diff(np.r_[starts, len(code)])
    masks = np.bitwise_or.reduceat(np.left_shift(1, src), starts)
    return pa.table(
        {
            "code": pa.array(code[starts], pa.int64()),
            "h": pa.array(hour[starts], pa.int64()),
            "events": pa.array(events, pa.int32()),
            "sources": _source_lists(masks, sources),
        }
    )


def detect(engine: Engine, temp: TempFn, progress: Progress | None = None) -> dict[str, int]:
    """Write :data:`tables.STAY` and :data:`tables.ACTIVE_HOUR`, and leave the temporary
    tables the places step reads (:data:`PLACE_SECTORS`, :data:`PLACE_GPS`,
    :data:`SUBJECTS`)."""
    # subjects: a person with all the devices attributed to them, or a device alone
    # (link_device lists every device key the events carry, with its event count)
    temp(
        "_life_device",
        "SELECT d.device, coalesce(p.person, d.device) AS subject, "
        "CASE WHEN p.person IS NULL THEN 'device' ELSE 'person' END AS subject_kind, d.events "
        f"FROM {DEVICES} d LEFT JOIN link_device_person p USING (device)",
    )
    temp(
        SUBJECTS,
        "SELECT row_number() OVER (ORDER BY subject) - 1 AS code, subject, subject_kind, "
        "events FROM (SELECT subject, any_value(subject_kind) AS subject_kind, "
        "sum(events) AS events FROM _life_device GROUP BY subject)",
    )
    sources = [
        r[0]
        for r in engine.fetch_rows(
            "SELECT DISTINCT source FROM obs_device_event WHERE source IS NOT NULL ORDER BY 1"
        )
    ]
    if len(sources) > 62:
        raise StageError(
            f"stays: {len(sources)} event sources, at most 62 can be told apart; "
            "merge sources in their mappings"
        )
    temp(
        "_life_source_code",
        " UNION ALL ".join(
            f"SELECT {literal(name)} AS source, {k} AS src" for k, name in enumerate(sources)
        )
        or "SELECT CAST(NULL AS VARCHAR) AS source, 0 AS src WHERE false",
    )
    temp(
        SECTOR_CODES,
        "SELECT sensor_id, CAST(row_number() OVER (ORDER BY sensor_id) - 1 AS INTEGER) AS sec "
        f"FROM {SECTORS}",
    )
    [(n_sec,)] = engine.fetch_rows(f"SELECT count(*) FROM {SECTOR_CODES}")
    # every located observation, read once, as integers: the position of a cell event
    # is its sector's (looked up by number per chunk) and only GPS-grade fixes keep
    # their own (in _life_fix, by obs_id), so the keyed table stays narrow
    temp(
        "_life_keyed",
        f"SELECT CAST(s.code AS INTEGER) AS code, e.t, e.obs_id, CAST(sc.src AS UTINYINT) AS src, "
        "coalesce(c.sec, -1) AS sec "
        f"FROM ({events_sql()}) e JOIN _life_device d USING (device) "
        f"JOIN {SUBJECTS} s ON s.subject = d.subject "
        "JOIN _life_source_code sc USING (source) "
        f"LEFT JOIN {SECTOR_CODES} c USING (sensor_id)",
    )
    temp(
        "_life_fix",
        "SELECT obs_id, lat, lon FROM obs_device_event WHERE lat IS NOT NULL",
    )
    lo_unc, hi_unc = SECTOR_UNC_M
    where = engine.fetch_arrow(
        f"SELECT c.sec, s.lat, s.lon, least(greatest(s.spread_m, {lo_unc}), {hi_unc}) AS unc "
        f"FROM {SECTOR_CODES} c JOIN {SECTORS} s USING (sensor_id) ORDER BY c.sec"
    )
    if where.num_rows != n_sec:
        raise StageError(f"stays: {SECTORS} holds a sensor_id more than once")
    sector_pos = tuple(where.column(k).to_numpy() for k in ("lat", "lon", "unc"))
    stay_schema = pa.schema(
        [
            ("code", pa.int64()),
            ("stay_id", pa.int64()),
            ("started", pa.float64()),
            ("finished", pa.float64()),
            ("lat", pa.float64()),
            ("lon", pa.float64()),
            ("unc", pa.float64()),
            ("place_id", pa.int64()),
            ("n_obs", pa.int32()),
            ("sources", pa.list_(pa.string())),
            ("obs_ids", pa.list_(pa.int64())),
        ]
    )
    engine.create_temp_table("_life_stay_raw", stay_schema)
    engine.create_temp_table(
        PLACE_SECTORS,
        pa.schema([("place_id", pa.int64()), ("sec", pa.int32()), ("n", pa.int64())]),
    )
    engine.create_temp_table(
        PLACE_GPS,
        pa.schema(
            [
                ("place_id", pa.int64()),
                ("n", pa.int64()),
                ("lat", pa.float64()),
                ("lon", pa.float64()),
            ]
        ),
    )
    active_schema = pa.schema(
        [("code", pa.int64()), ("h", pa.int64()), ("events", pa.int32()),
         ("sources", pa.list_(pa.string()))]
    )  # fmt: skip
    engine.create_temp_table("_life_active_raw", active_schema)
    chunks = _chunks(engine)
    next_id = 1
    for k, (lo, hi) in enumerate(chunks):
        if progress:
            progress("stays", k, len(chunks))
        data = _located(engine, lo, hi, sector_pos)
        stays, place_sectors, place_gps = _stays_of_chunk(data, sources, int(n_sec), next_id)
        next_id += stays.num_rows
        engine.append_arrow("_life_stay_raw", stays.cast(stay_schema))
        engine.append_arrow(PLACE_SECTORS, place_sectors)
        engine.append_arrow(PLACE_GPS, place_gps)
        engine.append_arrow("_life_active_raw", _active_hours_of_chunk(data, sources))
    if progress:
        progress("stays", len(chunks), len(chunks))
    # the keyed observations (the largest table here) are done with: free them now
    # rather than when the caller's temporary tables go
    for name in ("_life_keyed", "_life_fix"):
        engine.execute(f"DROP TABLE IF EXISTS {name}")
    out = {
        tables.STAY: engine.materialise(
            tables.STAY,
            "SELECT s.subject, s.subject_kind, r.stay_id, "
            "to_timestamp(r.started) AS started_at, to_timestamp(r.finished) AS finished_at, "
            "r.lat, r.lon, r.unc AS uncertainty_m, r.place_id, r.n_obs, r.sources, r.obs_ids "
            f"FROM _life_stay_raw r JOIN {SUBJECTS} s USING (code)",
        ),
        tables.ACTIVE_HOUR: engine.materialise(
            tables.ACTIVE_HOUR,
            "SELECT s.subject, s.subject_kind, to_timestamp(a.h * 3600) AS hour, a.events, "
            f"a.sources FROM _life_active_raw a JOIN {SUBJECTS} s USING (code)",
        ),
    }
    for name in ("_life_stay_raw", "_life_active_raw"):
        engine.execute(f"DROP TABLE IF EXISTS {name}")
    return out
