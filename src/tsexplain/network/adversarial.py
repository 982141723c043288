"""Adversarial examples (TSViz Eq. 27-28): FGSM and iterative FGSM for classification and regression."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from tsexplain._model_state import frozen_eval
from tsexplain._targets import target_indices
from tsexplain._task import TASK_CHOICES
from tsexplain._typing import SeriesBatch
from tsexplain._validation import (
    check_choice,
    check_float,
    check_int,
    check_model,
    check_series_batch,
)
from tsexplain.exceptions import ParameterError, TargetError
from tsexplain.metrics.localization import channel_mass_share
from tsexplain.network._model_inputs import series_alone
from tsexplain.network._output import (
    as_2d,
    is_probability_output,
    predicted_label,
    task_loss,
    task_of,
)

Task = Literal["auto", "binary", "multiclass", "regression"] | None


@dataclass
class AdversarialResult:
    """An adversarial example and what it did.

    Attributes
    ----------
    x_adv : torch.Tensor of shape (N, C, T)
    perturbation : torch.Tensor of shape (N, C, T)
        ``x_adv - x``, within ``[-epsilon, epsilon]``.
    output_before, output_after : torch.Tensor of shape (N, K)
        Model output (logits/probabilities/values, as the model returns them).
    label_before, label_after : torch.Tensor of shape (N,)
        Predicted class (classification) or output value (regression).
    flipped : torch.Tensor of shape (N,), bool
        Prediction changed (classification only; all False for regression).
    channel_mass : torch.Tensor of shape (N, C)
        ``sum_t |perturbation|`` per channel: where the perturbation went.
    channel_share : torch.Tensor of shape (N, C)
        ``channel_mass`` divided by its row sum (:func:`tsexplain.metrics.channel_mass_share`;
        NaN for a sample whose perturbation is zero).
    steps : int
        Iterations actually run.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import fgsm
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x = torch.randn(3, 2, 16)
    >>> res = fgsm(net, x, epsilon=0.05, task="binary")  # returns an AdversarialResult
    >>> tuple(res.x_adv.shape), tuple(res.channel_share.shape), res.steps
    ((3, 2, 16), (3, 2), 1)
    >>> torch.allclose(res.x_adv - x, res.perturbation)
    True
    >>> res.label_before.tolist(), res.flipped.tolist()  # one logit: binary classes 0/1
    ([0, 0, 0], [False, False, False])
    """

    x_adv: torch.Tensor
    perturbation: torch.Tensor
    output_before: torch.Tensor
    output_after: torch.Tensor
    label_before: torch.Tensor
    label_after: torch.Tensor
    flipped: torch.Tensor
    channel_mass: torch.Tensor
    channel_share: torch.Tensor
    steps: int


def _labels(y: Any, n: int, default: torch.Tensor, task: str, out: torch.Tensor) -> torch.Tensor:
    """``y`` as one label (class index, 0/1, or value) per sample; ``default`` when None.

    Class indices follow the target rules of :mod:`tsexplain._targets` (no negative, fractional
    or out-of-range index; ``"predicted"`` is the model's own prediction).
    """
    if y is None or (isinstance(y, str) and y == "predicted"):
        return default
    if task == "multiclass":
        return target_indices(y, out, where="fgsm's y (one label per sample)")
    if isinstance(y, str):
        raise TargetError(f"y must be labels or values (or 'predicted'), got {y!r}")
    t = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
    if t.ndim == 0:
        t = t.expand(n)
    if t.shape[0] != n:
        raise TargetError(f"y has {t.shape[0]} entries for {n} series; give one or N.")
    if task == "binary" and not bool(((t == 0) | (t == 1)).all()):
        raise TargetError(f"y must hold 0/1 labels for a binary model, got {t.tolist()[:10]}")
    return t


def _objective(out: torch.Tensor, y: torch.Tensor | None, task: str, probs: bool) -> torch.Tensor:
    """The loss whose input gradient's sign drives the attack.

    For a binary logit and 0/1 labels, d BCE(z, y) / dx = (sigmoid(z) - y) dz/dx, a positive
    multiple of -(2y - 1) dz/dx: the sign is the same, so ``-(2y - 1) z`` is used. It gives
    exactly TSViz's FGSM step but does not vanish when sigmoid(z) rounds to 0 or 1 (saturation,
    TSViz Proposition 1), where the BCE gradient is exactly zero in floating point.
    """
    if y is None:  # regression without a reference value: push the output up
        return as_2d(out).sum()
    if task == "binary" and not probs:
        yy = y.reshape(-1).to(out.dtype)
        if bool(((yy == 0) | (yy == 1)).all()):
            return -((2 * yy - 1) * as_2d(out)[:, 0]).sum()
    return task_loss(out, y, task, probabilities=probs, reduction="sum")


def _run(
    model: nn.Module,
    x: SeriesBatch,
    epsilon: float,
    alpha: float,
    steps: int,
    y: Any,
    targeted: bool,
    task: str | None,
    probabilities: bool | None,
    stop_on_flip: bool,
    clip: tuple[float, float] | None,
) -> AdversarialResult:
    model = check_model(model)
    xt = check_series_batch(x, "x")
    check_choice(task, "task", (*TASK_CHOICES, None))
    n = xt.shape[0]
    with frozen_eval(model):
        probs = is_probability_output(model, probabilities)
        with torch.no_grad():
            out0 = as_2d(model(xt)).detach().clone()
        given = None if y is None or isinstance(y, str) else y
        task_r = task_of(task, out0, labels=given, model=model)
        lab0 = predicted_label(out0, task_r, probs)
        if task_r == "regression":
            yy = None if y is None else _labels(y, n, lab0, task_r, out0)
            if targeted and yy is None:
                raise ParameterError("a targeted regression attack needs y (the value to reach).")
        else:
            if targeted and y is None:
                raise ParameterError("a targeted attack needs y (the class to reach).")
            yy = _labels(y, n, lab0, task_r, out0)
        sign = -1.0 if targeted else 1.0
        x_adv = xt.clone()
        delta = torch.zeros_like(xt)
        done = 0
        for _ in range(steps):
            xg = x_adv.clone().requires_grad_(True)
            loss = _objective(model(xg), yy, task_r, probs)
            (g,) = torch.autograd.grad(loss, xg)
            step = (sign * alpha) * torch.sign(g)
            if steps == 1:
                delta = step  # FGSM: exactly epsilon * sign(gradient)
            else:
                delta = torch.clamp(x_adv + step - xt, -epsilon, epsilon)
            x_adv = xt + delta
            if clip is not None:
                x_adv = x_adv.clamp(clip[0], clip[1])
                delta = x_adv - xt
            done += 1
            if stop_on_flip and task_r != "regression":
                with torch.no_grad():
                    lab = predicted_label(model(x_adv), task_r, probs)
                if bool((lab != lab0).all()):
                    break
        with torch.no_grad():
            out1 = as_2d(model(x_adv)).detach().clone()
    pert = delta
    lab1 = predicted_label(out1, task_r, probs)
    flipped = (lab1 != lab0) if task_r != "regression" else torch.zeros(n, dtype=torch.bool)
    if flipped.ndim > 1:
        flipped = flipped.any(dim=1)
    mass = pert.abs().sum(dim=2)
    share = torch.from_numpy(channel_mass_share(pert, reduction="none")).to(mass.dtype)
    return AdversarialResult(
        x_adv=x_adv.detach(),
        perturbation=pert.detach(),
        output_before=out0,
        output_after=out1,
        label_before=lab0,
        label_after=lab1,
        flipped=flipped,
        channel_mass=mass,
        channel_share=share,
        steps=done,
    )


@series_alone
def fgsm(
    model: nn.Module,
    x: SeriesBatch,
    epsilon: float = 0.1,
    *,
    y: Any = None,
    targeted: bool = False,
    task: Task = "auto",
    probabilities: bool | None = None,
    clip: tuple[float, float] | None = None,
) -> AdversarialResult:
    """Fast gradient sign method (TSViz Eq. 27): ``x_adv = x + epsilon * sign(d L(f(x), y) / d x)``.

    Parameters
    ----------
    model : torch.nn.Module
    x : torch.Tensor or numpy.ndarray of shape (N, C, T)
    epsilon : float
        Size of the step in every coordinate.
    y : label(s) or value(s), optional
        Untargeted: the label whose loss is increased (default: the model's own prediction).
        Targeted: the label (or regression value) to move toward; the step is then
        ``- epsilon * sign(grad)``. Regression without ``y`` increases the output.
    targeted : bool
    task : {"auto", "binary", "multiclass", "regression"}
        "auto": several outputs -> multiclass; one output -> binary if ``y`` holds only 0/1
        labels, else regression (pass "binary" for an attack on one logit without ``y``).
    probabilities : bool, optional
        Model outputs probabilities (auto-detected from a final Sigmoid/Softmax).
    clip : (float, float), optional
        Keep ``x_adv`` inside this value range (applied after the step).

    Returns
    -------
    AdversarialResult
        ``perturbation`` equals ``epsilon * sign(gradient)`` exactly (unless ``clip`` bites).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import fgsm
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x = torch.randn(3, 2, 16)
    >>> res = fgsm(net, x, epsilon=0.05, task="binary")
    >>> bool((res.perturbation.abs() <= 0.05).all())  # the perturbation is within epsilon
    True
    >>> bool((res.output_after > res.output_before).all())  # class 0 predicted: logits pushed up
    True
    """
    epsilon = check_float(epsilon, "epsilon", minimum=0.0)
    return _run(model, x, epsilon, epsilon, 1, y, targeted, task, probabilities, False, clip)


@series_alone
def iterative_fgsm(
    model: nn.Module,
    x: SeriesBatch,
    epsilon: float = 0.1,
    *,
    alpha: float = 1e-4,
    steps: int = 1000,
    y: Any = None,
    targeted: bool = False,
    task: Task = "auto",
    probabilities: bool | None = None,
    stop_on_flip: bool = False,
    clip: tuple[float, float] | None = None,
) -> AdversarialResult:
    """Iterative FGSM (TSViz Eq. 28): ``x_{t+1} = Clip_{x,eps}(x_t + alpha * sign(grad_x L(f(x_t), y)))``.

    Starts at ``x``; every iterate stays within ``[-epsilon, epsilon]`` of the original in every
    coordinate. TSViz used ``alpha=1e-4, epsilon=0.1, steps=1000`` (the defaults).

    Parameters
    ----------
    model, x, y, targeted, task, probabilities, clip
        As in :func:`fgsm`.
    epsilon : float
        Bound of the perturbation (infinity norm).
    alpha : float
        Step per iteration.
    steps : int
    stop_on_flip : bool
        Stop once every sample's predicted class has changed (classification).

    Returns
    -------
    AdversarialResult

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import iterative_fgsm
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x = torch.randn(3, 2, 16)
    >>> res = iterative_fgsm(net, x, epsilon=0.05, alpha=0.01, steps=20, task="binary")
    >>> res.steps, bool((res.perturbation.abs() <= 0.05).all())  # every iterate within epsilon
    (20, True)
    >>> bool((res.output_after > res.output_before).all())
    True
    """
    epsilon = check_float(epsilon, "epsilon", minimum=0.0)
    alpha = check_float(alpha, "alpha", minimum=0.0, strict=True)
    steps = check_int(steps, "steps", minimum=1)
    if steps == 1:  # one step of size alpha, clipped to epsilon: plain FGSM
        return _run(model, x, epsilon, min(alpha, epsilon), 1, y, targeted, task, probabilities, False, clip)
    return _run(model, x, epsilon, alpha, steps, y, targeted, task, probabilities, stop_on_flip, clip)
