"""Inverse optimisation (TSViz Eq. 25-26): gradient descent on the input toward a target output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from tsexplain._deprecation import renamed_kwargs
from tsexplain._model_state import frozen_eval
from tsexplain._targets import target_indices
from tsexplain._task import TASK_CHOICES
from tsexplain._validation import (
    check_choice,
    check_float,
    check_int,
    check_model,
    check_series_batch,
)
from tsexplain.exceptions import ParameterError, TargetError
from tsexplain.network._model_inputs import series_alone
from tsexplain.network._output import as_2d, is_probability_output, task_loss, task_of


@dataclass
class InverseResult:
    """Path of an inverse optimisation.

    Attributes
    ----------
    x : torch.Tensor of shape (N, C, T)
        Final series.
    start : torch.Tensor of shape (N, C, T)
        Starting series.
    path : torch.Tensor of shape (S, N, C, T)
        Series recorded every ``record_every`` steps (first = start, last = final).
    path_steps : numpy.ndarray of shape (S,)
        Iteration number of each recorded series.
    outputs : torch.Tensor of shape (S, N, K)
        Model output (as returned by the model) along the path.
    losses : numpy.ndarray of shape (steps + 1,)
        Objective (target loss + penalties, summed over samples) at every iteration.
    output_before, output_after : torch.Tensor of shape (N, K)

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import inverse_optimize
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> res = inverse_optimize(net, 1.0, shape=(1, 2, 16), steps=50, alpha=0.1)
    >>> tuple(res.path.shape), res.path_steps.tolist(), res.losses.shape  # every 10th iterate
    ((6, 1, 2, 16), [0, 10, 20, 30, 40, 50], (51,))
    >>> torch.equal(res.path[0], res.start) and torch.equal(res.path[-1], res.x)
    True
    """

    x: torch.Tensor
    start: torch.Tensor
    path: torch.Tensor
    path_steps: np.ndarray
    outputs: torch.Tensor
    losses: np.ndarray
    output_before: torch.Tensor
    output_after: torch.Tensor


def _target_values(value: Any, n: int, task: str, out: torch.Tensor) -> torch.Tensor:
    """The desired output per sample: class indices (multiclass, the target rules) or values."""
    if value is None:
        raise ParameterError("inverse_optimize needs target_value= (the output to reach).")
    if task == "multiclass":
        return target_indices(value, out, where="inverse_optimize").to(out.device)
    if isinstance(value, str):
        raise TargetError(f"target_value must be a number or one number per series, got {value!r}")
    t = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)
    t = t.to(device=out.device)
    if t.ndim == 0:
        t = t.expand(n)
    if t.shape[0] != n:
        raise TargetError(f"target_value has {t.shape[0]} entries for {n} series; give one or N.")
    return t


@renamed_kwargs(target="target_value", iterations="steps")
@series_alone
def inverse_optimize(
    model: nn.Module,
    target_value: Any = None,
    *,
    shape: tuple[int, int, int] | None = None,
    x0: Any = None,
    task: Literal["auto", "binary", "multiclass", "regression"] | None = "auto",
    alpha: float = 0.01,
    steps: int = 1000,
    optimizer: Literal["sgd", "adam"] = "sgd",
    smoothness: float = 0.0,
    value_range: tuple[float, float] | None = None,
    range_weight: float = 1.0,
    record_every: int = 10,
    probabilities: bool | None = None,
    seed: int | None = 0,
) -> InverseResult:
    """Find an input the model maps to ``target_value`` by gradient descent on it (TSViz Eq. 25-26).

    Starting from ``x0`` (or a standard-normal draw of ``shape``), iterate
    ``x <- x - alpha * d/dx [ L(f(x), target_value) + penalties ]`` with the model's weights
    fixed. ``L`` is the task's training loss: binary cross-entropy (value = 0/1 or a probability),
    cross-entropy (value = class index) or squared error (value = any output value).

    Parameters
    ----------
    model : torch.nn.Module
    target_value : float, int, or sequence of N of them
        Desired output: probability/label for binary, class index for multiclass (the index
        rules of ``target=``: no negative or fractional index), value for regression.
        (Formerly ``target``, still accepted with a DeprecationWarning.)
    shape : (N, C, T), optional
        Shape of the random start (required without ``x0``).
    x0 : torch.Tensor or numpy.ndarray of shape (N, C, T), optional
        Start from this series instead (not modified).
    task : {"auto", "binary", "multiclass", "regression"}
        "auto" / None: several outputs -> multiclass; one output -> binary if ``target_value``
        holds only 0/1, else regression. Pass "binary" to reach a probability such as 0.7.
    alpha : float
        Step size (TSViz used 0.01 and 1000 iterations).
    steps : int
        Number of descent iterations (formerly ``iterations``).
    optimizer : {"sgd", "adam"}
        "sgd" is Eq. 26 literally; "adam" converges faster on badly scaled inputs.
    smoothness : float
        Weight of ``sum_t (x[t+1] - x[t])^2`` (keeps the series plausible).
    value_range : (float, float), optional
        Penalise values outside ``[lo, hi]`` with ``range_weight * sum(relu(x - hi)^2 + relu(lo - x)^2)``.
    range_weight : float
    record_every : int
        Keep every ``record_every``-th iterate in ``path``.
    probabilities : bool, optional
        Whether the model outputs probabilities (auto: it ends with Sigmoid/Softmax).
    seed : int, optional
        Seed of the random start.

    Returns
    -------
    InverseResult

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import inverse_optimize
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> res = inverse_optimize(net, 1.0, shape=(1, 2, 16), steps=50, alpha=0.1)  # toward class 1
    >>> bool(res.losses[-1] < res.losses[0]), bool(res.output_after > res.output_before)
    (True, True)
    >>> x0 = torch.zeros(2, 2, 16)
    >>> res = inverse_optimize(net, [0, 1], x0=x0, steps=5, smoothness=0.1)
    >>> tuple(res.x.shape), bool((x0 == 0).all())  # x0 is not modified
    ((2, 2, 16), True)
    """
    model = check_model(model)
    check_choice(task, "task", (*TASK_CHOICES, None))
    check_choice(optimizer, "optimizer", ("sgd", "adam"))
    alpha = check_float(alpha, "alpha", minimum=0.0, strict=True)
    steps = check_int(steps, "steps", minimum=0)
    record_every = check_int(record_every, "record_every", minimum=1)
    smoothness = check_float(smoothness, "smoothness", minimum=0.0)
    range_weight = check_float(range_weight, "range_weight", minimum=0.0)
    if x0 is not None:
        start = check_series_batch(x0, "x0").clone()
    else:
        if shape is None or len(shape) != 3:
            raise ParameterError("give x0 (N, C, T) or shape=(N, C, T) for a standard-normal start.")
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        start = torch.randn(tuple(int(s) for s in shape), generator=gen)
    n = start.shape[0]
    with frozen_eval(model):
        probs = is_probability_output(model, probabilities)
        with torch.no_grad():
            out0 = as_2d(model(start)).detach().clone()
        labels = None if isinstance(target_value, str) else target_value
        task_r = task_of(task, out0, labels=labels, model=model)
        y = _target_values(target_value, n, task_r, out0)
        x = start.clone().requires_grad_(True)
        opt = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)([x], lr=alpha)
        path, path_steps, outs, losses = [], [], [], []
        for it in range(steps + 1):
            out = model(x)
            loss = task_loss(out, y, task_r, probabilities=probs, reduction="sum")
            if smoothness > 0:
                loss = loss + smoothness * (x[..., 1:] - x[..., :-1]).pow(2).sum()
            if value_range is not None:
                lo, hi = value_range
                loss = loss + range_weight * (
                    torch.relu(x - hi).pow(2).sum() + torch.relu(lo - x).pow(2).sum()
                )
            losses.append(float(loss.detach()))
            if it % record_every == 0 or it == steps:
                path.append(x.detach().clone())
                path_steps.append(it)
                outs.append(as_2d(out).detach().clone())
            if it == steps:
                break
            opt.zero_grad(set_to_none=True)
            (g,) = torch.autograd.grad(loss, x)
            x.grad = g
            opt.step()
        final = x.detach().clone()
    return InverseResult(
        x=final,
        start=start,
        path=torch.stack(path),
        path_steps=np.asarray(path_steps),
        outputs=torch.stack(outs),
        losses=np.asarray(losses),
        output_before=out0,
        output_after=outs[-1],
    )
