"""``explain_files``: what ``tsexplain explain`` does, callable from Python.

The run is a few named steps over one :class:`ExplainOptions`: :func:`load_inputs` (model and
data through the one loading layer, labels mapped to class indices), :func:`run_target` (what
``--target`` means for these data), :func:`run_methods` and :func:`run_meta`, then the arrays,
``meta.json`` and the report are written.
"""


from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tsexplain._task import resolve_task
from tsexplain.exceptions import ParameterError
from tsexplain.io.data import AdditionalInput

__all__ = ["ExplainOptions", "PreparedInputs", "explain_files", "load_inputs", "parse_value",
           "parse_params", "parse_target", "parse_names", "split_params"]


def parse_value(text: str) -> Any:
    """``"3"`` -> 3, ``"0.5"`` -> 0.5, ``"true"``/``"false"`` -> bool, ``"none"`` -> None, else str."""
    low = text.strip().lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_params(items: Sequence[str] | None, option: str = "--param") -> dict[str, Any]:
    """``["steps=32", "ig.baseline=mean"]`` -> ``{"steps": 32, "ig.baseline": "mean"}``."""
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"{option} takes KEY=VALUE, got {item!r} (e.g. {option} steps=32)")
        out[key.strip()] = parse_value(value)
    return out


def parse_target(text: str | None) -> Any:
    """``--target``: an int, ``predicted``, ``all``, ``label`` or ``none``."""
    if text is None:
        return None
    low = text.strip().lower()
    if low == "none":
        return None
    if low in ("predicted", "all", "label"):
        return low
    try:
        value = int(low)
    except ValueError:
        raise ParameterError(
            f"--target must be an output index, 'predicted', 'all', 'label' or 'none'; got {text!r}"
        ) from None
    return value  # range and sign: the library's target rules


def parse_names(text: str | Sequence[str] | None, option: str = "--class-names") -> list[str] | None:
    """``"normal,abnormal"`` (or a list) -> ``["normal", "abnormal"]``; None stays None."""
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else [str(t) for t in text]
    names = [t.strip() for t in items]
    if not names or any(not n for n in names):
        raise ParameterError(f"{option} takes comma-separated names, e.g. {option} normal,abnormal; "
                             f"got {text!r}")
    return names


