"""A regression model with several outputs (a forecaster) in the explorer's network views and jobs.

The forecaster is built so the right answer is known on paper: four channels, four outputs, and
output j reads channel j only, through filters 2j and 2j + 1 of the first convolution (grouped,
two filters per channel) and filter j of the second. So the filter importance of output j is zero
everywhere else, an attack on output j perturbs channel j only, and removing a filter of another
output leaves output j as it was. The same network saved as a 4-class classifier checks that a
classifier is still explained at its predicted class.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from torch import nn

from tsexplain.server.app import create_app

from .conftest import small_settings

API = "/api/v1"
N_SAMPLES, N_CHANNELS, LENGTH = 24, 4, 16
STEPS = ["step 1", "step 2", "step 3", "step 4"]


def forecaster() -> nn.Module:
    """(N, 4, 16) -> (N, 4); output j depends on channel j only (all weights positive, so every
    ReLU is active on positive inputs and no importance vanishes by accident)."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv1d(N_CHANNELS, 8, 3, padding=1, groups=N_CHANNELS), nn.ReLU(),
                        nn.Conv1d(8, N_CHANNELS, 3, padding=1, groups=N_CHANNELS),
                        nn.AdaptiveAvgPool1d(1), nn.Flatten())
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(p.abs() + 0.05)
    return net.eval()


def make_forecast_workspace(root: Path) -> Path:
    """models/forecaster.pt2 (4 outputs "step 1".."step 4", in kW) and the same program as
    models/classifier.pt2 (4 classes); datasets/forecast.npz with targets y (N, 4) and
    datasets/forecast_unlabelled.npz without."""
    (root / "models").mkdir()
    (root / "datasets").mkdir()
    net = forecaster()
    program = torch.export.export(net, (torch.zeros(2, N_CHANNELS, LENGTH),),
                                  dynamic_shapes=({0: torch.export.Dim("batch")},))
    for name, info in (("forecaster", {"task": "regression", "output_names": STEPS,
                                       "output_unit": "kW", "dataset": "forecast"}),
                       ("classifier", {"task": "multiclass", "class_names": ["a", "b", "c", "d"],
                                       "dataset": "forecast"})):
        torch.export.save(program, root / "models" / f"{name}.pt2")
        (root / "models" / f"{name}.info.json").write_text(json.dumps(info))
    rng = np.random.default_rng(0)
    # every channel of every sample on its own scale, so the largest output varies by sample
    scale = rng.uniform(0.5, 2.0, size=(N_SAMPLES, N_CHANNELS, 1))
    X = (rng.uniform(0.1, 1.0, size=(N_SAMPLES, N_CHANNELS, LENGTH)) * scale).astype(np.float32)
    with torch.no_grad():
        y = net(torch.as_tensor(X)).numpy() + rng.normal(0, 0.1, size=(N_SAMPLES, N_CHANNELS))
    names = np.asarray(["load", "wind", "sun", "price"])
    np.savez(root / "datasets" / "forecast.npz", X=X, y=y.astype(np.float32), channel_names=names)
    np.savez(root / "datasets" / "forecast_unlabelled.npz", X=X, channel_names=names)
    return root


@pytest.fixture(scope="module")
def forecast_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_forecast_workspace(tmp_path_factory.mktemp("forecast_ws"))


@pytest.fixture()
def fclient(forecast_workspace: Path):
    with TestClient(create_app(small_settings(forecast_workspace))) as c:
        yield c


def loaded(client: TestClient, name: str = "forecaster") -> nn.Module:
    """The model as the server loads it (the library's reference calls run on it)."""
    from tsexplain.io.models import load_any_model

    return load_any_model(client.app.state.workspace.root / "models" / f"{name}.pt2").module.eval()


def data(client: TestClient, name: str = "forecast") -> tuple[np.ndarray, np.ndarray | None]:
    d = client.app.state.workspace.dataset(name)
    return d.X, d.y


