"""Property-based run over the OpenAPI schema (schemathesis) with every check: no input gives a
server error or an answer that contradicts the schema.

Two workspaces: the tiny demo-like one, and the same with a TorchScript copy of its model (whose
filter views must answer one clear 4xx line). Per operation, cases are drawn from schemathesis'
strategies (bounded examples, so the run stays fast): schema-valid cases (positive), cases with
the workspace's real names put in (so they reach the computations), and schema-invalid cases
(negative). All of schemathesis' checks run, with one adjustment: a schema-valid request may be
refused with 422 when it breaks a rule the schema cannot state (a method's own parameters, a
target against the model's outputs), or with 413/429/503 (quotas, job queue, busy pool), so the
positive-data check accepts those, documented, statuses. Jobs started by random bodies are
cancelled when the app shuts down.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tsexplain.server.app import create_app  # noqa: E402

from .conftest import make_tiny_workspace, small_settings  # noqa: E402

OPERATIONS = [
    "GET /api/v1/health", "GET /api/v1/methods", "GET /api/v1/models", "GET /api/v1/models/{model}",
    "GET /api/v1/models/{model}/network", "GET /api/v1/models/{model}/layers/{layer}",
    "GET /api/v1/models/{model}/layers/{layer}/importance", "GET /api/v1/models/{model}/saturation",
    "GET /api/v1/datasets", "POST /api/v1/datasets", "GET /api/v1/datasets/{dataset}",
    "GET /api/v1/datasets/{dataset}/samples/{index}", "POST /api/v1/explain", "POST /api/v1/aggregates",
    "POST /api/v1/curves", "GET /api/v1/jobs", "POST /api/v1/jobs", "GET /api/v1/jobs/{job_id}",
    "DELETE /api/v1/jobs/{job_id}",
]
ACCEPTED_FOR_VALID_DATA = {404, 413, 422, 429, 503}


def positive_data_answered(ctx, response, case):
    """Schema-valid requests: 2xx, or a documented refusal (see the module docstring)."""
    from schemathesis.generation import GenerationMode

    if case.meta is not None and case.meta.generation.mode != GenerationMode.POSITIVE:
        return None
    status = response.status_code
    if not (200 <= status < 300 or status in ACCEPTED_FOR_VALID_DATA):
        raise AssertionError(f"schema-valid request answered {status}: {response.text[:300]}")
    return None


def make_api(root, torchscript: bool):
    ws = make_tiny_workspace(root / "ws")
    (ws / "datasets" / "broken.npz").unlink()  # so that list_datasets answers 200 too
    if torchscript:
        import torch

        from tsexplain.training import load_model

        model = load_model(ws / "models" / "tiny.safetensors").eval()
        torch.jit.trace(model, torch.zeros(1, 3, 20)).save(str(ws / "models" / "scripted.pt"))
    app = create_app(small_settings(ws, max_active_jobs=2, job_workers=1, model_wait_seconds=5))
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = {op.ok().label: op.ok() for op in schema.get_all_operations()}
    return app, operations


@pytest.fixture(scope="module", params=["demo", "torchscript"])
def api(request, tmp_path_factory):
    app, operations = make_api(tmp_path_factory.mktemp(f"schemathesis-{request.param}"),
                               request.param == "torchscript")
    model = "scripted" if request.param == "torchscript" else "tiny"
    yield operations, model
    app.state.jobs.shutdown()


def test_every_operation_is_covered(api):
    operations, _ = api
    assert sorted(operations) == sorted(OPERATIONS)


def anchored(case, model: str):
    """The case with the workspace's real names in its path and body (reaches the computations)."""
    names = {"model": model, "dataset": "tiny_test", "layer": "net.2"}
    if case.path_parameters:
        for k, v in names.items():
            if k in case.path_parameters:
                case.path_parameters[k] = v
    if isinstance(case.query, dict) and "dataset" in case.query:
        case.query["dataset"] = "tiny_test"
    if isinstance(case.body, dict):
        for k in ("model", "dataset"):
            if k in case.body:
                case.body[k] = names[k]
        if "indices" in case.body and isinstance(case.body["indices"], list):
            case.body["indices"] = [i % 40 for i in case.body["indices"] if isinstance(i, int)] or [0]
    return case


@pytest.mark.parametrize("label", OPERATIONS)
def test_all_checks(api, label):
    from schemathesis.checks import positive_data_acceptance
    from schemathesis.generation import GenerationMode

    operations, model = api
    op = operations[label]
    strategy = st.one_of(
        op.as_strategy(GenerationMode.POSITIVE),
        op.as_strategy(GenerationMode.POSITIVE).map(lambda c: anchored(c, model)),
        op.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(data=st.data())
    @settings(max_examples=30, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(data):
        case = data.draw(strategy)
        case.call_and_validate(excluded_checks=[positive_data_acceptance],
                               additional_checks=[positive_data_answered])

    run()


def test_network_views_on_torchscript_say_why_in_one_line(tmp_path):
    from fastapi.testclient import TestClient

    from tsexplain.network._hooks import NO_MODULE_TREE

    app, _ = make_api(tmp_path, torchscript=True)
    with TestClient(app) as c:
        for url in ("/api/v1/models/scripted/network", "/api/v1/models/scripted/layers/net.2?dataset=tiny_test",
                    "/api/v1/models/scripted/layers/net.2/importance?dataset=tiny_test"):
            r = c.get(url)
            assert r.status_code == 422, (url, r.text)
            assert r.json()["detail"] == NO_MODULE_TREE
        r = c.post("/api/v1/jobs", json={"kind": "pruning", "model": "scripted", "dataset": "tiny_test",
                                         "layer": "net.2"})
        assert r.status_code == 422 and r.json()["detail"] == NO_MODULE_TREE
        # attributions work on TorchScript
        r = c.post("/api/v1/explain", json={"model": "scripted", "dataset": "tiny_test", "indices": [0],
                                            "method": "saliency"})
        assert r.status_code == 200
