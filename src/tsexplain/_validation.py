"""Checks at the public boundary: convert, check shapes and values, fail with clear messages.

Every public entry point calls one of these; the code behind them trusts what they return.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from tsexplain.exceptions import (
    InputTypeError,
    ModelOutputError,
    NonFiniteError,
    ParameterError,
    ShapeError,
)

SERIES_SHAPE = "(N, C, T) = (samples, channels, time steps)"
_SHAPE = SERIES_SHAPE


def series_shape_problem(shape: tuple[int, ...], name: str, dtype: object = None) -> str | None:
    """The one (N, C, T) message: ``None`` if ``shape`` is a valid batch shape, else the error text.

    The text names the argument, the shape (and dtype) seen, the expected (N, C, T), and how to
    fix the common mistakes (a 2-D or 1-D array; channels-last data is warned about separately
    by :func:`warn_if_channels_last`).
    """
    shown = str(dtype).replace("torch.", "")
    seen = f"shape {tuple(shape)}" + (f" of dtype {shown}" if dtype is not None else "")
    if len(shape) != 3:
        hint = ""
        if len(shape) == 2:
            hint = (
                f" For univariate series of shape (N, T) add the channel axis: {name}[:, None, :]; "
                f"for one multivariate series of shape (C, T) add the sample axis: {name}[None]."
            )
        elif len(shape) == 1:
            hint = f" For one univariate series of shape (T,) use {name}[None, None, :]."
        elif len(shape) == 4:
            hint = " Per-output results (N, K, C, T) must be split per output first."
        return f"{name} must have 3 dimensions {SERIES_SHAPE}, got {seen}.{hint}"
    if min(shape) == 0:
        return f"{name} has an empty dimension: {seen}; expected {SERIES_SHAPE} with N, C, T >= 1."
    return None


def warn_if_channels_last(shape: tuple[int, ...], name: str, *, stacklevel: int = 3) -> None:
    """Warn when an (N, C, T) batch looks channels-last (many more channels than time steps)."""
    _, c, steps = shape
    if c > steps and c > 16:
        hint = channels_last_hint(name)
        warnings.warn(
            f"{name} has shape {tuple(shape)}: more channels ({c}) than time steps ({steps}). "
            f"{hint[0].upper()}{hint[1:]}.",
            UserWarning,
            stacklevel=stacklevel + 1,
        )


def channels_last_hint(name: str) -> str:
    """The one advice for a batch that may be channels-last, (N, T, C) instead of (N, C, T).

    Examples
    --------
    >>> channels_last_hint("x")
    'if x is channels-last (N, T, C), transpose it: x.transpose(1, 2)'
    """
    return f"if {name} is channels-last (N, T, C), transpose it: {name}.transpose(1, 2)"


def _nonfinite_message(name: str, n_bad: int) -> str:
    return (
        f"{name} contains {n_bad} NaN or Inf value(s); expected finite numbers. "
        f"Impute or drop them first."
    )


def _not_numeric_message(name: str, what: str, shape: str = SERIES_SHAPE) -> str:
    return f"{name} must hold numbers, got {what}; expected a float array of shape {shape}."


def check_series_batch(
    x: Any,
    name: str = "x",
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
    allow_nonfinite: bool = False,
) -> torch.Tensor:
    """Return ``x`` as a float tensor of shape ``(N, C, T)``, or raise a clear error.

    This is the one (N, C, T) check of the package (:func:`check_series_array` is the same check
    returning a float64 numpy array).

    Parameters
    ----------
    x : torch.Tensor, numpy.ndarray or nested list of shape (N, C, T)
        The batch of series: real numbers (bool, integer or floating, the same rule for numpy
        and torch); complex and non-numeric values are refused.
    name : str
        The argument's name, used in messages.
    dtype : torch.dtype
        Floating dtype of the result for bool, integer and float16 input (float32 and float64
        inputs keep theirs; the attribution methods then cast to the model's dtype).
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
    InputTypeError
        ``x`` is not an array or tensor of numbers (a ``TypeError``).
    ShapeError
        ``x`` does not have three dimensions, or one of them is empty.
    NonFiniteError
        ``x`` holds NaN or Inf (a ``ValueError``).

    Examples
    --------
    >>> import numpy as np
    >>> check_series_batch(np.zeros((2, 3, 8))).shape
    torch.Size([2, 3, 8])
    >>> check_series_batch(np.zeros((2, 8)))
    Traceback (most recent call last):
    ...
    tsexplain.exceptions.ShapeError: x must have 3 dimensions (N, C, T) = (samples, channels, time steps), got shape (2, 8) of dtype float64. For univariate series of shape (N, T) add the channel axis: x[:, None, :]; for one multivariate series of shape (C, T) add the sample axis: x[None].
    """
    if isinstance(x, torch.Tensor):
        t = x.detach()
        if t.is_complex():
            raise InputTypeError(_not_numeric_message(name, f"a tensor of dtype {t.dtype}"))
    elif isinstance(x, np.ndarray | list | tuple):
        t = array_as_tensor(_numeric_array(x, name))
    else:
        raise InputTypeError(
            f"{name} must be a torch.Tensor or numpy.ndarray of shape {SERIES_SHAPE}, "
            f"got {type(x).__name__}."
        )
    problem = series_shape_problem(tuple(t.shape), name, t.dtype)
    if problem:
        raise ShapeError(problem)
    target_dtype = t.dtype if t.dtype in (torch.float32, torch.float64) else dtype
    t = t.to(dtype=target_dtype, device=device if device is not None else t.device)
    if not allow_nonfinite and not bool(torch.isfinite(t).all()):
        raise NonFiniteError(_nonfinite_message(name, int((~torch.isfinite(t)).sum())))
    warn_if_channels_last(tuple(t.shape), name)
    return t


def array_as_tensor(arr: np.ndarray) -> torch.Tensor:
    """A numpy array as a CPU tensor, sharing its memory when the array is C-contiguous and
    writable, else from a copy.

    A read-only array (``np.load(..., mmap_mode="r")``, ``arr.setflags(write=False)``) is
    copied: ``torch.from_numpy`` would share memory that must not be written and warn about it.

    Examples
    --------
    >>> a = np.zeros((2, 3, 4)); a.setflags(write=False)
    >>> array_as_tensor(a).shape
    torch.Size([2, 3, 4])
    """
    arr = np.ascontiguousarray(arr)
    if not arr.flags.writeable:
        arr = arr.copy()
    return torch.from_numpy(arr)


def _numeric_array(x: Any, name: str, shape: str = SERIES_SHAPE) -> np.ndarray:
    """``x`` as a numpy array of real numbers (bool, integer or floating), else an
    :class:`InputTypeError` naming ``name`` and the expected ``shape``."""
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError):
        raise InputTypeError(
            _not_numeric_message(name, "a ragged sequence, not a rectangular array", shape)
        ) from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise InputTypeError(_not_numeric_message(name, f"an array of dtype {arr.dtype}", shape))
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise InputTypeError(_not_numeric_message(name, f"an array of dtype {arr.dtype}", shape))
    return arr


def to_float_array(a: Any, name: str) -> np.ndarray:
    """``a`` (array, tensor, attribution result or nested list) as a float64 numpy array."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    elif hasattr(a, "values") and hasattr(a, "method") and not isinstance(a, np.ndarray | dict):
        a = a.values  # an AttributionResult
        if isinstance(a, torch.Tensor):
            a = a.detach().cpu().numpy()
    arr = _numeric_array(a, name).astype(np.float64, copy=False)
    return arr if arr.flags.writeable else arr.copy()  # torch.as_tensor warns on read-only arrays


def check_series_array(a: Any, name: str = "x", *, allow_nonfinite: bool = False) -> np.ndarray:
    """The (N, C, T) check of :func:`check_series_batch`, returning a float64 numpy array.

    Accepts arrays, tensors, nested lists and attribution results (their ``values``).

    Examples
    --------
    >>> check_series_array([[[1, 2, 3]]]).dtype
    dtype('float64')
    """
    arr = to_float_array(a, name)
    problem = series_shape_problem(arr.shape, name, arr.dtype)
    if problem:
        raise ShapeError(problem)
    if not allow_nonfinite and not np.isfinite(arr).all():
        raise NonFiniteError(_nonfinite_message(name, int((~np.isfinite(arr)).sum())))
    warn_if_channels_last(arr.shape, name)
    return arr


def check_single_map(
    a: Any, name: str, *, shape: str = "(C, T)", batch_hint: str = "call it once per series"
) -> np.ndarray:
    """One 2-D map of one series (``(1, a, b)`` is squeezed) as a finite float64 array.

    Parameters
    ----------
    a : array-like or tensor of shape ``shape`` or (1, ...)
    name : str
        The argument's name, used in messages.
    shape : str
        How the two axes are called in messages, e.g. "(C, T)" or "(F, T')".
    batch_hint : str
        What to do with a batch, appended to the wrong-shape message.

    Examples
    --------
    >>> check_single_map([[[1, 2], [3, 4]]], "attribution").shape
    (2, 2)
    """
    arr = to_float_array(a, name)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise ShapeError(
            f"{name} must have shape {shape} or (1, ...) for one series, got shape {arr.shape}; "
            f"for a batch, {batch_hint}."
        )
    if min(arr.shape) == 0:
        raise ShapeError(f"{name} has an empty dimension: shape {arr.shape}; expected {shape}.")
    if not np.isfinite(arr).all():
        raise NonFiniteError(_nonfinite_message(name, int((~np.isfinite(arr)).sum())))
    return arr


def check_additional_inputs(
    additional: Any, x: torch.Tensor, dtype: torch.dtype, name: str = "additional_inputs"
) -> tuple[torch.Tensor, ...]:
    """A model's further inputs as tensors on ``x``'s device, each with one row per series.

    The one check of ``additional_inputs`` (the attribution methods, the faithfulness curves, the
    command line's model check): the model is called as ``model(x, *additional_inputs)``.

    Parameters
    ----------
    additional : None, tensor, array, or sequence of tensors / arrays, each of shape (N, ...)
        None: no further input.
    x : torch.Tensor of shape (N, C, T)
        The series the inputs go with.
    dtype : torch.dtype
        Floating inputs are converted to it (the model's dtype), as ``x`` is; integer and bool
        inputs keep their dtype (they may be indices of an embedding), so a model that reads
        them as numbers needs them given as floats.
    name : str
        The argument's name, used in messages.

    Returns
    -------
    tuple of torch.Tensor, each of shape (N, ...)

    Raises
    ------
    ParameterError
        An item is not a tensor or array.
    InputTypeError
        An item does not hold real numbers (complex, strings, objects).
    ShapeError
        An item does not have N rows.
    NonFiniteError
        A floating item holds NaN or Inf (named ``additional_inputs[i]``).

    Examples
    --------
    >>> x = torch.zeros(4, 2, 8)  # (N, C, T)
    >>> [tuple(a.shape) for a in check_additional_inputs(np.ones((4, 3)), x, torch.float32)]
    [(4, 3)]
    >>> check_additional_inputs([np.ones((5, 3))], x, torch.float32)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tsexplain.exceptions.ShapeError: additional_inputs[0] has shape (5, 3); expected a leading ...
    """
    if additional is None:
        return ()
    items = [additional] if isinstance(additional, torch.Tensor | np.ndarray) else list(additional)
    out = []
    for i, a in enumerate(items):
        if not isinstance(a, torch.Tensor | np.ndarray):
            raise ParameterError(
                f"{name}[{i}] must be a tensor or array with one row per series, "
                f"got {type(a).__name__}"
            )
        item = f"{name}[{i}]"
        if isinstance(a, np.ndarray):
            t = array_as_tensor(_numeric_array(a, item, "(N, ...)")).to(x.device)
        elif a.is_complex():
            raise InputTypeError(_not_numeric_message(item, f"a tensor of dtype {a.dtype}", "(N, ...)"))
        else:
            t = a.to(x.device)
        problem = additional_rows_problem(tuple(t.shape), tuple(x.shape), item)
        if problem:
            raise ShapeError(problem)
        if t.is_floating_point():
            t = t.to(dtype)
            if not bool(torch.isfinite(t).all()):
                raise NonFiniteError(_nonfinite_message(item, int((~torch.isfinite(t)).sum())))
        out.append(t)
    return tuple(out)


def additional_rows_problem(shape: tuple[int, ...], x_shape: tuple[int, ...], name: str) -> str | None:
    """What is wrong with a further model input of ``shape`` next to series of ``x_shape`` (N, C, T),
    or None: it needs one row per series.

    Examples
    --------
    >>> additional_rows_problem((5, 3), (4, 2, 8), "additional_inputs[0]")
    'additional_inputs[0] has shape (5, 3); expected a leading dimension of N=4 (one row per series of x (4, 2, 8))'
    >>> additional_rows_problem((4, 3), (4, 2, 8), "static") is None
    True
    """
    if len(shape) == 0 or shape[0] != x_shape[0]:
        return (f"{name} has shape {tuple(shape)}; expected a leading dimension of N={x_shape[0]} "
                f"(one row per series of x {tuple(x_shape)})")
    return None


def check_choice(value: Any, name: str, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise a :class:`ParameterError`."""
    allowed = tuple(allowed)
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise ParameterError(f"{name} must be one of {listed}; got {value!r}.")
    return value


def is_bool(value: Any) -> bool:
    """Whether ``value`` is a boolean: a Python bool or a ``numpy.bool_`` (as numpy integer and
    floating scalars are numbers for :func:`check_int` and :func:`check_float`). ``1``/``0``,
    strings such as ``"false"``, None and tensors are not.

    The one rule of what a boolean parameter takes; the command line reads words into booleans
    first, the server takes JSON ``true``/``false``.
    """
    return isinstance(value, bool | np.bool_)


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` as a bool if :func:`is_bool`, else raise a :class:`ParameterError`
    naming ``name``, the value and the expected form.

    Examples
    --------
    >>> check_bool(np.bool_(True), "absolute")
    True
    >>> check_bool("maybe", "absolute")
    Traceback (most recent call last):
    ...
    tsexplain.exceptions.ParameterError: absolute must be True or False, got 'maybe'.
    """
    if not is_bool(value):
        raise ParameterError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


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


def model_channels_problem(model: Any, shape: tuple[int, ...], name: str = "x") -> str | None:
    """The one check of a batch's channel count against the count its model declares: ``None``
    if they agree (or the model declares none), else the error text.

    The text names the argument, its channel count and shape read as (N, C, T), the count the
    model expects and where the model says so (:func:`tsexplain.io.models.declared_channels`:
    an exported program's input shape, the weights of a traced recurrent layer).

    Parameters
    ----------
    model : torch.nn.Module
        The model the batch is for.
    shape : tuple of int
        The batch's shape, (N, C, T); other numbers of dimensions are not checked here.
    name : str
        The argument's name, used in messages.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.io import load_any_model
    >>> net = torch.nn.Sequential(torch.nn.Conv1d(3, 4, 5), torch.nn.AdaptiveAvgPool1d(1),
    ...                           torch.nn.Flatten(), torch.nn.Linear(4, 2))
    >>> program = torch.export.export(net, (torch.zeros(2, 3, 16),),
    ...                               dynamic_shapes=({0: torch.export.Dim("batch")},))
    >>> model = load_any_model(program).module
    >>> model_channels_problem(model, (8, 3, 16)) is None
    True
    >>> print(model_channels_problem(model, (8, 4, 16)))  # doctest: +NORMALIZE_WHITESPACE
    x has 4 channels, shape (8, 4, 16) read as (N, C, T) = (samples, channels, time steps);
    the model expects 3 channels (it was exported for inputs of shape (N, 3, 16))
    """
    from tsexplain.io.models import declared_channels

    if len(shape) != 3:
        return None
    declared = declared_channels(model)
    if declared is None or int(shape[1]) == declared[0]:
        return None
    expected, where = declared
    hint = f"; {channels_last_hint(name)}" if int(shape[2]) == expected else ""
    return (f"{name} has {shape[1]} channels, shape {tuple(int(d) for d in shape)} read as "
            f"{SERIES_SHAPE}; the model expects {expected} channels ({where}){hint}")


def check_model_channels(model: Any, x: Any, name: str = "x") -> None:
    """Refuse a batch ``x`` of shape (N, C, T) whose C differs from the channel count ``model``
    declares (:func:`model_channels_problem`), before any forward pass.

    Called by the forward pass of every model :func:`tsexplain.io.load_any_model` loads from a
    ``.pt2`` or TorchScript file (whose recurrent operations would read out of bounds) and by
    the attribution methods (for a module of ``ExportedProgram.module()``). A tensor that is not
    (N, C, T) (e.g. one sample inside ``torch.func.vmap``) is not checked.

    Raises
    ------
    ShapeError
        With the expected channel count and the (N, C, T) rule.
    """
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) != 3:
        return
    problem = model_channels_problem(model, tuple(shape), name)
    if problem is not None:
        raise ShapeError(problem)


def model_call_error(
    model: Any, err: BaseException, x: torch.Tensor, additional: tuple[torch.Tensor, ...], where: str,
    name: str = "x", *, transpose_hint: bool = True,
) -> ModelOutputError | None:
    """The user error that ``model(x, *additional)`` raising ``err`` stands for: an integer or
    bool further input where the model needs floats, or a batch whose C, T (or further inputs)
    are not what the model was built for; None when ``err`` says something else (a bug of the
    model's or ours, out of memory) or when the model runs on the first series of ``x`` (then the
    failure is not the input's).

    Parameters
    ----------
    model : torch.nn.Module or sequence of torch.nn.Module
        The model that failed (checked with :func:`check_model`), or the models called in turn
        on the same input (an AGRA ensemble): the input is at fault when one of them refuses
        its first series, and is channels-last when all of them run on it transposed.
    err : BaseException
        What the call raised.
    x : torch.Tensor of shape (N, C, T)
        The series, in the model's dtype.
    additional : tuple of torch.Tensor, each (N, ...)
        The further inputs, as :func:`check_additional_inputs` returns them.
    where : str
        The public function, named first in the message.
    name : str
        The series' argument name, used in the message.
    transpose_hint : bool
        Say to transpose the series when the model runs on it channels-last (False: the series
        is not the user's array, e.g. zeros of a shape).

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.Conv1d(3, 4, 5), torch.nn.AdaptiveAvgPool1d(1),
    ...                           torch.nn.Flatten(), torch.nn.Linear(4, 2))
    >>> x = torch.zeros(2, 40, 3)  # channels-last
    >>> try:
    ...     net(x)
    ... except RuntimeError as e:
    ...     print(model_call_error(net, e, x, (), "deletion_curve"))  # doctest: +ELLIPSIS
    deletion_curve: the model failed on x of shape (2, 40, 3) (N, C, T): ... Check that C and T match what the model was built for; if x is channels-last (N, T, C), transpose it: x.transpose(1, 2).
    """
    from tsexplain._model_state import frozen_eval
    from tsexplain.exceptions import is_dtype_mismatch, is_shape_mismatch

    dtype_error = is_dtype_mismatch(err)
    if not dtype_error and not is_shape_mismatch(err):
        return None
    models = list(model) if isinstance(model, list | tuple) else [model]
    first = tuple(a[:1] for a in additional)
    try:
        with torch.no_grad(), frozen_eval(models):
            for m in models:
                m(x[:1], *first)
    except Exception:  # a model refuses the input itself: the user's to fix
        pass
    else:
        return None
    if dtype_error:
        kept = [(i, a) for i, a in enumerate(additional) if not a.is_floating_point()]
        if not kept:
            return None  # x and floating inputs have the model's dtype: the model's own error
        listed = ", ".join(
            f"additional_inputs[{i}] of dtype {str(a.dtype).replace('torch.', '')} and shape "
            f"{tuple(a.shape)}" for i, a in kept
        )
        model_dtype = str(x.dtype).replace("torch.", "")
        return ModelOutputError(
            f"{where}: the model failed on {listed}: {err}. x and floating additional inputs are "
            f"cast to the model's dtype ({model_dtype}); integer and bool ones are passed as they "
            f"are (they may be indices of an embedding): if the model reads them as numbers, give "
            f"them as floats (e.g. .astype('float32') or .float())"
        )
    with_extras = (f" and additional inputs of shapes {[tuple(a.shape) for a in additional]}"
                   if additional else "")
    hint = (f"; {channels_last_hint(name)}"
            if transpose_hint and _runs_transposed(models, x, first) else "")
    return ModelOutputError(
        f"{where}: the model failed on {name} of shape {tuple(x.shape)} (N, C, T){with_extras}: {err}. "
        f"Check that C and T{' and the additional inputs' if additional else ''} match what the "
        f"model was built for{hint}."
    )


def _runs_transposed(models: list[Any], x: torch.Tensor, first: tuple[torch.Tensor, ...]) -> bool:
    """Whether every model runs on the first series of ``x`` with C and T swapped (then ``x``
    is probably channels-last); asked only after they failed on ``x`` itself."""
    from tsexplain._model_state import frozen_eval

    if x.shape[1] == x.shape[2]:
        return False
    swapped = x[:1].transpose(1, 2).contiguous()
    if any(model_channels_problem(m, tuple(swapped.shape)) for m in models):
        return False  # a declared channel count refuses it: never run such a model on it
    try:
        with torch.no_grad(), frozen_eval(models):
            for m in models:
                m(swapped, *first)
    except Exception:  # any failure: the transposed series is not what the model takes
        return False
    return True


def loaded_module(model: Any) -> Any:
    """The module of a :class:`tsexplain.io.LoadedModel` (what ``load_any_model`` returns), of
    a ``torch.export.ExportedProgram`` or of a TorchScript module (loaded as ``load_any_model``
    loads them: in inference mode, an exported program with hookable layers); any other object
    as it is.

    Raises
    ------
    ParameterError
        ``model`` is a module made by ``ExportedProgram.module()`` that runs in training mode.
    """
    from tsexplain.io.models import LoadedModel, check_exported_module, load_any_model

    if isinstance(model, LoadedModel):
        return model.module
    if isinstance(model, torch.export.ExportedProgram | torch.jit.ScriptModule):
        return load_any_model(model).module
    if isinstance(model, torch.fx.GraphModule):
        check_exported_module(model)
    return model


def check_model(model: Any, name: str = "model") -> torch.nn.Module:
    """Check that ``model`` is a ``torch.nn.Module`` (callables are wrapped; a model loaded by
    ``tsexplain.io.load_any_model`` stands for its module)."""
    model = loaded_module(model)
    if isinstance(model, torch.nn.Module):
        return model
    if callable(model):
        return _CallableModule(model)
    raise InputTypeError(
        f"{name} must be a torch.nn.Module or a callable, got {type(model).__name__}."
    )


class _CallableModule(torch.nn.Module):
    """Wrap a plain callable so it can be handled like a module."""

    def __init__(self, fn: Any) -> None:
        super().__init__()
        self.fn = fn
        #: positional parameters of ``fn`` (None: any number): required, all
        self._arity: tuple[list[str], int] | None = _positional_arity(fn)

    def forward(self, x: torch.Tensor, *additional: torch.Tensor) -> torch.Tensor:
        if self._arity is not None:  # the wording of a module's forward, which callers read
            required, most = self._arity
            given = 1 + len(additional)
            if given < len(required):
                missing = ", ".join(repr(n) for n in required[given:])
                raise TypeError(f"forward() missing {len(required) - given} required positional "
                                f"argument{'s' if len(required) - given > 1 else ''}: {missing}")
            if given > most:
                raise TypeError(f"forward() takes {most + 1} positional arguments but {given + 1} "
                                f"were given")
        return self.fn(x, *additional)


def _positional_arity(fn: Any) -> tuple[list[str], int] | None:
    """Names of ``fn``'s required positional parameters and how many positional arguments it
    takes (None: its signature is unknown or takes any number)."""
    import inspect

    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return None
    positional = [p for p in params if p.kind in kinds]
    return [p.name for p in positional if p.default is inspect.Parameter.empty], len(positional)
