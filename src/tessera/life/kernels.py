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
                # most points repeat the anchor's sector position: distance 0 exactly
                if lat[j] == lat[i] and lon[j] == lon[i]:
                    d = 0.0
                else:
                    d = _dist_m(lat[i], lon[i], lat[j], lon[j])
                near = d <= (dist_threshold + unc[i] + unc[j])
                if near:
                    last = j
                    j += 1
                    continue
                nxt = j + 1
                if (
                    nxt < n
                    and subj[nxt] == subj[i]
                    and t[nxt] - t[j] <= patience_s
                    and (
                        0.0
                        if lat[nxt] == lat[i] and lon[nxt] == lon[i]
                        else _dist_m(lat[i], lon[i], lat[nxt], lon[nxt])
                    )
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

    @jit
    def order(
        code: np.ndarray, t: np.ndarray, obs: np.ndarray, lo: int, n_codes: int
    ) -> np.ndarray:
        """The permutation that puts rows in (code, t, obs) order, for codes
        ``lo .. lo + n_codes - 1``: a stable counting sort by code (one pass to count,
        one to place), then each code's rows sorted by (t, obs) where they are not in
        that order already (NaN times last). The sort within a code reads its keys
        from contiguous copies, which keeps it in cache."""
        n = len(code)
        start = np.zeros(n_codes + 1, dtype=np.int64)
        for i in range(n):
            start[code[i] - lo + 1] += 1
        for c in range(n_codes):
            start[c + 1] += start[c]
        fill = start.copy()
        perm = np.empty(n, dtype=np.int64)
        for i in range(n):
            c = code[i] - lo
            perm[fill[c]] = i
            fill[c] += 1
        # the keys in that order, so that the sorts below read memory in sequence
        ts = t[perm]
        os = obs[perm]
        for c in range(n_codes):
            a = start[c]
            b = start[c + 1]
            ordered = True
            for j in range(a + 1, b):
                if not (ts[j - 1] < ts[j] or (ts[j - 1] == ts[j] and os[j - 1] <= os[j])):
                    ordered = False
                    break
            if ordered:
                continue
            # sort by time (NaN last), then each run of equal times by obs: runs are
            # rare and short (times in microseconds), so an insertion sort does
            o = np.argsort(ts[a:b])
            seg_p = perm[a:b][o]
            seg_t = ts[a:b][o]
            seg_o = os[a:b][o]
            m = b - a
            r = 0
            while r < m:
                e = r + 1
                while e < m and (
                    seg_t[e] == seg_t[r] or (np.isnan(seg_t[e]) and np.isnan(seg_t[r]))
                ):
                    e += 1
                for j in range(r + 1, e):
                    pc = seg_p[j]
                    oc = seg_o[j]
                    k = j - 1
                    while k >= r and seg_o[k] > oc:
                        seg_p[k + 1] = seg_p[k]
                        seg_o[k + 1] = seg_o[k]
                        k -= 1
                    seg_p[k + 1] = pc
                    seg_o[k + 1] = oc
                r = e
            perm[a:b] = seg_p
        return perm

    @jit
    def posterior(
        h_start: np.ndarray,
        h_sec: np.ndarray,
        h_n: np.ndarray,
        c_start: np.ndarray,
        c_bld: np.ndarray,
        c_term: np.ndarray,
        b_lat: np.ndarray,
        b_lon: np.ndarray,
        b_ok: np.ndarray,
        evidence: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Posterior over buildings of each place (histogram rows ``h_start[g] ..
        h_start[g + 1] - 1``: sector number and count), with the coverage of sector
        ``s`` in rows ``c_start[s] .. c_start[s + 1] - 1`` (building number and floored
        log-likelihood term). Buildings with ``b_ok`` false are left out. Returns the
        posterior mean latitude and longitude, the root mean square distance and the
        most likely building (-1 where no building is in reach; on a tie the smaller
        number)."""
        n_place = len(h_start) - 1
        n_bld = len(b_lat)
        acc = np.zeros(n_bld)
        stamp = np.full(n_bld, -1, dtype=np.int64)
        touched = np.empty(n_bld, dtype=np.int64)
        o_lat = np.full(n_place, np.nan)
        o_lon = np.full(n_place, np.nan)
        o_rad = np.full(n_place, np.nan)
        o_best = np.full(n_place, -1, dtype=np.int64)
        deg = np.pi / 180.0
        for g in range(n_place):
            total = 0
            for r in range(h_start[g], h_start[g + 1]):
                total += h_n[r]
            m = 0
            for r in range(h_start[g], h_start[g + 1]):
                f = h_n[r] / total
                s = h_sec[r]
                for q in range(c_start[s], c_start[s + 1]):
                    b = c_bld[q]
                    if not b_ok[b]:
                        continue
                    if stamp[b] != g:
                        stamp[b] = g
                        acc[b] = 0.0
                        touched[m] = b
                        m += 1
                    acc[b] += f * c_term[q]
            if m == 0:
                continue
            top = -np.inf
            best = -1
            for j in range(m):
                b = touched[j]
                acc[b] = evidence * acc[b]
                if acc[b] > top or (acc[b] == top and b < best):
                    top = acc[b]
                    best = b
            sw = 0.0
            slat = 0.0
            slon = 0.0
            for j in range(m):
                b = touched[j]
                w = np.exp(acc[b] - top)
                acc[b] = w
                sw += w
                slat += w * b_lat[b]
                slon += w * b_lon[b]
            lat = slat / sw
            lon = slon / sw
            sd = 0.0
            for j in range(m):
                b = touched[j]
                h = (
                    np.sin((b_lat[b] - lat) * deg / 2) ** 2
                    + np.cos(lat * deg)
                    * np.cos(b_lat[b] * deg)
                    * np.sin((b_lon[b] - lon) * deg / 2) ** 2
                )
                d = 12742000.0 * np.arcsin(np.sqrt(h))
                sd += acc[b] * (d * d)
            o_lat[g] = lat
            o_lon[g] = lon
            o_rad[g] = np.sqrt(sd / sw)
            o_best[g] = best
        return o_lat, o_lon, o_rad, o_best

    _KERNELS.update(
        segment=segment, cluster=cluster, support=support, order=order, posterior=posterior
    )
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


def order(code: np.ndarray, t: np.ndarray, obs: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Positions of the rows of codes ``lo .. hi`` in (code, t, obs) order: what
    ``ORDER BY code, t, obs`` gives (NaN times last; ties on all three, which distinct
    observation ids rule out, in no set order), in linear time where each code's rows
    already come in time order (see the compiled ``order``)."""
    return np.asarray(
        _compile()["order"](
            np.ascontiguousarray(code, dtype=np.int64),
            np.ascontiguousarray(t, dtype=np.float64),
            np.ascontiguousarray(obs, dtype=np.int64),
            int(lo),
            max(int(hi) - int(lo) + 1, 0),
        )
    )


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


def posterior(
    h_start: np.ndarray,
    h_sec: np.ndarray,
    h_n: np.ndarray,
    c_start: np.ndarray,
    c_bld: np.ndarray,
    c_term: np.ndarray,
    b_lat: np.ndarray,
    b_lon: np.ndarray,
    b_ok: np.ndarray,
    evidence: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lat, lon, radius, building number) of each place (see the compiled
    ``posterior`` and :func:`tessera.life.places.posterior_sql`, which it computes)."""
    out = _compile()["posterior"](
        np.ascontiguousarray(h_start, dtype=np.int64),
        np.ascontiguousarray(h_sec, dtype=np.int64),
        np.ascontiguousarray(h_n, dtype=np.int64),
        np.ascontiguousarray(c_start, dtype=np.int64),
        np.ascontiguousarray(c_bld, dtype=np.int64),
        np.ascontiguousarray(c_term, dtype=np.float64),
        np.ascontiguousarray(b_lat, dtype=np.float64),
        np.ascontiguousarray(b_lon, dtype=np.float64),
        np.ascontiguousarray(b_ok, dtype=np.bool_),
        float(evidence),
    )
    return tuple(np.asarray(a) for a in out)  # type: ignore[return-value]
