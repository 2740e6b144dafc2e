"""Sequential kernels of the pattern-of-life stages, compiled with numba on first use.

Stay detection walks each subject's observations in time order, which SQL cannot express
without a recursive query; the kernels here do it in one pass over arrays sorted by
(subject, time). They are private: :mod:`tessera.life.stays` calls them chunk by chunk.

Compiled code is cached on disk (numba's ``cache=True``: next to this file in
``__pycache__``, or in ``NUMBA_CACHE_DIR`` or the user's cache folder where the package
is installed read-only), so only the first run in an environment pays the few seconds
of compilation; where no cache folder is writable the kernels are compiled in memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_KERNELS: dict[str, Any] = {}
# the compiled great-circle distance, set by _compile (a global the kernels read)
_dist_m: Any = None

EARTH_M = 6_371_000.0


def jit(fn: Any) -> Any:
    """``numba.njit(nogil=True)`` with an on-disk cache, or without one where numba
    finds no writable cache folder."""
    import numba

    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(cache=False, nogil=True)(fn)


def _compile() -> dict[str, Any]:
    if _KERNELS:
        return _KERNELS

    # dist_m is a module global, not a closure variable of the kernels below, so that
    # numba's cache recognises them in a later process
    @jit
    def dist_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
        p1 = np.radians(lat1)
        p2 = np.radians(lat2)
        a = (
            np.sin((p2 - p1) / 2) ** 2
            + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
        )
        return float(2 * EARTH_M * np.arcsin(np.sqrt(min(1.0, a))))

    globals()["_dist_m"] = dist_m

    @jit
    def segment(
        subj: np.ndarray,
        t: np.ndarray,
        lat: np.ndarray,
        lon: np.ndarray,
        unc: np.ndarray,
        dist_threshold: float,
        time_threshold: float,
        gap_threshold: float,
        patience_s: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stays as (first, last) index pairs over points sorted by (subject, time).

        A stay starts at an anchor point and takes every later point of the subject
        within ``dist_threshold + unc[anchor] + unc[j]`` metres of the anchor. A point
        beyond that ends the stay unless the next point, within ``patience_s``, is back
        near the anchor (one outlier: tower ping-pong). A silence longer than
        ``gap_threshold`` also ends it. A stay is kept when its points span at least
        ``time_threshold`` seconds.
        """
        n = len(t)
        firsts = np.empty(n, dtype=np.int64)
        lasts = np.empty(n, dtype=np.int64)
        k = 0
        i = 0
        while i < n:
            last = i
            j = i + 1
            while j < n and subj[j] == subj[i]:
                if t[j] - t[last] > gap_threshold:
                    break
                near = _dist_m(lat[i], lon[i], lat[j], lon[j]) <= (dist_threshold + unc[i] + unc[j])
                if near:
                    last = j
                    j += 1
                    continue
                nxt = j + 1
                if (
                    nxt < n
                    and subj[nxt] == subj[i]
                    and t[nxt] - t[j] <= patience_s
                    and _dist_m(lat[i], lon[i], lat[nxt], lon[nxt])
                    <= dist_threshold + unc[i] + unc[nxt]
                ):
                    last = nxt
                    j = nxt + 1
                    continue
                break
            if t[last] - t[i] >= time_threshold:
                firsts[k] = i
                lasts[k] = last
                k += 1
                i = last + 1
            else:
                i += 1
        return firsts[:k], lasts[:k]

    @jit
    def cluster(
        subj: np.ndarray,
        order: np.ndarray,
        lat: np.ndarray,
        lon: np.ndarray,
        weight: np.ndarray,
        radius: float,
    ) -> np.ndarray:
        """Place index (0-based per subject) of each stay: stays taken in ``order``
        (by subject, heaviest first) join the nearest place of their subject whose
        weighted centroid is within ``radius``, or found a new one."""
        n = len(order)
        place = np.full(n, -1, dtype=np.int64)
        clat = np.empty(n)
        clon = np.empty(n)
        cw = np.empty(n)
        start = 0
        while start < n:
            end = start
            s = subj[order[start]]
            while end < n and subj[order[end]] == s:
                end += 1
            m = 0
            for q in range(start, end):
                i = order[q]
                best = -1
                best_d = radius
                for c in range(m):
                    d = _dist_m(lat[i], lon[i], clat[c], clon[c])
                    if d <= best_d:
                        best = c
                        best_d = d
                if best < 0:
                    clat[m] = lat[i]
                    clon[m] = lon[i]
                    cw[m] = weight[i]
                    place[i] = m
                    m += 1
                else:
                    w = cw[best] + weight[i]
                    clat[best] = (clat[best] * cw[best] + lat[i] * weight[i]) / w
                    clon[best] = (clon[best] * cw[best] + lon[i] * weight[i]) / w
                    cw[best] = w
                    place[i] = best
            start = end
        return place

    @jit
    def support(
        subj: np.ndarray, bucket: np.ndarray, place: np.ndarray, sec: np.ndarray, n_sec: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Distinct time buckets of each (subject, place, sector) over observations
        sorted by (subject, time), so that ``bucket`` never decreases within a subject.

        An observation repeating the (place, sector) of an earlier one in the same
        subject and bucket adds nothing; those are found among the observations of
        that bucket, which lie together. Returned sorted by (subject, place, sector):
        subject, place, sector, number of buckets."""
        n = len(subj)
        keys = np.empty(n, dtype=np.int64)
        o_subj = np.empty(n, dtype=np.int64)
        o_place = np.empty(n, dtype=np.int64)
        o_sec = np.empty(n, dtype=np.int64)
        o_n = np.empty(n, dtype=np.int64)
        k = 0
        i = 0
        while i < n:
            end = i
            while end < n and subj[end] == subj[i]:
                end += 1
            # one key (place, sector) per bucket of this subject
            m = 0
            run = i
            while run < end:
                stop = run
                while stop < end and bucket[stop] == bucket[run]:
                    stop += 1
                first = m
                for j in range(run, stop):
                    key = place[j] * n_sec + sec[j]
                    seen = False
                    for q in range(first, m):
                        if keys[q] == key:
                            seen = True
                            break
                    if not seen:
                        keys[m] = key
                        m += 1
                run = stop
            ks = np.sort(keys[:m])
            q = 0
            while q < m:
                r = q
                while r < m and ks[r] == ks[q]:
                    r += 1
                o_subj[k] = subj[i]
                o_place[k] = ks[q] // n_sec
                o_sec[k] = ks[q] % n_sec
                o_n[k] = r - q
                k += 1
                q = r
            i = end
        return o_subj[:k], o_place[:k], o_sec[:k], o_n[:k]

    _KERNELS.update(segment=segment, cluster=cluster, support=support)
    return _KERNELS


def segment(
    subj: np.ndarray,
    t: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    unc: np.ndarray,
    *,
    dist_threshold: float,
    time_threshold: float,
    gap_threshold: float,
    patience_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """See the compiled ``segment``: (first, last) indices of each stay."""
    fn = _compile()["segment"]
    firsts, lasts = fn(
        subj, t, lat, lon, unc, dist_threshold, time_threshold, gap_threshold, patience_s
    )
    return np.asarray(firsts), np.asarray(lasts)


def cluster(
    subj: np.ndarray, lat: np.ndarray, lon: np.ndarray, weight: np.ndarray, radius: float
) -> np.ndarray:
    """Per-subject place index of each stay (see the compiled ``cluster``)."""
    order = np.lexsort((-weight, subj)).astype(np.int64)
    return np.asarray(_compile()["cluster"](subj, order, lat, lon, weight, radius))


def support(
    subj: np.ndarray, bucket: np.ndarray, place: np.ndarray, sec: np.ndarray, n_sec: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(subject, place, sector, distinct buckets) of observations sorted by (subject,
    time), ``place`` and ``sec`` non-negative (see the compiled ``support``)."""
    out = _compile()["support"](
        np.ascontiguousarray(subj, dtype=np.int64),
        np.ascontiguousarray(bucket, dtype=np.int64),
        np.ascontiguousarray(place, dtype=np.int64),
        np.ascontiguousarray(sec, dtype=np.int64),
        max(int(n_sec), 1),
    )
    return tuple(np.asarray(a) for a in out)  # type: ignore[return-value]
