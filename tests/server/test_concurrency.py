"""Concurrency of a real server: 16 simultaneous requests on every model-using endpoint.

``tsexplain serve`` runs under uvicorn on 127.0.0.1 (free port) with a pool of 3 replicas and a
10 s wait bound. Every answer must be 200 (202/429 for jobs) or a clear 503 with ``Retry-After``,
no request may hang (httpx timeout: the hang detector, not a speed check), and the server must
still answer afterwards. Distinct parameters per request keep the results cache out of the way.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")

from .conftest import make_tiny_workspace  # noqa: E402

N = 16
HANG = 180.0  # seconds after which a request counts as hung


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ws = make_tiny_workspace(tmp_path_factory.mktemp("concurrency") / "ws")
    port = free_port()
    env = {**os.environ, "TSEXPLAIN_MODEL_WAIT_SECONDS": "10", "TSEXPLAIN_MODEL_REPLICAS": "3",
           "TSEXPLAIN_MAX_ACTIVE_JOBS": "4", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsexplain.cli.main", "serve", "--workspace", str(ws), "--port", str(port),
         "--no-browser"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v1/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"server did not start: {proc.stdout.read() if proc.stdout else ''}") from None
                time.sleep(0.2)
        yield base, ws
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        assert proc.returncode is not None


def requests_for(endpoint: str, i: int) -> tuple[str, str, dict | None]:
    """(method, path, json) of request ``i`` of an endpoint (parameters distinct per i)."""
    api = "/api/v1"
    if endpoint == "layer":
        return "GET", f"{api}/models/tiny/layers/net.2?dataset=tiny_test&index={i}", None
    if endpoint == "network":
        return "GET", f"{api}/models/tiny/network?dataset=tiny_test&index={i}", None
    if endpoint == "sample":
        return "GET", f"{api}/datasets/tiny_test/samples/{i}?model=tiny", None
    if endpoint == "explain":
        return "POST", f"{api}/explain", {"model": "tiny", "dataset": "tiny_test", "indices": [i],
                                          "method": "integrated_gradients", "params": {"steps": 8 + i}}
    if endpoint == "aggregates":
        return "POST", f"{api}/aggregates", {"model": "tiny", "dataset": "tiny_test", "method": "saliency",
                                             "max_samples": 10 + i}
    if endpoint == "curves":
        return "POST", f"{api}/curves", {"model": "tiny", "dataset": "tiny_test", "indices": [i],
                                         "method": "saliency", "steps": 5}
    if endpoint == "filter_stats":
        return "GET", f"{api}/models/tiny/layers/net.0/importance?dataset=tiny_test&max_samples={5 + i}", None
    if endpoint == "saturation":
        return "GET", f"{api}/models/tiny/saturation?dataset=tiny_test&max_samples=20&temperature={1.5 + i}", None
    if endpoint == "model":
        return "GET", f"{api}/models/tiny", None
    if endpoint == "jobs":
        return "POST", f"{api}/jobs", {"kind": "adversarial", "model": "tiny", "dataset": "tiny_test",
                                       "index": i, "steps": 20}
    raise AssertionError(endpoint)


ENDPOINTS = ["layer", "network", "sample", "explain", "aggregates", "curves", "filter_stats",
             "saturation", "model", "jobs"]


async def burst(base: str, endpoint: str) -> list[tuple[int, dict, dict]]:
    async with httpx.AsyncClient(base_url=base, timeout=HANG) as client:
        async def one(i: int) -> tuple[int, dict, dict]:
            method, path, body = requests_for(endpoint, i)
            r = await client.request(method, path, json=body)
            return r.status_code, r.json(), dict(r.headers)

        return await asyncio.gather(*(one(i) for i in range(N)))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_simultaneous_requests_are_all_answered(server, endpoint):
    base, _ = server
    answers = asyncio.run(burst(base, endpoint))
    ok = {202, 429} if endpoint == "jobs" else {200}
    for status, body, headers in answers:
        if status == 503:
            assert headers.get("retry-after", "").isdigit() and "busy" in body["detail"]
        else:
            assert status in ok, body
    counts = {s: sum(a[0] == s for a in answers) for s in {a[0] for a in answers}}
    print(f"{endpoint}: {N} simultaneous -> {counts}")
    # still serving, on this endpoint and on the cheap ones
    with httpx.Client(base_url=base, timeout=HANG) as c:
        assert c.get("/api/v1/health").status_code == 200
        method, path, body = requests_for(endpoint, 0)
        assert c.request(method, path, json=body).status_code in ok


def test_every_endpoint_at_once_then_still_serving(server):
    base, _ = server

    async def everything() -> list[list[tuple[int, dict, dict]]]:
        return await asyncio.gather(*(burst(base, e) for e in ENDPOINTS if e != "jobs"))

    results = asyncio.run(everything())
    statuses = [a[0] for answers in results for a in answers]
    assert set(statuses) <= {200, 503}
    with httpx.Client(base_url=base, timeout=HANG) as c:
        jobs = c.get("/api/v1/jobs").json()
        for job in jobs:
            if job["status"] in ("queued", "running"):
                c.delete(f"/api/v1/jobs/{job['id']}")
        assert c.get("/api/v1/health").json()["status"] == "ok"
        r = c.post("/api/v1/explain", json={"model": "tiny", "dataset": "tiny_test", "indices": [39],
                                             "method": "saliency"})
        assert r.status_code == 200
    print(f"all endpoints at once: {len(statuses)} requests, {statuses.count(503)} answered 503")


def test_workspace_is_not_exposed(server):
    base, ws = server
    body = httpx.get(f"{base}/api/v1/health").json()
    assert str(Path(ws)) not in str(body)
