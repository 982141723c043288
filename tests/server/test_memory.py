"""Memory of a long-running server: after a heavy aggregate the RSS returns near where it was.

A real ``tsexplain serve`` process (127.0.0.1, free port) answers one light request (model and
data loaded), then a heavy aggregate (SmoothGrad with many noise draws over the data set); the
RSS one second after the answer must be within 300 MB of the RSS before it. The same run with the
allocator tuning switched on (``TSEXPLAIN_TUNE_ALLOCATOR=1``, what batch runs use) is measured
for comparison and printed, not asserted. ``benchmarks/bench_server_load.py --memory`` measures
the same on the demo workspace.
"""

from __future__ import annotations

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

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")]

MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {key} in /proc/{pid}/status")


def heavy_aggregate_rss(ws: Path, tune: str) -> dict[str, float]:
    port = free_port()
    env = {**os.environ, "TSEXPLAIN_TUNE_ALLOCATOR": tune, "TSEXPLAIN_MAX_AGGREGATE_SAMPLES": "1000",
           "TSEXPLAIN_MAX_METHOD_INT": "1024", "OMP_NUM_THREADS": "1"}
    env.pop("MALLOC_MMAP_THRESHOLD_", None)
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    proc = subprocess.Popen([sys.executable, "-m", "tsexplain.cli.main", "serve", "--workspace", str(ws),
                             "--port", str(port), "--no-browser"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/health", timeout=2)
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, "server did not start"
                time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=600) as c:
            light = {"model": "tiny", "dataset": "tiny_train", "method": "smoothgrad",
                     "params": {"n_draws": 4}, "max_samples": 20}
            assert c.post("/aggregates", json=light).status_code == 200
            time.sleep(1.0)
            before = status_kb(proc.pid, "VmRSS")
            heavy = {"model": "tiny", "dataset": "tiny_train", "method": "smoothgrad",
                     "params": {"n_draws": 1024}, "max_samples": 200}
            r = c.post("/aggregates", json=heavy)
            assert r.status_code == 200, r.text
            time.sleep(1.0)
            after = status_kb(proc.pid, "VmRSS")
            peak = status_kb(proc.pid, "VmHWM")
            assert c.get("/health").status_code == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {"before_mb": before / 1024, "after_mb": after / 1024, "peak_mb": peak / 1024,
            "kept_mb": (after - before) / 1024}


def test_rss_returns_after_a_heavy_aggregate(tmp_path):
    ws = make_tiny_workspace(tmp_path / "ws")
    server_default = heavy_aggregate_rss(ws, "0")
    tuned = heavy_aggregate_rss(ws, "1")
    print(f"heavy aggregate (SmoothGrad n_draws=1024 x 200 series): server default {server_default}; "
          f"with the allocator tuning on {tuned}")
    assert server_default["kept_mb"] < 300
