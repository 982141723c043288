"""Checks run before any attribution work: does the data fit the model, and the machine?"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsexplain.exceptions import (
    InputTypeError,
    ModelInputsError,
    ParameterError,
    ShapeError,
    TargetError,
    is_dtype_mismatch,
    model_inputs_problem,
    too_many_inputs,
)

__all__ = ["ModelProbe", "check_model_data", "check_memory", "available_memory",
           "model_inputs_refusal"]


@dataclass
class ModelProbe:
    """What one forward pass on one sample told: K outputs per sample, the output's shape.

    Examples
    --------
    >>> import numpy as np, torch
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 3))
    >>> check_model_data(model, np.zeros((4, 2, 8)), target="predicted")  # X (N, C, T)
    ModelProbe(n_outputs=3, output_shape=(1, 3))
    """

    n_outputs: int
    output_shape: tuple[int, ...]


def _expected_channels(model: Any) -> int | None:
    """in_channels of the model's first Conv1d, if it has one (for the error message)."""
    import torch

    try:
        for m in model.modules():
            if isinstance(m, torch.nn.Conv1d):
                return int(m.in_channels)
            if hasattr(m, "in_channels") and isinstance(m.in_channels, int):  # TorchScript
                return int(m.in_channels)
    except Exception:
        return None
    return None


def model_inputs_refusal(problem: str, *, takes_additional: bool) -> ModelInputsError:
    """The error of a door that gave a model more or fewer inputs than its forward takes: the
    problem and where that door takes a model's further inputs.

    Parameters
    ----------
    problem : str
        What is wrong, from :func:`tsexplain.exceptions.model_inputs_problem`.
    takes_additional : bool
        True for the command line, which takes further inputs as files
        (``tsexplain explain --additional-input``); False for the explorer's workspace, whose
        data sets carry them as the arrays ``additional_0``, ``additional_1``, ... of
        ``datasets/NAME.npz``.

    Examples
    --------
    >>> print(model_inputs_refusal("the model's forward takes more inputs than the series "
    ...                            "(missing: 'static')", takes_additional=True))
    ... # doctest: +NORMALIZE_WHITESPACE
    the model's forward takes more inputs than the series (missing: 'static'): give its further
    inputs in the order of forward's arguments after x, one --additional-input FILE[:KEY] each
    (.npy, .npz or .csv, one row per series; in Python the keyword additional_inputs=)
    >>> print(model_inputs_refusal("the model's forward takes more inputs than the series "
    ...                            "(missing: 'static')", takes_additional=False))
    ... # doctest: +NORMALIZE_WHITESPACE
    the model's forward takes more inputs than the series (missing: 'static'): in the explorer a
    model gets its further inputs from the data set: add them to datasets/NAME.npz as arrays
    additional_0, additional_1, ... in the order of forward's arguments after x, one row per
    series ('tsexplain workspace add-data ... --additional-input FILE' writes them)
    """
    if too_many_inputs(problem):
        advice = ("give only the inputs forward takes after x, one --additional-input FILE[:KEY] "
                  "each (none for a model of the series alone)" if takes_additional else
                  "in the explorer a model gets the arrays additional_0, additional_1, ... of "
                  "its data set (datasets/NAME.npz) after the series: pair it with a data set "
                  "holding only the further inputs forward takes (none for a model of the "
                  "series alone)")
    elif takes_additional:
        advice = ("give its further inputs in the order of forward's arguments after x, one "
                  "--additional-input FILE[:KEY] each (.npy, .npz or .csv, one row per series; in "
                  "Python the keyword additional_inputs=)")
    else:
        advice = ("in the explorer a model gets its further inputs from the data set: add them "
                  "to datasets/NAME.npz as arrays additional_0, additional_1, ... in the order "
                  "of forward's arguments after x, one row per series ('tsexplain workspace "
                  "add-data ... --additional-input FILE' writes them)")
    return ModelInputsError(f"{problem}: {advice}", problem)


