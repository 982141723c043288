"""Fixtures of the attribution tests."""

from __future__ import annotations

import pytest
import torch
from attribution_models import Linear, fordA_cnn
from torch import nn


@pytest.fixture
def linear() -> Linear:
    return Linear()


@pytest.fixture
def cnn() -> nn.Module:
    return fordA_cnn()


@pytest.fixture
def x() -> torch.Tensor:
    return torch.randn(6, 3, 20, generator=torch.Generator().manual_seed(42))
