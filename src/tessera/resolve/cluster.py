"""Clustering scored pairs into entities without chaining.

Connected components at a threshold (Splink's ``cluster_pairwise_predictions_at_threshold``)
let one weak or wrong link merge two large clusters: A1-A2-A3 and B1-B2 become one
entity because A3 and B1 look alike. Splink users have asked for clustering that
resists this (splink issues on "chaining" and on splitting clusters by density).
Tessera clusters greedily, strongest pair first, and merges two clusters only when

* no analyst judged any record of one "not same" as any record of the other, and
* enough of the pairs *between* them support the merge: at least ``density`` of the
  ``|A| x |B|`` cross pairs scored at or above ``support`` probability.

Two single records merge on their one pair; a record joins a pair of records when it
is supported by one of the two; but a cluster of three and a cluster of two need three
supporting cross pairs, so one weak link cannot merge them. Analyst "same" judgements
are applied first and always hold. The result does not depend on input order: edges
are sorted by (probability, ids) and ties broken by ids.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tessera.errors import ResolutionError


@dataclass(frozen=True)
class ClusterResult:
    """``cluster[record] = representative`` (the smallest record id of its cluster), and
    the "not same" judgements that contradicted "same" judgements (ignored)."""

    cluster: dict[int, int]
    conflicts: list[tuple[int, int]]


def cluster_records(
    records: Iterable[int],
    pairs: Sequence[tuple[int, int, float]],
    *,
    threshold: float,
    support: float,
    density: float = 0.5,
    same: Sequence[tuple[int, int]] = (),
    not_same: Sequence[tuple[int, int]] = (),
) -> ClusterResult:
    """Cluster ``records`` from scored ``pairs`` ``(a, b, probability)``.

    Pairs at or above ``threshold`` may merge clusters; pairs at or above ``support``
    count as support between clusters (``support <= threshold``)."""
    if not 0 <= support <= threshold <= 1:
        raise ResolutionError(
            f"need 0 <= support <= threshold <= 1, got support={support}, threshold={threshold}"
        )
    if not 0 < density <= 1:
        raise ResolutionError(f"density must be in (0, 1], got {density}")
    parent: dict[int, int] = {int(r): int(r) for r in records}
    for a, b in [*same, *not_same]:
        for r in (a, b):
            if r not in parent:
                raise ResolutionError(f"judged record {r} is not among the records to cluster")
    size = dict.fromkeys(parent, 1)
    # cluster -> neighbouring cluster -> number of supporting pairs
    links: dict[int, dict[int, int]] = {r: {} for r in parent}
    # cluster -> clusters it must never join
    apart: dict[int, dict[int, int]] = {r: {} for r in parent}

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def bump(table: dict[int, dict[int, int]], a: int, b: int, by: int = 1) -> None:
        table[a][b] = table[a].get(b, 0) + by
        table[b][a] = table[b].get(a, 0) + by

    def union(a: int, b: int) -> int:
        if size[a] < size[b] or (size[a] == size[b] and b < a):
            a, b = b, a
        parent[b] = a
        size[a] += size.pop(b)
        for table in (links, apart):
            for other, n in table.pop(b).items():
                table[other].pop(b, None)
                if other != a:
                    bump(table, a, other, n)
            table[a].pop(b, None)
        return a

    strong: list[tuple[float, int, int]] = []
    for a, b, p in pairs:
        a, b = int(a), int(b)
        if a == b:
            continue
        if a not in parent or b not in parent:
            raise ResolutionError(f"pair ({a}, {b}) names a record that is not being clustered")
        if p >= support:
            bump(links, a, b)
        if p >= threshold:
            strong.append((-float(p), min(a, b), max(a, b)))
    for a, b in not_same:
        if a != b:
            bump(apart, a, b)
    conflicts: list[tuple[int, int]] = []
    for a, b in same:
        ra, rb = find(a), find(b)
        if ra != rb:
            union(ra, rb)
    for a, b in not_same:
        if find(a) == find(b):
            conflicts.append((min(a, b), max(a, b)))
    strong.sort()
    for _, a, b in strong:
        ra, rb = find(a), find(b)
        if ra == rb or rb in apart[ra]:
            continue
        need = math.ceil(density * size[ra] * size[rb])
        if links[ra].get(rb, 0) >= need:
            union(ra, rb)
    members: dict[int, list[int]] = {}
    for r in parent:
        members.setdefault(find(r), []).append(r)
    cluster = {r: min(group) for group in members.values() for r in group}
    return ClusterResult(cluster, sorted(set(conflicts)))
