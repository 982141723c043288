"""Bad input gets a clear error or warning naming the problem and the expected form."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from attribution_models import Linear, fordA_cnn
from torch import nn

import tsexplain
from tsexplain.exceptions import (
    ModelOutputError,
    ParameterError,
    SaturationWarning,
    ShapeError,
    TargetError,
    ZeroGradientWarning,
)


def test_two_dimensional_input_hints_at_the_channel_axis(linear):
    with pytest.raises(ShapeError, match=r"x\[:, None, :\]"):
        tsexplain.explain(linear, np.zeros((4, 20)), "saliency")


def test_one_dimensional_input_hint(linear):
    with pytest.raises(ShapeError, match=r"\(T,\)"):
        tsexplain.explain(linear, np.zeros(20), "saliency")


def test_nan_input_is_rejected(linear):
    x = np.zeros((2, 3, 20))
    x[1, 2, 5] = np.nan
    with pytest.raises(ValueError, match="1 NaN or Inf"):
        tsexplain.explain(linear, x, "saliency")


def test_channels_last_input_warns_with_a_transpose_hint():
    model = nn.Sequential(nn.Flatten(), nn.Linear(40 * 10, 1))
    with pytest.warns(UserWarning, match="transpose"):
        tsexplain.explain(model, torch.randn(2, 40, 10, generator=torch.Generator().manual_seed(1)), "saliency")


def test_non_array_input_is_a_type_error(linear):
    with pytest.raises(TypeError, match="torch.Tensor or numpy.ndarray"):
        tsexplain.explain(linear, "not an array", "saliency")


def test_target_out_of_range(linear):
    with pytest.raises(TargetError, match="valid indices are 0..0"):
        tsexplain.explain(linear, torch.randn(2, 3, 20, generator=torch.Generator().manual_seed(2)), "saliency", target=3)


def test_multi_output_model_needs_a_target():
    with pytest.raises(TargetError, match="has 4 outputs"):
        tsexplain.explain(Linear(n_outputs=4), torch.randn(2, 3, 20, generator=torch.Generator().manual_seed(3)), "saliency")


def test_per_sample_target_of_wrong_length():
    with pytest.raises(TargetError, match=r"shape \(2,\)"):
        tsexplain.explain(Linear(n_outputs=4), torch.randn(2, 3, 20, generator=torch.Generator().manual_seed(4)), "saliency", target=[1, 2, 3])


def test_unknown_method_lists_the_available_ones(linear):
    with pytest.raises(ParameterError, match=r"unknown method 'no_such_method'; available: .*gradient_x_input.*saliency"):
        tsexplain.explain(linear, torch.randn(2, 3, 20, generator=torch.Generator().manual_seed(5)), "no_such_method")


def test_unknown_parameter_lists_the_method_parameters(linear):
    with pytest.raises(ParameterError, match="does not take n_steps.*steps"):
        tsexplain.explain(linear, torch.randn(2, 3, 20, generator=torch.Generator().manual_seed(6)), "integrated_gradients", n_steps=10)


@pytest.mark.parametrize("kw, name", [({"n_draws": 0}, "n_draws"), ({"n_samples": 0}, "n_draws"),
                                      ({"noise": -1.0}, "noise"), ({"noise_scope": "pixel"}, "noise_scope"),
                                      ({"strategy": "median"}, "strategy")])
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_bad_smoothgrad_parameters(linear, kw, name):
    with pytest.raises(ParameterError, match=name):
        tsexplain.explain(linear, torch.randn(2, 3, 20, generator=torch.Generator().manual_seed(7)), "smoothgrad", **kw)


def test_bad_memory_budget(linear):
    with pytest.raises(ParameterError, match="512MB"):
        tsexplain.explain(linear, torch.randn(2, 3, 20, generator=torch.Generator().manual_seed(8)), "saliency", memory_budget="lots")


def test_wrong_channel_count_names_the_shape():
    with pytest.raises(ModelOutputError, match=r"x of shape \(2, 3, 50\).*C and T"):
        tsexplain.explain(fordA_cnn(), torch.randn(2, 3, 50, generator=torch.Generator().manual_seed(9)), "saliency", target=0)


def test_baseline_that_does_not_broadcast(linear):
    with pytest.raises(ShapeError, match=r"does not fit x of shape \(2, 3, 20\)"):
        tsexplain.explain(linear, torch.randn(2, 3, 20, generator=torch.Generator().manual_seed(10)), "integrated_gradients", baseline=np.zeros((3, 7)))


def test_constant_model_warns_zero_gradient():
    class Constant(nn.Module):
        def forward(self, x):
            return x.sum(dim=(1, 2)) * 0.0

    with pytest.warns(ZeroGradientWarning, match="does not depend on the input"):
        tsexplain.explain(Constant(), torch.randn(2, 3, 20, generator=torch.Generator().manual_seed(11)), "saliency")


def test_samples_with_dead_gradients_are_counted():
    """relu(sum x): the samples with a negative sum have a zero gradient, the others do not."""

    class HalfDead(nn.Module):
        def forward(self, x):
            return torch.relu(x.sum(dim=(1, 2)))

    x = torch.ones(5, 2, 4) * torch.tensor([1.0, -1.0, 1.0, -1.0, -1.0])[:, None, None]
    with pytest.warns(ZeroGradientWarning, match="attribution of 3 of 5 samples is exactly zero"):
        tsexplain.explain(HalfDead(), x, "saliency")


def test_saturated_sigmoid_warns():
    model = nn.Sequential(nn.Flatten(), nn.Linear(60, 1), nn.Sigmoid())
    with torch.no_grad():
        model[1].weight.fill_(5.0)
    with pytest.warns(SaturationWarning, match="Proposition 1"):
        tsexplain.explain(model, torch.ones(2, 3, 20), "saliency")


def test_output_with_wrong_batch_dimension():
    class Pooled(nn.Module):
        def forward(self, x):
            return x.mean()

    with pytest.raises(ModelOutputError, match="first dimension"):
        tsexplain.explain(Pooled(), torch.randn(2, 3, 20, generator=torch.Generator().manual_seed(12)), "saliency")
