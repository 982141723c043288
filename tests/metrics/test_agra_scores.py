"""AGRA scores: Algorithm 1 on linear models (closed form), Pearson scores with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tsexplain.exceptions import ParameterError, ShapeError
from tsexplain.metrics import (
    MagnitudePearson,
    SignedPearson,
    agra_reconstruct,
    ideal_gradient,
    magnitude_pearson,
    reconstruction_mse,
    signed_pearson,
)


class Linear(torch.nn.Module):
    """f(x) = sum(w * x): its input gradient is w everywhere."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(w.clone().double())
        self.drop = torch.nn.Dropout(0.5)  # must be off during the descent

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.drop(x) * self.w).sum(dim=(1, 2))


def _projection(w: np.ndarray, x: np.ndarray, ideal: float) -> np.ndarray:
    """Limit of gradient descent on (w.x - ideal)^2 from x: the move along w onto the level set."""
    f = (x * w).sum(axis=(1, 2))
    return ((ideal - f) / (w * w).sum())[:, None, None] * w


@pytest.fixture
def linear_world():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(2, 16, generator=g, dtype=torch.float64) * 0.3
    x = torch.randn(5, 2, 16, generator=g, dtype=torch.float64)
    return Linear(w), w.numpy(), x.numpy()


def test_ideal_gradient_is_clean_minus_perturbed():
    x = np.arange(12.0).reshape(1, 2, 6)
    clean = np.ones_like(x)
    assert np.array_equal(ideal_gradient(x, clean), 1.0 - x)


def test_sign_convention_matches_the_gradient_of_a_good_score():
    # f(x) = -||x - clean||^2 is the perfect quality score: its gradient 2 (clean - x) points
    # along the ideal gradient, so a plain gradient scores signed Pearson +1.
    rng = np.random.default_rng(0)
    clean = torch.from_numpy(rng.standard_normal((1, 2, 30)))
    x = clean + torch.from_numpy(rng.standard_normal((4, 2, 30)))
    xv = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad((-((xv - clean) ** 2).sum(dim=(1, 2))).sum(), xv)
    ideal = ideal_gradient(x, clean.expand_as(x))
    assert signed_pearson(grad, ideal) == pytest.approx(1.0)


class SquaredError(torch.nn.Module):
    """f(x) = ||x - clean||^2 per sample: a perfect score whose ideal (0) is the bottom."""

    def __init__(self, clean: torch.Tensor) -> None:
        super().__init__()
        self.clean = clean

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x - self.clean) ** 2).sum(dim=(1, 2))


def test_displacement_repairs_when_the_ideal_score_is_the_bottom():
    # Descent on f^2 with f = ||x - c||^2 scales x - c by (1 - 4 lr f) at every step, so the
    # displacement stays a positive multiple of c - x: signed and magnitude Pearson +1, while
    # the plain gradient 2 (x - c) points the other way (signed Pearson -1).
    rng = np.random.default_rng(6)
    clean = torch.from_numpy(rng.standard_normal((1, 2, 30)))
    x = (clean + torch.from_numpy(rng.standard_normal((4, 2, 30)))).numpy()
    model = SquaredError(clean)
    truth = ideal_gradient(x, clean.expand(4, 2, 30).numpy())
    res = agra_reconstruct(model, x, ideal_score=0.0, lr=2e-3, tol=1e-2, max_iter=5000)
    assert res.converged.all()
    assert signed_pearson(res.displacement, truth) == pytest.approx(1.0)
    assert magnitude_pearson(res.displacement, truth) == pytest.approx(1.0)
    assert signed_pearson(2 * (x - clean.numpy()), truth) == pytest.approx(-1.0)
    # stopped at f < 0.1, i.e. a remaining squared error below 0.1 over 60 cells
    mse = reconstruction_mse(model, x, np.broadcast_to(clean.numpy(), x.shape), ideal_score=0.0,
                             lr=2e-3, tol=1e-2, max_iter=5000)
    assert 0.0 < mse < 0.1 / 60


def test_divergence_warns(linear_world):
    model, _, x = linear_world
    with pytest.warns(RuntimeWarning, match="smaller lr"):
        res = agra_reconstruct(model, x, ideal_score=1.0, lr=10.0, tol=0.0, max_iter=1000)
    assert not np.isfinite(res.displacement).all()


