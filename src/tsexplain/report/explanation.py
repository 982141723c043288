"""The explanation report of a results folder, and the faithfulness scores it shows."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tsexplain._deprecation import renamed_kwargs
from tsexplain.exceptions import ParameterError
from tsexplain.report.html import HtmlReport

__all__ = ["faithfulness_scores", "value_quartiles", "write_explanation_report",
           "HOW_TO_READ_FAITHFULNESS"]

HOW_TO_READ_FAITHFULNESS = (
    "How to read this: each score is the area under the model's explained output (the logit or "
    "score of the target, averaged over samples) while the cells a map ranks highest are "
    "removed (deletion: set to zero, so lower is better) or put back onto a blurred copy "
    "(insertion: higher is better); trust a map only as far as it beats the random-ranking row "
    "by a clear margin."
)


def _explained_map(res: Any, predictions: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, C, T) map and per-sample target; a (N, K, C, T) map is read at the predicted output."""
    values = np.asarray(res.values)
    if values.ndim == 4:
        if predictions is None or predictions.size == 0:
            raise ParameterError("no predictions to pick an output of a target='all' map")
        pred = predictions.argmax(axis=1)
        return values[np.arange(values.shape[0]), pred], pred
    return values, (None if res.target is None else np.asarray(res.target))


@renamed_kwargs(n_steps="steps")
def faithfulness_scores(model: Any, x: np.ndarray, results: dict[str, Any], *,
                        steps: int = 20, max_samples: int = 500, seed: int = 0,
                        additional_inputs: Sequence[np.ndarray] = ()) -> dict[str, Any]:
    """Mean deletion and insertion AUC of every method, and of a random ranking for reference.

    Parameters
    ----------
    model : torch.nn.Module
    x : array (N, C, T)
        The explained input; the first ``max_samples`` samples are scored.
    results : dict {name: AttributionResult}
    steps : int
        Steps of each curve (see :func:`tsexplain.metrics.deletion_curve`).
    additional_inputs : sequence of arrays, each of shape (N, ...)
        The model's further inputs (``model(x, *additional_inputs)``), held fixed while the
        cells of ``x`` are deleted or inserted.

    Returns
    -------
    dict
        ``{"n_samples", "steps", "methods": {name: {"deletion_auc", "insertion_auc"} or
        {"skipped": reason}}, "random": {...}}``.

    Examples
    --------
    >>> import numpy as np, torch, tsexplain
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 3))
    >>> x = np.random.default_rng(0).standard_normal((6, 2, 8)).astype("float32")  # (N, C, T)
    >>> results = {"saliency": tsexplain.explain(model, x, "saliency", target="predicted")}
    >>> scores = faithfulness_scores(model, x, results, steps=5)
    >>> sorted(scores), scores["n_samples"]
    (['methods', 'n_samples', 'random', 'steps'], 6)
    >>> sorted(scores["methods"]["saliency"]), sorted(scores["random"])
    (['deletion_auc', 'insertion_auc', 'output_on_input'], ['deletion_auc', 'insertion_auc'])
    """
    from tsexplain.metrics import deletion_curve, insertion_curve

    n = min(len(x), max_samples)
    xs = np.asarray(x[:n], dtype=np.float32)
    extras = [np.asarray(a)[:n] for a in additional_inputs] or None
    out: dict[str, Any] = {"n_samples": n, "steps": steps, "methods": {}}
    target_for_random: np.ndarray | None = None
    for name, res in results.items():
        if name == "time_smoothgrad":
            out["methods"][name] = {"skipped": "per-time-step outputs: deletion/insertion of one "
                                               "output do not apply"}
            continue
        try:
            amap, target = _explained_map(res, res.predictions)
            amap = amap[:n]
            target = None if target is None else target[:n]
            d = deletion_curve(model, xs, amap, target=target, steps=steps, seed=seed,
                               additional_inputs=extras)
            i = insertion_curve(model, xs, amap, target=target, steps=steps, seed=seed,
                                additional_inputs=extras)
        except ValueError as exc:
            out["methods"][name] = {"skipped": str(exc).splitlines()[0]}
            continue
        out["methods"][name] = {"deletion_auc": float(d.auc()), "insertion_auc": float(i.auc()),
                                "output_on_input": float(d.scores[:, 0].mean())}
        if target_for_random is None:
            target_for_random = d.target
    if target_for_random is not None:
        rng = np.random.default_rng(seed)
        rand = rng.random(xs.shape)
        d = deletion_curve(model, xs, rand, target=target_for_random, steps=steps, seed=seed,
                           additional_inputs=extras)
        i = insertion_curve(model, xs, rand, target=target_for_random, steps=steps, seed=seed,
                            additional_inputs=extras)
        out["random"] = {"deletion_auc": float(d.auc()), "insertion_auc": float(i.auc())}
    return out


