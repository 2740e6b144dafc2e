"""Sequential kernels of the pattern-of-life stages, compiled with numba on first use.

Stay detection walks each subject's observations in time order, which SQL cannot express
without a recursive query; the kernels here do it in one pass over arrays sorted by
(subject, time). They are private: :mod:`tessera.life.stays` calls them chunk by chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_KERNELS: dict[str, Any] = {}

EARTH_M = 6_371_000.0


def _compile() -> dict[str, Any]:
    if _KERNELS:
        return _KERNELS
    import numba

    @numba.njit(cache=False, nogil=True)
    def dist_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
        p1 = np.radians(lat1)
        p2 = np.radians(lat2)
        a = (
            np.sin((p2 - p1) / 2) ** 2
            + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
        )
        return float(2 * EARTH_M * np.arcsin(np.sqrt(min(1.0, a))))

    @numba.njit(cache=False, nogil=True)
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
                near = dist_m(lat[i], lon[i], lat[j], lon[j]) <= (dist_threshold + unc[i] + unc[j])
                if near:
                    last = j
                    j += 1
                    continue
                nxt = j + 1
                if (
                    nxt < n
                    and subj[nxt] == subj[i]
                    and t[nxt] - t[j] <= patience_s
                    and dist_m(lat[i], lon[i], lat[nxt], lon[nxt])
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

    @numba.njit(cache=False, nogil=True)
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
                    d = dist_m(lat[i], lon[i], clat[c], clon[c])
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

    _KERNELS.update(segment=segment, cluster=cluster)
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
