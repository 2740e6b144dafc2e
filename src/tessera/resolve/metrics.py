"""Scores of a clustering against the true one: pairwise and B-cubed.

Both take two mappings ``record -> cluster label`` and score the records present in
both. Pairwise precision is the share of predicted same-entity pairs that are true;
recall the share of true pairs predicted; B-cubed (Bagga and Baldwin 1998) averages,
per record, the share of its predicted cluster that truly belongs with it (precision)
and the share of its true cluster found with it (recall). Computed from the
contingency table of (predicted, true) cluster sizes, so it is linear in records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def cluster_scores(
    predicted: Mapping[Hashable, Hashable], truth: Mapping[Hashable, Hashable]
) -> dict[str, float]:
    """``pairwise_precision``, ``pairwise_recall``, ``pairwise_f1``, ``bcubed_precision``,
    ``bcubed_recall``, ``bcubed_f1``, ``records`` and ``true_pairs``. A precision with
    no predicted pairs (or a recall with no true pairs) is 1.0: nothing was claimed
    wrongly (or missed)."""
    keys = [k for k in predicted if k in truth]
    cells = Counter((predicted[k], truth[k]) for k in keys)
    pred_size = Counter(predicted[k] for k in keys)
    true_size = Counter(truth[k] for k in keys)

    def pairs(n: int) -> int:
        return n * (n - 1) // 2

    tp = sum(pairs(n) for n in cells.values())
    pred_pairs = sum(pairs(n) for n in pred_size.values())
    true_pairs = sum(pairs(n) for n in true_size.values())
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    n = len(keys)
    if n:
        b_precision = sum(m * m / pred_size[p] for (p, _), m in cells.items()) / n
        b_recall = sum(m * m / true_size[t] for (_, t), m in cells.items()) / n
    else:
        b_precision = b_recall = 1.0
    return {
        "pairwise_precision": precision,
        "pairwise_recall": recall,
        "pairwise_f1": _f1(precision, recall),
        "bcubed_precision": b_precision,
        "bcubed_recall": b_recall,
        "bcubed_f1": _f1(b_precision, b_recall),
        "records": float(n),
        "true_pairs": float(true_pairs),
    }
