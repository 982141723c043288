"""``tsexplain methods``: list the attribution methods with their parameters and defaults."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("methods", help="list the attribution methods and their parameters",
                       epilog="example: tsexplain methods")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tsexplain.attribution import all_methods

    for name, cls in all_methods().items():
        meta = cls.metadata()
        params = ", ".join(f"{k}={v!r}" for k, v in meta["parameters"].items()) or "(none)"
        print(f"{name:22s} {meta['summary']}")
        print(f"{'':22s} {meta['kind']}, {'signed' if meta['signed'] else 'non-negative'}, "
              f"unit: {meta['unit']}" + (", randomized (seed)" if meta["randomized"] else ""))
        print(f"{'':22s} parameters: {params}")
        if meta["cost_params"]:
            print(f"{'':22s} cost grows with: {', '.join(meta['cost_params'])}")
    return 0