def _shown_samples(labels: np.ndarray | None, n: int, k: int) -> list[int]:
    """Up to ``k`` samples: the first of each label first, then in order."""
    chosen: list[int] = []
    if labels is not None:
        seen = set()
        for i, lab in enumerate(labels[:n].tolist()):
            if lab not in seen:
                seen.add(lab)
                chosen.append(i)
            if len(chosen) >= k:
                break
    for i in range(n):
        if len(chosen) >= k:
            break
        if i not in chosen:
            chosen.append(i)
    return sorted(chosen)


def _explained_output(meta: dict[str, Any]) -> int | None:
    """The one output index every sample was explained at (an integer target), else None."""
    target = meta.get("target")
    return target if isinstance(target, int) and not isinstance(target, bool) else None


def _prediction_text(meta: dict[str, Any], pred: np.ndarray) -> str:
    """How a sample's predictions (K,) read in a caption: its class, its value, or the
    explained output's value and the range of the others (a regressor, e.g. a forecaster)."""
    if pred.shape[0] == 1:
        return f"prediction {float(pred[0]):.3g}"
    if meta.get("task") != "regression":
        return f"predicted class {int(pred.argmax())}"
    k = _explained_output(meta)
    head = f"output {k} = {float(pred[k]):.3g}, " if k is not None else ""
    return f"{head}outputs {float(pred.min()):.3g} to {float(pred.max()):.3g}"


def _groups(saved: Any) -> tuple[np.ndarray | None, dict[Any, str] | None, str]:
    """Labels for the aggregates: true labels, else predicted class, else predicted-value bins."""
    class_names = saved.meta.get("class_names")
    named = {i: str(n) for i, n in enumerate(class_names)} if class_names else None
    if saved.y is not None:
        return saved.y, named, "per class (labels from the data file)"
    preds = saved.predictions
    if preds is None or preds.size == 0:
        return None, None, "over all samples"
    explained = _explained_output(saved.meta)
    if preds.shape[1] > 1 and saved.meta.get("task") != "regression":
        return preds.argmax(axis=1), named, "per predicted class"
    quartiles = value_quartiles(preds[:, explained or 0], "prediction")
    if quartiles is None:
        return None, None, "over all samples"
    return quartiles[0], quartiles[1], "per quartile of the predicted value"


def value_quartiles(values: np.ndarray, what: str) -> tuple[np.ndarray, dict[int, str]] | None:
    """Samples grouped by the quartile of a value (a regression model's prediction or target).

    Parameters
    ----------
    values : numpy.ndarray of shape (N,)
        One value per sample.
    what : str
        The value's name in the group names, e.g. ``"prediction"``.

    Returns
    -------
    (numpy.ndarray of shape (N,), dict of int to str) or None
        The quartile 0..3 of each sample and each quartile's name (``"prediction in [a, b]"``);
        None when the values take fewer than 4 distinct values (no quartiles to tell apart).

    Examples
    --------
    >>> bins, names = value_quartiles(np.arange(8.0), "prediction")
    >>> bins.tolist(), names[3]
    ([0, 0, 1, 1, 2, 2, 3, 3], 'prediction in [5.25, 7]')
    >>> value_quartiles(np.array([1.0, 1.0, 2.0]), "prediction") is None
    True
    """
    p = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(np.unique(p)) < 4:
        return None
    edges = np.quantile(p, [0, 0.25, 0.5, 0.75, 1.0])
    bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, 3)
    return bins, {b: f"{what} in [{edges[b]:.3g}, {edges[b + 1]:.3g}]" for b in range(4)}


