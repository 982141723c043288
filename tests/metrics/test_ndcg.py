"""nDCG per state and per-step correlation: hand-computed values, perfect and random rankings."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tsexplain.exceptions import ParameterError, ShapeError
from tsexplain.metrics import NDCGPerState, ndcg_per_state, ndcg_score, per_step_correlation


def _dcg(gains_in_rank_order):
    return sum(g / math.log2(r + 2) for r, g in enumerate(gains_in_rank_order))


def test_hand_computed_three_features():
    # relevance (3, 1, 2); scores rank feature 1 first, then 0, then 2.
    dcg = 1 / math.log2(2) + 3 / math.log2(3) + 2 / math.log2(4)
    idcg = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_score([0.5, 0.9, 0.1], [3.0, 1.0, 2.0]) == pytest.approx(dcg / idcg)
    assert dcg / idcg == pytest.approx(0.81749, abs=1e-5)


def test_perfect_ranking_scores_one_and_reversed_is_worst():
    rel = np.array([5.0, 1.0, 3.0, 0.0, 2.0])
    assert ndcg_score(rel, rel) == pytest.approx(1.0)
    assert ndcg_score(rel * 7 + 1, rel) == pytest.approx(1.0)  # any increasing map of the truth
    worst = min(ndcg_score(np.array(p, float), rel) for p in itertools.permutations(range(5)))
    assert ndcg_score(-rel, rel) == pytest.approx(worst)


def test_ties_score_the_expected_random_order():
    rel = np.array([3.0, 1.0, 2.0, 0.0])
    perms = list(itertools.permutations(range(4)))
    expected = np.mean([_dcg(rel[list(p)]) for p in perms]) / _dcg(np.sort(rel)[::-1])
    assert ndcg_score(np.zeros(4), rel) == pytest.approx(expected)
    # A partial tie: feature 0 clearly first, the rest tied.
    rest = np.mean(
        [_dcg([3.0, *rel[[1 + i for i in p]]]) for p in itertools.permutations(range(3))]
    )
    assert ndcg_score([1.0, 0.0, 0.0, 0.0], rel) == pytest.approx(rest / _dcg([3, 2, 1, 0]))


def test_top_k_and_exponential_gain():
    rel = np.array([3.0, 1.0, 2.0])
    s = np.array([0.5, 0.9, 0.1])
    assert ndcg_score(s, rel, k=1) == pytest.approx(1.0 / 3.0)
    exp = (2**1 - 1) + (2**3 - 1) / math.log2(3) + (2**2 - 1) / 2
    ideal = (2**3 - 1) + (2**2 - 1) / math.log2(3) + (2**1 - 1) / 2
    assert ndcg_score(s, rel, gain="exponential") == pytest.approx(exp / ideal)


def test_random_scores_match_the_analytic_expectation():
    rng = np.random.default_rng(0)
    rel = np.array([4.0, 0.0, 1.0, 0.0, 2.0, 0.5, 0.0, 3.0])
    disc = 1 / np.log2(np.arange(2, rel.size + 2))
    expected = rel.mean() * disc.sum() / (np.sort(rel)[::-1] @ disc)
    draws = [ndcg_score(rng.standard_normal(rel.size), rel) for _ in range(3000)]
    assert np.mean(draws) == pytest.approx(expected, abs=0.01)
    assert np.mean(draws) < 0.9


def _world(rng, n_states=3, n_features=5, steps=40):
    coef = rng.standard_normal((n_states, n_features))
    states = np.repeat(np.arange(n_states), steps)
    return coef, np.repeat(coef.T, steps, axis=1), states


def test_ndcg_per_state_perfect_and_noisy():
    rng = np.random.default_rng(1)
    coef, F, states = _world(rng)
    assert np.allclose(ndcg_per_state(F, F, states), 1.0)
    assert np.allclose(ndcg_per_state(F[None], F, states), 1.0)  # (1, C, T) accepted
    # Noise that averages out within a state still ranks perfectly: the score compares means.
    noisy = F + np.where(np.arange(F.shape[1]) % 2, 0.3, -0.3)
    assert np.allclose(ndcg_per_state(noisy, F, states), 1.0)


def test_ndcg_per_state_equals_scores_of_state_means():
    rng = np.random.default_rng(2)
    coef, F, states = _world(rng, n_states=2)
    attr = rng.standard_normal(F.shape)
    got = ndcg_per_state(attr, F, states)
    for s in range(2):
        mean_a = attr[:, states == s].mean(axis=1)
        assert got[s] == pytest.approx(ndcg_score(np.abs(mean_a), np.abs(coef[s])))


def test_sign_handling():
    F = np.repeat(np.array([[2.0], [-3.0], [0.5]]), 4, axis=1)  # (C=3, T=4), one state
    states = np.zeros(4, dtype=int)
    flipped = -F  # every sign wrong, magnitudes right
    assert ndcg_per_state(flipped, F, states, sign="absolute")[0] == pytest.approx(1.0)
    assert ndcg_per_state(flipped, F, states, sign="signed")[0] < 0.8
    assert ndcg_per_state(F, F, states, sign="signed")[0] == pytest.approx(1.0)
    # "positive": relevance max(F, 0) = (2, 0, 0.5); F's signed ranking is ideal for it.
    assert ndcg_per_state(F, F, states, sign="positive")[0] == pytest.approx(1.0)
    # "signed" relevance is F - min(F) = (5, 0, 3.5).
    s = np.array([0.1, 0.3, 0.2])
    got = ndcg_per_state(np.repeat(s[:, None], 4, 1), F, states, sign="signed")[0]
    assert got == pytest.approx(ndcg_score(s, [5.0, 0.0, 3.5]))


def test_states_in_sorted_label_order_and_all_zero_relevance_is_nan():
    F = np.zeros((2, 6))
    F[:, 3:] = [[1.0], [2.0]]
    states = np.array([7, 7, 7, 3, 3, 3])  # label 3 holds the informative steps
    got = ndcg_per_state(F, F, states)
    assert got[0] == pytest.approx(1.0)  # state 3
    assert np.isnan(got[1])  # state 7: all coefficients 0


def test_accumulating_metric_matches_function():
    rng = np.random.default_rng(3)
    _, F, states = _world(rng, n_states=3, steps=30)
    attr = F + rng.standard_normal(F.shape) * 2
    m = NDCGPerState(sign="signed")
    for start in range(0, F.shape[1], 17):
        sl = slice(start, start + 17)
        m.update(attr[:, sl], F[:, sl], states[sl])
    assert np.allclose(m.compute(), ndcg_per_state(attr, F, states, sign="signed"))
    assert m.states == [0, 1, 2]
    m.reset()
    assert m.compute().size == 0


def test_per_step_correlation():
    rng = np.random.default_rng(4)
    _, F, states = _world(rng, n_features=6)
    assert per_step_correlation(F, F) == pytest.approx(1.0)
    assert per_step_correlation(-F, F) == pytest.approx(-1.0)
    assert per_step_correlation(-F, F, absolute=True) == pytest.approx(1.0)
    assert per_step_correlation(3 * F + 1, F) == pytest.approx(1.0)
    rand = [per_step_correlation(rng.standard_normal(F.shape), F) for _ in range(20)]
    assert abs(np.mean(rand)) < 0.05  # random attribution: about 0
    per = per_step_correlation(F, F, reduction="none")
    assert per.shape == (F.shape[1],)
    const = F.copy()
    const[:, 0] = 1.0  # constant across features at step 0: undefined there, skipped
    per = per_step_correlation(const, F, reduction="none")
    assert np.isnan(per[0]) and np.allclose(per[1:], 1.0)
    assert per_step_correlation(const, F) == pytest.approx(1.0)


def test_errors_name_both_shapes():
    F = np.ones((3, 10))
    with pytest.raises(
        ShapeError, match=r"attribution.shape = \(3, 9\).*coefficients.shape = \(3, 10\)"
    ):
        ndcg_per_state(np.ones((3, 9)), F, np.zeros(10))
    with pytest.raises(ShapeError, match=r"states.*\(10,\).*\(9,\)"):
        ndcg_per_state(F, F, np.zeros(9))
    with pytest.raises(ShapeError, match=r"\(2, 3, 10\)"):
        ndcg_per_state(np.ones((2, 3, 10)), F, np.zeros(10))
    with pytest.raises(ShapeError, match=r"\(3, 10\).*\(4, 10\)"):
        per_step_correlation(F, np.ones((4, 10)))
    with pytest.raises(ShapeError):
        ndcg_score([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="non-negative"):
        ndcg_score([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(ParameterError, match="sign"):
        ndcg_per_state(F, F, np.zeros(10), sign="abs")
