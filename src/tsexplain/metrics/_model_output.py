"""Evaluate a model's explained output (one scalar per sample) in chunks, without side effects."""

from __future__ import annotations

from collections.abc import Callable

import torch

from tsexplain._targets import flatten_output

OutputTransform = Callable[[torch.Tensor], torch.Tensor]


def forward_scores(
    model: torch.nn.Module,
    x: torch.Tensor,
    idx: torch.Tensor,
    *,
    output_transform: OutputTransform | None = None,
    rows_per_forward: int = 256,
    extras: tuple[torch.Tensor, ...] = (),
) -> torch.Tensor:
    """Explained output ``f(x)[i, idx[i]]`` for every row of ``x`` (R, C, T), in chunks, without
    grad; ``extras`` (each (R, ...)) are the model's additional inputs of those rows."""
    parts = []
    with torch.no_grad():
        for start in range(0, x.shape[0], rows_per_forward):
            stop = start + rows_per_forward
            xb = x[start:stop]
            out = model(xb, *(e[start:stop] for e in extras))
            if output_transform is not None:
                out = output_transform(out)
            rows = idx[start : start + xb.shape[0]]
            parts.append(flatten_output(out, xb.shape[0]).gather(1, rows[:, None])[:, 0])
    return torch.cat(parts) if parts else torch.empty(0)

