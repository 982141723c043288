"""Model-randomisation sanity check (Adebayo et al. 2018): does the explanation depend on the model?

The layers of a copy of the model are re-initialised one after another, from the output down
(cumulatively), and the explanation is recomputed after each step. An explanation that stays
similar to the original while the weights become random does not explain the model (it may be
an edge detector of the input). Similarity is reported as Spearman rank correlation, Pearson
correlation and a structural similarity (SSIM), per step.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from tsexplain._model_state import frozen_eval, model_device_dtype
from tsexplain._targets import flatten_output, resolve_target
from tsexplain._typing import SeriesBatch
from tsexplain._validation import (
    check_additional_inputs,
    check_int,
    check_model,
    check_series_array,
    model_call_error,
)
from tsexplain.exceptions import ParameterError, model_inputs_error
from tsexplain.metrics._checks import check_same_shape
from tsexplain.metrics._similarity import pearson_rows, spearman_rows, ssim_maps

#: ``explain_fn(model, x) -> attribution`` of shape (N, C, T).
ExplainFn = Callable[[torch.nn.Module, torch.Tensor], Any]

__all__ = ["RandomizationResult", "model_randomization_check", "randomizable_layers"]


@dataclass(frozen=True)
class RandomizationResult:
    """Similarity of explanations of the original model and of progressively randomised copies.

    Attributes
    ----------
    layers : list of str
        Step ``i`` re-initialised ``layers[:i + 1]`` (top-down, cumulatively).
    spearman, pearson, ssim : numpy.ndarray of shape (L,)
        Mean over samples of each similarity after each step (NaN samples skipped).
    per_sample : dict of str to numpy.ndarray of shape (L, N)
        The same per sample.
    absolute : bool
        Whether magnitudes were compared.
    explanations : numpy.ndarray of shape (L + 1, N, C, T) or None
        The original explanation followed by one per step, when asked for.

    Examples
    --------
    :func:`model_randomization_check` returns one:

    >>> import torch
    >>> from torch import nn
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16, 1))
    >>> from tsexplain.metrics import model_randomization_check
    >>> res = model_randomization_check(net, torch.randn(3, 2, 6), keep_explanations=True)
    >>> res.layers, res.spearman.shape, res.per_sample["ssim"].shape, res.explanations.shape
    (['3', '0'], (2,), (2, 3), (3, 3, 2, 6))
    >>> [row["layer"] for row in res.as_table()], bool((abs(res.pearson) <= 1).all())
    (['3', '0'], True)
    """

    layers: list[str]
    spearman: np.ndarray
    pearson: np.ndarray
    ssim: np.ndarray
    per_sample: dict[str, np.ndarray] = field(default_factory=dict)
    absolute: bool = True
    explanations: np.ndarray | None = None

    def as_table(self) -> list[dict[str, Any]]:
        """One row per step: layer, spearman, pearson, ssim."""
        return [
            {"layer": name, "spearman": float(s), "pearson": float(p), "ssim": float(q)}
            for name, s, p, q in zip(
                self.layers, self.spearman, self.pearson, self.ssim, strict=True
            )
        ]


def randomizable_layers(model: torch.nn.Module) -> list[str]:
    """Names of the modules holding parameters of their own, from the output down.

    "From the output down" is the reverse of registration order, which is the order of the
    forward pass for sequential models and the usual ``__init__`` style; pass ``layers=``
    explicitly to :func:`model_randomization_check` for other architectures.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16, 1))
    >>> from tsexplain.metrics import randomizable_layers
    >>> randomizable_layers(net)  # the Linear, then the Conv1d (ReLU, Flatten hold no parameters)
    ['3', '0']
    """
    names = [
        name
        for name, module in model.named_modules()
        if any(True for _ in module.parameters(recurse=False))
    ]
    return names[::-1]


def _reinitialise(module: torch.nn.Module, seed: int) -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        reset = getattr(module, "reset_parameters", None)
        if callable(reset):
            reset()
            return
        with torch.no_grad():
            for p in module.parameters(recurse=False):
                std = float(p.std()) if p.numel() > 1 else 1.0
                p.normal_(0.0, std if std > 0 else 1.0)


def _default_explain_fn(
    method: str, target: Any, params: dict[str, Any], extras: tuple[torch.Tensor, ...]
) -> ExplainFn:
    def explain_fn(model: torch.nn.Module, x: torch.Tensor) -> Any:
        try:
            from tsexplain.attribution import explain
        except ImportError as exc:
            raise ImportError(
                "tsexplain.attribution.explain is not available; pass explain_fn=(model, x) -> "
                "array of shape (N, C, T) to model_randomization_check."
            ) from exc
        return np.asarray(explain(model, x, method, target=target,
                                  additional_inputs=extras or None, **params))

    return explain_fn


def model_randomization_check(
    model: torch.nn.Module,
    x: Any,
    *,
    explain_fn: ExplainFn | None = None,
    method: str = "saliency",
    target: Any = None,
    layers: Sequence[str] | None = None,
    absolute: bool = True,
    seed: int = 0,
    ssim_window: int = 7,
    keep_explanations: bool = False,
    additional_inputs: Sequence[SeriesBatch] | SeriesBatch | None = None,
    **explain_params: Any,
) -> RandomizationResult:
    """Cascading model-randomisation test of Adebayo et al. (2018).

    Works on a deep copy: the caller's model is never changed. Starting from the top (output)
    layer, each layer's parameters are re-initialised in turn, keeping earlier steps (cascading
    randomisation), and the explanation of ``x`` is recomputed and compared with the original
    one. A faithful method's similarity drops toward 0 as layers are randomised.

    Parameters
    ----------
    model : torch.nn.Module
        The trained model.
    x : array-like of shape (N, C, T)
        Inputs to explain.
    explain_fn : callable, optional
        ``explain_fn(model, x) -> array of shape (N, C, T)``. Default:
        ``tsexplain.explain(model, x, method, target=target, **explain_params)``.
    method : str
        Method name for the default ``explain_fn``.
    target : None, int, per-sample ints or "predicted"
        Target for the default ``explain_fn`` (ignored when ``explain_fn`` is given).
        Note that ``"predicted"`` follows the randomised model's own prediction.
    layers : sequence of str, optional
        Module names to re-initialise, in this order (top-down). Default:
        :func:`randomizable_layers`.
    absolute : bool
        Compare ``|explanation|`` (True, as in Adebayo et al.'s main figures) or signed values.
    seed : int
        Seeds the re-initialisation (step ``i`` uses a seed mixed from ``(seed, i)``, never
        ``seed`` itself, which would recreate a model built after ``torch.manual_seed(seed)``);
        the global RNG is untouched.
    ssim_window : int
        Window along time of the SSIM.
    keep_explanations : bool
        Keep every explanation in the result.
    additional_inputs : tensor, array, or sequence of them, each of shape (N, ...), optional
        A model's further inputs (``forward(x, static)``), given to the default ``explain_fn``
        and to the forward pass that fixes ``target``; a custom ``explain_fn`` passes them
        itself.
    **explain_params
        Passed to the default ``explain_fn`` (e.g. ``steps=32``).

    Returns
    -------
    RandomizationResult
        Spearman, Pearson and SSIM per step, each in [-1, 1] (1: unchanged explanation).

    Raises
    ------
    ParameterError
        A layer name is unknown, or the model has no parameters (a TorchScript file loaded by
        :func:`tsexplain.io.load_any_model` is frozen: its weights are constants).
    ShapeError
        ``explain_fn`` returns an array that is not shaped like ``x``.
    ModelInputsError
        The model's forward takes more or fewer inputs than ``x`` and ``additional_inputs``.
    ModelOutputError
        The model refuses ``x`` (its C or T, e.g. channels-last data) or an additional input.

    References
    ----------
    Adebayo, J., Gilmer, J., Muelly, M., Goodfellow, I., Hardt, M. & Kim, B. (2018). Sanity
    Checks for Saliency Maps. NeurIPS.

    Examples
    --------
    A model whose explanation does not depend on the weights (here a constant ``explain_fn``)
    fails the check: every similarity stays 1.

    >>> import torch
    >>> from torch import nn
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16, 1))
    >>> from tsexplain.metrics import model_randomization_check
    >>> x = torch.randn(4, 2, 6)
    >>> res = model_randomization_check(net, x, explain_fn=lambda m, xs: xs)  # an "edge detector"
    >>> res.layers, res.spearman.round(6).tolist(), res.pearson.round(6).tolist()
    (['3', '0'], [1.0, 1.0], [1.0, 1.0])
    >>> res = model_randomization_check(net, x, method="saliency")  # depends on the weights
    >>> res.spearman.shape, bool((res.spearman < 1).all())
    ((2,), True)
    """
    model = check_model(model)
    xa = check_series_array(x, "x")
    seed = check_int(seed, "seed")
    ssim_window = check_int(ssim_window, "ssim_window", minimum=1)
    work = copy.deepcopy(model)
    modules = dict(work.named_modules())
    names = list(layers) if layers is not None else randomizable_layers(work)
    unknown = [n for n in names if n not in modules]
    if unknown:
        raise ParameterError(
            f"unknown layer name(s) {unknown}; known: {sorted(k for k in modules if k)}."
        )
    if not names:
        raise ParameterError(
            "model_randomization_check: the model has no parameters to randomise (a TorchScript "
            "file loaded by tsexplain.io.load_any_model is frozen: its weights are constants of "
            "the graph); pass the module itself (your factory + weights), a torch.export "
            "program, or the unfrozen torch.jit.load(path)."
        )
    device, dtype = model_device_dtype(work)
    x_t = torch.as_tensor(xa, dtype=dtype, device=device)
    extras = check_additional_inputs(additional_inputs, x_t, dtype)
    fn = explain_fn
    if fn is None:
        # the explained output is fixed on the trained model ("predicted" is not re-taken after
        # each randomisation), then every randomised copy explains the same output
        where = "model_randomization_check"
        try:
            with frozen_eval(work), torch.no_grad():
                out = flatten_output(work(x_t, *extras), x_t.shape[0])
        except (TypeError, RuntimeError, ValueError) as err:
            user_error = (model_inputs_error(err, len(extras), where, tuple(xa.shape))
                          or model_call_error(work, err, x_t, extras, where))
            if user_error is None:
                raise  # a bug of the model's or ours, or out of memory
            raise user_error from err
        sel = resolve_target(target, out, allow_all=False, where=where)
        fn = _default_explain_fn(
            method, None if sel.mode == "single" else sel.index, explain_params, extras
        )

    def run(m: torch.nn.Module) -> np.ndarray:
        e = check_series_array(fn(m, x_t.clone()), "explain_fn(model, x)", allow_nonfinite=True)
        check_same_shape(xa, e, "x", "explain_fn(model, x)")
        return np.abs(e) if absolute else e

    original = run(work)
    flat0 = original.reshape(original.shape[0], -1)
    spear, pear, ssim, kept = [], [], [], [original]
    for i, name in enumerate(names):
        # A mixed seed, so re-initialising never reproduces a model built after manual_seed(seed).
        step_seed = int(np.random.SeedSequence([seed, i, 0x5A17]).generate_state(1, np.uint64)[0])
        _reinitialise(modules[name], step_seed % (2**63))
        e = run(work)
        flat = e.reshape(e.shape[0], -1)
        spear.append(spearman_rows(flat0, flat))
        pear.append(pearson_rows(flat0, flat))
        ssim.append(ssim_maps(original, e, window=ssim_window))
        if keep_explanations:
            kept.append(e)
    per = {"spearman": np.stack(spear), "pearson": np.stack(pear), "ssim": np.stack(ssim)}

    def mean(v: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            ok = ~np.isnan(v)
            return np.where(ok.any(1), np.nansum(v, 1) / np.maximum(ok.sum(1), 1), np.nan)

    return RandomizationResult(
        layers=names,
        spearman=mean(per["spearman"]),
        pearson=mean(per["pearson"]),
        ssim=mean(per["ssim"]),
        per_sample=per,
        absolute=absolute,
        explanations=np.stack(kept) if keep_explanations else None,
    )
