"""``tsexplain benchmark``: the papers' tables reproduced (thin wrapper of tsexplain.benchmark)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from tsexplain.benchmark import REPRODUCTIONS

    p = sub.add_parser(
        "benchmark",
        help="reproduce the papers' tables and score every attribution method",
        description="Run the reproductions (Time-SmoothGrad, AGRA, TSViz anomaly world, real "
        "data, Ismail et al. layouts), print every table beside the paper's figures, and write "
        "report.md (with figures) and results.json to --out.",
        epilog="example: tsexplain benchmark --quick --out reports/benchmark",
    )
    p.add_argument("--quick", action="store_true",
                   help="smaller models and fewer epochs: under 10 minutes on 2 CPUs")
    p.add_argument("--out", default="reports/benchmark",
                   help="report folder (default: reports/benchmark)")
    p.add_argument("--data-dir", default=None,
                   help="folder with FordA/, InternetTraffic_B5M/, PAMAP2/ (default: "
                   "$TSEXPLAIN_SHARED_DATA, else ../shared/data next to the repository)")
    p.add_argument("--only", nargs="+", choices=REPRODUCTIONS, metavar="NAME",
                   help=f"run only these parts: {', '.join(REPRODUCTIONS)}")
    p.add_argument("--calibrate", action="store_true",
                   help="with --only agra: run the calibration grid over the AGRA world's "
                   "unstated parameters instead of the AGRA section")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: robust on a shared machine; 0 = torch's own)")
    p.add_argument("--size", choices=("full", "quick", "tiny"), default=None,
                   help=argparse.SUPPRESS)  # tiny: for tests only
    p.add_argument("--quiet", action="store_true", help="no progress or tables")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tsexplain.benchmark import run as run_benchmark

    run_benchmark(quick=args.quick, data_dir=args.data_dir, out=args.out, seed=args.seed,
                  progress=not args.quiet, only=args.only, size=args.size,
                  threads=args.threads or None, calibrate=args.calibrate)
    return 0
