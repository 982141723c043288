"""``tsexplain methods``: list the attribution methods with their parameters and defaults."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("methods", help="list the attribution methods and their parameters",
                       epilog="example: tsexplain methods")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tsexplain.attribution import METHODS

    for name, cls in METHODS.items():
        params = ", ".join(f"{k}={v!r}" for k, v in cls.parameters().items()) or "(none)"
        print(f"{name:22s} {cls.summary()}")
        print(f"{'':22s} parameters: {params}")
    return 0
