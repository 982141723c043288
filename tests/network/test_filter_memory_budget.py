"""filter_importance(_stats) and filter_saliency take ``memory_budget``; the old count still works.

Values do not depend on the budget; ``batch_size=`` / ``chunk_size=`` keep working for one
release with a DeprecationWarning and give the same values.
"""

# ruff: noqa: F811  (fixtures imported from network_helpers are redefined as test arguments)
from __future__ import annotations

import numpy as np
import pytest
import torch
from network_helpers import cnn, make_cnn, x  # noqa: F401  (pytest fixtures)

from tsexplain.exceptions import ParameterError
from tsexplain.network import filter_importance, filter_importance_stats, filter_saliency


def literal_importance(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Filter importance of layer "0" by one plain backward per sample."""
    rows = []
    for n in range(x.shape[0]):
        a = model[0](x[n : n + 1]).detach().requires_grad_(True)
        (g,) = torch.autograd.grad(model[1:](a).sum(), a)
        rows.append(g.abs().sum(dim=2)[0])
    return torch.stack(rows)


def test_importance_same_values_whatever_the_budget(cnn, x):
    expected = literal_importance(cnn, x)
    for budget in ("1MB", 1 << 30, "2GiB"):
        torch.testing.assert_close(filter_importance(cnn, x, "0", memory_budget=budget), expected)


def test_importance_batch_size_is_deprecated_but_works(cnn, x):
    with pytest.warns(DeprecationWarning, match="memory_budget"):
        got = filter_importance(cnn, x, "0", batch_size=4)
    torch.testing.assert_close(got, literal_importance(cnn, x))
    with pytest.warns(DeprecationWarning, match="memory_budget"):
        stats = filter_importance_stats(cnn, x, ["0"], batch_size=2, progress=False)["0"]
    ref = literal_importance(cnn, x).double().numpy()
    np.testing.assert_allclose(stats.mean, ref.mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats.max, ref.max(0), rtol=1e-5)


def test_importance_bad_budget_is_a_user_error(cnn, x):
    with pytest.raises(ParameterError, match="memory_budget"):
        filter_importance(cnn, x, "0", memory_budget="lots")


def test_saliency_same_values_whatever_the_budget_and_deprecated_chunk_size():
    from captum.attr import NeuronGradient

    model = make_cnn(seed=2).eval()
    x = torch.randn(4, 3, 50, generator=torch.Generator().manual_seed(7))
    layer = model[3]
    n_filters = layer.out_channels
    ng = NeuronGradient(model, layer)
    expected = torch.stack(
        [ng.attribute(x, neuron_selector=(f, slice(None))).abs() for f in range(n_filters)], 1
    )
    for method in ("vmap", "jvp", "replicate"):
        for budget in ("1MB", "1GB"):
            got = filter_saliency(model, x, "3", scale="none", method=method, memory_budget=budget)
            torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6)
    with pytest.warns(DeprecationWarning, match="memory_budget"):
        old = filter_saliency(model, x, "3", scale="none", method="vmap", chunk_size=3)
    torch.testing.assert_close(old, expected, rtol=1e-4, atol=1e-6)
