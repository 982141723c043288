"""``fit``: train one model with Adam (or AdamW), a validation split and early stopping."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from tsexplain._validation import check_bool, check_choice, check_float, check_int, check_model
from tsexplain.training._data import prepare_training_data, resolve_task, split_plan
from tsexplain.training._losses import activity_penalty, correct_count, task_loss

__all__ = ["fit", "TrainingHistory", "GENERIC_DEFAULTS"]

#: Settings used when neither the call nor the model's ``training_defaults`` give one.
GENERIC_DEFAULTS: dict[str, Any] = {
    "epochs": 20,
    "lr": 1e-3,
    "batch_size": 64,
    "patience": None,
    "window": 500,
    "lr_schedule": None,
    "weight_decay": 0.0,
    "activity_l2": 0.0,
    "optimizer": "adam",
}

#: Accepted values of ``lr_schedule``.
LR_SCHEDULES = (None, "cosine")

#: Accepted values of ``optimizer``: Adam with an L2 penalty added to the gradient, or AdamW
#: (Loshchilov & Hutter) with decoupled weight decay that shrinks every weight directly.
OPTIMIZERS = ("adam", "adamw")


def make_optimizer(params: Any, s: dict[str, Any]) -> torch.optim.Optimizer:
    """The optimizer named by ``s["optimizer"]`` with ``s["lr"]`` and ``s["weight_decay"]``.

    Both are element-wise, so members of a vectorized ensemble are updated exactly as alone.
    """
    cls = torch.optim.AdamW if s["optimizer"] == "adamw" else torch.optim.Adam
    return cls(params, lr=s["lr"], weight_decay=s["weight_decay"])


def make_scheduler(
    opt: torch.optim.Optimizer, schedule: str | None, epochs: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The per-epoch learning-rate scheduler of ``schedule`` (None: constant rate)."""
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    return None

_EVAL_CHUNK = 1024


@dataclass
class TrainingHistory:
    """What happened during training.

    Attributes
    ----------
    train_loss : list of float
        Mean task loss over the training batches of each epoch (without the activity penalty).
    val_loss : list of float
        Task loss on the validation split after each epoch (empty without validation).
    val_accuracy : list of float
        Validation accuracy after each epoch (classification tasks only).
    best_epoch : int or None
        Index of the epoch with the lowest validation loss (its weights are kept when
        ``restore_best``).
    stopped_early : bool
        Early stopping ended the training before ``epochs``.
    interrupted : bool
        Ctrl-C ended the training; the model holds the best (or last) weights reached.
    seconds : float
        Wall-clock training time.
    settings : dict
        The resolved settings (task, epochs, lr, batch_size, ...).

    Examples
    --------
    :func:`fit` returns one:

    >>> import torch
    >>> from tsexplain.models import AGRACNN
    >>> from tsexplain.training import fit
    >>> X, y = torch.randn(32, 2, 16), torch.randn(32)  # (N, C, T), (N,)
    >>> hist = fit(AGRACNN(length=16), X, y, epochs=3, batch_size=8, progress=False)
    >>> hist.epochs_run, len(hist.val_loss), hist.best_epoch in range(3), hist.stopped_early
    (3, 3, True, False)
    >>> hist.settings["task"], hist.settings["epochs"]
    ('regression', 3)
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    interrupted: bool = False
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def epochs_run(self) -> int:
        """Number of completed epochs."""
        return len(self.train_loss)


def resolve_settings(model: nn.Module, **given: Any) -> dict[str, Any]:
    """Merge generic defaults, the model's ``training_defaults`` and the explicit arguments."""
    settings = dict(GENERIC_DEFAULTS)
    settings.update(getattr(model, "training_defaults", {}) or {})
    settings.update({k: v for k, v in given.items() if v is not None})
    settings["epochs"] = check_int(settings["epochs"], "epochs", minimum=1)
    settings["batch_size"] = check_int(settings["batch_size"], "batch_size", minimum=1)
    settings["lr"] = check_float(settings["lr"], "lr", minimum=0.0, strict=True)
    settings["window"] = check_int(settings["window"], "window", minimum=1)
    if settings["patience"] is not None:
        settings["patience"] = check_int(settings["patience"], "patience", minimum=1)
    settings["weight_decay"] = check_float(settings["weight_decay"], "weight_decay", minimum=0.0)
    settings["activity_l2"] = check_float(settings["activity_l2"], "activity_l2", minimum=0.0)
    settings["seed"] = check_int(settings["seed"], "seed", minimum=0)
    check_choice(settings["lr_schedule"], "lr_schedule", LR_SCHEDULES)
    check_choice(settings["optimizer"], "optimizer", OPTIMIZERS)
    return settings


