"""Inside the anomaly CNN: filter importance, clusters, an adversarial example, pruning.

TSViz's anomaly-detection CNN (convolutions of 16, 32 and 64 filters, one dense layer) reads
pressure, temperature and torque; anomalies (short spikes) are only ever put in temperature
and torque, so pressure is a channel the network never needs. We train it, then look inside:

1. filter importance ``sum_t |d y / d a[f, t]|`` (TSViz Eq. 16) of every filter of a layer;
2. filters clustered by the shape of their activations (DTW, complete linkage, silhouette);
3. an FGSM adversarial example and which channels the perturbation went to;
4. pruning the least important filters first, on a copy, and the test loss it costs.

Run: ``python docs/tutorials/inside_the_anomaly_cnn.py --quick`` (about 20 s on 2 CPUs).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from tsexplain.datasets import make_anomaly_sequences
from tsexplain.models import TSVizAnomalyCNN
from tsexplain.network import (
    cluster_filters,
    conv_activations,
    describe,
    fgsm,
    filter_importance,
    pruning_curve,
)
from tsexplain.plotting import save_figure
from tsexplain.training import fit

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: seconds, not minutes")
    ap.add_argument("--out", default=str(HERE / "figures"), help="folder for the figures")
    args = ap.parse_args(argv)
    out = Path(args.out)
    torch.manual_seed(0)

    # 1. data (N, 3, 50) with the anomaly mask, and the model
    n_train = 3000 if args.quick else 20000
    data = make_anomaly_sequences(n_train=n_train, n_test=500, seed=0)
    model = TSVizAnomalyCNN()
    fit(model, data.train.X, data.train.y, epochs=4 if args.quick else None, progress=False, seed=0)
    test = data.test
    with torch.no_grad():
        logits = model(torch.as_tensor(test.X, dtype=torch.float32))[:, 0].numpy()
    print(f"anomaly CNN: test accuracy {((logits > 0) == (test.y > 0.5)).mean():.3f}")
    for layer in describe(model, test.X[:2]).layers:
        print(f"  {layer.name:6s} {layer.kind:8s} output {layer.output_shape}")

    # 2. filter importance of the last convolution, averaged over anomalous test sequences
    layer = "net.4"  # the 64-filter convolution
    anomalous = test.X[test.y > 0.5][:200].astype(np.float32)
    imp = filter_importance(model, anomalous, layer).numpy()  # (N, F)
    mean_imp = imp.mean(0)
    order = np.argsort(mean_imp)[::-1]
    print(f"filter importance of {layer}: top 5 filters {order[:5].tolist()}, "
          f"{(mean_imp < 0.1 * mean_imp.max()).sum()} of {len(mean_imp)} below 10% of the top")

    # 3. cluster the filters of that layer by their activations on one anomalous sequence
    acts = conv_activations(model, anomalous[:1], layer)[layer][0]  # (F, T)
    clusters = cluster_filters(acts, k_range=(2, 8))
    print(f"clusters: best k = {clusters.k} by silhouette "
          f"({ {k: round(v, 2) for k, v in clusters.silhouette.items()} })")

    # 4. FGSM on the anomalous sequences: where did the perturbation go?
    adv = fgsm(model, anomalous[:64], epsilon=0.3)
    share = adv.channel_share.numpy().mean(0)
    print(f"FGSM eps=0.3: {int(adv.flipped.sum())} of 64 predictions flipped; perturbation share "
          + ", ".join(f"{c} {s:.0%}" for c, s in zip(data.channel_names, share, strict=False)))

    # 5. pruning, least important first (on a copy; `model` is not changed)
    curve = pruning_curve(model, layer, test.X.astype(np.float32), test.y,
                          x_importance=anomalous, max_pruned=48 if args.quick else None)

    # figures
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5))
    ax = axes[0, 0]
    ax.bar(np.arange(len(mean_imp)), mean_imp[order], color="tab:blue")
    ax.set_title(f"filter importance, {layer} (sorted)", fontsize=9)
    ax.set_xlabel("filter rank")
    ax = axes[0, 1]
    ks = sorted(clusters.silhouette)
    ax.plot(ks, [clusters.silhouette[k] for k in ks], "o-")
    ax.axvline(clusters.k, color="grey", ls=":")
    ax.set_title("silhouette score against k (DTW, complete linkage)", fontsize=9)
    ax.set_xlabel("number of clusters k")
    ax = axes[1, 0]
    i = int(np.argmax(adv.flipped.numpy())) if bool(adv.flipped.any()) else 0
    for c, name in enumerate(data.channel_names):
        ax.plot(anomalous[i, c] + 4 * c, color=f"C{c}", label=name)
        ax.plot(adv.x_adv[i, c].numpy() + 4 * c, color=f"C{c}", ls=":", lw=1)
    ax.set_title(f"FGSM example {i} (dotted: adversarial; flipped={bool(adv.flipped[i])})",
                 fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    ax.plot(curve.n_pruned, curve.loss, "o-", ms=3)
    ax.set_title("test loss while pruning the least important filters first", fontsize=9)
    ax.set_xlabel("filters removed")
    fig.tight_layout()
    save_figure(fig, out / "anomaly_inside.png", dpi=70, close=True)
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
