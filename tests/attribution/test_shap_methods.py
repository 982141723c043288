"""KernelSHAP, LIME, GradientSHAP, DeepLIFT and DeepLiftSHAP: Captum 0.9 as the oracle (exactly
for DeepLIFT, statistically for the sampled methods), exact Shapley values by enumeration,
linear models analytically, and the errors DeepLIFT gives for layers without a rule."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest
import torch
from attribution_models import Linear
from torch import nn

import tsexplain
from tsexplain.attribution import DeepLift, DeepLiftShap, GradientShap, KernelShap, Lime
from tsexplain.attribution._perturbation import group_ids
from tsexplain.exceptions import ModelOutputError

captum_attr = pytest.importorskip("captum.attr", reason="captum is the oracle (pip install captum)")


def pooling_cnn(seed: int = 5) -> nn.Module:
    """Conv/ReLU/MaxPool1d twice, then a linear head: (N, 3, 40) -> (N, 1)."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(8, 8, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2), nn.Flatten(), nn.Linear(80, 1),
    ).eval()


def small_cnn(n_channels: int = 3, n_classes: int = 2, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(n_channels, 8, 5, padding=2), nn.BatchNorm1d(8), nn.ReLU(),
        nn.Conv1d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(),
        nn.Linear(8, n_classes),
    ).eval()


def smooth_cnn(seed: int = 2) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(3, 6, 5, padding=2), nn.Tanh(), nn.Conv1d(6, 6, 3, padding=1), nn.ELU(),
        nn.AvgPool1d(2), nn.Flatten(), nn.Linear(6 * 20, 2), nn.Sigmoid(),
    ).eval()


