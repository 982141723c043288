"""Ismail et al. (NeurIPS 2020) layouts: rank methods by precision / recall of the top cells in
time and in feature (beyond the papers)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tsexplain.attribution import method_settings
from tsexplain.benchmark._common import Context, Section, Timer, predict, to_float

#: Every registered (N, C, T) method, costly parameters (registry ``cost_params``) capped at 16.
METHODS: dict[str, dict[str, Any]] = method_settings(16, {"smoothgrad": {"noise": 0.1}})


def score_layout(attribution: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """R-precision (k = number of true items) per cell, per time step and per feature."""
    from tsexplain.metrics import top_k_precision_recall

    out = {}
    for axis in ("cell", "time", "feature"):
        p, r = top_k_precision_recall(attribution, mask, axis=axis, reduction="mean")
        out[f"{axis}_precision"] = to_float(p)
        out[f"{axis}_recall"] = to_float(r)
    return out


def run(ctx: Context) -> Section:
    import torch

    import tsexplain
    from tsexplain.datasets import make_ismail_layouts
    from tsexplain.models import TSVizAnomalyCNN
    from tsexplain.training import fit

    sec = ctx.section("ismail", "Ismail et al. layouts: which method finds the informative box")
    layouts = ctx.pick(["middle", "small_middle", "moving_middle", "rare_time", "moving_rare_time",
                        "rare_feature", "moving_rare_feature", "positional_time",
                        "positional_feature"],
                       ["middle", "rare_time", "rare_feature", "moving_middle"],
                       ["middle", "rare_time"])
    n, n_test = ctx.pick((1000, 100), (1000, 100), (64, 8))
    size = ctx.pick(50, 50, 20)
    epochs = ctx.pick(20, 8, 1)
    sec.settings = {"layouts": layouts, "n_train": n, "n_test": n_test, "features x steps": size,
                    "model": "TSVizAnomalyCNN(n_channels=50) as a binary classifier",
                    "epochs": epochs, "k": "the number of true items of each sample (R-precision)"}
    table_rows, all_scores = [], {}
    for layout in layouts:
        data = make_ismail_layouts(layout, n=n, n_test=n_test, n_features=size, n_timesteps=size,
                                   seed=ctx.seed)
        torch.manual_seed(ctx.seed)
        model = TSVizAnomalyCNN(n_channels=size, length=size)
        tr = data.train_mask
        with Timer() as tm:
            fit(model, data.X[tr].astype(np.float32), data.y[tr], epochs=epochs, seed=ctx.seed,
                progress=False)
        xt = data.X[~tr].astype(np.float32)
        acc = to_float(((predict(model, xt)[:, 0] > 0) == (data.y[~tr] > 0.5)).mean())
        mask = data.mask[~tr]
        # "accuracy" -> float; each method, "truth (mask)" and "random" -> its precisions
        scores: dict[str, Any] = {"accuracy": acc}
        for name, params in METHODS.items():
            a = np.asarray(tsexplain.explain(model, xt, name, **params).values)
            scores[name] = score_layout(a, mask)
        scores["truth (mask)"] = score_layout(mask.astype(float), mask)
        scores["random"] = score_layout(np.random.default_rng(ctx.seed).random(mask.shape), mask)
        all_scores[layout] = scores
        ctx.say(f"  {layout}: accuracy {acc:.2f} ({tm.seconds:.1f} s)")
        for name in (*METHODS, "random"):
            s = scores[name]
            table_rows.append([layout, acc, name, s["time_precision"], s["feature_precision"],
                               s["cell_precision"]])
    sec.table("Precision of the top-k time steps, features and cells (k = number of true ones; "
              "precision = recall)", ["layout", "model accuracy", "method", "time", "feature",
                                      "cell"], table_rows,
              note="Truth (the mask itself) scores 1 everywhere by construction; random is the "
                   "base rate. Attributions of a model near 0.5 accuracy explain nothing.")
    # ranking: mean cell precision over layouts
    ranking = sorted(METHODS, key=lambda m: -np.mean([all_scores[lay][m]["cell_precision"]
                                                      for lay in layouts]))
    sec.table("Ranking over layouts (mean precision)", ["rank", "method", "time", "feature", "cell"],
              [[i + 1, m, to_float(np.mean([all_scores[lay][m]["time_precision"] for lay in layouts])),
                to_float(np.mean([all_scores[lay][m]["feature_precision"] for lay in layouts])),
                to_float(np.mean([all_scores[lay][m]["cell_precision"] for lay in layouts]))]
               for i, m in enumerate(ranking)])
    sec.metrics = {"scores": all_scores, "ranking_by_cell_precision": ranking}
    sec.notes.append("Ismail et al. report (their Fig. 4) that gradient methods find the box "
                     "well in time or in feature but rarely both; our table gives the figures "
                     "per axis so a user can pick by the kind of signal their data has.")
    return sec
