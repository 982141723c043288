"""A boolean parameter takes True or False (or a numpy.bool_), through every door of the library.

``bool("maybe")`` and ``bool("false")`` are True: a constructor that coerced its flag with
``bool(...)`` turned a typo into the option switched on. The table below is the list of boolean
parameters of the registered methods, written out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import tsexplain
from tsexplain.attribution import (
    NoiseTunnel,
    Saliency,
    all_methods,
    check_method_params,
    get_method,
)
from tsexplain.attribution._base import boolean_parameters
from tsexplain.exceptions import ParameterError

BOOLEANS = {
    "saliency": ["absolute"],
    "smoothgrad": ["absolute", "multiply_by_inputs"],
    "occlusion": ["per_channel"],
    "grad_cam": ["relu"],
    "time_smoothgrad": ["causal"],
}
CASES = [(m, p) for m, ps in BOOLEANS.items() for p in ps]
CASES += [(m, "fold_batchnorm") for m in ("saliency", "integrated_gradients", "occlusion")]
NOT_BOOLEANS = ["maybe", "false", "", 1, 0, 0.0, None, torch.tensor(True), np.array([True])]


def _model() -> nn.Module:
    return nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool1d(1),
                         nn.Flatten(), nn.Linear(4, 2))


def test_the_boolean_parameters_are_those_of_the_table():
    found = {name: sorted(boolean_parameters(cls) - {"fold_batchnorm"})
             for name, cls in all_methods().items()}
    assert {k: v for k, v in found.items() if v} == {k: sorted(v) for k, v in BOOLEANS.items()}
    assert all("fold_batchnorm" in boolean_parameters(cls) for cls in all_methods().values())


@pytest.mark.parametrize("value", NOT_BOOLEANS, ids=repr)
@pytest.mark.parametrize(("method", "name"), CASES)
def test_constructor_refuses_a_non_boolean(method, name, value):
    with pytest.raises(ParameterError) as err:
        get_method(method)(_model(), **{name: value})
    assert str(err.value) == f"{name} must be True or False, got {value!r}."


@pytest.mark.parametrize(("method", "name"), CASES)
def test_registry_check_and_explain_refuse_it_with_the_same_message(method, name):
    with pytest.raises(ParameterError) as from_check:
        check_method_params(method, {name: "maybe"})
    assert str(from_check.value) == f"{name} must be True or False, got 'maybe'."
    if method != "time_smoothgrad":  # a sequence method: explain() serves (N, C, T) -> (N, K)
        with pytest.raises(ParameterError) as from_explain:
            tsexplain.explain(_model(), torch.randn(2, 2, 8), method, target=0, **{name: "maybe"})
        assert str(from_explain.value) == str(from_check.value)


def test_wrappers_refuse_it_for_the_method_they_wrap():
    with pytest.raises(ParameterError, match="^absolute must be True or False, got 'false'"):
        NoiseTunnel("saliency", _model(), absolute="false")
    with pytest.raises(ParameterError, match="^per_channel must be True or False, got 'no'"):
        get_method("tsr")(_model(), base_method="occlusion", base_params={"per_channel": "no"})


@pytest.mark.parametrize("value", ["maybe", 1, torch.tensor(False)], ids=repr)
def test_progress_is_a_boolean_or_none(value):
    with pytest.raises(ParameterError, match="^progress must be True or False, got "):
        Saliency(_model(), progress=value)
    assert Saliency(_model(), progress=None).progress is None
    assert Saliency(_model(), progress=np.bool_(False)).progress is False


def test_attribute_additional_is_a_boolean():
    with pytest.raises(ParameterError, match="^attribute_additional must be True or False, got 'no'"):
        Saliency(_model()).attribute(torch.randn(2, 2, 8), target=0, attribute_additional="no")


def test_numpy_bool_is_a_boolean_and_means_what_it_says():
    # a linear model: the gradient of output 0 is its weight, negative and positive entries
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 1))
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([[-1.0, 2.0, -3.0, 4.0, -5.0, 6.0]]))
    x = torch.randn(3, 2, 3)
    expected = np.array([[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0]], dtype=np.float32)
    signed = Saliency(model, absolute=np.bool_(False))
    assert signed.absolute is False
    np.testing.assert_array_equal(np.asarray(signed.attribute(x))[1], expected)
    made_absolute = Saliency(model, absolute=np.bool_(True))
    np.testing.assert_array_equal(np.asarray(made_absolute.attribute(x))[1], np.abs(expected))
