"""``tsexplain``: thin command line over the library.

Each subcommand lives in its own module with ``register(subparsers)``. Exit codes:

- 0: success;
- 2: a user error: a :class:`tsexplain.exceptions.TsExplainError` (bad input, option, target or
  model output) or a missing input file; one line on stderr, no traceback;
- 1: anything else. An out-of-memory error says so in one line (lower ``--memory-budget`` or
  the number of series); any other exception is a bug and its traceback is printed;
- 130: interrupted.

While a command runs, tsexplain's own warnings print as one line,
``tsexplain COMMAND: warning: ...`` (:func:`tsexplain.cli._warning_lines.one_line_warnings`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence

from tsexplain.cli._warning_lines import one_line_warnings
from tsexplain.exceptions import TsExplainError, is_out_of_memory

#: Subcommand modules, each providing register(subparsers) which sets a `run(args)` default.
SUBCOMMANDS = ("tsexplain.cli.demo", "tsexplain.cli.methods", "tsexplain.cli.benchmark",
               "tsexplain.cli.explain", "tsexplain.cli.serve", "tsexplain.cli.scale",
               "tsexplain.cli.workspace")


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
        with one_line_warnings(args.command):
            return int(args.run(args) or 0)
    except (TsExplainError, FileNotFoundError) as err:
        print(f"tsexplain {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tsexplain {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - a bug or an out-of-memory: never exit 2
        if is_out_of_memory(err):
            print(
                f"tsexplain {args.command}: out of memory: {type(err).__name__}: {err}. Lower the "
                f"memory budget or pass fewer series.",
                file=sys.stderr,
            )
            return 1
        traceback.print_exc()
        print(
            f"tsexplain {args.command}: internal error ({type(err).__name__}); this is a bug in "
            f"tsexplain, the traceback is above.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
