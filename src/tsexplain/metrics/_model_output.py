"""Evaluate a model's explained output (one scalar per sample) in chunks, without side effects."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch

from tsexplain._targets import flatten_output
from tsexplain._validation import check_int

OutputTransform = Callable[[torch.Tensor], torch.Tensor]


def forward_scores(
    model: torch.nn.Module,
    x: torch.Tensor,
    idx: torch.Tensor,
    *,
    output_transform: OutputTransform | None = None,
    rows_per_forward: int = 256,
) -> torch.Tensor:
    """Explained output ``f(x)[i, idx[i]]`` for every row of ``x``, in chunks, without grad."""
    parts = []
    with torch.no_grad():
        for start in range(0, x.shape[0], rows_per_forward):
            xb = x[start : start + rows_per_forward]
            out = model(xb)
            if output_transform is not None:
                out = output_transform(out)
            rows = idx[start : start + xb.shape[0]]
            parts.append(flatten_output(out, xb.shape[0]).gather(1, rows[:, None])[:, 0])
    return torch.cat(parts) if parts else torch.empty(0)


def rows_per_forward(
    model: torch.nn.Module,
    x: torch.Tensor,
    memory_budget: int | str | None,
    batch_size: int | None,
    owner: str,
) -> int:
    """Rows per forward pass that fit ``memory_budget`` (the deprecated ``batch_size`` wins)."""
    if batch_size is not None:
        warnings.warn(
            f"{owner}: batch_size= is deprecated (rows per forward pass); pass memory_budget= "
            f"(bytes or a string such as '512MB') instead.",
            DeprecationWarning,
            stacklevel=4,
        )
        return check_int(batch_size, "batch_size", minimum=1)
    from tsexplain.attribution._memory import chunk_rows, get_memory_budget, parse_bytes

    budget = get_memory_budget() if memory_budget is None else parse_bytes(memory_budget)
    return max(1, chunk_rows([model], x[:1], budget))
