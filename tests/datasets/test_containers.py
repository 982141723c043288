"""The result dataclasses: train/test views keep every per-sample field aligned."""

from __future__ import annotations

import numpy as np

from tsexplain.datasets import make_anomaly_sequences, make_quality_signals


def test_train_test_views_partition_samples():
    d = make_anomaly_sequences(n_train=30, n_test=10, seed=0)
    tr, te = d.train, d.test
    assert type(tr) is type(d)
    assert tr.n_samples == 30 and te.n_samples == 10
    np.testing.assert_array_equal(np.concatenate([tr.X, te.X]), d.X)
    np.testing.assert_array_equal(np.concatenate([tr.mask, te.mask]), d.mask)
    assert (tr.n_channels, tr.n_timesteps) == (3, 50)
    assert "30 train / 10 test" in repr(d)


def test_subset_keeps_truth_aligned():
    d = make_quality_signals(n_train=8, n_test=4, length=32, seed=0)
    s = d.subset(np.array([3, 1]))
    np.testing.assert_array_equal(s.clean, d.clean[[3, 1]])
    np.testing.assert_array_equal(s.perturbations, d.perturbations[[3, 1]])
    np.testing.assert_array_equal(s.ideal_gradient, s.clean - s.X)
    assert s.score_range == d.score_range
