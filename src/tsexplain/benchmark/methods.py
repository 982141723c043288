"""Every registered method ranked on ground truth: the Ismail et al. layouts, the TSViz anomaly
world and AGRA's quality-signals world.

For each world a small model is trained, the test series are explained by every method of
:data:`tsexplain.attribution.METHODS`, and each attribution is scored against the true mask:
precision of the top time steps, features and cells (k = the number of true items, so precision
equals recall), the share of the attribution mass on the true cells, and the faithfulness
curves (area under the deletion curve, lower is better; under the insertion curve, higher is
better), with the cost in milliseconds per series. The last table ranks the methods by their
mean rank over the worlds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tsexplain.benchmark._common import Context, Section, Timer, predict, to_float

#: Cap on the costly parameter of each method (steps, draws, coalitions) in this ranking.
COST_CAP = 32
#: Columns of the per-world tables (besides method and cost).
SCORES = ("time_precision", "feature_precision", "cell_precision", "mass_on_truth", "deletion_auc",
          "insertion_auc")


def method_params(n_channels: int, n_timesteps: int, baselines: np.ndarray) -> dict[str, dict[str, Any]]:
    """Settings of every registered method for a world of series (C, T).

    Costly parameters are capped at :data:`COST_CAP`, except the coalitions of KernelSHAP and
    LIME, which need about twice as many coalitions as groups (channel x 5 segments) to identify
    every group. The SHAP-family methods draw their baselines from ``baselines`` (training
    series); occlusion uses windows of a tenth of the series.
    """
    from tsexplain.attribution import method_settings
    from tsexplain.attribution._coalitions import enough_coalitions

    groups = n_channels * 5
    window = max(1, n_timesteps // 10)
    return method_settings(COST_CAP, {
        "occlusion": {"window": window, "stride": window},
        "feature_ablation": {"n_segments": 5},
        "kernel_shap": {"n_segments": 5, "n_coalitions": enough_coalitions(groups)},
        "lime": {"n_segments": 5, "n_coalitions": enough_coalitions(groups)},
        "gradient_shap": {"baselines": baselines},
        "deeplift_shap": {"baselines": baselines},
    })


def score(model: Any, x: np.ndarray, attribution: np.ndarray, mask: np.ndarray, target: Any) -> dict[str, float]:
    """Localisation and faithfulness scores of one attribution (N, C, T) against ``mask``."""
    from tsexplain.metrics import (
        area_under_curve,
        deletion_curve,
        insertion_curve,
        mass_share,
        top_k_precision_recall,
    )

    out = {}
    for axis in ("time", "feature", "cell"):
        p, _ = top_k_precision_recall(attribution, mask, axis=axis, reduction="mean")
        out[f"{axis}_precision"] = to_float(p)
    out["mass_on_truth"] = to_float(mass_share(attribution, mask, reduction="mean"))
    for kind, curve_fn in (("deletion", deletion_curve), ("insertion", insertion_curve)):
        curve = curve_fn(model, x, attribution, target=target, steps=10, progress=False)
        out[f"{kind}_auc"] = to_float(np.mean(area_under_curve(curve.fractions, curve.scores)))
    return out


def rank_methods(model: Any, x: np.ndarray, mask: np.ndarray, params: dict[str, dict[str, Any]],
                 target: Any, say: Callable[[str], None], seed: int) -> dict[str, dict[str, float]]:
    """Scores of every method and of the references (truth, random) on one world."""
    import tsexplain

    scores: dict[str, dict[str, float]] = {}
    for name, p in params.items():
        with Timer() as tm:
            res = tsexplain.explain(model, x, name, target=target, progress=False, **p)
        scores[name] = {**score(model, x, np.asarray(res.values), mask, target),
                        "ms_per_series": 1000 * tm.seconds / len(x)}
        say(f"    {name}: {1000 * tm.seconds / len(x):.1f} ms per series")
    rng = np.random.default_rng(seed)
    for name, a in (("truth (the mask itself)", mask.astype(float)), ("random", rng.random(x.shape))):
        scores[name] = {**score(model, x, a, mask, target), "ms_per_series": float("nan")}
    return scores


def _ismail(ctx: Context) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, str]:
    import torch

    from tsexplain.datasets import make_ismail_layouts
    from tsexplain.models import TSVizAnomalyCNN
    from tsexplain.training import fit

    layout = ctx.pick("middle", "middle", "middle")
    size = ctx.pick(50, 30, 20)
    data = make_ismail_layouts(layout, n=ctx.pick(1000, 500, 200), n_test=ctx.pick(100, 40, 12),
                               n_features=size, n_timesteps=size, seed=ctx.seed)
    torch.manual_seed(ctx.seed)
    model = TSVizAnomalyCNN(n_channels=size, length=size)
    tr = data.train_mask
    fit(model, data.X[tr].astype(np.float32), data.y[tr], task="binary", epochs=ctx.pick(20, 10, 5),
        seed=ctx.seed, progress=False)
    xt = data.X[~tr].astype(np.float32)
    acc = to_float(((predict(model, xt)[:, 0] > 0) == (data.y[~tr] > 0.5)).mean())
    return model, xt, data.mask[~tr], data.X[tr][:16].astype(np.float32), (
        f"Ismail '{layout}' layout, {size} features x {size} steps, TSVizAnomalyCNN "
        f"(test accuracy {acc:.2f})")


def _anomaly(ctx: Context) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, str]:
    import torch

    from tsexplain.datasets import make_anomaly_sequences
    from tsexplain.models import TSVizAnomalyCNN
    from tsexplain.training import fit

    data = make_anomaly_sequences(n_train=ctx.pick(20000, 4000, 1000), n_test=ctx.pick(2000, 400, 200),
                                  seed=ctx.seed)
    torch.manual_seed(ctx.seed)
    model = TSVizAnomalyCNN()
    fit(model, data.train.X, data.train.y, task="binary", epochs=ctx.pick(20, 8, 4), seed=ctx.seed,
        progress=False)
    logits = predict(model, data.test.X)[:, 0]
    acc = to_float(((logits > 0) == (data.test.y > 0.5)).mean())
    picked = np.flatnonzero((data.test.y > 0.5) & (logits > 0))[: ctx.pick(300, 60, 16)]
    if len(picked) == 0:
        picked = np.flatnonzero(data.test.y > 0.5)[: ctx.pick(300, 60, 16)]
    return (model, data.test.X[picked].astype(np.float32), data.test.mask[picked],
            data.train.X[:16].astype(np.float32),
            f"TSViz anomaly world, detected anomalies, TSVizAnomalyCNN (test accuracy {acc:.2f})")


def _quality(ctx: Context) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, str]:
    import torch

    from tsexplain.datasets import make_quality_signals
    from tsexplain.models import AGRACNN
    from tsexplain.training import fit

    data = make_quality_signals(n_train=ctx.pick(750, 400, 200), n_test=ctx.pick(250, 60, 16),
                                length=200, seed=ctx.seed)
    torch.manual_seed(ctx.seed)
    model = AGRACNN(length=200)
    fit(model, data.train.X, data.train.y, task="regression", epochs=ctx.pick(60, 20, 5),
        seed=ctx.seed, progress=False)
    pred = predict(model, data.test.X)[:, 0]
    r = float(np.corrcoef(pred, data.test.y)[0, 1]) if np.std(pred) > 0 else float("nan")
    keep = data.test.mask.reshape(len(data.test.X), -1).any(axis=1)  # series with a perturbation
    return (model, data.test.X[keep].astype(np.float32), data.test.mask[keep],
            data.train.X[:16].astype(np.float32),
            f"AGRA quality-signals world, perturbed test signals, AGRACNN regression "
            f"(test Pearson r {r:.2f})")


WORLDS: dict[str, Callable[[Context], tuple[Any, np.ndarray, np.ndarray, np.ndarray, str]]] = {
    "ismail": _ismail,
    "anomaly": _anomaly,
    "quality_signals": _quality,
}


def run(ctx: Context) -> Section:
    sec = ctx.section("methods", "Every method ranked on ground truth (Ismail layouts, anomaly "
                                 "world, quality-signals world)")
    sec.settings = {"cost cap": COST_CAP, "k": "the number of true items of each sample",
                    "deletion/insertion": "10 steps, zero / blurred baseline (the metrics' defaults)"}
    all_scores: dict[str, dict[str, dict[str, float]]] = {}
    for world, build in WORLDS.items():
        with Timer() as tm:
            model, x, mask, baselines, title = build(ctx)
        ctx.say(f"  {world}: {title}, {len(x)} series explained (trained in {tm.seconds:.1f} s)")
        params = method_params(x.shape[1], x.shape[2], baselines)
        scores = rank_methods(model, x, mask, params, None, ctx.say, ctx.seed)
        all_scores[world] = scores
        sec.settings[world] = {"setting": title, "n_explained": int(len(x)),
                               "C x T": f"{x.shape[1]} x {x.shape[2]}"}
        sec.table(f"{title}: {len(x)} series", ["method", "time P=R", "feature P=R", "cell P=R",
                                                "mass on truth", "deletion AUC (low)",
                                                "insertion AUC (high)", "ms per series"],
                  [[name, *(s[c] for c in SCORES), s["ms_per_series"]] for name, s in scores.items()],
                  note="P=R: precision of the k most attributed items with k the number of true "
                       "items (then precision equals recall). Truth and random are references.")
    methods = [m for m in next(iter(all_scores.values())) if m not in ("truth (the mask itself)", "random")]
    ranks = _mean_ranks(all_scores, methods)
    order = sorted(methods, key=lambda m: ranks[m])
    sec.table("Ranking: mean rank over the worlds of cell precision, mass on truth, deletion and "
              "insertion (1 = best)", ["rank", "method", "mean rank",
                                       *(f"{w} cell P" for w in all_scores), "ms per series (mean)"],
              [[i + 1, m, ranks[m], *(all_scores[w][m]["cell_precision"] for w in all_scores),
                float(np.mean([all_scores[w][m]["ms_per_series"] for w in all_scores]))]
               for i, m in enumerate(order)])
    sec.metrics = {"scores": all_scores, "mean_rank": ranks, "ranking": order}
    sec.notes.append("Grad-CAM and layer Integrated Gradients give one time profile repeated over "
                     "channels, so their feature precision is the base rate by construction.")
    return sec


def _mean_ranks(all_scores: dict[str, dict[str, dict[str, float]]], methods: list[str]) -> dict[str, float]:
    """Mean over worlds and criteria of each method's rank (1 = best; ties share the mean)."""
    criteria = (("cell_precision", -1), ("mass_on_truth", -1), ("deletion_auc", 1), ("insertion_auc", -1))
    ranks: dict[str, list[float]] = {m: [] for m in methods}
    for scores in all_scores.values():
        for key, sign in criteria:
            values = np.array([sign * scores[m][key] for m in methods])
            for m, v in zip(methods, values, strict=True):  # ties share the mean rank
                ranks[m].append(float((values < v).sum() + ((values == v).sum() + 1) / 2))
    return {m: float(np.mean(r)) for m, r in ranks.items()}
