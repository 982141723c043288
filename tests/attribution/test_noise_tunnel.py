"""NoiseTunnel over any method: a literal reference, Captum's NoiseTunnel as an oracle, names."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from attribution_models import fordA_cnn

import tsexplain
from tsexplain.attribution import (
    METHODS,
    IntegratedGradients,
    NoiseTunnel,
    Saliency,
    SmoothGrad,
    method_settings,
)
from tsexplain.attribution.noise_tunnel import sample_generator
from tsexplain.exceptions import ParameterError


@pytest.fixture(scope="module")
def model():
    return fordA_cnn(n_classes=3, width=8, seed=5)


@pytest.fixture(scope="module")
def x():
    return torch.randn(5, 1, 48, generator=torch.Generator().manual_seed(11))


def literal_noisy_inputs(x, n_draws, noise, seed):
    """Smilkov et al.'s noisy copies, written out: x_j + noise * range(x_j) * N(0, 1)."""
    rows = []
    for j in range(x.shape[0]):
        sigma = noise * (x[j].max() - x[j].min())
        eps = torch.randn((n_draws, *x.shape[1:]), generator=sample_generator(seed, x[j]))
        rows.append(x[j] + sigma * eps)
    return torch.stack(rows)  # (N, S, C, T)


def literal_tunnel(inner, x, target, n_draws, noise, seed, **call):
    """The wrapped method on each series' noisy copies, one series at a time, then reduced."""
    noisy = literal_noisy_inputs(x, n_draws, noise, seed)
    per_draw = np.stack([
        inner.attribute(noisy[j], target=[target[j]] * n_draws, **call).values
        for j in range(x.shape[0])
    ])  # (N, S, C, T)
    return {
        "smoothgrad": per_draw.mean(axis=1),
        "smoothgrad_sq": (per_draw**2).mean(axis=1),
        "vargrad": per_draw.var(axis=1),
    }


@pytest.mark.parametrize("strategy", ["smoothgrad", "smoothgrad_sq", "vargrad"])
@pytest.mark.parametrize("inner", ["saliency", "gradient_x_input", "integrated_gradients"])
def test_equals_the_inner_method_over_the_same_noisy_inputs(model, x, inner, strategy):
    target = [0, 1, 2, 1, 0]
    params = {"steps": 8} if inner == "integrated_gradients" else {}
    nt = NoiseTunnel(inner, model, n_draws=6, noise=0.2, seed=4, strategy=strategy, **params)
    ours = nt.attribute(x, target=target)
    ref = literal_tunnel(METHODS[inner](model, **params), x, target, 6, 0.2, 4)[strategy]
    np.testing.assert_allclose(ours.values, ref, rtol=1e-4, atol=1e-6 * np.abs(ref).max())
    assert ours.signed == (strategy == "smoothgrad")
    assert ours.params["method"] == inner and ours.params["strategy"] == strategy


@pytest.mark.parametrize("name", list(METHODS))
def test_wraps_every_registered_method(model, x, name):
    settings = method_settings(3)[name]
    target = [0, 1, 2, 1, 0]
    nt = NoiseTunnel(name, model, n_draws=3, noise=0.2, seed=4, method_params=settings)
    ours = nt.attribute(x, target=target)
    ref = literal_tunnel(METHODS[name](model, **settings), x, target, 3, 0.2, 4)["smoothgrad"]
    np.testing.assert_allclose(ours.values, ref, rtol=1e-4, atol=1e-6 * np.abs(ref).max())


def test_ig_baseline_per_series_is_repeated_with_the_draws(model, x):
    base = torch.randn(x.shape, generator=torch.Generator().manual_seed(2)) * 0.1
    target = [2, 1, 0, 0, 1]
    nt = NoiseTunnel("integrated_gradients", model, n_draws=4, noise=0.1, seed=0, steps=8)
    ours = nt.attribute(x, target=target, baseline=base).values
    noisy = literal_noisy_inputs(x, 4, 0.1, 0)
    ig = IntegratedGradients(model, steps=8)
    ref = np.stack([
        ig.attribute(noisy[j], target=[target[j]] * 4, baseline=base[j : j + 1]).values.mean(0)
        for j in range(x.shape[0])
    ])
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-6 * np.abs(ref).max())


