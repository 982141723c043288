"""make_quality_signals against its definition (AGRA section III-A)."""

from __future__ import annotations

import numpy as np
import pytest

from tsexplain.datasets import make_quality_signals
from tsexplain.exceptions import ParameterError


@pytest.fixture(scope="module")
def world():
    return make_quality_signals(seed=1)


def test_shapes_split_and_dtypes(world):
    assert world.X.shape == world.clean.shape == world.mask.shape == (1000, 2, 200)
    assert world.y.shape == (1000,)
    assert world.train_mask.sum() == 750 and world.train_mask[:750].all()
    assert world.train.X.shape == (750, 2, 200) and world.test.mask.shape == (250, 2, 200)
    assert world.mask.dtype == bool


def test_mask_is_exactly_where_signal_was_changed(world):
    np.testing.assert_array_equal(world.mask, world.X != world.clean)
    np.testing.assert_allclose(world.ideal_gradient, world.clean - world.X)


def test_perturbation_count_and_positions_match_mask(world):
    counts = world.n_perturbations
    assert counts.min() == 0 and counts.max() == 8
    assert set(np.unique(counts)) == set(range(9))  # uniform over 0..8
    for i in range(world.X.shape[0]):
        rows = world.perturbations[i]
        live = rows[rows[:, 0] >= 0]
        assert len(live) == counts[i]
        assert (rows[counts[i] :] == -1).all()
        if counts[i] == 0:
            assert not world.mask[i].any()
            continue
        # every centre is perturbed; every perturbed step lies within 3 widths of a centre
        assert world.mask[i][live[:, 0], live[:, 1]].all()
        ch, st = np.nonzero(world.mask[i])
        near = (ch[:, None] == live[None, :, 0]) & (np.abs(st[:, None] - live[None, :, 1]) <= 4)
        assert near.any(axis=1).all()


def test_isolated_bump_has_gaussian_shape():
    d = make_quality_signals(n_train=200, n_test=0, length=200, width=2.0, seed=3)
    i = int(np.flatnonzero(d.n_perturbations == 1)[0])
    ch, c = d.perturbations[i, 0]
    bump = d.X[i, ch] - d.clean[i, ch]
    lo, hi = max(c - 6, 0), min(c + 7, 200)
    k = np.arange(lo, hi) - c
    a = bump[c]
    np.testing.assert_allclose(bump[lo:hi], a * np.exp(-(k**2) / 8.0), atol=1e-12)
    assert 0.5 <= abs(a) <= 1.5


def test_score_is_linear_in_mse_within_range(world):
    worst, best = world.score_range
    assert (worst, best) == (10.0, 0.0)  # ideal signal scores 0, the score rises with the error
    assert world.y.min() >= best and world.y.max() <= worst
    np.testing.assert_array_equal(world.y[world.n_perturbations == 0], best)
    np.testing.assert_allclose(world.mse, ((world.X - world.clean) ** 2).mean(axis=(1, 2)))
    inside = world.y < worst
    slope = np.polyfit(world.mse[inside], world.y[inside], 1)
    np.testing.assert_allclose(world.y[inside], np.polyval(slope, world.mse[inside]), atol=1e-9)
    # independent slope: 10 / mse_max, mse_max = MSE of 8 disjoint bumps of amplitude 1.5
    # (sum of a Gaussian's squares ~ width * sqrt(pi) for width 1.5, truncated at 3 widths)
    k = np.arange(-4, 5)
    mse_max = 8 * 1.5**2 * np.sum(np.exp(-(k**2) / 1.5**2)) / (2 * 200)
    assert mse_max == pytest.approx(1.5 * np.sqrt(np.pi) * 8 * 1.5**2 / 400, rel=1e-2)
    np.testing.assert_allclose(slope, [10.0 / mse_max, 0.0], atol=1e-9)
    # more perturbations, higher (worse) score on average
    assert world.y[world.n_perturbations >= 6].mean() > world.y[world.n_perturbations <= 2].mean()


def test_score_range_orientation_is_a_choice():
    kw = {"n_train": 40, "n_test": 0, "length": 64, "seed": 2}
    down = make_quality_signals(**kw)
    up = make_quality_signals(score_range=(0.0, 10.0), **kw)
    np.testing.assert_array_equal(up.X, down.X)
    np.testing.assert_allclose(up.y, 10.0 - down.y)  # same MSE, mirrored score
    np.testing.assert_array_equal(up.y[up.n_perturbations == 0], 10.0)
    assert up.score_range == (0.0, 10.0)


def test_clean_signal_is_a_noisy_sinusoid(world):
    # A sinusoid's second difference is proportional to itself; the residual is the noise.
    c = world.clean[0, 0]
    noise_std = np.std(c - np.convolve(c, np.ones(5) / 5, mode="same")[:])
    assert noise_std < 0.1
    assert 0.8 < np.abs(world.clean).max(axis=2).mean() < 1.3


def test_seed_reproduces():
    a = make_quality_signals(n_train=5, n_test=5, seed=4)
    b = make_quality_signals(n_train=5, n_test=5, seed=4)
    c = make_quality_signals(n_train=5, n_test=5, seed=5)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_train": 0, "n_test": 0}, "at least 1"),
        ({"length": 3}, "length"),
        ({"amplitude": (-1, 2)}, "amplitude"),
        ({"score_range": (1, 1)}, "score_range"),
        ({"score_range": "ab"}, "score_range"),
        ({"width": 0}, "width"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        make_quality_signals(**kwargs)
