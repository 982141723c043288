"""CI-sized runs of each reproduction: one figure per section, cheap enough for every test run.

Each function runs a reduced but meaningful version of its section (seeded) and returns its
figure; ``tests/benchmark/test_fidelity.py`` asserts each within a tolerance of the value this
code gave at its last full-run commit, so a change that degrades a reproduction fails a test.
The FordA figure needs no training (the shipped model) and is the full run's own figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tsexplain.benchmark._common import Context, predict, to_float


def agra_ci(seed: int = 0) -> dict[str, float]:
    """AGRA, default world: 4 members, 30 epochs, first 40 training signals (GRAD only)."""
    from tsexplain.benchmark import agra

    cfg = agra.world_settings(Context("quick", seed))
    cfg.update(n_models=4, epochs=30, n_train=300, n_test=50, n_eval=40, ig_steps=4)
    data = agra.make_world(cfg, seed)
    models, _, _ = agra.train_members(cfg, data, seed)
    sc = agra.explain_members(cfg, data, models, seed, with_smoothgrad=False)
    return {"single_grad": sc.mean_single("GRAD", 0) or float("nan"),
            "agra_grad": to_float(sc.agra["GRAD"][0])}


def time_smoothgrad_ci(seed: int = 0) -> dict[str, float]:
    """Causal MLP on the calibrated world, 3 states x 1,000 steps, 40 epochs: test Pearson and mean
    nDCG (k=100)."""
    import torch

    import tsexplain
    from tsexplain.benchmark.time_smoothgrad import LAGS, make_world
    from tsexplain.metrics import ndcg_per_state
    from tsexplain.models import PointwiseMLP
    from tsexplain.training import fit

    data = make_world(3, 1000, seed)
    torch.manual_seed(seed)
    model = PointwiseMLP(n_channels=10, hidden=(64, 64), lags=LAGS)
    fit(model, data, seed=seed, progress=False, epochs=40)
    pred = predict(model, data.X)[0]
    test = ~data.train_mask
    r = to_float(np.corrcoef(pred[test], data.y[0, test])[0, 1])
    a = np.asarray(tsexplain.explain(model, data.X.astype(np.float32), "time_smoothgrad",
                                     window=100, receptive_field=LAGS, causal=True).values)[0]
    nd = ndcg_per_state(a[:, test], data.coefficients[:, test], data.states[test])
    return {"pearson": r, "mean_ndcg": to_float(np.mean(nd))}


def anomaly_ci(seed: int = 0) -> dict[str, float]:
    """Anomaly CNN, library defaults, 5,000 training sequences: accuracy, saliency on pressure."""
    import torch

    import tsexplain
    from tsexplain.datasets import make_anomaly_sequences
    from tsexplain.metrics import channel_mass_share
    from tsexplain.models import TSVizAnomalyCNN
    from tsexplain.training import fit

    data = make_anomaly_sequences(n_train=5000, n_test=1000, seed=seed)
    torch.manual_seed(seed)
    model = TSVizAnomalyCNN()
    fit(model, data.train.X, data.train.y, seed=seed, progress=False)
    test = data.test
    logits = predict(model, test.X)[:, 0]
    det = np.flatnonzero((test.y > 0.5) & (logits > 0))[:200]
    a = np.asarray(tsexplain.explain(model, test.X[det].astype(np.float32), "saliency").values)
    return {"accuracy": to_float(((logits > 0) == (test.y > 0.5)).mean()),
            "saliency_pressure_share": to_float(channel_mass_share(a, reduction="mean")[0])}


def forda_ci(data_dir: Path) -> dict[str, float]:
    """The shipped FordA CNN: test accuracy, and IG - random deletion AUC (zeros, 20 steps) on
    the first 300 test series (the full run's figure itself)."""
    import tsexplain
    from tsexplain.datasets import load_ucr
    from tsexplain.metrics import deletion_curve
    from tsexplain.models import pretrained

    test = load_ucr(data_dir / "FordA" / "FordA_TEST.tsv.gz")
    model = pretrained("forda_cnn")
    xt = test.X.astype(np.float32)
    acc = to_float((predict(model, xt, batch=256).argmax(1) == test.y).mean())
    x = xt[:300]
    ig = np.asarray(tsexplain.explain(model, x, "integrated_gradients", target="predicted",
                                      steps=50).values)
    rand = np.random.default_rng(0).random(x.shape).astype(np.float32)
    soft: Any = lambda o: o.softmax(-1)  # noqa: E731
    aucs = [to_float(deletion_curve(model, x, a, target="predicted", baseline="zeros",
                                    steps=20, output_transform=soft, progress=False).auc())
            for a in (ig, rand)]
    return {"accuracy": acc, "ig_minus_random_deletion_auc": aucs[0] - aucs[1]}
