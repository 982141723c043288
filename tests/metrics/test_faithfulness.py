"""Deletion and insertion curves: a linear model's curve by hand, baselines, batching, targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tsexplain.exceptions import ParameterError, ShapeError, TargetError
from tsexplain.metrics import (
    DeletionCurve,
    InsertionCurve,
    area_under_curve,
    deletion_curve,
    insertion_curve,
    perturbation_baseline,
)


class Linear(torch.nn.Module):
    """K linear outputs f_k(x) = sum(w_k * x)."""

    def __init__(self, w: np.ndarray) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.as_tensor(w, dtype=torch.float64))
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(x.double())
        if self.w.ndim == 2:
            return (x * self.w).sum(dim=(1, 2))
        return torch.einsum("nct,kct->nk", x, self.w)


W = np.array([[3.0, -1.0], [0.5, 2.0]])  # (C=2, T=2)


def test_linear_deletion_curve_by_hand():
    x = np.ones((1, 2, 2))
    model = Linear(W)
    model.train()
    curve = deletion_curve(model, x, W * x, steps=4)
    # |w| order: 3, 2, -1, 0.5 -> remove 3, then 2, then -1, then 0.5 (zeros baseline).
    assert np.allclose(curve.fractions, [0, 0.25, 0.5, 0.75, 1.0])
    assert np.allclose(curve.scores, [[4.5, 1.5, -0.5, 0.5, 0.0]])
    auc = 0.25 * (4.5 / 2 + 1.5 - 0.5 + 0.5 + 0.0 / 2)
    assert curve.auc() == pytest.approx(auc)
    assert model.training and model.drop.training  # mode restored
    # signed ranking removes the positive contributions first: 3, 2, 0.5, -1
    signed = deletion_curve(model, x, W * x, steps=4, absolute=False)
    assert np.allclose(signed.scores, [[4.5, 1.5, -0.5, -1.0, 0.0]])
    assert signed.auc() < curve.auc()


def test_insertion_mirrors_deletion_for_a_linear_model():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 20))
    x = rng.standard_normal((4, 3, 20))
    model = Linear(w)
    attr = rng.standard_normal(x.shape)
    dele = deletion_curve(model, x, attr, steps=10, baseline="zeros")
    ins = insertion_curve(model, x, attr, steps=10, baseline="zeros")
    f = (x * w).sum(axis=(1, 2))
    assert np.allclose(dele.scores + ins.scores, f[:, None])  # removed + kept = whole
    assert np.allclose(dele.scores[:, 0], f) and np.allclose(ins.scores[:, 0], 0.0)


def test_faithful_attribution_beats_random_and_reversed():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((2, 50))
    x = np.abs(rng.standard_normal((8, 2, 50)))
    model = Linear(w)
    exact = w * x  # the exact contributions (gradient x input)
    kw = {"steps": 25, "absolute": False}
    good = deletion_curve(model, x, exact, **kw).auc()
    rand = deletion_curve(model, x, rng.standard_normal(x.shape), **kw).auc()
    bad = deletion_curve(model, x, -exact, **kw).auc()
    assert good < rand < bad
    assert (
        insertion_curve(model, x, exact, baseline="zeros", **kw).auc()
        > insertion_curve(model, x, -exact, baseline="zeros", **kw).auc()
    )


def test_area_under_curve():
    assert area_under_curve([0, 0.5, 1], [1, 1, 1]) == pytest.approx(1.0)
    assert area_under_curve([0, 1], [[0, 1], [1, 1]]) == pytest.approx([0.5, 1.0])
    with pytest.raises(ShapeError):
        area_under_curve([0, 0.5, 1], [1, 1])


def test_baselines():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 64)) + 5
    assert np.array_equal(perturbation_baseline(x, "zeros"), np.zeros_like(x))
    mean = perturbation_baseline(x, "mean")
    assert np.allclose(mean, x.mean(axis=2, keepdims=True))
    blur = perturbation_baseline(x, "blur", blur_sigma=3.0)
    assert np.allclose(blur.mean(axis=2), x.mean(axis=2), atol=0.2)
    assert blur.std(axis=2).max() < x.std(axis=2).min()
    n1 = perturbation_baseline(x, "noise", seed=3)
    assert np.array_equal(n1, perturbation_baseline(x, "noise", seed=3))
    assert not np.array_equal(n1, perturbation_baseline(x, "noise", seed=4))
    assert np.allclose(perturbation_baseline(x, 2.0), 2.0)
    with pytest.raises(ShapeError, match=r"x.shape = \(2, 3, 64\).*baseline.shape = \(5,\)"):
        perturbation_baseline(x, np.ones(5))


def test_batching_chunking_and_seed_do_not_change_results():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((2, 15))
    x = rng.standard_normal((7, 2, 15))
    attr = np.round(rng.standard_normal(x.shape))  # many ties: broken by the seed
    model = Linear(w)
    # one row per forward pass (the deprecated batch_size) vs everything at once (a large budget)
    with pytest.warns(DeprecationWarning, match="batch_size= is replaced by memory_budget="):
        a = deletion_curve(model, x, attr, steps=6, batch_size=1, seed=5, baseline="mean")
    b = deletion_curve(model, x, attr, steps=6, memory_budget="1GB", seed=5, baseline="mean")
    assert np.allclose(a.scores, b.scores)
    smooth = rng.standard_normal(x.shape)  # no ties: each sample's curve is its own business
    batched = deletion_curve(model, x, smooth, steps=6, baseline="mean").scores
    single = [
        deletion_curve(model, x[i : i + 1], smooth[i : i + 1], steps=6, baseline="mean").scores
        for i in range(3)
    ]
    assert np.allclose(np.vstack(single), batched[:3])
    c = deletion_curve(model, x, attr, steps=6, seed=6, baseline="mean")
    assert np.allclose(c.scores[:, [0, -1]], a.scores[:, [0, -1]])  # ends do not depend on ties


def test_targets_and_output_transform(capsys):
    rng = np.random.default_rng(4)
    w = rng.standard_normal((3, 2, 10))  # K = 3 outputs
    x = rng.standard_normal((5, 2, 10))
    model = Linear(w)
    attr = rng.standard_normal(x.shape)
    out = np.einsum("nct,kct->nk", x, w)
    pred = deletion_curve(model, x, attr, target="predicted", steps=2)
    assert np.array_equal(pred.target, out.argmax(1))
    assert np.allclose(pred.scores[:, 0], out.max(1))
    one = deletion_curve(model, x, attr, target=1, steps=2)
    assert np.allclose(one.scores[:, 0], out[:, 1])
    each = deletion_curve(model, x, attr, target=[0, 1, 2, 0, 1], steps=2)
    assert np.allclose(each.scores[:, 0], out[np.arange(5), [0, 1, 2, 0, 1]])
    prob = deletion_curve(
        model, x, attr, target=0, steps=2, output_transform=lambda o: o.softmax(-1), progress=True
    )
    e = np.exp(out - out.max(1, keepdims=True))
    assert np.allclose(prob.scores[:, 0], (e / e.sum(1, keepdims=True))[:, 0])
    with pytest.raises(TargetError, match="3 outputs"):
        deletion_curve(model, x, attr, steps=2)
    with pytest.raises(TargetError, match="out of range"):
        deletion_curve(model, x, attr, target=3, steps=2)


def test_accumulating_curves():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((2, 12))
    x = rng.standard_normal((6, 2, 12))
    attr = w * x
    model = Linear(w)
    for cls, fn in ((DeletionCurve, deletion_curve), (InsertionCurve, insertion_curve)):
        m = cls(steps=4, baseline="mean")
        m.update(model, x[:2], attr[:2])
        m.update(model, x[2:], attr[2:])
        whole = fn(model, x, attr, steps=4, baseline="mean")
        got = m.compute()
        assert np.allclose(got.scores, whole.scores) and got.auc() == pytest.approx(whole.auc())
        m.reset()
        with pytest.raises(ValueError, match="before any update"):
            m.compute()


def test_normalized_auc_and_shape_errors():
    x = np.ones((1, 2, 2))
    model = Linear(W)
    curve = deletion_curve(model, x, W * x, steps=4)
    assert curve.normalized_auc() == pytest.approx(curve.auc() / 4.5)
    with pytest.raises(ShapeError, match=r"x.shape = \(1, 2, 2\).*attribution.shape = \(1, 2, 3\)"):
        deletion_curve(model, x, np.ones((1, 2, 3)))


def test_accepts_attribution_results_from_the_engine():
    from tsexplain import attribution

    rng = np.random.default_rng(6)
    w = rng.standard_normal((2, 10))
    x = rng.standard_normal((3, 2, 10))
    model = Linear(w)
    res = attribution.explain(model, torch.as_tensor(x), "gradient_x_input")
    by_result = deletion_curve(model, x, res, steps=5, absolute=False)
    by_hand = deletion_curve(model, x, w * x, steps=5, absolute=False)
    assert np.allclose(by_result.scores, by_hand.scores)


def test_former_name_n_steps_still_works_with_a_warning() -> None:
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1, bias=False))
    torch.nn.init.ones_(model[1].weight)
    x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    with pytest.warns(DeprecationWarning, match="n_steps= is renamed steps="):
        old = deletion_curve(model, x, x, n_steps=4)
    assert old.scores.tolist() == deletion_curve(model, x, x, steps=4).scores.tolist() == [[10.0, 6.0, 3.0, 1.0, 0.0]]
    with pytest.raises(ParameterError, match="pass steps= only"):
        deletion_curve(model, x, x, n_steps=4, steps=4)


def test_a_deletion_curve_that_stops_early_by_hand():
    """max_fraction=0.5, steps=2 on the same model: cells 3 then 2 removed; the AUC is the mean
    height over [0, 0.5]."""
    x = np.ones((1, 2, 2))
    curve = deletion_curve(Linear(W), x, W * x, steps=2, max_fraction=0.5)
    assert np.allclose(curve.fractions, [0, 0.25, 0.5])
    assert np.allclose(curve.scores, [[4.5, 1.5, -0.5]])
    height = (0.25 * (4.5 + 1.5) / 2 + 0.25 * (1.5 - 0.5) / 2) / 0.5
    assert curve.auc() == pytest.approx(height)
    assert curve.normalized_auc() == pytest.approx(height / 4.5)
    assert curve.params["max_fraction"] == 0.5
    metric = DeletionCurve(steps=2, max_fraction=0.5)
    metric.update(Linear(W), x, W * x)
    assert metric.compute().auc() == pytest.approx(height)


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, "half"])
def test_max_fraction_outside_0_1_is_refused(bad):
    with pytest.raises(ParameterError, match="max_fraction must be a number in"):
        deletion_curve(Linear(W), np.ones((1, 2, 2)), W[None], steps=2, max_fraction=bad)
