"""The network metrics: the scores they rest on, and the providers on a simulated district."""

from __future__ import annotations

from pathlib import Path

import pytest

from tessera.errors import EvaluationError
from tessera.evaluate import network as network_eval
from tessera.evaluate.scores import adjusted_rand, nmi, roc_auc
from tessera.evaluate.truth import Truth
from tessera.workspace import Workspace


def test_roc_auc_counts_ties_as_one_half() -> None:
    assert roc_auc([1, 2, 3, 4], [False, False, True, True]) == 1.0
    assert roc_auc([4, 3, 2, 1], [False, False, True, True]) == 0.0
    assert roc_auc([5, 5, 5, 5], [False, True, False, True]) == 0.5
    # positives 2 and 3 against negatives 1 and 2: 1 + 0.5 + 1 + 1 of 4 pairs
    assert roc_auc([1, 2, 2, 3], [False, True, False, True]) == 0.875
    with pytest.raises(EvaluationError, match="both classes"):
        roc_auc([1, 2], [True, True])


def test_community_agreement_ignores_names() -> None:
    assert nmi([1, 1, 2, 2], ["x", "x", "y", "y"]) == pytest.approx(1.0)
    assert nmi([1, 1, 2, 2], ["x", "y", "x", "y"]) == pytest.approx(0.0)
    assert adjusted_rand([1, 1, 2, 2, 3, 3], ["a", "a", "b", "b", "c", "c"]) == pytest.approx(1.0)
    assert 0.0 < nmi([1, 1, 1, 2, 2, 2], [1, 1, 2, 2, 2, 2]) < 1.0
    with pytest.raises(EvaluationError, match="labels against"):
        nmi([1, 2], [1])


def test_ties_and_communities_on_a_small_simulated_district(linked: tuple[Path, Path]) -> None:
    out, path = linked
    truth = Truth(out / "truth")
    with Workspace.open(path) as ws:
        ties = network_eval._ties(ws, truth)
        communities = network_eval._communities(ws, truth)
    # measured: AUC 0.64, NMI 0.87 (5 days only; everyone alone: 0.95)
    assert ties["network.tie.positives"] > 1000
    assert ties["network.tie.auc"] >= 0.58
    assert communities["network.community.people"] > 150
    assert communities["network.community.nmi"] >= 0.65
    # the ties the data holds a trace of rank far better; no weight beats the oracle
    # by more than the luck of a false meeting (measured: 0.92 observable, ceiling 0.66)
    assert 0.2 < ties["network.tie.observable"] < 0.9
    assert ties["network.tie.auc_observable"] >= ties["network.tie.auc"] + 0.1
    assert ties["network.tie.auc"] <= ties["network.tie.auc_ceiling"] + 0.01
    # everyone alone is the baseline NMI; the adjusted Rand index is 0 for it
    assert 0.5 < communities["network.community.nmi_alone"] < 1.0
    assert communities["network.community.adjusted_rand"] >= 0.2  # measured: 0.28
