"""make_anomaly_sequences against its definition (TSViz section III-B)."""

from __future__ import annotations

import numpy as np
import pytest

from tsexplain.datasets import make_anomaly_sequences
from tsexplain.exceptions import ParameterError


@pytest.fixture(scope="module")
def world():
    return make_anomaly_sequences(n_train=5000, n_test=1000, seed=2)


def test_shapes_names_and_split(world):
    assert world.X.shape == world.mask.shape == (6000, 3, 50)
    assert world.channel_names == ("pressure", "temperature", "torque")
    assert world.train_mask.sum() == 5000 and world.train_mask[:5000].all()
    assert set(np.unique(world.y)) == {0, 1}
    assert 0.45 < world.y.mean() < 0.55


def test_never_an_anomaly_in_pressure(world):
    assert not world.mask[:, 0].any()
    assert world.mask[:, 1].any() and world.mask[:, 2].any()


def test_label_is_presence_of_an_anomaly(world):
    n_anom = world.mask.sum(axis=(1, 2))
    np.testing.assert_array_equal(world.y, (n_anom > 0).astype(int))
    assert n_anom.max() <= 3


def test_anomalies_are_point_outliers(world):
    # A point anomaly sticks out of its neighbours far more than normal steps do.
    x = world.X.astype(float)
    inner = np.zeros_like(world.mask)
    inner[:, :, 1:-1] = True
    dev = np.abs(x[:, :, 1:-1] - 0.5 * (x[:, :, :-2] + x[:, :, 2:]))
    anomalous = world.mask[:, :, 1:-1]
    # isolated anomalies only (no anomalous neighbour)
    iso = anomalous & ~world.mask[:, :, :-2] & ~world.mask[:, :, 2:]
    assert np.percentile(dev[iso], 1) > 1.5
    assert (
        np.percentile(dev[~anomalous & (world.mask.sum(axis=(1, 2)) == 0)[:, None, None]], 99.9)
        < 1.5
    )


def test_signals_are_smooth_and_standardised():
    d = make_anomaly_sequences(n_train=3000, n_test=0, anomaly_fraction=0.0, seed=0)
    assert d.y.sum() == 0 and not d.mask.any()
    x = d.X.astype(float)
    np.testing.assert_allclose(x.mean(axis=(0, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=(0, 2)), 1, atol=1e-5)
    # lag-1 autocorrelation within sequences is high: smooth, not noise-like
    xc = x - x.mean(axis=2, keepdims=True)
    r1 = (xc[:, :, 1:] * xc[:, :, :-1]).sum(axis=(0, 2)) / (xc**2).sum(axis=(0, 2))
    assert (r1 > 0.5).all()


def test_seed_reproduces():
    a = make_anomaly_sequences(n_train=50, n_test=10, seed=9)
    b = make_anomaly_sequences(n_train=50, n_test=10, seed=9)
    c = make_anomaly_sequences(n_train=50, n_test=10, seed=10)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert not np.array_equal(a.X, c.X)


def test_default_size_is_the_papers():
    d = make_anomaly_sequences(seed=0)
    assert d.X.shape == (60000, 3, 50)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_test": -1}, "n_test"),
        ({"anomaly_fraction": 2.0}, "anomaly_fraction"),
        ({"anomaly_size": (0, 1)}, "anomaly_size"),
        ({"max_anomalies": 0}, "max_anomalies"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        make_anomaly_sequences(**{"n_train": 10, "n_test": 0, **kwargs})
