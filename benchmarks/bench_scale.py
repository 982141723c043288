"""Benchmark: attribution of 100,000 FordA-length series (T=500) with the local and Ray backends.

Builds a memory-mapped ``.npy`` input of N series by tiling FordA (``/work/shared/data/FordA``,
or ``--fordA``; generated sinusoids when absent), then runs ``attribute_dataset`` on it with a
FordACNN (64 filters x 3 layers; random weights: the cost of a trained one is the same) for each
backend and each size, every run in a fresh subprocess so that ``ru_maxrss`` is that run's own
peak resident memory of the *driver* (Ray workers are separate processes and not counted; they
hold one model and one chunk each). Reports throughput, driver peak RSS at N/4 and N (must stay
flat: the input is streamed from the memory-mapped file and results go to the chunk store, never
held whole), and an estimate for a 16-node cluster from the measured per-series CPU cost.

    python benchmarks/bench_scale.py                       # 100,000 and 25,000 series, both backends
    python benchmarks/bench_scale.py --n 8000 --chunk-size 1000   # a quick run
    python benchmarks/bench_scale.py --backends local --method integrated_gradients --param steps=16
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FORDA = Path(os.environ.get("TSEXPLAIN_SHARED", "/work/shared")) / "data" / "FordA"
T = 500


def make_input(path: Path, n: int, forda: Path) -> str:
    """Write (n, 1, 500) float32 to ``path`` chunk by chunk; returns where the rows came from."""
    try:
        from tsexplain.datasets import load_ucr

        base = load_ucr(forda).X.astype(np.float32)
        source = f"FordA tiled ({len(base)} distinct series)"
    except Exception:  # noqa: BLE001 - no FordA here: generated series of the same length
        rng = np.random.default_rng(0)
        t = np.linspace(0, 20, T)
        base = (np.sin(t * rng.uniform(0.5, 4, (4096, 1, 1)))
                + 0.3 * rng.standard_normal((4096, 1, T))).astype(np.float32)
        source = "generated sinusoids + noise (FordA not found)"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, 1, T))
    for a in range(0, n, len(base)):
        b = min(n, a + len(base))
        out[a:b] = base[: b - a]
    out.flush()
    del out
    return source


def child(args: argparse.Namespace) -> None:
    """One measured run (in its own process): prints a JSON line."""
    import torch

    from tsexplain.io.pipeline import parse_params
    from tsexplain.models import FordACNN
    from tsexplain.scale import attribute_dataset

    torch.manual_seed(0)
    model = FordACNN().eval()
    t_init = 0.0
    if args.backend == "ray":
        import ray

        t0 = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False,
                 _node_ip_address="127.0.0.1")
        t_init = time.perf_counter() - t0
    else:
        torch.set_num_threads(args.cpus)
    x = args.data  # the path: read memory-mapped, chunk by chunk
    rows = np.load(args.data, mmap_mode="r").shape[0]
    assert rows == args.n, (rows, args.n)
    t0 = time.perf_counter()
    run = attribute_dataset(model, x, args.method, out=args.out, chunk_size=args.chunk_size,
                            target="predicted", backend=args.backend, num_cpus=1,
                            **parse_params(args.param))
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "backend": args.backend, "n": args.n, "seconds": seconds, "ray_init_seconds": t_init,
        "series_per_second": args.n / seconds, "chunks": run.store.n_chunks,
        "driver_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="series in the large run")
    parser.add_argument("--n-small", type=int, help="series in the small run (default n/4)")
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--method", default="saliency")
    parser.add_argument("--param", action="append", metavar="K=V")
    parser.add_argument("--backends", default="local,ray")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs (local: torch threads; Ray: num_cpus)")
    parser.add_argument("--fordA", type=Path, default=FORDA)
    parser.add_argument("--workdir", type=Path, help="where the input and stores go (default: a temp dir)")
    parser.add_argument("--nodes", type=int, default=16)
    parser.add_argument("--cores-per-node", type=int, default=16)
    parser.add_argument("--driver-mbps", type=float, default=200,
                        help="assumed rate (MB/s) at which one driver receives and writes results")
    parser.add_argument("--json", type=Path, help="write the results here")
    # internal: one measured run
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    sizes = sorted({args.n_small or args.n // 4, args.n})
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_scale_"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for n in sizes:
            data = work / f"x_{n}.npy"
            source = make_input(data, n, args.fordA)
            print(f"input: {n} x 1 x {T} float32 ({data.stat().st_size / 2**20:.0f} MB), {source}",
                  flush=True)
            for backend in args.backends.split(","):
                out = work / f"out_{backend}_{n}"
                shutil.rmtree(out, ignore_errors=True)
                cmd = [sys.executable, __file__, "--child", "--backend", backend, "--n", str(n),
                       "--data", str(data), "--out", str(out), "--chunk-size", str(args.chunk_size),
                       "--method", args.method, "--cpus", str(args.cpus)]
                for p in args.param or ():
                    cmd += ["--param", p]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0:
                    print(proc.stderr[-3000:], file=sys.stderr)
                    raise SystemExit(f"{backend} run failed")
                res = json.loads(proc.stdout.strip().splitlines()[-1])
                results.append(res)
                print(f"  {backend:5s} n={n:7d}: {res['seconds']:7.1f} s, "
                      f"{res['series_per_second']:7.0f} series/s, driver peak RSS "
                      f"{res['driver_peak_rss_mb']:6.0f} MB"
                      + (f" (ray.init {res['ray_init_seconds']:.1f} s, not included)"
                         if backend == "ray" else ""), flush=True)
                shutil.rmtree(out, ignore_errors=True)
            data.unlink()
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print("\ndriver peak RSS, small -> large (flat = streaming works):")
    for backend in args.backends.split(","):
        rs = [r for r in results if r["backend"] == backend]
        print(f"  {backend}: " + " -> ".join(f"{r['driver_peak_rss_mb']:.0f} MB @ {r['n']}" for r in rs))
    big = [r for r in results if r["n"] == args.n]
    best = max(big, key=lambda r: r["series_per_second"])
    per_series_cpu = args.cpus / best["series_per_second"]  # CPU-seconds per series
    cores = args.nodes * args.cores_per_node
    print(f"\nestimate for {args.nodes} nodes x {args.cores_per_node} cores ({cores} actors of 1 CPU), "
          f"from the measured {per_series_cpu * 1e3:.2f} CPU-ms per series ({args.method}, "
          f"{best['backend']}, {args.cpus} CPUs here), assuming linear scaling:")
    for total in (args.n, 1_000_000, 10_000_000):
        secs = total * per_series_cpu / cores
        sink = total * T * 4 / 2**20 / args.driver_mbps
        print(f"  {total:>10,d} series: {secs:7.1f} s of compute; results {total * T * 4 / 2**30:5.1f} GB "
              f"through one driver: {sink:6.1f} s at {args.driver_mbps:.0f} MB/s; expect "
              f"~{max(secs, sink) + 20:.0f} s with ~20 s of actor start-up")
    print(f"  (keeping 256 actors busy needs {cores / per_series_cpu * T * 4 / 2**20:.0f} MB/s of "
          f"results into the driver: above ~{args.driver_mbps:.0f} MB/s, run several drivers)")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "per_series_cpu_seconds": per_series_cpu}, indent=2))


if __name__ == "__main__":
    main()
