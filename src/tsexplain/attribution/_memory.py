"""One memory budget for all batched work, and the chunk size it implies.

Every method expands its input into rows (noise draws, integration steps, models, outputs)
and processes them in chunks. The budget bounds the rows of one chunk: the model's activation
sizes are measured once per call with forward hooks on a single row (plus the gate activations
that recurrent layers and the attention weights that attention layers keep for their backward
pass), and a chunk holds at most ``budget // bytes per row`` rows. On a CUDA device the budget
is also limited by the device's free memory (``torch.cuda.mem_get_info``).

Within that bound the engine picks the size that runs fastest: on the CPU, the first chunks of
a large call are timed at a few sizes (16, 32, 64, ... rows) and the fastest is used for the
rest, and for later calls on the same model and shape. A recurrent layer walks the series step
by step, so its cost per row is lowest for chunks that stay in the processor's cache, while a
convolution is fastest on large chunks. Before that measurement (small calls), the CPU default
keeps every activation below glibc's mmap threshold, which
``tsexplain._allocator.tune_allocator()`` raises once per process so that freed activations
are reused instead of page-faulted afresh (``TSEXPLAIN_TUNE_ALLOCATOR=0`` opts out).
"""

from __future__ import annotations

import os
import re
import weakref

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


#: Activation sizes measured per model and input shape: they depend on the model's structure and
#: the shapes, not on its weights, so repeated calls on one model skip the sizing forward pass
#: (which costs as much as a whole batch's for a recurrent model, sequential in T).
_MEASURED: weakref.WeakKeyDictionary[nn.Module, dict[tuple[object, ...], tuple[int, int]]] = (
    weakref.WeakKeyDictionary()
)


def activation_bytes(
    model: nn.Module, row: torch.Tensor, extras: tuple[torch.Tensor, ...] = ()
) -> tuple[int, int]:
    """Total and largest activation size in bytes for one input row of shape (1, C, T).

    ``extras``: the model's additional inputs for that row (``model(row, *extras)``). Measured
    by one forward pass per model and input shape (then remembered while the model lives).
    """
    key = (tuple(row.shape), row.dtype, row.device, model.training,
           tuple((tuple(e.shape), e.dtype) for e in extras))
    try:
        known = _MEASURED.setdefault(model, {})
    except TypeError:  # not weak-referenceable: measure every time
        return _measure_activations(model, row, extras)
    if key not in known:
        known[key] = _measure_activations(model, row, extras)
    return known[key]


def _measure_activations(
    model: nn.Module, row: torch.Tensor, extras: tuple[torch.Tensor, ...]
) -> tuple[int, int]:
    sizes: list[int] = []

    def hook(m: nn.Module, _i: object, out: object) -> None:
        if isinstance(out, tuple) and out and isinstance(out[0], torch.Tensor):
            out = out[0]  # recurrent layers and attention return (output, state or weights)
        if isinstance(out, torch.Tensor):
            sizes.append(out.numel() * out.element_size())
            sizes.append(_saved_internals(m, out))

    handles = []
    try:
        for m in model.modules():
            if not list(m.children()) or isinstance(m, _OPAQUE):
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


#: Layers whose backward keeps more than their output: observed as a whole.
_OPAQUE = (nn.RNNBase, nn.MultiheadAttention)
#: Gate activations a recurrent layer keeps per step and hidden unit, beyond its output.
_GATES = {"LSTM": 6, "GRU": 5, "RNN_TANH": 1, "RNN_RELU": 1}


def _saved_internals(module: nn.Module, out: torch.Tensor) -> int:
    """Bytes a recurrent or attention layer saves for its backward beyond ``out``, per row."""
    if isinstance(module, nn.RNNBase):
        steps = out.shape[1] if module.batch_first or out.ndim == 2 else out.shape[0]
        if out.ndim == 2:
            steps = out.shape[0]
        dirs = 2 if module.bidirectional else 1
        per_step = _GATES.get(module.mode, 6) * module.hidden_size * dirs * module.num_layers
        return int(steps * per_step * out.element_size())
    if isinstance(module, nn.MultiheadAttention):
        length = out.shape[1] if module.batch_first else out.shape[0]
        if out.ndim == 2:
            length = out.shape[0]
        return int(module.num_heads * length * length * out.element_size() * 2)
    return 0


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


def device_budget(budget: int, device: torch.device) -> int:
    """The budget on ``device``: on CUDA, at most 90% of the device's free memory."""
    if device.type == "cuda" and torch.cuda.is_available():
        free, _total = torch.cuda.mem_get_info(device)
        return max(1, min(budget, int(0.9 * free)))
    return budget


def _row_bytes(total: int, row: torch.Tensor, n_outputs: int) -> int:
    """Bytes one row needs for a forward and backward (activations, their gradients, input)."""
    per_row = 3 * total + 2 * row.numel() * row.element_size() * max(1, n_outputs)
    return max(per_row, (2 + n_outputs) * total if n_outputs > 1 else per_row)


def chunk_plan(
    models: list[nn.Module],
    row: torch.Tensor,
    budget: int,
    n_outputs: int = 1,
    extras: tuple[torch.Tensor, ...] = (),
) -> tuple[int, int]:
    """``(most, default)`` rows per chunk for a forward+backward of ``models``.

    ``most`` keeps a chunk inside ``budget`` bytes (by the estimate of :func:`activation_bytes`;
    on CUDA also inside the device's free memory); ``default`` is the size used before the
    engine has timed other sizes: on the CPU, at most the rows whose largest activation stays
    below glibc's mmap threshold (where freed memory is reused); elsewhere ``most``.
    """
    total, largest = max(activation_bytes(m, row, extras) for m in models)
    per_row = _row_bytes(total, row, n_outputs)
    most = max(1, device_budget(budget, row.device) // max(per_row, 1))
    if row.device.type != "cpu":
        return int(most), int(most)
    return int(most), int(min(most, heap_rows(largest)))


def heap_rows(largest: int) -> int:
    """Rows of a pass whose largest activation (``largest`` bytes per row) stays below glibc's
    mmap threshold: larger blocks are mapped afresh and page-faulted on every pass."""
    cap = MMAP_THRESHOLD if tune_allocator() else _STOCK_LARGEST_ACTIVATION
    return max(1, cap // max(largest, 1))


def chunk_rows(
    models: list[nn.Module],
    row: torch.Tensor,
    budget: int,
    n_outputs: int = 1,
    extras: tuple[torch.Tensor, ...] = (),
) -> int:
    """Most rows per chunk so that a forward+backward stays inside ``budget`` bytes.

    ``n_outputs`` > 1 when every output is differentiated at once (``target="all"``): each
    row's backward then holds that many activation gradients. A larger budget gives larger
    chunks, on every device.
    """
    return chunk_plan(models, row, budget, n_outputs, extras)[0]