def outputs(client: TestClient, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return loaded(client)(torch.as_tensor(x)).numpy()


def wait_job(client: TestClient, body: dict, timeout: float = 120.0) -> dict:
    r = client.post(f"{API}/jobs", json=body)
    assert r.status_code == 202, r.text
    t0 = time.time()
    while time.time() - t0 < timeout:
        job = client.get(f"{API}/jobs/{r.json()['id']}").json()
        if job["status"] not in ("queued", "running"):
            assert job["status"] == "done", job["error"]
            return job["result"]
        time.sleep(0.05)
    raise AssertionError(f"job still running after {timeout} s")


def only_nonzero(values: list[float]) -> list[int]:
    return [i for i, v in enumerate(values) if v > 1e-9]


# ------------------------------------------------------------------ network views
def test_network_and_layer_views_explain_the_output_picked(fclient):
    """Output 1 and output 3 have different filter importances, each the library's for that
    target, and zero outside the filters that read their channel (the views explained
    "predicted", the largest output of the sample, whatever output was picked)."""
    from tsexplain.network import filter_importance

    model, (X, _) = loaded(fclient), data(fclient)
    index = 5
    for target in (1, 3):
        net = fclient.get(f"{API}/models/forecaster/network",
                          params={"dataset": "forecast", "index": index, "target": target})
        assert net.status_code == 200, net.text
        body = net.json()
        first, second = (li["importance"] for li in body["importance"])
        assert only_nonzero(first) == [2 * target, 2 * target + 1]  # the filters of channel j
        assert only_nonzero(second) == [target]
        for li in body["importance"]:
            ref = filter_importance(model, X[index:index + 1], li["layer"], target)[0].numpy()
            np.testing.assert_allclose(li["importance"], ref, rtol=1e-5, atol=1e-9)
        assert body["target"] == target and body["conv_layers"] == ["0", "2"]

        layer = fclient.get(f"{API}/models/forecaster/layers/0",
                            params={"dataset": "forecast", "index": index, "target": target})
        assert layer.status_code == 200, layer.text
        ref = filter_importance(model, X[index:index + 1], "0", target)[0].numpy()
        np.testing.assert_allclose(layer.json()["importance"], ref, rtol=1e-5, atol=1e-9)
        assert layer.json()["target"] == target


def test_filter_stats_explain_the_output_picked(fclient):
    from tsexplain.network import filter_importance_stats

    model, (X, _) = loaded(fclient), data(fclient)
    r = fclient.get(f"{API}/models/forecaster/layers/0/importance",
                    params={"dataset": "forecast", "max_samples": 20, "target": 2})
    assert r.status_code == 200, r.text
    st = filter_importance_stats(model, X[:20], "0", 2, progress=False)["0"]
    np.testing.assert_allclose(r.json()["mean"], st.mean, rtol=1e-5, atol=1e-9)
    assert sorted(r.json()["ranking"][:2]) == [4, 5] and r.json()["target"] == 2


def test_the_cache_keeps_each_output_apart(fclient):
    """Output 3 asked after output 1 (same model, sample, layer) is output 3's answer, not the
    cached answer of output 1; output 1 asked again is served from the cache."""
    params = {"dataset": "forecast", "index": 2}
    layer_1 = fclient.get(f"{API}/models/forecaster/layers/2", params={**params, "target": 1}).json()
    net_1 = fclient.get(f"{API}/models/forecaster/network", params={**params, "target": 1}).json()
    hits = fclient.app.state.workspace.cache.hits
    layer_3 = fclient.get(f"{API}/models/forecaster/layers/2", params={**params, "target": 3}).json()
    net_3 = fclient.get(f"{API}/models/forecaster/network", params={**params, "target": 3}).json()
    assert only_nonzero(layer_1["importance"]) == [1] and only_nonzero(layer_3["importance"]) == [3]
    assert only_nonzero(net_1["importance"][0]["importance"]) == [2, 3]
    assert only_nonzero(net_3["importance"][0]["importance"]) == [6, 7]
    again = fclient.get(f"{API}/models/forecaster/layers/2", params={**params, "target": 1}).json()
    assert again["importance"] == layer_1["importance"]
    assert fclient.app.state.workspace.cache.hits > hits


def test_an_attribution_request_still_refuses_null_on_several_outputs(fclient):
    """/explain keeps the library's rule (docs/concepts.md): null is refused, not defaulted."""
    r = fclient.post(f"{API}/explain", json={"model": "forecaster", "dataset": "forecast",
                                              "indices": [0], "method": "saliency"})
    assert r.status_code == 422 and "target=None is ambiguous" in r.json()["detail"]


def test_a_forecaster_without_a_target_is_explained_at_output_0_not_its_largest(fclient):
    X, _ = data(fclient)
    out = outputs(fclient, X)
    index = int(np.flatnonzero(out.argmax(1) != 0)[0])  # a sample whose largest output is not 0
    params = {"dataset": "forecast", "index": index}
    default = fclient.get(f"{API}/models/forecaster/network", params=params).json()
    zero = fclient.get(f"{API}/models/forecaster/network", params={**params, "target": 0}).json()
    assert only_nonzero(default["importance"][0]["importance"]) == [0, 1]
    assert default["importance"] == zero["importance"] and default["target"] == 0
    layer = fclient.get(f"{API}/models/forecaster/layers/2", params=params).json()
    assert only_nonzero(layer["importance"]) == [0] and layer["target"] == 0


def test_a_classifier_is_still_explained_at_its_predicted_class(fclient):
    """The same network as a 4-class classifier: no target means each sample's predicted class
    (the library's "predicted"), which here is not class 0."""
    from tsexplain.network import filter_importance

    model, (X, _) = loaded(fclient, "classifier"), data(fclient)
    out = outputs(fclient, X)
    index = int(np.flatnonzero(out.argmax(1) != 0)[0])
    predicted = int(out[index].argmax())
    body = fclient.get(f"{API}/models/classifier/network",
                       params={"dataset": "forecast", "index": index}).json()
    ref = filter_importance(model, X[index:index + 1], "0", "predicted")[0].numpy()
    np.testing.assert_allclose(body["importance"][0]["importance"], ref, rtol=1e-5, atol=1e-9)
    assert only_nonzero(body["importance"][0]["importance"]) == [2 * predicted, 2 * predicted + 1]
    layer = fclient.get(f"{API}/models/classifier/layers/2",
                        params={"dataset": "forecast", "index": index}).json()
    assert only_nonzero(layer["importance"]) == [predicted]
    assert body["target"] == layer["target"] == "predicted"  # the new field says so


@pytest.mark.parametrize(("url", "target", "needle"), [
    ("/models/forecaster/network?dataset=forecast&index=0", "4", "out of range"),
    ("/models/forecaster/layers/0?dataset=forecast", "-1", "negative"),
    ("/models/forecaster/layers/0/importance?dataset=forecast", "4", "out of range"),
    ("/models/forecaster/network?dataset=forecast&index=0", "last", "target"),
])
def test_a_target_the_model_does_not_have_is_a_422(fclient, url, target, needle):
    r = fclient.get(f"{API}{url}&target={target}")
    assert r.status_code == 422 and needle in r.json()["detail"], r.text


# ------------------------------------------------------------------ aggregates
def test_aggregates_of_a_forecaster_are_quartiles_of_the_explained_output(fclient):
    from tsexplain.report.explanation import value_quartiles

    r = fclient.post(f"{API}/aggregates", json={"model": "forecaster", "dataset": "forecast",
                                                 "method": "saliency", "group_by": "prediction",
                                                 "target": 3, "max_samples": 24})
    assert r.status_code == 200, r.text
    body = r.json()
    X, y = data(fclient)
    bins, names = value_quartiles(outputs(fclient, X)[:, 3], "prediction")
    assert body["target"] == 3 and "output 3 (step 4)" in body["grouping"]
    assert [g["name"] for g in body["groups"]] == [names[b] for b in range(4)]
    assert [g["count"] for g in body["groups"]] == np.bincount(bins, minlength=4).tolist()
    by_label = fclient.post(f"{API}/aggregates", json={"model": "forecaster", "dataset": "forecast",
                                                        "method": "saliency", "target": 3}).json()
    _, label_names = value_quartiles(y[:, 3], "label")
    assert [g["name"] for g in by_label["groups"]] == [label_names[b] for b in range(4)]


# ------------------------------------------------------------------ jobs
@pytest.mark.parametrize(("method", "target"), [("iterative", 3), ("fgsm", 1)])
def test_adversarial_on_a_forecaster_moves_the_explained_output(fclient, method, target):
    """No class flips: the answer says how far the explained output moved (up, untargeted), and
    the perturbation lies in that output's channel only."""
    X, _ = data(fclient)
    res = wait_job(fclient, {"kind": "adversarial", "model": "forecaster", "dataset": "forecast",
                             "index": 4, "method": method, "epsilon": 0.2, "alpha": 0.02,
                             "steps": 20, "target": target})
    assert res["flipped"] is None and res["target"] == target and res["explained_output"] == target
    x_adv = np.asarray(res["x_adv"]["data"], dtype=np.float32)[None]
    assert res["output_before"] == pytest.approx(float(outputs(fclient, X[4:5])[0, target]), rel=1e-5)
    assert res["output_after"] == pytest.approx(float(outputs(fclient, x_adv)[0, target]), rel=1e-5)
    assert res["output_after"] > res["output_before"]
    share = np.zeros(N_CHANNELS)
    share[target] = 1.0
    np.testing.assert_allclose(res["channel_share"], share, atol=1e-9)


def test_inverse_optimisation_drives_the_explained_output(fclient):
    X, _ = data(fclient)
    before = float(outputs(fclient, X[6:7])[0, 2])
    res = wait_job(fclient, {"kind": "inverse", "model": "forecaster", "dataset": "forecast",
                             "index": 6, "target": 2, "target_value": before + 1.0, "steps": 60,
                             "alpha": 0.05})
    assert res["explained_output"] == 2 and res["output_before"] == pytest.approx(before, rel=1e-5)
    assert abs(res["output_after"] - (before + 1.0)) < 0.5  # moved most of the way
    change = np.abs(np.asarray(res["change"]["data"]))
    assert change[2].max() > 0 and np.delete(change, 2, axis=0).max() == 0  # channel 2 only


def test_pruning_a_forecaster_measures_the_explained_output(fclient):
    """Against the data set's targets: step 0 is the squared error of output 3 against column 3
    of y. Without targets: the squared change of output 3, 0 while only filters of the other
    outputs are removed."""
    X, y = data(fclient)
    res = wait_job(fclient, {"kind": "pruning", "model": "forecaster", "dataset": "forecast",
                             "layer": "0", "target": 3, "max_samples": 24})
    assert "output 3 (step 4)" in res["loss_name"] and "targets" in res["loss_name"]
    base = float(np.mean((outputs(fclient, X)[:, 3] - y[:, 3]) ** 2))
    assert res["curves"]["least"]["loss"][0] == pytest.approx(base, rel=1e-5)

    res = wait_job(fclient, {"kind": "pruning", "model": "forecaster",
                             "dataset": "forecast_unlabelled", "layer": "0", "target": 3})
    assert "unpruned model's output" in res["loss_name"]
    least, most = res["curves"]["least"], res["curves"]["most"]
    assert sorted(most["removal_order"][:2]) == [6, 7]
    np.testing.assert_allclose(least["loss"][:7], 0.0, atol=1e-12)  # six other filters removed
    assert most["loss"][1] > 0


def test_faithfulness_table_of_a_forecaster_without_targets(fclient):
    res = wait_job(fclient, {"kind": "faithfulness", "model": "forecaster",
                             "dataset": "forecast_unlabelled", "target": 1,
                             "strategies": ["most", "least"]})
    assert res["baseline_loss"] == 0.0 and "output 1 (step 2)" in res["loss_name"]
    rows = {row["layer"]: row for row in res["rows"]}
    assert rows["0"]["filters"]["most"] in (2, 3) and rows["2"]["filters"]["most"] == 1
    assert rows["2"]["loss"]["most"] > 0 and rows["2"]["loss"]["least"] == 0.0


@pytest.mark.parametrize(("body", "needle"), [
    ({"kind": "inverse", "model": "forecaster", "target": 1}, "give target_value"),
    ({"kind": "inverse", "model": "forecaster", "target": 4, "target_value": 1.0}, "out of range"),
    ({"kind": "inverse", "model": "classifier", "target": 1, "target_value": 2}, "is a classifier"),
    ({"kind": "adversarial", "model": "forecaster", "dataset": "forecast", "target": 7}, "out of range"),
    ({"kind": "pruning", "model": "classifier", "dataset": "forecast_unlabelled", "layer": "0"},
     "has no labels y"),
    # a classifier's loss needs class labels, not a forecaster's targets (was a failed job,
    # "internal error (ValueError)")
    ({"kind": "faithfulness", "model": "classifier", "dataset": "forecast"}, "one class label per sample"),
])
def test_jobs_refuse_what_they_cannot_serve(fclient, body, needle):
    r = fclient.post(f"{API}/jobs", json=body)
    assert r.status_code == 422 and needle in r.json()["detail"], r.text
