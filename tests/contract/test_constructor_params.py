"""A parameter a method does not take: the class and ``explain`` raise the same ParameterError."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import tsexplain
from tsexplain.attribution import NoiseTunnel, all_methods, check_method_params, get_method
from tsexplain.exceptions import ParameterError


def _model() -> nn.Module:
    return nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.AdaptiveAvgPool1d(1), nn.Flatten(),
                         nn.Linear(4, 2))


@pytest.mark.parametrize("name", sorted(all_methods()))
def test_constructor_and_explain_give_the_same_parameter_error(name):
    with pytest.raises(ParameterError) as from_explain:
        tsexplain.explain(_model(), torch.randn(2, 2, 8), name, target=0, stepz=8)
    with pytest.raises(ParameterError) as from_class:
        get_method(name)(_model(), stepz=8)
    assert str(from_class.value) == str(from_explain.value)
    assert str(from_class.value).startswith(f"{name} does not take stepz; its parameters are: ")


def test_the_message_has_one_home():
    with pytest.raises(ParameterError) as from_check:
        check_method_params("occlusion", {"windo": 8})
    with pytest.raises(ParameterError) as from_class:
        get_method("occlusion")(_model(), windo=8)
    assert str(from_class.value) == str(from_check.value)
    assert "window" in str(from_class.value)


def test_noise_tunnel_names_the_wrapped_method_for_a_parameter_it_forwards():
    with pytest.raises(ParameterError, match="^integrated_gradients does not take stepz"):
        NoiseTunnel("integrated_gradients", _model(), stepz=8)


def test_accepted_parameters_still_pass():
    method = get_method("integrated_gradients")(_model(), steps=4, progress=False,
                                                memory_budget="64MB")
    assert method.steps == 4
