"""The explorer holds: strict validation, one error body, network safety, quotas, cancel, TSViz
endpoints checked against the library they call."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from tsexplain.server.app import create_app

from .conftest import small_settings

API = "/api/v1"


def wait_job(client: TestClient, job_id: str, timeout: float = 120.0) -> dict:
    t0 = time.time()
    while time.time() - t0 < timeout:
        job = client.get(f"{API}/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still running after {timeout} s")


def tiny_model(client: TestClient):
    from tsexplain.training import load_model

    return load_model(client.app.state.workspace.root / "models" / "tiny.safetensors").eval()


def tiny_data(client: TestClient, name: str = "tiny_test"):
    z = np.load(client.app.state.workspace.root / "datasets" / f"{name}.npz")
    return z["X"], z["y"]


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize("params, needle", [
    ({"absolute": "false"}, "absolute must be True or False, got 'false'"),
    ({"absolute": 0}, "absolute must be True or False, got 0"),
    ({"absolute": None}, "absolute must be True or False, got None"),
    ({"absolute": "maybe"}, "absolute must be True or False, got 'maybe'"),
])
def test_booleans_are_strict(client, params, needle):
    r = client.post(f"{API}/explain", json={"model": "tiny", "dataset": "tiny_test", "indices": [0],
                                            "method": "saliency", "params": params})
    assert r.status_code == 422 and needle in r.json()["detail"]


def test_strict_boolean_true_is_applied(client):
    r = client.post(f"{API}/explain", json={"model": "tiny", "dataset": "tiny_test", "indices": [0],
                                            "method": "saliency", "params": {"absolute": True}})
    assert r.status_code == 200 and min(np.ravel(r.json()["values"]["data"])) >= 0


@pytest.mark.parametrize("target", [10**20, 2**63, 1, -1, "label", 2.5])
def test_targets_checked_against_the_model(client, target):
    for path in ("explain", "aggregates"):
        body = {"model": "tiny", "dataset": "tiny_test", "method": "saliency", "target": target}
        if path == "explain":
            body["indices"] = [0]
        r = client.post(f"{API}/{path}", json=body)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert "target" in detail and "C and T" not in detail


def test_job_booleans_are_strict(client):
    r = client.post(f"{API}/jobs", json={"kind": "adversarial", "model": "tiny", "dataset": "tiny_test",
                                         "stop_on_flip": "false"})
    assert r.status_code == 422 and "stop_on_flip" in r.json()["detail"]


def test_validation_errors_have_the_documented_shape(client):
    r = client.post(f"{API}/explain", json={"model": "tiny", "dataset": "tiny_test", "indices": "x"})
    body = r.json()
    assert r.status_code == 422 and isinstance(body["detail"], str) and "indices" in body["detail"]
    assert body["errors"][0]["loc"][:2] == ["body", "indices"]
    r = client.get(f"{API}/models/tiny/layers/net.0", params={"dataset": "tiny_test", "index": 999})
    assert r.status_code == 404 and isinstance(r.json()["detail"], str)


# ------------------------------------------------------------------ network safety
@pytest.mark.parametrize("host, status", [
    ("evil.example", 400), ("127.0.0.1.evil.example:8050", 400), ("localhost:8050", 200),
    ("127.0.0.1", 200), ("[::1]:8050", 200), ("testserver", 200),
])
def test_host_header_allow_list(client, host, status):
    r = client.get(f"{API}/health", headers={"host": host})
    assert r.status_code == status
    if status == 400:
        assert "--allow-host" in r.json()["detail"]


def test_health_shows_no_path(client):
    body = client.get(f"{API}/health").json()
    ws = client.app.state.workspace
    assert body["workspace"] == ws.root.name and "/" not in body["workspace"]


def test_api_docs_are_local(client):
    page = client.get(f"{API}/docs")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text
    assert "/static/docs.js" in page.text
    script = client.get("/static/docs.js").text
    assert "https://" not in script and "http://" not in script
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_upload_quotas(tiny_workspace, tmp_path):
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(tiny_workspace, ws)
    app = create_app(small_settings(ws, max_uploads=2, max_upload_bytes=2 * 2 * 3 * 20 * 4))
    with TestClient(app) as c:
        x = np.zeros((2, 3, 20)).tolist()
        assert c.post(f"{API}/datasets", json={"name": "u1", "X": x}).status_code == 201
        r = c.post(f"{API}/datasets", json={"name": "u2", "X": np.zeros((2, 3, 20)).tolist() * 2})
        assert r.status_code == 413 and "upload quota reached" in r.json()["detail"]  # bytes
        assert c.post(f"{API}/datasets", json={"name": "u2", "X": x}).status_code == 201
        r = c.post(f"{API}/datasets", json={"name": "u3", "X": [[[1.0]]]})
        assert r.status_code == 413 and "2 uploaded data sets" in r.json()["detail"]  # count
        # a failed upload does not use the quota
        app2 = create_app(small_settings(ws, max_uploads=1))
        with TestClient(app2) as c2:
            assert c2.post(f"{API}/datasets", json={"name": "u1", "X": x}).status_code == 422  # exists
            assert c2.post(f"{API}/datasets", json={"name": "u9", "X": x}).status_code == 201


# ------------------------------------------------------------------ OpenAPI tells the truth
def test_openapi_documents_errors_and_names(client):
    schema = client.get(f"{API}/openapi.json").json()
    comps = schema["components"]["schemas"]
    assert "HTTPValidationError" not in comps and "ErrorBody" in comps
    assert comps["ErrorBody"]["properties"]["detail"]["type"] == "string"
    paths = schema["paths"]
    explain = paths["/api/v1/explain"]["post"]["responses"]
    assert {"400", "404", "413", "422", "503"} <= set(explain)
    assert explain["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert "Retry-After" in explain["503"]["headers"]
    assert {"429", "413"} <= set(paths["/api/v1/jobs"]["post"]["responses"])
    assert "413" in paths["/api/v1/datasets"]["post"]["responses"]
    model_param = next(p for p in paths["/api/v1/models/{model}"]["get"]["parameters"] if p["name"] == "model")
    assert model_param["schema"]["pattern"] == "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
    assert comps["ExplainRequest"]["properties"]["model"]["pattern"] == model_param["schema"]["pattern"]


# ------------------------------------------------------------------ concurrency design, in process
def test_borrowing_twice_in_one_thread_fails_fast(client):
    from tsexplain.server.concurrency import borrowed

    entry = client.app.state.workspace.model("tiny")
    with borrowed(entry, 1.0):
        with pytest.raises(RuntimeError, match="second replica"):
            with borrowed(entry, 1.0):
                pass
    with borrowed(entry, 1.0):  # released: borrowable again
        pass


def test_busy_pool_answers_503_with_retry_after(tiny_workspace, tmp_path):
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(tiny_workspace, ws)
    app = create_app(small_settings(ws, model_replicas=1, model_wait_seconds=0.2))
    with TestClient(app) as c:
        c.get(f"{API}/models/tiny")  # summary computed (it borrows too)
        entry = app.state.workspace.model("tiny")
        held = threading.Event()
        release = threading.Event()

        def hold() -> None:
            with entry.borrow(timeout=5):
                held.set()
                release.wait(10)

        t = threading.Thread(target=hold)
        t.start()
        held.wait(5)
        r = c.post(f"{API}/explain", json={"model": "tiny", "dataset": "tiny_test", "indices": [3],
                                           "method": "saliency"})
        assert r.status_code == 503 and r.headers["retry-after"].isdigit()
        assert "busy" in r.json()["detail"]
        assert c.get(f"{API}/health").status_code == 200
        release.set()
        t.join()
        r = c.post(f"{API}/explain", json={"model": "tiny", "dataset": "tiny_test", "indices": [3],
                                           "method": "saliency"})
        assert r.status_code == 200


def test_forward_ad_section_is_exclusive_and_bounded():
    from tsexplain.server.concurrency import forward_ad_section
    from tsexplain.server.errors import ServerBusyError

    inside = threading.Event()
    leave = threading.Event()

    def hold() -> None:
        with forward_ad_section(1.0):
            inside.set()
            leave.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    inside.wait(5)
    with pytest.raises(ServerBusyError):
        with forward_ad_section(0.05):
            pass
    leave.set()
    t.join()
    with forward_ad_section(0.05):
        pass


# ------------------------------------------------------------------ jobs
def test_ensemble_progress_moves_and_cancel_stops_training(client):
    body = {"kind": "ensemble", "model": "tiny", "dataset": "tiny_train", "n_models": 4, "epochs": 50,
            "max_samples": 200}
    job_id = client.post(f"{API}/jobs", json=body).json()["id"]
    seen = []
    t0 = time.time()
    while time.time() - t0 < 60:
        job = client.get(f"{API}/jobs/{job_id}").json()
        seen.append(job["progress"])
        if job["progress"] > 0.06 and len(set(seen)) >= 3:
            break
        time.sleep(0.05)
    assert 0.05 < seen[-1] < 0.85 and len(set(seen)) >= 3  # training reports progress
    t_cancel = time.time()
    client.delete(f"{API}/jobs/{job_id}")
    job = wait_job(client, job_id, timeout=30)
    latency = time.time() - t_cancel
    assert job["status"] == "cancelled" and job["result"] is None
    print(f"ensemble job cancelled {latency:.2f} s after DELETE (progress {seen[-1]:.2f})")
    assert client.get(f"{API}/health").status_code == 200


def test_cancel_interrupts_a_long_library_call(client, monkeypatch):
    from tsexplain.server import tasks

    def one_long_step(ctx, ws, req):
        x = 0
        while True:  # a step that never reports progress
            x += 1

    monkeypatch.setitem(tasks.RUNNERS, "benchmark", one_long_step)
    job_id = client.post(f"{API}/jobs", json={"kind": "benchmark", "model": "tiny",
                                              "dataset": "tiny_test"}).json()["id"]
    while client.get(f"{API}/jobs/{job_id}").json()["status"] == "queued":
        time.sleep(0.02)
    client.delete(f"{API}/jobs/{job_id}")
    assert wait_job(client, job_id, timeout=30)["status"] == "cancelled"
    # the worker thread survived: the next job runs
    monkeypatch.undo()
    job = wait_job(client, client.post(f"{API}/jobs", json={
        "kind": "benchmark", "model": "tiny", "dataset": "tiny_test", "n_samples": 2,
        "methods": ["saliency"]}).json()["id"])
    assert job["status"] == "done"


def test_failing_job_is_logged_with_its_traceback(client, monkeypatch, caplog):
    from tsexplain.server import tasks

    def buggy(ctx, ws, req):
        raise KeyError("a bug")

    monkeypatch.setitem(tasks.RUNNERS, "benchmark", buggy)
    with caplog.at_level("ERROR", logger="tsexplain.server"):
        job = wait_job(client, client.post(f"{API}/jobs", json={
            "kind": "benchmark", "model": "tiny", "dataset": "tiny_test"}).json()["id"])
    assert job["status"] == "failed" and "KeyError" in job["error"]
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)


def test_faithfulness_table_matches_the_library(client):
    from tsexplain.network import evaluate_loss, filter_importance_stats, prune_filters

    job = wait_job(client, client.post(f"{API}/jobs", json={
        "kind": "faithfulness", "model": "tiny", "dataset": "tiny_test", "max_samples": 40,
        "strategies": ["most", "least", "random", "cluster"]}).json()["id"])
    assert job["status"] == "done", job["error"]
    r = job["result"]
    model = tiny_model(client)
    X, y = tiny_data(client)
    assert r["baseline_loss"] == pytest.approx(evaluate_loss(model, X, y, task="binary"), rel=1e-5)
    assert [row["layer"] for row in r["rows"]] == ["net.0", "net.2", "net.4"]
    stats = filter_importance_stats(model, X, ["net.0", "net.2", "net.4"], "predicted", progress=False)
    for row in r["rows"]:
        mean = stats[row["layer"]].mean
        assert row["filters"]["most"] == int(np.argmax(mean))
        assert row["filters"]["least"] == int(np.argmin(mean))
        pruned = prune_filters(model, row["layer"], [row["filters"]["most"]])
        assert row["loss"]["most"] == pytest.approx(evaluate_loss(pruned, X, y, task="binary"), rel=1e-5)
        assert 0 <= row["filters"]["random"] < row["n_filters"]


def test_a_bug_is_logged_once_under_uvicorn(app, monkeypatch, caplog):
    """A 500 is logged by us, with its traceback, and not a second time by the ASGI server
    ("Exception in ASGI application"); the answer is the one-line JSON body."""
    import json
    import socket
    import urllib.error
    import urllib.request

    import uvicorn

    from tsexplain.server import explore

    def buggy(*args: object, **kwargs: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(explore, "model_summary", buggy)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    with caplog.at_level("ERROR"):
        thread.start()
        try:
            deadline = time.time() + 30
            while not server.started:
                assert time.time() < deadline and thread.is_alive(), "uvicorn did not start"
                time.sleep(0.02)
            with pytest.raises(urllib.error.HTTPError) as answer:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{API}/models/tiny", timeout=30)
            status, body = answer.value.code, json.loads(answer.value.read())
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    assert status == 500
    assert body == {"detail": "internal error (KeyError); the server log has the traceback"}
    logged = [(r.name, r.exc_info[0]) for r in caplog.records if r.exc_info]
    assert logged == [("tsexplain.server", KeyError)]


# ------------------------------------------------------------------ TSViz endpoints vs the library
def test_filter_stats_match_the_library(client):
    from tsexplain.network import filter_importance_stats

    r = client.get(f"{API}/models/tiny/layers/net.2/importance", params={"dataset": "tiny_test", "max_samples": 30})
    assert r.status_code == 200, r.text
    body = r.json()
    X, _ = tiny_data(client)
    st = filter_importance_stats(tiny_model(client), X[:30], "net.2", "predicted", progress=False)["net.2"]
    np.testing.assert_allclose(body["mean"], st.mean, rtol=1e-5)
    np.testing.assert_allclose(body["max"], st.max, rtol=1e-5)
    assert body["ranking"][0] == int(np.argmax(st.mean)) and body["n_samples"] == 30


def test_saturation_matches_the_library(client):
    from tsexplain.network import detect_saturation, with_temperature

    r = client.get(f"{API}/models/tiny/saturation", params={"dataset": "tiny_test", "max_samples": 40,
                                                            "temperature": 3.0, "tol": 0.01})
    assert r.status_code == 200, r.text
    body = r.json()
    X, _ = tiny_data(client)
    model = tiny_model(client)
    x = torch.as_tensor(X[:40])
    rep = detect_saturation(model, x, activation="sigmoid", tol=0.01, warn=False)
    rep_t = detect_saturation(with_temperature(model, 3.0, activation="sigmoid"), x, activation="sigmoid",
                              tol=0.01, warn=False)
    assert body["fraction"] == pytest.approx(rep.fraction)
    assert body["fraction_at_temperature"] == pytest.approx(rep_t.fraction)
    np.testing.assert_allclose(body["probability"], rep.probability.double().numpy(), rtol=1e-5)
    assert body["layers"] == ["net.0", "net.2", "net.4"] and len(body["importance"]) == 3


@pytest.mark.parametrize("temperature", [1.0, 3.0])
def test_saturation_importance_is_of_the_probability_at_both_temperatures(client, temperature):
    """Both bars are the filter importance of the probability sigmoid(z / T) (TSViz Eq. 19), the
    first at T = 1, so they are equal at T = 1 (the "T = 1" bars were taken on the logit z).
    Oracle: the library's own probability transform, not the server's ``with_temperature``."""
    from tsexplain.network import filter_importance

    r = client.get(f"{API}/models/tiny/saturation", params={"dataset": "tiny_test", "max_samples": 20,
                                                            "temperature": temperature})
    assert r.status_code == 200, r.text
    body = r.json()
    X, _ = tiny_data(client)
    model, x = tiny_model(client), torch.as_tensor(X[:20])

    def of_probability(t: float) -> list[float]:
        return [float(filter_importance(model, x, layer, "predicted", output_transform="sigmoid",
                                        temperature=t).sum(1).mean()) for layer in body["layers"]]

    assert body["layers"] == ["net.0", "net.2", "net.4"]
    np.testing.assert_allclose(body["importance"], of_probability(1.0), rtol=1e-5)
    np.testing.assert_allclose(body["importance_at_temperature"], of_probability(temperature), rtol=1e-5)
    if temperature == 1.0:
        np.testing.assert_array_equal(body["importance"], body["importance_at_temperature"])


def test_curves_start_at_the_model_output(client):
    r = client.post(f"{API}/curves", json={"model": "tiny", "dataset": "tiny_test", "indices": [0, 1, 2],
                                           "method": "saliency", "steps": 5})
    assert r.status_code == 200, r.text
    curves = {(c["kind"], c["ranking"]): c for c in r.json()["curves"]}
    assert set(curves) == {(k, o) for k in ("deletion", "insertion") for o in ("attribution", "random")}
    X, _ = tiny_data(client)
    with torch.no_grad():
        out = tiny_model(client)(torch.as_tensor(X[:3])).reshape(3).numpy()
    dele = curves[("deletion", "attribution")]
    assert dele["fractions"][0] == 0 and dele["fractions"][-1] == 1 and len(dele["fractions"]) == 6
    np.testing.assert_allclose(np.asarray(dele["scores"]["data"])[:, 0], out, rtol=1e-4, atol=1e-5)
    ins = curves[("insertion", "attribution")]
    np.testing.assert_allclose(np.asarray(ins["scores"]["data"])[:, -1], out, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("url, needle", [
    ("/models/tiny/layers/nope/importance?dataset=tiny_test", "no layer 'nope'"),
    ("/models/tiny/saturation?dataset=two_channels", "3 channels x 20 steps"),
    ("/models/tiny/saturation?dataset=tiny_test&max_samples=1000", "at most 40"),
])
def test_tsviz_endpoints_bad_input(client, url, needle):
    r = client.get(f"{API}{url}")
    assert r.status_code in (404, 422) and needle in r.json()["detail"]
