"""Gradient attribution methods for time-series models, all with one protocol.

Each method is a class, ``Method(model, **params).attribute(x, target=...)``, returning an
:class:`AttributionResult` whose values have the shape of ``x``, ``(N, C, T)``. ``explain`` is the
one-call form; a list of models gives AGRA (gradients averaged over independently trained
models).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from tsexplain._typing import SeriesBatch, Target
from tsexplain.attribution._base import Attribution
from tsexplain.attribution._memory import get_memory_budget, set_memory_budget
from tsexplain.attribution._result import AttributionResult
from tsexplain.attribution.gradient_x_input import GradientXInput
from tsexplain.attribution.integrated_gradients import IntegratedGradients
from tsexplain.attribution.saliency import Saliency
from tsexplain.attribution.smoothgrad import SmoothGrad
from tsexplain.attribution.time_smoothgrad import TimeSmoothGrad
from tsexplain.exceptions import ParameterError

#: Registry of methods by name; the CLI, the server and the benchmarks read it.
METHODS: dict[str, type[Attribution]] = {
    cls.name: cls
    for cls in (Saliency, GradientXInput, SmoothGrad, IntegratedGradients, TimeSmoothGrad)
}


def get_method(name: str) -> type[Attribution]:
    """The method class registered under ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`METHODS`, e.g. ``"saliency"`` or ``"integrated_gradients"``.

    Returns
    -------
    type[Attribution]
        The class; instantiate it with a model and call ``attribute(x)`` on (N, C, T) input.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import get_method
    >>> cls = get_method("integrated_gradients")
    >>> cls.__name__, cls.parameters()["steps"]
    ('IntegratedGradients', 50)
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 1))
    >>> cls(model, steps=8).attribute(torch.randn(2, 2, 3)).shape
    (2, 2, 3)
    """
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise ParameterError(
            f"unknown method {name!r}; available: {', '.join(sorted(METHODS))}"
        ) from None


def explain(
    model: nn.Module | Sequence[nn.Module],
    inputs: SeriesBatch,
    method: str = "integrated_gradients",
    target: Target = None,
    **params: Any,
) -> AttributionResult:
    """Explain ``model`` on ``inputs`` with one method.

    Parameters
    ----------
    model : torch.nn.Module or sequence of torch.nn.Module
        The model, mapping (N, C, T) to (N,) or (N, K) (``time_smoothgrad``: one prediction per
        time step). A list of models gives AGRA: the method's gradients averaged over them.
    inputs : torch.Tensor or numpy.ndarray of shape (N, C, T)
        The series to explain.
    method : str
        A name from :data:`METHODS`: "saliency", "gradient_x_input", "smoothgrad",
        "integrated_gradients", "time_smoothgrad".
    target : None, int, sequence of int, "predicted" or "all"
        Which output to explain (see :meth:`Attribution.attribute`).
    **params
        The method's parameters (e.g. ``steps=50``, ``n_samples=50``, ``window=100``) and the
        engine's (``memory_budget``, ``progress``, ``fold_batchnorm``).

    Returns
    -------
    AttributionResult
        ``numpy.asarray(result)`` has shape (N, C, T), or (N, K, C, T) for ``target="all"``.

    Examples
    --------
    >>> import torch, numpy as np
    >>> import tsexplain
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(10, 3))
    >>> res = tsexplain.explain(model, np.random.randn(5, 2, 5), "saliency", target="all")
    >>> np.asarray(res).shape
    (5, 3, 2, 5)
    """
    cls = get_method(method)
    allowed = set(cls.parameters()) | {"memory_budget", "progress", "fold_batchnorm"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ParameterError(
            f"{method} does not take {', '.join(unknown)}; its parameters are: "
            f"{', '.join(sorted(allowed))}"
        )
    return cls(model, **params).attribute(inputs, target=target)


__all__ = [
    "METHODS",
    "Attribution",
    "AttributionResult",
    "GradientXInput",
    "IntegratedGradients",
    "Saliency",
    "SmoothGrad",
    "TimeSmoothGrad",
    "explain",
    "get_memory_budget",
    "get_method",
    "set_memory_budget",
]