def test_algorithm1_on_a_linear_model_reaches_the_closed_form(linear_world):
    model, w, x = linear_world
    model.train()
    before = model.w.detach().clone()
    res = agra_reconstruct(model, x, ideal_score=1.0, lr=0.05, tol=1e-12, max_iter=2000)
    expected = _projection(w, x, 1.0)
    assert np.allclose(res.displacement, expected, atol=1e-5)
    assert np.allclose(res.reconstruction, x + expected, atol=1e-5)
    assert res.converged.all() and res.n_iter.shape == (1, 5)
    assert np.allclose(res.final_scores, 1.0, atol=1e-5)
    # caller's model unchanged: weights, no grads, training flag restored
    assert torch.equal(model.w.detach(), before) and model.w.grad is None
    assert model.training and model.drop.training
    # the clean signal that the descent recovers exactly scores MSE ~ 0
    clean = x + expected
    mse = reconstruction_mse(model, x, clean, ideal_score=1.0, lr=0.05, tol=1e-12, max_iter=2000)
    assert mse == pytest.approx(0.0, abs=1e-10)


def test_agra_averages_the_displacements_of_the_models(linear_world):
    _, w, x = linear_world
    w2 = np.roll(w, 3, axis=1) * 1.7
    models = [Linear(torch.from_numpy(w)), Linear(torch.from_numpy(w2))]
    res = agra_reconstruct(models, x, ideal_score=0.5, lr=0.05, tol=1e-12, max_iter=3000)
    expected = 0.5 * (_projection(w, x, 0.5) + _projection(w2, x, 0.5))
    assert np.allclose(res.displacement, expected, atol=1e-5)
    assert res.n_iter.shape == (2, 5)


def test_gradient_fn_replaces_autograd(linear_world):
    model, w, x = linear_world
    calls = []

    def gradient_fn(m, xx):
        calls.append(tuple(xx.shape))
        return np.broadcast_to(w, xx.shape)  # the exact d f / d x

    kw = {"ideal_score": 1.0, "lr": 0.05, "tol": 1e-10, "max_iter": 500}
    a = agra_reconstruct(model, x, gradient_fn=gradient_fn, **kw)
    b = agra_reconstruct(model, x, **kw)
    assert calls and np.allclose(a.displacement, b.displacement, atol=1e-8)


def test_stopping_rules(linear_world):
    model, w, x = linear_world
    res = agra_reconstruct(model, x, ideal_score=1.0, max_iter=0)
    assert np.array_equal(res.displacement, np.zeros_like(x))
    assert not res.converged.any() and (res.n_iter == 0).all()
    # a sample already at the ideal score does not move
    x0 = x.copy()
    x0[0] *= 0
    res = agra_reconstruct(model, x0, ideal_score=0.0, tol=1e-6, lr=0.05, max_iter=50)
    assert np.array_equal(res.displacement[0], np.zeros_like(x0[0]))
    assert res.n_iter[0, 0] == 0


def test_reconstruction_mse_from_an_attribution():
    rng = np.random.default_rng(0)
    clean = rng.standard_normal((4, 2, 30))
    x = clean.copy()
    x[:, 0, 10:13] += 2.0
    ideal = ideal_gradient(x, clean)
    assert reconstruction_mse(None, x, clean, attribution=ideal) == pytest.approx(0.0)
    nothing = reconstruction_mse(None, x, clean, attribution=np.zeros_like(x), reduction="none")
    assert np.allclose(nothing, ((x - clean) ** 2).mean(axis=(1, 2)))
    half = reconstruction_mse(None, x, clean, attribution=0.5 * ideal)
    assert half == pytest.approx(0.25 * np.mean(nothing))


def test_pearson_scores_perfect_flipped_scaled():
    rng = np.random.default_rng(1)
    g = rng.standard_normal((6, 2, 50))
    assert magnitude_pearson(g, g) == pytest.approx(1.0)
    assert magnitude_pearson(-3 * g, g) == pytest.approx(1.0)  # magnitudes ignore the sign
    assert magnitude_pearson(g, g, magnitude="channel_norm") == pytest.approx(1.0)
    assert signed_pearson(g, g) == pytest.approx(1.0)
    assert signed_pearson(2 * g + 5, g) == pytest.approx(1.0)
    assert signed_pearson(-g, g) == pytest.approx(-1.0)


def test_signed_pearson_is_per_channel_then_averaged():
    rng = np.random.default_rng(2)
    g = rng.standard_normal((3, 2, 40))
    a = g.copy()
    a[:, 1] *= -1  # channel 0 perfect (+1), channel 1 flipped (-1): mean 0
    assert np.allclose(signed_pearson(a, g, reduction="none"), 0.0)
    # Pooling both channels would not give 0 once their scales differ; per channel does.
    a[:, 1] *= 10
    assert np.allclose(signed_pearson(a, g, reduction="none"), 0.0)


