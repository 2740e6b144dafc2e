"""Unicity of spatio-temporal traces (de Montjoye et al. 2013, "Unique in the Crowd").

A *trace* is a set of points, a point being a (place, UTC hour) pair numbered
``0 .. P-1``. The *population* is every subject's trace. For a subject ``i`` with
``n_i`` points and a number of points ``p``, ``K`` random sets of ``p`` distinct points
are drawn from its trace; a draw *singles out* ``i`` when no other subject's trace
contains all ``p`` points. ``unicity_p(i)`` is the share of the ``K`` draws that single
``i`` out (NaN when ``n_i < p``). De Montjoye et al. report the share of traces that
four random points at hourly antenna resolution single out (95 % of 1.5 million).

**Intersection.** The population is stored by point, compressed (CSR): ``ptr`` of
length ``P + 1`` and ``subjects`` where ``subjects[ptr[q]:ptr[q + 1]]`` are the
subjects with point ``q``, sorted. For a draw, the kernel walks the shortest of the
``p`` lists and looks every other subject in it up in the other lists by binary
search, stopping at the first one found in all of them: ``O(m p log M)`` for a
shortest list of ``m`` and longest of ``M`` subjects, independent of the population
size.

**Draws.** A counter-based generator (SplitMix64 over ``seed``, the subject's
``key``, ``p`` and the draw number) makes every draw a function of those four numbers
alone: the figures do not depend on the order or the number of subjects computed
together, and the same subject drawn again from a modified trace (a what-if) uses the
same random numbers (common random numbers: the difference is less noisy). Distinct
points are drawn by rejection (``p <= 4`` is small).

The kernel is compiled with numba on first use and runs on all cores over ranges of
subjects.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any

import numpy as np

MAX_P = 4
DRAWS = 50
SEED = 2013

_KERNEL: list[Any] = []


def _sorted_pairs(subject: np.ndarray, point: np.ndarray, n_points: int) -> np.ndarray:
    """``subject * n_points + point`` of each pair, sorted and distinct (sorted already
    when the pairs come in (subject, point) order, as the stage reads them)."""
    subject = np.asarray(subject, dtype=np.int64)
    point = np.asarray(point, dtype=np.int64)
    if len(subject) != len(point):
        raise ValueError("unicity: subject and point differ in length")
    if len(point) and (point.min() < 0 or point.max() >= n_points or subject.min() < 0):
        raise ValueError("unicity: every point must lie in 0 .. n_points - 1, subjects >= 0")
    key = subject * n_points + point
    if len(key) > 1 and not bool(np.all(key[1:] > key[:-1])):
        key = np.unique(key)
    return np.asarray(key, dtype=np.int64)


def population(
    subject: np.ndarray, point: np.ndarray, n_points: int
) -> tuple[np.ndarray, np.ndarray]:
    """The CSR of the population by point: ``(ptr, subjects)``, each point's subjects
    sorted and distinct, from parallel arrays of (subject, point) pairs (a counting
    sort by point of the pairs in (subject, point) order)."""
    key = _sorted_pairs(subject, point, n_points)
    subj, pts = key // n_points, key % n_points
    counts = np.bincount(pts, minlength=n_points)
    ptr = np.zeros(n_points + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    # a stable sort by point keeps each point's subjects in increasing order
    order = np.argsort(pts, kind="stable")
    return ptr, subj[order]


def traces(
    code: np.ndarray, point: np.ndarray, n_points: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Traces as CSR: ``(codes, ptr, points)`` where ``points[ptr[g]:ptr[g + 1]]`` are
    the distinct points of subject ``codes[g]``, from (subject, point) pairs."""
    code = np.asarray(code, dtype=np.int64)
    point = np.asarray(point, dtype=np.int64)
    if len(code) == 0:
        return np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int64)
    width = int(point.max()) + 1 if n_points is None else n_points
    key = _sorted_pairs(code, point, width)
    c, q = key // width, key % width
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    ptr = np.r_[starts, len(c)].astype(np.int64)
    return c[starts], ptr, q


