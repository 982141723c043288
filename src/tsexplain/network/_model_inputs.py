"""The network analyses call ``model(x)`` with the series alone: one clear error for a model
whose forward takes further inputs (``forward(x, static)``), instead of Python's bare
``TypeError: forward() missing 1 required positional argument``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from tsexplain.exceptions import ModelInputsError, model_inputs_problem, too_many_inputs

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


def series_alone(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a public network function: a model whose forward takes further inputs raises
    :class:`~tsexplain.exceptions.ModelInputsError` naming the function (the outermost one
    when they call each other) and what the forward is missing.

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
        except (TypeError, RuntimeError) as err:
            refusal = series_alone_error(err, where)
            if refusal is None:
                raise  # a bug of the model's or ours, or out of memory
            raise refusal from err
        finally:
            _inside.reset(token)

    return wrapper
