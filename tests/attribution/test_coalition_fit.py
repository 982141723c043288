"""``fit_r2`` of KernelSHAP and LIME is NaN when the coalitions cannot identify every group."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from tsexplain.attribution import KernelShap, Lime
from tsexplain.attribution._coalitions import solve_lime, solve_shapley


def _linear() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(2 * 32, 1))


def _x() -> torch.Tensor:
    return torch.randn(3, 2, 32, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("cls", [KernelShap, Lime])
def test_fit_r2_is_nan_for_an_underdetermined_fit(cls):
    # 64 groups (one per cell), 16 coalitions: the fit interpolates them exactly
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cls(_linear(), groups="cells", n_segments=32, n_coalitions=16).attribute(_x())
    assert res.extras["n_groups"] == 64
    assert np.isnan(res.extras["fit_r2"]).all()
    assert any("do not separate all 64 groups" in str(w.message) for w in caught)


@pytest.mark.parametrize("cls", [KernelShap, Lime])
def test_fit_r2_is_one_for_a_linear_model_with_enough_coalitions(cls):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # identified: no warning
        res = cls(_linear(), groups="channels", n_coalitions=64).attribute(_x())
    np.testing.assert_allclose(res.extras["fit_r2"], 1.0, atol=1e-6)


def test_solvers_flag_a_rank_deficient_design():
    z = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # groups 0 and 1 always together
    y = torch.tensor([[1.0], [2.0]])
    w = torch.ones(2, dtype=torch.float64)
    _, r2_shap = solve_shapley(z, y, w, torch.zeros(1, dtype=torch.float64),
                               torch.ones(1, dtype=torch.float64) * 3)
    _, r2_lime = solve_lime(z, y, w)
    assert torch.isnan(r2_shap).all() and torch.isnan(r2_lime).all()
