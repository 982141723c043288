"""Benchmark: train N AGRA CNNs on the 750 training signals of ``make_quality_signals``.

Compares the vectorized strategies of ``tsexplain.training.train_ensemble`` with a plain loop of
``fit`` calls (same settings, same seeds), alternating the methods (A B A B ...) so that load
from other processes hits them alike. Prints one row per method: median and all times, and the
speed-up of the loop's median over the method's median.

    python benchmarks/bench_ensemble.py                 # 20 models, 5 epochs, 2 threads
    python benchmarks/bench_ensemble.py --repeats 3 --methods wide,vmap,loop
    TSEXPLAIN_TUNE_ALLOCATOR=0 python benchmarks/bench_ensemble.py   # glibc's default malloc

The untimed warm-up trains a small wide ensemble first, which raises glibc's malloc thresholds
for the whole process (see ``train_ensemble``), so every method, the loop included, runs with
the same allocator settings.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from tsexplain.datasets import make_quality_signals
from tsexplain.models import AGRACNN
from tsexplain.training import train_ensemble


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-models", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="rounds of A B ... alternation")
    parser.add_argument("--methods", default="wide,vmap,loop",
                        help="comma-separated train_ensemble methods, optionally ':workers' "
                             "(e.g. wide:1 = one group, all threads) and '@threads' (loop@1 = the loop on "
                             "one thread); 'loop' is the baseline of the speed-up")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    data = make_quality_signals(seed=args.seed)
    X, y = data.X[data.train_mask], data.y[data.train_mask]
    length = X.shape[-1]
    print(f"{args.n_models} AGRA CNNs, {X.shape[0]} signals {tuple(X.shape[1:])}, "
          f"{args.epochs} epochs, batch {args.batch_size}, {torch.get_num_threads()} thread(s)")

    def run(label: str) -> tuple[float, float]:
        label, _, threads = label.partition("@")
        method, _, workers = label.partition(":")
        torch.set_num_threads(int(threads) if threads else args.threads)
        t0 = time.perf_counter()
        members = train_ensemble(
            lambda: AGRACNN(length=length), X, y, n_models=args.n_models, epochs=args.epochs,
            batch_size=args.batch_size, val_fraction=0.0, seed=args.seed, method=method,
            n_workers=int(workers) if workers else None, progress=False,
        )
        seconds = time.perf_counter() - t0
        torch.set_num_threads(args.threads)
        final = sum(h.train_loss[-1] for h in members.histories) / len(members)
        return seconds, final

    # warm-up (first-call overheads), not timed
    train_ensemble(lambda: AGRACNN(length=length), X[:64], y[:64], n_models=2, epochs=1,
                   val_fraction=0.0, method="wide", progress=False)
    from tsexplain._allocator import tune_allocator

    print(f"glibc malloc thresholds raised for all methods: {tune_allocator()}")
    times: dict[str, list[float]] = {m: [] for m in methods}
    losses: dict[str, float] = {}
    for r in range(args.repeats):
        for m in methods if r % 2 == 0 else methods[::-1]:
            seconds, losses[m] = run(m)
            times[m].append(seconds)
            print(f"  round {r + 1}: {m:5s} {seconds:7.2f} s", flush=True)
    base = statistics.median(times["loop"]) if "loop" in times else None
    loops = [statistics.median(t) for m, t in times.items() if m.startswith("loop")]
    best_loop = min(loops) if loops else None
    print()
    print("Provisional: the machine is shared; compare runs of the same round.")
    print("| method | median s | runs s | speed-up vs loop | vs fastest loop variant | "
          "mean final train MSE |")
    print("|---|---|---|---|---|---|")
    for m in methods:
        med = statistics.median(times[m])
        speed = f"{base / med:.2f}x" if base else "-"
        speed_best = f"{best_loop / med:.2f}x" if best_loop else "-"
        runs = ", ".join(f"{t:.2f}" for t in times[m])
        print(f"| {m} | {med:.2f} | {runs} | {speed} | {speed_best} | {losses[m]:.3f} |")


if __name__ == "__main__":
    main()
