"""The built-in demo: train small models on generated data and write an explanation report.

Needs nothing but the package (no downloads, no ``../shared``): the TSViz anomaly world is
generated, the anomaly CNN trained on it (well under a minute on 2 CPUs), and every batch method
explains test sequences; a point-wise MLP on the Time-SmoothGrad AR-states world shows
Time-SmoothGrad. The report folder holds PNG figures, ``report.md``, ``report.html`` (figures
embedded), ``attributions.npz`` and the trained model (safetensors + JSON spec).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

BATCH_METHODS: dict[str, dict[str, Any]] = {
    "saliency": {},
    "gradient_x_input": {},
    "smoothgrad": {"n_samples": 32, "noise": 0.1},
    "integrated_gradients": {"steps": 32},
}


def run_demo(out_dir: str | Path = "reports/demo", *, seed: int = 0, n_train: int = 20000,
             n_explain: int = 200, progress: bool = True, threads: int | None = 1) -> Path:
    """Train the demo models, explain them with every method, and write the report.

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
        one thread is as fast as two on a quiet machine and avoids OpenMP oversubscription,
        which made a 2-thread demo 20x slower when other processes shared the cores.

    Returns
    -------
    Path
        The report folder.
    """
    import torch

    import tsexplain
    from tsexplain.datasets import make_anomaly_sequences, make_ar_states
    from tsexplain.metrics import channel_mass_share, mass_share
    from tsexplain.models import PointwiseMLP, TSVizAnomalyCNN
    from tsexplain.plotting import (
        channel_importance,
        plot_aggregates,
        plot_colored_series,
        plot_heatmap,
        plot_method_comparison,
        save_figure,
    )
    from tsexplain.training import fit, save_model

    if threads is not None:
        torch.set_num_threads(threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say = print if progress else (lambda *a, **k: None)
    t_start = time.perf_counter()
    torch.manual_seed(seed)

    # ------------------------------------------------------------ anomaly world + CNN
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

    # explain anomalous test sequences the model detects (the interesting case)
    anomalous = np.flatnonzero((test.y > 0.5) & (logits.numpy() > 0))[:n_explain]
    x = test.X[anomalous]
    mask = test.mask[anomalous]
    channel_names = list(data.channel_names)
    say(f"[2/4] explaining {len(x)} detected anomalies with {len(BATCH_METHODS)} methods")
    results = {}
    scores: dict[str, dict[str, float]] = {}
    for name, params in BATCH_METHODS.items():
        res = tsexplain.explain(model, x, name, **params)
        results[name] = res
        share = channel_mass_share(res.values, reduction="mean")
        scores[name] = {
            "seconds": round(res.seconds, 3),
            "mass_on_anomalies": float(mass_share(res.values, mask, reduction="mean")),
            **{f"share_{c}": float(s) for c, s in zip(channel_names, share, strict=True)},
        }
        say(f"      {name:22s} {res.seconds:6.2f} s   share on pressure {share[0]:.1%}   "
            f"mass on true anomalies {scores[name]['mass_on_anomalies']:.1%}")

    say("[3/4] drawing figures")
    figures: list[tuple[str, str]] = []

    def keep(fig: Any, file: str, caption: str) -> None:
        save_figure(fig, out / file)
        figures.append((file, caption))

    sample = 0
    keep(plot_method_comparison(results, x, sample=sample, channel_names=channel_names),
         "methods.png", "Every method on the same detected anomaly (true spikes in temperature/torque).")
    for name, res in results.items():
        keep(plot_heatmap(res, x, sample=sample, channel_names=channel_names),
             f"heatmap_{name}.png", f"{name}: channels x time heatmap of one sample.")
        keep(plot_colored_series(res, x, sample=sample, channel_names=channel_names),
             f"series_{name}.png", f"{name}: the series coloured by its attribution.")
    keep(plot_aggregates(results["integrated_gradients"], channel_names=channel_names),
         "aggregates_integrated_gradients.png",
         "Integrated Gradients over all explained samples: importance per channel and per step.")

    # ------------------------------------------------------------ Time-SmoothGrad world
    say("[4/4] Time-SmoothGrad on the AR(2)-states world (causal MLP seeing 5 steps)")
    ar = make_ar_states(n_states=3, n_features=10, steps_per_state=5000, seed=seed)
    mlp = PointwiseMLP(n_channels=10, lags=5)
    fit(mlp, ar, seed=seed, patience=30, progress=progress)
    # d y_t / d x_t exactly: 5 batched backward passes for a causal receptive field of 5 steps
    tsg = tsexplain.explain(mlp, ar.X.astype(np.float32), "time_smoothgrad", window=100,
                            receptive_field=5, causal=True)
    results["time_smoothgrad"] = tsg
    keep(plot_heatmap(tsg, ar.X, sample=0, title="Time-SmoothGrad (k=100) on the AR-states world"),
         "heatmap_time_smoothgrad.png",
         "Time-SmoothGrad: attribution per feature and step; the true coefficients switch with "
         "the state every 5000 steps.")
    test_steps = np.flatnonzero(~ar.train_mask)[::10]
    truth_corr = float(np.mean([
        np.corrcoef(tsg.values[0, :, t], ar.coefficients[:, t])[0, 1] for t in test_steps
    ]))
    scores["time_smoothgrad"] = {"seconds": round(tsg.seconds, 3), "per_step_correlation_with_truth": truth_corr}

    np.savez_compressed(
        out / "attributions.npz",
        x=x, mask=mask,
        **{name: res.values for name, res in results.items() if name != "time_smoothgrad"},
        time_smoothgrad=tsg.values,
    )
    summary = {
        "accuracy": accuracy,
        "training_seconds": history.seconds,
        "n_explained": int(len(x)),
        "channel_names": channel_names,
        "methods": {n: {"params": r.params, **scores[n]} for n, r in results.items()},
        "mean_channel_importance_ig": channel_importance(results["integrated_gradients"]).tolist(),
        "total_seconds": time.perf_counter() - t_start,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    _write_report(out, summary, figures)
    say(f"done in {summary['total_seconds']:.0f} s: report written to {out.resolve()}/report.html")
    return out


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
