"""Small models and data shared by the scale tests (fast: T=64, 8 filters)."""

from __future__ import annotations

import numpy as np
import torch

from tsexplain.models import FordACNN

N, C, T = 90, 1, 64
CHUNK = 16  # 6 chunks, the last one partial


def small_model(seed: int = 0) -> FordACNN:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = FordACNN(n_channels=C, filters=8)
        # BatchNorm running statistics away from (0, 1) so folding is exercised
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def small_data(n: int = N, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 6, T)
    return (np.sin(t * rng.uniform(0.5, 3, (n, C, 1))) + 0.3 * rng.standard_normal((n, C, T))).astype(np.float32)


def store_arrays(run) -> dict[str, np.ndarray]:
    return {k: run.store[k][:] for k in run.store.arrays}
