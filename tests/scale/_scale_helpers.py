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


class WithStatic(torch.nn.Module):
    """A two-input model: the small CNN's features of x (N, C, T) shifted by static covariates (N, 3)."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.conv = torch.nn.Conv1d(C, 8, 5, padding=2)
            self.u = torch.nn.Linear(3, 8)
            self.head = torch.nn.Linear(8, 2)

    def forward(self, x: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.conv(x) + self.u(static)[:, :, None])
        return self.head(h.mean(2))


def small_static(n: int = N, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 3)).astype(np.float32)


class LSTMClassifier(torch.nn.Module):
    """(N, 3, T) -> last hidden state of an LSTM -> (N, 2): its gradients differ in the last bits
    with the rows run at once."""

    def __init__(self) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            self.lstm = torch.nn.LSTM(3, 16, batch_first=True)
            self.fc = torch.nn.Linear(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x.transpose(1, 2))
        return self.fc(out[:, -1])
