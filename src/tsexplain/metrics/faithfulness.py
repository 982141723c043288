"""Model-based faithfulness on any data: deletion and insertion curves and their area.

Deletion (Petsiuk et al. 2018, "RISE"; for time series e.g. Schlegel et al. 2019): replace the
most attributed cells of the input by a baseline, a growing fraction at a time, and follow the
model's explained output. A faithful attribution makes it fall fast (small area). Insertion
starts from the baseline and puts the most attributed cells back: the output should rise fast
(large area). No ground truth is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d

from tsexplain._deprecation import renamed_kwargs
from tsexplain._model_state import budget_rows, frozen_eval, model_device_dtype
from tsexplain._targets import flatten_output, target_indices
from tsexplain._typing import SeriesBatch
from tsexplain._validation import (
    _nonfinite_message,
    check_additional_inputs,
    check_choice,
    check_float,
    check_int,
    check_model,
    check_series_array,
    model_call_error,
    to_float_array,
)
from tsexplain.exceptions import NonFiniteError, ParameterError, ShapeError, model_inputs_error
from tsexplain.metrics._base import Metric
from tsexplain.metrics._checks import Reduction, check_same_shape, reduce
from tsexplain.metrics._model_output import OutputTransform, forward_scores

Kind = Literal["deletion", "insertion"]
BaselineName = Literal["zeros", "mean", "blur", "noise"]
_BASELINES = ("zeros", "mean", "blur", "noise")

#: Above this many model evaluations a progress bar is shown when ``progress=None``.
_AUTO_PROGRESS_ROWS = 20_000

__all__ = [
    "DeletionCurve",
    "InsertionCurve",
    "PerturbationCurve",
    "area_under_curve",
    "deletion_curve",
    "insertion_curve",
    "perturbation_baseline",
]


def area_under_curve(fractions: Any, scores: Any) -> np.ndarray:
    """Trapezoidal area under curves sampled at ``fractions`` (the x axis, in [0, 1]).

    Parameters
    ----------
    fractions : array-like of shape (S,)
        Increasing x values, normally from 0 to 1 (fraction of cells perturbed).
    scores : array-like of shape (S,) or (N, S)
        The curve(s).

    Returns
    -------
    numpy.ndarray of shape () or (N,)
        The area; on a normalised x axis, the mean height of the curve.

    Examples
    --------
    >>> from tsexplain.metrics import area_under_curve
    >>> area_under_curve([0.0, 0.5, 1.0], [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]).tolist()
    [1.0, 0.25]
    """
    f = to_float_array(fractions, "fractions")
    s = to_float_array(scores, "scores")
    if f.ndim != 1 or s.shape[-1] != f.shape[0]:
        raise ShapeError(
            f"scores must end with the length of fractions: fractions.shape = {f.shape}, "
            f"scores.shape = {s.shape}."
        )
    widths = np.diff(f)
    if (widths < 0).any() or not np.isfinite(f).all():
        raise ParameterError(
            f"fractions must be finite and increasing (the x axis of the curve), got {f.tolist()}"
        )
    return ((s[..., 1:] + s[..., :-1]) * 0.5 * widths).sum(axis=-1)


@dataclass(frozen=True)
class PerturbationCurve:
    """Deletion or insertion curves of a batch.

    Attributes
    ----------
    kind : {"deletion", "insertion"}
    fractions : numpy.ndarray of shape (S,)
        Fraction of the C x T cells replaced (deletion) or restored (insertion) at each step,
        from 0 to 1 (to ``max_fraction`` for a deletion curve that stops early).
    scores : numpy.ndarray of shape (N, S)
        The model's explained output (after ``output_transform``) at each step.
    baseline : str
        Name of the baseline ("array" for a user-given one).
    target : numpy.ndarray of shape (N,)
        The output index followed for each sample.

    Examples
    --------
    :func:`deletion_curve` returns one; here for ``f(x) = sum(x)``, deleting the largest value
    first (4, then 3, 2, 1):

    >>> import numpy as np, torch
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1, bias=False))
    >>> _ = torch.nn.init.ones_(model[1].weight)  # f(x) = sum of x
    >>> x = np.array([[[1.0, 2.0, 3.0, 4.0]]])  # (N, C, T) = (1, 1, 4); attribution = x
    >>> from tsexplain.metrics import deletion_curve
    >>> curve = deletion_curve(model, x, x, steps=4)
    >>> curve.kind, curve.fractions.tolist(), curve.scores.tolist()
    ('deletion', [0.0, 0.25, 0.5, 0.75, 1.0], [[10.0, 6.0, 3.0, 1.0, 0.0]])
    >>> curve.auc(), curve.normalized_auc()
    (3.75, 0.375)
    """

    kind: str
    fractions: np.ndarray
    scores: np.ndarray
    baseline: str
    target: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)

    def auc(self, reduction: Reduction = "mean") -> np.ndarray | float:
        """Area under each curve on a normalised x axis (the curve's mean height over the fractions
        it covers, ``[0, 1]`` unless ``max_fraction`` was set): low is good for deletion, high for
        insertion."""
        return reduce(self._area(), reduction)

    def _area(self) -> np.ndarray:
        span = float(self.fractions[-1] - self.fractions[0])
        area = area_under_curve(self.fractions, self.scores)
        return area / span if span > 0 and span != 1.0 else area

    def normalized_auc(self, reduction: Reduction = "mean") -> np.ndarray | float:
        """Area of the curve divided by its unperturbed end's output (``scores`` at the full input).

        For deletion that is ``scores[:, 0]``, for insertion ``scores[:, -1]``; undefined (NaN)
        where that output is 0.
        """
        ref = self.scores[:, 0] if self.kind == "deletion" else self.scores[:, -1]
        area = self._area()
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(ref != 0, area / np.where(ref != 0, ref, 1.0), np.nan)
        return reduce(out, reduction)


def perturbation_baseline(
    x: Any,
    baseline: BaselineName | float | np.ndarray | torch.Tensor = "zeros",
    *,
    blur_sigma: float = 5.0,
    seed: int | None = 0,
) -> np.ndarray:
    """The series that replaces deleted cells (or that insertion starts from).

    Parameters
    ----------
    x : array-like of shape (N, C, T)
    baseline : {"zeros", "mean", "blur", "noise"}, float or array broadcastable to (N, C, T)
        ``"zeros"``: 0 everywhere. ``"mean"``: each channel's mean over time, per sample.
        ``"blur"``: the series smoothed by a Gaussian of ``blur_sigma`` steps along time
        (removes local detail, keeps the level). ``"noise"``: Gaussian noise with each
        channel's mean and standard deviation, seeded. A number or array is used as it is.
    blur_sigma : float
        Standard deviation of the Gaussian blur, in time steps.
    seed : int or None
        Seed of the ``"noise"`` baseline.

    Returns
    -------
    numpy.ndarray of shape (N, C, T)

    Examples
    --------
    >>> from tsexplain.metrics import perturbation_baseline
    >>> x = [[[1.0, 2.0, 3.0, 6.0]]]  # (1, 1, 4)
    >>> perturbation_baseline(x, "mean").tolist(), perturbation_baseline(x, "zeros").shape
    ([[[3.0, 3.0, 3.0, 3.0]]], (1, 1, 4))
    """
    xa = check_series_array(x, "x")
    seed = None if seed is None else check_int(seed, "seed")
    if isinstance(baseline, str):
        check_choice(baseline, "baseline", _BASELINES)
        if baseline == "zeros":
            return np.zeros_like(xa)
        if baseline == "mean":
            return np.broadcast_to(xa.mean(axis=2, keepdims=True), xa.shape).copy()
        if baseline == "blur":
            sigma = check_float(blur_sigma, "blur_sigma", minimum=0.0, strict=True)
            return gaussian_filter1d(xa, sigma, axis=2, mode="nearest")
        rng = np.random.default_rng(seed)
        mu = xa.mean(axis=2, keepdims=True)
        sd = xa.std(axis=2, keepdims=True)
        return mu + sd * rng.standard_normal(xa.shape)
    b = to_float_array(baseline, "baseline")
    if not np.isfinite(b).all():
        raise NonFiniteError(_nonfinite_message("baseline", int((~np.isfinite(b)).sum())))
    try:
        return np.broadcast_to(b, xa.shape).copy()
    except ValueError:
        raise ShapeError(
            f"baseline must broadcast to x.shape = {xa.shape}, got baseline.shape = {b.shape}."
        ) from None


def _ranks(importance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rank (0 = most important) of every cell, ties broken at random; shape (N, D)."""
    n, d = importance.shape
    ranks = np.empty((n, d), dtype=np.int64)
    for i in range(n):
        order = np.lexsort((rng.random(d), -importance[i]))
        ranks[i, order] = np.arange(d)
    return ranks