def close_to(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert np.abs(ours - theirs).max() <= 1e-5 * np.abs(theirs).max()


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


@pytest.fixture(scope="module")
def data():
    x = torch.randn(6, 3, 40, generator=torch.Generator().manual_seed(1))
    return x, [0, 1, 1, 0, 1, 0]


def group_sums(contrib: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Each cell gets the sum of ``contrib`` over its group: the exact Shapley value of a linear
    model's group (phi_g = sum_g w (x - b))."""
    out = torch.zeros_like(contrib)
    for n in range(contrib.shape[0]):
        for g in ids[n].unique():
            cells = ids[n] == g
            out[n][cells] = contrib[n][cells].sum()
    return out


# ----------------------------------------------------------------------------- KernelSHAP
@pytest.mark.parametrize("n_coalitions", [300, 120])
def test_kernel_shap_of_a_linear_model_recovers_the_exact_shapley_values(n_coalitions):
    model = Linear(n_channels=3, n_timesteps=20)
    x = torch.randn(4, 3, 20, generator=torch.Generator().manual_seed(2))
    res = KernelShap(model, n_coalitions=n_coalitions, n_segments=10, baseline=0.25).attribute(x)
    contrib = model.weight.detach()[0] * (x - 0.25)
    expected = group_sums(contrib, group_ids("cells", x, 10))
    np.testing.assert_allclose(res.values, expected.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(res.extras["fit_r2"], 1.0, atol=1e-6)


@pytest.mark.parametrize("method", ["kernel_shap", "lime"])
def test_too_few_coalitions_to_separate_the_groups_warn(method):
    x = torch.randn(2, 3, 20, generator=torch.Generator().manual_seed(2))
    with pytest.warns(UserWarning, match="do not separate all 30 groups") as caught:
        tsexplain.explain(Linear(), x, method, n_coalitions=16, n_segments=10)
    assert caught[0].filename == __file__  # the warning points at the caller's line


def brute_force_shapley(model: nn.Module, x: torch.Tensor, ids: torch.Tensor, base: float, target: int) -> np.ndarray:
    """Shapley values by the definition, every subset enumerated (a slow literal reference)."""
    g = int(ids.max()) + 1
    phi = np.zeros(g)

    def value(members: tuple[int, ...]) -> float:
        keep = torch.zeros_like(x, dtype=torch.bool)
        for m in members:
            keep |= ids == m
        with torch.no_grad():
            return float(model(torch.where(keep, x, torch.full_like(x, base))[None])[0, target])

    for i in range(g):
        others = [j for j in range(g) if j != i]
        for k in range(g):
            for s in combinations(others, k):
                weight = math.factorial(k) * math.factorial(g - k - 1) / math.factorial(g)
                phi[i] += weight * (value((*s, i)) - value(s))
    return phi


def test_kernel_shap_enumerates_small_games_exactly():
    model = smooth_cnn()
    x = torch.randn(2, 3, 40, generator=torch.Generator().manual_seed(3))
    res = KernelShap(model, groups="segments", n_segments=5, n_coalitions=64, baseline=0.1).attribute(x, target=1)
    seg = torch.arange(40) * 5 // 40
    ids = seg.expand(3, 40)
    for n in range(2):
        phi = brute_force_shapley(model, x[n], ids, 0.1, 1)
        got = np.array([res.values[n][ids.numpy() == g][0] for g in range(5)])
        np.testing.assert_allclose(got, phi, rtol=1e-4, atol=1e-6)


def test_kernel_shap_agrees_with_captum_statistically(data):
    x, target = data
    model = small_cnn()
    ours = tsexplain.explain(model, x[:3], "kernel_shap", target=target[:3], n_coalitions=3000,
                             n_segments=5, seed=0).values
    mask = (torch.arange(3)[:, None] * 5 + torch.arange(40)[None] * 5 // 40)[None]
    torch.manual_seed(0)
    theirs = np.concatenate([
        captum_attr.KernelShap(model).attribute(
            x[i : i + 1], baselines=0.0, target=target[i], feature_mask=mask, n_samples=3000,
            perturbations_per_eval=500,
        ).detach().numpy()
        for i in range(3)
    ])
    assert corr(ours, theirs) > 0.95


def test_kernel_shap_seed_changes_the_draws_and_reports_a_worse_fit_for_interactions():
    class Product(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x[:, 0, :10].sum(1) * x[:, 1, 10:].sum(1))[:, None]

    x = torch.randn(3, 2, 20, generator=torch.Generator().manual_seed(4)) + 1.0
    a = KernelShap(Product(), n_segments=10, n_coalitions=100, seed=0).attribute(x)
    b = KernelShap(Product(), n_segments=10, n_coalitions=100, seed=1).attribute(x)
    assert not np.allclose(a.values, b.values)
    assert (a.extras["fit_r2"] < 0.99).all()


# ----------------------------------------------------------------------------- LIME
def test_lime_recovers_a_linear_model_with_a_perfect_fit():
    model = Linear(n_channels=3, n_timesteps=20)
    x = torch.randn(4, 3, 20, generator=torch.Generator().manual_seed(5))
    res = Lime(model, n_coalitions=200, n_segments=4).attribute(x)
    expected = group_sums(model.weight.detach()[0] * x, group_ids("cells", x, 4))
    np.testing.assert_allclose(res.values, expected.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(res.extras["fit_r2"], 1.0, atol=1e-6)
    assert res.extras["fit_r2"].shape == (4,)


def test_lime_target_all_reports_fit_per_output(data):
    x, _ = data
    res = tsexplain.explain(small_cnn(), x, "lime", target="all", n_coalitions=64)
    assert res.shape == (6, 2, 3, 40) and res.extras["fit_r2"].shape == (6, 2)


# ----------------------------------------------------------------------------- GradientSHAP
def test_gradient_shap_agrees_with_captum_statistically(data):
    x, target = data
    model = small_cnn()
    refs = torch.randn(10, 3, 40, generator=torch.Generator().manual_seed(9))
    ours = tsexplain.explain(model, x, "gradient_shap", target=target, n_draws=3000, baselines=refs,
                             seed=0).values
    torch.manual_seed(0)
    theirs = captum_attr.GradientShap(model).attribute(
        x, baselines=refs, target=target, n_samples=3000
    ).detach().numpy()
    assert corr(ours, theirs) > 0.95


def test_gradient_shap_of_a_linear_model_is_weight_times_input_minus_baseline():
    model = Linear(n_channels=3, n_timesteps=20)
    x = torch.randn(4, 3, 20, generator=torch.Generator().manual_seed(6))
    base = torch.randn(1, 3, 20, generator=torch.Generator().manual_seed(7))
    res = GradientShap(model, n_draws=5, baselines=base).attribute(x)
    expected = model.weight.detach()[0] * (x - base)
    np.testing.assert_allclose(res.values, expected.numpy(), rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- DeepLIFT
@pytest.mark.parametrize("model_fn", [small_cnn, smooth_cnn], ids=["relu_bn", "tanh_elu_sigmoid"])
def test_deeplift_matches_captum(data, model_fn):
    x, target = data
    model = model_fn()
    base = torch.randn(6, 3, 40, generator=torch.Generator().manual_seed(8)) * 0.3
    ours = tsexplain.explain(model, x, "deeplift", target=target, baseline=base)
    theirs = captum_attr.DeepLift(model).attribute(x, baselines=base, target=target).detach().numpy()
    close_to(ours.values, theirs)
    assert np.abs(ours.extras["completeness_gap"]).max() < 1e-4 * np.abs(ours.extras["output_difference"]).max()


def test_deeplift_with_max_pooling_matches_captum():
    """Captum 0.9 hooks a ReLU's output tensor before the next MaxPool1d hooks the same tensor as
    its input, so the ReLU's rule reads the gradient the max-pool rule has not rewritten yet.
    An identity op between them (AvgPool1d(1)) gives each layer its own tensor: there Captum
    applies both rules, and it is the oracle. The two models compute the same function, so
    DeepLIFT must give the same values on both."""
    model = pooling_cnn()
    torch.manual_seed(5)
    separated = nn.Sequential(*[m for layer in model for m in (
        [layer, nn.AvgPool1d(1)] if isinstance(layer, nn.ReLU) else [layer])]).eval()
    x = torch.randn(5, 3, 40, generator=torch.Generator().manual_seed(9))
    ours = tsexplain.explain(model, x, "deeplift")
    gap = np.abs(ours.extras["completeness_gap"]).max()
    assert gap < 1e-5 * np.abs(ours.extras["output_difference"]).max()
    theirs = captum_attr.DeepLift(separated).attribute(x, baselines=torch.zeros_like(x)).detach().numpy()
    close_to(tsexplain.explain(separated, x, "deeplift").values, theirs)
    close_to(ours.values, theirs)


def test_deeplift_shap_matches_captum(data):
    x, target = data
    model = small_cnn()
    refs = torch.randn(7, 3, 40, generator=torch.Generator().manual_seed(10))
    ours = tsexplain.explain(model, x, "deeplift_shap", target=target, baselines=refs)
    theirs = captum_attr.DeepLiftShap(model).attribute(x, baselines=refs, target=target).detach().numpy()
    close_to(ours.values, theirs)
    assert np.abs(ours.extras["completeness_gap"]).max() < 1e-4 * np.abs(ours.extras["output_difference"]).max()


def test_deeplift_of_a_linear_model_is_weight_times_input_minus_baseline():
    model = Linear(n_channels=3, n_timesteps=20)
    x = torch.randn(3, 3, 20, generator=torch.Generator().manual_seed(11))
    res = DeepLift(model, baseline=-1.0).attribute(x)
    np.testing.assert_allclose(res.values, (model.weight.detach()[0] * (x + 1)).numpy(), rtol=1e-5, atol=1e-5)


class LSTMNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lstm = nn.LSTM(3, 8, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x.transpose(1, 2))
        return self.head(out[:, -1])


class FunctionalReLU(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(3, 4, 3)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x)).mean(dim=-1))


@pytest.mark.parametrize("method", ["deeplift", "deeplift_shap"])
def test_deeplift_refuses_layers_without_a_rule_and_names_them(data, method):
    x, _ = data
    with pytest.raises(ModelOutputError, match=r"no DeepLIFT rule for layer 'lstm' \(LSTM\)"):
        tsexplain.explain(LSTMNet(), x, method, target=0)
    with pytest.raises(ModelOutputError, match=r"applies relu, an operation without a DeepLIFT rule"):
        tsexplain.explain(FunctionalReLU(), x, method, target=0)
    softmax = nn.Sequential(nn.Flatten(), nn.Linear(120, 3), nn.Softmax(dim=1))
    with pytest.raises(ModelOutputError, match=r"layer '2' \(Softmax\)"):
        tsexplain.explain(softmax, x, method, target=0)


def test_deeplift_leaves_the_model_without_hooks(data):
    x, _ = data
    model = small_cnn()
    DeepLiftShap(model, baselines=x[:2]).attribute(x, target=1)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


class ReshapingNet(nn.Module):
    """Reshapes and scales in its own forward (linear operations without a layer)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.conv = nn.Conv1d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.head = nn.Linear(4 * 40, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.conv(x))
        return self.head(h.flatten(1) + 0.5 * h.reshape(h.shape[0], -1))


def test_deeplift_on_a_torch_export_program_equals_the_module(data, tmp_path):
    """A .pt2 calls ATen overloads (aten.flatten.using_ints, aten.reshape.default): the same
    linear operations as the module's, so DeepLIFT runs and gives the module's values; a
    non-linearity written as a function in the program is still refused by name."""
    from tsexplain.io import load_any_model

    x, target = data
    for net, refused in ((ReshapingNet().eval(), None), (FunctionalReLU().eval(), "relu")):
        program = torch.export.export(net, (x,), dynamic_shapes=({0: torch.export.Dim("batch")},))
        torch.export.save(program, tmp_path / "m.pt2")
        loaded = load_any_model(tmp_path / "m.pt2").module
        if refused:
            with pytest.raises(ModelOutputError, match=rf"applies {refused}, an operation without"):
                tsexplain.explain(loaded, x, "deeplift", target=target)
            continue
        ours = tsexplain.explain(loaded, x, "deeplift", target=target).values
        np.testing.assert_array_equal(ours, tsexplain.explain(net, x, "deeplift", target=target).values)
        theirs = captum_attr.DeepLift(net).attribute(x, baselines=torch.zeros_like(x), target=target)
        assert np.abs(ours - theirs.detach().numpy()).max() <= 1e-5 * np.abs(ours).max()


class _LastStepLSTM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.lstm = nn.LSTM(3, 8, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x.transpose(1, 2))
        return self.head(out[:, -1])


def test_deeplift_refuses_an_exported_lstm_whose_operation_returns_several_tensors(data, tmp_path):
    """In a .pt2 the LSTM is one ATen call (aten.lstm) that returns its output and states, inside
    a module torch's unflattening names LSTM but that is no nn.LSTM: DeepLIFT must refuse it as
    it refuses the nn.LSTM of the module (it ran as gradient x input, silently, before)."""
    from tsexplain.io import load_any_model

    x, target = data
    net = _LastStepLSTM().eval()
    with pytest.raises(ModelOutputError, match=r"no DeepLIFT rule for layer 'lstm' \(LSTM\)"):
        tsexplain.explain(net, x, "deeplift", target=target)
    program = torch.export.export(net, (x,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, tmp_path / "lstm.pt2")
    loaded = load_any_model(tmp_path / "lstm.pt2")
    for method in ("deeplift", "deeplift_shap"):
        with pytest.raises(ModelOutputError, match=r"'lstm' \(LSTM\) applies lstm, an operation "
                                                   r"without a DeepLIFT rule; use integrated_gradients"):
            tsexplain.explain(loaded, x, method, target=target)
