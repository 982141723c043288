"""Small models with known gradients, shared by the attribution tests (imported by name:
a module called conftest would clash with other folders' conftest files)."""

from __future__ import annotations

import torch
from torch import nn


class Linear(nn.Module):
    """f(x) = sum(W * x) + b per output: the gradient is W exactly."""

    def __init__(self, n_channels: int = 3, n_timesteps: int = 20, n_outputs: int = 1, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(n_outputs, n_channels, n_timesteps, generator=g))
        self.bias = nn.Parameter(torch.randn(n_outputs, generator=g))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nct,kct->nk", x, self.weight) + self.bias


class Quadratic(nn.Module):
    """f(x) = sum(a * x^2): the gradient is 2 a x."""

    def __init__(self, n_channels: int = 3, n_timesteps: int = 20, seed: int = 1):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.a = nn.Parameter(torch.randn(n_channels, n_timesteps, generator=g))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.a * x**2).sum(dim=(1, 2))


def fordA_cnn(n_classes: int = 2, width: int = 16, seed: int = 0) -> nn.Module:
    """The FordA-tutorial CNN layout (3 x conv/BN/ReLU, GAP, linear), small and random."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    c_in = 1
    for _ in range(3):
        layers += [nn.Conv1d(c_in, width, 3, padding=1), nn.BatchNorm1d(width), nn.ReLU()]
        c_in = width
    model = nn.Sequential(*layers, nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(width, n_classes))
    with torch.no_grad():  # non-trivial running statistics, so BatchNorm folding is exercised
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model.eval()




def set_batchnorm_statistics(model: nn.Module, var_low: float, bias: bool = False) -> nn.Module:
    """Non-trivial eval statistics for every BatchNorm1d (drawn from torch's global generator):
    mean U(-1, 1), variance U(var_low, 3), weight U(0.5, 2), and with ``bias`` bias U(-0.5, 0.5)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(var_low, 3.0)
                m.weight.uniform_(0.5, 2.0)
                if bias:
                    m.bias.uniform_(-0.5, 0.5)
    return model.eval()
