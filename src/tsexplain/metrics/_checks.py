"""Boundary checks shared by the metrics: convert to float64 numpy, check shapes, reduce."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from tsexplain.exceptions import ParameterError, ShapeError

Reduction = Literal["mean", "none"]

_SHAPE = "(N, C, T) = (samples, channels, time steps)"


def to_numpy(a: Any, name: str) -> np.ndarray:
    """Return ``a`` (array, tensor, attribution result or nested list) as a float64 array."""
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # torch.Tensor without importing torch
        a = a.detach().cpu().numpy()
    elif hasattr(a, "values") and not isinstance(a, np.ndarray | dict) and hasattr(a, "method"):
        a = a.values  # an attribution result object
        if hasattr(a, "detach"):
            a = a.detach().cpu().numpy()
    try:
        arr = np.asarray(a)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise TypeError(f"{name} must be array-like, got {type(a).__name__}.") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must hold numbers, got an array of dtype {arr.dtype}.")
    return arr.astype(np.float64, copy=False)


def as_batch(a: Any, name: str, *, allow_nonfinite: bool = False) -> np.ndarray:
    """Return ``a`` as a float64 array of shape ``(N, C, T)``, or raise :class:`ShapeError`."""
    arr = to_numpy(a, name)
    if arr.ndim != 3:
        hint = ""
        if arr.ndim == 2:
            hint = (
                f" For one series of shape (C, T) add the sample axis: {name}[None]; for "
                f"univariate series of shape (N, T) add the channel axis: {name}[:, None, :]."
            )
        raise ShapeError(f"{name} must have 3 dimensions {_SHAPE}, got shape {arr.shape}.{hint}")
    if min(arr.shape) == 0:
        raise ShapeError(f"{name} has an empty dimension: shape {arr.shape}; expected {_SHAPE}.")
    if not allow_nonfinite and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains {int((~np.isfinite(arr)).sum())} NaN or Inf value(s).")
    return arr


def as_single_map(a: Any, name: str) -> np.ndarray:
    """Return one attribution map of shape ``(C, T)``; ``(1, C, T)`` is squeezed."""
    arr = to_numpy(a, name)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise ShapeError(
            f"{name} must have shape (C, T) or (1, C, T) for one series, got shape {arr.shape}. "
            f"For a batch, call the metric once per series."
        )
    if min(arr.shape) == 0:
        raise ShapeError(f"{name} has an empty dimension: shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains {int((~np.isfinite(arr)).sum())} NaN or Inf value(s).")
    return arr


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise :class:`ShapeError` naming both shapes if ``a`` and ``b`` differ in shape."""
    if a.shape != b.shape:
        raise ShapeError(
            f"{name_a} and {name_b} must have the same shape, got {name_a}.shape = {a.shape} "
            f"and {name_b}.shape = {b.shape}."
        )


def as_mask(a: Any, name: str, like: np.ndarray, like_name: str) -> np.ndarray:
    """Return a boolean mask shaped like ``like`` (a ``(C, T)`` mask is broadcast over N)."""
    arr = to_numpy(a, name)
    if arr.ndim == like.ndim - 1 and arr.shape == like.shape[1:]:
        arr = np.broadcast_to(arr, like.shape)
    check_same_shape(like, arr, like_name, name)
    return arr != 0


def reduce(values: np.ndarray, reduction: Reduction) -> np.ndarray | float:
    """Average per-sample ``values`` (NaN-aware) or return them as they are."""
    if reduction == "none":
        return values
    if reduction == "mean":
        finite = values[~np.isnan(values)]
        return float(finite.mean()) if finite.size else float("nan")
    raise ParameterError(f"reduction must be one of 'mean', 'none'; got {reduction!r}.")
