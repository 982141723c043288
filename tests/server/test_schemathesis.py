"""Property-based run over the OpenAPI schema (schemathesis): no input gives a server error.

One test per operation draws cases from schemathesis' strategy (bounded examples, so the run
stays fast); jobs started by random bodies are cancelled when the app shuts down.
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
    "GET /api/v1/datasets", "POST /api/v1/datasets", "GET /api/v1/datasets/{dataset}",
    "GET /api/v1/datasets/{dataset}/samples/{index}", "POST /api/v1/explain", "POST /api/v1/aggregates",
    "GET /api/v1/jobs", "POST /api/v1/jobs", "GET /api/v1/jobs/{job_id}", "DELETE /api/v1/jobs/{job_id}",
]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    ws = make_tiny_workspace(tmp_path_factory.mktemp("schemathesis") / "ws")
    (ws / "datasets" / "broken.npz").unlink()  # so that list_datasets answers 200 too
    app = create_app(small_settings(ws, max_active_jobs=2, job_workers=1))
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = {op.ok().label: op.ok() for op in schema.get_all_operations()}
    yield operations
    app.state.jobs.shutdown()


def test_every_operation_is_covered(api):
    assert sorted(api) == sorted(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_server_error(api, label):
    from schemathesis.checks import not_a_server_error

    strategy = api[label].as_strategy()

    @given(data=st.data())
    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(data):
        case = data.draw(strategy)
        case.call_and_validate(checks=[not_a_server_error])

    run()
