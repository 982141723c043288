"""Turn what the user passes (arrays, tensors, a datasets dataclass) into training tensors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from tsexplain._model_state import frozen_eval
from tsexplain._task import TASKS
from tsexplain._task import resolve_task as core_resolve_task
from tsexplain._validation import array_as_tensor, check_choice, check_float, check_series_batch
from tsexplain.exceptions import InputTypeError, ParameterError, ShapeError, is_shape_mismatch


def resolve_task(task: str | None, model: nn.Module, X: Any = None, y: Any = None) -> str:
    """The task to train ``model`` for: the rule of :func:`tsexplain._task.resolve_task`.

    An explicit ``task`` wins, then the model's ``default_task``; otherwise the task is inferred
    from the model's number of outputs on ``X`` (K > 1: multiclass) and the labels ``y`` (one
    output and labels all in {0, 1}: binary; else regression). Without ``X`` the fallback is
    ``"regression"``.
    """
    if task is not None:
        check_choice(task, "task", (*TASKS, "auto"))
    declared = getattr(model, "default_task", None)
    if task not in (None, "auto") or declared in TASKS:
        return str(task if task not in (None, "auto") else declared)
    if X is None:
        return "regression"
    if y is None and hasattr(X, "X") and hasattr(X, "y"):
        X, y = X.X, X.y
    xs = check_series_batch(X, "X").to(torch.float32)[:2]
    with frozen_eval(model), torch.no_grad():
        out = model(xs)
    n_outputs = int(out[0].numel()) if isinstance(out, torch.Tensor) and out.ndim >= 1 else 1
    return core_resolve_task(None, n_outputs, labels=y)


def _as_numpy_or_tensor(a: Any, name: str) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu()
    try:
        arr = np.asarray(a)
    except Exception:  # noqa: BLE001 - anything not array-like
        raise InputTypeError(f"{name} must be an array or tensor, got {type(a).__name__}.") from None
    if arr.dtype == object:
        raise InputTypeError(f"{name} must hold numbers, got an object array.")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.iscomplexobj(arr):
        raise InputTypeError(
            f"{name} must hold real numbers, got an array of dtype {arr.dtype}; class labels are "
            f"integers 0..K-1 (names become those with np.unique({name}, return_inverse=True)[1])"
        )
    return array_as_tensor(arr)


def _true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of every run of True in a 1-D boolean array."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def time_windows(
    X: torch.Tensor, y: torch.Tensor, mask: np.ndarray, window: int, warmup: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut one long recording into training windows that lie inside the train steps.

    Parameters
    ----------
    X : torch.Tensor of shape (1, C, T)
    y : torch.Tensor of shape (1, T)
    mask : numpy.ndarray of bool, shape (T,)
        True on training steps. Windows never cross a False step.
    window : int
        Number of target steps per window.
    warmup : int
        Extra steps of input before each window's targets (receptive field - 1 of a causal
        model); their targets are set to NaN so the loss ignores them.

    Returns
    -------
    Xw : torch.Tensor of shape (n_windows, C, warmup + window')
    yw : torch.Tensor of shape (n_windows, warmup + window')
        NaN where a step is warm-up or is already covered by an earlier window.
    """
    runs = [(a, b) for a, b in _true_runs(mask) if b - a > warmup]
    if not runs:
        raise ShapeError(
            f"train_mask selects no run of more than {warmup} consecutive steps to train on."
        )
    shortest = min(b - a for a, b in runs)
    window = min(window, shortest - warmup)
    span = warmup + window
    xs, ys = [], []
    yf = y[0].to(torch.float32)
    for a, b in runs:
        covered = a + warmup  # targets before this are warm-up or done
        start = a
        while covered < b:
            start = min(covered - warmup, b - span)
            seg_y = yf[start : start + span].clone()
            seg_y[: covered - start] = float("nan")
            xs.append(X[0, :, start : start + span])
            ys.append(seg_y)
            covered = start + span
    return torch.stack(xs), torch.stack(ys)


@dataclass
class TrainingData:
    """Clean training tensors: ``X (N, C, T)`` float32 and ``y`` shaped like the model output."""

    X: torch.Tensor
    y: torch.Tensor


