"""Attribution methods for time-series models, all with one protocol.

Each method is a class, ``Method(model, **params).attribute(x, target=...)``, returning an
:class:`AttributionResult` whose values have the shape of ``x``, ``(N, C, T)``. ``explain`` is the
one-call form; a list of models gives AGRA (gradients averaged over independently trained
models). :data:`METHODS` registers the (N, C, T) methods, :data:`SEQUENCE_METHODS` the methods
for per-time-step outputs of long recordings; each class describes itself in
:meth:`Attribution.metadata`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from torch import nn

from tsexplain._model_state import model_device_dtype
from tsexplain._targets import slice_target
from tsexplain._typing import SeriesBatch, Target
from tsexplain._validation import check_additional_inputs, check_bool, check_int, check_series_batch
from tsexplain.attribution._base import (
    ENGINE_OPTIONS,
    Attribution,
    accepted_parameters,
    as_model_list,
    check_parameters,
)
from tsexplain.attribution._engine import Engine, watch_engines
from tsexplain.attribution._memory import get_memory_budget, set_memory_budget
from tsexplain.attribution._result import AttributionResult
from tsexplain.attribution._sequence import SequenceAttribution
from tsexplain.attribution.deeplift import DeepLift, DeepLiftShap
from tsexplain.attribution.feature_ablation import FeatureAblation
from tsexplain.attribution.gradient_shap import GradientShap
from tsexplain.attribution.gradient_x_input import GradientXInput
from tsexplain.attribution.integrated_gradients import IntegratedGradients
from tsexplain.attribution.kernel_shap import KernelShap
from tsexplain.attribution.layer_attribution import LayerGradCam, LayerIntegratedGradients
from tsexplain.attribution.lime import Lime
from tsexplain.attribution.noise_tunnel import NoiseTunnel
from tsexplain.attribution.occlusion import Occlusion
from tsexplain.attribution.saliency import Saliency
from tsexplain.attribution.smoothgrad import SmoothGrad
from tsexplain.attribution.time_smoothgrad import TimeSmoothGrad
from tsexplain.attribution.tsr import TemporalSaliencyRescaling
from tsexplain.exceptions import ParameterError

#: Registry of the (N, C, T) -> (N, C, T) methods by name; the CLI, the server, the scale-out,
#: the demo and the benchmarks read it (with each class's :meth:`Attribution.metadata`).
METHODS: dict[str, type[Attribution]] = {
    cls.name: cls
    for cls in (
        Saliency,
        GradientXInput,
        SmoothGrad,
        IntegratedGradients,
    )
}
# perturbation, SHAP-family, DeepLIFT, layer and wrapper methods
for _cls in (Occlusion, FeatureAblation, KernelShap, Lime, GradientShap, DeepLift, DeepLiftShap,
             LayerGradCam, LayerIntegratedGradients, TemporalSaliencyRescaling):
    METHODS[_cls.name] = _cls

#: Registry of the sequence methods (one long recording, one prediction per time step).
SEQUENCE_METHODS: dict[str, type[SequenceAttribution]] = {
    cls.name: cls for cls in (TimeSmoothGrad,)
}


def all_methods() -> dict[str, type[Attribution]]:
    """Every registered method by name: :data:`METHODS` then :data:`SEQUENCE_METHODS`."""
    return {**METHODS, **SEQUENCE_METHODS}


def get_method(name: str) -> type[Attribution]:
    """The method class registered under ``name`` (in :data:`METHODS` or :data:`SEQUENCE_METHODS`).

    Parameters
    ----------
    name : str
        A registered name, e.g. ``"saliency"``, ``"integrated_gradients"`` or
        ``"time_smoothgrad"``.

    Returns
    -------
    type[Attribution]
        The class; instantiate it with a model and call ``attribute(x)`` on (N, C, T) input.

    Raises
    ------
    ParameterError
        An unknown name (the message lists the registered ones).

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
    registry = all_methods()
    try:
        return registry[name]
    except (KeyError, TypeError):
        raise ParameterError(
            f"unknown method {name!r}; available: {', '.join(sorted(registry))}"
        ) from None


def accepted_params(name: str, engine_options: Iterable[str] = ENGINE_OPTIONS) -> frozenset[str]:
    """Keyword arguments the constructor of method ``name`` accepts.

    Its own parameters, their deprecated former names, and ``engine_options``.
    """
    return accepted_parameters(get_method(name), engine_options)


