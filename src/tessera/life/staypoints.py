"""Stays (staypoints) from located points: the sliding method of Li et al. (2008).

:func:`detect_staypoints` finds the places where a subject stopped, from points with a
time and a position (GPS fixes, or coarser positions such as cell-sector centroids with
wider thresholds). It follows the semantics of trackintel's ``generate_staypoints`` with
``method="sliding"`` (trackintel 1.4.2, ``trackintel/preprocessing/positionfixes.py``), so
that results can be compared with that reference; a compiled kernel (numba) makes it two
to three orders of magnitude faster.

The algorithm, per subject, over its points in time order (ties in the caller's order):

* A candidate stay is anchored at a point ``start``. Each following point ``c`` is
  compared with the *anchor* (not with the previous point, not with a centroid).
* If ``c`` follows the previous point after more than ``gap_threshold_s``, the data has a
  hole: the candidate is dropped, **even if it already lasted long enough**, and ``c``
  becomes the new anchor. No distance is tested for ``c``.
* Else, if ``c`` is at least ``dist_threshold_m`` from the anchor (haversine distance on a
  sphere of radius 6,371,000 m), the subject has left: when ``t[c] - t[start] >=
  time_threshold_s`` the points ``start .. c-1`` form a stay; in any case ``c`` becomes the
  new anchor.
* A stay starts at the anchor's time and **finishes at the time of the first point that
  left** (``t[c]``), not at its own last point: the subject is assumed to have stayed until
  seen elsewhere. Its points (``first .. last``, ``n`` of them) are ``start .. c-1``.
* The points after a subject's last departure make no stay, unless ``include_last``: then
  they form one if they span at least ``time_threshold_s``, finishing at the last point.
* With ``exclude_duplicates`` (the default, as trackintel's ``exclude_duplicate_pfs``), a
  point equal to an earlier one of the same subject (same time, same latitude and
  longitude) is ignored altogether.

Where Tessera differs from trackintel:

* **Position.** trackintel places a stay at the centroid of its *distinct* coordinates
  (``union_all`` merges repeated positions; latitudes averaged, longitudes averaged as
  angles). Tessera averages all the stay's points, each with equal weight (longitudes as
  offsets from the anchor, so a stay across the antimeridian is placed correctly). On GPS
  data the two positions are typically within a few metres.
* **Distance at the threshold.** trackintel computes ``6371000 * acos(...)``; Tessera
  compares the haversine of the angle with that of the threshold (a series expansion for
  points within about 6 km, trigonometry beyond). Both are the same great-circle distance;
  they can only disagree for a point within a fraction of a millimetre of the threshold.
* **Elevation** is not carried (trackintel takes the median when the input has it).
* Times are integer milliseconds (trackintel: nanosecond timestamps); thresholds are in
  seconds here and in minutes in trackintel (``time_threshold=5`` there is ``300`` here).

Reference: Li, Q., Zheng, Y., Xie, X., Chen, Y., Liu, W., Ma, W.-Y. (2008). Mining user
similarity based on location history. ACM SIGSPATIAL GIS '08, 34.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from tessera.errors import StageError

if TYPE_CHECKING:
    import pyarrow as pa

EARTH_RADIUS_M = 6_371_000.0
"""Radius of the sphere for haversine distances, as in trackintel."""

_SMALL_RAD = 1e-3  # below this (about 6.4 km), the kernel uses series instead of sin/cos

# Compiled (kernel, check) pair; filled on first use by _kernels() so that importing this
# module does not import numba.
_COMPILED: tuple[Callable[..., Any], Callable[..., Any]] | None = None


def _check_points(
    user: np.ndarray, t: np.ndarray, lat: np.ndarray, lon: np.ndarray
) -> tuple[int, int, bool]:
    """One pass over the points: the first invalid one and whether they are sorted.

    Returns ``(index, what, is_sorted)``: ``index`` of the first point with a latitude
    (``what == 1``) or a longitude (``what == 2``) that is NaN or out of range, or -1; and
    whether the points are ordered by (user, time). Compiled by numba.
    """
    n = t.shape[0]
    is_sorted = True
    for i in range(n):
        la = lat[i]
        lo = lon[i]
        if not (la >= -90.0 and la <= 90.0):  # also catches NaN
            return i, 1, is_sorted
        if not (lo >= -180.0 and lo <= 180.0):
            return i, 2, is_sorted
        if (
            is_sorted
            and i > 0
            and (user[i] < user[i - 1] or (user[i] == user[i - 1] and t[i] < t[i - 1]))
        ):
            is_sorted = False
    return -1, 0, is_sorted


def _sliding_staypoints(
    user: np.ndarray,
    t: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    dist_m: float,
    time_ms: float,
    gap_ms: float,
    include_last: bool,
    dedup: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The sliding staypoint scan over points sorted by (user, time). Compiled by numba.

    Returns ``(ints, flts)``, flat: four ints per stay, ``first, last, end, n`` as
    positions in the sorted arrays (``end`` is the point whose time finishes the stay), and
    two floats, ``lat, lon``, the mean position. See the module docstring for the semantics.
    (Flat arrays grown by hand: slicing 2-D arrays makes numba compile several times slower.)
    """
    n = t.shape[0]
    cap = 16 + n // 128
    ints = np.empty(4 * cap, dtype=np.int64)
    flts = np.empty(2 * cap, dtype=np.float64)
    k = 0
    if n == 0:
        return ints[:0], flts[:0]

    deg = math.pi / 180.0
    half_d = 0.5 * dist_m / EARTH_RADIUS_M
    # haversine of the threshold angle; a point is "far" when hav(angle) >= hav_d
    hav_d = math.sin(half_d) ** 2 if half_d < 0.5 * math.pi else 2.0  # 2.0: never far
    small = _SMALL_RAD

    # the anchor (start) of the current candidate and its running sums
    start = 0
    prev = 0  # last point taken into account (not a dropped duplicate)
    run = 0  # first point of the current run of equal times (for duplicates)
    lat0 = lat[0]
    lon0 = lon[0]
    cos0 = math.cos(lat0 * deg)
    sin0 = math.sin(lat0 * deg)
    sum_lat = lat0
    sum_dlon = 0.0
    cnt = 1

    c = 1
    while True:
        at_end = c == n or user[c] != user[prev]
        emit = False
        end = 0
        if at_end:
            if include_last and t[prev] - t[start] >= time_ms:
                emit = True
                end = prev
        else:
            if t[c] != t[c - 1]:
                run = c
            elif dedup:
                dup = False
                for q in range(run, c):
                    if lat[q] == lat[c] and lon[q] == lon[c]:
                        dup = True
                        break
                if dup:
                    c += 1
                    continue
            dlon = lon[c] - lon0
            if dlon > 180.0:
                dlon -= 360.0
            elif dlon < -180.0:
                dlon += 360.0
            # a hole in the data drops the candidate (however long) and re-anchors at c
            reanchor = t[c] - t[prev] > gap_ms
            if not reanchor:
                x = (lat[c] - lat0) * deg
                y = dlon * deg
                if abs(x) < small and abs(y) < small:
                    # cos(lat_c) = cos(lat0 + x); sin(h) by series (exact to ~1e-16 here)
                    x2 = x * x
                    cos_c = cos0 * (1.0 - x2 * (0.5 - x2 / 24.0)) - sin0 * (
                        x * (1.0 - x2 * (1.0 / 6.0 - x2 / 120.0))
                    )
                    hx = 0.5 * x
                    hy = 0.5 * y
                    hx2 = hx * hx
                    hy2 = hy * hy
                    sx = hx * (1.0 - hx2 * (1.0 / 6.0 - hx2 / 120.0))
                    sy = hy * (1.0 - hy2 * (1.0 / 6.0 - hy2 / 120.0))
                    reanchor = sx * sx + cos0 * cos_c * sy * sy >= hav_d
                else:
                    la = lat[c] * deg
                    arg = math.cos(lat0 * deg - la) - cos0 * math.cos(la) * (1.0 - math.cos(y))
                    arg = min(1.0, max(-1.0, arg))
                    reanchor = EARTH_RADIUS_M * math.acos(arg) >= dist_m
                if reanchor and t[c] - t[start] >= time_ms:  # left after a long enough stay
                    emit = True
                    end = c
            if not reanchor:
                sum_lat += lat[c]
                sum_dlon += dlon
                cnt += 1
                prev = c
                c += 1
                continue

        if emit:
            if k == cap:
                cap *= 2
                new_ints = np.empty(4 * cap, dtype=np.int64)
                for j in range(4 * k):
                    new_ints[j] = ints[j]
                ints = new_ints
                new_flts = np.empty(2 * cap, dtype=np.float64)
                for j in range(2 * k):
                    new_flts[j] = flts[j]
                flts = new_flts
            ints[4 * k] = start
            ints[4 * k + 1] = prev
            ints[4 * k + 2] = end
            ints[4 * k + 3] = cnt
            flts[2 * k] = sum_lat / cnt
            mean_lon = lon0 + sum_dlon / cnt
            if mean_lon > 180.0:
                mean_lon -= 360.0
            elif mean_lon < -180.0:
                mean_lon += 360.0
            flts[2 * k + 1] = mean_lon
            k += 1
        if c == n:
            break
        # c anchors a new candidate: after a departure, a hole, or at a new user
        if at_end:
            run = c
        start = c
        prev = c
        lat0 = lat[c]
        lon0 = lon[c]
        cos0 = math.cos(lat0 * deg)
        sin0 = math.sin(lat0 * deg)
        sum_lat = lat0
        sum_dlon = 0.0
        cnt = 1
        c += 1
    return ints[: 4 * k], flts[: 2 * k]


