"""AGRA calibration grid, one process per group of cells (for a machine with idle cores).

``tsexplain benchmark --only agra --calibrate`` runs the same grid in one process. This script
evaluates chosen cells (``--cells 0 3``), appending each result to ``OUT/cells.jsonl``, and
``--report`` turns the collected cells into ``OUT/report.md`` + ``results.json`` + the figure.

    python benchmarks/agra_calibration.py --cells 0 --out reports/agra_calibration &
    python benchmarks/agra_calibration.py --cells 1 --out reports/agra_calibration &
    wait; python benchmarks/agra_calibration.py --report --out reports/agra_calibration
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from tsexplain.benchmark import agra_calibration, report
from tsexplain.benchmark._common import Context


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs="*", default=[],
                        help="indices into the grid (default with --report: none)")
    parser.add_argument("--report", action="store_true", help="write the report of the cells")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--chosen", type=int, default=None,
                        help="with --report: the grid index of the chosen cell (default: the "
                             "cell closest to the paper's single-model figures)")
    parser.add_argument("--reason", default="", help="with --chosen: why, for the report")
    parser.add_argument("--seed-check", type=Path, nargs="*", default=[],
                        help="with --report: OUT directories of runs of some cells at other "
                             "seeds, shown in a table beside the grid's figures")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ctx = Context(size="quick", seed=args.seed, out=args.out)
    cells = agra_calibration.grid("quick")
    args.out.mkdir(parents=True, exist_ok=True)
    for i in args.cells:
        r = agra_calibration.evaluate_cell(ctx, cells[i])
        r["cell"], r["seed"] = i, args.seed
        with open(args.out / "cells.jsonl", "a") as fh:
            fh.write(json.dumps(r, default=float) + "\n")
        print(f"cell {i}: single GRAD {r['single']['GRAD']:.3f} -> AGRA {r['agra']['GRAD']:.3f}, "
              f"distance {r['distance']:.3f} ({r['seconds']:.0f} s)", flush=True)
    if args.report:
        rows = _read_cells(args.out)
        others = [r for d in args.seed_check for r in _read_cells(d)]
        chosen = None if args.chosen is None else [r["cell"] for r in rows].index(args.chosen)
        t0 = time.perf_counter()
        sec = agra_calibration.section(ctx, rows, chosen=chosen, reason=args.reason,
                                       seed_check=others)
        sec.seconds = sum(r["seconds"] for r in rows + others)
        results = {"meta": {"size": "quick", "seed": args.seed, "seconds": sec.seconds,
                            "command": "python benchmarks/agra_calibration.py --cells ... "
                                       f"--threads {args.threads}",
                            "cpus": None, "torch": torch.__version__,
                            "when": time.strftime("%Y-%m-%d %H:%M")},
                   "sections": {"agra": sec.as_dict()}, "floors": []}
        results["meta"]["cpus"] = 2
        report.write_json(results, args.out / "results.json")
        report.write_markdown(results, args.out / "report.md", {})
        print(f"wrote {args.out / 'report.md'} ({time.perf_counter() - t0:.1f} s)")


def _read_cells(out: Path) -> list[dict]:
    """The cells of ``out/cells.jsonl`` in grid order, the last run of a cell winning."""
    rows = [json.loads(line) for line in (out / "cells.jsonl").read_text().splitlines()]
    return sorted({r["cell"]: r for r in rows}.values(), key=lambda r: r["cell"])


if __name__ == "__main__":
    main()
