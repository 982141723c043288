"""The common protocol of every attribution method.

The public :meth:`Attribution.attribute` validates and converts the input, puts the models in
eval mode (restoring them afterwards), folds BatchNorm, resolves the target, times the call and
wraps the values; each method only writes :meth:`Attribution._attribute`.
"""

from __future__ import annotations

import inspect
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, final

import numpy as np
import torch
from torch import nn

from tsexplain._typing import SeriesBatch, Target
from tsexplain._validation import check_model, check_series_batch
from tsexplain.attribution._engine import Engine
from tsexplain.attribution._memory import get_memory_budget, parse_bytes
from tsexplain.attribution._model_state import eval_mode, fold_batchnorm
from tsexplain.attribution._result import AttributionResult
from tsexplain.attribution._targets import Selection, resolve_target
from tsexplain.exceptions import (
    ModelOutputError,
    SaturationWarning,
    ShapeError,
    TargetError,
    ZeroGradientWarning,
)

_SATURATING = (nn.Sigmoid, nn.Softmax, nn.LogSoftmax, nn.Softmin)


def as_model_list(model: nn.Module | Sequence[nn.Module]) -> list[nn.Module]:
    """One model, or a non-empty list of models (AGRA), as a list of modules."""
    if isinstance(model, nn.Module) or callable(model) and not isinstance(model, Sequence):
        return [check_model(model)]
    if isinstance(model, Sequence) and not isinstance(model, str):
        if len(model) == 0:
            raise ValueError("model: an empty list of models; pass one model or several (AGRA)")
        return [check_model(m, f"model[{i}]") for i, m in enumerate(model)]
    raise TypeError(
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
    #: Whether the method works on one long series with per-time-step outputs.
    sequence_method: ClassVar[bool] = False

    def __init__(
        self,
        model: nn.Module | Sequence[nn.Module],
        *,
        memory_budget: int | str | None = None,
        progress: bool | None = None,
        fold_batchnorm: bool = True,
    ) -> None:
        self.models = as_model_list(model)
        self.memory_budget = get_memory_budget() if memory_budget is None else parse_bytes(memory_budget)
        self.progress = progress
        self.fold_batchnorm = bool(fold_batchnorm)

    # ----------------------------------------------------------------- description
    @classmethod
    def parameters(cls) -> dict[str, Any]:
        """The method's own parameters and their defaults (engine options excluded)."""
        sig = inspect.signature(cls.__init__)
        skip = {"self", "model", "memory_budget", "progress", "fold_batchnorm"}
        return {
            n: (None if p.default is inspect.Parameter.empty else p.default)
            for n, p in sig.parameters.items()
            if n not in skip and p.kind is not inspect.Parameter.VAR_KEYWORD
        }

    @classmethod
    def summary(cls) -> str:
        """First line of the class docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""

    def params(self) -> dict[str, Any]:
        """The parameters of this instance (as used)."""
        return {n: getattr(self, n) for n in self.parameters()}

    # ----------------------------------------------------------------- protocol
    @final
    def attribute(self, x: SeriesBatch, target: Target = None) -> AttributionResult:
        """Attribute the model's output to every channel and time step of ``x``.

        Parameters
        ----------
        x : torch.Tensor or numpy.ndarray of shape (N, C, T)
            The series to explain.
        target : None, int, sequence of int, "predicted" or "all"
            Which output to explain: None for a single-output model, a class/output index
            (one for all samples or one per sample), ``"predicted"`` (argmax), or ``"all"``
            (every output at once, giving values of shape (N, K, C, T)).

        Returns
        -------
        AttributionResult
            ``numpy.asarray(result)`` has the shape of ``x`` (or (N, K, C, T)).
        """
        start = time.perf_counter()
        device, dtype = _model_device_dtype(self.models[0])
        x_t = check_series_batch(x, "x", device=device).to(dtype)
        try:
            with eval_mode(self.models):
                probe = self._probe(x_t)
                models = self.models
                if self.fold_batchnorm:
                    models = [fold_batchnorm(m, probe) for m in models]
                engine = Engine(models, probe[:1], self.memory_budget, self.progress, self.name)
                values, sel, preds, extras = self._attribute(x_t, target, engine)
        except (ShapeError, TargetError, ModelOutputError):
            raise
        except RuntimeError as err:
            if "grad" in str(err) and "does not require grad" in str(err):
                raise ModelOutputError(
                    f"{self.name}: the model's output is not differentiable with respect to x "
                    f"(shape {tuple(x_t.shape)}); is it wrapped in torch.no_grad() or detached?"
                ) from err
            raise ModelOutputError(
                f"{self.name}: the model failed on x of shape {tuple(x_t.shape)} (N, C, T): {err}. "
                f"Check that C and T match what the model was built for."
            ) from err
        values_np = values.detach().cpu().float().numpy()
        self._check_gradients(values_np)
        return AttributionResult(
            values=values_np,
            method=self.name,
            params=self.params(),
            target=sel.as_numpy() if sel is not None else None,
            predictions=None if preds is None else preds.detach().cpu().float().numpy(),
            n_models=len(self.models),
            signed=self.signed and not getattr(self, "absolute", False),
            extras=extras,
            seconds=time.perf_counter() - start,
        )

    @abstractmethod
    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine
    ) -> tuple[torch.Tensor, Selection | None, torch.Tensor | None, dict[str, Any]]:
        """Compute the values; return ``(values, selection, predictions, extras)``."""

    # ----------------------------------------------------------------- helpers
    def _probe(self, x: torch.Tensor) -> torch.Tensor:
        """A few model inputs (n, C, T') used to size chunks and check BatchNorm folding."""
        return x[:2]

    def _select(self, x: torch.Tensor, target: Target, engine: Engine) -> tuple[Selection, torch.Tensor]:
        """Forward ``x``, resolve ``target``, warn on saturated outputs."""
        outputs = engine.outputs(x)
        if not bool(torch.isfinite(outputs).all()):
            raise ModelOutputError(
                f"{self.name}: the model returned NaN or Inf for x of shape {tuple(x.shape)}"
            )
        sel = resolve_target(target, outputs)
        self._check_saturation(outputs, sel)
        return sel, outputs

    def _check_saturation(self, outputs: torch.Tensor, sel: Selection) -> None:
        last = [m for m in self.models[0].modules() if not list(m.children())]
        ends_squashed = bool(last) and isinstance(last[-1], _SATURATING)
        # a softmax applied in forward() without a module: outputs in [0, 1] summing to 1
        looks_prob = (
            outputs.shape[1] > 1
            and bool(((outputs >= 0) & (outputs <= 1)).all())
            and bool(torch.allclose(outputs.sum(1), torch.ones(1, dtype=outputs.dtype), atol=1e-4))
        )
        if not (ends_squashed or looks_prob):
            return
        if sel.mode == "index" and sel.index is not None:
            chosen = outputs.gather(1, sel.index[:, None])[:, 0]
        else:
            chosen = outputs.max(dim=1).values
        saturated = (chosen > 1 - 1e-4) | (chosen < 1e-4)
        if bool(saturated.any()):
            warnings.warn(
                f"{self.name}: {int(saturated.sum())} of {len(chosen)} samples have a saturated "
                f"sigmoid/softmax output (within 1e-4 of 0 or 1): its gradient vanishes and the "
                f"attribution understates the input's influence (TSViz, Proposition 1). Explain the "
                f"logits (drop the final sigmoid/softmax), or soften the output with a temperature.",
                SaturationWarning,
                stacklevel=4,
            )

    def _check_gradients(self, values: np.ndarray) -> None:
        flat = values.reshape(values.shape[0], -1)
        finite = np.isfinite(flat)
        dead = np.array([not np.any(row[f] != 0) for row, f in zip(flat, finite, strict=True)])
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


def _model_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    for p in model.parameters():
        if p.is_floating_point():
            return p.device, p.dtype
    return torch.device("cpu"), torch.float32