def write_explanation_report(results_dir: str | os.PathLike[str], path: str | os.PathLike[str] | None = None,
                             *, n_samples: int = 3, dpi: int = 90) -> Path:
    """Write ``report.html`` (standalone) for a folder written by ``tsexplain explain``.

    Parameters
    ----------
    results_dir : str or path-like
        The results folder (``meta.json``, ``inputs.npz``, ``attributions_*.npz``).
    path : str or path-like, optional
        Where to write; default ``results_dir/report.html``.
    n_samples : int
        Samples drawn one by one (saliency-coloured curves, heatmap, method comparison).
    dpi : int
        Resolution of the embedded figures.

    Returns
    -------
    Path
        The report written.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np, torch, tsexplain
    >>> from tsexplain.io import write_results
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 3))
    >>> x = np.random.default_rng(0).standard_normal((4, 2, 8)).astype("float32")  # (N, C, T)
    >>> res = tsexplain.explain(model, x, "saliency", target="predicted")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = write_results(d, {"saliency": res}, x, channel_names=["a", "b"])
    ...     report = write_explanation_report(d, n_samples=1, dpi=30)
    ...     text = report.read_text()
    >>> report.name, text.count("<figure>") >= 3, "saliency" in text
    ('report.html', True, True)
    """
    import matplotlib

    if "MPLBACKEND" not in os.environ:
        matplotlib.use("Agg")

    from tsexplain.io.results import read_results

    saved = read_results(results_dir)
    meta = saved.meta
    maps = _explained_maps(saved)
    page = HtmlReport(meta.get("title") or "tsexplain explanation report", dpi=dpi)
    _overview_section(page, saved)
    _faithfulness_section(page, meta.get("faithfulness"))
    labels, class_names, how = _groups(saved)
    _samples_section(page, saved, maps, _shown_samples(labels, saved.x.shape[0], n_samples))
    _aggregates_section(page, saved, maps, labels, class_names, how)
    _additional_section(page, saved, maps)
    page.paragraph(f"Written by tsexplain {meta.get('tsexplain_version', '')}; rebuild with "
                   f"'tsexplain report {Path(results_dir)}'. Arrays: attributions_<method>.npz "
                   f"beside this file.")
    return page.write(Path(path) if path is not None else Path(results_dir) / "report.html")


def _explained_maps(saved: Any) -> dict[str, Any]:
    """Every method's result with an (N, C, T) map (a (N, K, C, T) map at the predicted output)."""
    maps = {}
    for name, res in saved.results.items():
        values, _ = _explained_map(res, saved.predictions) if np.ndim(res.values) == 4 else (res.values, None)
        maps[name] = dataclasses.replace(res, values=values)
    return maps


def _overview_section(page: HtmlReport, saved: Any) -> None:
    """Model, data, target and methods in one paragraph; one row per method with its settings."""
    meta, x = saved.meta, saved.x
    methods = list(saved.results)
    model = meta.get("model", {})
    data = meta.get("data", {})
    page.paragraph(
        f"Model: {model.get('source', '?')} ({model.get('kind', '?')}). Data: "
        f"{data.get('source', '?')} ({data.get('format', '?')}), {x.shape[0]} samples x {x.shape[1]} "
        f"channels x {x.shape[2]} steps. Target: {meta.get('target', '?')}. Methods: "
        f"{', '.join(methods)}." + _additional_text(meta)
    )
    page.table(["method", "parameters", "seconds"],
               [[m, ", ".join(f"{k}={v}" for k, v in saved.results[m].params.items()) or "-",
                 float(saved.results[m].seconds)] for m in methods])
    if any(np.ndim(r.values) == 4 for r in saved.results.values()):
        page.paragraph("Maps were computed for every output (--target all); the figures and scores "
                       "show each sample's map of its predicted output.", css_class="note")


