"""The common protocol of every attribution method.

The public :meth:`Attribution.attribute` validates and converts the input, puts the models in
eval mode (restoring them afterwards), folds BatchNorm, resolves the target, times the call and
wraps the values; each method only writes :meth:`Attribution._attribute`.
"""

from __future__ import annotations

import functools
import inspect
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, final

import numpy as np
import torch
from torch import nn

from tsexplain._model_state import frozen_eval, model_device_dtype
from tsexplain._saturation import (
    SATURATION_TOL,
    explained_probability,
    final_activation,
    looks_like_probabilities,
    saturated,
)
from tsexplain._targets import Selection, resolve_target
from tsexplain._typing import SeriesBatch, Target
from tsexplain._validation import (
    check_additional_inputs,
    check_bool,
    check_int,
    check_model,
    check_model_channels,
    check_series_batch,
    loaded_module,
    model_call_error,
)
from tsexplain.attribution._engine import Engine
from tsexplain.attribution._memory import get_memory_budget, parse_bytes
from tsexplain.attribution._model_state import fold_batchnorm
from tsexplain.attribution._result import AttributionResult
from tsexplain.exceptions import (
    InputTypeError,
    ModelOutputError,
    ParameterError,
    SaturationWarning,
    TsExplainError,
    ZeroGradientWarning,
    model_inputs_error,
)

#: Options every method's constructor takes besides its own parameters (the engine's).
ENGINE_OPTIONS: tuple[str, ...] = ("memory_budget", "progress", "fold_batchnorm", "rows_per_chunk")


def as_model_list(model: nn.Module | Sequence[nn.Module]) -> list[nn.Module]:
    """One model, or a non-empty list of models (AGRA), as a list of modules."""
    model = loaded_module(model)
    if isinstance(model, nn.Module) or callable(model) and not isinstance(model, Sequence):
        return [check_model(model)]
    if isinstance(model, Sequence) and not isinstance(model, str):
        if len(model) == 0:
            raise ParameterError("model: an empty list of models; pass one model or several (AGRA)")
        return [check_model(m, f"model[{i}]") for i, m in enumerate(model)]
    raise InputTypeError(
        f"model must be a torch.nn.Module or a list of them (AGRA), got {type(model).__name__}"
    )


