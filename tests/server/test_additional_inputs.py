"""The explorer with a model of two inputs, ``forward(x, static)``: a series (N, C, T) and static
covariates (N, F) carried by the data set as ``additional_0``.

Oracles: the model called by hand (``model(x, static)``), plain autograd, and the library's
``tsexplain.explain(..., additional_inputs=...)`` on the same rows.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

import tsexplain
from tsexplain.server.app import create_app
from tsexplain.server.workspace import Workspace

from .conftest import small_settings
from .test_api import API, wait_job

N, C, T, F = 12, 3, 20, 4


class SeriesAndStatic(torch.nn.Module):
    """A convolution over the series plus a linear map of the static covariates, summed."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv1d(C, 5, 3, padding=1)
        self.head = torch.nn.Linear(5, 2)
        self.static = torch.nn.Linear(F, 2)

    def forward(self, x: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x)).mean(2)) + self.static(static)


class SeriesOnly(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv1d(C, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).mean(2)


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"X": rng.standard_normal((N, C, T)).astype(np.float32),
            "static": rng.standard_normal((N, F)).astype(np.float32),
            "y": rng.integers(0, 2, N)}


@pytest.fixture(scope="module")
def model() -> SeriesAndStatic:
    torch.manual_seed(0)
    return SeriesAndStatic().eval()


@pytest.fixture()
def client(tmp_path, data, model):
    ws_dir = tmp_path / "ws"
    (ws_dir / "datasets").mkdir(parents=True)
    d = ws_dir / "datasets"
    np.savez(d / "with_static.npz", X=data["X"], y=data["y"], additional_0=data["static"])
    np.savez(d / "plain.npz", X=data["X"], y=data["y"])
    np.savez(d / "bad_rows.npz", X=data["X"], additional_0=data["static"][:5])
    np.savez(d / "gap.npz", X=data["X"], additional_1=data["static"])
    ws = Workspace(ws_dir)
    ws.add_model("two", model, {"task": "multiclass", "dataset": "with_static"})
    ws.add_model("two_untold", model, {"task": "multiclass"})  # no data set, no input shape
    torch.manual_seed(1)
    ws.add_model("one", SeriesOnly().eval(), {"task": "multiclass", "dataset": "plain"})
    with TestClient(create_app(small_settings(ws_dir), ws)) as c:
        yield c


def test_the_data_set_summary_names_its_further_inputs(client):
    body = client.get(f"{API}/datasets/with_static").json()
    assert body["additional_shapes"] == [[N, F]]
    assert client.get(f"{API}/datasets/plain").json()["additional_shapes"] == []


@pytest.mark.parametrize("name, detail", [
    ("bad_rows", f"data set 'bad_rows': additional_0 has shape (5, {F}); expected a leading "
                 f"dimension of N={N}"),
    ("gap", "further inputs are the arrays additional_0, additional_1, ... without gaps"),
])
def test_a_data_set_with_bad_further_inputs_is_refused_by_name(client, name, detail):
    r = client.get(f"{API}/datasets/{name}")
    assert r.status_code == 422 and detail in r.json()["detail"], r.text


def test_the_model_summary_and_predictions_use_the_static_inputs(client, data, model):
    summary = client.get(f"{API}/models/two").json()
    assert summary["n_outputs"] == 2 and summary["input_shape"] == [C, T]
    r = client.get(f"{API}/datasets/with_static/samples/5", params={"model": "two"})
    assert r.status_code == 200, r.text
    with torch.no_grad():
        want = model(torch.from_numpy(data["X"][5:6]), torch.from_numpy(data["static"][5:6]))
    np.testing.assert_allclose(r.json()["prediction"]["outputs"], want[0].numpy(), rtol=1e-5,
                               atol=1e-6)


def test_a_model_told_no_data_set_is_probed_with_one_that_carries_its_inputs(client):
    """Its summary ran the series alone: no outputs found, and its network view failed."""
    summary = client.get(f"{API}/models/two_untold").json()
    assert summary["n_outputs"] == 2 and summary["default_dataset"] == "with_static"
    r = client.get(f"{API}/models/two_untold/network")
    assert r.status_code == 200, r.text
    assert r.json()["conv_layers"] == ["conv"]