def _kernel() -> Any:
    if _KERNEL:
        return _KERNEL[0]
    from tessera.life.kernels import jit

    @jit
    def unique_draws(
        pop_ptr: np.ndarray,
        pop_subj: np.ndarray,
        own_ptr: np.ndarray,
        own_pts: np.ndarray,
        own_code: np.ndarray,
        keys: np.ndarray,
        p: int,
        draws: int,
        seed: int,
        out: np.ndarray,
        lo: int,
        hi: int,
    ) -> None:
        mask = np.uint64(0xFFFFFFFFFFFFFFFF)
        chosen = np.empty(p, dtype=np.int64)
        for g in range(lo, hi):
            a = own_ptr[g]
            n = own_ptr[g + 1] - a
            if n < p:
                out[g] = -1
                continue
            me = own_code[g]
            state = (
                np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
                + np.uint64(keys[g]) * np.uint64(0xBF58476D1CE4E5B9)
                + np.uint64(p) * np.uint64(0x94D049BB133111EB)
            ) & mask
            unique = 0
            for _ in range(draws):
                # p distinct points, by rejection
                j = 0
                while j < p:
                    state = (state + np.uint64(0x9E3779B97F4A7C15)) & mask
                    z = state
                    z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & mask
                    z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & mask
                    z = z ^ (z >> np.uint64(31))
                    r = own_pts[a + np.int64(z % np.uint64(n))]
                    dup = False
                    for k in range(j):
                        if chosen[k] == r:
                            dup = True
                            break
                    if not dup:
                        chosen[j] = r
                        j += 1
                # the shortest list, then every other subject in it looked up in the rest
                best = 0
                for k in range(1, p):
                    if (pop_ptr[chosen[k] + 1] - pop_ptr[chosen[k]]) < (
                        pop_ptr[chosen[best] + 1] - pop_ptr[chosen[best]]
                    ):
                        best = k
                other = False
                for x in range(pop_ptr[chosen[best]], pop_ptr[chosen[best] + 1]):
                    s = pop_subj[x]
                    if s == me:
                        continue
                    everywhere = True
                    for k in range(p):
                        if k == best:
                            continue
                        lo_k = pop_ptr[chosen[k]]
                        hi_k = pop_ptr[chosen[k] + 1]
                        while lo_k < hi_k:
                            mid = (lo_k + hi_k) // 2
                            if pop_subj[mid] < s:
                                lo_k = mid + 1
                            else:
                                hi_k = mid
                        if lo_k >= pop_ptr[chosen[k] + 1] or pop_subj[lo_k] != s:
                            everywhere = False
                            break
                    if everywhere:
                        other = True
                        break
                if not other:
                    unique += 1
            out[g] = unique

    _KERNEL.append(unique_draws)
    return unique_draws


def unicity(
    pop: tuple[np.ndarray, np.ndarray],
    own_ptr: np.ndarray,
    own_points: np.ndarray,
    own_code: np.ndarray,
    p: int,
    *,
    keys: np.ndarray | None = None,
    draws: int = DRAWS,
    seed: int = SEED,
) -> np.ndarray:
    """``unicity_p`` of each trace ``own_points[own_ptr[g]:own_ptr[g + 1]]`` (subject
    ``own_code[g]``, whose own entry in ``pop`` is ignored): the share of ``draws``
    random sets of ``p`` distinct points of the trace that no other subject of ``pop``
    (from :func:`population`) has all of; NaN where the trace has fewer than ``p``
    points. ``keys`` (default ``own_code``) seed each subject's draws."""
    if not 1 <= p <= MAX_P:
        raise ValueError(f"unicity: p must be in 1 .. {MAX_P}, got {p}")
    if draws < 1:
        raise ValueError(f"unicity: draws must be positive, got {draws}")
    pop_ptr = np.ascontiguousarray(pop[0], dtype=np.int64)
    pop_subj = np.ascontiguousarray(pop[1], dtype=np.int64)
    optr = np.ascontiguousarray(own_ptr, dtype=np.int64)
    opts = np.ascontiguousarray(own_points, dtype=np.int64)
    ocode = np.ascontiguousarray(own_code, dtype=np.int64)
    okeys = ocode if keys is None else np.ascontiguousarray(keys, dtype=np.int64)
    groups = len(ocode)
    if len(optr) != groups + 1 or len(okeys) != groups:
        raise ValueError("unicity: own_ptr must have one more entry than own_code and keys")
    if len(opts) and (opts.min() < 0 or opts.max() >= len(pop_ptr) - 1):
        raise ValueError("unicity: a trace holds a point the population does not know")
    out = np.zeros(groups, dtype=np.int64)
    if groups == 0:
        return np.zeros(0)
    kernel = _kernel()
    workers = max(1, os.cpu_count() or 1)
    bounds = np.unique(np.linspace(0, groups, min(groups, 4 * workers) + 1).astype(np.int64))
    spans = [(int(lo), int(hi)) for lo, hi in pairwise(bounds) if hi > lo]
    args: tuple[Any, ...] = (pop_ptr, pop_subj, optr, opts, ocode, okeys, p, draws, seed, out)
    if workers == 1 or len(spans) == 1:
        for lo, hi in spans:
            kernel(*args, lo, hi)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(lambda a, b: kernel(*args, a, b), lo, hi) for lo, hi in spans]
            for f in futures:
                f.result()
    share = out.astype(np.float64) / draws
    share[out < 0] = np.nan
    return share


def points_to_single_out(u: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """The least ``p`` (1-based column of ``u``, shape (subjects, MAX_P)) whose unicity
    reaches ``threshold``; 0 where none does."""
    hit = np.nan_to_num(u, nan=0.0) >= threshold
    first = np.argmax(hit, axis=1) + 1
    return np.where(hit.any(axis=1), first, 0)


def effective(u: np.ndarray) -> np.ndarray:
    """Unicity with the NaN of a trace shorter than ``p`` replaced by the value at the
    whole trace (its last defined ``p``; 0 for an empty trace): an observer who knows
    every point of a short trace knows no more by asking for more points."""
    out = np.nan_to_num(np.asarray(u, dtype=np.float64).copy(), nan=0.0)
    defined = ~np.isnan(u)
    for k in range(1, out.shape[1]):
        gap = ~defined[:, k]
        out[gap, k] = out[gap, k - 1]
    return out
