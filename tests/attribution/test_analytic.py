"""Values known on paper: linear and quadratic models, IG completeness."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from attribution_models import Linear, Quadratic

import tsexplain
from tsexplain.attribution import IntegratedGradients


def test_saliency_of_linear_model_is_its_weights(linear, x):
    res = tsexplain.explain(linear, x, "saliency")
    expected = linear.weight[0].detach().expand(len(x), -1, -1).numpy()
    np.testing.assert_allclose(np.asarray(res), expected, rtol=0, atol=1e-6)
    assert res.shape == tuple(x.shape)


def test_absolute_saliency_is_abs_of_weights(linear, x):
    res = tsexplain.explain(linear, x, "saliency", absolute=True)
    np.testing.assert_allclose(res.values[0], linear.weight[0].detach().abs().numpy(), atol=1e-6)
    assert res.signed is False


def test_gradient_x_input_of_linear_model(linear, x):
    res = tsexplain.explain(linear, x, "gradient_x_input")
    np.testing.assert_allclose(res.values, (x * linear.weight[0]).detach().numpy(), atol=1e-6)


def test_quadratic_gradient_is_2ax():
    model, x = Quadratic(), torch.randn(4, 3, 20, generator=torch.Generator().manual_seed(1))
    res = tsexplain.explain(model, x, "saliency")
    np.testing.assert_allclose(res.values, (2 * model.a * x).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_ig_of_quadratic_with_zero_baseline_is_a_x_squared():
    # integral_0^1 2 a (alpha x) dalpha * x = a x^2, exact for Gauss-Legendre with 2+ points
    model, x = Quadratic(), torch.randn(4, 3, 20, generator=torch.Generator().manual_seed(2))
    res = tsexplain.explain(model, x, "integrated_gradients", steps=4)
    np.testing.assert_allclose(res.values, (model.a * x**2).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_ig_of_linear_model_with_zero_baseline_is_weight_times_input(linear, x):
    res = tsexplain.explain(linear, x, "integrated_gradients", steps=3, rule="riemann_middle")
    np.testing.assert_allclose(res.values, (x * linear.weight[0]).detach().numpy(), atol=1e-6)


def smooth_cnn() -> torch.nn.Module:
    """A CNN with smooth activations: IG's integrand is smooth, so 200 points integrate it well.

    (With ReLU the integrand jumps at every kink and the quadrature error decays only like
    1/steps; the gap is reported per sample either way.)
    """
    torch.manual_seed(5)
    nn = torch.nn
    return nn.Sequential(
        nn.Conv1d(1, 8, 5, padding=2), nn.BatchNorm1d(8), nn.Tanh(),
        nn.Conv1d(8, 8, 5, padding=2), nn.Softplus(),
        nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(8, 3),
    ).eval()


@pytest.mark.parametrize("rule", ["gausslegendre", "riemann_trapezoid", "riemann_middle"])
def test_ig_completeness_at_200_steps(rule):
    model = smooth_cnn()
    x = torch.randn(5, 1, 60, generator=torch.Generator().manual_seed(3))
    baseline = torch.full_like(x, 0.3)
    res = IntegratedGradients(model, steps=200, baseline=baseline, rule=rule).attribute(x, target=2)
    with torch.no_grad():
        diff = (model(x)[:, 2] - model(baseline)[:, 2]).numpy()
    total = res.values.sum(axis=(1, 2))
    np.testing.assert_allclose(res.extras["output_difference"], diff, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res.extras["completeness_gap"], total - diff, atol=1e-6)
    rel = np.abs(total - diff) / np.maximum(np.abs(diff), 1e-8)
    assert rel.max() < 1e-3, rel


def test_ig_completeness_for_every_output_with_target_all():
    model = smooth_cnn()
    x = torch.randn(3, 1, 40, generator=torch.Generator().manual_seed(3))
    res = tsexplain.explain(model, x, "integrated_gradients", target="all", steps=200)
    assert res.shape == (3, 3, 1, 40)
    with torch.no_grad():
        diff = (model(x) - model(torch.zeros_like(x))).numpy()
    rel = np.abs(res.values.sum(axis=(2, 3)) - diff) / np.abs(diff).max()
    assert rel.max() < 1e-3
    assert res.extras["completeness_gap"].shape == (3, 3)


def test_target_all_equals_each_target_separately():
    model = Linear(n_outputs=5)
    x = torch.randn(4, 3, 20, generator=torch.Generator().manual_seed(4))
    every = tsexplain.explain(model, x, "saliency", target="all")
    for k in range(5):
        one = tsexplain.explain(model, x, "saliency", target=k)
        np.testing.assert_allclose(every.values[:, k], one.values, atol=1e-6)
        np.testing.assert_allclose(one.values[0], model.weight[k].detach().numpy(), atol=1e-6)


def test_per_sample_targets_and_predicted():
    model = Linear(n_outputs=3)
    x = torch.randn(6, 3, 20, generator=torch.Generator().manual_seed(5))
    targets = [0, 1, 2, 2, 1, 0]
    res = tsexplain.explain(model, x, "saliency", target=targets)
    for n, k in enumerate(targets):
        np.testing.assert_allclose(res.values[n], model.weight[k].detach().numpy(), atol=1e-6)
    pred = tsexplain.explain(model, x, "saliency", target="predicted")
    np.testing.assert_array_equal(pred.target, model(x).argmax(1).numpy())


def test_smoothgrad_with_zero_noise_equals_saliency(cnn):
    x = torch.randn(5, 1, 50, generator=torch.Generator().manual_seed(6))
    sg = tsexplain.explain(cnn, x, "smoothgrad", n_draws=7, noise=0.0, target=1)
    sal = tsexplain.explain(cnn, x, "saliency", target=1)
    np.testing.assert_allclose(sg.values, sal.values, atol=1e-6)


def test_smoothgrad_of_quadratic_is_unbiased():
    # E[2a(x + e)] = 2ax: with many samples the mean gradient approaches the noiseless one
    model, x = Quadratic(n_channels=1, n_timesteps=10), torch.randn(2, 1, 10, generator=torch.Generator().manual_seed(7))
    res = tsexplain.explain(model, x, "smoothgrad", n_draws=4000, noise=0.1, seed=1)
    sigma = 0.1 * (x.amax(dim=(1, 2)) - x.amin(dim=(1, 2)))
    expected = (2 * model.a * x).detach().numpy()
    # standard error of the mean of 2 a e: 2 |a| sigma / sqrt(S)
    se = (2 * model.a.abs() * sigma[:, None, None] / np.sqrt(4000)).detach().numpy()
    assert np.all(np.abs(res.values - expected) < 5 * se + 1e-6)
