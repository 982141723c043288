"""make_ar_states against its definition (Time-SmoothGrad eq. 6 and 7)."""

from __future__ import annotations

import numpy as np
import pytest

from tsexplain.datasets import default_ar_coefficients, make_ar_states
from tsexplain.datasets.ar_states import _simulate_ar2
from tsexplain.exceptions import ParameterError


@pytest.fixture(scope="module")
def world():
    return make_ar_states(n_states=3, n_features=10, steps_per_state=2000, seed=3)


def test_shapes_and_split(world):
    n_steps = 3 * 2000
    assert world.X.shape == (1, 10, n_steps)
    assert world.y.shape == (1, n_steps)
    assert world.coefficients.shape == (10, n_steps)
    assert world.states.shape == world.train_mask.shape == (n_steps,)
    assert world.train_mask.dtype == bool
    for s in range(3):
        seg = world.states == s
        assert seg.sum() == 2000
        # first half of each state's segment is training data, the second half test data
        idx = np.flatnonzero(seg)
        assert world.train_mask[idx[:1000]].all() and not world.train_mask[idx[1000:]].any()
        assert (world.coefficients[:, seg].T == world.state_coefficients[s]).all()
    assert list(np.unique(world.states)) == [0, 1, 2]
    assert np.all(np.diff(world.states) >= 0)


def test_least_squares_recovers_F_s(world):
    for s in range(3):
        m = world.states == s
        fit = np.linalg.lstsq(world.X[0][:, m].T, world.y[0, m], rcond=None)[0]
        np.testing.assert_allclose(fit, world.state_coefficients[s], atol=0.05)


def test_target_noise_level():
    d = make_ar_states(n_states=2, n_features=3, steps_per_state=3000, noise_y=0.3, seed=0)
    resid = d.y[0] - np.einsum("ct,ct->t", d.coefficients, d.X[0])
    assert abs(resid.std() - 0.3) < 0.02
    d0 = make_ar_states(n_states=2, n_features=3, steps_per_state=100, noise_y=0.0, seed=0)
    np.testing.assert_allclose(d0.y[0], np.einsum("ct,ct->t", d0.coefficients, d0.X[0]))


def test_ar_coefficients_recovered_per_state(world):
    # Regress x_t on (x_{t-1}, x_{t-2}) inside each state, pooled over features.
    x = world.X[0]
    for s in range(3):
        idx = np.flatnonzero(world.states == s)[2:]
        design = np.stack([x[:, idx - 1].ravel(), x[:, idx - 2].ravel()], axis=1)
        fit = np.linalg.lstsq(design, x[:, idx].ravel(), rcond=None)[0]
        np.testing.assert_allclose(fit, world.ar_coefficients[s], atol=0.05)


def test_states_visible_in_variance(world):
    # The default coefficients give clearly different stationary variances (26, 1, 5.3).
    var = [world.X[0][:, world.states == s].var() for s in range(3)]
    assert var[0] > 3 * var[2] > 3 * var[1]


def test_simulation_matches_a_literal_loop():
    rng = np.random.default_rng(0)
    ar = np.array([[0.5, 0.2], [1.6, -0.7], [-0.9, 0.0]])
    seg = np.array([0] * 5 + [1] + [2] * 3 + [0] * 4)
    v = rng.standard_normal((3, seg.size))
    start = rng.standard_normal((2, 3))
    got = _simulate_ar2(ar, v, seg, start)
    ref = np.zeros((3, seg.size + 2))
    ref[:, 0], ref[:, 1] = start[0], start[1]
    for t in range(seg.size):
        a1, a2 = ar[seg[t]]
        ref[:, t + 2] = a1 * ref[:, t + 1] + a2 * ref[:, t] + v[:, t]
    np.testing.assert_allclose(got, ref[:, 2:], atol=1e-12)


def test_seed_reproduces_and_differs():
    a = make_ar_states(n_features=3, steps_per_state=50, seed=7)
    b = make_ar_states(n_features=3, steps_per_state=50, seed=7)
    c = make_ar_states(n_features=3, steps_per_state=50, seed=8)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)


def test_user_coefficients_and_train_test_views():
    f = np.arange(6.0).reshape(2, 3)
    d = make_ar_states(
        n_states=2,
        n_features=3,
        steps_per_state=40,
        state_coefficients=f,
        ar_coefficients=[[0.5, 0.0], [-0.5, 0.0]],
        train_fraction=0.25,
        seed=0,
    )
    np.testing.assert_array_equal(d.state_coefficients, f)
    tr, te = d.train, d.test
    assert tr.X.shape == (1, 3, 20) and te.X.shape == (1, 3, 60)
    assert tr.train_mask.all() and not te.train_mask.any()
    assert tr.coefficients.shape == (3, 20) and tr.states.shape == (20,)


def test_default_coefficients_are_stationary_and_distinct():
    for n in (1, 3, 10):
        ar = default_ar_coefficients(n)
        assert ar.shape == (n, 2)
        roots = [np.roots([1.0, -a1, -a2]) for a1, a2 in ar]
        assert all(np.abs(r).max() < 1 for r in roots)
        assert len({tuple(np.round(r, 6)) for r in ar}) == n


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_states": 0}, "n_states"),
        ({"ar_coefficients": [[1.2, 0.0]] * 3}, "stationary"),
        ({"ar_coefficients": [[0.1, 0.0]]}, r"shape \(n_states, 2\)"),
        ({"state_coefficients": np.zeros((3, 2))}, "state_coefficients"),
        ({"train_fraction": 1.5}, "train_fraction"),
        ({"seed": "x"}, "seed"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        make_ar_states(steps_per_state=20, **kwargs)
