"""One memory budget for all batched work, and the chunk size it implies.

Every method expands its input into rows (noise samples, integration steps, models, outputs)
and processes them in chunks. The chunk size follows from one budget in bytes and from the
model's activation sizes, measured once per call with forward hooks on a single row.

glibc serves allocations above its mmap threshold with fresh ``mmap`` calls, so every pass over
a large chunk page-faults its activations afresh; raising the threshold (``mallopt``) lets the
heap reuse them. ``tsexplain._allocator.tune_allocator()`` does this once per process (set the
environment variable ``TSEXPLAIN_TUNE_ALLOCATOR=0`` to opt out); the chunk size is then capped
so that no single activation exceeds the threshold. See ``benchmarks/bench_attribution.py`` for the measurement.
"""

from __future__ import annotations

import os
import re

import torch
from torch import nn

from tsexplain._allocator import MMAP_THRESHOLD, tune_allocator
from tsexplain.exceptions import ParameterError

_DEFAULT_BUDGET = 1 << 30  # 1 GiB
_budget: int | None = None

_STOCK_LARGEST_ACTIVATION = 8 << 20

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
          "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}


def parse_bytes(value: int | str) -> int:
    """Parse a memory size: an int in bytes, or a string such as ``"512MB"`` or ``"2 GiB"``."""
    if isinstance(value, bool):
        raise ParameterError(f"memory_budget must be bytes or a string like '512MB', got {value!r}")
    if isinstance(value, int):
        n = value
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", value)
        if not m or m.group(2).lower() not in _UNITS:
            raise ParameterError(
                f"memory_budget must be bytes or a string like '512MB' or '2GiB', got {value!r}"
            )
        n = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    else:
        raise ParameterError(f"memory_budget must be bytes or a string like '512MB', got {value!r}")
    if n < (1 << 20):
        raise ParameterError(f"memory_budget must be at least 1 MiB, got {n} bytes")
    return n


def set_memory_budget(value: int | str | None) -> None:
    """Set the default memory budget of every attribution (None restores the default, 1 GiB).

    Parameters
    ----------
    value : int, str or None
        Bytes, or a string such as ``"512MB"`` or ``"2 GiB"`` (at least 1 MiB); None resets.

    Examples
    --------
    >>> from tsexplain.attribution import get_memory_budget, set_memory_budget
    >>> set_memory_budget("512MB")
    >>> get_memory_budget() == 512 * 2**20
    True
    >>> set_memory_budget(None)
    """
    global _budget
    _budget = None if value is None else parse_bytes(value)


def get_memory_budget() -> int:
    """The default budget in bytes: set_memory_budget(), else $TSEXPLAIN_MEMORY_BUDGET, else 1 GiB.

    Examples
    --------
    >>> from tsexplain.attribution import get_memory_budget, set_memory_budget
    >>> set_memory_budget(2**26)
    >>> get_memory_budget()
    67108864
    >>> set_memory_budget(None)
    >>> get_memory_budget() >= 2**20
    True
    """
    if _budget is not None:
        return _budget
    env = os.environ.get("TSEXPLAIN_MEMORY_BUDGET")
    return parse_bytes(env) if env else _DEFAULT_BUDGET


def activation_bytes(
    model: nn.Module, row: torch.Tensor, extras: tuple[torch.Tensor, ...] = ()
) -> tuple[int, int]:
    """Total and largest activation size in bytes for one input row of shape (1, C, T).

    ``extras``: the model's additional inputs for that row (``model(row, *extras)``).
    """
    sizes: list[int] = []

    def hook(_m: nn.Module, _i: object, out: object) -> None:
        if isinstance(out, torch.Tensor):
            sizes.append(out.numel() * out.element_size())

    handles = []
    try:
        for m in model.modules():
            if not list(m.children()):
                handles.append(m.register_forward_hook(hook))
    except RuntimeError:  # TorchScript modules refuse Python hooks: estimate from the output
        for h in handles:
            h.remove()
        return _estimate_without_hooks(model, row, extras)
    try:
        with torch.no_grad():
            out = model(row, *extras)
    finally:
        for h in handles:
            h.remove()
    if isinstance(out, torch.Tensor):
        sizes.append(out.numel() * out.element_size())
    sizes.append(row.numel() * row.element_size())
    return sum(sizes), max(sizes)


#: Activation bytes assumed per input byte when a model cannot be hooked (e.g. TorchScript):
#: a conservative guess, 64 channels of float32 activations per input value over 8 layers.
_UNHOOKABLE_FACTOR = 512


def _estimate_without_hooks(
    model: nn.Module, row: torch.Tensor, extras: tuple[torch.Tensor, ...] = ()
) -> tuple[int, int]:
    """Conservative activation sizes for a model whose layers cannot be observed."""
    with torch.no_grad():
        out = model(row, *extras)
    in_bytes = row.numel() * row.element_size()
    out_bytes = out.numel() * out.element_size() if isinstance(out, torch.Tensor) else 0
    return max(_UNHOOKABLE_FACTOR * in_bytes, out_bytes), max(64 * in_bytes, out_bytes)


def chunk_rows(
    models: list[nn.Module],
    row: torch.Tensor,
    budget: int,
    n_outputs: int = 1,
    extras: tuple[torch.Tensor, ...] = (),
) -> int:
    """Rows per chunk so that a forward+backward stays inside ``budget`` bytes.

    ``n_outputs`` > 1 when every output is differentiated at once (``target="all"``): each
    row's backward then holds that many activation gradients.
    """
    total, largest = max(activation_bytes(m, row, extras) for m in models)
    per_row = 3 * total + 2 * row.numel() * row.element_size() * max(1, n_outputs)
    per_row = max(per_row, (2 + n_outputs) * total if n_outputs > 1 else per_row)
    rows = max(1, budget // max(per_row, 1))
    cap = MMAP_THRESHOLD if tune_allocator() else _STOCK_LARGEST_ACTIVATION
    rows = min(rows, max(1, cap // max(largest, 1)))
    return int(rows)
