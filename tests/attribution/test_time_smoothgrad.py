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


# ------------------------------------------------------------------ the receptive_field claim
class OneByOne(nn.Module):
    """y_t = tanh(w . x_t + b)^2: a 1x1 convolution, point-wise."""

    def __init__(self, c: int = 3, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.conv = nn.Conv1d(c, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(x))[:, 0] ** 2


class CentredConv(nn.Module):
    """y_t depends on x_{t-1}, x_t, x_{t+1}."""

    def __init__(self, c: int = 3) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(c, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(x))[:, 0]


class Recurrent(nn.Module):
    """y_t depends on every earlier step."""

    def __init__(self, c: int = 3) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.rnn = nn.GRU(c, 4, batch_first=True)
        self.head = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x.transpose(1, 2))[0])[..., 0]


def test_receptive_field_one_on_a_causal_convolution_is_refused():
    # CausalConv(r=3): y(t) = tanh(w * x[t-2..t])^2, so output step t depends on t-2..t
    model, x = CausalConv(r=3), torch.randn(1, 3, 200, generator=torch.Generator().manual_seed(8))
    with pytest.raises(ParameterError) as err:
        tsexplain.explain(model, x, "time_smoothgrad", window=5, receptive_field=1)
    assert str(err.value) == (
        "time_smoothgrad: receptive_field=1 says output step t depends on its own input step "
        "only, but the model's output step t depends on input steps t-2..t (found from one "
        "output step's gradient on the first 33 steps of the first series): pass "
        "receptive_field=3 with causal=True, or receptive_field=None")
    # what it suggests is exact: the per-step gradient by one backward pass per step
    res = tsexplain.explain(model, x, "time_smoothgrad", window=5, receptive_field=3, causal=True)
    np.testing.assert_allclose(res.values[0], hand_moving_average(hand_diagonal(model, x), 5),
                               rtol=1e-5, atol=1e-6)


def test_receptive_field_one_on_a_1x1_convolution_is_exact():
    model, x = OneByOne(), torch.randn(1, 3, 80, generator=torch.Generator().manual_seed(9))
    res = tsexplain.explain(model, x, "time_smoothgrad", window=6, receptive_field=1)
    np.testing.assert_allclose(res.extras["step_gradient"][0], hand_diagonal(model, x), atol=1e-6)
    np.testing.assert_allclose(res.values[0], hand_moving_average(hand_diagonal(model, x), 6),
                               rtol=1e-5, atol=1e-6)


def test_a_causal_claim_on_a_model_that_looks_ahead_is_refused():
    x = torch.randn(1, 3, 60, generator=torch.Generator().manual_seed(10))
    with pytest.raises(ParameterError, match=r"receptive_field=2, causal=True says output step t "
                       r"depends on input steps t-1\.\.t only, but the model's output step t "
                       r"depends on input steps t-1\.\.t\+1 .*: pass receptive_field=2, or "):
        tsexplain.explain(CentredConv(), x, "time_smoothgrad", receptive_field=2, causal=True)
    res = tsexplain.explain(CentredConv(), x, "time_smoothgrad", window=3, receptive_field=2)
    np.testing.assert_allclose(res.values[0], hand_moving_average(hand_diagonal(CentredConv(), x), 3),
                               rtol=1e-5, atol=1e-6)


def test_a_recurrent_model_is_sent_to_receptive_field_none():
    x = torch.randn(1, 3, 100, generator=torch.Generator().manual_seed(11))
    # the check's input: 2 * (4 - 1 + 16) + 1 = 39 steps, output step 19 depends on all of 0..19
    with pytest.raises(ParameterError, match=r"depends on input steps t-19\.\.t and possibly further"
                       r" .*: pass receptive_field=None \(exact for any model\)$"):
        tsexplain.explain(Recurrent(), x, "time_smoothgrad", receptive_field=4, causal=True)


def test_the_check_names_the_model_of_a_list_and_runs_on_a_short_probe():
    lengths: list[int] = []
    one_by_one = OneByOne()
    one_by_one.register_forward_pre_hook(lambda m, args: lengths.append(args[0].shape[2]))
    x = torch.randn(1, 3, 3000, generator=torch.Generator().manual_seed(12))
    with pytest.raises(ParameterError, match="but model\\[1\\]'s output step t depends on input steps t-2..t"):
        tsexplain.explain([one_by_one, CausalConv(r=3)], x, "time_smoothgrad", receptive_field=1)
    assert lengths == [33]  # model[0] was checked on 33 steps, not on the 3000 of the series
