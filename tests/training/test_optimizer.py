"""The optimizer setting: AdamW's decoupled decay, exactly as defined."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tsexplain.exceptions import ParameterError
from tsexplain.training import fit


class WithIdleWeight(nn.Module):
    """A linear regressor plus a weight whose gradient is always exactly zero."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 1)
        self.idle = nn.Parameter(torch.tensor(2.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x.mean(dim=2)) + 0.0 * self.idle


def test_adamw_decays_an_idle_weight_geometrically():
    # With a zero gradient Adam's step is 0, so AdamW's update is w <- w (1 - lr wd) per step.
    torch.manual_seed(0)
    model = WithIdleWeight()
    x, y = torch.randn(64, 4, 8), torch.randn(64)
    lr, wd, epochs, batch = 0.01, 0.5, 3, 16
    fit(model, x, y, epochs=epochs, lr=lr, batch_size=batch, weight_decay=wd, optimizer="adamw",
        val_fraction=0.0, progress=False)
    steps = epochs * (64 // batch)
    assert float(model.idle.detach()) == pytest.approx(2.0 * (1 - lr * wd) ** steps, rel=1e-5)


def test_adam_l2_moves_an_idle_weight_by_about_lr_per_step():
    # Coupled L2: the gradient is wd * w, which Adam normalises to a step of about lr.
    torch.manual_seed(0)
    model = WithIdleWeight()
    x, y = torch.randn(64, 4, 8), torch.randn(64)
    fit(model, x, y, epochs=3, lr=0.01, batch_size=16, weight_decay=0.5, optimizer="adam",
        val_fraction=0.0, progress=False)
    assert float(model.idle.detach()) == pytest.approx(2.0 - 12 * 0.01, abs=2e-3)


def test_unknown_optimizer_is_rejected():
    with pytest.raises(ParameterError, match="'adam', 'adamw'"):
        gen = torch.Generator().manual_seed(0)
        fit(WithIdleWeight(), torch.randn(8, 4, 8, generator=gen), torch.randn(8, generator=gen),
            optimizer="sgd", progress=False)
