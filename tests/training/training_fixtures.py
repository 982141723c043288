"""Tiny learnable problems shared by the training tests (imported, not a conftest.py: a
second conftest module would shadow other folders' ``from conftest import``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def regression_data():
    """X (96, 2, 32); y = mean of channel 0 over steps 8..16, times 3."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 2, 32)).astype(np.float32)
    y = 3 * X[:, 0, 8:16].mean(-1)
    return X, y


@pytest.fixture
def binary_data():
    """X (128, 3, 20) with a spike in channel 1 for label 1."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(128, 3, 20)).astype(np.float32) * 0.3
    y = (np.arange(128) % 2).astype(np.float32)
    pos = rng.integers(0, 20, size=128)
    X[y == 1, 1, pos[y == 1]] += 4.0
    return X, y
