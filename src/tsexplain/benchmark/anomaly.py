"""TSViz anomaly world (Siddiqui et al.): share of attribution on pressure, localisation."""

from __future__ import annotations

from typing import Any

import numpy as np

from tsexplain.benchmark._common import Context, Section, Timer, predict, to_float

PRESSURE_FLOOR = 0.05

METHODS: dict[str, dict[str, Any]] = {
    "saliency": {},
    "gradient_x_input": {},
    "smoothgrad": {"n_samples": 32, "noise": 0.1},
    "integrated_gradients": {"steps": 32},
}


def localisation_row(attribution: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Share on pressure (channel 0), mass share on the anomalies and pointing game."""
    from tsexplain.metrics import channel_mass_share, mass_share, pointing_game

    share = channel_mass_share(attribution, reduction="mean")
    return {
        "share_pressure": to_float(share[0]),
        "share_temperature": to_float(share[1]),
        "share_torque": to_float(share[2]),
        "mass_on_anomalies": to_float(mass_share(attribution, mask, reduction="mean")),
        "pointing_game": to_float(pointing_game(attribution, mask, reduction="mean")),
    }


def run(ctx: Context) -> Section:
    import torch

    import tsexplain
    from tsexplain.datasets import make_anomaly_sequences
    from tsexplain.models import TSVizAnomalyCNN
    from tsexplain.training import fit

    sec = ctx.section("anomaly", "TSViz anomaly world: pressure, temperature, torque")
    n_train = ctx.pick(50000, 20000, 400)
    n_explain = ctx.pick(1000, 300, 16)
    sec.settings = {"n_train": n_train, "n_test": ctx.pick(10000, 2000, 100),
                    "n_explained": n_explain, "model": "TSVizAnomalyCNN (16/32/64 filters)",
                    "training": "TSVizAnomalyCNN.training_defaults (fit() with no overrides)",
                    "methods": METHODS}
    data = make_anomaly_sequences(n_train=n_train, n_test=ctx.pick(10000, 2000, 100), seed=ctx.seed)
    torch.manual_seed(ctx.seed)
    model = TSVizAnomalyCNN()
    with Timer() as tm:
        hist = fit(model, data.train.X, data.train.y, seed=ctx.seed, progress=False,
                   **({"epochs": 1} if ctx.size == "tiny" else {}))
    test = data.test
    logits = predict(model, test.X)[:, 0]
    accuracy = to_float(((logits > 0) == (test.y > 0.5)).mean())
    ctx.say(f"  anomaly CNN: {len(hist.train_loss)} epochs in {tm.seconds:.1f} s, test accuracy "
            f"{accuracy:.3f}")
    detected = np.flatnonzero((test.y > 0.5) & (logits > 0))[:n_explain]
    if len(detected) == 0:  # an untrained tiny model may detect nothing
        detected = np.flatnonzero(test.y > 0.5)[:n_explain]
    x, mask = test.X[detected].astype(np.float32), test.mask[detected]

    rows, scores = [], {}
    rng = np.random.default_rng(ctx.seed)
    references = {"truth (the anomaly mask itself)": mask.astype(float),
                  "random attribution": rng.random(x.shape)}
    for name, params in METHODS.items():
        res = tsexplain.explain(model, x, name, **params)
        scores[name] = {**localisation_row(np.asarray(res.values), mask), "seconds": round(res.seconds, 2)}
    for name, a in references.items():
        scores[name] = localisation_row(a, mask)
    for name, s in scores.items():
        rows.append([name, s["share_pressure"], s["share_temperature"], s["share_torque"],
                     s["mass_on_anomalies"], s["pointing_game"]])
    sec.table(f"Attribution on {len(x)} detected anomalous test sequences",
              ["method", "share on pressure", "temperature", "torque", "mass on true anomalies",
               "pointing game"], rows,
              note="TSViz (paper) never puts anomalies in pressure and reports qualitatively "
                   "that the network leaves pressure alone; it gives no number. The truth row "
                   "is the anomaly mask used as an attribution (scores 0 / 1 / 1 by "
                   "construction); the random row is the chance level.")
    for name in METHODS:
        share = scores[name]["share_pressure"]
        sec.floor(f"{name}: < {PRESSURE_FLOOR:.0%} of attribution mass on pressure",
                  share < PRESSURE_FLOOR, f"measured {share:.1%}")
    sec.metrics = {"accuracy": accuracy, "epochs": len(hist.train_loss),
                   "train_seconds": round(tm.seconds, 2), "n_explained": int(len(x)),
                   "scores": scores}
    sec.notes.append(
        "Pressure is a channel the network never needs; its share measures how much of an "
        "attribution is spent on an irrelevant input. A CNN trained 10 epochs on noise-like data "
        "puts 14.5% of its saliency there: the share is a property of training as much as of "
        "the method.")

    if ctx.out is not None:
        from tsexplain.plotting import plot_method_comparison

        results = {name: tsexplain.explain(model, x[:1], name, **params)
                   for name, params in METHODS.items()}
        fig = plot_method_comparison(results, x[:1], sample=0, channel_names=list(data.channel_names))
        sec.figure(fig, "anomaly_methods.png", "Every method on one detected anomaly (true spikes "
                   "in temperature / torque, never in pressure).")
    return sec
