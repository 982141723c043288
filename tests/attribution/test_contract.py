"""Every registered method through the same checks (the contract of the protocol)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from attribution_models import fordA_cnn

import tsexplain
from tsexplain.attribution import METHODS, SEQUENCE_METHODS
from tsexplain.exceptions import ShapeError

BATCH_METHODS = list(METHODS)
#: Cheaper settings of the costly parameters the registry names (steps, draws, ...).
FAST = {
    name: {p: min(8, cls.parameters()[p]) for p in cls.cost_params
           if isinstance(cls.parameters().get(p), int)}
    for name, cls in METHODS.items()
}


def run(model, x, name, **kw):
    return tsexplain.explain(model, x, name, target=1, **FAST.get(name, {}), **kw)


@pytest.fixture(scope="module")
def model():
    return fordA_cnn(n_classes=3, width=8, seed=11)


@pytest.fixture(scope="module")
def x():
    return torch.randn(7, 1, 64, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", BATCH_METHODS)
def test_shape_in_equals_shape_out_and_metadata(model, x, name):
    res = run(model, x, name)
    assert np.asarray(res).shape == tuple(x.shape)
    assert res.values.dtype == np.float32
    assert res.method == name
    assert set(METHODS[name].parameters()) <= set(res.params)
    np.testing.assert_array_equal(res.target, np.ones(7, dtype=np.int64))
    assert res.predictions.shape == (7, 3)


@pytest.mark.parametrize("name", BATCH_METHODS)
def test_numpy_input_gives_the_same_result(model, x, name):
    a = run(model, x, name).values
    b = run(model, x.numpy(), name).values
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", BATCH_METHODS)
def test_input_and_model_untouched(name):
    model = fordA_cnn(n_classes=3, width=8, seed=11)
    model.train()
    x = torch.randn(4, 1, 32, generator=torch.Generator().manual_seed(1))
    x_before = x.clone()
    state = copy.deepcopy(model.state_dict())
    run(model, x, name)
    assert torch.equal(x, x_before)
    assert model.training and all(m.training for m in model.modules())
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert all(p.grad is None for p in model.parameters())
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("name", BATCH_METHODS)
def test_per_sample_results_equal_batched_results(model, x, name):
    batched = run(model, x, name).values
    for n in (0, 3, 6):
        single = tsexplain.explain(model, x[n : n + 1], name, target=1, **FAST.get(name, {})).values
        np.testing.assert_allclose(single[0], batched[n], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", BATCH_METHODS)
def test_a_target_per_sample_as_array_list_or_one_index_at_a_time(model, x, name):
    """A per-sample target given as an integer array or a list explains, for each sample, the
    output a single-index call explains (Grad-CAM, layer IG and DeepLIFT compared the array with
    "predicted" and failed: "truth value of an array is ambiguous")."""
    per_sample = np.array([0, 2, 1, 1, 0, 2, 1])
    as_array = tsexplain.explain(model, x, name, target=per_sample, **FAST.get(name, {})).values
    as_list = tsexplain.explain(model, x, name, target=per_sample.tolist(), **FAST.get(name, {})).values
    np.testing.assert_array_equal(as_array, as_list)
    for n in (0, 1, 2):
        one = tsexplain.explain(model, x[n : n + 1], name, target=int(per_sample[n]),
                                **FAST.get(name, {})).values
        np.testing.assert_allclose(one[0], as_array[n], rtol=1e-5, atol=1e-7)


class CountRows(torch.nn.Module):
    """The model, recording the number of rows of every forward call."""

    def __init__(self, model):
        super().__init__()
        self.model, self.rows = model, []

    def forward(self, x):
        self.rows.append(x.shape[0])
        return self.model(x)


@pytest.mark.parametrize("name", BATCH_METHODS)
def test_memory_budget_chunks_and_does_not_change_results(model, name, monkeypatch):
    from tsexplain.attribution import _perturbation

    # the rows must reach the model's forward to be counted: no convolutional-front shortcut
    # (its passes follow the budget too: tests/attribution/test_local_front.py)
    monkeypatch.setattr(_perturbation, "_local_splits", lambda *args: [])
    x = torch.randn(40, 1, 64, generator=torch.Generator().manual_seed(3))
    counted = CountRows(model)
    big = run(counted, x, name, memory_budget="1GB", fold_batchnorm=False).values
    assert max(counted.rows) >= 40  # one chunk holds every row
    counted.rows.clear()
    small = run(counted, x, name, memory_budget="1MB", fold_batchnorm=False).values
    assert max(counted.rows) < 40 and len(counted.rows) > 2, counted.rows  # it did chunk
    np.testing.assert_allclose(small, big, rtol=1e-5, atol=1e-7 * np.abs(big).max())


@pytest.mark.parametrize("name", BATCH_METHODS)
def test_batchnorm_folding_does_not_change_results(model, x, name):
    folded = run(model, x, name).values
    plain_res = run(model, x, name, fold_batchnorm=False)
    plain = plain_res.values
    # perturbation methods subtract outputs: folding changes f(x) by float32 rounding, ~1e-7 |f|
    rounding = 1e-6 * np.abs(plain_res.predictions).max() if METHODS[name].kind == "perturbation" else 0.0
    np.testing.assert_allclose(folded, plain, rtol=1e-4, atol=1e-6 * np.abs(plain).max() + rounding)


@pytest.mark.parametrize("name", BATCH_METHODS)
def test_seeded_and_deterministic(model, x, name):
    a = run(model, x, name).values
    b = run(model, x, name).values
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", [n for n, c in METHODS.items() if c.randomized])
def test_seed_changes_the_randomness(model, x, name):
    a = tsexplain.explain(model, x, name, target=1, **FAST[name], seed=0).values
    b = tsexplain.explain(model, x, name, target=1, **FAST[name], seed=1).values
    assert not np.allclose(a, b)


@pytest.mark.parametrize("name", [*METHODS, *SEQUENCE_METHODS])
def test_bad_shapes_raise_our_error(model, name):
    with pytest.raises(ShapeError, match=r"\(N, C, T\)"):
        tsexplain.explain(model, torch.randn(5, 64, generator=torch.Generator().manual_seed(2)), name)


@pytest.mark.parametrize("name", BATCH_METHODS)
def test_agra_equals_mean_of_single_models(x, name):
    models = [fordA_cnn(n_classes=3, width=8, seed=s) for s in range(3)]
    agra = tsexplain.explain(models, x, name, target=1, **FAST.get(name, {}))
    singles = [run(m, x, name).values for m in models]
    np.testing.assert_allclose(agra.values, np.mean(singles, axis=0), rtol=1e-5, atol=1e-7)
    assert agra.n_models == 3


@pytest.mark.parametrize("name", BATCH_METHODS)
def test_target_all_stacks_every_output(model, x, name):
    every = tsexplain.explain(model, x, name, target="all", **FAST.get(name, {})).values
    assert every.shape == (7, 3, 1, 64)
    for k in range(3):
        one = tsexplain.explain(model, x, name, target=k, **FAST.get(name, {})).values
        np.testing.assert_allclose(every[:, k], one, rtol=1e-5, atol=1e-7)


def test_torchscript_model_gives_the_same_result(model, x):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.trace(model, x[:2])
    a = tsexplain.explain(model, x, "integrated_gradients", target=1, steps=8).values
    b = tsexplain.explain(scripted, x, "integrated_gradients", target=1, steps=8).values
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6 * np.abs(a).max())
