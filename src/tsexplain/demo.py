"""The built-in demo: train small models on generated data and write an explanation report.

Needs nothing but the package (no downloads, no ``../shared``): the TSViz anomaly world is
generated, the anomaly CNN trained on it (under a minute on a laptop CPU), and every batch method
explains test sequences; a point-wise MLP on the Time-SmoothGrad AR-states world shows
Time-SmoothGrad. The report folder holds PNG figures, ``report.md``, ``report.html`` (figures
embedded), ``attributions.npz`` and the trained model (safetensors + JSON spec).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: The demo's cap on every parameter the registry marks as costly (steps, noise draws, ...).
DEMO_COST_CAP = 32
#: Settings the demo chooses beyond the defaults.
DEMO_PARAMS: dict[str, dict[str, Any]] = {"smoothgrad": {"noise": 0.1}}


def batch_methods(n_channels: int) -> dict[str, dict[str, Any]]:
    """Every registered (N, C, T) method with the demo's settings: its costly parameters
    (``cost_params`` in the registry) capped at :data:`DEMO_COST_CAP`, plus :data:`DEMO_PARAMS`;
    KernelSHAP and LIME get enough coalitions to identify every group of series with
    ``n_channels`` channels."""
    from tsexplain.attribution import METHODS, method_settings
    from tsexplain.attribution._coalitions import enough_coalitions

    settings = method_settings(DEMO_COST_CAP, DEMO_PARAMS)
    for name in ("kernel_shap", "lime"):
        if name in settings:
            groups = n_channels * int(METHODS[name].parameters()["n_segments"])
            settings[name] = {**settings[name], "n_coalitions": enough_coalitions(groups)}
    return settings


Say = Callable[[str], None]


@dataclass
class _AnomalyRun:
    """The trained anomaly CNN and the detected anomalies it explains: x, mask (N, 3, 50)."""

    model: Any
    accuracy: float
    training_seconds: float
    x: np.ndarray
    mask: np.ndarray
    channel_names: list[str]


def run_demo(out_dir: str | Path = "reports/demo", *, seed: int = 0, n_train: int = 20000,
             n_explain: int = 200, progress: bool = True, threads: int | None = 1) -> Path:
    """Train the demo models, explain them with every method, and write the report.

    The steps: train the anomaly CNN and pick the detected anomalies, explain them with every
    method of :func:`batch_methods`, draw the figures, run Time-SmoothGrad on the AR-states
    world, then write ``attributions.npz``, ``summary.json``, ``report.md`` and ``report.html``.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write (created; existing files of the same names are replaced).
    seed : int
        Seed of data generation and training.
    n_train : int
        Training sequences of the anomaly world.
    n_explain : int
        Test sequences explained by each method.
    progress : bool
        Print progress lines and show training progress bars.
    threads : int or None
        torch threads for this run (None: leave torch's setting). The demo's models are small;
        one thread is as fast as two on a quiet machine and avoids OpenMP oversubscription
        when other processes share the cores.

    Returns
    -------
    Path
        The report folder.
    """
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say: Say = print if progress else (lambda _msg: None)
    t_start = time.perf_counter()
    torch.manual_seed(seed)

    run = _train_anomaly_cnn(out, seed=seed, n_train=n_train, n_explain=n_explain,
                             progress=progress, say=say)
    say(f"[2/4] explaining {len(run.x)} detected anomalies with {len(batch_methods(run.x.shape[1]))} methods")
    results, scores = _explain_anomalies(run, say)
    say("[3/4] drawing figures")
    figures = _draw_anomaly_figures(out, results, run)
    say("[4/4] Time-SmoothGrad on the AR(2)-states world (causal MLP seeing 5 steps)")
    tsg, tsg_score, tsg_figure = _time_smoothgrad_world(out, seed=seed, progress=progress)
    results["time_smoothgrad"] = tsg
    scores["time_smoothgrad"] = tsg_score
    figures.append(tsg_figure)

    summary = _write_outputs(out, run, results, scores, figures, t_start)
    say(f"done in {summary['total_seconds']:.0f} s: report written to {out.resolve()}/report.html")
    return out


def _train_anomaly_cnn(out: Path, *, seed: int, n_train: int, n_explain: int, progress: bool,
                       say: Say) -> _AnomalyRun:
    """Train TSViz's anomaly CNN on generated sequences, save it, and pick the anomalies to explain.

    The explained series are anomalous test sequences the model detects (the interesting case).
    """
    import torch

    from tsexplain.datasets import make_anomaly_sequences
    from tsexplain.models import TSVizAnomalyCNN
    from tsexplain.training import fit, save_model

    data = make_anomaly_sequences(n_train=n_train, n_test=max(2000, n_explain), seed=seed)
    train, test = data.train, data.test
    model = TSVizAnomalyCNN()
    say(f"[1/4] training the anomaly CNN on {len(train.X)} generated sequences (3 channels x 50 steps)")
    history = fit(model, train.X, train.y, seed=seed, progress=progress)
    with torch.no_grad():
        logits = model(torch.as_tensor(test.X))[:, 0]
    accuracy = float(((logits > 0).numpy() == (test.y > 0.5)).mean())
    say(f"      test accuracy {accuracy:.3f} ({history.seconds:.1f} s)")
    save_model(model, out / "anomaly_cnn")

    anomalous = np.flatnonzero((test.y > 0.5) & (logits.numpy() > 0))[:n_explain]
    return _AnomalyRun(model=model, accuracy=accuracy, training_seconds=history.seconds,
                       x=test.X[anomalous], mask=test.mask[anomalous],
                       channel_names=list(data.channel_names))


def _explain_anomalies(run: _AnomalyRun, say: Say) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """Every method of :func:`batch_methods` on the detected anomalies, with its scores.

    Scores per method: seconds, the share of attribution mass on the true anomaly cells, and
    the share of each channel.
    """
    import tsexplain
    from tsexplain.metrics import channel_mass_share, mass_share

    results: dict[str, Any] = {}
    scores: dict[str, dict[str, float]] = {}
    for name, params in batch_methods(run.x.shape[1]).items():
        res = tsexplain.explain(run.model, run.x, name, **params)
        results[name] = res
        share = channel_mass_share(res.values, reduction="mean")
        scores[name] = {
            "seconds": round(res.seconds, 3),
            "mass_on_anomalies": float(mass_share(res.values, run.mask, reduction="mean")),
            **{f"share_{c}": float(s) for c, s in zip(run.channel_names, share, strict=True)},
        }
        say(f"      {name:22s} {res.seconds:6.2f} s   share on pressure {share[0]:.1%}   "
            f"mass on true anomalies {scores[name]['mass_on_anomalies']:.1%}")
    return results, scores


def _draw_anomaly_figures(out: Path, results: dict[str, Any], run: _AnomalyRun) -> list[tuple[str, str]]:
    """Save the anomaly world's figures into ``out``; returns (file, caption) pairs in order."""
    from tsexplain.plotting import (
        plot_aggregates,
        plot_colored_series,
        plot_heatmap,
        plot_method_comparison,
        save_figure,
    )

    figures: list[tuple[str, str]] = []

    def keep(fig: Any, file: str, caption: str) -> None:
        save_figure(fig, out / file, close=True)
        figures.append((file, caption))

    x, names, sample = run.x, run.channel_names, 0
    keep(plot_method_comparison(results, x, sample=sample, channel_names=names),
         "methods.png", "Every method on the same detected anomaly (true spikes in temperature/torque).")
    for name, res in results.items():
        keep(plot_heatmap(res, x, sample=sample, channel_names=names),
             f"heatmap_{name}.png", f"{name}: channels x time heatmap of one sample.")
        keep(plot_colored_series(res, x, sample=sample, channel_names=names),
             f"series_{name}.png", f"{name}: the series coloured by its attribution.")
    keep(plot_aggregates(results["integrated_gradients"], channel_names=names),
         "aggregates_integrated_gradients.png",
         "Integrated Gradients over all explained samples: importance per channel and per step.")
    return figures


def _time_smoothgrad_world(out: Path, *, seed: int, progress: bool
                           ) -> tuple[Any, dict[str, float], tuple[str, str]]:
    """A causal MLP on the AR(2)-states world, explained by Time-SmoothGrad (k=100).

    Returns the result, its scores (seconds, mean per-step Pearson correlation with the true
    coefficients over test steps) and its figure as a (file, caption) pair.
    """
    import tsexplain
    from tsexplain.datasets import make_ar_states
    from tsexplain.models import PointwiseMLP
    from tsexplain.plotting import plot_heatmap, save_figure
    from tsexplain.training import fit

    ar = make_ar_states(n_states=3, n_features=10, steps_per_state=5000, seed=seed)
    mlp = PointwiseMLP(n_channels=10, lags=5)
    fit(mlp, ar, seed=seed, patience=30, progress=progress)
    # d y_t / d x_t exactly: 5 batched backward passes for a causal receptive field of 5 steps
    tsg = tsexplain.explain(mlp, ar.X.astype(np.float32), "time_smoothgrad", window=100,
                            receptive_field=5, causal=True)
    file = "heatmap_time_smoothgrad.png"
    save_figure(plot_heatmap(tsg, ar.X, sample=0,
                             title="Time-SmoothGrad (k=100) on the AR-states world"), out / file,
                close=True)
    caption = ("Time-SmoothGrad: attribution per feature and step; the true coefficients switch "
               "with the state every 5000 steps.")
    test_steps = np.flatnonzero(~ar.train_mask)[::10]
    truth_corr = float(np.mean([
        np.corrcoef(tsg.values[0, :, t], ar.coefficients[:, t])[0, 1] for t in test_steps
    ]))
    score = {"seconds": round(tsg.seconds, 3), "per_step_correlation_with_truth": truth_corr}
    return tsg, score, (file, caption)


def _write_outputs(out: Path, run: _AnomalyRun, results: dict[str, Any],
                   scores: dict[str, dict[str, float]], figures: list[tuple[str, str]],
                   t_start: float) -> dict[str, Any]:
    """Write attributions.npz, summary.json, report.md and report.html; returns the summary."""
    from tsexplain.plotting import channel_importance

    np.savez_compressed(
        out / "attributions.npz",
        x=run.x, mask=run.mask,
        **{name: res.values for name, res in results.items() if name != "time_smoothgrad"},
        time_smoothgrad=results["time_smoothgrad"].values,
    )
    summary = {
        "accuracy": run.accuracy,
        "training_seconds": run.training_seconds,
        "n_explained": int(len(run.x)),
        "channel_names": run.channel_names,
        "methods": {n: {"params": r.params, **scores[n]} for n, r in results.items()},
        "mean_channel_importance_ig": channel_importance(results["integrated_gradients"]).tolist(),
        "total_seconds": time.perf_counter() - t_start,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    _write_report(out, summary, figures)
    return summary


def _table_rows(summary: dict[str, Any]) -> list[list[str]]:
    """One row per method: name, seconds, share on pressure, mass on the true anomaly cells."""
    rows = []
    for name, m in summary["methods"].items():
        if "share_pressure" in m:
            rows.append([name, f"{m['seconds']:.2f}", f"{m['share_pressure']:.1%}",
                         f"{m['mass_on_anomalies']:.1%}"])
        else:
            rows.append([name, f"{m['seconds']:.2f}", "-", "per-step correlation with the true "
                         f"coefficients {m['per_step_correlation_with_truth']:.3f}"])
    return rows


_HEADERS = ["method", "seconds", "share on pressure", "mass on true anomaly cells"]


def _write_report(out: Path, summary: dict[str, Any], figures: list[tuple[str, str]]) -> None:
    """Write report.md (figures linked) and report.html (figures embedded, stands alone)."""
    from tsexplain.report import HtmlReport

    intro = (
        f"Anomaly CNN (TSViz) trained on generated pressure/temperature/torque sequences: test "
        f"accuracy {summary['accuracy']:.3f}; {summary['n_explained']} detected anomalies "
        f"explained. Anomalies are only ever injected in temperature and torque, so attribution "
        f"on pressure is attribution the data never justifies."
    )
    rows = _table_rows(summary)
    md = ["# tsexplain demo report", "", intro, "", "| " + " | ".join(_HEADERS) + " |",
          "|---|---|---|---|", *("| " + " | ".join(r) + " |" for r in rows), ""]
    for file, caption in figures:
        md += [f"![{caption}]({file})", "", f"*{caption}*", ""]
    (out / "report.md").write_text("\n".join(md))

    page = HtmlReport("tsexplain demo report")
    page.paragraph(intro)
    page.table(_HEADERS, rows)
    for file, caption in figures:
        page.figure(None, caption, png=(out / file).read_bytes())
    page.write(out / "report.html")
