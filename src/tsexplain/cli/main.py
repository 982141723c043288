"""``tsexplain``: thin command line over the library.

Each subcommand lives in its own module with ``register(subparsers)``; errors from the library
(our ValueError/TypeError subclasses) print one line and exit with code 2, no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Subcommand modules, each providing register(subparsers) which sets a `run(args)` default.
SUBCOMMANDS = ("tsexplain.cli.demo", "tsexplain.cli.methods", "tsexplain.cli.benchmark",
               "tsexplain.cli.explain", "tsexplain.cli.serve", "tsexplain.cli.scale")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tsexplain",
        description="Explain deep-learning models on time series (shapes (N, C, T)).",
        epilog="Run 'tsexplain COMMAND --help' for the options and examples of each command.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:  # that subcommand is not part of this build
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from tsexplain import __version__

        print(__version__)
        return 0
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"tsexplain {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tsexplain {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
