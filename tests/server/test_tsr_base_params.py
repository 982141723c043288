"""TSR's inner method takes its parameters through the explorer: ``base_params`` is a JSON
object of the inner method's parameters, checked like any method parameter, and echoed as an
object (not its Python repr)."""

from __future__ import annotations

import numpy as np
import pytest

API = "/api/v1"


def _explain(client, params):
    return client.post(f"{API}/explain", json={"model": "tiny", "dataset": "tiny_test", "indices": [0, 1],
                                               "method": "tsr", "params": params, "target": 0})


def test_tsr_takes_the_inner_methods_parameters(client, tiny_workspace):
    import tsexplain
    from tsexplain.io import load_any_model

    params = {"base_method": "integrated_gradients", "base_params": {"steps": 4}, "threshold_quantile": 0.5}
    r = _explain(client, params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["params"]["base_params"] == {"steps": 4}
    with np.load(tiny_workspace / "datasets" / "tiny_test.npz") as z:
        x = z["X"][:2]
    model = load_any_model(tiny_workspace / "models" / "tiny.safetensors").module
    lib = tsexplain.explain(model, x, "tsr", target=0, **params).values
    np.testing.assert_allclose(np.asarray(body["values"]["data"]), np.asarray(lib), rtol=1e-5, atol=1e-9)
    # the inner parameters are used: 4 integration steps give other values than the default 50
    default = _explain(client, {"base_method": "integrated_gradients", "threshold_quantile": 0.5}).json()
    assert not np.allclose(np.asarray(default["values"]["data"]), np.asarray(lib), rtol=1e-6, atol=0)


@pytest.mark.parametrize(("base_params", "needle"), [
    ('{"steps": 4}', "tsr: base_params must be a mapping of integrated_gradients's parameters"),
    ({"steps": 10_000}, "params.base_params.steps=10000 exceeds this server's limit of 64"),
    ({"steps": 4.5}, "params.base_params.steps must be an integer, got 4.5"),
    ({"stepz": 4}, "stepz"),
])
def test_bad_inner_parameters_are_a_422_naming_them(client, base_params, needle):
    r = _explain(client, {"base_method": "integrated_gradients", "base_params": base_params})
    assert r.status_code == 422, r.text
    assert needle in r.json()["detail"]
