"""AGRA reproduction (Morel et al.): quality-signals world, Tables I-IV, Figure 4.

Choices where our copy of the paper lost the numbers, with what we measured (3-model pilots,
1 torch thread, 100 signals; details in the docstrings of ``make_quality_signals`` and
``tsexplain.metrics.agra_scores``):

- Score orientation: the ideal signal scores 0 and the score rises with the error (the
  generator's default). The other orientation, with a bias-free CNN, gave single-model GRAD
  magnitude Pearson 0.05 and a reconstruction 20x worse than doing nothing (the previous run of
  this benchmark: 0.055 -> 0.063 and MSE 0.365 vs 0.027 for doing nothing).
- Training: Adam, lr 1e-3, dropout 0.25 (``AGRACNN``'s own defaults; the paper uses a dropout
  layer too), 60 epochs in --quick (the model's default 30 gave test MSE 0.35, 60 gave 0.29;
  ``fit`` keeps the epoch of lowest validation loss). With the score oriented this way, lr 3e-3
  without dropout was no better (0.30).
- Algorithm 1: lr 0.01, tol 1e-2 (score within 0.1 of the ideal), 200 steps at most; lr 0.1
  diverged on some signals; lr 0.01-0.05 and tol 1e-4-1e-2 moved the Pearsons by <= 0.03.
- Metrics on training signals, per signal, then averaged ("The training examples have been
  averaged to obtain these metrics"); --quick uses the first 250 of them. Train and test
  signals scored alike in the pilot (magnitude Pearson 0.591 vs 0.588).
- Magnitude Pearson: on ``|displacement|`` per cell (``magnitude="abs"``); the paper's
  "norms" may also mean the norm over the two channels at each step, reported beside it.

Still below the paper by about 0.2 on every Pearson (quick: GRAD 0.59 -> AGRA 0.71 vs 0.81 ->
0.94). Pilots that did not close it (3 models, 100 training signals, single / AGRA magnitude
Pearson): wider bumps (width 3: 0.38 / 0.56), a score linear in the RMSE instead of the MSE
(0.63 / 0.70), twice the filters (0.64 / 0.70), pooling 3 (0.64 / 0.71), kernel 3 or 9 (0.62 /
0.67-0.70); the AGRA curve is flat from about 5 models. Gradient x Input and Integrated Gradients
score identically here, and that is exact, not a bug: a bias-free ReLU network is positively
homogeneous, so its gradient is constant along the ray from the zero baseline and IG equals
Gradient x Input; the paper's different values (0.82 vs 0.55) suggest its network or its IG was
not exactly that.
"""

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
    # AGRACNN's defaults (lr 1e-3, dropout 0.25) but 60 epochs instead of 30 (test MSE 0.35 ->
    # 0.29 with the ideal score at 0; with the old orientation, ideal 10, they underfit)
    lr, dropout = 1e-3, 0.25
    n_train, n_test = ctx.pick((750, 250), (750, 250), (64, 16))
    n_eval = ctx.pick(750, 250, 16)  # training signals scored, as in the paper
    n_sg_models = ctx.pick(50, 3, 2)
    sg_samples = ctx.pick(16, 4, 2)
    sg_noise = 0.05
    ig_steps = ctx.pick(32, 16, 4)
    max_iter = ctx.pick(200, 200, 20)
    # tiny: 1-epoch members predict about the ideal score for every signal and would not move at
    # tol 1e-2 (no displacement, undefined Pearson); tol 0 makes them take their 20 steps
    alg1 = {"lr": 0.01, "tol": ctx.pick(1e-2, 1e-2, 0.0), "max_iter": max_iter}
    sec.settings = {"n_models": n_models, "epochs": epochs, "lr": lr, "dropout": dropout, "n_train": n_train, "n_test": n_test,
                    "smoothgrad_models": n_sg_models, "smoothgrad_samples": sg_samples,
                    "smoothgrad_noise": sg_noise, "ig_steps": ig_steps,
                    "algorithm1": alg1, "evaluated_on": f"first {n_eval} training signals",
                    "score_orientation": "ideal signal 0, worst 10",
                    "paper": {"n_models": 50, "n_train": 750, "n_test": 250}}

    data = make_quality_signals(n_train=n_train, n_test=n_test, seed=ctx.seed)
    ideal = float(data.score_range[1])
    with Timer() as tm:
        ens = train_ensemble(lambda: AGRACNN(length=data.X.shape[2], dropout=dropout), data,
                             n_models=n_models, epochs=epochs, lr=lr, seed=ctx.seed, progress=False)
    models = list(ens)
    test = ~data.train_mask
    x_test = data.X[test].astype(np.float32)
    reg_mse = np.array([np.mean((predict(m, x_test).reshape(len(x_test)) - data.y[test]) ** 2)
                        for m in models])
    score_var = to_float(np.var(data.y[test]))
    ctx.say(f"  trained {n_models} AGRA CNNs ({ens.method}, {epochs} epochs) in {tm.seconds:.1f} s; "
            f"test regression MSE {reg_mse.mean():.3f} +- {reg_mse.std():.3f} (score variance "
            f"{score_var:.2f}; paper {PAPER_REGRESSION_MSE[0]} +- {PAPER_REGRESSION_MSE[1]})")
    # the paper scores the explanations on the training signals
    ev = np.flatnonzero(data.train_mask)[:n_eval]
    x = data.X[ev].astype(np.float32)
    clean, truth = data.clean[ev], data.ideal_gradient[ev]

    def rec_mse(disp: np.ndarray) -> float:
        return to_float(np.mean((x + disp - clean) ** 2))

    def scores(a: np.ndarray, signed: bool, mse: bool) -> tuple[float, float | None, float | None, float]:
        return (to_float(magnitude_pearson(a, truth)),
                to_float(signed_pearson(a, truth)) if signed else None,
                rec_mse(a) if mse else None,
                to_float(magnitude_pearson(a, truth, magnitude="channel_norm")))

    # GRAD: Algorithm 1 per model; AGRA = mean of the displacements (Algorithm 2)
    with Timer() as tm:
        disp = np.stack([agra_reconstruct(m, x, ideal_score=ideal, **alg1).displacement
                         for m in models])
    ctx.say(f"  Algorithm 1 (GRAD) on {n_models} models: {tm.seconds:.1f} s")
    single: dict[str, list[tuple[Any, ...]]] = {"GRAD": [scores(d, True, True) for d in disp]}
    agra: dict[str, tuple[Any, ...]] = {"GRAD": scores(disp.mean(0), True, True)}

    # SmoothGrad as the gradient of Algorithm 1 (fewer models in --quick: it costs n_samples x)
    with Timer() as tm:
        gfn = _smoothgrad_fn(sg_samples, sg_noise, ctx.seed)
        sg_disp = np.stack([agra_reconstruct(m, x, ideal_score=ideal, gradient_fn=gfn,
                                             **alg1).displacement
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
    sec.compare("Table II / IV: Pearson of magnitudes |attribution| vs |ideal gradient|", rows,
                note="Per signal over its 2 x T cells, then averaged over the signals (those "
                     "without a perturbation have no defined correlation and are skipped).")
    rows = []
    for label in PAPER:
        rows.append((label, mean_single(label, 3), PAPER[label][0][0]))
        rows.append((f"AGRA ({label})", agra[label][3], PAPER[label][1][0]))
    sec.compare("Table II / IV, other reading of 'norms': Pearson of the norm over the 2 channels "
                "at each step", rows)
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
    nothing = rec_mse(np.zeros_like(x))
    sec.floor("AGRA beats single-model GRAD on magnitude Pearson", ga[0] > mean1[0],
              f"{ga[0]:.3f} vs {mean1[0]:.3f} (mean of {len(g1)} single models)")
    sec.floor("AGRA beats single-model GRAD on signed Pearson", ga[1] > mean1[1],
              f"{ga[1]:.3f} vs {mean1[1]:.3f}")
    sec.floor("AGRA beats single-model GRAD on reconstruction MSE", ga[2] < mean1[2],
              f"{ga[2]:.4f} vs {mean1[2]:.4f}")
    sec.floor("AGRA's reconstruction is closer to the clean signal than the input", ga[2] < nothing,
              f"{ga[2]:.4f} vs {nothing:.4f} (doing nothing)")
    sec.floor("single-model GRAD magnitude Pearson > 0.5", mean1[0] > 0.5, f"{mean1[0]:.3f} (paper 0.81)")

    sec.metrics = {
        "regression_mse_mean": to_float(reg_mse.mean()), "regression_mse_std": to_float(reg_mse.std()),
        "test_score_variance": score_var, "do_nothing_mse": nothing,
        "single": {k: [list(s) for s in v] for k, v in single.items()},
        "agra": {k: list(v) for k, v in agra.items()},
        "figure4": curve,
        "score_columns": ["magnitude_pearson", "signed_pearson", "reconstruction_mse",
                          "magnitude_pearson_channel_norm"],
    }
    if ctx.size != "full":
        sec.notes.append(
            f"--quick: {n_models} models (paper 50), SmoothGrad reconstruction on the first "
            f"{n_sg_models} models with {sg_samples} noise samples, IG with {ig_steps} steps.")
    sec.notes.append(
        f"Regression MSE of the members: {reg_mse.mean():.3f} +- {reg_mse.std():.3f} on the test "
        f"signals (score variance {score_var:.2f}; paper {PAPER_REGRESSION_MSE[0]} +- "
        f"{PAPER_REGRESSION_MSE[1]}) after {epochs} epochs. Scores 0 (ideal) to 10; explanations "
        f"scored on the first {n_eval} training signals.")

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
