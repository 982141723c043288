"""Shapes, point-wise/causal structure and constructor checks of the reference models."""

from __future__ import annotations

import pytest
import torch

from tsexplain.exceptions import ParameterError
from tsexplain.models import (
    AGRACNN,
    FordACNN,
    PointwiseMLP,
    TSVizAnomalyCNN,
    TSVizRegressionCNN,
)

CASES = [
    (PointwiseMLP, {}, (4, 10, 37), (4, 37)),
    (PointwiseMLP, {"n_channels": 3, "hidden": (8,), "lags": 5}, (2, 3, 20), (2, 20)),
    (TSVizRegressionCNN, {}, (5, 2, 50), (5, 1)),
    (TSVizRegressionCNN, {"length": 51, "n_outputs": 3}, (5, 2, 51), (5, 3)),
    (TSVizAnomalyCNN, {}, (6, 3, 50), (6, 1)),
    (TSVizAnomalyCNN, {"n_outputs": 2, "length": 20}, (6, 3, 20), (6, 2)),
    (AGRACNN, {}, (3, 2, 200), (3, 1)),
    (AGRACNN, {"length": 37, "n_outputs": 2}, (3, 2, 37), (3, 2)),
    (FordACNN, {}, (4, 1, 500), (4, 2)),
    (FordACNN, {"n_channels": 3, "n_outputs": 5}, (4, 3, 17), (4, 5)),
]


@pytest.mark.parametrize(("cls", "kwargs", "in_shape", "out_shape"), CASES)
def test_output_shapes(cls, kwargs, in_shape, out_shape):
    torch.manual_seed(0)
    model = cls(**kwargs).eval()
    out = model(torch.randn(*in_shape))
    assert out.shape == out_shape
    assert out.dtype == torch.float32


def _jacobian_time(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """d y_t / d x_{c, s} for one series: shape (T, C, T)."""
    jac = torch.autograd.functional.jacobian(lambda z: model(z[None])[0], x)
    return jac


def test_pointwise_mlp_is_pointwise():
    torch.manual_seed(0)
    model = PointwiseMLP(n_channels=3, hidden=(16, 16), activation="tanh").eval()
    x = torch.randn(3, 12)
    jac = _jacobian_time(model, x)  # (T, C, T)
    off_diag = jac.clone()
    idx = torch.arange(12)
    off_diag[idx, :, idx] = 0
    assert off_diag.abs().max() == 0
    assert jac[idx, :, idx].abs().min() > 0  # every y_t depends on x_t


def test_pointwise_mlp_with_lags_is_causal_with_finite_window():
    torch.manual_seed(0)
    lags = 4
    model = PointwiseMLP(n_channels=2, hidden=(16,), lags=lags, activation="tanh").eval()
    x = torch.randn(2, 15)
    jac = _jacobian_time(model, x).abs().sum(1)  # (T, T): output step t, input step s
    t, s = torch.meshgrid(torch.arange(15), torch.arange(15), indexing="ij")
    inside = (s <= t) & (s > t - lags)
    assert jac[~inside].max() == 0
    assert jac[inside].min() > 0
    assert model.receptive_field == lags


def test_agra_cnn_is_bias_free():
    model = AGRACNN(length=64).eval()
    assert all(m.bias is None for m in model.modules() if hasattr(m, "bias"))
    assert torch.equal(model(torch.zeros(2, 2, 64)), torch.zeros(2, 1))


def test_classifiers_return_logits_not_probabilities():
    torch.manual_seed(0)
    model = FordACNN(filters=8).eval()
    out = model(torch.randn(8, 1, 30) * 50)
    assert not torch.allclose(out.softmax(-1).sum(-1), out.sum(-1))
    assert not isinstance(model.net[-1], torch.nn.Softmax | torch.nn.Sigmoid)


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        (PointwiseMLP, {"lags": 0}, "lags"),
        (PointwiseMLP, {"hidden": ()}, "hidden"),
        (PointwiseMLP, {"activation": "softplus"}, "activation"),
        (PointwiseMLP, {"dropout": 1.0}, "dropout"),
        (TSVizRegressionCNN, {"filters": (8, 8)}, "3 values"),
        (TSVizAnomalyCNN, {"kernel_size": 4}, "odd"),
        (AGRACNN, {"length": 8}, "length"),
        (AGRACNN, {"filters": (8, 8, 8)}, "4 values"),
        (FordACNN, {"n_outputs": 0}, "n_outputs"),
        (FordACNN, {"filters": 2.5}, "filters"),
    ],
)
def test_bad_constructor_arguments(cls, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        cls(**kwargs)