class Attribution(ABC):
    """Base class of the attribution methods.

    Parameters
    ----------
    model : torch.nn.Module or sequence of torch.nn.Module
        The model to explain, mapping (N, C, T) to (N,) or (N, K). A list of models gives
        AGRA (Jacquet et al.): the method's gradients averaged over the models.
    memory_budget : int or str, optional
        Bytes (or ``"512MB"``) one chunk of rows may use; default :func:`get_memory_budget`.
    progress : bool, optional
        Show a progress bar; by default only for long runs.
    fold_batchnorm : bool
        Fold eval-mode BatchNorm into the preceding convolution (same function, faster
        gradients). The caller's model is never modified.
    rows_per_chunk : int, optional
        Rows the model runs at once. None (default): on the CPU, a call with many rows times a
        few sizes on its first rows and keeps the fastest, remembered for the process's later
        calls on the same model and input shape; elsewhere as many rows as ``memory_budget``
        allows. An int ``k``: nothing is timed and no remembered size is read or written;
        every pass of the model holds at most ``k`` rows (fewer where ``memory_budget`` allows
        fewer): the gradient chunks, which group whole series where they fit (IG: ``k //
        steps`` series of ``steps`` rows), and the forward-only passes of the perturbation and
        layer methods. Only rows of one series that a method runs together may exceed it
        (layer integrated gradients' ``steps``, DeepLiftSHAP's baselines). Some layers
        (recurrent ones in particular) give results that differ in the last bits with the rows
        run at once: a fixed ``k`` makes results identical to the last bit across processes
        and machines with the same torch; the default is as fast or faster.
        ``time_smoothgrad`` on a whole series runs no chunks of rows (with ``input_window`` it
        does).

    Examples
    --------
    Every registered method is an ``Attribution``; ``attribute`` maps (N, C, T) to (N, C, T):

    >>> import torch
    >>> from tsexplain.attribution import Attribution, Saliency
    >>> issubclass(Saliency, Attribution), Saliency.parameters()
    (True, {'absolute': False})
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 2))
    >>> method = Saliency(model, memory_budget="64MB")
    >>> method.attribute(torch.randn(4, 2, 3), target=1).shape
    (4, 2, 3)
    """

    #: Registered name of the method.
    name: ClassVar[str] = ""
    #: Whether values are signed (False: absolute values).
    signed: ClassVar[bool] = True
    #: Whether the method draws random numbers (then it takes ``seed``).
    randomized: ClassVar[bool] = False
    #: Whether the method needs a baseline (reference input).
    uses_baseline: ClassVar[bool] = False
    #: Whether the method works on one long series with per-time-step outputs (kind "sequence";
    #: such methods are registered in ``SEQUENCE_METHODS``, not ``METHODS``).
    sequence_method: ClassVar[bool] = False
    #: Family: "gradient", "perturbation", "layer" or "sequence".
    kind: ClassVar[str] = "gradient"
    #: Unit of the values: "output per input unit" (a sensitivity) or "output" (a contribution
    #: that sums towards an output difference).
    unit: ClassVar[str] = "output per input unit"
    #: Constructor parameters that scale the cost (e.g. ``("steps",)``); the others are cheap.
    cost_params: ClassVar[tuple[str, ...]] = ()
    #: Old keyword -> new keyword, still accepted with a DeprecationWarning.
    deprecated_params: ClassVar[dict[str, str]] = {}
    #: Whether ``attribute`` takes ``additional_inputs`` (extra model inputs).
    accepts_additional_inputs: ClassVar[bool] = True
    #: Whether ``attribute(..., attribute_additional=True)`` also attributes those inputs.
    attributes_additional: ClassVar[bool] = False

    def __init__(
        self,
        model: nn.Module | Sequence[nn.Module],
        *,
        memory_budget: int | str | None = None,
        progress: bool | None = None,
        fold_batchnorm: bool = True,
        rows_per_chunk: int | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:  # the same error as explain(..., name=value) for a parameter not taken
            check_parameters(type(self), unknown)
        self.models = as_model_list(model)
        self.memory_budget = get_memory_budget() if memory_budget is None else parse_bytes(memory_budget)
        self.progress = None if progress is None else check_bool(progress, "progress")
        self.fold_batchnorm = check_bool(fold_batchnorm, "fold_batchnorm")
        self.rows_per_chunk = (
            None if rows_per_chunk is None else check_int(rows_per_chunk, "rows_per_chunk", minimum=1)
        )

    # ----------------------------------------------------------------- description
    @classmethod
    def parameters(cls) -> dict[str, Any]:
        """The method's own parameters and their defaults (engine options excluded)."""
        sig = _signature(cls.__init__)
        skip = {"self", "model", *ENGINE_OPTIONS}
        return {
            n: (None if p.default is inspect.Parameter.empty else p.default)
            for n, p in sig.parameters.items()
            if n not in skip and p.kind is not inspect.Parameter.VAR_KEYWORD
        }

    @classmethod
    def call_parameters(cls) -> dict[str, Any]:
        """Per-call parameters of ``attribute`` and their defaults (e.g. IG's ``baseline``).

        They are the keyword-only arguments of the method's ``_attribute``.
        """
        sig = _signature(cls._attribute)
        return {
            n: (None if p.default is inspect.Parameter.empty else p.default)
            for n, p in sig.parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }

    @classmethod
    def metadata(cls) -> dict[str, Any]:
        """What the registry says about the method, as one JSON-friendly dict.

        Keys: ``name``, ``summary``, ``kind``, ``signed``, ``unit``, ``randomized``,
        ``uses_baseline``, ``sequence``, ``parameters`` (defaults), ``cost_params``,
        ``cheap_params``, ``call_params``, ``deprecated_params``, ``accepts_additional_inputs``,
        ``attributes_additional``.

        Examples
        --------
        >>> from tsexplain.attribution import IntegratedGradients
        >>> meta = IntegratedGradients.metadata()
        >>> meta["unit"], meta["cost_params"], meta["call_params"]
        ('output', ['steps'], ['baseline'])
        """
        params = cls.parameters()
        return {
            "name": cls.name,
            "summary": cls.summary(),
            "kind": cls.kind,
            "signed": cls.signed,
            "unit": cls.unit,
            "randomized": cls.randomized,
            "uses_baseline": cls.uses_baseline,
            "sequence": cls.sequence_method,
            "parameters": params,
            "cost_params": [p for p in cls.cost_params if p in params],
            "cheap_params": [p for p in params if p not in cls.cost_params],
            "call_params": list(cls.call_parameters()),
            "deprecated_params": dict(cls.deprecated_params),
            "accepts_additional_inputs": cls.accepts_additional_inputs,
            "attributes_additional": cls.attributes_additional,
        }

    @classmethod
    def summary(cls) -> str:
        """First line of the class docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""

    def params(self) -> dict[str, Any]:
        """The parameters of this instance (as used); arrays are described by their shape."""
        return {n: describe_param(getattr(self, n)) for n in self.parameters()}

    # ----------------------------------------------------------------- protocol
    @final
    def attribute(
        self,
        x: SeriesBatch,
        target: Target = None,
        *,
        additional_inputs: Sequence[SeriesBatch] | SeriesBatch | None = None,
        attribute_additional: bool = False,
        **call_params: Any,
    ) -> AttributionResult:
        """Attribute the model's output to every channel and time step of ``x``.

        Parameters
        ----------
        x : torch.Tensor or numpy.ndarray of shape (N, C, T)
            The series to explain.
        target : None, int, sequence of int, "predicted" or "all"
            Which output to explain: None for a single-output model, a class/output index
            (one for all samples or one per sample), ``"predicted"`` (argmax), or ``"all"``
            (every output at once, giving values of shape (N, K, C, T)).
        additional_inputs : tensor or sequence of tensors, each of shape (N, ...), optional
            Further model inputs (e.g. static covariates): the model is called as
            ``model(x, *additional_inputs)``. They are held fixed (repeated with the rows the
            method builds); only ``x`` is attributed unless ``attribute_additional``.
        attribute_additional : bool
            Also attribute the floating additional inputs; their values (same shapes as the
            inputs, None for non-floating ones) are in ``result.extras["additional"]``.
        **call_params
            The method's per-call parameters (:meth:`call_parameters`), e.g. IG's ``baseline``;
            they override the constructor's for this call.

        Returns
        -------
        AttributionResult
            ``numpy.asarray(result)`` has the shape of ``x`` (or (N, K, C, T)).
        """
        start = time.perf_counter()
        attribute_additional = check_bool(attribute_additional, "attribute_additional")
        device, dtype = model_device_dtype(self.models[0])
        x_t = check_series_batch(x, "x", device=device).to(dtype)
        for model in self.models:  # before any forward pass: exported recurrent ops do not check
            check_model_channels(model, x_t)
        call = self._check_call_params(call_params)
        additional = self._check_additional(additional_inputs, x_t, dtype)
        if attribute_additional and not additional:
            raise ParameterError("attribute_additional=True needs additional_inputs")
        if attribute_additional and not self._attributes_additional():
            raise ParameterError(
                f"{self.name} does not attribute additional inputs (attribute_additional=True); "
                f"it takes them as fixed model inputs. Gradient methods that attribute them: "
                f"saliency, gradient_x_input, smoothgrad, integrated_gradients"
            )
        try:
            with frozen_eval(self.models):
                probe = self._probe(x_t)
                models = self.models
                if self.fold_batchnorm and not additional:
                    models = [fold_batchnorm(m, probe, self._fold_keep(i)) for i, m in enumerate(models)]
                engine = Engine(
                    models, probe[:1], self.memory_budget, self.progress, self.name,
                    additional, attribute_additional, self.rows_per_chunk,
                )
                values, sel, preds, extras = self._attribute(x_t, target, engine, **call)
                engine.finish()
        except TsExplainError:
            raise
        except (TypeError, RuntimeError, ValueError) as err:
            user_error = self._model_failure(err, x_t, additional)
            if user_error is None:
                raise  # out of memory, or a bug of the model's or ours: not a user error
            raise user_error from err
        values_np = values.detach().cpu().float().numpy()
        self._check_gradients(values_np)
        if attribute_additional:
            extras = {**extras, "additional": [
                None if v is None else v.detach().cpu().float().numpy() for v in engine.additional_values
            ]}
        return AttributionResult(
            values=values_np,
            method=self.name,
            params={**self.params(), **{k: describe_param(v) for k, v in call.items()}},
            target=sel.as_numpy() if sel is not None else None,
            predictions=None if preds is None else preds.detach().cpu().float().numpy(),
            n_models=len(self.models),
            signed=self._result_signed(),
            extras=extras,
            seconds=time.perf_counter() - start,
        )

    @abstractmethod
    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine
    ) -> tuple[torch.Tensor, Selection | None, torch.Tensor | None, dict[str, Any]]:
        """Compute the values; return ``(values, selection, predictions, extras)``.

        Per-call parameters are declared as keyword-only arguments after ``engine``
        (e.g. ``*, baseline=None``); ``attribute`` passes only those the caller gave.
        """

    def _attribute_selected(
        self, x: torch.Tensor, sel: Selection, engine: Engine, **call: Any
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """Values for an already resolved selection (used by wrappers such as NoiseTunnel).

        The default resolves the selection again through :meth:`_attribute`; methods override
        it to skip that forward pass.
        """
        values, _, _, extras = self._attribute(x, selection_as_target(sel), engine, **call)
        return values, extras

    def _attributes_additional(self) -> bool:
        """Whether this instance attributes additional inputs (wrappers ask their method)."""
        return self.attributes_additional

    def _result_signed(self) -> bool:
        """Whether this instance's values are signed (False once made absolute)."""
        return self.signed and not getattr(self, "absolute", False)

    def _check_call_params(self, call_params: dict[str, Any]) -> dict[str, Any]:
        allowed = self.call_parameters()
        unknown = sorted(set(call_params) - set(allowed))
        if unknown:
            raise ParameterError(
                f"{self.name}.attribute does not take {', '.join(unknown)}; its per-call "
                f"parameters are: {', '.join(sorted(allowed)) or 'none'} (besides x, target, "
                f"additional_inputs, attribute_additional)"
            )
        return {k: v for k, v in call_params.items() if v is not None}

    def _check_additional(
        self, additional: Sequence[SeriesBatch] | SeriesBatch | None, x: torch.Tensor, dtype: torch.dtype
    ) -> tuple[torch.Tensor, ...]:
        """Additional inputs as tensors on x's device, floating ones in the model's dtype."""
        if additional is not None and not self.accepts_additional_inputs:
            raise ParameterError(f"{self.name} does not take additional_inputs")
        return check_additional_inputs(additional, x, dtype)

    def _model_failure(
        self, err: Exception, x: torch.Tensor, additional: tuple[torch.Tensor, ...]
    ) -> TsExplainError | None:
        """The user error that calling the models on ``x`` (N, C, T) and ``additional`` raised
        ``err`` stands for, or None when ``err`` is not a user error (every model call of a
        method, the memory planner's included, runs inside :meth:`attribute`, which asks this)."""
        inputs_error = model_inputs_error(err, len(additional), self.name, tuple(x.shape))
        if inputs_error is not None:
            return inputs_error
        text = str(err)
        if isinstance(err, RuntimeError) and "grad" in text and "does not require grad" in text:
            return ModelOutputError(
                f"{self.name}: the model's output is not differentiable with respect to x "
                f"(shape {tuple(x.shape)}); is it wrapped in torch.no_grad() or detached?"
            )
        return model_call_error(self.models, err, x, additional, self.name)

    # ----------------------------------------------------------------- helpers
    def _fold_keep(self, index: int) -> frozenset[str]:
        """Layers of model ``index`` whose outputs BatchNorm folding must leave as they are."""
        return frozenset()

    def _probe(self, x: torch.Tensor) -> torch.Tensor:
        """A few model inputs (n, C, T') used to size chunks and check BatchNorm folding."""
        return x[:2]

    def _attribute_input_gradient(
        self, x: torch.Tensor, target: Target, engine: Engine,
        reduce: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    ) -> tuple[torch.Tensor, Selection, torch.Tensor, dict[str, Any]]:
        """``reduce(gradient, x)`` per series, from one forward pass that also resolves the target
        where the engine can (:meth:`Engine.gradients_with_outputs`), else through
        :meth:`_attribute_selected`. For methods whose rows are the series themselves."""
        fused = engine.gradients_with_outputs(x, target)
        if fused is not None:
            g, outputs = fused
            return reduce(g, x), self._resolve(x, target, outputs), outputs, {}
        sel, outputs = self._select(x, target, engine)
        values, extras = self._attribute_selected(x, sel, engine)
        return values, sel, outputs, extras

    def _select(self, x: torch.Tensor, target: Target, engine: Engine) -> tuple[Selection, torch.Tensor]:
        """Forward ``x``, resolve ``target``, warn on saturated outputs."""
        outputs = engine.outputs(x)
        return self._resolve(x, target, outputs), outputs

    def _resolve(self, x: torch.Tensor, target: Target, outputs: torch.Tensor) -> Selection:
        """Check the model's outputs (N, K) on ``x``, resolve ``target``, warn on saturation."""
        if not bool(torch.isfinite(outputs).all()):
            raise ModelOutputError(
                f"{self.name}: the model returned NaN or Inf for x of shape {tuple(x.shape)}"
            )
        sel = resolve_target(target, outputs)
        self._check_saturation(outputs, sel)
        return sel

    def _check_saturation(self, outputs: torch.Tensor, sel: Selection) -> None:
        final = final_activation(self.models[0])
        if final is None and not looks_like_probabilities(outputs):
            return
        index = sel.index if sel.mode == "index" else None
        chosen = explained_probability(outputs, final, index)
        mask = saturated(chosen)
        if bool(mask.any()):
            warnings.warn(
                f"{self.name}: {int(mask.sum())} of {len(chosen)} samples have a saturated "
                f"sigmoid/softmax output (within {SATURATION_TOL:g} of 0 or 1): its gradient "
                f"vanishes and the attribution understates the input's influence (TSViz, "
                f"Proposition 1). Explain the logits (drop the final sigmoid/softmax), or soften "
                f"the output with a temperature.",
                SaturationWarning,
                stacklevel=4,
            )

    def _check_gradients(self, values: np.ndarray) -> None:
        flat = values.reshape(values.shape[0], -1)
        dead = ~np.any((flat != 0) & np.isfinite(flat), axis=1)  # no finite non-zero value
        if dead.all():
            warnings.warn(
                f"{self.name}: every attribution is exactly zero: the explained output does not "
                f"depend on the input (constant model, dead ReLUs, or a detached output).",
                ZeroGradientWarning,
                stacklevel=3,
            )
        elif dead.any():
            warnings.warn(
                f"{self.name}: the attribution of {int(dead.sum())} of {len(dead)} samples is "
                f"exactly zero (their explained output does not depend on the input).",
                ZeroGradientWarning,
                stacklevel=3,
            )


def accepted_parameters(
    cls: type[Attribution], engine_options: Iterable[str] = ENGINE_OPTIONS
) -> frozenset[str]:
    """Keyword arguments the constructor of ``cls`` accepts: its own parameters, their
    deprecated former names, and ``engine_options``."""
    return frozenset(cls.parameters()) | frozenset(cls.deprecated_params) | frozenset(engine_options)


def boolean_parameters(cls: type[Attribution]) -> frozenset[str]:
    """Names of the constructor parameters of ``cls`` (engine options included) whose default is
    a boolean: they take only :func:`~tsexplain._validation.is_bool` values.

    Examples
    --------
    >>> from tsexplain.attribution import SmoothGrad
    >>> sorted(boolean_parameters(SmoothGrad))
    ['absolute', 'fold_batchnorm', 'multiply_by_inputs']
    """
    engine = {n: p.default for n, p in _signature(Attribution.__init__).parameters.items()}
    defaults = {**engine, **cls.parameters()}
    return frozenset(n for n, d in defaults.items() if isinstance(d, bool))


def check_parameters(
    cls: type[Attribution], params: Mapping[str, Any], engine_options: Iterable[str] = ENGINE_OPTIONS
) -> dict[str, Any]:
    """Check that the constructor of ``cls`` takes every key of ``params``; return them as a dict.

    The one home of the message for a parameter a method does not take: the constructors,
    ``explain``, the CLI, the server and the scale-out all raise it.

    Parameters
    ----------
    cls : type[Attribution]
        The method's class.
    params : mapping
        Keyword arguments for its constructor.
    engine_options : iterable of str
        Engine options also allowed.

    Raises
    ------
    ParameterError
        A parameter the method does not take (the message lists those it takes), or a
        boolean parameter (:func:`boolean_parameters`) given something else than True/False.

    Examples
    --------
    >>> from tsexplain.attribution import Saliency
    >>> check_parameters(Saliency, {"steps": 16})
    Traceback (most recent call last):
    ...
    tsexplain.exceptions.ParameterError: saliency does not take steps; its parameters are: absolute, fold_batchnorm, memory_budget, progress, rows_per_chunk
    """
    allowed = accepted_parameters(cls, engine_options)
    unknown = sorted(set(params) - allowed)
    if unknown:
        shown = sorted(allowed - frozenset(cls.deprecated_params))
        raise ParameterError(
            f"{cls.name} does not take {', '.join(unknown)}; its parameters are: "
            f"{', '.join(shown) or 'none'}"
        )
    for name in sorted(boolean_parameters(cls).intersection(params)):
        check_bool(params[name], name)
    return dict(params)


@functools.cache
def _signature(func: Callable[..., Any]) -> inspect.Signature:
    """``inspect.signature``, computed once per function (it is read on every call)."""
    return inspect.signature(func)


def selection_as_target(sel: Selection) -> Target:
    """A ``target`` that resolves to ``sel`` again on the same model."""
    if sel.mode == "all":
        return "all"
    if sel.mode == "index":
        return sel.index
    return None


def describe_param(value: Any) -> Any:
    """A parameter as recorded in a result: arrays become ``"array(shape)"``."""
    if isinstance(value, np.ndarray | torch.Tensor):
        return f"array{tuple(value.shape)}"
    return value
