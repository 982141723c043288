"""Per-call inputs of ``attribute``: IG's baseline, and additional model inputs (covariates)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from attribution_models import Linear, fordA_cnn
from torch import nn

import tsexplain
from tsexplain.attribution import (
    METHODS,
    GradientXInput,
    IntegratedGradients,
    NoiseTunnel,
    Saliency,
    SmoothGrad,
    TimeSmoothGrad,
    method_settings,
)
from tsexplain.exceptions import ModelOutputError, ParameterError, ShapeError


def seeded(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- IG baseline per call
def test_baseline_per_call_overrides_the_constructor_and_is_analytic_for_a_linear_model():
    model, x = Linear(), seeded(4, 3, 20, seed=1)
    w = model.weight[0].detach()
    ig = IntegratedGradients(model, steps=4, baseline="zeros")
    for base in (seeded(4, 3, 20, seed=2), seeded(3, 20, seed=3), 0.5, "mean"):
        b = (x.mean(2, keepdim=True) if isinstance(base, str) else torch.as_tensor(base)) * torch.ones_like(x)
        got = ig.attribute(x, baseline=base)
        np.testing.assert_allclose(got.values, (w * (x - b)).numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ig.attribute(x).values, (w * x).numpy(), rtol=1e-5, atol=1e-5)


def test_one_instance_serves_batches_of_any_size_with_per_series_baselines():
    model = fordA_cnn(n_classes=2, width=8, seed=1)
    ig = IntegratedGradients(model, steps=8)
    for n in (1, 3, 6):
        x, b = seeded(n, 1, 32, seed=n), seeded(n, 1, 32, seed=10 + n)
        res = ig.attribute(x, target=1, baseline=b)
        assert res.shape == (n, 1, 32)
        assert res.params["baseline"] == f"array({n}, 1, 32)"
        for j in range(n):  # each series alone, with its own baseline as (C, T)
            one = ig.attribute(x[j : j + 1], target=1, baseline=b[j]).values[0]
            np.testing.assert_allclose(res.values[j], one, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("shape", [(2, 1, 32), (32,), (1, 1, 31), (3, 1, 1, 32)])
def test_a_baseline_that_does_not_fit_is_a_shape_error(shape):
    ig = IntegratedGradients(fordA_cnn(n_classes=2, width=8), steps=4)
    with pytest.raises(ShapeError, match=r"baseline of shape"):
        ig.attribute(seeded(3, 1, 32, seed=0), target=0, baseline=np.zeros(shape))


def test_bad_baseline_values_and_call_parameters():
    ig = IntegratedGradients(Linear(), steps=4)
    x = seeded(2, 3, 20, seed=0)
    with pytest.raises(ParameterError, match="baseline must be one of 'zeros', 'mean'"):
        ig.attribute(x, baseline="median")
    with pytest.raises(ParameterError, match="NaN or Inf"):
        ig.attribute(x, baseline=np.full((3, 20), np.nan))
    with pytest.raises(ParameterError, match=r"saliency.attribute does not take baseline"):
        Saliency(Linear()).attribute(x, baseline=0.0)


# ----------------------------------------------------------------------------- additional inputs
class WithStatic(nn.Module):
    """f(x, s) = tanh(conv features of x) . v * (1 + s . u) + s . a: a series and static covariates."""

    def __init__(self, n_static: int = 4, n_outputs: int = 2):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.conv = nn.Conv1d(2, 5, 3, padding=1)
        self.v = nn.Parameter(torch.randn(5, n_outputs, generator=g))
        self.u = nn.Parameter(torch.randn(n_static, n_outputs, generator=g) * 0.3)
        self.a = nn.Parameter(torch.randn(n_static, n_outputs, generator=g))

    def forward(self, x: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.conv(x)).mean(dim=2) @ self.v
        return h * (1 + static @ self.u) + static @ self.a


@pytest.fixture
def data():
    return WithStatic().eval(), seeded(5, 2, 16, seed=4), seeded(5, 4, seed=5)


def autograd(model, x, s, target):
    xg, sg = x.clone().requires_grad_(True), s.clone().requires_grad_(True)
    out = model(xg, sg)
    gx, gs = torch.autograd.grad(out[torch.arange(len(x)), target].sum(), (xg, sg))
    return gx.numpy(), gs.numpy()


def test_saliency_and_gradient_x_input_equal_autograd(data):
    model, x, s = data
    target = [0, 1, 1, 0, 1]
    gx, gs = autograd(model, x, s, torch.tensor(target))
    sal = Saliency(model).attribute(x, target=target, additional_inputs=(s,), attribute_additional=True)
    np.testing.assert_allclose(sal.values, gx, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(sal.extras["additional"][0], gs, rtol=1e-5, atol=1e-7)
    gxi = GradientXInput(model).attribute(x, target=target, additional_inputs=s, attribute_additional=True)
    np.testing.assert_allclose(gxi.values, gx * x.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gxi.extras["additional"][0], gs * s.numpy(), rtol=1e-5, atol=1e-7)
    plain = Saliency(model).attribute(x, target=target, additional_inputs=[s.numpy()])
    np.testing.assert_allclose(plain.values, gx, rtol=1e-5, atol=1e-7)
    assert "additional" not in plain.extras


def test_target_all_and_chunking_with_additional_inputs(data):
    model, x, s = data
    every = Saliency(model, memory_budget="1MB").attribute(x, target="all", additional_inputs=(s,))
    for k in range(2):
        gx, _ = autograd(model, x, s, torch.full((5,), k))
        np.testing.assert_allclose(every.values[:, k], gx, rtol=1e-5, atol=1e-7)


def test_integrated_gradients_holds_the_extras_fixed(data):
    model, x, s = data
    res = IntegratedGradients(model, steps=64).attribute(x, target=1, additional_inputs=(s,))
    # completeness with the covariates held at their values: f(x, s) - f(0, s)
    with torch.no_grad():
        diff = (model(x, s) - model(torch.zeros_like(x), s))[:, 1].numpy()
    np.testing.assert_allclose(res.values.sum(axis=(1, 2)), diff, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(res.extras["output_difference"], diff, rtol=1e-5, atol=1e-6)


def test_integrated_gradients_attributes_the_extras_along_the_same_path(data):
    model, x, s = data
    res = IntegratedGradients(model, steps=64).attribute(
        x, target=1, additional_inputs=(s,), attribute_additional=True)
    with torch.no_grad():  # both inputs move from 0: f(x, s) - f(0, 0)
        diff = (model(x, s) - model(torch.zeros_like(x), torch.zeros_like(s)))[:, 1].numpy()
    total = res.values.sum(axis=(1, 2)) + res.extras["additional"][0].sum(axis=1)
    np.testing.assert_allclose(total, diff, rtol=1e-3, atol=1e-4)
    assert np.abs(res.extras["completeness_gap"]).max() < 1e-3


def test_smoothgrad_with_additional_inputs_equals_the_literal_mean(data):
    model, x, s = data
    ours = SmoothGrad(model, n_draws=4, noise=0.1, seed=2).attribute(
        x, target=0, additional_inputs=(s,), attribute_additional=True)
    from tsexplain.attribution.noise_tunnel import noisy_copies

    noisy = noisy_copies(x, 4, 0.1, 2)
    gx, gs = autograd(model, noisy, s.repeat_interleave(4, dim=0), torch.zeros(20, dtype=torch.long))
    np.testing.assert_allclose(ours.values, gx.reshape(5, 4, 2, 16).mean(1), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours.extras["additional"][0], gs.reshape(5, 4, 4).mean(1), rtol=1e-5, atol=1e-7)
    nt = NoiseTunnel("integrated_gradients", model, n_draws=3, noise=0.1, steps=8)
    assert nt.attribute(x, target=0, additional_inputs=(s,)).shape == (5, 2, 16)


def test_integer_extras_pass_through_and_are_not_attributed():
    class Embedded(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(3, 16)

        def forward(self, x, category):
            return (x[:, 0] * self.emb(category)).sum(dim=1)

    torch.manual_seed(0)
    model, x = Embedded(), seeded(4, 1, 16, seed=6)
    cat = torch.tensor([0, 2, 1, 2])
    res = Saliency(model).attribute(x, additional_inputs=(cat,), attribute_additional=True)
    np.testing.assert_allclose(res.values[:, 0], model.emb(cat).detach().numpy(), rtol=1e-6)
    assert res.extras["additional"] == [None]


def test_bad_additional_inputs(data):
    model, x, s = data
    with pytest.raises(ShapeError, match=r"additional_inputs\[0\] has shape \(4, 4\).*N=5"):
        Saliency(model).attribute(x, target=0, additional_inputs=(s[:4],))
    with pytest.raises(ParameterError, match="needs additional_inputs"):
        Saliency(model).attribute(x, target=0, attribute_additional=True)
    with pytest.raises(ParameterError, match="time_smoothgrad does not take additional_inputs"):
        TimeSmoothGrad(model).attribute(x[:1], additional_inputs=(s[:1],))
    with pytest.raises(ParameterError, match=r"additional_inputs\[0\] must be a tensor"):
        Saliency(model).attribute(x, target=0, additional_inputs=("static",))


@pytest.mark.parametrize("method", ["saliency", "integrated_gradients", "occlusion", "kernel_shap"])
def test_a_model_called_with_the_wrong_number_or_width_of_inputs_says_which(data, method):
    """forward(x, static): forgetting the static input, passing one too many, or one of the wrong
    width names the inputs, not only x (it blamed x's C and T, or raised forward's TypeError)."""
    model, x, s = data
    with pytest.raises(ModelOutputError, match=r"takes more inputs than the series \(missing: 'static'\).*additional_inputs="):
        tsexplain.explain(model, x, method, target=0)
    with pytest.raises(ModelOutputError, match=r"forward takes 2 inputs, not the series and 2 additional"):
        tsexplain.explain(model, x, method, target=0, additional_inputs=(s, s))
    with pytest.raises(ModelOutputError, match=r"additional inputs of shapes \[\(5, 3\)\].*and the additional inputs"):
        tsexplain.explain(model, x, method, target=0, additional_inputs=(s[:, :3],))


def test_explain_passes_additional_inputs(data):
    model, x, s = data
    res = tsexplain.explain(model, x, "saliency", target=1, additional_inputs=(s,))
    gx, _ = autograd(model, x, s, torch.ones(5, dtype=torch.long))
    np.testing.assert_allclose(res.values, gx, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", list(METHODS))
def test_attribute_additional_matches_the_metadata(data, name):
    model, x, s = data
    cls = METHODS[name]
    method = cls(model, **method_settings(4)[name])
    if not cls.metadata()["attributes_additional"]:
        with pytest.raises(ParameterError, match=f"{name} does not attribute additional inputs"):
            method.attribute(x, target=0, additional_inputs=(s,), attribute_additional=True)
        return
    res = method.attribute(x, target=0, additional_inputs=(s,), attribute_additional=True)
    assert [a.shape for a in res.extras["additional"]] == [tuple(s.shape)]
