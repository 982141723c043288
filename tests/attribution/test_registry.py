"""The registry: metadata of every method, the one parameter check, the sequence section."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from attribution_models import Linear

import tsexplain
from tsexplain.attribution import (
    ENGINE_OPTIONS,
    METHODS,
    SEQUENCE_METHODS,
    Attribution,
    SequenceAttribution,
    accepted_params,
    all_methods,
    check_method_params,
    get_method,
    method_settings,
)
from tsexplain.exceptions import ParameterError

KINDS = {"gradient", "perturbation", "layer", "sequence"}
UNITS = {"output per input unit", "output"}


@pytest.mark.parametrize("name", list(all_methods()))
def test_every_method_describes_itself(name):
    cls = get_method(name)
    meta = cls.metadata()
    assert meta["name"] == name == cls.name
    assert meta["kind"] in KINDS
    assert meta["unit"] in UNITS
    assert isinstance(meta["signed"], bool) and isinstance(meta["randomized"], bool)
    assert set(meta["cost_params"]) <= set(meta["parameters"]), "cost_params must be parameters"
    assert set(meta["cost_params"]) | set(meta["cheap_params"]) == set(meta["parameters"])
    assert not set(meta["cost_params"]) & set(meta["cheap_params"])
    if meta["randomized"]:
        assert "seed" in meta["parameters"], "a randomized method takes seed"
    assert meta["summary"]
    assert set(meta["deprecated_params"].values()) <= set(meta["parameters"])


def test_the_batch_registry_holds_only_batch_methods_and_the_sequence_one_the_rest():
    assert all(not cls.sequence_method and cls.kind != "sequence" for cls in METHODS.values())
    assert all(issubclass(cls, SequenceAttribution) and cls.kind == "sequence"
               for cls in SEQUENCE_METHODS.values())
    assert "time_smoothgrad" in SEQUENCE_METHODS and "time_smoothgrad" not in METHODS
    assert not set(METHODS) & set(SEQUENCE_METHODS)
    assert all(issubclass(cls, Attribution) for cls in all_methods().values())


def test_explain_dispatches_sequence_methods():
    class PointWise(torch.nn.Module):
        def forward(self, x):
            return (x**2).sum(dim=1)

    res = tsexplain.explain(PointWise(), torch.ones(1, 2, 6), "time_smoothgrad", window=2,
                            receptive_field=1)
    np.testing.assert_allclose(res.values, 2.0)


def test_known_metadata_values():
    assert METHODS["integrated_gradients"].metadata()["cost_params"] == ["steps"]
    assert METHODS["integrated_gradients"].metadata()["call_params"] == ["baseline"]
    assert METHODS["smoothgrad"].metadata()["cost_params"] == ["n_draws"]
    assert METHODS["smoothgrad"].deprecated_params == {"n_samples": "n_draws"}
    assert METHODS["saliency"].unit == "output per input unit"
    assert METHODS["gradient_x_input"].unit == METHODS["integrated_gradients"].unit == "output"


def test_check_method_params_is_the_one_check():
    assert check_method_params("integrated_gradients", {"steps": 4, "memory_budget": "8MB"}) == {
        "steps": 4, "memory_budget": "8MB"}
    with pytest.raises(ParameterError, match=r"saliency does not take steps; its parameters are: "
                                             r"absolute, fold_batchnorm, memory_budget, progress"):
        check_method_params("saliency", {"steps": 4})
    with pytest.raises(ParameterError, match=r"does not take memory_budget; its parameters are: absolute$"):
        check_method_params("saliency", {"memory_budget": "8MB"}, engine_options=())
    with pytest.raises(ParameterError, match="unknown method 'nope'"):
        check_method_params("nope", {})
    assert "n_samples" in accepted_params("smoothgrad")  # deprecated, still accepted
    assert set(ENGINE_OPTIONS) <= accepted_params("saliency")


def test_explain_uses_the_check():
    with pytest.raises(ParameterError, match="integrated_gradients does not take n_steps"):
        tsexplain.explain(Linear(), torch.zeros(1, 3, 20), "integrated_gradients", n_steps=3)


def test_method_settings_caps_only_costly_parameters():
    settings = method_settings(4, {"smoothgrad": {"noise": 0.3}})
    assert set(settings) == set(METHODS)
    assert settings["integrated_gradients"] == {"steps": 4}
    assert settings["smoothgrad"] == {"n_draws": 4, "noise": 0.3}
    assert settings["saliency"] == {}
    assert method_settings()["integrated_gradients"] == {}
