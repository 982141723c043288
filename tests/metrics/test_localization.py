"""Localisation scores: perfect attributions, random ones near the base rate, hand-made ties."""

from __future__ import annotations

import numpy as np
import pytest

from tsexplain.exceptions import ParameterError, ShapeError
from tsexplain.metrics import (
    MassShare,
    PointingGame,
    TopKPrecisionRecall,
    channel_mass_share,
    mass_share,
    pointing_game,
    top_k_precision_recall,
)


def _spike_mask(n=50, c=3, t=40, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.zeros((n, c, t), dtype=bool)
    for i in range(n):
        ch = rng.integers(0, c - 1)  # the last channel is never informative
        start = rng.integers(0, t - 4)
        mask[i, ch, start : start + 4] = True
    return mask


def test_perfect_attribution():
    mask = _spike_mask()
    attr = mask * 2.5
    assert mass_share(attr, mask) == pytest.approx(1.0)
    assert mass_share(-attr, mask) == pytest.approx(1.0)  # magnitude by default
    assert pointing_game(attr, mask) == pytest.approx(1.0)
    p, r = top_k_precision_recall(attr, mask)
    assert p == pytest.approx(1.0) and r == pytest.approx(1.0)
    assert channel_mass_share(attr)[-1] == 0.0


def test_random_attribution_scores_the_mask_fraction():
    rng = np.random.default_rng(1)
    mask = _spike_mask(n=2000, seed=1)
    fraction = mask.mean()  # 4 / 120
    attr = rng.standard_normal(mask.shape)
    assert mass_share(attr, mask) == pytest.approx(fraction, rel=0.05)
    assert pointing_game(attr, mask) == pytest.approx(fraction, abs=0.01)  # binomial sd ~ 0.004
    p, r = top_k_precision_recall(attr, mask, k=12)
    assert p == pytest.approx(fraction, abs=0.005)
    assert r == pytest.approx(12 / 120, abs=0.01)
    share = channel_mass_share(attr)
    assert share.shape == (3,) and np.allclose(share, 1 / 3, atol=0.01)


def test_mass_share_hand_computed_and_signed_mode():
    attr = np.array([[[1.0, -2.0, 3.0, -4.0]]])
    mask = np.array([[True, True, False, False]])  # (C, T) mask broadcast over N
    assert mass_share(attr, mask) == pytest.approx(3.0 / 10.0)
    assert mass_share(attr, mask, absolute=False) == pytest.approx(1.0 / 4.0)
    assert np.isnan(mass_share(np.zeros((1, 1, 4)), mask))


def test_channel_share_on_an_unneeded_channel():
    attr = np.zeros((2, 3, 10))
    attr[:, 0] = 1.0
    attr[:, 1] = -3.0
    attr[0, 2, 0] = 6.0  # sample 0 puts 6 of 46 units on channel 2
    per = channel_mass_share(attr, reduction="none")
    assert per.shape == (2, 3) and np.allclose(per.sum(axis=1), 1.0)
    assert per[0, 2] == pytest.approx(6 / 46) and per[1, 2] == 0.0
    assert channel_mass_share(attr)[2] == pytest.approx(3 / 46)


def test_pointing_game_ties_and_empty_masks():
    attr = np.array([[[5.0, 5.0, 1.0, 5.0]], [[0.0, 9.0, 0.0, 0.0]], [[1.0, 1.0, 1.0, 1.0]]])
    mask = np.array([[[1, 0, 0, 0]], [[1, 0, 0, 0]], [[0, 0, 0, 0]]], dtype=bool)
    hits = pointing_game(attr, mask, reduction="none")
    assert hits[0] == pytest.approx(1 / 3)  # one of three tied maxima is on the mask
    assert hits[1] == 0.0
    assert np.isnan(hits[2])  # nothing to point at
    assert pointing_game(attr, mask) == pytest.approx(1 / 6)
    signed = np.array([[[-9.0, 1.0, 0.0, 0.0]]])
    m = np.array([[[1, 0, 0, 0]]], dtype=bool)
    assert pointing_game(signed, m) == 1.0 and pointing_game(signed, m, absolute=False) == 0.0


def test_top_k_in_time_and_in_feature():
    # Ismail-style "rare feature": channel 1 informative over the middle steps.
    mask = np.zeros((1, 4, 10), dtype=bool)
    mask[0, 1, 3:7] = True
    attr = np.zeros((1, 4, 10))
    attr[0, 1, 3:7] = 1.0  # right channel and steps...
    attr[0, 2, 0] = 10.0  # ...and one loud wrong cell
    p, r = top_k_precision_recall(attr, mask, axis="feature", k=1)
    assert (p, r) == (0.0, 0.0)  # channel 2 holds more mass (10 > 4)
    p, r = top_k_precision_recall(attr, mask, axis="feature", k=2)
    assert (p, r) == (0.5, 1.0)
    p, r = top_k_precision_recall(attr, mask, axis="time")  # k = 4 true steps
    assert p == pytest.approx(3 / 4) and r == pytest.approx(3 / 4)
    p, r = top_k_precision_recall(attr, mask, axis="cell", k=5)
    assert p == pytest.approx(4 / 5) and r == pytest.approx(1.0)


def test_top_k_ties_give_the_expected_value():
    mask = np.zeros((1, 1, 10), dtype=bool)
    mask[0, 0, :2] = True
    const = np.ones((1, 1, 10))
    p, r = top_k_precision_recall(const, mask, k=5)
    assert p == pytest.approx(0.2) and r == pytest.approx(0.5)  # base rate, k / n


def test_accumulating_metrics_match_functions():
    rng = np.random.default_rng(2)
    mask = _spike_mask(n=20, seed=2)
    attr = mask * 1.0 + rng.random(mask.shape)
    for metric, fn in ((MassShare(), mass_share), (PointingGame(), pointing_game)):
        metric.update(attr[:7], mask[:7])
        metric.update(attr[7:], mask[7:])
        assert metric.compute() == pytest.approx(fn(attr, mask))
    m = TopKPrecisionRecall(axis="time", k=3)
    m.update(attr[:7], mask[:7])
    m.update(attr[7:], mask[7:])
    assert m.compute() == pytest.approx(top_k_precision_recall(attr, mask, axis="time", k=3))


def test_errors():
    with pytest.raises(
        ShapeError, match=r"attribution.shape = \(2, 3, 10\).*mask.shape = \(2, 3, 9\)"
    ):
        mass_share(np.ones((2, 3, 10)), np.ones((2, 3, 9)))
    with pytest.raises(ShapeError, match="3 dimensions"):
        pointing_game(np.ones((3, 10)), np.ones((3, 10)))
    with pytest.raises(ParameterError, match="axis"):
        top_k_precision_recall(np.ones((1, 2, 3)), np.ones((1, 2, 3)), axis="channel")
    with pytest.raises(ValueError, match="exceeds"):
        top_k_precision_recall(np.ones((1, 2, 3)), np.ones((1, 2, 3)), axis="feature", k=3)


@pytest.mark.parametrize("bad", [np.nan, 0.5, 2.0])
def test_a_mask_value_other_than_0_1_is_refused_not_read_as_true(bad):
    """A NaN or a weight in the mask was counted as an informative cell; a literal 0/1 mask of the
    same cells gives the share by hand."""
    a = np.array([[[1.0, 3.0, 0.0, 4.0]]])  # (1, 1, 4)
    mask = np.array([[0.0, 1.0, 0.0, 0.0]])
    assert mass_share(a, mask) == 3.0 / 8.0
    soft = mask.copy()
    soft[0, 3] = bad
    for fn in (mass_share, pointing_game, top_k_precision_recall):
        with pytest.raises(ParameterError, match=r"^mask must hold True/False or 1/0 .*1 other"):
            fn(a, soft)
