"""Moved to :mod:`tsexplain._targets` (the one target resolver); import from there."""

from tsexplain._targets import Selection, flatten_output, resolve_target

__all__ = ["Selection", "flatten_output", "resolve_target"]
