"""TSViz on the anomaly CNN: the "Must show" figures of issue 5.

Trains TSViz's anomaly CNN (16/32/64 filters + dense) on ``make_anomaly_sequences`` and shows:

1. inverse optimisation from standard-normal noise (alpha 0.01, 1000 steps, as TSViz) reaches
   >= 0.99 anomaly probability, with its spikes in temperature/torque rather than pressure;
2. iterative FGSM with epsilon 0.1 (alpha 1e-4, 1000 steps, as TSViz) flips a confidently
   anomalous test sequence;
3. removing the most influential filter of each conv layer raises the test loss more than
   removing the least influential one (TSViz Table 1);

plus the filter grid / silhouette / dendrogram of the second conv layer, a pruning curve per
layer and the saturation check. Figures go to ``--out``.

Usage: ``python benchmarks/network_anomaly_demo.py [--n-train 20000] [--out reports/network]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description="TSViz filter analysis on the anomaly CNN")
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--n-test", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=None, help="default: the model's training defaults")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("reports/network"))
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--plain-adam", action="store_true",
                        help="train as TSViz did (plain Adam, no weight decay or activity "
                             "regularisation, 4 epochs) instead of the model's defaults (AdamW)")
    args = parser.parse_args()

    from tsexplain.datasets import make_anomaly_sequences
    from tsexplain.models import TSVizAnomalyCNN
    from tsexplain.network import (
        cluster_filters,
        conv_activations,
        detect_saturation,
        evaluate_loss,
        faithfulness_table,
        filter_importance,
        filter_importance_stats,
        filter_saliency,
        inspect,
        inverse_optimize,
        iterative_fgsm,
        pruning_curve,
    )
    from tsexplain.training import fit

    t_start = time.perf_counter()
    data = make_anomaly_sequences(n_train=args.n_train, n_test=args.n_test, seed=args.seed)
    X = torch.as_tensor(data.X, dtype=torch.float32)
    y = torch.as_tensor(data.y)
    tr = torch.as_tensor(data.train_mask)
    x_train, y_train, x_test, y_test = X[tr], y[tr], X[~tr], y[~tr]
    names = ["pressure", "temperature", "torque"]

    torch.manual_seed(args.seed)
    model = TSVizAnomalyCNN()
    kwargs = {} if args.epochs is None else {"epochs": args.epochs}
    if args.plain_adam:
        kwargs = {"optimizer": "adam", "weight_decay": 0.0, "activity_l2": 0.0, "epochs": 4,
                  "patience": 2, **kwargs}
    fit(model, x_train.numpy(), y_train.numpy(), task="binary", seed=args.seed, progress=False, **kwargs)
    model.eval()
    with torch.no_grad():
        p_test = torch.sigmoid(model(x_test)[:, 0])
    acc = float(((p_test > 0.5).long() == y_test).float().mean())
    base_loss = evaluate_loss(model, x_test, y_test.float())
    print(f"trained on {len(x_train)} sequences in {time.perf_counter() - t_start:.1f} s: "
          f"test accuracy {acc:.4f}, test BCE {base_loss:.4f}")
    print(inspect(model, x_test[:1]))

    # 1. inverse optimisation
    def channel_report(res, label: str) -> torch.Tensor:
        pb = torch.sigmoid(res.output_before[:, 0])
        pa = torch.sigmoid(res.output_after[:, 0])
        change = (res.x - res.start).abs()  # (n, 3, 50)
        peak = change.amax(dim=2)
        share = change.sum(dim=2) / change.sum(dim=(1, 2)).clamp_min(1e-12)[:, None]
        for i in range(len(pa)):
            print(f"  {label} {i}: p(anomaly) {pb[i]:.4f} -> {pa[i]:.4f}; largest change "
                  + ", ".join(f"{n} {peak[i, c]:.2f}" for c, n in enumerate(names))
                  + "; share of |change| " + ", ".join(f"{share[i, c]:.0%}" for c in range(3)))
        spiky = int((peak[:, 1:].amax(dim=1) > peak[:, 0]).sum())
        print(f"  -> {int((pa >= 0.99).sum())}/{len(pa)} reach p >= 0.99; largest change in temperature "
              f"or torque rather than pressure in {spiky}/{len(pa)}; median share of the change in "
              f"pressure {float(share[:, 0].median()):.0%}")
        return pa

    print("\n== 1a. inverse optimisation from N(0, 1) toward 'anomalous', alpha 0.01, 1000 steps (TSViz Eq. 25-26)")
    inv = inverse_optimize(model, 1.0, shape=(4, 3, 50), alpha=0.01, iterations=1000, seed=args.seed)
    channel_report(inv, "noise start")
    print("  note: the generator's normal signals are smooth, so white noise already looks anomalous here")
    print("\n== 1b. the same from N(0, 1) scaled by 0.1 (a start the model calls normal)")
    start_small = 0.1 * torch.randn(4, 3, 50, generator=torch.Generator().manual_seed(args.seed))
    inv_small = inverse_optimize(model, 1.0, x0=start_small, alpha=0.01, iterations=1000)
    channel_report(inv_small, "0.1 x noise start")
    print("\n== 1c. the same from the 4 normal test sequences the model is surest of")
    normal = torch.nonzero(y_test == 0).ravel()
    normal_idx = normal[torch.argsort(p_test[normal])][:4]
    inv_normal = inverse_optimize(model, 1.0, x0=x_test[normal_idx], alpha=0.01, iterations=1000)
    channel_report(inv_normal, "normal start")

    # 2. iterative FGSM on confidently anomalous sequences
    print("\n== 2. iterative FGSM, epsilon 0.1, 1000 steps (TSViz Eq. 28)")
    anomalous = torch.nonzero((y_test == 1) & (p_test > 0.5)).ravel()
    if len(anomalous) == 0:
        raise SystemExit("the model detects no anomaly: train longer (--epochs, --n-train)")
    band = anomalous[(p_test[anomalous] >= 0.9) & (p_test[anomalous] < 0.99)][:100]
    top = anomalous[torch.argsort(-p_test[anomalous])][:100]
    flipped_band = None
    for alpha in (1e-4, 1e-3):
        for group, label in ((band, "0.9 <= p < 0.99 (TSViz's example: 0.9576)"), (top, "the most confident")):
            if len(group):
                res = iterative_fgsm(model, x_test[group], 0.1, alpha=alpha, steps=1000)
                p_after = torch.sigmoid(res.output_after[:, 0])
                print(f"  alpha {alpha:g}: {len(group)} anomalies with {label}, p {float(p_test[group].min()):.4f}.."
                      f"{float(p_test[group].max()):.6f}: {int(res.flipped.sum())} flipped "
                      f"({float(res.flipped.float().mean()):.0%}); median p after {float(p_after.median()):.4f}; "
                      f"|perturbation| share " + ", ".join(
                          f"{n} {float(res.channel_share[:, c].mean()):.0%}" for c, n in enumerate(names)))
                if alpha == 1e-4 and group is band:
                    flipped_band = group[res.flipped]
    candidates = flipped_band if flipped_band is not None and len(flipped_band) else anomalous
    pick = candidates[torch.argmin((p_test[candidates] - 0.96).abs())]
    adv = iterative_fgsm(model, x_test[pick : pick + 1], 0.1, alpha=1e-4, steps=1000)
    print(f"  example: sequence {int(pick)}: p(anomaly) {float(torch.sigmoid(adv.output_before[0, 0])):.4f} -> "
          f"{float(torch.sigmoid(adv.output_after[0, 0])):.4f}, flipped: {bool(adv.flipped[0])}, "
          f"max |perturbation| {float(adv.perturbation.abs().max()):.3f}")

    # 3. faithfulness table (TSViz Table 1), importance = mean over the training set
    print("\n== 3. faithfulness: most vs least influential filter removed (TSViz Table 1)")
    table = faithfulness_table(model, x_test, y_test.float(), x_importance=x_train[:10000])
    print(table)
    ok = all(r.loss_without_most > r.loss_without_least for r in table.rows)
    print(f"  -> removing the most influential filter hurts more in every layer: {ok}")

    # saturation (Proposition 1)
    rep = detect_saturation(model, x_test, warn=False)
    print(f"\n== saturation: {rep}")

    # clustering and figures
    stats = filter_importance_stats(model, x_train[:10000], progress=False)
    sample = x_test[pick : pick + 1]
    acts = conv_activations(model, sample, "net.2")["net.2"][0]
    clusters = cluster_filters(acts)
    print(f"\n== clustering of conv layer 2 (32 filters) for sequence {int(pick)}: best k = {clusters.k}, "
          f"silhouette {clusters.silhouette.get(clusters.k, float('nan')):.3f}")
    curves = [pruning_curve(model, layer, x_test, y_test.float(), importance=stats[layer]) for layer in stats]
    for c in curves:
        print(f"  pruning curve {c.layer} (least influential first, no fine-tuning): "
              + " ".join(f"{v:.3f}" for v in c.loss[:: max(1, len(c.loss) // 8)]))
    if not args.no_plots:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from tsexplain.plotting.filters import (
            plot_adversarial_result,
            plot_dendrogram,
            plot_filter_grid,
            plot_inverse_result,
            plot_pruning_curve,
            plot_silhouette,
        )

        args.out.mkdir(parents=True, exist_ok=True)
        imp = filter_importance(model, sample, "net.2")[0]
        sal = filter_saliency(model, sample, "net.2")[0]
        figs = {
            "filter_grid_conv2.png": plot_filter_grid(acts, labels=clusters.labels, importance=imp, saliency=sal,
                                                      title="conv 2: clusters, importance, saliency"),
            "silhouette_conv2.png": plot_silhouette(clusters),
            "dendrogram_conv2.png": plot_dendrogram(clusters),
            "pruning_curves.png": plot_pruning_curve(curves),
            "inverse_optimisation_noise.png": plot_inverse_result(inv, channel_names=names, probability="sigmoid"),
            "inverse_optimisation_small_noise.png": plot_inverse_result(inv_small, channel_names=names, probability="sigmoid"),
            "inverse_optimisation_normal.png": plot_inverse_result(inv_normal, channel_names=names, probability="sigmoid"),
            "iterative_fgsm.png": plot_adversarial_result(adv, x_test[pick : pick + 1], channel_names=names, probability="sigmoid"),
        }
        for fname, fig in figs.items():
            fig.savefig(args.out / fname, dpi=110)
            plt.close(fig)
        print(f"\nfigures written to {args.out}/: {', '.join(figs)}")
    print(f"total {time.perf_counter() - t_start:.1f} s")


if __name__ == "__main__":
    main()
