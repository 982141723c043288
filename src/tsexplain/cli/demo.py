"""``tsexplain demo``: train small models on generated data and write an explanation report."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="train a small CNN on generated data and write an explanation report",
        description="Train the TSViz anomaly CNN on generated sequences, explain detected "
        "anomalies with every method, and write figures and a report to --out.",
        epilog="example: tsexplain demo --out reports/demo",
    )
    p.add_argument("--out", default="reports/demo", help="report folder (default: reports/demo)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-train", type=int, default=20000, help="training sequences (default 20000)")
    p.add_argument("--n-explain", type=int, default=200, help="sequences to explain (default 200)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: the demo's models are small)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tsexplain.demo import run_demo

    run_demo(args.out, seed=args.seed, n_train=args.n_train, n_explain=args.n_explain,
             progress=not args.quiet, threads=args.threads)
    return 0
