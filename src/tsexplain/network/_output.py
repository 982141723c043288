"""Which output to explain, what task the model solves, and the loss that goes with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tsexplain.exceptions import ModelOutputError, ParameterError, TargetError

Task = Literal["auto", "binary", "multiclass", "regression"]
TASKS = ("auto", "binary", "multiclass", "regression")
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def as_2d(out: torch.Tensor) -> torch.Tensor:
    """Model output as (N, K): a 1-D output (N,) becomes (N, 1)."""
    if out.ndim == 1:
        return out[:, None]
    if out.ndim != 2:
        raise ModelOutputError(
            f"the model's output has shape {tuple(out.shape)}; expected (N,) or (N, K) "
            f"(one score per class or output)."
        )
    return out


def select_output(out: torch.Tensor, target: Any) -> torch.Tensor:
    """Pick one scalar per sample from the model output.

    Parameters
    ----------
    out : torch.Tensor of shape (N,) or (N, K)
    target : None, int, "predicted", or a sequence / array / tensor of N ints
        ``None`` is allowed only for a single output (K = 1). ``"predicted"`` takes the argmax
        of each row (for K = 1, the single output).

    Returns
    -------
    torch.Tensor of shape (N,)
    """
    out2 = as_2d(out)
    n, k = out2.shape
    if target is None:
        if k != 1:
            raise TargetError(
                f"the model has {k} outputs; pass target= a class index, one index per sample, or "
                f"'predicted'."
            )
        return out2[:, 0]
    if isinstance(target, str):
        if target != "predicted":
            raise TargetError(f"target must be None, an int, N ints or 'predicted'; got {target!r}.")
        idx = out2.detach().argmax(dim=1)
        return out2.gather(1, idx[:, None])[:, 0]
    if isinstance(target, int | np.integer) and not isinstance(target, bool):
        t = int(target)
        if not -k <= t < k:
            raise TargetError(f"target={t} is out of range for a model with {k} outputs.")
        return out2[:, t]
    idx_t = torch.as_tensor(np.asarray(target) if not isinstance(target, torch.Tensor) else target)
    idx_t = idx_t.to(device=out2.device).long().reshape(-1)
    if idx_t.numel() != n:
        raise TargetError(f"target has {idx_t.numel()} entries for {n} samples; give one per sample.")
    if bool((idx_t < 0).any()) or bool((idx_t >= k).any()):
        raise TargetError(f"target holds indices outside [0, {k}) for a model with {k} outputs.")
    return out2.gather(1, idx_t[:, None])[:, 0]


def last_leaf_kind(model: nn.Module, x: torch.Tensor) -> str | None:
    """Class name of the last leaf module that ran (to see whether the output is a probability)."""
    from tsexplain.network._hooks import require_module_tree

    require_module_tree(model)
    last: list[str] = []
    leaves = [m for m in model.modules() if not any(True for _ in m.children()) and m is not model]

    def hook(module: nn.Module, inp: Any, out: Any) -> None:
        last.append(type(module).__name__)

    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.no_grad():
            model(x[:1])
    finally:
        for h in handles:
            h.remove()
    return last[-1] if last else None


def resolve_task(task: str, out: torch.Tensor) -> str:
    """``"auto"``: several outputs -> multiclass, one output -> binary (pass "regression" explicitly)."""
    if task not in TASKS:
        raise ParameterError(f"task must be one of {TASKS}; got {task!r}.")
    k = as_2d(out).shape[1]
    if task == "auto":
        return "multiclass" if k > 1 else "binary"
    if task == "binary" and k != 1:
        raise ParameterError(f"task='binary' needs one output (a logit or probability); the model has {k}.")
    return task


def task_loss(
    out: torch.Tensor,
    y: torch.Tensor,
    task: str,
    *,
    probabilities: bool = False,
    reduction: str = "sum",
) -> torch.Tensor:
    """The training-style loss of ``out`` against ``y`` for the given task.

    binary: binary cross-entropy (on logits unless ``probabilities``); multiclass: cross-entropy
    (on logits unless ``probabilities``, then NLL of the log); regression: squared error.
    ``y`` is (N,) labels / values or (N, K) regression targets.
    """
    out2 = as_2d(out)
    if task == "binary":
        z = out2[:, 0]
        yy = y.to(z.dtype).reshape(-1)
        if probabilities:
            return F.binary_cross_entropy(z.clamp(1e-7, 1 - 1e-7), yy, reduction=reduction)
        return F.binary_cross_entropy_with_logits(z, yy, reduction=reduction)
    if task == "multiclass":
        yy = y.long().reshape(-1)
        if probabilities:
            return F.nll_loss(torch.log(out2.clamp_min(1e-12)), yy, reduction=reduction)
        return F.cross_entropy(out2, yy, reduction=reduction)
    yy = y.to(out2.dtype).reshape(out2.shape[0], -1).expand_as(out2)
    return F.mse_loss(out2, yy, reduction=reduction)


def predicted_label(out: torch.Tensor, task: str, probabilities: bool) -> torch.Tensor:
    """Predicted class per sample (binary: 0/1 from the logit or probability); regression: the value."""
    out2 = as_2d(out).detach()
    if task == "binary":
        thr = 0.5 if probabilities else 0.0
        return (out2[:, 0] > thr).long()
    if task == "multiclass":
        return out2.argmax(dim=1)
    return out2[:, 0] if out2.shape[1] == 1 else out2


def as_probability(out: torch.Tensor, task: str, probabilities: bool) -> torch.Tensor:
    """Class probabilities: (N,) of the positive class for binary, (N, K) for multiclass."""
    out2 = as_2d(out).detach()
    if task == "binary":
        return out2[:, 0] if probabilities else torch.sigmoid(out2[:, 0])
    if task == "multiclass":
        return out2 if probabilities else torch.softmax(out2, dim=1)
    raise ParameterError("probabilities exist only for classification tasks.")


def is_probability_output(model: nn.Module, x: torch.Tensor, probabilities: bool | None) -> bool:
    """Does the model end in Sigmoid/Softmax? (``probabilities`` overrides the guess.)"""
    if probabilities is not None:
        return bool(probabilities)
    return last_leaf_kind(model, x) in ("Sigmoid", "Softmax")


OUTPUTS = ("raw", "sigmoid", "softmax")


def apply_output(out: torch.Tensor, output: str, temperature: float = 1.0) -> torch.Tensor:
    """Turn logits into what should be explained: raw, ``sigmoid(z / T)`` or ``softmax(z / T)``."""
    if output == "raw":
        return out if temperature == 1.0 else out / temperature
    if output == "sigmoid":
        return torch.sigmoid(out / temperature)
    if output == "softmax":
        return torch.softmax(as_2d(out) / temperature, dim=1)
    raise ParameterError(f"output must be one of {OUTPUTS}; got {output!r}.")
