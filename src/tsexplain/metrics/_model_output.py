"""Evaluate a model's explained output (one scalar per sample) in chunks, without side effects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from tsexplain.exceptions import ModelOutputError, TargetError

OutputTransform = Callable[[torch.Tensor], torch.Tensor]


@contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Put ``model`` in eval mode (dropout off, batch-norm frozen), restoring every flag after."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, flag in flags:
            m.training = flag


def model_device_dtype(model: torch.nn.Module) -> tuple[torch.device, torch.dtype]:
    """Device and floating dtype of the model's first parameter or buffer (CPU/float32 if none)."""
    for p in [*model.parameters(), *model.buffers()]:
        if p.is_floating_point():
            return p.device, p.dtype
    return torch.device("cpu"), torch.float32


def as_2d_output(out: torch.Tensor, n: int) -> torch.Tensor:
    """Return the model output as ``(N, K)``; ``(N,)`` becomes ``(N, 1)``."""
    if not isinstance(out, torch.Tensor):
        raise ModelOutputError(f"the model must return a torch.Tensor, got {type(out).__name__}.")
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape[0] != n:
        raise ModelOutputError(
            f"the model must return one score per sample, of shape (N,) or (N, K) with N = {n}; "
            f"got shape {tuple(out.shape)}. Wrap the model to reduce its output first."
        )
    return out


def resolve_target(target: Any, out: torch.Tensor) -> torch.Tensor:
    """Per-sample output index ``(N,)`` for ``target`` given the full output ``(N, K)``."""
    n, k = out.shape
    if target is None:
        if k != 1:
            raise TargetError(
                f"the model has {k} outputs: pass target= an output index, one index per sample "
                f"or 'predicted'."
            )
        return torch.zeros(n, dtype=torch.long, device=out.device)
    if isinstance(target, str):
        if target != "predicted":
            raise TargetError(
                f"target must be None, an int, per-sample ints or 'predicted'; got {target!r}."
            )
        return out.argmax(dim=1)
    if isinstance(target, int | np.integer) and not isinstance(target, bool):
        t = torch.full((n,), int(target), dtype=torch.long, device=out.device)
    else:
        t = torch.as_tensor(
            np.asarray(target.detach().cpu() if hasattr(target, "detach") else target)
        )
        if t.ndim != 1 or t.shape[0] != n or t.is_floating_point():
            raise TargetError(
                f"target must hold one integer index per sample, shape ({n},); got shape "
                f"{tuple(t.shape)} of dtype {t.dtype}."
            )
        t = t.to(dtype=torch.long, device=out.device)
    if (t < 0).any() or (t >= k).any():
        raise TargetError(
            f"target index out of range for a model with {k} output(s): {t.tolist()[:10]}."
        )
    return t


def select(out: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``out[i, idx[i]]`` for every row, shape ``(N,)``."""
    return out.gather(1, idx[:, None])[:, 0]


def forward_scores(
    model: torch.nn.Module,
    x: torch.Tensor,
    idx: torch.Tensor,
    *,
    output_transform: OutputTransform | None = None,
    batch_size: int = 256,
) -> torch.Tensor:
    """Explained output ``f(x)[i, idx[i]]`` for every row of ``x``, in chunks, without grad."""
    parts = []
    with torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            xb = x[start : start + batch_size]
            out = model(xb)
            if output_transform is not None:
                out = output_transform(out)
            parts.append(select(as_2d_output(out, xb.shape[0]), idx[start : start + xb.shape[0]]))
    return torch.cat(parts) if parts else torch.empty(0)
