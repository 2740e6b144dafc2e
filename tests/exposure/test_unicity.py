"""Unicity (de Montjoye et al. 2013) on hand-made populations whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from tessera.exposure.unicity import (
    effective,
    points_to_single_out,
    population,
    traces,
    unicity,
)

# subject: points.  0 = {0, 1, 2}; 1 = {0, 1} (inside 0's trace); 2 = {0, 2, 3}; 3 = {4, 5}
WORLD = {0: [0, 1, 2], 1: [0, 1], 2: [0, 2, 3], 3: [4, 5]}


def _arrays(world: dict[int, list[int]]) -> tuple[np.ndarray, np.ndarray]:
    s = np.array([k for k, v in world.items() for _ in v], np.int64)
    q = np.array([x for v in world.values() for x in v], np.int64)
    return s, q


def _all(p: int, draws: int = 4000, seed: int = 7) -> np.ndarray:
    s, q = _arrays(WORLD)
    pop = population(s, q, 6)
    codes, ptr, pts = traces(s, q)
    return unicity(pop, ptr, pts, codes, p, draws=draws, seed=seed)


def test_population_lists_each_points_subjects_sorted() -> None:
    s, q = _arrays(WORLD)
    ptr, subj = population(s[::-1].copy(), q[::-1].copy(), 6)  # any order in
    assert ptr.tolist() == [0, 3, 5, 7, 8, 9, 10]
    assert subj.tolist() == [0, 1, 2, 0, 1, 0, 2, 2, 3, 3]


def test_exact_answers() -> None:
    """Subject 1's points all lie in subject 0's trace: never singled out. Subject 3's
    points are its own: always. Subject 0: no single point is its own; of its pairs only
    {1, 2} is (1/3); its one triple is. Subject 2: point 3 is its own (1/3 of single
    points); pairs {0, 3} and {2, 3} are (2/3)."""
    u1, u2, u3 = _all(1), _all(2), _all(3)
    assert u1[1] == 0
    assert u2[1] == 0
    assert u1[3] == 1
    assert u2[3] == 1
    assert u1[0] == 0
    assert u3[0] == 1
    assert u3[2] == 1
    assert u2[0] == pytest.approx(1 / 3, abs=0.03)
    assert u1[2] == pytest.approx(1 / 3, abs=0.03)
    assert u2[2] == pytest.approx(2 / 3, abs=0.03)
    # fewer points than p: undefined
    assert np.isnan(u3[1])
    assert np.isnan(u3[3])
    assert np.isnan(_all(4)).all()


def test_draws_are_a_function_of_seed_and_subject_alone() -> None:
    a = _all(1, draws=50, seed=3)
    assert np.array_equal(a, _all(1, draws=50, seed=3), equal_nan=True)
    others = [_all(2, draws=50, seed=k) for k in range(4, 9)]
    assert any(not np.array_equal(_all(2, draws=50, seed=3), o, equal_nan=True) for o in others)
    # subject 2 alone gives what it gave among the others
    s, q = _arrays(WORLD)
    pop = population(s, q, 6)
    alone = unicity(pop, np.array([0, 3]), np.array([0, 2, 3]), np.array([2]), 1, draws=50, seed=3)
    assert alone[0] == a[2]


def test_points_to_single_out_and_effective_values() -> None:
    u = np.array([[0.1, 0.4, 0.6, 0.9], [0.0, 0.2, np.nan, np.nan], [0.7, 1.0, 1.0, 1.0]])
    assert points_to_single_out(u).tolist() == [3, 0, 1]
    assert effective(u)[1].tolist() == [0.0, 0.2, 0.2, 0.2]


def test_bad_arguments_are_refused() -> None:
    s, q = _arrays(WORLD)
    pop = population(s, q, 6)
    with pytest.raises(ValueError, match="p must be"):
        unicity(pop, np.array([0, 1]), np.array([0]), np.array([0]), 5)
    with pytest.raises(ValueError, match="does not know"):
        unicity(pop, np.array([0, 1]), np.array([9]), np.array([0]), 1)
