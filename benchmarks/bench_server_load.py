"""Loopback load test of the explorer: concurrent attribution requests while a job runs.

Starts ``tsexplain serve`` on 127.0.0.1 (free port, demo workspace unless --workspace), then
``--clients`` concurrent clients request attributions of random samples (random method among
saliency, gradient x input and Integrated Gradients with a random step count, so the results
cache rarely answers) for ``--seconds``. Part-way through, an iterative-FGSM job is started; a
probe requests ``/health`` every 0.25 s throughout. Reports errors, throughput, latency
percentiles overall / while the job ran, and the probe's worst latency. Bounded in time and
count; nothing leaves the machine.

    python benchmarks/bench_server_load.py                 # 20 clients, 60 s
    python benchmarks/bench_server_load.py --clients 5 --seconds 10
    python benchmarks/bench_server_load.py --quick         # 8 clients, 20 s
    python benchmarks/bench_server_load.py --memory        # RSS around a heavy aggregate

``--memory`` starts the server twice (allocator tuning off, the server's default, then on) and
reports the RSS before, one second after and at the peak of a heavy aggregate: SmoothGrad with
1024 noise draws over 1000 series (``--quick``: 256 draws over 200 series).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(workspace: str | None, env: dict[str, str] | None = None
                 ) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "tsexplain.cli.main", "serve", "--host", "127.0.0.1",
           "--port", str(port), "--no-browser"]
    if workspace:
        cmd += ["--workspace", workspace]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180  # the first start may train the demo model
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/v1/health", timeout=2)
            return proc, base
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError(f"server did not start: {proc.stdout.read() if proc.stdout else ''}") from None
            time.sleep(0.3)


async def run(base: str, clients: int, seconds: float, max_requests: int, job_at: float) -> dict:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30.0,
                                 limits=httpx.Limits(max_connections=clients + 4)) as http:
        models = (await http.get("/api/v1/models")).json()
        model = models[0]
        dataset = model["default_dataset"]
        n = (await http.get(f"/api/v1/datasets/{dataset}")).json()["shape"][0]
        t0 = time.perf_counter()
        stop = t0 + seconds
        records: list[tuple[float, float, bool, bool]] = []  # (start, latency, ok, cached)
        errors: list[str] = []
        probe: list[tuple[float, float]] = []
        job_window: dict[str, float | str] = {}
        rng = random.Random(0)

        async def client(cid: int) -> None:
            while time.perf_counter() < stop and len(records) < max_requests:
                method = rng.choice(["saliency", "gradient_x_input", "integrated_gradients"])
                params = {"steps": rng.randint(8, 48)} if method == "integrated_gradients" else {}
                body = {"model": model["name"], "dataset": dataset, "indices": [rng.randrange(n)],
                        "method": method, "params": params}
                s = time.perf_counter()
                try:
                    r = await http.post("/api/v1/explain", json=body)
                    ok = r.status_code == 200
                    cached = ok and r.json()["cached"]
                    if not ok:
                        errors.append(f"{r.status_code}: {r.text[:200]}")
                except httpx.HTTPError as err:
                    ok, cached = False, False
                    errors.append(f"{type(err).__name__}: {err}")
                records.append((s - t0, time.perf_counter() - s, ok, cached))

        async def prober() -> None:
            while time.perf_counter() < stop:
                s = time.perf_counter()
                r = await http.get("/api/v1/health")
                if r.status_code != 200:
                    errors.append(f"health {r.status_code}")
                probe.append((s - t0, time.perf_counter() - s))
                await asyncio.sleep(0.25)

        async def job() -> None:
            await asyncio.sleep(job_at)
            body = {"kind": "adversarial", "model": model["name"], "dataset": dataset, "index": 0,
                    "method": "iterative", "epsilon": 0.05, "alpha": 1e-4, "steps": 5000,
                    "stop_on_flip": False}
            r = await http.post("/api/v1/jobs", json=body)
            if r.status_code != 202:
                errors.append(f"job submit {r.status_code}: {r.text[:200]}")
                return
            jid = r.json()["id"]
            job_window["start"] = time.perf_counter() - t0
            while True:
                j = (await http.get(f"/api/v1/jobs/{jid}")).json()
                if j["status"] not in ("queued", "running") or time.perf_counter() > stop:
                    break
                await asyncio.sleep(0.5)
            if j["status"] in ("queued", "running"):
                await http.delete(f"/api/v1/jobs/{jid}")
                j = (await http.get(f"/api/v1/jobs/{jid}")).json()
            job_window["end"] = time.perf_counter() - t0
            job_window["status"] = j["status"]
            job_window["progress"] = j["progress"]

        await asyncio.gather(*(client(i) for i in range(clients)), prober(), job())
        wall = time.perf_counter() - t0

    lat = np.array([r[1] for r in records])
    ok = np.array([r[2] for r in records])
    cached = np.array([r[3] for r in records])
    start = np.array([r[0] for r in records])
    out: dict = {"clients": clients, "seconds": round(wall, 1), "requests": int(len(records)),
                 "errors": int((~ok).sum()) + sum(e.startswith(("health", "job")) for e in errors),
                 "throughput_per_s": round(len(records) / wall, 1),
                 "cached_share": round(float(cached.mean()), 3) if len(cached) else 0.0}
    for q in (50, 95, 99):
        out[f"p{q}_ms"] = round(1000 * float(np.percentile(lat, q)), 1)
    out["max_ms"] = round(1000 * float(lat.max()), 1)
    if "start" in job_window:
        inside = (start >= job_window["start"]) & (start <= job_window["end"])
        outside = ~inside
        out["job"] = {k: (round(v, 1) if isinstance(v, float) else v) for k, v in job_window.items()}
        if inside.any():
            out["p95_ms_while_job_runs"] = round(1000 * float(np.percentile(lat[inside], 95)), 1)
        if outside.any():
            out["p95_ms_without_job"] = round(1000 * float(np.percentile(lat[outside], 95)), 1)
        pin = [p[1] for p in probe if job_window["start"] <= p[0] <= job_window["end"]]
        out["health_probe_max_ms_while_job_runs"] = round(1000 * max(pin), 1) if pin else None
    out["health_probe_p95_ms"] = round(1000 * float(np.percentile([p[1] for p in probe], 95)), 1)
    out["error_samples"] = errors[:5]
    return out


def status_mb(pid: int, key: str) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory(workspace: str | None, quick: bool) -> dict:
    """RSS around one heavy aggregate, with the allocator tuning off (server default) and on."""
    draws, series = (256, 200) if quick else (1024, 1000)
    out: dict = {"request": f"aggregates, smoothgrad n_draws={draws}, {series} series"}
    for label, tune in (("tuning_off_server_default", "0"), ("tuning_on", "1")):
        env = {"TSEXPLAIN_TUNE_ALLOCATOR": tune, "TSEXPLAIN_MAX_AGGREGATE_SAMPLES": str(series),
               "TSEXPLAIN_MAX_METHOD_INT": str(max(draws, 1024))}
        proc, base = start_server(workspace, env)
        try:
            import httpx

            with httpx.Client(base_url=base, timeout=3600) as c:
                model = c.get("/api/v1/models").json()[0]
                body = {"model": model["name"], "dataset": model["default_dataset"],
                        "method": "smoothgrad", "group_by": "prediction"}
                c.post("/api/v1/aggregates", json={**body, "params": {"n_draws": 2}, "max_samples": 8})
                time.sleep(1)
                before = status_mb(proc.pid, "VmRSS")
                t0 = time.perf_counter()
                r = c.post("/api/v1/aggregates", json={**body, "params": {"n_draws": draws},
                                                       "max_samples": series})
                seconds = time.perf_counter() - t0
                time.sleep(1)
                out[label] = {"status": r.status_code, "seconds": round(seconds, 1),
                              "rss_before_mb": round(before, 1),
                              "rss_after_mb": round(status_mb(proc.pid, "VmRSS"), 1),
                              "rss_peak_mb": round(status_mb(proc.pid, "VmHWM"), 1)}
                out[label]["kept_mb"] = round(out[label]["rss_after_mb"] - before, 1)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="8 clients for 20 s (memory: a lighter aggregate)")
    p.add_argument("--memory", action="store_true", help="measure RSS around a heavy aggregate instead")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--max-requests", type=int, default=200_000)
    p.add_argument("--job-at", type=float, default=None, help="seconds before the job starts (default: a third)")
    p.add_argument("--workspace", default=None, help="default: the demo workspace")
    p.add_argument("--json", default=None, help="also write the figures to this file")
    args = p.parse_args()
    if args.memory:
        res = memory(args.workspace, args.quick)
        print(json.dumps(res, indent=2))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(res, f, indent=2)
        return 0
    if args.quick:
        args.clients, args.seconds = 8, 20.0
    if not 1 <= args.clients <= 200 or not 0 < args.seconds <= 600:
        p.error("--clients 1..200 and --seconds up to 600")
    proc, base = start_server(args.workspace)
    try:
        res = asyncio.run(run(base, args.clients, args.seconds, args.max_requests,
                              args.seconds / 3 if args.job_at is None else args.job_at))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(json.dumps(res, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
    return 0 if res["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
