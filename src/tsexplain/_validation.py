"""Checks at the public boundary: convert, check shapes and values, fail with clear messages.

Every public entry point calls one of these; the code behind them trusts what they return.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from tsexplain.exceptions import ParameterError, ShapeError

_SHAPE = "(N, C, T) = (samples, channels, time steps)"


def check_series_batch(
    x: Any,
    name: str = "x",
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
    allow_nonfinite: bool = False,
) -> torch.Tensor:
    """Return ``x`` as a float tensor of shape ``(N, C, T)``, or raise a clear error.

    Parameters
    ----------
    x : torch.Tensor or numpy.ndarray of shape (N, C, T)
        The batch of series.
    name : str
        The argument's name, used in messages.
    dtype : torch.dtype
        Floating dtype of the result (float64 inputs keep float64).
    device : torch.device or str, optional
        Device of the result; default: the input's device (CPU for arrays).
    allow_nonfinite : bool
        Accept NaN/Inf values.

    Returns
    -------
    torch.Tensor of shape (N, C, T)
        A detached tensor that does not share memory with a caller's tensor that requires grad.

    Raises
    ------
    TypeError
        ``x`` is not an array or tensor.
    ShapeError
        ``x`` does not have three dimensions, or one of them is empty.
    ValueError
        ``x`` holds NaN or Inf.
    """
    if isinstance(x, torch.Tensor):
        t = x.detach()
    elif isinstance(x, np.ndarray | list | tuple):
        arr = np.asarray(x)
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
        ):
            raise TypeError(
                f"{name} must hold numbers, got an array of dtype {arr.dtype}; expected a float "
                f"array of shape {_SHAPE}."
            )
        t = torch.from_numpy(np.ascontiguousarray(arr))
    else:
        raise TypeError(
            f"{name} must be a torch.Tensor or numpy.ndarray of shape {_SHAPE}, "
            f"got {type(x).__name__}."
        )
    if t.ndim != 3:
        hint = ""
        if t.ndim == 2:
            hint = (
                f" For univariate series of shape (N, T) add the channel axis: "
                f"{name}[:, None, :]. For one multivariate series of shape (C, T) add the sample "
                f"axis: {name}[None]."
            )
        elif t.ndim == 1:
            hint = f" For one univariate series of shape (T,) use {name}[None, None, :]."
        raise ShapeError(
            f"{name} must have 3 dimensions {_SHAPE}, got shape {tuple(t.shape)}.{hint}"
        )
    if min(t.shape) == 0:
        raise ShapeError(f"{name} has an empty dimension: shape {tuple(t.shape)}; expected {_SHAPE}.")
    target_dtype = t.dtype if t.dtype in (torch.float32, torch.float64) else dtype
    t = t.to(dtype=target_dtype, device=device if device is not None else t.device)
    if not allow_nonfinite and not bool(torch.isfinite(t).all()):
        n_bad = int((~torch.isfinite(t)).sum())
        raise ValueError(
            f"{name} contains {n_bad} NaN or Inf value(s); explanations need finite inputs. "
            f"Impute or drop them first."
        )
    n, c, steps = t.shape
    if c > steps and c > 16:
        warnings.warn(
            f"{name} has shape {tuple(t.shape)}: more channels ({c}) than time steps ({steps}). "
            f"If your data is channels-last (N, T, C), transpose it: {name}.transpose(1, 2).",
            UserWarning,
            stacklevel=3,
        )
    return t


def check_choice(value: Any, name: str, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise a :class:`ParameterError`."""
    allowed = tuple(allowed)
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise ParameterError(f"{name} must be one of {listed}; got {value!r}.")
    return value


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int, checking its type and lower bound."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ParameterError(f"{name} must be an integer, got {value!r}.")
    if minimum is not None and value < minimum:
        raise ParameterError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


def check_float(
    value: Any, name: str, *, minimum: float | None = None, strict: bool = False
) -> float:
    """Return ``value`` as a float, checking finiteness and lower bound (``> minimum`` if strict)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ParameterError(f"{name} must be a number, got {value!r}.")
    v = float(value)
    if not np.isfinite(v):
        raise ParameterError(f"{name} must be finite, got {value!r}.")
    if minimum is not None and (v <= minimum if strict else v < minimum):
        op = ">" if strict else ">="
        raise ParameterError(f"{name} must be {op} {minimum}, got {value}.")
    return v


def check_model(model: Any, name: str = "model") -> torch.nn.Module:
    """Check that ``model`` is a ``torch.nn.Module`` (callables are wrapped)."""
    if isinstance(model, torch.nn.Module):
        return model
    if callable(model):
        return _CallableModule(model)
    raise TypeError(f"{name} must be a torch.nn.Module or a callable, got {type(model).__name__}.")


class _CallableModule(torch.nn.Module):
    """Wrap a plain callable so it can be handled like a module."""

    def __init__(self, fn: Any) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)
