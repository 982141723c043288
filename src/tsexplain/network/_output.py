"""The task-specific losses, labels and probabilities of a model's output (network analyses).

Which output is explained is :mod:`tsexplain._targets`; which task a model solves is
:mod:`tsexplain._task`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from tsexplain._saturation import final_activation
from tsexplain._targets import flatten_output
from tsexplain._task import TASK_CHOICES, resolve_task
from tsexplain.exceptions import ParameterError, ShapeError, TargetError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def as_2d(out: torch.Tensor) -> torch.Tensor:
    """Model output as (N, K) (the core's :func:`~tsexplain._targets.flatten_output`)."""
    return flatten_output(out, out.shape[0] if out.ndim else 0)


def task_of(
    task: str | None, out: torch.Tensor, labels: object = None, model: nn.Module | None = None
) -> str:
    """The task of ``model`` whose output on a batch is ``out`` (see :mod:`tsexplain._task`)."""
    return resolve_task(task, as_2d(out).shape[1], labels, model=model)


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

    Raises
    ------
    ShapeError
        Labels of a classification task that are not one per sample (e.g. (N, K) targets).
    TargetError
        Multiclass labels that are not class indices ``0 .. K-1``; binary labels outside
        ``[0, 1]``.

    Examples
    --------
    >>> task_loss(torch.zeros(2, 3), torch.zeros(2, 3), "multiclass")
    Traceback (most recent call last):
    ...
    tsexplain.exceptions.ShapeError: multiclass labels are one class per sample, shape (N,) = (2,); got shape (2, 3) (targets of shape (N, K) are a regression's: task='regression')
    """
    out2 = as_2d(out)
    if task in ("binary", "multiclass") and y.numel() != out2.shape[0]:
        raise ShapeError(
            f"{task} labels are one class per sample, shape (N,) = ({out2.shape[0]},); got shape "
            f"{tuple(y.shape)} (targets of shape (N, K) are a regression's: task='regression')"
        )
    _check_labels(y, task, out2.shape[1])
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


def _check_labels(y: torch.Tensor, task: str, n_outputs: int) -> None:
    """Refuse labels a classification loss cannot take: not a class index ``0 .. K-1``
    (multiclass; the loss would raise an IndexError or truncate a fraction), outside ``[0, 1]``
    (binary cross-entropy of a 0/1 class or its probability)."""
    if task not in ("binary", "multiclass"):
        return
    yy = y.detach().reshape(-1).double()
    if task == "multiclass":
        bad = ~torch.isfinite(yy) | (yy < 0) | (yy >= n_outputs) | (yy != yy.floor())
        expected = f"class indices 0..{n_outputs - 1} (the model has {n_outputs} outputs)"
    else:
        bad = ~torch.isfinite(yy) | (yy < 0) | (yy > 1)
        expected = "0/1 classes (or probabilities in [0, 1]) for the model's one logit"
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise TargetError(
            f"{task} labels must be {expected}; got {yy[i].item():g} for sample {i} "
            f"({int(bad.sum())} of {yy.numel()} labels do not fit). For values to regress on, "
            f"pass task='regression'"
        )


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


def is_probability_output(model: nn.Module, probabilities: bool | None) -> bool:
    """Does the model end in Sigmoid/Softmax? (``probabilities`` overrides the guess.)"""
    if probabilities is not None:
        return bool(probabilities)
    return isinstance(final_activation(model), nn.Sigmoid | nn.Softmax)


class OneOutput(nn.Module):
    """``model`` restricted to one of its outputs: (N, C, T) -> (N, 1).

    Turns an analysis of the whole output (an attack that pushes the outputs up, an inverse
    optimisation toward a value) into one of output ``index``, e.g. one step of a forecaster.

    Parameters
    ----------
    model : torch.nn.Module
        Maps (N, C, T) to outputs of any shape with N rows (flattened to (N, K)).
    index : int
        The output kept, ``0 <= index < K``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(2 * 8, 3))
    >>> x = torch.randn(4, 2, 8)
    >>> bool(torch.equal(OneOutput(net, 2)(x), net(x)[:, 2:3]))
    True
    """

    def __init__(self, model: nn.Module, index: int) -> None:
        super().__init__()
        self.model = model
        self.index = int(index)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return as_2d(self.model(x))[:, self.index : self.index + 1]


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


__all__ = [
    "OUTPUTS",
    "OneOutput",
    "TASK_CHOICES",
    "apply_output",
    "as_2d",
    "as_probability",
    "is_probability_output",
    "predicted_label",
    "task_loss",
    "task_of",
]