def test_random_attributions_score_about_zero():
    rng = np.random.default_rng(3)
    g = rng.standard_normal((200, 2, 100))
    a = rng.standard_normal(g.shape)
    assert abs(signed_pearson(a, g)) < 0.02
    assert abs(magnitude_pearson(a, g)) < 0.02


def test_undefined_samples_are_nan_and_skipped():
    rng = np.random.default_rng(4)
    g = rng.standard_normal((3, 2, 20))
    g[1] = 0.0  # an unperturbed signal: ideal gradient is constant
    per = magnitude_pearson(g, g, reduction="none")
    assert np.isnan(per[1]) and np.allclose(per[[0, 2]], 1.0)
    assert magnitude_pearson(g, g) == pytest.approx(1.0)
    g[2, 0] = 0.0  # one channel constant: the other one still counts
    assert signed_pearson(g, g, reduction="none")[2] == pytest.approx(1.0)


def test_accumulating_metrics_match_functions():
    rng = np.random.default_rng(5)
    g = rng.standard_normal((10, 2, 30))
    a = g + rng.standard_normal(g.shape)
    for metric, fn in ((MagnitudePearson(), magnitude_pearson), (SignedPearson(), signed_pearson)):
        metric.update(a[:4], g[:4])
        metric.update(a[4:], g[4:])
        assert metric.compute() == pytest.approx(fn(a, g))
        assert metric.n_samples == 10
        metric.reset()
        assert np.isnan(metric.compute())


def test_shape_errors_name_both_shapes(linear_world):
    model, _, x = linear_world
    with pytest.raises(ShapeError, match=r"\(2, 2, 5\).*\(2, 2, 6\)"):
        magnitude_pearson(np.ones((2, 2, 5)), np.ones((2, 2, 6)))
    with pytest.raises(ShapeError, match=r"\(2, 2, 5\).*\(2, 3, 5\)"):
        signed_pearson(np.ones((2, 2, 5)), np.ones((2, 3, 5)))
    with pytest.raises(ShapeError, match=r"x.shape = \(5, 2, 16\).*clean.shape = \(5, 2, 15\)"):
        reconstruction_mse(model, x, x[..., :15])
    with pytest.raises(ShapeError, match="3 dimensions"):
        magnitude_pearson(np.ones((2, 5)), np.ones((2, 5)))
    with pytest.raises(ParameterError, match="ideal_score"):
        reconstruction_mse(model, x, x)


def _half_sum() -> torch.nn.Module:
    """f(x) = 0.5 * sum(x) over (N, 1, 4): lr = 0.5 reaches the ideal score in one step."""
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1, bias=False))
    torch.nn.init.constant_(model[1].weight, 0.5)
    return model.eval()


def test_agra_takes_an_exported_program_and_a_loaded_model(tmp_path):
    from tsexplain.io import load_any_model

    program = torch.export.export(_half_sum(), (torch.zeros(2, 1, 4),),
                                  dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, str(tmp_path / "m.pt2"))
    # by hand: f(0) = 0, loss (f - 2)^2, d/dx = 2 (f - 2) 0.5 = -2 per cell; x - 0.5 * -2 = 1
    for model in (program, load_any_model(tmp_path / "m.pt2"), [program, _half_sum()]):
        r = agra_reconstruct(model, np.zeros((2, 1, 4)), ideal_score=2.0, lr=0.5)
        assert r.displacement.tolist() == [[[1.0, 1.0, 1.0, 1.0]]] * 2  # was "not iterable"
        assert r.final_scores.tolist() == [[2.0, 2.0]] * r.n_iter.shape[0]


def test_agra_names_a_refused_series_and_a_model_with_further_inputs():
    from tsexplain.exceptions import ModelInputsError, ModelOutputError

    with pytest.raises(ModelOutputError, match=r"^agra_reconstruct: the model failed on x of shape "
                                               r"\(2, 1, 5\) \(N, C, T\)"):
        agra_reconstruct(_half_sum(), np.zeros((2, 1, 5)), ideal_score=2.0)

    class Static(torch.nn.Module):
        def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
            return x.sum(dim=(1, 2)) + s[:, 0]

    with pytest.raises(ModelInputsError, match=r"^agra_reconstruct: the model's forward takes more "
                                               r"inputs than the series \(missing: 's'\); .*fixed$"):
        reconstruction_mse(Static(), np.zeros((2, 1, 4)), np.ones((2, 1, 4)), ideal_score=1.0)