def _faithfulness_section(page: HtmlReport, faith: dict[str, Any] | None) -> None:
    """The deletion / insertion table stored in meta.json, with the random-ranking reference row."""
    page.heading("Faithfulness: how much to trust each map")
    if not faith:
        page.paragraph("Not computed (run without --no-faithfulness to get deletion/insertion "
                       "scores).", css_class="note")
        return
    rows: list[list[Any]] = []
    for m, s in faith["methods"].items():
        if "skipped" in s:
            rows.append([m, "n/a", "n/a", s["skipped"]])
        else:
            rows.append([m, s["deletion_auc"], s["insertion_auc"], ""])
    if "random" in faith:
        rows.append(["random ranking (reference)", faith["random"]["deletion_auc"],
                     faith["random"]["insertion_auc"], ""])
    page.table(["method", "deletion AUC (lower is better)", "insertion AUC (higher is better)",
                "note"], rows)
    page.paragraph(HOW_TO_READ_FAITHFULNESS + f" ({faith['n_samples']} samples, "
                   f"{faith['steps']} steps per curve.)", css_class="note")


def _samples_section(page: HtmlReport, saved: Any, maps: dict[str, Any], shown: list[int]) -> None:
    """The ``shown`` samples one by one: coloured series and heatmap of the first method, then
    every method side by side."""
    from tsexplain.plotting import plot_colored_series, plot_heatmap, plot_method_comparison

    x, names, preds = saved.x, saved.channel_names, saved.predictions
    methods = list(maps)
    first = methods[0]
    page.heading("Samples")
    page.paragraph(f"{len(shown)} of the {x.shape[0]} samples, drawn with {first} "
                   + ("and compared across methods." if len(methods) > 1 else "."))
    for i in shown:
        desc = f"sample {saved.sample_ids[i]}"
        if saved.y is not None:
            desc += f", label {saved.y[i]}"
        if preds is not None and preds.size:
            desc += f", {_prediction_text(saved.meta, preds[i])}"
        page.heading(desc, level=3)
        page.figure(plot_colored_series(maps[first], x, sample=i, channel_names=names,
                                        title=f"{desc}: {first}"),
                    f"{desc}: the series coloured by its {first} attribution "
                    + ("(red: positive, blue: negative)." if maps[first].signed
                       else "(darker: larger |attribution|)."))
        page.figure(plot_heatmap(maps[first], x, sample=i, channel_names=names, top_k=20,
                                 title=f"{desc}: {first}"),
                    f"{desc}: {first} attribution, channels x time.")
        if len(methods) > 1:
            page.figure(plot_method_comparison(maps, x, sample=i, channel_names=names,
                                               title=f"{desc}: every method"),
                        f"{desc}: every method on the same sample (each row has its own colour "
                        f"scale).")


def _aggregates_section(page: HtmlReport, saved: Any, maps: dict[str, Any],
                        labels: np.ndarray | None, class_names: dict[Any, str] | None,
                        how: str) -> None:
    """Mean |attribution| per channel and per step for every method, grouped as ``how`` says."""
    from tsexplain.plotting import plot_aggregates

    page.heading("Aggregates over the data set")
    for m in maps:
        kwargs: dict[str, Any] = {"channel_names": saved.channel_names, "top_k": 20,
                                  "title": f"{m}: mean |attribution| {how}"}
        if labels is not None:
            kwargs["labels"] = labels
            if class_names is not None:
                kwargs["class_names"] = class_names
        page.figure(plot_aggregates(maps[m], **kwargs),
                    f"{m}: mean |attribution| per channel and per time step, and one map {how}.")


