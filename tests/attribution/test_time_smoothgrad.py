"""Time-SmoothGrad against hand computation, for point-wise, sequence and window models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import tsexplain
from tsexplain.attribution.time_smoothgrad import trailing_mean
from tsexplain.exceptions import ModelOutputError, ParameterError


class PointWiseMLP(nn.Module):
    """y_t = MLP(x_t): (N, C, T) -> (N, T)."""

    def __init__(self, c: int = 4, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(c, 16), nn.Tanh(), nn.Linear(16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.transpose(1, 2))[..., 0]


class CausalConv(nn.Module):
    """y_t depends on x_{t-R+1..t}: a left-padded convolution with a tanh."""

    def __init__(self, c: int = 3, r: int = 4, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.r = r
        self.conv = nn.Conv1d(c, 1, r)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(nn.functional.pad(x, (self.r - 1, 0))))[:, 0] ** 2


def hand_diagonal(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """d y(t) / d x_c(t) with one backward pass per time step (the literal definition)."""
    t_len = x.shape[2]
    diag = np.zeros((x.shape[1], t_len))
    for t in range(t_len):
        xg = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(model(xg)[0, t], xg)
        diag[:, t] = g[0, :, t].numpy()
    return diag


def hand_moving_average(g: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros_like(g)
    for t in range(g.shape[1]):
        out[:, t] = g[:, max(0, t - k + 1) : t + 1].mean(axis=1)
    return out


def test_trailing_mean_matches_the_definition():
    g = np.random.default_rng(0).normal(size=(3, 40))
    np.testing.assert_allclose(trailing_mean(g, 7).numpy(), hand_moving_average(g, 7), atol=1e-12)


def test_pointwise_model_one_pass_equals_hand_computation():
    model, x = PointWiseMLP(), torch.randn(1, 4, 60, generator=torch.Generator().manual_seed(1))
    res = tsexplain.explain(model, x, "time_smoothgrad", window=10, receptive_field=1)
    expected = hand_moving_average(hand_diagonal(model, x), 10)
    np.testing.assert_allclose(res.values[0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res.extras["step_gradient"][0], hand_diagonal(model, x), atol=1e-6)


@pytest.mark.parametrize("kw", [{"receptive_field": None}, {"receptive_field": 4, "causal": True},
                                {"receptive_field": 4}, {"receptive_field": 4, "memory_budget": "1MB"}])
def test_sequence_model_exact_diagonal(kw):
    model, x = CausalConv(), torch.randn(1, 3, 50, generator=torch.Generator().manual_seed(2))
    res = tsexplain.explain(model, x, "time_smoothgrad", window=5, **kw)
    np.testing.assert_allclose(res.values[0], hand_moving_average(hand_diagonal(model, x), 5), rtol=1e-5, atol=1e-6)


def test_window_one_is_plain_per_step_saliency():
    model, x = PointWiseMLP(), torch.randn(1, 4, 30, generator=torch.Generator().manual_seed(3))
    res = tsexplain.explain(model, x, "time_smoothgrad", window=1, receptive_field=1)
    np.testing.assert_allclose(res.values[0], hand_diagonal(model, x), atol=1e-6)


def test_sliding_window_model_uses_the_newest_observation():
    torch.manual_seed(0)
    w, c, t_len = 8, 2, 40
    net = nn.Sequential(nn.Flatten(), nn.Linear(c * w, 1), nn.Tanh())
    x = torch.randn(1, c, t_len, generator=torch.Generator().manual_seed(4))
    res = tsexplain.explain(net, x, "time_smoothgrad", window=3, input_window=w)
    g = np.full((c, t_len), np.nan)
    for t in range(w - 1, t_len):
        win = x[:, :, t - w + 1 : t + 1].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(net(win).sum(), win)
        g[:, t] = grad[0, :, -1].numpy()
    expected = trailing_mean(g, 3).numpy()
    assert np.isnan(res.values[0, :, : w - 1]).all()
    np.testing.assert_allclose(res.values[0, :, w - 1 :], expected[:, w - 1 :], rtol=1e-5, atol=1e-6)
    assert res.extras["window_gradient_mean"].shape == (c, w)


def test_agra_time_smoothgrad_is_mean_over_models():
    models = [PointWiseMLP(seed=s) for s in range(3)]
    x = torch.randn(1, 4, 30, generator=torch.Generator().manual_seed(5))
    agra = tsexplain.explain(models, x, "time_smoothgrad", window=4, receptive_field=1).values
    singles = [tsexplain.explain(m, x, "time_smoothgrad", window=4, receptive_field=1).values for m in models]
    np.testing.assert_allclose(agra, np.mean(singles, axis=0), atol=1e-6)


def test_batch_model_gets_a_clear_error():
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 20, 1))
    with pytest.raises(ModelOutputError, match="input_window"):
        tsexplain.explain(net, torch.randn(1, 3, 20, generator=torch.Generator().manual_seed(6)), "time_smoothgrad")


def test_window_longer_than_series_is_rejected():
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 20, 1))
    with pytest.raises(ParameterError, match="longer than the series"):
        tsexplain.explain(net, torch.randn(1, 3, 10, generator=torch.Generator().manual_seed(7)), "time_smoothgrad", input_window=20)
