"""Task losses that keep leading member axes: one scalar per ensemble member."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def task_loss(
    out: torch.Tensor, y: torch.Tensor, task: str, n_lead: int = 0, masked: bool | None = None
) -> torch.Tensor:
    """Mean loss over samples (and outputs), keeping the first ``n_lead`` axes.

    Parameters
    ----------
    out : torch.Tensor of shape (*lead, B, ...)
        Model outputs (logits for classification).
    y : torch.Tensor
        Targets shaped like ``out`` (regression, binary) or ``(*lead, B)`` class indices.
    task : {"regression", "binary", "multiclass"}
        MSE (NaN targets ignored), binary cross-entropy on logits, cross-entropy on logits.
    n_lead : int
        Number of leading axes to keep (1 for stacked ensemble members).
    masked : bool, optional
        Regression only: whether ``y`` may hold NaN (ignored targets). None decides from ``y``,
        which is not possible under ``torch.func.vmap``: pass it there.

    Returns
    -------
    torch.Tensor of shape lead
    """
    lead = out.shape[:n_lead]
    if task == "multiclass":
        k = out.shape[-1]
        ce = F.cross_entropy(out.reshape(-1, k), y.reshape(-1), reduction="none")
        return ce.reshape(*lead, -1).mean(-1)
    if task == "binary":
        bce = F.binary_cross_entropy_with_logits(out, y, reduction="none")
        return bce.reshape(*lead, -1).mean(-1)
    valid = torch.isfinite(y)
    if masked is None:
        masked = not bool(valid.all())
    if not masked:
        return (out - y).square().reshape(*lead, -1).mean(-1)
    sq = torch.where(valid, out - torch.where(valid, y, 0.0), 0.0).square()
    count = valid.reshape(*lead, -1).sum(-1).clamp(min=1)
    return sq.reshape(*lead, -1).sum(-1) / count


def activity_penalty(out: torch.Tensor, n_lead: int = 0) -> torch.Tensor:
    """Mean squared output (TSViz's activity regularisation on the last layer), per member."""
    lead = out.shape[:n_lead]
    return out.square().reshape(*lead, -1).mean(-1)


def correct_count(out: torch.Tensor, y: torch.Tensor, task: str, n_lead: int = 0) -> torch.Tensor:
    """Number of correct predictions per member (classification tasks)."""
    lead = out.shape[:n_lead]
    if task == "multiclass":
        hit = out.argmax(-1) == y
    else:
        hit = (out > 0).to(y.dtype) == y
    return hit.reshape(*lead, -1).sum(-1)