#: Columns of one additional input listed in the report's table (the rest are counted).
_MAX_ADDITIONAL_COLUMNS = 20


def _additional_text(meta: dict[str, Any]) -> str:
    """The overview's sentence on the model's further inputs ('' when it took none)."""
    described = meta.get("additional_inputs") or []
    if not described:
        return ""
    files = ", ".join(f"{d['file']} {tuple(d['shape'])}" for d in described)
    return (f" Additional model inputs (forward's arguments after x, held at each sample's "
            f"values): {files}.")


def _column_names(described: dict[str, Any]) -> list[str]:
    """A name per column of an additional input of shape (N, ...): its CSV header, else
    'value' for (N,), 'column j' for (N, D), '[i, j]' for more dimensions."""
    shape = tuple(described["shape"][1:])
    if described.get("columns"):
        return [str(c) for c in described["columns"]]
    if not shape:
        return ["value"]
    if len(shape) == 1:
        return [f"column {j}" for j in range(shape[0])]
    return [str(list(ix)) for ix in np.ndindex(*shape)]


def _additional_section(page: HtmlReport, saved: Any, maps: dict[str, Any]) -> None:
    """Per method, the mean |attribution| of each column of the model's further inputs
    (``--attribute-additional``), with the series' summed |attribution| for scale."""
    described = saved.meta.get("additional_inputs") or []
    if not described:
        return
    attributed = {m: r.extras["additional"] for m, r in saved.results.items()
                  if isinstance(r.extras.get("additional"), list)}
    page.heading("Additional inputs: how much each column of the model's further inputs counts")
    if not attributed:
        page.paragraph("The model also took the additional inputs above, held at each sample's "
                       "values; they were not attributed (pass --attribute-additional with "
                       "saliency, gradient_x_input, smoothgrad or integrated_gradients).",
                       css_class="note")
        return
    n = saved.x.shape[0]
    page.paragraph(
        f"Each value is the mean over the {n} samples of the absolute attribution of one column "
        f"of an additional input, in the unit of the method's maps (a contribution to the "
        f"explained output for integrated_gradients and gradient_x_input, a sensitivity for "
        f"saliency and smoothgrad). For scale, the last row of each table is the series x: the "
        f"mean over samples of the |attribution| of all its channels x time steps, summed.",
        css_class="note")
    for m, values in attributed.items():
        rows: list[list[Any]] = []
        for d, v in zip(described, values, strict=False):
            if v is None:
                rows.append([d["file"], "(not floating: held fixed, not attributed)", "n/a"])
                continue
            per_row = int(np.prod(d["shape"][1:], dtype=np.int64))
            v = np.asarray(v, dtype=np.float64)
            if v.ndim == len(d["shape"]) + 1:  # target="all": (N, K, ...), read at the predicted
                v = v[np.arange(n), np.asarray(saved.predictions).argmax(axis=1)]  # output, as x
            means = np.abs(v).reshape(-1, per_row).mean(axis=0)
            names = _column_names(d)
            shown = min(len(means), _MAX_ADDITIONAL_COLUMNS)
            rows += [[d["file"], names[j], float(means[j])] for j in range(shown)]
            if len(means) > shown:
                rest = means[shown:]
                rows.append([d["file"], f"{len(rest)} more columns (mean; largest "
                                        f"{float(rest.max()):.4g})", float(rest.mean())])
        series = np.abs(np.asarray(maps[m].values, dtype=np.float64)).reshape(n, -1).sum(axis=1)
        rows.append(["the series x", "all channels x time steps, summed", float(series.mean())])
        page.heading(f"{m}: mean |attribution| of each additional input's columns", level=3)
        page.table(["additional input", "column", "mean |attribution| over samples"], rows)
