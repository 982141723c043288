"""AGRA reproduction (Morel et al.): quality-signals world, Tables I-IV, Figure 4."""

from __future__ import annotations

from typing import Any

import numpy as np

from tsexplain.benchmark._common import Context, Section, Timer, predict, to_float

# paper: (magnitude Pearson, signed Pearson, reconstruction MSE), single model / AGRA
PAPER = {
    "GRAD": ((0.81, 0.68, 7.65), (0.94, 0.84, 5.06)),
    "GRAD x Input": ((0.82, None, None), (0.89, None, None)),
    "SmoothGrad": ((0.79, 0.66, 7.85), (0.92, None, 6.91)),
    "Integrated Gradients": ((0.55, None, None), (0.82, None, None)),
}
PAPER_REGRESSION_MSE = (0.619, 0.089)


def _smoothgrad_fn(n_samples: int, noise: float, seed: int) -> Any:
    import torch

    from tsexplain.attribution import SmoothGrad

    def gradient_fn(model: Any, x: Any) -> Any:
        res = SmoothGrad(model, n_samples=n_samples, noise=noise, seed=seed).attribute(x)
        return torch.as_tensor(np.asarray(res.values), dtype=x.dtype)

    return gradient_fn


def run(ctx: Context) -> Section:
    import tsexplain
    from tsexplain.datasets import make_quality_signals
    from tsexplain.metrics import agra_reconstruct, magnitude_pearson, signed_pearson
    from tsexplain.models import AGRACNN
    from tsexplain.training import train_ensemble

    sec = ctx.section("agra", "AGRA on the quality-signals world")
    n_models = ctx.pick(50, 12, 3)
    epochs = ctx.pick(100, 60, 1)
    # AGRACNN.training_defaults (30 epochs, lr 1e-3, dropout 0.25) left the members worse than
    # predicting the mean score here (test MSE 3.2 vs var 2.8); lr 3e-3 without dropout reached
    # 0.54 in 100 epochs (paper 0.619)
    lr, dropout = 3e-3, 0.0
    n_train, n_test = ctx.pick((750, 250), (750, 250), (64, 16))
    n_sg_models = ctx.pick(50, 3, 2)
    sg_samples = ctx.pick(16, 4, 2)
    sg_noise = 0.05
    ig_steps = ctx.pick(32, 16, 4)
    max_iter = ctx.pick(200, 200, 20)
    sec.settings = {"n_models": n_models, "epochs": epochs, "lr": lr, "dropout": dropout, "n_train": n_train, "n_test": n_test,
                    "smoothgrad_models": n_sg_models, "smoothgrad_samples": sg_samples,
                    "smoothgrad_noise": sg_noise, "ig_steps": ig_steps,
                    "algorithm1": {"lr": 0.1, "tol": 1e-4, "max_iter": max_iter},
                    "paper": {"n_models": 50, "n_train": 750, "n_test": 250}}

    data = make_quality_signals(n_train=n_train, n_test=n_test, seed=ctx.seed)
    ideal = float(data.score_range[1])
    with Timer() as tm:
        ens = train_ensemble(lambda: AGRACNN(length=data.X.shape[2], dropout=dropout), data,
                             n_models=n_models, epochs=epochs, lr=lr, seed=ctx.seed, progress=False)
    models = list(ens)
    test = ~data.train_mask
    x = data.X[test].astype(np.float32)
    clean, truth = data.clean[test], data.ideal_gradient[test]
    reg_mse = np.array([np.mean((predict(m, x).reshape(len(x)) - data.y[test]) ** 2) for m in models])
    ctx.say(f"  trained {n_models} AGRA CNNs ({ens.method}, {epochs} epochs) in {tm.seconds:.1f} s; "
            f"test regression MSE {reg_mse.mean():.3f} +- {reg_mse.std():.3f} "
            f"(paper {PAPER_REGRESSION_MSE[0]} +- {PAPER_REGRESSION_MSE[1]})")

    def rec_mse(disp: np.ndarray) -> float:
        return to_float(np.mean((x + disp - clean) ** 2))

    def scores(a: np.ndarray, signed: bool, mse: bool) -> tuple[float, float | None, float | None]:
        return (to_float(magnitude_pearson(a, truth)),
                to_float(signed_pearson(a, truth)) if signed else None,
                rec_mse(a) if mse else None)

    # GRAD: Algorithm 1 per model; AGRA = mean of the displacements (Algorithm 2)
    with Timer() as tm:
        disp = np.stack([agra_reconstruct(m, x, ideal_score=ideal, max_iter=max_iter).displacement
                         for m in models])
    ctx.say(f"  Algorithm 1 (GRAD) on {n_models} models: {tm.seconds:.1f} s")
    single: dict[str, list[tuple[Any, ...]]] = {"GRAD": [scores(d, True, True) for d in disp]}
    agra: dict[str, tuple[Any, ...]] = {"GRAD": scores(disp.mean(0), True, True)}

    # SmoothGrad as the gradient of Algorithm 1 (fewer models in --quick: it costs n_samples x)
    with Timer() as tm:
        gfn = _smoothgrad_fn(sg_samples, sg_noise, ctx.seed)
        sg_disp = np.stack([agra_reconstruct(m, x, ideal_score=ideal, max_iter=max_iter,
                                             gradient_fn=gfn).displacement
                            for m in models[:n_sg_models]])
    ctx.say(f"  Algorithm 1 with SmoothGrad on {n_sg_models} models: {tm.seconds:.1f} s")
    single["SmoothGrad"] = [scores(d, True, True) for d in sg_disp]
    agra["SmoothGrad"] = scores(sg_disp.mean(0), True, True)

    # GRAD x Input and IG: attribution maps (no reconstruction), single and averaged
    with Timer() as tm:
        for label, method, params in (("GRAD x Input", "gradient_x_input", {}),
                                      ("Integrated Gradients", "integrated_gradients",
                                       {"steps": ig_steps})):
            maps = np.stack([np.asarray(tsexplain.explain(m, x, method, **params).values)
                             for m in models])
            single[label] = [scores(a, False, False) for a in maps]
            agra[label] = scores(maps.mean(0), False, False)
    ctx.say(f"  GRAD x Input and IG on {n_models} models: {tm.seconds:.1f} s")

    def mean_single(label: str, i: int) -> float | None:
        vals = [s[i] for s in single[label]]
        return None if vals[0] is None else to_float(np.mean(vals))

    rows = []
    for label in ("GRAD", "SmoothGrad"):
        rows.append((f"{label}", mean_single(label, 2), PAPER[label][0][2]))
        rows.append((f"AGRA ({label})", agra[label][2], PAPER[label][1][2]))
    rows.append(("do nothing (MSE of x vs clean)", rec_mse(np.zeros_like(x)), None))
    sec.compare("Table I: MSE of the reconstructed signal (Algorithm 1) vs the clean signal", rows,
                note="Our signals are on the scale of the dataset generator (unit sinusoids, "
                     "bumps of 0.5-1.5); the paper's absolute MSE scale is unknown, so compare "
                     "the ordering and the ratio AGRA/single.")
    rows = []
    for label in PAPER:
        rows.append((label, mean_single(label, 0), PAPER[label][0][0]))
        rows.append((f"AGRA ({label})", agra[label][0], PAPER[label][1][0]))
    sec.compare("Table II / IV: Pearson of magnitudes |attribution| vs |ideal gradient|", rows)
    rows = []
    for label in ("GRAD", "SmoothGrad"):
        rows.append((label, mean_single(label, 1), PAPER[label][0][1]))
        rows.append((f"AGRA ({label})", agra[label][1], PAPER[label][1][1]))
    sec.compare("Table III: signed Pearson vs the ideal gradient (per channel, averaged)", rows)

    # Figure 4: scores against the number of averaged models
    counts = list(range(1, n_models + 1))
    curve = {"n_models": counts,
             "mse": [rec_mse(disp[:n].mean(0)) for n in counts],
             "magnitude_pearson": [to_float(magnitude_pearson(disp[:n].mean(0), truth)) for n in counts],
             "signed_pearson": [to_float(signed_pearson(disp[:n].mean(0), truth)) for n in counts]}
    show = sorted({1, 2, 5, 10, 20, 30, 50, n_models} & set(counts))
    sec.table("Figure 4: AGRA (GRAD) against the number of averaged models",
              ["models", "MSE", "magnitude Pearson", "signed Pearson"],
              [[n, curve["mse"][n - 1], curve["magnitude_pearson"][n - 1],
                curve["signed_pearson"][n - 1]] for n in show],
              note="Paper: MSE high for the first models, falling and stable from about 20 models.")

    g1, ga = single["GRAD"], agra["GRAD"]
    mean1 = [mean_single("GRAD", i) for i in range(3)]
    sec.floor("AGRA beats single-model GRAD on magnitude Pearson", ga[0] > mean1[0],
              f"{ga[0]:.3f} vs {mean1[0]:.3f} (mean of {len(g1)} single models)")
    sec.floor("AGRA beats single-model GRAD on signed Pearson", ga[1] > mean1[1],
              f"{ga[1]:.3f} vs {mean1[1]:.3f}")
    sec.floor("AGRA beats single-model GRAD on reconstruction MSE", ga[2] < mean1[2],
              f"{ga[2]:.3f} vs {mean1[2]:.3f}")

    sec.metrics = {
        "regression_mse_mean": to_float(reg_mse.mean()), "regression_mse_std": to_float(reg_mse.std()),
        "single": {k: [list(s) for s in v] for k, v in single.items()},
        "agra": {k: list(v) for k, v in agra.items()},
        "figure4": curve,
        "score_columns": ["magnitude_pearson", "signed_pearson", "reconstruction_mse"],
    }
    if ctx.size != "full":
        sec.notes.append(
            f"--quick: {n_models} models (paper 50), SmoothGrad reconstruction on the first "
            f"{n_sg_models} models with {sg_samples} noise samples, IG with {ig_steps} steps.")
    sec.notes.append(
        f"Regression MSE of the members: {reg_mse.mean():.3f} +- {reg_mse.std():.3f} (paper "
        f"{PAPER_REGRESSION_MSE[0]} +- {PAPER_REGRESSION_MSE[1]}) after {epochs} epochs.")

    if ctx.out is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax1 = plt.subplots(figsize=(6, 3.5))
        ax1.plot(counts, curve["mse"], "o-", color="tab:red", label="reconstruction MSE")
        ax1.set_xlabel("number of averaged models")
        ax1.set_ylabel("MSE", color="tab:red")
        ax2 = ax1.twinx()
        ax2.plot(counts, curve["magnitude_pearson"], "s-", color="tab:blue", label="magnitude Pearson")
        ax2.plot(counts, curve["signed_pearson"], "^-", color="tab:green", label="signed Pearson")
        ax2.set_ylabel("Pearson")
        fig.legend(loc="center right", fontsize=8)
        fig.tight_layout()
        sec.figure(fig, "agra_figure4.png", "Figure 4: AGRA scores against the number of "
                   "averaged models (GRAD, Algorithm 1).")
        fig, axes = plt.subplots(2, 1, figsize=(9, 4.5), sharex=True)
        for c, ax in enumerate(axes):
            ax.plot(truth[0, c], "k-", lw=2, label="ideal gradient (clean - x)")
            ax.plot(disp[0, 0, c], "-", color="tab:orange", label="GRAD, one model")
            ax.plot(disp[:, 0, c].mean(0), "-", color="tab:blue", label=f"AGRA, {n_models} models")
            ax.set_ylabel(f"channel {c}")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        sec.figure(fig, "agra_example.png", "One test signal: ideal gradient, one model's "
                   "Algorithm-1 displacement and AGRA's average (paper Figure 2/3).")
    return sec
