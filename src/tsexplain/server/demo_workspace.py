"""The built-in demo workspace: the TSViz anomaly CNN trained on generated data, plus data sets.

Created on the first ``tsexplain serve`` without ``--workspace`` (well under a minute on 2 CPUs)
under :func:`~tsexplain.server.config.default_demo_workspace`, reused afterwards.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

MODEL = "anomaly_cnn"
TEST_SET = "anomaly_test"
TRAIN_SET = "anomaly_train"


def demo_ready(root: Path) -> bool:
    return all((root / p).is_file() for p in (f"models/{MODEL}.safetensors", f"models/{MODEL}.info.json",
                                              f"datasets/{TEST_SET}.npz", f"datasets/{TRAIN_SET}.npz"))


def ensure_demo_workspace(root: str | Path, *, n_train: int = 6000, seed: int = 0,
                          say: Callable[[str], None] = print) -> Path:
    """Create the demo workspace at ``root`` unless it is there already; return ``root``."""
    root = Path(root).expanduser()
    if demo_ready(root):
        return root
    import torch

    from tsexplain.datasets import make_anomaly_sequences
    from tsexplain.models import TSVizAnomalyCNN
    from tsexplain.training import fit, save_model

    t0 = time.perf_counter()
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "datasets").mkdir(parents=True, exist_ok=True)
    say(f"creating the demo workspace in {root} (first start only)")
    data = make_anomaly_sequences(n_train=n_train, n_test=500, seed=seed)
    train, test = data.train, data.test
    torch.manual_seed(seed)
    model = TSVizAnomalyCNN()
    say(f"  training the TSViz anomaly CNN on {len(train.X)} generated sequences (3 channels x 50 steps)")
    fit(model, train.X, train.y, seed=seed, progress=False)
    with torch.no_grad():
        acc = float(((model(torch.as_tensor(test.X))[:, 0] > 0).numpy() == (test.y > 0.5)).mean())
    say(f"  test accuracy {acc:.3f} ({time.perf_counter() - t0:.0f} s)")
    channel_names = np.asarray(data.channel_names, dtype=str)
    common = {"channel_names": channel_names, "class_names": np.asarray(["normal", "anomalous"]),
              "value_unit": np.asarray("σ (standardised)"), "time_unit": np.asarray("step")}
    for name, part, n in ((TEST_SET, test, 500), (TRAIN_SET, train, 2000)):
        tmp = root / "datasets" / f".{name}.tmp.npz"
        np.savez_compressed(tmp, allow_pickle=False, X=part.X[:n], y=part.y[:n], mask=part.mask[:n],
                            **common)
        os.replace(tmp, root / "datasets" / f"{name}.npz")
    save_model(model, root / "models" / f"{MODEL}.safetensors")
    info = {
        "description": "TSViz anomaly CNN (conv 16-32-64, dense) trained on generated pressure/"
                       f"temperature/torque sequences; test accuracy {acc:.3f}. Anomalies are only "
                       "ever injected in temperature and torque.",
        "task": "binary", "output_names": ["anomalous"], "output_unit": "logit",
        "dataset": TEST_SET, "test_accuracy": acc,
    }
    (root / "models" / f"{MODEL}.info.json").write_text(json.dumps(info, indent=2) + "\n")
    say(f"  demo workspace ready ({time.perf_counter() - t0:.0f} s)")
    return root