def batches(order: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """Consecutive batches of ``order``; a trailing batch of one sample is dropped (BatchNorm)."""
    out = list(torch.split(order, batch_size))
    if len(out) > 1 and out[-1].numel() == 1:
        out.pop()
    return out


def evaluate(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, task: str
) -> tuple[float, float | None]:
    """Task loss and accuracy (classification) of ``model`` in eval mode on ``(X, y)``."""
    model.eval()
    total, hits = 0.0, 0
    with torch.no_grad():
        for start in range(0, X.shape[0], _EVAL_CHUNK):
            xb, yb = X[start : start + _EVAL_CHUNK], y[start : start + _EVAL_CHUNK]
            out = model(xb)
            total += float(task_loss(out, yb, task)) * xb.shape[0]
            if task != "regression":
                hits += int(correct_count(out, yb, task))
    n = X.shape[0]
    return total / n, (hits / n if task != "regression" else None)


def fit(
    model: nn.Module,
    X: Any,
    y: Any = None,
    *,
    task: str | None = None,
    epochs: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    val_fraction: float = 0.1,
    patience: int | None = None,
    weight_decay: float | None = None,
    activity_l2: float | None = None,
    lr_schedule: str | None = None,
    optimizer: str | None = None,
    seed: int = 0,
    restore_best: bool = True,
    window: int | None = None,
    progress: bool = True,
) -> TrainingHistory:
    """Train ``model`` in place with Adam; return the history.

    Parameters
    ----------
    model : torch.nn.Module
        Takes ``(N, C, T)``. Left in eval mode at the end.
    X : array or tensor of shape (N, C, T), or a tsexplain dataset
        With a dataset (attributes ``X``, ``y``, ``train_mask``; leave ``y=None``) only the
        training part is used. A dataset holding one long recording ``X (1, C, T)`` with a
        time-wise ``train_mask (T,)`` (``make_ar_states``) is cut into windows of ``window``
        training steps, each with ``model.receptive_field - 1`` warm-up steps in front.
    y : array or tensor of shape (N,), (N, K) or (N, T)
        Targets: values for regression (NaN = ignored), 0/1 for binary, class indices
        ``0..K-1`` for multiclass. Reshaped to the model's output shape.
    task : {"regression", "binary", "multiclass"}, optional
        Loss: MSE, binary cross-entropy on one logit, cross-entropy on K logits. Default: the
        model's ``default_task`` (reference models), else inferred: K > 1 outputs and class
        indices in ``y`` -> multiclass; one output and ``y`` all 0/1 -> binary; else regression.
    epochs, lr, batch_size, patience, window, weight_decay, activity_l2 : optional
        Default: the model's ``training_defaults``, else 20, 1e-3, 64, None (no early stopping),
        500, 0, 0. ``patience`` stops after that many epochs without a lower validation loss.
    val_fraction : float
        Fraction of the (training) samples held out for validation; 0 disables validation.
    weight_decay : float
        Weight decay: an L2 penalty in the gradient with ``optimizer="adam"``, decoupled
        shrinkage with ``"adamw"``.
    optimizer : {"adam", "adamw"}, optional
        Default: the model's ``training_defaults``, else ``"adam"``. Adam normalises each
        weight's step, so weights that only ever see noise (inputs the task does not need) keep
        moving by about ``lr``; AdamW's decoupled decay pulls them to zero.
    activity_l2 : float
        Weight of the mean squared model output added to the loss (TSViz's activity
        regularisation on the last layer, against saturated, over-confident outputs).
    lr_schedule : {None, "cosine"}, optional
        None: constant ``lr``; ``"cosine"``: cosine annealing from ``lr`` to 0 over ``epochs``.
        Default: the model's ``training_defaults``, else None.
    seed : int
        Seeds the validation split, the batch order and dropout (the global torch RNG is
        restored afterwards). Initialise the model under your own seed before calling.
    restore_best : bool
        Keep the weights of the epoch with the lowest validation loss.
    progress : bool
        Show a tqdm progress bar over epochs.

    Returns
    -------
    TrainingHistory

    Raises
    ------
    ShapeError
        ``X`` is not ``(N, C, T)``, ``y`` does not fit, or the model fails on ``X``.
    ParameterError
        An option out of range, or labels that do not fit the task.

    Notes
    -----
    Ctrl-C during training stops it cleanly: the model keeps the best (or last) weights, the
    history says ``interrupted=True`` and a warning is issued.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.models import AGRACNN
    >>> X, y = torch.randn(64, 2, 32), torch.randn(64)
    >>> hist = fit(AGRACNN(length=32), X, y, epochs=2, progress=False)
    >>> len(hist.train_loss)
    2
    """
    model = check_model(model)
    restore_best = check_bool(restore_best, "restore_best")
    task = resolve_task(task, model, X, y)
    s = resolve_settings(
        model, epochs=epochs, lr=lr, batch_size=batch_size, patience=patience, window=window,
        weight_decay=weight_decay, activity_l2=activity_l2, seed=seed, lr_schedule=lr_schedule,
        optimizer=optimizer,
    )
    s.update(task=task, val_fraction=val_fraction)
    data = prepare_training_data(model, X, y, task, s["window"])
    plan = split_plan(data.X.shape[0], val_fraction, s["seed"])
    X_val, y_val = data.X[plan.val_idx], data.y[plan.val_idx]
    history = TrainingHistory(settings=s)
    opt = make_optimizer(model.parameters(), s)
    scheduler = make_scheduler(opt, s["lr_schedule"], s["epochs"])
    best_loss, best_state, wait = float("inf"), None, 0
    t0 = time.perf_counter()
    from tqdm.auto import tqdm

    bar = tqdm(range(s["epochs"]), desc=f"fit {type(model).__name__}", disable=not progress,
               leave=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(s["seed"])
        try:
            for epoch in bar:
                model.train()
                total, count = 0.0, 0
                for idx in batches(plan.epoch_order(), s["batch_size"]):
                    out = model(data.X[idx])
                    loss = task_loss(out, data.y[idx], task)
                    objective = loss
                    if s["activity_l2"] > 0:
                        objective = loss + s["activity_l2"] * activity_penalty(out)
                    opt.zero_grad(set_to_none=True)
                    objective.backward()
                    opt.step()
                    total += float(loss.detach()) * idx.numel()
                    count += idx.numel()
                history.train_loss.append(total / count)
                if scheduler is not None:
                    scheduler.step()
                postfix = {"loss": f"{history.train_loss[-1]:.4g}"}
                if X_val.shape[0]:
                    vloss, vacc = evaluate(model, X_val, y_val, task)
                    history.val_loss.append(vloss)
                    if vacc is not None:
                        history.val_accuracy.append(vacc)
                    postfix["val"] = f"{vloss:.4g}"
                    if vloss < best_loss:
                        best_loss, wait, history.best_epoch = vloss, 0, epoch
                        if restore_best:
                            best_state = {
                                k: v.detach().clone() for k, v in model.state_dict().items()
                            }
                    else:
                        wait += 1
                bar.set_postfix(postfix)
                if s["patience"] is not None and wait >= s["patience"]:
                    history.stopped_early = epoch + 1 < s["epochs"]
                    break
        except KeyboardInterrupt:
            history.interrupted = True
            warnings.warn(
                f"fit interrupted after {history.epochs_run} epoch(s); the model keeps the "
                f"{'best' if best_state is not None else 'last'} weights reached.",
                RuntimeWarning,
                stacklevel=2,
            )
        finally:
            bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history.seconds = time.perf_counter() - t0
    return history
