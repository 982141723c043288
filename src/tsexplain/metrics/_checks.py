"""Checks of the metrics beyond (N, C, T) (which is :func:`tsexplain._validation.check_series_array`)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from tsexplain._validation import check_single_map, to_float_array
from tsexplain.exceptions import ParameterError, ShapeError

Reduction = Literal["mean", "none"]

def as_single_map(a: Any, name: str) -> np.ndarray:
    """Return one attribution map of shape ``(C, T)``; ``(1, C, T)`` is squeezed."""
    return check_single_map(a, name, batch_hint="call the metric once per series")


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise :class:`ShapeError` naming both shapes if ``a`` and ``b`` differ in shape."""
    if a.shape != b.shape:
        raise ShapeError(
            f"{name_a} and {name_b} must have the same shape, got {name_a}.shape = {a.shape} "
            f"and {name_b}.shape = {b.shape}."
        )


def as_mask(a: Any, name: str, like: np.ndarray, like_name: str) -> np.ndarray:
    """Return a boolean mask shaped like ``like`` (a ``(C, T)`` mask is broadcast over N).

    The mask holds True/False or 1/0; any other value (NaN, a weight such as 0.5) is refused
    rather than read as True.

    Examples
    --------
    >>> as_mask([[0.0, 0.5]], "mask", np.zeros((1, 1, 2)), "attribution")
    Traceback (most recent call last):
    ...
    tsexplain.exceptions.ParameterError: mask must hold True/False or 1/0 (True on the informative cells); got 1 other value(s), e.g. 0.5.
    """
    arr = to_float_array(a, name)
    other = (arr != 0) & (arr != 1)
    if other.any():
        raise ParameterError(
            f"{name} must hold True/False or 1/0 (True on the informative cells); got "
            f"{int(other.sum())} other value(s), e.g. {arr[other][0]:g}."
        )
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
