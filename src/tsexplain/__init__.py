"""tsexplain: explain deep-learning models on time series.

Shapes everywhere are ``(N, C, T)``: N samples, C channels, T time steps.

The top level stays light: ``import tsexplain`` does not import torch, matplotlib or the
server stack. ``tsexplain.explain`` and the subpackages load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBPACKAGES = (
    "attribution",
    "datasets",
    "models",
    "training",
    "network",
    "metrics",
    "plotting",
)

__all__ = ["__version__", "explain", *_SUBPACKAGES]


def __getattr__(name: str) -> Any:
    if name == "explain":
        from tsexplain.attribution import explain

        return explain
    if name in _SUBPACKAGES:
        return importlib.import_module(f"tsexplain.{name}")
    raise AttributeError(f"module 'tsexplain' has no attribute {name!r}")