def check_method_params(
    name: str, params: Mapping[str, Any], engine_options: Iterable[str] = ENGINE_OPTIONS
) -> dict[str, Any]:
    """Check that method ``name`` takes every key of ``params``; return them as a dict.

    The one check behind ``explain``, the CLI, the server and the scale-out.

    Parameters
    ----------
    name : str
        A registered method name.
    params : mapping
        Keyword arguments for the method's constructor.
    engine_options : iterable of str
        Engine options also allowed (default :data:`ENGINE_OPTIONS`; a caller that sets them
        itself passes fewer, e.g. ``()``).

    Raises
    ------
    ParameterError
        An unknown method, or a parameter it does not take (the message lists those it takes).

    Examples
    --------
    >>> from tsexplain.attribution import check_method_params
    >>> check_method_params("integrated_gradients", {"steps": 16})
    {'steps': 16}
    >>> check_method_params("saliency", {"steps": 16})
    Traceback (most recent call last):
    ...
    tsexplain.exceptions.ParameterError: saliency does not take steps; its parameters are: absolute, fold_batchnorm, memory_budget, progress, rows_per_chunk
    """
    return check_parameters(get_method(name), params, engine_options)


def method_settings(
    cost_cap: int | None = None, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """Every method of :data:`METHODS` with settings for a batch run (demo, benchmarks).

    Parameters
    ----------
    cost_cap : int, optional
        Cap on each integer parameter the registry marks as costly (``cost_params``: steps,
        noise draws, ...); None keeps the defaults.
    overrides : mapping of method name to parameters, optional
        Settings chosen by the caller, applied last.

    Returns
    -------
    dict
        Method name -> keyword arguments (only the changed ones).

    Examples
    --------
    >>> from tsexplain.attribution import method_settings
    >>> method_settings(16, {"smoothgrad": {"noise": 0.1}})["smoothgrad"]
    {'n_draws': 16, 'noise': 0.1}
    """
    out: dict[str, dict[str, Any]] = {}
    for name, cls in METHODS.items():
        defaults = cls.parameters()
        capped = {} if cost_cap is None else {
            p: min(cost_cap, defaults[p]) for p in cls.cost_params
            if isinstance(defaults.get(p), int) and not isinstance(defaults.get(p), bool)
        }
        out[name] = {**capped, **dict((overrides or {}).get(name, {}))}
    return out


def explain(
    model: nn.Module | Sequence[nn.Module],
    inputs: SeriesBatch,
    method: str = "integrated_gradients",
    target: Target = None,
    *,
    additional_inputs: Sequence[SeriesBatch] | SeriesBatch | None = None,
    attribute_additional: bool = False,
    **params: Any,
) -> AttributionResult:
    """Explain ``model`` on ``inputs`` with one method.

    Parameters
    ----------
    model : torch.nn.Module or sequence of torch.nn.Module
        The model, mapping (N, C, T) to (N,) or (N, K) (sequence methods such as
        ``time_smoothgrad``: one prediction per time step). A list of models gives AGRA: the
        method's gradients averaged over them.
    inputs : torch.Tensor or numpy.ndarray of shape (N, C, T)
        The series to explain.
    method : str
        A name from :data:`METHODS` ("saliency", "gradient_x_input", "smoothgrad",
        "integrated_gradients", ...) or :data:`SEQUENCE_METHODS` ("time_smoothgrad").
    target : None, int, sequence of int, "predicted" or "all"
        Which output to explain (see :meth:`Attribution.attribute`).
    additional_inputs : tensor or sequence of tensors, each of shape (N, ...), optional
        Further model inputs: the model is called as ``model(x, *additional_inputs)``.
    attribute_additional : bool
        Also attribute the additional inputs (``result.extras["additional"]``).
    **params
        The method's parameters (e.g. ``steps=50``, ``n_draws=50``, ``window=100``) and the
        engine's (``memory_budget``, ``progress``, ``fold_batchnorm``, ``rows_per_chunk``).

    Returns
    -------
    AttributionResult
        ``numpy.asarray(result)`` has shape (N, C, T), or (N, K, C, T) for ``target="all"``.

    Examples
    --------
    >>> import torch, numpy as np
    >>> import tsexplain
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(10, 3))
    >>> x = np.random.default_rng(0).normal(size=(5, 2, 5))
    >>> res = tsexplain.explain(model, x, "saliency", target="all")
    >>> np.asarray(res).shape
    (5, 3, 2, 5)
    """
    cls = get_method(method)
    check_method_params(method, params)
    return cls(model, **params).attribute(
        inputs, target=target, additional_inputs=additional_inputs,
        attribute_additional=attribute_additional,
    )


def fastest_rows_per_chunk(
    method: str,
    model: nn.Module | Sequence[nn.Module],
    x: SeriesBatch,
    target: Target = None,
    *,
    additional_inputs: Sequence[SeriesBatch] | SeriesBatch | None = None,
    attribute_additional: bool = False,
    max_rows: int | None = None,
    **params: Any,
) -> int | None:
    """The rows per chunk the engine settles on when ``method`` explains ``x``: a value for the
    engine option ``rows_per_chunk`` that runs as fast as the timed choice, to the last bit alike
    in every process.

    Runs the method on ``x`` without ``rows_per_chunk`` and returns what its call chose: on the
    CPU, a call of enough rows times a few sizes on its first rows and keeps the fastest (see
    ``rows_per_chunk`` in :class:`Attribution`); a size this process already found for the same
    model structure, input shape and thread count is used as it is (the engine's own rule), not
    timed again. A call too small to time anything, or on CUDA (nothing is timed there),
    returns the size it used. The values computed are discarded (their chunks had mixed sizes).

    Parameters
    ----------
    method : str
        A name from :data:`METHODS` or :data:`SEQUENCE_METHODS`.
    model : torch.nn.Module or sequence of torch.nn.Module
        As in :func:`explain` (several: AGRA).
    x : torch.Tensor or numpy.ndarray of shape (N, C, T)
        Series to time on.
    target, additional_inputs, attribute_additional
        As in :func:`explain`.
    max_rows : int, optional
        Time on the first series of ``x`` whose rows (the method's rows per series, e.g. IG's
        ``steps``, learned from a call on the first series) reach ``max_rows``, not on all of
        ``x``.
    **params
        The method's parameters and the engine options ``memory_budget`` and ``fold_batchnorm``.

    Returns
    -------
    int or None
        Rows per chunk (at most what the memory budget allows); None when the method ran no
        chunks of rows (``time_smoothgrad`` on a whole series).

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import fastest_rows_per_chunk
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 1))
    >>> rows = fastest_rows_per_chunk("integrated_gradients", model, torch.randn(4, 2, 8), steps=8)
    >>> rows >= 1  # too few rows to time: the size the call used
    True
    """
    check_method_params(method, params, engine_options=("memory_budget", "fold_batchnorm"))
    attribute_additional = check_bool(attribute_additional, "attribute_additional")
    if max_rows is not None:
        max_rows = check_int(max_rows, "max_rows", minimum=1)
    models = as_model_list(model)
    device, dtype = model_device_dtype(models[0])
    x_t = check_series_batch(x, "x", device=device).to(dtype)
    extras = check_additional_inputs(additional_inputs, x_t, dtype)
    instance = get_method(method)(models if len(models) > 1 else models[0], progress=False, **params)

    def engines_of(n: int) -> list[Engine]:
        with watch_engines() as engines:
            instance.attribute(x_t[:n], target=slice_target(target, 0, n),
                               additional_inputs=[e[:n] for e in extras] or None,
                               attribute_additional=attribute_additional)
        return engines

    n = x_t.shape[0]
    engines: list[Engine] = []
    if max_rows is not None and n > 1:
        engines = engines_of(1)
        per_series = sum(e.rows_differentiated for e in engines)
        n = min(n, -(-max_rows // per_series)) if per_series else 1  # no gradient rows: no timing
    if n > 1 or not engines:
        engines = engines_of(n)
    if not engines:
        return None
    # the engine that differentiated the most rows (a wrapper's inner calls each have one)
    busiest = max(reversed(engines), key=lambda e: e.rows_differentiated)
    return busiest.settled_rows()


__all__ = [
    "ENGINE_OPTIONS",
    "METHODS",
    "SEQUENCE_METHODS",
    "Attribution",
    "AttributionResult",
    "DeepLift",
    "DeepLiftShap",
    "FeatureAblation",
    "GradientShap",
    "GradientXInput",
    "IntegratedGradients",
    "KernelShap",
    "LayerGradCam",
    "LayerIntegratedGradients",
    "Lime",
    "NoiseTunnel",
    "Occlusion",
    "Saliency",
    "SequenceAttribution",
    "SmoothGrad",
    "TemporalSaliencyRescaling",
    "TimeSmoothGrad",
    "accepted_params",
    "all_methods",
    "check_method_params",
    "explain",
    "fastest_rows_per_chunk",
    "get_memory_budget",
    "get_method",
    "method_settings",
    "set_memory_budget",
]