def _curve(
    kind: str,
    model: Any,
    x: Any,
    attribution: Any,
    *,
    target: Any,
    baseline: Any,
    steps: int,
    absolute: bool,
    output_transform: OutputTransform | None,
    blur_sigma: float,
    memory_budget: int | str | None,
    batch_size: int | None,
    progress: bool | None,
    seed: int | None,
    max_fraction: float = 1.0,
    additional_inputs: Any = None,
) -> PerturbationCurve:
    model = check_model(model)
    xa = check_series_array(x, "x")
    aa = check_series_array(attribution, "attribution")
    check_same_shape(xa, aa, "x", "attribution")
    steps = check_int(steps, "steps", minimum=1)
    seed = None if seed is None else check_int(seed, "seed")
    n, c, t = xa.shape
    d = c * t
    rng = np.random.default_rng(seed)
    base = perturbation_baseline(xa, baseline, blur_sigma=blur_sigma, seed=seed)
    importance = (np.abs(aa) if absolute else aa).reshape(n, d)
    ranks = _ranks(importance, rng)
    if (isinstance(max_fraction, bool) or not isinstance(max_fraction, int | float)
            or not 0.0 < float(max_fraction) <= 1.0):
        raise ParameterError(
            f"{kind}_curve: max_fraction must be a number in (0, 1] (the largest fraction of the "
            f"C x T cells perturbed), got {max_fraction!r}"
        )
    counts = np.round(np.linspace(0, float(max_fraction) * d, steps + 1)).astype(np.int64)
    fractions = counts / d
    n_points = steps + 1
    device, dtype = model_device_dtype(model)
    x_t = torch.as_tensor(xa, dtype=dtype, device=device)
    extras = check_additional_inputs(additional_inputs, x_t, dtype)
    b_t = torch.as_tensor(base, dtype=dtype, device=device)
    r_t = torch.as_tensor(ranks.reshape(n, 1, c, t), device=device)
    k_t = torch.as_tensor(counts, device=device).reshape(1, n_points, 1, 1)
    scores = np.empty((n, n_points))
    show = progress if progress is not None else n * n_points > _AUTO_PROGRESS_ROWS
    from tqdm.auto import tqdm

    try:
        with frozen_eval(model):
            batch_size = budget_rows(
                model, x_t, memory_budget, batch_size, f"{kind}_curve", stacklevel=4, extras=extras
            )
            chunk = max(1, batch_size // n_points)
            with torch.no_grad():
                outs = [
                    flatten_output(model(x_t[i : i + batch_size],
                                         *(e[i : i + batch_size] for e in extras)),
                                   x_t[i : i + batch_size].shape[0])
                    for i in range(0, n, batch_size)
                ]
            idx = target_indices(target, torch.cat(outs), where=f"{kind}_curve")
            bar = tqdm(total=n, desc=f"{kind} curve", unit="series", disable=not show, leave=False)
            try:
                for start in range(0, n, chunk):
                    sl = slice(start, start + chunk)
                    top = r_t[sl] < k_t  # (n_chunk, S, C, T): cell among the top-k at step j
                    xs, bs = x_t[sl, None], b_t[sl, None]
                    if kind == "deletion":
                        pert = torch.where(top, bs, xs)
                    else:
                        pert = torch.where(top, xs, bs)
                    m = pert.shape[0]
                    flat = pert.reshape(m * n_points, c, t)
                    rows = idx[sl].repeat_interleave(n_points)  # sample-major, as flat's rows
                    out = forward_scores(
                        model, flat, rows, output_transform=output_transform,
                        rows_per_forward=batch_size,
                        extras=tuple(e[sl].repeat_interleave(n_points, dim=0) for e in extras),
                    )
                    scores[sl] = out.reshape(m, n_points).double().cpu().numpy()
                    bar.update(m)
            finally:
                bar.close()
    except (TypeError, RuntimeError, ValueError) as err:  # TorchScript: a RuntimeError
        where = f"{kind}_curve"
        user_error = (model_inputs_error(err, len(extras), where, tuple(xa.shape))
                      or model_call_error(model, err, x_t, extras, where))
        if user_error is None:
            raise  # a bug of the model's or ours, or out of memory
        raise user_error from err
    name = baseline if isinstance(baseline, str) else "array"
    return PerturbationCurve(
        kind=kind,
        fractions=fractions,
        scores=scores,
        baseline=name,
        target=idx.cpu().numpy(),
        params={"steps": steps, "absolute": absolute, "blur_sigma": blur_sigma, "seed": seed,
                **({"max_fraction": float(max_fraction)} if max_fraction != 1.0 else {})},
    )


_PARAMS_DOC = """
    Parameters
    ----------
    model : torch.nn.Module or callable
        Maps ``(N, C, T)`` to ``(N,)`` or ``(N, K)``; put in eval mode for the run, restored after.
    x : array-like of shape (N, C, T)
        The explained input.
    attribution : array-like of shape (N, C, T)
        Its attribution; cells are ranked by ``|attribution|`` (``absolute=True``) or by the
        signed value (``absolute=False``: cells with negative attribution come last).
    target : None, int, per-sample ints or "predicted"
        Output followed; ``"predicted"`` is the argmax on the unperturbed ``x``.
    baseline : {"zeros", "mean", "blur", "noise"}, float or array
        Replacement values, see :func:`perturbation_baseline`.
    steps : int
        Number of steps; step j perturbs ``round(j / steps * C * T)`` cells.
    absolute : bool
        Rank by magnitude (True) or by signed value (False).
    output_transform : callable, optional
        Applied to the model's output before selecting the target, e.g.
        ``lambda o: o.softmax(-1)`` to follow a probability.
    blur_sigma : float
        Width of the ``"blur"`` baseline, in steps.
    memory_budget : int or str, optional
        Bytes (or "512MB") the model's forward passes may use; the N x (steps + 1) perturbed
        series are evaluated in chunks that fit. Default: the package's memory budget
        (:func:`tsexplain.attribution.set_memory_budget`).
    batch_size : int, optional
        Deprecated: rows per forward pass; use ``memory_budget``.
    progress : bool, optional
        Show a progress bar; default: only for long runs.
    seed : int or None
        Seeds the random tie-breaking among equal attributions and the ``"noise"`` baseline.
    additional_inputs : tensor, array, or sequence of them, each of shape (N, ...), optional
        A model's further inputs (e.g. static covariates): the model is called as
        ``model(x, *additional_inputs)``. They are held fixed: every perturbed copy of a series
        gets that series' additional inputs; only the cells of ``x`` are deleted or inserted.

    Returns
    -------
    PerturbationCurve
        ``fractions`` (S,) and ``scores`` (N, S) with S = steps + 1; ``.auc()`` gives the area
        on the normalised x axis.

    Raises
    ------
    ShapeError
        ``x`` and ``attribution`` differ in shape, ``baseline`` does not broadcast, or an
        additional input does not have N rows.
    ModelInputsError
        The model's forward takes more or fewer inputs than ``x`` and ``additional_inputs``.
    ModelOutputError
        The model refuses the input: ``x``'s C or T (e.g. channels-last data, with the
        transpose to apply), an additional input's shape, or an integer / bool additional
        input where the model needs floats.
"""


@renamed_kwargs(n_steps="steps")
def deletion_curve(
    model: Any,
    x: Any,
    attribution: Any,
    *,
    target: Any = None,
    baseline: BaselineName | float | np.ndarray | torch.Tensor = "zeros",
    steps: int = 20,
    absolute: bool = True,
    output_transform: OutputTransform | None = None,
    blur_sigma: float = 5.0,
    memory_budget: int | str | None = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    seed: int | None = 0,
    max_fraction: float = 1.0,
    additional_inputs: Sequence[SeriesBatch] | SeriesBatch | None = None,
) -> PerturbationCurve:
    return _curve(
        "deletion",
        model,
        x,
        attribution,
        target=target,
        baseline=baseline,
        steps=steps,
        absolute=absolute,
        output_transform=output_transform,
        blur_sigma=blur_sigma,
        memory_budget=memory_budget,
        batch_size=batch_size,
        progress=progress,
        seed=seed,
        max_fraction=max_fraction,
        additional_inputs=additional_inputs,
    )


@renamed_kwargs(n_steps="steps")
def insertion_curve(
    model: Any,
    x: Any,
    attribution: Any,
    *,
    target: Any = None,
    baseline: BaselineName | float | np.ndarray | torch.Tensor = "blur",
    steps: int = 20,
    absolute: bool = True,
    output_transform: OutputTransform | None = None,
    blur_sigma: float = 5.0,
    memory_budget: int | str | None = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    seed: int | None = 0,
    additional_inputs: Sequence[SeriesBatch] | SeriesBatch | None = None,
) -> PerturbationCurve:
    return _curve(
        "insertion",
        model,
        x,
        attribution,
        target=target,
        baseline=baseline,
        steps=steps,
        absolute=absolute,
        output_transform=output_transform,
        blur_sigma=blur_sigma,
        memory_budget=memory_budget,
        batch_size=batch_size,
        progress=progress,
        seed=seed,
        additional_inputs=additional_inputs,
    )


deletion_curve.__doc__ = (
    """Deletion curve: replace the most attributed cells by a baseline, step by step.

    At step j the ``round(j / steps * max_fraction * C * T)`` cells of highest attribution (per
    sample) are replaced by the baseline, and the model's explained output is recorded. A
    faithful attribution makes the output fall fast: a small area under the curve.
    ``max_fraction`` < 1 (keyword) stops the curve early, for models whose output has collapsed
    after the first few percent of cells: e.g. ``steps = C * T // 20, max_fraction = 0.05``
    deletes the first 5% one cell per step. ``auc()`` is then the mean height over ``[0,
    max_fraction]``.
"""
    + _PARAMS_DOC
    + """
    See Also
    --------
    insertion_curve, area_under_curve, DeletionCurve

    References
    ----------
    Petsiuk, V., Das, A. & Saenko, K. (2018). RISE: Randomized Input Sampling for Explanation of
    Black-box Models. BMVC.

    Examples
    --------
    For ``f(x) = sum(x)`` and attribution ``x``, the cells 4, 3, 2, 1 are zeroed in turn:

    >>> import numpy as np, torch
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1, bias=False))
    >>> _ = torch.nn.init.ones_(model[1].weight)  # f(x) = sum of x
    >>> x = np.array([[[1.0, 2.0, 3.0, 4.0]]])  # (N, C, T) = (1, 1, 4); attribution = x
    >>> from tsexplain.metrics import deletion_curve
    >>> curve = deletion_curve(model, x, x, steps=4)
    >>> curve.scores.tolist(), curve.auc()
    ([[10.0, 6.0, 3.0, 1.0, 0.0]], 3.75)
"""
)

insertion_curve.__doc__ = (
    """Insertion curve: start from the baseline and restore the most attributed cells first.

    At step j the ``round(j / steps * C * T)`` cells of highest attribution hold their true
    values and the others the baseline (a blurred series by default, as in RISE; zeros often
    leave a model's output undefined). A faithful attribution makes the output rise fast: a
    large area under the curve.
"""
    + _PARAMS_DOC
    + """
    See Also
    --------
    deletion_curve, area_under_curve, InsertionCurve

    Examples
    --------
    For ``f(x) = sum(x)`` and attribution ``x``, the cells 4, 3, 2, 1 are restored in turn:

    >>> import numpy as np, torch
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1, bias=False))
    >>> _ = torch.nn.init.ones_(model[1].weight)  # f(x) = sum of x
    >>> x = np.array([[[1.0, 2.0, 3.0, 4.0]]])  # (N, C, T) = (1, 1, 4); attribution = x
    >>> from tsexplain.metrics import insertion_curve
    >>> curve = insertion_curve(model, x, x, baseline="zeros", steps=4)
    >>> curve.scores.tolist(), curve.auc()
    ([[0.0, 4.0, 7.0, 9.0, 10.0]], 6.25)
"""
)


class _CurveMetric(Metric):
    _kind: Kind = "deletion"

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__()

    def reset(self) -> None:
        self._curves: list[PerturbationCurve] = []

    def update(self, model: Any, x: Any, attribution: Any, *, target: Any = None,
               additional_inputs: Any = None) -> None:
        """Add the curves of one batch: ``x`` and ``attribution`` (N, C, T), the model's
        ``additional_inputs`` (each (N, ...)) if it takes any."""
        fn: Callable[..., PerturbationCurve] = (
            deletion_curve if self._kind == "deletion" else insertion_curve
        )
        self._curves.append(fn(model, x, attribution, target=target,
                               additional_inputs=additional_inputs, **self.params))

    def compute(self) -> PerturbationCurve:
        """Every curve seen, stacked; ``.auc()`` of the result is the mean area."""
        if not self._curves:
            raise ParameterError(f"{type(self).__name__}.compute() called before any update().")
        first = self._curves[0]
        for cur in self._curves[1:]:
            if cur.fractions.shape != first.fractions.shape or not np.allclose(
                cur.fractions, first.fractions
            ):
                raise ShapeError(
                    "batches have different numbers of cells (C x T), so their curves are sampled "
                    f"at different fractions: {first.fractions.shape} vs {cur.fractions.shape}."
                )
        return PerturbationCurve(
            kind=first.kind,
            fractions=first.fractions,
            scores=np.concatenate([c.scores for c in self._curves]),
            baseline=first.baseline,
            target=np.concatenate([c.target for c in self._curves]),
            params=first.params,
        )

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({params})"


class DeletionCurve(_CurveMetric):
    """Accumulating :func:`deletion_curve`: ``update(model, x, attribution, target=...)`` per batch.

    Keyword arguments of the constructor are passed to :func:`deletion_curve`.

    Examples
    --------
    >>> import numpy as np, torch
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1, bias=False))
    >>> _ = torch.nn.init.ones_(model[1].weight)  # f(x) = sum of x
    >>> x = np.array([[[1.0, 2.0, 3.0, 4.0]]])  # (N, C, T) = (1, 1, 4); attribution = x
    >>> from tsexplain.metrics import DeletionCurve
    >>> metric = DeletionCurve(steps=4)
    >>> metric.update(model, x, x); metric.update(model, 2 * x, x)
    >>> curve = metric.compute()
    >>> curve.scores.tolist(), curve.auc()  # areas 3.75 and 7.5
    ([[10.0, 6.0, 3.0, 1.0, 0.0], [20.0, 12.0, 6.0, 2.0, 0.0]], 5.625)
    """

    _kind = "deletion"


class InsertionCurve(_CurveMetric):
    """Accumulating :func:`insertion_curve`: ``update(model, x, attribution, target=...)`` per batch.

    Keyword arguments of the constructor are passed to :func:`insertion_curve`.

    Examples
    --------
    >>> import numpy as np, torch
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1, bias=False))
    >>> _ = torch.nn.init.ones_(model[1].weight)  # f(x) = sum of x
    >>> x = np.array([[[1.0, 2.0, 3.0, 4.0]]])  # (N, C, T) = (1, 1, 4); attribution = x
    >>> from tsexplain.metrics import InsertionCurve
    >>> metric = InsertionCurve(steps=4, baseline="zeros")
    >>> metric.update(model, x, x); metric.update(model, 2 * x, x)
    >>> curve = metric.compute()
    >>> curve.scores.shape, curve.auc()  # areas 6.25 and 12.5
    ((2, 5), 9.375)
    """

    _kind = "insertion"
