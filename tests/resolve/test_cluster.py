"""Known-answer tests of clustering and of the scores (tessera.resolve.cluster, .metrics)."""

from __future__ import annotations

import pytest

from tessera.errors import ResolutionError
from tessera.resolve.cluster import cluster_records
from tessera.resolve.metrics import cluster_scores


def groups(cluster: dict[int, int]) -> set[frozenset[int]]:
    out: dict[int, set[int]] = {}
    for r, c in cluster.items():
        out.setdefault(c, set()).add(r)
    return {frozenset(g) for g in out.values()}


def test_a_weak_link_does_not_chain_two_clusters() -> None:
    """A1-A2-A3 and B1-B2 are tight; one strong-enough pair A3-B1 must not merge them
    (it is 1 of the 6 cross pairs; half are needed)."""
    pairs = [
        (1, 2, 0.99), (1, 3, 0.99), (2, 3, 0.99),  # A
        (10, 11, 0.99),  # B
        (3, 10, 0.95),  # the weak bridge
    ]  # fmt: skip
    result = cluster_records([1, 2, 3, 10, 11], pairs, threshold=0.9, support=0.5)
    assert groups(result.cluster) == {frozenset({1, 2, 3}), frozenset({10, 11})}
    # connected components would have chained them
    merged = cluster_records([1, 2, 3, 10, 11], pairs, threshold=0.9, support=0.5, density=0.1)
    assert groups(merged.cluster) == {frozenset({1, 2, 3, 10, 11})}


def test_enough_cross_support_merges() -> None:
    """A record joins a pair when it is supported by one of the two (1 of 2 cross pairs)."""
    pairs = [(1, 2, 0.99), (2, 3, 0.97), (1, 3, 0.2)]
    result = cluster_records([1, 2, 3], pairs, threshold=0.9, support=0.5)
    assert groups(result.cluster) == {frozenset({1, 2, 3})}
    assert result.cluster[3] == 1  # represented by the smallest id


def test_judgements_override_the_model() -> None:
    pairs = [(1, 2, 0.99), (3, 4, 0.1)]
    result = cluster_records(
        [1, 2, 3, 4], pairs, threshold=0.9, support=0.5, same=[(3, 4)], not_same=[(1, 2)]
    )
    assert groups(result.cluster) == {frozenset({1}), frozenset({2}), frozenset({3, 4})}
    assert result.conflicts == []


def test_not_same_blocks_transitive_merges_and_conflicts_are_reported() -> None:
    """1 and 3 judged apart: 2 may join one of them, never bridge both."""
    pairs = [(1, 2, 0.99), (2, 3, 0.98)]
    result = cluster_records([1, 2, 3], pairs, threshold=0.9, support=0.5, not_same=[(1, 3)])
    assert groups(result.cluster) == {frozenset({1, 2}), frozenset({3})}
    clash = cluster_records(
        [1, 2, 3], [], threshold=0.9, support=0.5, same=[(1, 2), (2, 3)], not_same=[(1, 3)]
    )
    assert clash.conflicts == [(1, 3)]


def test_order_of_pairs_does_not_matter() -> None:
    pairs = [(1, 2, 0.95), (2, 3, 0.95), (3, 4, 0.95), (4, 5, 0.95), (1, 5, 0.6)]
    a = cluster_records(range(1, 6), pairs, threshold=0.9, support=0.5)
    b = cluster_records(range(1, 6), list(reversed(pairs)), threshold=0.9, support=0.5)
    assert a.cluster == b.cluster


def test_bad_parameters_and_unknown_records_raise() -> None:
    with pytest.raises(ResolutionError, match="support <= threshold"):
        cluster_records([1], [], threshold=0.5, support=0.9)
    with pytest.raises(ResolutionError, match="not being clustered"):
        cluster_records([1], [(1, 2, 0.99)], threshold=0.9, support=0.5)
    with pytest.raises(ResolutionError, match="judged record 7"):
        cluster_records([1], [], threshold=0.9, support=0.5, same=[(1, 7)])


def test_scores_known_answer() -> None:
    """Truth {a,b,c} {d}; predicted {a,b} {c,d}: 1 of 2 predicted pairs true, 1 of 3
    true pairs found. B-cubed precision: a,b 1; c,d 1/2 -> 0.75; recall a,b 2/3, c 1/3,
    d 1 -> 2/3."""
    truth = {"a": 1, "b": 1, "c": 1, "d": 2}
    predicted = {"a": "x", "b": "x", "c": "y", "d": "y"}
    s = cluster_scores(predicted, truth)
    assert s["pairwise_precision"] == pytest.approx(0.5)
    assert s["pairwise_recall"] == pytest.approx(1 / 3)
    assert s["pairwise_f1"] == pytest.approx(0.4)
    assert s["bcubed_precision"] == pytest.approx(0.75)
    assert s["bcubed_recall"] == pytest.approx(2 / 3)
    assert s["true_pairs"] == 3
    perfect = cluster_scores(truth, truth)
    assert perfect["pairwise_f1"] == perfect["bcubed_f1"] == 1.0
