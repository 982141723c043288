"""Train the reference models with their default settings and report test figures and times.

- TSViz anomaly CNN on ``make_anomaly_sequences`` (50,000 / 10,000): test accuracy (floor 0.97).
- FordA CNN on the real FordA files (UCR tsv.gz; 3,601 / 1,320): test accuracy (floor 0.93).
- Time-SmoothGrad point-wise MLP on ``make_ar_states`` (3 states, 10 features): test Pearson
  correlation over the test steps (floor 0.85; the paper reports 0.870).

Every model is trained by ``tsexplain.training.fit(model, dataset)`` with no setting given, so the
figures are those of the defaults (each model's ``training_defaults``).

    python benchmarks/train_reference_models.py                       # all three
    python benchmarks/train_reference_models.py --only anomaly --threads 2
    python benchmarks/train_reference_models.py --save-dir reports/models   # also save them
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from tsexplain.models import FordACNN, PointwiseMLP, TSVizAnomalyCNN
from tsexplain.training import fit, save_model

FORDA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "FordA"
FLOORS = {"anomaly": 0.97, "forda": 0.93, "ar_states": 0.85}


def _predict(model: torch.nn.Module, X: np.ndarray, chunk: int = 2048) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return torch.cat([
            model(torch.as_tensor(X[i : i + chunk], dtype=torch.float32))
            for i in range(0, len(X), chunk)
        ])


def anomaly(seed: int) -> tuple[torch.nn.Module, str, float, float]:
    from tsexplain.datasets import make_anomaly_sequences

    data = make_anomaly_sequences(seed=seed)
    torch.manual_seed(seed)
    model = TSVizAnomalyCNN(n_channels=data.n_channels, length=data.n_timesteps)
    hist = fit(model, data, seed=seed)
    test = data.test
    acc = float(((_predict(model, test.X).squeeze(1) > 0).numpy() == test.y).mean())
    return model, "test accuracy", acc, hist.seconds


def _load_forda() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        from tsexplain.datasets import load_ucr
    except ImportError:  # the loader is not there: parse the UCR tsv.gz files directly
        parts = [np.loadtxt(FORDA_DIR / f"FordA_{s}.tsv.gz", delimiter="\t")
                 for s in ("TRAIN", "TEST")]
        X = np.concatenate([p[:, 1:] for p in parts])[:, None, :]
        y = (np.concatenate([p[:, 0] for p in parts]) > 0).astype(np.int64)
        mask = np.arange(len(y)) < len(parts[0])
        return X, y, mask
    data = load_ucr(FORDA_DIR)
    return data.X, data.y, data.train_mask


def forda(seed: int) -> tuple[torch.nn.Module, str, float, float]:
    X, y, mask = _load_forda()
    torch.manual_seed(seed)
    model = FordACNN(n_channels=X.shape[1], n_outputs=int(y.max()) + 1)
    hist = fit(model, X[mask], y[mask], seed=seed)
    acc = float((_predict(model, X[~mask]).argmax(1).numpy() == y[~mask]).mean())
    return model, "test accuracy", acc, hist.seconds


def ar_states(seed: int, lags: int = 1) -> tuple[torch.nn.Module, str, float, float]:
    from tsexplain.datasets import make_ar_states

    data = make_ar_states(n_states=3, n_features=10, seed=seed)
    torch.manual_seed(seed)
    model = PointwiseMLP(n_channels=data.n_channels, lags=lags)
    hist = fit(model, data, seed=seed)
    pred = _predict(model, data.X)[0].numpy()
    test = ~np.asarray(data.train_mask)
    r = float(np.corrcoef(pred[test], data.y[0, test])[0, 1])
    return model, f"test Pearson (lags={lags})", r, hist.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(FLOORS), action="append",
                        help="train only this model (repeatable)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pointwise-lags", type=int, default=1,
                        help="lags of the MLP on the AR states (1 = the paper's strictly "
                             "point-wise model)")
    parser.add_argument("--save-dir", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    jobs = {
        "anomaly": lambda: anomaly(args.seed),
        "forda": lambda: forda(args.seed),
        "ar_states": lambda: ar_states(args.seed, args.pointwise_lags),
    }
    rows = []
    for name in args.only or list(jobs):
        t0 = time.perf_counter()
        model, metric, value, train_seconds = jobs[name]()
        total = time.perf_counter() - t0
        ok = "yes" if value >= FLOORS[name] else "NO"
        rows.append((name, type(model).__name__, metric, value, FLOORS[name], ok, train_seconds,
                     total))
        print(f"{name}: {metric} {value:.4f} (floor {FLOORS[name]}), training {train_seconds:.1f} s",
              flush=True)
        if args.save_dir is not None:
            save_model(model, args.save_dir / f"{name}.safetensors")
    print()
    print(f"{torch.get_num_threads()} thread(s), seed {args.seed}")
    print("| data | model | metric | value | floor | met | training s | total s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.4f} | {r[4]} | {r[5]} | {r[6]:.1f} | "
              f"{r[7]:.1f} |")


if __name__ == "__main__":
    main()
