"""Helpers and fixtures for tests/network (no conftest.py here: a second module named
`conftest` would shadow the one other test folders import with `from conftest import ...`)."""

from __future__ import annotations

import pytest
import torch
from torch import nn


def make_cnn(n_channels: int = 3, n_steps: int = 50, n_out: int = 1, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(n_channels, 8, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Conv1d(8, 12, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(12 * (n_steps // 2), n_out),
    )


class Nested(nn.Module):
    """A non-Sequential layout: blocks in a dict, a functional op in forward."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.blocks = nn.ModuleDict(
            {"a": nn.Conv1d(2, 6, 3, padding=1), "b": nn.Conv1d(6, 4, 3, padding=1)}
        )
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.blocks["a"](x))
        h = self.blocks["b"](h)
        return self.head(h.mean(dim=2))


def snapshot(model: nn.Module) -> tuple:
    return (
        model.training,
        [(k, v.clone()) for k, v in model.state_dict().items()],
        [p.requires_grad for p in model.parameters()],
        [p.grad for p in model.parameters()],
    )


def assert_unchanged(model: nn.Module, before: tuple) -> None:
    training, state, req, grads = before
    assert model.training == training
    for (k, v), (k2, v2) in zip(state, model.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2), k
    assert [p.requires_grad for p in model.parameters()] == req
    assert all(p.grad is None for p in model.parameters()) == all(g is None for g in grads)


@pytest.fixture
def cnn() -> nn.Module:
    """A small 2-conv CNN, 3 channels x 50 steps, one output."""
    return make_cnn()


@pytest.fixture
def x() -> torch.Tensor:
    """Six series of shape (3, 50)."""
    return torch.randn(6, 3, 50, generator=torch.Generator().manual_seed(3))
