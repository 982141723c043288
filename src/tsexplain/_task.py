"""What task a model solves (binary / multiclass / regression): the one task resolver.

Rules, used by network (pruning, faithfulness loss, adversarial, inverse optimisation), training
and the server:

- an explicit task always wins, if the model can solve it (a model's ``default_task`` attribute,
  as the reference models have, counts as explicit when no task is passed) (``"binary"`` needs one output,
  ``"multiclass"`` at least two); an impossible explicit task is a :class:`ParameterError`;
- otherwise (``None`` or ``"auto"``): K > 1 outputs -> ``"multiclass"`` (``"regression"`` when
  labels are given that are not one class index per sample, e.g. (N, K) values); K == 1 ->
  ``"binary"`` if labels are given and all lie in {0, 1}, else ``"regression"``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch

from tsexplain.exceptions import ParameterError

TaskName = Literal["binary", "multiclass", "regression"]
#: The tasks a model can solve.
TASKS: tuple[TaskName, ...] = ("binary", "multiclass", "regression")
#: Accepted values of a ``task=`` argument (``None`` / "auto": infer).
TASK_CHOICES = ("auto", *TASKS)


def _label_array(labels: Any) -> np.ndarray | None:
    arr = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if arr.dtype == object or arr.size == 0:
        return None
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        return None
    return arr.astype(np.float64)


def _labels_are_binary(labels: Any) -> bool:
    arr = _label_array(labels)
    if arr is None:
        return False
    finite = arr[np.isfinite(arr)]  # NaN marks ignored steps (training)
    return finite.size > 0 and bool(np.isin(finite, (0, 1)).all())


def _labels_are_class_indices(labels: Any) -> bool:
    arr = _label_array(labels)
    if arr is None:
        return False
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim > 1 and int(np.prod(arr.shape[1:])) != 1:
        return False
    return bool(np.isfinite(arr).all() and (arr >= 0).all() and (arr == np.floor(arr)).all())


def resolve_task(
    task: str | None, n_outputs: int, labels: Any = None, *, model: object = None
) -> TaskName:
    """The task of a model with ``n_outputs`` outputs per sample.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression", "auto"} or None
        An explicit task wins (if possible); None / "auto" infers it.
    n_outputs : int
        K, the size of each sample's output.
    labels : array-like, optional
        The labels or values the model is compared with, if any: for one output, labels all
        in {0, 1} make the task binary.
    model : torch.nn.Module, optional
        Its ``default_task`` attribute, if any, is used when ``task`` is None / "auto".

    Returns
    -------
    {"binary", "multiclass", "regression"}

    Raises
    ------
    ParameterError
        An unknown task, or an explicit task the model's output cannot have.

    Examples
    --------
    >>> resolve_task(None, 3), resolve_task(None, 1), resolve_task(None, 1, labels=[0, 1, 1])
    ('multiclass', 'regression', 'binary')
    >>> resolve_task("binary", 1)
    'binary'
    """
    if task is not None and task not in TASK_CHOICES:
        raise ParameterError(
            f"task must be one of {', '.join(map(repr, TASK_CHOICES))} or None; got {task!r}."
        )
    k = int(n_outputs)
    declared = getattr(model, "default_task", None)
    if task in (None, "auto") and declared in TASKS:
        task = declared
    if task in (None, "auto"):
        if k > 1:
            if labels is not None and not _labels_are_class_indices(labels):
                return "regression"
            return "multiclass"
        if labels is not None and _labels_are_binary(labels):
            return "binary"
        return "regression"
    if task == "binary" and k != 1:
        raise ParameterError(
            f"task='binary' needs one output per sample (a logit or probability); the model has "
            f"{k}. Use task='multiclass' for {k} class scores."
        )
    if task == "multiclass" and k < 2:
        raise ParameterError(
            "task='multiclass' needs one score per class (K >= 2 outputs); the model has one "
            "output. Use task='binary' for one logit, or 'regression'."
        )
    return next(name for name in TASKS if name == task)


__all__ = ["TASKS", "TASK_CHOICES", "TaskName", "resolve_task"]