def test_saliency_equals_the_library_and_autograd(client, data, model):
    rows = [1, 4, 7]
    r = client.post(f"{API}/explain", json={"model": "two", "dataset": "with_static",
                                             "indices": rows, "method": "saliency", "target": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    values = np.asarray(body["values"]["data"])
    x, static = data["X"][rows], data["static"][rows]
    library = tsexplain.explain(model, x, "saliency", target=1, additional_inputs=(static,),
                                attribute_additional=True)
    np.testing.assert_allclose(values, library.values, rtol=1e-5, atol=1e-7)
    xt = torch.from_numpy(x).requires_grad_(True)
    st = torch.from_numpy(static).requires_grad_(True)
    model(xt, st)[:, 1].sum().backward()
    np.testing.assert_allclose(values, xt.grad.numpy(), rtol=1e-5, atol=1e-7)
    (extra,) = body["additional"]
    assert extra["name"] == "additional_0" and extra["values"]["shape"] == [3, F]
    np.testing.assert_allclose(extra["inputs"]["data"], static, rtol=1e-6)
    np.testing.assert_allclose(extra["values"]["data"], st.grad.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(extra["values"]["data"], library.extras["additional"][0], rtol=1e-5,
                               atol=1e-7)
    want = model(torch.from_numpy(x), torch.from_numpy(static)).detach().numpy()
    np.testing.assert_allclose([p["outputs"] for p in body["predictions"]], want, rtol=1e-5,
                               atol=1e-6)


def test_a_method_that_attributes_the_series_only_holds_them_fixed(client, data, model):
    r = client.post(f"{API}/explain", json={"model": "two", "dataset": "with_static",
                                             "indices": [2], "method": "occlusion", "target": 0})
    assert r.status_code == 200, r.text
    (extra,) = r.json()["additional"]
    assert extra["values"] is None
    want = tsexplain.explain(model, data["X"][2:3], "occlusion", target=0,
                             additional_inputs=(data["static"][2:3],)).values
    np.testing.assert_allclose(r.json()["values"]["data"], want, rtol=1e-5, atol=1e-6)


def test_the_views_of_one_sample_give_it_its_static_inputs(client, data, model):
    """The network view's filter importance is sum_t |d y / d conv(x)[f, t]| of the sample, its
    static inputs included (autograd through a hook); the other views answer."""
    i = 3
    r = client.get(f"{API}/models/two/network", params={"dataset": "with_static", "index": i,
                                                        "target": 0})
    assert r.status_code == 200, r.text
    acts = {}
    handle = model.conv.register_forward_hook(lambda m, inp, out: acts.setdefault("conv", out))
    try:
        out = model(torch.from_numpy(data["X"][i:i + 1]), torch.from_numpy(data["static"][i:i + 1]))
    finally:
        handle.remove()
    (grad,) = torch.autograd.grad(out[0, 0], acts["conv"])
    want = grad.abs().sum(2)[0].numpy()
    (layer,) = r.json()["importance"]
    np.testing.assert_allclose(layer["importance"], want, rtol=1e-5, atol=1e-7)
    r = client.get(f"{API}/models/two/layers/conv", params={"dataset": "with_static", "index": i})
    assert r.status_code == 200, r.text
    assert r.json()["n_filters"] == 5
    np.testing.assert_allclose(r.json()["prediction"]["outputs"], out[0].detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    r = client.post(f"{API}/aggregates", json={"model": "two", "dataset": "with_static",
                                                "method": "saliency", "target": 0})
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/curves", json={"model": "two", "dataset": "with_static",
                                            "indices": [0, 1], "method": "saliency", "target": 0})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("job", [
    {"kind": "inverse", "dataset": "with_static", "index": 2, "iterations": 20, "target_value": 1},
    {"kind": "adversarial", "dataset": "with_static", "index": 2, "method": "fgsm",
     "epsilon": 0.3},
    {"kind": "adversarial", "dataset": "with_static", "index": 2, "epsilon": 0.3, "alpha": 0.05,
     "steps": 5},
    {"kind": "benchmark", "dataset": "with_static", "n_samples": 3, "methods": ["saliency"]},
])
def test_jobs_hold_the_sample_static_inputs(client, data, model, job):
    r = client.post(f"{API}/jobs", json={"model": "two", **job})
    assert r.status_code == 202, r.text
    done = wait_job(client, r.json()["id"])
    assert done["status"] == "done", done["error"]
    if job["kind"] != "benchmark":
        with torch.no_grad():
            want = model(torch.from_numpy(data["X"][2:3]), torch.from_numpy(data["static"][2:3]))
        np.testing.assert_allclose(done["result"]["prediction_before"]["outputs"], want[0].numpy(),
                                   rtol=1e-5, atol=1e-6)
    if job["kind"] == "adversarial":  # the attacked series with the sample's static inputs
        x_adv = np.asarray(done["result"]["x_adv"]["data"], dtype=np.float32)[None]
        with torch.no_grad():
            after = model(torch.from_numpy(x_adv), torch.from_numpy(data["static"][2:3]))
        np.testing.assert_allclose(done["result"]["prediction_after"]["outputs"],
                                   after[0].numpy(), rtol=1e-4, atol=1e-5)


REFUSED = "is not available for a model with further inputs (data set 'with_static' carries"


@pytest.mark.parametrize("method, url, body", [
    ("get", "/models/two/layers/conv/importance", {"dataset": "with_static"}),
    ("get", "/models/two/saturation", {"dataset": "with_static"}),
    ("post", "/jobs", {"kind": "pruning", "model": "two", "dataset": "with_static",
                       "layer": "conv"}),
    ("post", "/jobs", {"kind": "faithfulness", "model": "two", "dataset": "with_static"}),
])
def test_views_over_chunks_of_series_are_refused_in_one_line(client, method, url, body):
    if method == "get":
        r = client.get(f"{API}{url}", params=body)
    else:
        r = client.post(f"{API}{url}", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert REFUSED in detail and "Available for it: predictions, attributions" in detail
    assert "\n" not in detail


def test_a_missing_further_input_says_how_a_data_set_carries_it(client):
    r = client.post(f"{API}/explain", json={"model": "two", "dataset": "plain", "indices": [0],
                                             "method": "saliency", "target": 0})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith("model 'two' with data set 'plain': the model's forward takes more "
                             "inputs than the series (missing: 'static')")
    assert "add them to datasets/NAME.npz as arrays additional_0, additional_1" in detail
    r = client.get(f"{API}/datasets/plain/samples/0", params={"model": "two"})
    assert r.status_code == 422 and "(missing: 'static')" in r.json()["detail"]


def test_too_many_further_inputs_are_refused(client):
    r = client.post(f"{API}/explain", json={"model": "one", "dataset": "with_static",
                                             "indices": [0], "method": "saliency", "target": 0})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "takes 1 input, not the series and 1 additional input(s)" in detail
    assert "pair it with a data set holding only the further inputs forward takes" in detail


def test_an_inverse_job_from_a_random_start_is_refused_for_a_two_input_model(client):
    r = client.post(f"{API}/jobs", json={"kind": "inverse", "model": "two", "target_value": 1})
    assert r.status_code == 422, r.text
    assert "from a random start gives it the series alone" in r.json()["detail"]


def test_an_upload_carries_further_inputs(client, data, model):
    body = {"name": "uploaded", "X": data["X"][:4].tolist(), "y": [0, 1, 0, 1],
            "additional": [data["static"][:4].tolist()]}
    r = client.post(f"{API}/datasets", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["additional_shapes"] == [[4, F]]
    r = client.get(f"{API}/datasets/uploaded/samples/3", params={"model": "two"})
    with torch.no_grad():
        want = model(torch.from_numpy(data["X"][3:4]), torch.from_numpy(data["static"][3:4]))
    np.testing.assert_allclose(r.json()["prediction"]["outputs"], want[0].numpy(), rtol=1e-5,
                               atol=1e-6)
    bad = {**body, "name": "bad", "additional": [data["static"][:3].tolist()]}
    r = client.post(f"{API}/datasets", json=bad)
    assert r.status_code == 422
    assert "upload: additional_0 has shape (3, 4); expected a leading dimension of N=4" in (
        r.json()["detail"])
    ragged = {**body, "name": "ragged", "additional": [[[1.0, 2.0], [1.0]] * 2]}
    r = client.post(f"{API}/datasets", json=ragged)
    assert r.status_code == 422 and "not a rectangular array" in r.json()["detail"], r.text


NET_PY = f'''
import torch

class SeriesAndStatic(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d({C}, 5, 3, padding=1)
        self.head = torch.nn.Linear(5, 2)
        self.static = torch.nn.Linear({F}, 2)

    def forward(self, x, static):
        return self.head(torch.relu(self.conv(x)).mean(2)) + self.static(static)

def make():
    return SeriesAndStatic()
'''


def write_two_input_workspace(folder, data, model):
    """A workspace built with the command line: ``add-data --additional-input`` and the model
    as factory + weights and as a ``torch.export`` program with a dynamic batch."""
    from tsexplain.cli.main import main

    (folder / "net.py").write_text(NET_PY)
    torch.save(model.state_dict(), folder / "net.pt")
    program = torch.export.export(model, (torch.zeros(2, C, T), torch.zeros(2, F)),
                                  dynamic_shapes=({0: torch.export.Dim("batch")}, {0: torch.export.Dim("batch")}))
    torch.export.save(program, folder / "net.pt2")
    np.savez(folder / "series.npz", X=data["X"], y=data["y"])
    np.save(folder / "static.npy", data["static"])
    ws = folder / "ws"
    assert main(["workspace", "add-data", str(ws), "icu", str(folder / "series.npz"),
                 "--additional-input", str(folder / "static.npy"),
                 "--class-names", "stable,critical"]) == 0
    assert main(["workspace", "add-model", str(ws), "two_factory", f"{folder / 'net.py'}:make",
                 "--weights", str(folder / "net.pt"), "--dataset", "icu"]) == 0
    assert main(["workspace", "add-model", str(ws), "two_export", str(folder / "net.pt2"),
                 "--dataset", "icu"]) == 0
    return ws


def test_the_command_line_builds_a_workspace_of_a_two_input_model(tmp_path, data, model, capsys):
    from tsexplain.cli.main import main

    ws = write_two_input_workspace(tmp_path, data, model)
    with np.load(ws / "datasets" / "icu.npz") as z:
        np.testing.assert_array_equal(z["additional_0"], data["static"])
    out = capsys.readouterr().out
    assert f"additional_0 ({N}, {F})" in out
    # the series alone: add-model says where the workspace takes the static inputs
    np.savez(tmp_path / "plain.npz", X=data["X"])
    assert main(["workspace", "add-data", str(ws), "plain", str(tmp_path / "plain.npz")]) == 0
    assert main(["workspace", "add-model", str(ws), "m", str(tmp_path / "net.pt2"),
                 "--dataset", "plain"]) == 2
    err = capsys.readouterr().err
    assert "add them to datasets/NAME.npz as arrays additional_0" in err
    app = create_app(small_settings(ws), Workspace(ws, trust_code=True))
    with TestClient(app) as c:
        for name in ("two_factory", "two_export"):
            r = c.get(f"{API}/datasets/icu/samples/6", params={"model": name})
            assert r.status_code == 200, r.text
            with torch.no_grad():
                want = model(torch.from_numpy(data["X"][6:7]), torch.from_numpy(data["static"][6:7]))
            np.testing.assert_allclose(r.json()["prediction"]["outputs"], want[0].numpy(),
                                       rtol=1e-5, atol=1e-6)
            r = c.get(f"{API}/models/{name}/layers/conv", params={"dataset": "icu", "index": 6})
            assert r.status_code == 200, r.text