def prepare_training_data(
    model: nn.Module, X: Any, y: Any, task: str, window: int | None
) -> TrainingData:
    """Validate and convert ``(X, y)`` or a datasets dataclass into :class:`TrainingData`.

    A dataclass (anything with attributes ``X`` and ``y``; passed as ``X`` with ``y=None``)
    contributes its training part: ``train_mask`` of shape (N,) selects samples; for one long
    recording ``X (1, C, T)`` a ``train_mask`` of shape (T,) selects time steps, which are cut
    into windows (see :func:`time_windows`).
    """
    mask = None
    if y is None:
        if not (hasattr(X, "X") and hasattr(X, "y")):
            raise ParameterError(
                "y is missing: pass fit(model, X, y) with arrays, or a dataset object with "
                "attributes X, y (and train_mask) as the second argument."
            )
        mask = getattr(X, "train_mask", None)
        X, y = X.X, X.y
    xt = check_series_batch(X, "X").to(torch.float32)
    yt = _as_numpy_or_tensor(y, "y")
    n = xt.shape[0]
    if yt.ndim == 0 or yt.shape[0] != n:
        raise ShapeError(
            f"y must have one entry per sample along its first axis: X has {n} samples "
            f"(shape {tuple(xt.shape)}), y has shape {tuple(yt.shape)}."
        )
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape == (n,):
            keep = torch.from_numpy(mask)
            xt, yt = xt[keep], yt[keep]
            if xt.shape[0] == 0:
                raise ShapeError("train_mask selects no training sample.")
        elif n == 1 and mask.shape == (xt.shape[2],):
            if yt.shape != (1, xt.shape[2]):
                raise ShapeError(
                    f"a time-wise train_mask needs y of shape (1, T) = (1, {xt.shape[2]}), got "
                    f"{tuple(yt.shape)}."
                )
            warmup = int(getattr(model, "receptive_field", 1)) - 1
            xt, yt = time_windows(xt, yt, mask, window or 500, warmup)
        else:
            raise ShapeError(
                f"train_mask must have shape (N,) = ({n},) or, for one recording, (T,) = "
                f"({xt.shape[2]},); got {mask.shape}."
            )
    yt = _check_targets(model, xt, yt, task)
    return TrainingData(X=xt.contiguous(), y=yt.contiguous())


def _check_targets(model: nn.Module, X: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """Probe the model on 2 samples and shape ``y`` like its output (class indices: long)."""
    try:
        with frozen_eval(model), torch.no_grad():
            out = model(X[:2])
    except RuntimeError as exc:
        if not is_shape_mismatch(exc):
            raise  # out of memory, or a failure inside the model: not a user error
        raise ShapeError(
            f"The model fails on X of shape {tuple(X.shape)} (showing the first 2 samples): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(out, torch.Tensor) or out.ndim < 1:
        raise ShapeError("The model must return a tensor with a sample axis first.")
    per_sample = tuple(out.shape[1:])
    n = X.shape[0]
    if task == "multiclass":
        if len(per_sample) != 1 or per_sample[0] < 2:
            raise ShapeError(
                f"task='multiclass' needs logits of shape (N, K) with K >= 2; the model returns "
                f"{tuple(out.shape)}. For one logit use task='binary'."
            )
        if y.is_floating_point():
            if not bool(torch.all(y == torch.round(y))):
                raise ParameterError("task='multiclass' needs integer class indices in y.")
        y = y.reshape(n).to(torch.long)
        k = per_sample[0]
        if int(y.min()) < 0 or int(y.max()) >= k:
            found = sorted(set(y.unique().tolist()))[:10]
            raise ParameterError(
                f"class indices in y must lie in 0..{k - 1} for a model with {k} logits; found "
                f"{found}. Remap labels, e.g. np.unique(y, return_inverse=True)[1]."
            )
        return y
    y = y.to(torch.float32)
    if y[0].numel() != int(np.prod(per_sample, dtype=np.int64)):
        raise ShapeError(
            f"y of shape {tuple(y.shape)} does not fit the model output {tuple(out.shape)} "
            f"(one target per output value is needed)."
        )
    y = y.reshape(n, *per_sample)
    if task == "binary":
        if not bool(torch.all((y == 0) | (y == 1))):
            found = sorted(set(y.unique().tolist()))[:10]
            raise ParameterError(
                f"task='binary' needs labels 0/1 in y; found {found}. Map e.g. -1/1 with "
                f"(y > 0).astype(float)."
            )
    elif not bool(torch.isfinite(y).any()):
        raise ParameterError("y holds no finite target.")
    return y


@dataclass
class SplitPlan:
    """Which samples validate, and the order the others are visited in, for one seed."""

    train_idx: torch.Tensor
    val_idx: torch.Tensor
    rng: np.random.Generator

    def epoch_order(self) -> torch.Tensor:
        """The training indices in this epoch's random order."""
        perm = torch.from_numpy(self.rng.permutation(self.train_idx.numel()))
        return self.train_idx[perm]


def split_plan(n: int, val_fraction: float, seed: int) -> SplitPlan:
    """Random validation split and data-order generator, both from ``seed``."""
    val_fraction = check_float(val_fraction, "val_fraction", minimum=0.0)
    if val_fraction >= 1.0:
        raise ParameterError(f"val_fraction must be in [0, 1), got {val_fraction}.")
    rng = np.random.default_rng(seed)
    perm = torch.from_numpy(rng.permutation(n))
    n_val = int(round(val_fraction * n)) if val_fraction > 0 else 0
    if val_fraction > 0 and n_val == 0:
        n_val = 1
    if n - n_val < 1:
        raise ParameterError(f"val_fraction={val_fraction} leaves no training sample out of {n}.")
    return SplitPlan(train_idx=perm[n_val:], val_idx=perm[:n_val], rng=rng)


def member_seed(seed: int, index: int) -> int:
    """The seed of ensemble member ``index``; depends on (seed, index) only, not on n_models."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])