def _forward(model: Any, x: np.ndarray,
             additional: Sequence[np.ndarray] | None) -> tuple[Any, Exception | None]:
    """``model(x, *additional)`` and None, or None and the error it raised; a model that takes
    more or fewer inputs than given is refused here (``additional`` None: the workspace's door,
    whose advice names the data set's arrays, :func:`model_inputs_refusal`)."""
    import torch

    from tsexplain._validation import check_additional_inputs

    try:
        dtype = next(iter(model.parameters())).dtype
    except (StopIteration, AttributeError, RuntimeError):
        dtype = torch.float32
    if not dtype.is_floating_point:
        dtype = torch.float32
    x_t = torch.tensor(np.asarray(x), dtype=dtype)
    extras = check_additional_inputs(additional, x_t, dtype)
    try:
        with torch.no_grad():
            return model(x_t, *extras), None
    except Exception as exc:  # any error of the user's forward is a mismatch to report
        problem = model_inputs_problem(exc, len(extras))
        if problem is not None:
            raise model_inputs_refusal(problem, takes_additional=additional is not None) from None
        return None, exc


def _last_line(exc: Exception) -> str:
    """The last line of an error's text (at most 200 characters), for a one-line message."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:200]


def check_model_data(model: Any, X: np.ndarray, *, target: Any = None, method: str | None = None,
                     channels_last: bool = False,
                     additional_inputs: Sequence[np.ndarray] | None = None) -> ModelProbe:
    """One forward pass on the first sample: a clear error when data and model do not fit.

    Parameters
    ----------
    model : torch.nn.Module
    X : array of shape (N, C, T)
        The data as it will be explained (after any transpose).
    target : as for :func:`tsexplain.explain`
        ``None`` with a multi-output model (a classifier) is refused, with the fix in the message.
    method : str, optional
        ``time_smoothgrad`` explains per-step outputs and skips the target check.
    channels_last : bool
        Whether the user already asked for a transpose (changes the hint).
    additional_inputs : sequence of arrays, each of shape (N, ...), optional
        The model's further inputs (``model(x, *additional_inputs)``); a sequence, even empty,
        says that the caller takes them as files (``tsexplain explain --additional-input``), None
        that the caller is the explorer's workspace (the message of a multi-input model then
        says how a workspace data set carries its further inputs).

    Raises
    ------
    ShapeError
        The model fails on the data; when it works on the transposed sample the message says to
        pass ``--channels-last``.
    InputTypeError
        The model fails on an integer or bool further input that it reads as numbers (the
        message says to save it as floats).
    TargetError
        Several outputs per sample and no target.
    ModelInputsError
        The model's forward takes more or fewer inputs than the series and ``additional_inputs``.

    Examples
    --------
    >>> import numpy as np, torch
    >>> model = torch.nn.Sequential(torch.nn.Conv1d(3, 4, 5), torch.nn.AdaptiveAvgPool1d(1),
    ...                             torch.nn.Flatten(), torch.nn.Linear(4, 2))
    >>> X = np.zeros((10, 3, 50), dtype=np.float32)  # (N, C, T)
    >>> check_model_data(model, X, target="predicted").n_outputs
    2
    >>> check_model_data(model, X)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tsexplain.exceptions.TargetError: the model has 2 outputs per sample, so target=None is ambiguous; ...
    >>> check_model_data(model, X.transpose(0, 2, 1), target=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tsexplain.exceptions.ShapeError: the data look channels-last: ... pass --channels-last ...
    """
    from tsexplain._validation import model_channels_problem

    n, c, t = X.shape
    problem = model_channels_problem(model, (n, c, t), "the data")
    if problem is not None and model_channels_problem(model, (n, t, c)) is not None:
        # refused before any forward pass: an exported or traced recurrent layer does not
        # check its input's size (its native kernel would read out of bounds)
        raise ShapeError(
            f"the model does not accept this data, {n} samples x {c} channels x {t} steps: "
            f"{problem}. Check that MODEL and DATA belong together"
        )
    one = X[:1]
    extras = None if additional_inputs is None else [np.asarray(a)[:1] for a in additional_inputs]
    out, exc = _forward(model, one, extras)
    if exc is not None:
        err = _last_line(exc)
        if is_dtype_mismatch(exc) and additional_inputs:
            kept = [(i, np.asarray(a)) for i, a in enumerate(additional_inputs)
                    if not np.issubdtype(np.asarray(a).dtype, np.floating)]
            if kept:
                listed = ", ".join(f"--additional-input number {i + 1} (dtype {a.dtype}, shape "
                                   f"{a.shape})" for i, a in kept)
                raise InputTypeError(
                    f"the model failed on {listed}: {err}. Integer and bool additional inputs "
                    f"are passed as they are (they may be indices of an embedding); if the model "
                    f"reads them as numbers, save them as floats: "
                    f"np.save(path, a.astype('float32'))"
                )
        swapped, err2 = _forward(model, np.swapaxes(one, 1, 2), extras)
        if err2 is None and c != t:
            if channels_last:
                raise ShapeError(
                    f"the model accepts the data as stored, shape (1, {c}, {t}), not transposed: "
                    f"drop --channels-last"
                )
            raise ShapeError(
                f"the data look channels-last: the model fails on shape (1, {c}, {t}) but accepts "
                f"(1, {t}, {c}); tsexplain wants (N, C, T), so pass --channels-last to transpose"
            )
        expected = _expected_channels(model)
        hint = f" (its first convolution expects {expected} channels)" if expected else ""
        if additional_inputs is not None and len(additional_inputs) > 0:
            shapes = ", ".join(str(tuple(np.shape(a))) for a in additional_inputs)
            raise ShapeError(
                f"the model does not accept this data, {n} samples x {c} channels x {t} steps"
                f"{hint}, with additional inputs of shapes {shapes}: {err}. Check that MODEL, "
                f"DATA and each --additional-input belong together, in forward's order"
            )
        raise ShapeError(
            f"the model does not accept this data, {n} samples x {c} channels x {t} steps"
            f"{hint}: {err}. Check that MODEL and DATA belong together"
        )
    import torch

    if not isinstance(out, torch.Tensor):
        raise ShapeError(
            f"the model returned {type(out).__name__}; tsexplain explains a model returning one "
            f"tensor of shape (N,) or (N, K)"
        )
    if out.ndim == 0 or out.shape[0] != 1:
        raise ShapeError(
            f"the model returned shape {tuple(out.shape)} for 1 sample; the first dimension must "
            f"be the samples, (N,) or (N, K)"
        )
    k = int(np.prod(out.shape[1:])) if out.ndim > 1 else 1
    if method != "time_smoothgrad" and (target is None or isinstance(target, int)):
        from tsexplain._targets import resolve_target

        try:  # the library's target rules, checked before any work; the CLI's spelling added
            resolve_target(target, torch.zeros(1, k))
        except TargetError as err:
            raise TargetError(
                f"{err} (a classifier? on the command line: --target predicted explains each "
                f"sample's predicted class; or --target INDEX, --target all, --target label)"
            ) from None
    return ModelProbe(k, tuple(out.shape))


def available_memory() -> int | None:
    """Bytes of memory available now (Linux MemAvailable), or None when unknown.

    Examples
    --------
    >>> free = available_memory()
    >>> free is None or free > 0
    True
    """
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _fmt(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"


def check_memory(shape: tuple[int, int, int], *, n_methods: int, n_outputs: int = 1,
                 available: int | None = None, fraction: float = 0.5) -> int:
    """Refuse a run whose arrays alone would take more than ``fraction`` of the free memory.

    The input (float32) and every method's attributions ((N, C, T), times K with
    ``--target all``) are kept in memory until written. Returns the estimate in bytes.

    Raises
    ------
    ParameterError
        With the number of samples that would fit (``--max-samples``).

    Examples
    --------
    >>> check_memory((100, 3, 50), n_methods=2, available=10**9)  # shape (N, C, T); bytes
    360000
    >>> check_memory((100, 3, 50), n_methods=2, available=100_000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tsexplain.exceptions.ParameterError: 100 samples x 3 channels ... --max-samples 13 ...
    """
    n, c, t = shape
    per_sample = c * t * 4 * (1 + n_methods * max(1, n_outputs)) * 2  # x2: float64 copies, curves
    need = n * per_sample
    avail = available_memory() if available is None else available
    if avail is not None and need > fraction * avail:
        fit = max(1, int(fraction * avail // per_sample))
        raise ParameterError(
            f"{n} samples x {c} channels x {t} steps with {n_methods} method(s) need about "
            f"{_fmt(need)}, more than half of the {_fmt(avail)} of memory available: pass "
            f"--max-samples {fit} (or fewer methods, or a single --target instead of all)"
        )
    return need
