"""Time-SmoothGrad on long series: segments and blocked moving average change nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tsexplain.attribution import TimeSmoothGrad
from tsexplain.attribution import time_smoothgrad as tsg


def pointwise() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(4, 64, 1), nn.Tanh(), nn.Conv1d(64, 64, 1), nn.ReLU(),
                         nn.Conv1d(64, 1, 1), nn.Flatten(1)).eval()


def convolutional(causal: bool) -> nn.Module:
    """Receptive field 5 (two kernel-3 layers): causal by left padding, else centred."""
    torch.manual_seed(1)
    pad = (4, 0) if causal else (2, 2)
    return nn.Sequential(nn.ConstantPad1d(pad, 0.0), nn.Conv1d(4, 64, 3), nn.Tanh(),
                         nn.Conv1d(64, 1, 3), nn.Flatten(1)).eval()


def literal_trailing_mean(g: np.ndarray, k: int) -> np.ndarray:
    out = np.empty_like(g, dtype=np.float64)
    for t in range(g.shape[-1]):
        win = g[..., max(0, t - k + 1) : t + 1]
        with np.errstate(invalid="ignore"):
            out[..., t] = np.nanmean(np.where(np.isfinite(win), win, np.nan), axis=-1)
    return out


def test_blocked_trailing_mean_equals_the_literal_one(monkeypatch: pytest.MonkeyPatch) -> None:
    g = np.random.default_rng(0).normal(size=(3, 200))
    g[1, 50:53] = np.nan
    monkeypatch.setattr(tsg, "_MEAN_BLOCK", 16)
    for k in (1, 4, 10):
        np.testing.assert_allclose(tsg.trailing_mean(g, k).numpy(), literal_trailing_mean(g, k), rtol=1e-12)


def test_pointwise_long_series_in_segments_equals_one_backward() -> None:
    model = pointwise()
    x = torch.randn(1, 4, 5000, generator=torch.Generator().manual_seed(2))
    res = TimeSmoothGrad(model, window=7, receptive_field=1, memory_budget="1MB").attribute(x)
    xi = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model(xi).sum(), xi)
    np.testing.assert_allclose(res.extras["step_gradient"][0], g[0].numpy(), rtol=1e-5, atol=1e-7)
    expected = literal_trailing_mean(g[0].double().numpy(), 7)
    np.testing.assert_allclose(np.asarray(res)[0], expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("causal", [True, False])
def test_finite_receptive_field_segments_equal_the_whole_series(causal: bool) -> None:
    model = convolutional(causal)
    x = torch.randn(1, 4, 4000, generator=torch.Generator().manual_seed(3))
    small = TimeSmoothGrad(model, window=5, receptive_field=5, causal=causal, memory_budget="1MB")
    whole = TimeSmoothGrad(model, window=5, receptive_field=5, causal=causal, memory_budget="8GB")
    assert small._segment_steps(model, x, {}, small.memory_budget) < x.shape[2]
    assert whole._segment_steps(model, x, {}, whole.memory_budget) >= x.shape[2]
    a, b = small.attribute(x), whole.attribute(x)
    np.testing.assert_allclose(a.extras["step_gradient"], b.extras["step_gradient"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)
    # and the whole-series result is the true diagonal (independent check on a short piece)
    xs = x[:, :, :60].clone().requires_grad_(True)
    jac = torch.autograd.functional.jacobian(lambda z: model(z)[0], xs)  # (T, 1, C, T)
    diag = torch.stack([jac[t, 0, :, t] for t in range(60)], 1)
    np.testing.assert_allclose(b.extras["step_gradient"][0][:, :55], diag[:, :55].numpy(), rtol=1e-4, atol=1e-6)
