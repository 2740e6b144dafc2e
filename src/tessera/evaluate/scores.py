"""Scores shared by metric providers and benchmarks: ROC AUC and community agreement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tessera.errors import EvaluationError


def roc_auc(scores: Sequence[float] | Any, labels: Sequence[bool] | Any) -> float:
    """The area under the ROC curve: the chance that a random positive outscores a
    random negative, ties counting one half (the Mann-Whitney U over n+ n-).

    ``scores`` and ``labels`` are equal-length sequences (or NumPy arrays); both classes
    must be present.
    """
    import numpy as np

    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    if s.shape != y.shape:
        raise EvaluationError(f"roc_auc: {s.size} scores but {y.size} labels")
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        raise EvaluationError(f"roc_auc needs both classes ({pos} positive, {neg} negative)")
    order = np.argsort(s, kind="stable")
    ordered = s[order]
    # average ranks (1-based) of tied scores: ties count one half
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], ordered.size]
    ranks = np.empty(s.size)
    ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def nmi(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Normalised mutual information of two labellings of the same items,
    ``2 I(A; B) / (H(A) + H(B))`` (Danon et al. 2005; igraph's ``compare_communities``);
    1 when they agree up to renaming."""
    return _compare(a, b, "nmi")


def adjusted_rand(a: Sequence[Any], b: Sequence[Any]) -> float:
    """The adjusted Rand index of two labellings (Hubert and Arabie 1985): 1 when they
    agree, about 0 for labellings as alike as chance makes them."""
    return _compare(a, b, "adjusted_rand")


def _compare(a: Sequence[Any], b: Sequence[Any], method: str) -> float:
    from igraph import compare_communities

    if len(a) != len(b):
        raise EvaluationError(f"{method}: {len(a)} labels against {len(b)}")
    codes_a = {v: i for i, v in enumerate(dict.fromkeys(a))}
    codes_b = {v: i for i, v in enumerate(dict.fromkeys(b))}
    return float(
        compare_communities([codes_a[v] for v in a], [codes_b[v] for v in b], method=method)
    )
