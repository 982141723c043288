# ruff: noqa: F811  (fixtures imported from network_helpers are redefined as test arguments)
import numpy as np
import pytest
import torch
from network_helpers import cnn, make_cnn, x  # noqa: F401  (pytest fixtures)

from tsexplain.exceptions import ParameterError
from tsexplain.network import inverse_optimize


def test_sgd_step_is_eq_26_literally(cnn):
    x0 = torch.randn(2, 3, 50, generator=torch.Generator().manual_seed(0))
    res = inverse_optimize(cnn, 1.0, x0=x0, alpha=0.1, iterations=1, record_every=1)
    xg = x0.clone().requires_grad_(True)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(cnn(xg)[:, 0], torch.ones(2), reduction="sum")
    (g,) = torch.autograd.grad(loss, xg)
    torch.testing.assert_close(res.x, x0 - 0.1 * g)
    assert res.path.shape == (2, 2, 3, 50)
    assert torch.equal(res.start, x0)


def _louder(model):
    with torch.no_grad():
        model[6].weight.mul_(10.0)
    return model


def test_reaches_target_and_records_path():
    cnn = _louder(make_cnn())
    res = inverse_optimize(cnn, 1.0, shape=(3, 3, 50), alpha=0.05, iterations=200, record_every=50, optimizer="adam")
    assert torch.sigmoid(res.output_after[:, 0]).min() > 0.99
    assert list(res.path_steps) == [0, 50, 100, 150, 200]
    assert res.losses[-1] < res.losses[0]
    np.testing.assert_allclose(res.path[-1].numpy(), res.x.numpy())


def test_regression_with_penalties():
    model = _louder(make_cnn())
    res = inverse_optimize(
        model, 1.0, shape=(1, 3, 50), task="regression", alpha=0.05, iterations=300,
        optimizer="adam", smoothness=0.01, value_range=(-2, 2),
    )
    assert abs(float(res.output_after) - 1.0) < 0.05
    with pytest.raises(ParameterError, match="shape"):
        inverse_optimize(model, 1.0)


def test_target_and_iterations_are_deprecated_aliases():
    import warnings

    from tsexplain.network import inverse_optimize

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 1))
    x0 = torch.zeros(2, 1, 8)
    new = inverse_optimize(net, target_value=[0.0, 1.0], x0=x0, steps=3, task="binary")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = inverse_optimize(net, target=[0.0, 1.0], x0=x0, iterations=3, task="binary")
    messages = " ".join(str(w.message) for w in caught if w.category is DeprecationWarning)
    assert "target= is renamed target_value=" in messages
    assert "iterations= is renamed steps=" in messages
    assert torch.equal(old.x, new.x)
