"""AGRA: how many models are enough, on the quality-signal world.

Each signal (2 channels, sinusoids) receives a few narrow bumps; the score to regress grows with
the damage, and the ideal gradient (clean - signal) says exactly where the damage is. AGRA
(Morel et al.) averages a gradient method over independently trained models: the models agree on
the true bumps and disagree on the noise. We train an ensemble once (vectorized), then score the
averaged gradient of the first m models against the ideal gradient for growing m.

Run: ``python docs/tutorials/agra_how_many_models.py --quick`` (about 20 s on 2 CPUs).
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
from tsexplain.datasets import make_quality_signals
from tsexplain.metrics import magnitude_pearson, signed_pearson
from tsexplain.models import AGRACNN
from tsexplain.plotting import save_figure
from tsexplain.training import train_ensemble

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: seconds, not minutes")
    ap.add_argument("--out", default=str(HERE / "figures"), help="folder for the figures")
    args = ap.parse_args(argv)
    out = Path(args.out)
    torch.manual_seed(0)

    # 1. the world: X (N, 2, 200), score y (N,), ideal gradient (N, 2, 200)
    n_train, n_models, epochs = (300, 8, 15) if args.quick else (750, 50, 60)
    data = make_quality_signals(n_train=n_train, n_test=100, seed=0)
    print(f"quality signals: X {data.X.shape}, score range {data.score_range} (worst, best)")

    # 2. an ensemble of identical CNNs, each with its own seed, trained in one vectorized run
    ens = train_ensemble(lambda: AGRACNN(length=data.X.shape[2]), data, n_models=n_models,
                         epochs=epochs, seed=0, progress=False)
    models = list(ens)
    print(f"trained {n_models} models ({ens.method})")

    # 3. the gradient of each model on some training signals (the paper scores those)
    x = data.X[data.train_mask][:64].astype(np.float32)
    truth = data.ideal_gradient[data.train_mask][:64]
    # the score falls toward the ideal (0): the useful direction is minus the gradient
    grads = np.stack([-np.asarray(tsexplain.explain(m, x, "saliency")) for m in models])

    # 4. AGRA over the first m models, m = 1 .. n_models
    ms = list(range(1, n_models + 1))
    mag = [float(magnitude_pearson(grads[:m].mean(0), truth)) for m in ms]
    sig = [float(signed_pearson(grads[:m].mean(0), truth)) for m in ms]
    single = [float(magnitude_pearson(g, truth)) for g in grads]
    for m in (1, 2, 4, n_models):
        print(f"  AGRA over {m:2d} models: magnitude Pearson {mag[m - 1]:.3f}, "
              f"signed Pearson {sig[m - 1]:.3f}")
    print(f"  single models: magnitude Pearson {np.mean(single):.3f} +- {np.std(single):.3f}")
    # the same in one call: a list of models is AGRA
    agra = tsexplain.explain(models, x, "saliency")
    assert np.allclose(-np.asarray(agra), grads.mean(0), atol=1e-5)

    # figures
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(ms, mag, "o-", label="magnitude Pearson")
    ax.plot(ms, sig, "s--", label="signed Pearson")
    ax.axhline(np.mean(single), color="grey", ls=":", label="single model (mean)")
    ax.set_xlabel("models averaged (m)")
    ax.set_ylabel("agreement with the ideal gradient")
    ax.set_title("AGRA: the curve flattens after a handful of models", fontsize=9)
    ax.legend(fontsize=8)
    save_figure(fig, out / "agra_models_curve.png", dpi=80, close=True)

    i = int(np.argmax(data.n_perturbations[data.train_mask][:64]))
    fig, axes = plt.subplots(3, 1, figsize=(8, 5), sharex=True)
    for ax, (title, a) in zip(axes, [("ideal gradient (clean - signal)", truth[i]),
                                    ("one model's gradient", grads[0, i]),
                                    (f"AGRA, {n_models} models", grads[:, i].mean(0))], strict=False):
        for c in range(2):
            ax.plot(a[c], label=f"channel {c}")
        ax.set_title(title, fontsize=9)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, out / "agra_signal.png", dpi=70, close=True)
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
