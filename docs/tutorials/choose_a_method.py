"""Choose a method for your data: the ground-truth benchmark and deletion curves.

Two questions decide between methods. *Where the truth is known* (generated data with a mask of
the informative cells): how much attribution lands on it? *Where it is not* (your data): does
removing the most attributed cells first destroy the prediction fastest (deletion curve, small
area) and does restoring them first bring it back fastest (insertion curve, large area)? We ask
both on TSViz's anomaly world, where the anomalies' positions are known, for every method and a
random attribution as the chance level.

Run: ``python docs/tutorials/choose_a_method.py --quick`` (about 20 s on 2 CPUs).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

import tsexplain
from tsexplain.datasets import make_anomaly_sequences
from tsexplain.metrics import deletion_curve, insertion_curve, mass_share, pointing_game
from tsexplain.models import TSVizAnomalyCNN
from tsexplain.plotting import plot_method_comparison, save_figure
from tsexplain.training import fit

HERE = Path(__file__).resolve().parent
METHODS = {
    "saliency": {},
    "gradient_x_input": {},
    "smoothgrad": {"n_draws": 16, "noise": 0.1},
    "integrated_gradients": {"steps": 16},
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: seconds, not minutes")
    ap.add_argument("--out", default=str(HERE / "figures"), help="folder for the figures")
    args = ap.parse_args(argv)
    out = Path(args.out)
    torch.manual_seed(0)

    data = make_anomaly_sequences(n_train=3000 if args.quick else 20000, n_test=400, seed=0)
    model = TSVizAnomalyCNN()
    fit(model, data.train.X, data.train.y, epochs=4 if args.quick else None, progress=False, seed=0)
    test = data.test
    with torch.no_grad():
        logits = model(torch.as_tensor(test.X, dtype=torch.float32))[:, 0].numpy()
    # explain sequences the model calls anomalous and that are anomalous
    idx = np.flatnonzero((logits > 0) & (test.y > 0.5))[: 32 if args.quick else 200]
    x, mask = test.X[idx].astype(np.float32), test.mask[idx]
    print(f"explaining {len(x)} detected anomalies")

    results = {name: tsexplain.explain(model, x, name, **p) for name, p in METHODS.items()}
    attrs = {name: np.asarray(r) for name, r in results.items()}
    attrs["random"] = np.random.default_rng(0).standard_normal(x.shape)

    # 1. ground truth: share of |attribution| on the anomalies; does the top cell hit one?
    print(f"{'method':22s} {'mass on anomalies':>18s} {'pointing game':>14s} "
          f"{'deletion AUC':>13s} {'insertion AUC':>14s}")
    curves = {}
    for name, a in attrs.items():
        dele = deletion_curve(model, x, a, steps=10, progress=False)
        ins = insertion_curve(model, x, a, steps=10, progress=False)
        curves[name] = dele
        print(f"{name:22s} {mass_share(a, mask):18.3f} {pointing_game(a, mask):14.3f} "
              f"{dele.auc():13.3f} {ins.auc():14.3f}")

    # figures: the methods side by side on one sample, then the deletion curves
    fig = plot_method_comparison(results, x, sample=0, channel_names=list(data.channel_names))
    save_figure(fig, out / "choose_methods_side_by_side.png", dpi=60, close=True)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for name, c in curves.items():
        ax.plot(c.fractions, c.scores.mean(0), "--" if name == "random" else "-", label=name)
    ax.set_xlabel("fraction of cells deleted (most attributed first)")
    ax.set_ylabel("mean logit of the explained output")
    ax.set_title("Deletion curves: lower and earlier is more faithful", fontsize=9)
    ax.legend(fontsize=7)
    save_figure(fig, out / "choose_deletion_curves.png", dpi=80, close=True)
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
