"""The data-set aggregates say whether the method's values are signed, so a non-negative
relevance (Grad-CAM, TSR) is drawn on a scale from 0 up instead of one diverging around 0."""

from __future__ import annotations

import numpy as np
import pytest

API = "/api/v1"


@pytest.mark.parametrize(("method", "params", "signed"), [
    ("grad_cam", {}, False),
    ("tsr", {"base_method": "saliency"}, False),
    ("integrated_gradients", {"steps": 8}, True),
])
def test_aggregates_answer_whether_the_values_are_signed(client, tiny_workspace, method, params, signed):
    import tsexplain
    from tsexplain.attribution import get_method

    r = client.post(f"{API}/aggregates", json={"model": "tiny", "dataset": "tiny_test", "method": method,
                                              "params": params, "max_samples": 8, "target": 0})
    assert r.status_code == 200, r.text
    body = r.json()
    # the method's own declaration, and for the non-negative ones every mean is >= 0
    assert body["signed"] is signed is get_method(method).signed
    means = np.concatenate([np.asarray(g["mean"]["data"]).ravel() for g in body["groups"]])
    if not signed:
        assert means.min() >= 0.0
    # the mean of the first group equals the library's attribution of its members
    from tsexplain.io import load_any_model

    with np.load(tiny_workspace / "datasets" / "tiny_test.npz") as z:
        x, y = z["X"][:8], z["y"][:8]
    model = load_any_model(tiny_workspace / "models" / "tiny.safetensors").module
    lib = np.asarray(tsexplain.explain(model, x, method, target=0, **params).values)
    for group in body["groups"]:
        members = np.flatnonzero(y == group["key"])
        np.testing.assert_allclose(np.asarray(group["mean"]["data"]), lib[members].mean(0),
                                   rtol=1e-5, atol=1e-7)
