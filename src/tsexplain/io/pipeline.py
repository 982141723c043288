"""``explain_files``: what ``tsexplain explain`` does, callable from Python."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tsexplain.exceptions import ParameterError

__all__ = ["explain_files", "parse_value", "parse_params", "parse_target", "split_params"]


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
    if value < 0:
        raise ParameterError(f"--target must be a non-negative output index, got {value}")
    return value


def split_params(methods: Sequence[str], params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Give each method the parameters it takes: ``k=v`` to every method that has ``k``,
    ``method.k=v`` to that method only. A parameter no chosen method takes is an error."""
    from tsexplain.attribution import get_method

    engine = {"memory_budget", "progress", "fold_batchnorm"}
    per: dict[str, dict[str, Any]] = {m: {} for m in methods}
    for key, value in params.items():
        scope, dot, name = key.rpartition(".")
        if dot:
            if scope not in per:
                raise ParameterError(f"--param {key}: {scope!r} is not one of the chosen methods "
                                     f"({', '.join(methods)})")
            allowed = set(get_method(scope).parameters()) | engine
            if name not in allowed:
                raise ParameterError(f"{scope} does not take {name!r}; its parameters are: "
                                     f"{', '.join(sorted(allowed))}")
            per[scope][name] = value
            continue
        takers = [m for m in methods if key in set(get_method(m).parameters()) | engine]
        if not takers:
            known = {m: sorted(get_method(m).parameters()) for m in methods}
            raise ParameterError(
                f"no chosen method takes {key!r}; parameters: "
                + "; ".join(f"{m}: {', '.join(p) or '(none)'}" for m, p in known.items())
            )
        for m in takers:
            per[m][key] = value
    return per


def explain_files(
    model: str | os.PathLike[str],
    data: str | os.PathLike[str],
    methods: Sequence[str],
    *,
    out: str | os.PathLike[str] = "tsexplain-results",
    params: dict[str, Any] | None = None,
    target: Any = None,
    weights: str | os.PathLike[str] | None = None,
    model_args: dict[str, Any] | None = None,
    data_options: dict[str, Any] | None = None,
    channels_last: bool = False,
    max_samples: int | None = None,
    memory_budget: str | int | None = None,
    faithfulness: bool = True,
    report: bool = True,
    report_samples: int = 3,
    log: Any = None,
) -> Path:
    """Load a model and data, check them, explain with each method, write arrays and report.

    Parameters mirror ``tsexplain explain --help``; ``target="label"`` explains each sample's
    label from the data file. Returns the results folder.
    """
    from tsexplain.attribution import get_method
    from tsexplain.io.checks import check_memory, check_model_data
    from tsexplain.io.data import load_any_data
    from tsexplain.io.models import load_any_model
    from tsexplain.io.results import write_results

    say = log or (lambda *a: None)
    methods = list(dict.fromkeys(methods or ["integrated_gradients"]))
    for m in methods:
        get_method(m)  # unknown names fail before loading anything
    per_method = split_params(methods, params or {})
    if memory_budget is not None:
        from tsexplain.attribution._memory import parse_bytes

        parse_bytes(memory_budget)  # a malformed size fails before any loading
    if max_samples is not None and max_samples < 1:
        raise ParameterError(f"--max-samples must be at least 1, got {max_samples}")

    loaded = load_any_model(model, weights=weights, factory_kwargs=model_args)
    ds = load_any_data(data, **(data_options or {}))
    if max_samples is not None and ds.X.shape[0] > max_samples:
        ds = ds.head(max_samples)
    shape = ds.X.shape if not channels_last else (ds.X.shape[0], ds.X.shape[2], ds.X.shape[1])
    check_memory(shape, n_methods=len(methods))  # before any copy of a memory-mapped .npy
    X = np.asarray(ds.X)
    if channels_last:
        X = np.swapaxes(X, 1, 2)
        if ds.channel_names and len(ds.channel_names) != X.shape[1]:
            ds.channel_names = [f"ch{i}" for i in range(X.shape[1])]
    if not np.all(np.isfinite(X)):
        bad = int((~np.isfinite(X)).sum())
        raise ParameterError(
            f"the data hold {bad} NaN/Inf values (missing steps?); fill or drop them before "
            f"explaining"
        )
    X = np.ascontiguousarray(X, dtype=np.float32)
    say(f"model: {loaded.kind} {loaded.source}; data: {ds.fmt} {ds.source}, "
        f"{X.shape[0]} samples x {X.shape[1]} channels x {X.shape[2]} steps")

    if target == "label":
        if ds.y is None:
            raise ParameterError("--target label needs labels in the data file (y / label column)")
        if not np.issubdtype(np.asarray(ds.y).dtype, np.integer):
            raise ParameterError("--target label needs integer labels (class indices)")
        run_target: Any = np.asarray(ds.y, dtype=np.int64)
    else:
        run_target = target
    probe = None
    for m in methods:
        probe = check_model_data(loaded.module, X, target=target,
                                 method=m, channels_last=channels_last)
    assert probe is not None
    if target == "all":
        check_memory(X.shape, n_methods=len(methods), n_outputs=probe.n_outputs)

    import tsexplain

    results = {}
    for m in methods:
        mp = dict(per_method[m])
        if memory_budget is not None:
            mp.setdefault("memory_budget", memory_budget)
        t0 = time.perf_counter()
        results[m] = tsexplain.explain(loaded.module, X, m, target=run_target, **mp)
        say(f"{m}: {time.perf_counter() - t0:.2f} s")

    meta: dict[str, Any] = {
        "title": f"tsexplain: {Path(str(model)).name} on {Path(str(data)).name}",
        "model": {"kind": loaded.kind, "source": loaded.source, **loaded.details},
        "data": {"format": ds.fmt, "source": ds.source, "channels_last": channels_last,
                 **ds.details},
        "target": target if not isinstance(target, np.ndarray) else "per-sample",
        "n_outputs": probe.n_outputs,
    }
    if faithfulness:
        from tsexplain.report.explanation import faithfulness_scores

        t0 = time.perf_counter()
        meta["faithfulness"] = faithfulness_scores(loaded.module, X, results)
        say(f"faithfulness (deletion/insertion): {time.perf_counter() - t0:.2f} s")
    out_dir = write_results(out, results, X, y=ds.y, channel_names=ds.channel_names,
                            sample_ids=ds.sample_ids, meta=meta)
    if report:
        from tsexplain.report.explanation import write_explanation_report

        page = write_explanation_report(out_dir, n_samples=report_samples)
        say(f"report: {page} ({page.stat().st_size / 1e6:.2f} MB)")
    return out_dir