def _kernels() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The compiled ``(_sliding_staypoints, _check_points)``; compiles them on first use."""
    global _COMPILED
    if _COMPILED is None:
        import numba

        # explicit signatures: compiled here, once, for C-contiguous int64/float64 arrays
        check = numba.njit(
            "Tuple((int64, int64, boolean))(int64[::1], int64[::1], float64[::1], float64[::1])",
            cache=False,
            nogil=True,
        )(_check_points)
        kernel = numba.njit(
            "Tuple((int64[::1], float64[::1]))(int64[::1], int64[::1], float64[::1], "
            "float64[::1], float64, float64, float64, boolean, boolean)",
            cache=False,
            nogil=True,
        )(_sliding_staypoints)
        _COMPILED = (kernel, check)
    return _COMPILED


def compile_kernels() -> None:
    """Compile the kernel now (a second or two) rather than on the first detection."""
    _kernels()


def _sort_order(user: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Stable order by (user, time): equal pairs keep the caller's order.

    One stable argsort of a combined int64 key when the ranges allow (several times faster
    than ``np.lexsort``), else ``np.lexsort``.
    """
    u_lo, u_hi = int(user.min()), int(user.max())
    t_lo, t_hi = int(t.min()), int(t.max())
    span = t_hi - t_lo + 1
    if (u_hi - u_lo + 1) * span <= np.iinfo(np.int64).max:
        key = (user - u_lo) * span + (t - t_lo)
        return np.argsort(key, kind="stable")
    return np.lexsort((t, user))


