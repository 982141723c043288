"""The unit the explorer states for an attribution is the unit its values have.

A unit is checked by how the values change when the input is expressed in another unit: with
``x' = a x`` and the first convolution's weights divided by ``a`` the model computes the same
function of the same recording, so a value in units of the output is unchanged and a value per
unit of the input (a gradient) is divided by ``a``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

API = "/api/v1"


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(3, 6, 5, padding=2), nn.ReLU(), nn.Conv1d(6, 4, 3, padding=1),
                         nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, 2)).eval()


@pytest.mark.parametrize(("method", "params", "per_input_unit"), [
    ("saliency", {}, True),
    ("grad_cam", {"layer": "2", "relu": False}, False),
    ("grad_cam", {"layer": "2"}, False),
    ("layer_integrated_gradients", {"layer": "2", "steps": 16}, False),
])
def test_the_declared_unit_is_how_the_values_scale(method, params, per_input_unit):
    import tsexplain
    from tsexplain.attribution import get_method

    a = 1000.0
    net, rescaled = _net(), _net()
    with torch.no_grad():
        rescaled[0].weight /= a
    x = np.random.default_rng(1).standard_normal((2, 3, 20)).astype("float32")
    v = np.asarray(tsexplain.explain(net, x, method, target=1, **params).values, dtype=np.float64)
    v_a = np.asarray(tsexplain.explain(rescaled, a * x, method, target=1, **params).values, dtype=np.float64)
    assert np.abs(v).max() > 0
    np.testing.assert_allclose(v_a, v / a if per_input_unit else v, rtol=1e-4, atol=1e-6 * np.abs(v).max())
    assert (get_method(method).unit == "output per input unit") is per_input_unit


@pytest.mark.parametrize(("method", "params", "unit"), [
    ("saliency", {}, "logit of the target per sigma"),
    ("grad_cam", {}, "logit of the target"),
    ("layer_integrated_gradients", {"steps": 8}, "logit of the target"),
])
def test_the_explorer_states_the_unit_of_the_values(client, method, params, unit):
    r = client.post(f"{API}/explain", json={"model": "tiny", "dataset": "tiny_test", "indices": [0],
                                           "method": method, "params": params, "target": 0})
    assert r.status_code == 200, r.text
    assert r.json()["unit"] == unit