def split_params(methods: Sequence[str], params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Give each method the parameters it takes: ``k=v`` to every method that has ``k``,
    ``method.k=v`` to that method only. A parameter no chosen method takes is an error."""
    from tsexplain.attribution import accepted_params, check_method_params, get_method

    per: dict[str, dict[str, Any]] = {m: {} for m in methods}
    for key, value in params.items():
        scope, dot, name = key.rpartition(".")
        if dot:
            if scope not in per:
                raise ParameterError(f"--param {key}: {scope!r} is not one of the chosen methods "
                                     f"({', '.join(methods)})")
            per[scope].update(check_method_params(scope, {name: value}))
            continue
        takers = [m for m in methods if key in accepted_params(m)]
        if not takers:
            known = {m: sorted(get_method(m).parameters()) for m in methods}
            raise ParameterError(
                f"no chosen method takes {key!r}; parameters: "
                + "; ".join(f"{m}: {', '.join(p) or '(none)'}" for m, p in known.items())
            )
        for m in takers:
            per[m][key] = value
    return per


@dataclass
class ExplainOptions:
    """Everything ``tsexplain explain`` takes besides the model, the data and the methods.

    Attributes mirror ``tsexplain explain --help``: ``target`` (an index, ``"predicted"``,
    ``"all"``, ``"label"`` or None), ``weights`` and ``model_args`` (a factory model),
    ``data_options`` (:func:`tsexplain.io.load_any_data` keywords), ``channels_last``,
    ``channel_names``, ``class_names`` (one per class index; default: the data file's
    ``class_names``, else its original labels), ``value_unit``, ``time_unit``, ``max_samples``,
    ``memory_budget``, ``faithfulness``, ``report``, ``report_samples``, ``params``
    (``k=v`` for every method that takes ``k``, ``method.k=v`` for one), ``task``
    (``"binary"``, ``"multiclass"`` or ``"regression"``; None: guessed from the outputs),
    ``additional_inputs`` (files ``FILE`` or ``FILE:KEY``, the model's further inputs in the
    order of its ``forward`` arguments after the series, one row per series of the data file:
    see :func:`tsexplain.io.load_additional_inputs`), ``attribute_additional`` (also attribute
    the floating ones; gradient methods).
    """

    out: str | os.PathLike[str] = "tsexplain-results"
    params: dict[str, Any] = field(default_factory=dict)
    target: Any = None
    task: str | None = None
    weights: str | os.PathLike[str] | None = None
    model_args: dict[str, Any] = field(default_factory=dict)
    data_options: dict[str, Any] = field(default_factory=dict)
    channels_last: bool = False
    channel_names: list[str] | None = None
    class_names: list[str] | None = None
    value_unit: str | None = None
    time_unit: str | None = None
    max_samples: int | None = None
    memory_budget: str | int | None = None
    faithfulness: bool = True
    report: bool = True
    report_samples: int = 3
    additional_inputs: list[str | os.PathLike[str]] = field(default_factory=list)
    attribute_additional: bool = False

    def check(self) -> None:
        """Option errors before anything is loaded."""
        if isinstance(self.additional_inputs, str | os.PathLike):
            self.additional_inputs = [self.additional_inputs]
        for item in self.additional_inputs:
            if not isinstance(item, str | os.PathLike):
                raise ParameterError(
                    f"additional_inputs takes files (FILE or FILE:KEY: .npy, .npz or .csv), got "
                    f"{type(item).__name__}; arrays go to tsexplain.explain(model, x, method, "
                    f"additional_inputs=[...])")
        if self.attribute_additional and not self.additional_inputs:
            raise ParameterError("--attribute-additional needs the model's further inputs: "
                                 "--additional-input FILE (additional_inputs=[...] in Python)")
        if self.memory_budget is not None:
            from tsexplain.attribution._memory import parse_bytes

            parse_bytes(self.memory_budget)  # a malformed size fails before any loading
        if self.max_samples is not None and self.max_samples < 1:
            raise ParameterError(f"--max-samples must be at least 1, got {self.max_samples}")


@dataclass
class PreparedInputs:
    """Model and data loaded, checked and ready: ``X`` float32 (N, C, T), ``y`` class indices,
    ``additional`` the model's further inputs (:class:`~tsexplain.io.AdditionalInput`, values
    (N, ...) each, cut as ``X`` is)."""

    loaded: Any
    data: Any
    X: np.ndarray
    y: np.ndarray | None
    channel_names: list[str]
    class_names: list[str] | None
    additional: list[AdditionalInput] = field(default_factory=list)

    @property
    def additional_values(self) -> list[np.ndarray]:
        """The further inputs' arrays, each of shape (N, ...), in forward's order."""
        return [a.values for a in self.additional]


def load_inputs(model: Any, data: Any, options: ExplainOptions, n_methods: int = 1,
                say: Callable[[str], None] = lambda msg: None) -> PreparedInputs:
    """Step 1: load the model and the data (same forms as ``tsexplain explain``), checked.

    Labels are class indices (:func:`tsexplain.io.data.encode_labels`); the original label of
    each class is kept in ``data.classes``.
    """
    from tsexplain.io.checks import check_memory
    from tsexplain.io.data import load_additional_inputs, load_any_data
    from tsexplain.io.models import load_any_model

    def series_shape(x: Any) -> tuple[int, int, int]:
        n, a, b = x.shape
        return (n, b, a) if options.channels_last else (n, a, b)

    loaded = load_any_model(model, weights=options.weights, factory_kwargs=options.model_args)
    ds = load_any_data(data, **{k: v for k, v in options.data_options.items() if v is not None})
    extras = load_additional_inputs(options.additional_inputs, series_shape(ds.X))
    if options.max_samples is not None and ds.X.shape[0] > options.max_samples:
        ds = ds.head(options.max_samples)
        extras = [dataclasses.replace(e, values=e.values[: options.max_samples]) for e in extras]
    shape = series_shape(ds.X)
    check_memory(shape, n_methods=n_methods)  # before any copy of a memory-mapped .npy
    X = np.asarray(ds.X)
    names = list(ds.channel_names)
    if options.channels_last:
        X = np.swapaxes(X, 1, 2)
        if names and len(names) != X.shape[1]:
            names = [f"ch{i}" for i in range(X.shape[1])]
    if options.channel_names is not None:
        if len(options.channel_names) != X.shape[1]:
            raise ParameterError(f"--channel-names gives {len(options.channel_names)} names for "
                                 f"{X.shape[1]} channels")
        names = list(options.channel_names)
    if not np.all(np.isfinite(X)):
        bad = int((~np.isfinite(X)).sum())
        raise ParameterError(
            f"the data hold {bad} NaN/Inf values (missing steps?); fill or drop them before "
            f"explaining"
        )
    X = np.ascontiguousarray(X, dtype=np.float32)
    class_names = options.class_names or ds.class_labels()
    if options.class_names is not None and ds.classes is not None and len(options.class_names) < len(ds.classes):
        raise ParameterError(f"--class-names gives {len(options.class_names)} names for "
                             f"{len(ds.classes)} classes in the labels")
    say(f"model: {loaded.kind} {loaded.source}; data: {ds.fmt} {ds.source}, "
        f"{X.shape[0]} samples x {X.shape[1]} channels x {X.shape[2]} steps"
        + "".join(f"; additional input {e.source} {tuple(e.values.shape)}" for e in extras))
    if ds.classes is not None and ds.classes != list(range(len(ds.classes))):
        say("labels -> classes: " + ", ".join(
            f"{c!s} -> {i}" + (f" ({class_names[i]})" if class_names and class_names[i] != str(c) else "")
            for i, c in enumerate(ds.classes)))
    return PreparedInputs(loaded, ds, X, ds.y, names, class_names, extras)


def run_target(inputs: PreparedInputs, target: Any) -> Any:
    """Step 2: the target handed to the methods (``"label"`` -> the class index of each sample)."""
    if target != "label":
        return target
    if inputs.y is None:
        raise ParameterError("--target label needs labels in the data file (y / label column) "
                             "or from --labels FILE.npy")
    if inputs.data.classes is None:
        raise ParameterError(
            "--target label needs class labels (integers or names); these labels are real "
            "numbers (a regression target): pass an output index or 'predicted'"
        )
    return np.asarray(inputs.y, dtype=np.int64)


def run_methods(inputs: PreparedInputs, methods: Sequence[str], target: Any,
                per_method: dict[str, dict[str, Any]], memory_budget: Any,
                say: Callable[[str], None] = lambda msg: None, *,
                attribute_additional: bool = False) -> dict[str, Any]:
    """Step 3: each method's :class:`~tsexplain.attribution.AttributionResult`.

    Every method after the first runs once on the first two samples before any full run, so that
    a method that cannot run on this model (DeepLIFT on an LSTM, Grad-CAM without a convolution,
    a layer name that does not exist) or on a target per sample stops the command before the
    others' work is done. The model gets ``inputs.additional`` after the series; with
    ``attribute_additional`` their attributions are in each result's ``extras["additional"]``.
    """
    import warnings

    import tsexplain

    def params(m: str) -> dict[str, Any]:
        mp = dict(per_method[m])
        if memory_budget is not None:
            mp.setdefault("memory_budget", memory_budget)
        return mp

    extras = inputs.additional_values

    def inputs_of(n: int | None = None) -> dict[str, Any]:
        """The further inputs of the first ``n`` series (all: None), as explain takes them."""
        if not extras:
            return {}
        return {"additional_inputs": [a[:n] for a in extras],
                "attribute_additional": attribute_additional}

    if len(methods) > 1 and len(inputs.X) > 1:
        first = target[:2] if isinstance(target, np.ndarray) and target.ndim == 1 else target
        for m in methods[1:]:
            with warnings.catch_warnings():  # the full run warns again where it must
                warnings.simplefilter("ignore")
                tsexplain.explain(inputs.loaded.module, inputs.X[:2], m, target=first,
                                  **inputs_of(2), **dict(params(m), progress=False))
    results = {}
    for m in methods:
        mp = params(m)
        t0 = time.perf_counter()
        results[m] = tsexplain.explain(inputs.loaded.module, inputs.X, m, target=target,
                                       **inputs_of(), **mp)
        say(f"{m}: {time.perf_counter() - t0:.2f} s")
    return results


def run_meta(model: Any, data: Any, inputs: PreparedInputs, options: ExplainOptions,
             n_outputs: int) -> dict[str, Any]:
    """Step 4: ``meta.json`` content: how model and data were read, labels, class names, units."""
    ds = inputs.data
    meta: dict[str, Any] = {
        "title": f"tsexplain: {_display_name(model)} on {_display_name(data)}",
        "model": inputs.loaded.describe(),
        "data": {"format": ds.fmt, "source": ds.source, "channels_last": options.channels_last,
                 **ds.details},
        "target": options.target if not isinstance(options.target, np.ndarray) else "per-sample",
        "n_outputs": n_outputs,
    }
    if ds.classes is not None:
        meta["label_values"] = [c if isinstance(c, int | str) else str(c) for c in ds.classes]
    if inputs.class_names is not None:
        meta["class_names"] = list(inputs.class_names)
    for key in ("value_unit", "time_unit"):
        if getattr(options, key):
            meta[key] = getattr(options, key)
    if inputs.additional:
        meta["additional_inputs"] = [a.describe() for a in inputs.additional]
        meta["attribute_additional"] = bool(options.attribute_additional)
    return meta


def _display_name(ref: Any) -> str:
    if isinstance(ref, str | os.PathLike):
        return Path(os.fspath(ref)).name
    return type(ref).__name__


def explain_files(
    model: Any,
    data: str | os.PathLike[str],
    methods: Sequence[str] | None = None,
    options: ExplainOptions | None = None,
    *,
    log: Callable[[str], None] | None = None,
    **option_values: Any,
) -> Path:
    """Load a model and data, check them, explain with each method, write arrays and report.

    Parameters
    ----------
    model : str, path-like or torch.nn.Module
        Any form :func:`tsexplain.io.load_any_model` reads.
    data : str or path-like
        Any file :func:`tsexplain.io.load_any_data` reads.
    methods : list of str
        Method names (default ``["integrated_gradients"]``).
    options : ExplainOptions, optional
        Or its fields as keywords (``target="label"``, ``out=...``, ``memory_budget=...``,
        ``additional_inputs=["static.npy"]`` for a model ``forward(x, static)``).
    log : callable, optional
        Receives one progress line at a time.

    Returns
    -------
    pathlib.Path
        The results folder.
    """
    from tsexplain.attribution import get_method
    from tsexplain.io.checks import check_memory, check_model_data
    from tsexplain.io.results import write_results

    if options is None:
        known = {f.name for f in dataclasses.fields(ExplainOptions)}
        unknown = sorted(set(option_values) - known)
        if unknown:
            raise ParameterError(f"explain_files does not take {', '.join(unknown)}; options: "
                                 f"{', '.join(sorted(known))}")
        values = {k: v for k, v in option_values.items() if v is not None or k == "target"}
        options = ExplainOptions(**values)
    elif option_values:
        raise ParameterError("pass either options= or option keywords, not both")
    say = log or (lambda msg: None)
    methods = list(dict.fromkeys(methods or ["integrated_gradients"]))
    for m in methods:
        get_method(m)  # unknown names fail before loading anything
    per_method = split_params(methods, options.params or {})
    options.check()

    inputs = load_inputs(model, data, options, len(methods), say)
    target = run_target(inputs, options.target)
    probe = None
    for m in methods:
        probe = check_model_data(inputs.loaded.module, inputs.X, target=options.target,
                                 method=m, channels_last=options.channels_last,
                                 additional_inputs=inputs.additional_values)
    if probe is None:
        raise ParameterError("no method to run")
    task = resolve_task(options.task, probe.n_outputs, inputs.y)
    if task == "regression" and isinstance(options.target, str) and options.target == "predicted":
        raise ParameterError(
            f"--target predicted picks each sample's largest output, its class for a classifier; "
            f"this model is a regressor ({probe.n_outputs} outputs): pass --target INDEX (one "
            f"output, e.g. one forecast step) or --target all"
        )
    say(f"task: {task}" + ("" if options.task else
                           f" (guessed from {probe.n_outputs} output(s); --task sets it)"))
    if options.target == "all":
        check_memory(inputs.X.shape, n_methods=len(methods), n_outputs=probe.n_outputs)
    results = run_methods(inputs, methods, target, per_method, options.memory_budget, say,
                          attribute_additional=options.attribute_additional)
    meta = run_meta(model, data, inputs, options, probe.n_outputs)
    meta["task"] = task
    if options.faithfulness:
        from tsexplain.report.explanation import faithfulness_scores

        t0 = time.perf_counter()
        meta["faithfulness"] = faithfulness_scores(inputs.loaded.module, inputs.X, results,
                                                   additional_inputs=inputs.additional_values)
        say(f"faithfulness (deletion/insertion): {time.perf_counter() - t0:.2f} s")
    out_dir = write_results(options.out, results, inputs.X, y=inputs.y,
                            channel_names=inputs.channel_names,
                            sample_ids=inputs.data.sample_ids, meta=meta)
    if options.report:
        from tsexplain.report.explanation import write_explanation_report

        page = write_explanation_report(out_dir, n_samples=options.report_samples)
        say(f"report: {page} ({page.stat().st_size / 1e6:.2f} MB)")
    return out_dir