def _as_1d(name: str, values: Any) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise StageError(
            f"detect_staypoints: {name} must be one-dimensional, got shape {arr.shape}"
        )
    return arr


def _threshold(name: str, value: float) -> float:
    v = float(value)
    if not (math.isfinite(v) and v >= 0.0):
        raise StageError(f"detect_staypoints: {name} must be finite and >= 0, got {value!r}")
    return v


def detect_staypoints(
    user: np.ndarray,
    t_ms: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    *,
    dist_threshold_m: float = 100.0,
    time_threshold_s: float = 300.0,
    gap_threshold_s: float = 15 * 60.0,
    include_last: bool = False,
    exclude_duplicates: bool = True,
) -> pa.Table:
    """Stays of each user, by trackintel's sliding method (see the module docstring).

    Parameters
    ----------
    user:
        The subject of each point: integers, or any values NumPy can sort (strings...).
    t_ms:
        Times in milliseconds since the epoch (integers), or ``datetime64`` values.
    lat, lon:
        WGS84 degrees; no NaN, latitude in [-90, 90], longitude in [-180, 180].
    dist_threshold_m:
        How far from a stay's first point a point must be (haversine metres) to end it.
        trackintel's default is 100 m (GPS); use a few hundred metres to kilometres for
        cell-sector positions.
    time_threshold_s:
        The shortest stay, in seconds (trackintel: ``time_threshold`` in minutes, 5).
    gap_threshold_s:
        A time between consecutive points longer than this (seconds) breaks a candidate
        stay, which is then dropped (trackintel: ``gap_threshold`` in minutes, 15).
    include_last:
        Also make a stay of each user's points after the last departure.
    exclude_duplicates:
        Ignore a point equal to an earlier one (same user, time, latitude, longitude).

    Returns
    -------
    pyarrow.Table
        One row per stay, ordered by user then time: ``user`` (int64 for integer users,
        else the input's values), ``first`` and ``last`` (int64 indices, in the caller's
        order, of the stay's first and last points), ``started_at_ms`` and
        ``finished_at_ms`` (int64; the stay finishes at the time of the first point that
        left it, or at its last point for a final stay kept by ``include_last``), ``lat``
        and ``lon`` (float64, the mean position) and ``n`` (int32, points in the stay).

    The inputs are not modified. Input sorted by user then time is scanned as it is (one
    pass, tens of millions of points a second); other input is first sorted, stably, so
    that equal times keep the caller's order (the sort then costs more than the scan).
    The first call in a process compiles the kernel (see :func:`compile_kernels`).
    """
    import pyarrow as pa

    u_in = _as_1d("user", user)
    t_in = _as_1d("t_ms", t_ms)
    lat_in = _as_1d("lat", lat)
    lon_in = _as_1d("lon", lon)
    n = u_in.shape[0]
    lengths = {"user": n, "t_ms": t_in.shape[0], "lat": lat_in.shape[0], "lon": lon_in.shape[0]}
    if len(set(lengths.values())) != 1:
        raise StageError(f"detect_staypoints: input lengths differ: {lengths}")
    dist_m = _threshold("dist_threshold_m", dist_threshold_m)
    time_ms = _threshold("time_threshold_s", time_threshold_s) * 1000.0
    gap_ms = _threshold("gap_threshold_s", gap_threshold_s) * 1000.0

    if np.issubdtype(t_in.dtype, np.datetime64):
        if np.isnat(t_in).any():
            bad = int(np.flatnonzero(np.isnat(t_in))[0])
            raise StageError(f"detect_staypoints: t_ms[{bad}] is NaT")
        t64 = t_in.astype("datetime64[ms]").view(np.int64)
    elif np.issubdtype(t_in.dtype, np.integer):
        t64 = t_in.astype(np.int64, copy=False)
    else:
        raise StageError(
            f"detect_staypoints: t_ms must be integer milliseconds or datetime64, got {t_in.dtype}"
        )
    for name, arr in (("lat", lat_in), ("lon", lon_in)):
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise StageError(f"detect_staypoints: {name} must be numeric, got {arr.dtype}")
    lat64 = np.ascontiguousarray(lat_in, dtype=np.float64)
    lon64 = np.ascontiguousarray(lon_in, dtype=np.float64)
    t64 = np.ascontiguousarray(t64)

    labels: np.ndarray | None = None
    if (np.issubdtype(u_in.dtype, np.integer) and u_in.dtype != np.uint64) or (
        u_in.dtype == np.bool_
    ):
        u64 = np.ascontiguousarray(u_in, dtype=np.int64)
    else:
        try:
            labels, codes = np.unique(u_in, return_inverse=True)
        except TypeError as err:
            raise StageError(
                f"detect_staypoints: user values of dtype {u_in.dtype} cannot be ordered: {err}"
            ) from err
        u64 = np.ascontiguousarray(codes.reshape(-1), dtype=np.int64)

    kernel, check = _kernels()
    bad, what, is_sorted = check(u64, t64, lat64, lon64)
    if bad >= 0:
        name, value = ("lat", float(lat64[bad])) if what == 1 else ("lon", float(lon64[bad]))
        bounds = "[-90, 90]" if what == 1 else "[-180, 180]"
        raise StageError(
            f"detect_staypoints: {name}[{bad}] = {value!r} is not a coordinate in {bounds} "
            "(no NaN allowed)"
        )

    order: np.ndarray | None = None
    if is_sorted:
        us, ts, las, los = u64, t64, lat64, lon64
    else:
        order = _sort_order(u64, t64)
        us, ts, las, los = u64[order], t64[order], lat64[order], lon64[order]

    flat_ints, flat_flts = kernel(
        us, ts, las, los, dist_m, time_ms, gap_ms, bool(include_last), bool(exclude_duplicates)
    )
    ints = flat_ints.reshape(-1, 4)
    flts = flat_flts.reshape(-1, 2)
    first_s, last_s, end_s = ints[:, 0], ints[:, 1], ints[:, 2]
    users = us[first_s]
    user_col = pa.array(users if labels is None else labels[users])
    first = first_s if order is None else order[first_s]
    last = last_s if order is None else order[last_s]
    return pa.table(
        {
            "user": user_col,
            "first": pa.array(np.ascontiguousarray(first, dtype=np.int64)),
            "last": pa.array(np.ascontiguousarray(last, dtype=np.int64)),
            "started_at_ms": pa.array(ts[first_s]),
            "finished_at_ms": pa.array(ts[end_s]),
            "lat": pa.array(np.ascontiguousarray(flts[:, 0])),
            "lon": pa.array(np.ascontiguousarray(flts[:, 1])),
            "n": pa.array(ints[:, 3].astype(np.int32)),
        }
    )