def test_smoothgrad_is_the_noise_tunnel_over_saliency(model, x):
    a = SmoothGrad(model, n_draws=5, noise=0.1, seed=3).attribute(x, target=1).values
    b = NoiseTunnel(Saliency, model, n_draws=5, noise=0.1, seed=3).attribute(x, target=1).values
    np.testing.assert_array_equal(a, b)


def test_zero_noise_gives_the_inner_method(model, x):
    nt = NoiseTunnel("integrated_gradients", model, n_draws=3, noise=0.0, steps=8)
    a = nt.attribute(x, target=2).values
    b = IntegratedGradients(model, steps=8).attribute(x, target=2).values
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    var = NoiseTunnel("saliency", model, n_draws=3, noise=0.0, strategy="vargrad").attribute(x, target=2)
    np.testing.assert_allclose(var.values, 0.0, atol=1e-10)


def test_n_samples_still_works_with_a_deprecation_warning(model, x):
    with pytest.warns(DeprecationWarning, match="n_samples is renamed n_draws"):
        old = tsexplain.explain(model, x, "smoothgrad", target=1, n_samples=4, seed=2)
    new = tsexplain.explain(model, x, "smoothgrad", target=1, n_draws=4, seed=2)
    np.testing.assert_array_equal(old.values, new.values)
    assert new.params["n_draws"] == 4 and "n_samples" not in new.params


def test_wrapping_a_sequence_method_or_nonsense_is_refused(model):
    with pytest.raises(ParameterError, match="sequence method"):
        NoiseTunnel("time_smoothgrad", model)
    with pytest.raises(ParameterError, match="unknown method"):
        NoiseTunnel("no_such_method", model)
    with pytest.raises(ParameterError, match="strategy"):
        NoiseTunnel("saliency", model, strategy="median")
    with pytest.raises(ParameterError, match="does not take steps"):
        NoiseTunnel("saliency", model, n_draws=2).attribute(torch.zeros(1, 1, 48), target=0, steps=3)


# ----------------------------------------------------------------------------- Captum oracle
captum_attr = pytest.importorskip("captum.attr", reason="captum is the oracle (pip install captum)")


def unit_range(x):
    """Series rescaled to a value range of exactly 1, so that our relative noise level equals
    Captum's absolute standard deviation."""
    lo = x.amin(dim=(1, 2), keepdim=True)
    hi = x.amax(dim=(1, 2), keepdim=True)
    return (x - lo) / (hi - lo)


@pytest.mark.parametrize("strategy, nt_type", [("smoothgrad", "smoothgrad"), ("vargrad", "vargrad"),
                                              ("smoothgrad_sq", "smoothgrad_sq")])
@pytest.mark.parametrize("inner", ["saliency", "integrated_gradients"])
def test_matches_captum_noise_tunnel_statistically(inner, strategy, nt_type):
    model = fordA_cnn(n_classes=2, width=8, seed=9)
    x = unit_range(torch.randn(3, 1, 40, generator=torch.Generator().manual_seed(8)))
    target = [0, 1, 1]
    draws = 800
    params = {"steps": 8} if inner == "integrated_gradients" else {}
    ours = NoiseTunnel(inner, model, n_draws=draws, noise=0.2, seed=1, strategy=strategy,
                       **params).attribute(x, target=target).values
    torch.manual_seed(0)
    if inner == "saliency":
        nt, kw = captum_attr.NoiseTunnel(captum_attr.Saliency(model)), {"abs": False}
    else:
        nt = captum_attr.NoiseTunnel(captum_attr.IntegratedGradients(model))
        kw = {"n_steps": 8, "method": "gausslegendre"}
    theirs = nt.attribute(x, nt_type=nt_type, nt_samples=draws, nt_samples_batch_size=100,
                          stdevs=0.2, target=target, **kw).detach().numpy()
    for j in range(3):
        r = np.corrcoef(ours[j].ravel(), theirs[j].ravel())[0, 1]
        assert r > 0.95, (j, r)
    scale = np.abs(theirs).mean() / np.abs(ours).mean()
    assert 0.8 < scale < 1.25
