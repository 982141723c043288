"""The network analyses call ``model(x)`` with the series alone: one clear error for a model
whose forward takes further inputs (``forward(x, static)``), instead of Python's bare
``TypeError: forward() missing 1 required positional argument``, and for a series the model
refuses (wrong C or T, channels-last data), instead of torch's ``RuntimeError``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from tsexplain.exceptions import (
    ModelInputsError,
    ModelOutputError,
    model_inputs_problem,
    too_many_inputs,
)

P = ParamSpec("P")
R = TypeVar("R")

#: Whether a public network function is already running (the outermost one names the error).
_inside: ContextVar[bool] = ContextVar("tsexplain_network_inside", default=False)

#: What a caller of the network analyses can do about a model that takes further inputs.
SERIES_ALONE_ADVICE = (
    "the network analyses call the model with the series alone and take no additional_inputs= "
    "(the attribution methods and faithfulness curves do): analyse a module whose forward(x) "
    "calls the model with its further inputs fixed, e.g. forward(self, x): return "
    "self.model(x, s.expand(x.shape[0], -1)) for the inputs s of one sample (its layers are "
    "then named 'model.<layer>')"
)


def series_alone_error(err: BaseException, where: str) -> ModelInputsError | None:
    """The error to raise when calling a model with the series alone failed because its forward
    takes more (or fewer) inputs; None when ``err`` says something else.

    Parameters
    ----------
    err : BaseException
        What calling ``model(x)`` raised, x of shape (N, C, T).
    where : str
        The public function, named first in the message.

    Examples
    --------
    >>> err = TypeError("Net.forward() missing 1 required positional argument: 's'")
    >>> print(series_alone_error(err, "describe"))  # doctest: +ELLIPSIS
    describe: the model's forward takes more inputs than the series (missing: 's'); the network ...
    >>> series_alone_error(TypeError("unsupported operand"), "describe") is None
    True
    """
    problem = model_inputs_problem(err, 0)
    if problem is None or too_many_inputs(problem):
        return None
    return ModelInputsError(f"{where}: {problem}; {SERIES_ALONE_ADVICE}", problem)


#: The arguments of the public network functions that hold the series, (N, C, T), in the order
#: looked for when a model refuses its input.
_SERIES_ARGUMENTS = ("x", "x_test", "x0", "sample")


def refused_series_error(
    func: Callable[..., object], args: tuple[object, ...], kwargs: dict[str, object],
    err: BaseException, where: str,
) -> ModelOutputError | None:
    """The error to raise when the model given to ``func(*args, **kwargs)`` refuses the series
    given with it (:func:`tsexplain._validation.model_call_error`: wrong C or T, with the
    transpose hint for channels-last data); None when ``err`` is something else, or the model
    runs on that series (then the failure is a bug, not the input's).

    The model is the argument ``model``; the series the first of ``x``, ``x_test``, ``x0``,
    ``sample`` given, or zeros of ``shape``.
    """
    import inspect
    import warnings

    import torch

    from tsexplain._model_state import model_device_dtype
    from tsexplain._validation import check_model, check_series_batch, model_call_error

    try:
        bound = inspect.signature(func).bind(*args, **kwargs).arguments
        model = check_model(bound["model"])
        name = next((k for k in _SERIES_ARGUMENTS if bound.get(k) is not None), None)
        if name is not None:
            series = bound[name]
        elif bound.get("shape") is not None:
            name, series = "shape", torch.zeros(tuple(bound["shape"]))
        else:
            return None
        device, dtype = model_device_dtype(model)
        with warnings.catch_warnings():  # the function warned about this series already
            warnings.simplefilter("ignore")
            x = check_series_batch(series, name).to(device=device, dtype=dtype)
    except Exception:  # the arguments are not what they seemed: leave err as it is
        return None
    if name == "shape":  # no series given: zeros of that shape
        return model_call_error(model, err, x, (), where, "a series", transpose_hint=False)
    return model_call_error(model, err, x, (), where, name)


def series_alone(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a public network function: a model whose forward takes further inputs raises
    :class:`~tsexplain.exceptions.ModelInputsError` naming the function (the outermost one
    when they call each other) and what the forward is missing; a model that refuses the series
    (wrong C or T, channels-last) raises :class:`~tsexplain.exceptions.ModelOutputError`.

    Examples
    --------
    >>> import torch
    >>> class Two(torch.nn.Module):
    ...     def forward(self, x, s):
    ...         return x.mean(2) + s
    >>> @series_alone
    ... def run(model, x):
    ...     return model(x)
    >>> run(Two(), torch.zeros(2, 1, 4))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tsexplain.exceptions.ModelInputsError: run: the model's forward takes more inputs than the series (missing: 's'); ...
    """
    where = func.__name__

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if _inside.get():
            return func(*args, **kwargs)
        token = _inside.set(True)
        try:
            return func(*args, **kwargs)
        except (TypeError, RuntimeError, ValueError) as err:
            refusal: Exception | None = series_alone_error(err, where)
            if refusal is None and not isinstance(err, TypeError):
                refusal = refused_series_error(func, args, kwargs, err, where)
            if refusal is None:
                raise  # a bug of the model's or ours, or out of memory
            raise refusal from err
        finally:
            _inside.reset(token)

    return wrapper
