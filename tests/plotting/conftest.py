"""Agg backend, figures closed after each test, small attribution results."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tsexplain.attribution._result import AttributionResult  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _make_result(
    values: np.ndarray, method: str = "integrated_gradients", **kw
) -> AttributionResult:
    params = kw.pop("params", {"steps": 50, "baseline": "zeros"})
    return AttributionResult(
        values=np.asarray(values, dtype=np.float32), method=method, params=params, **kw
    )


@pytest.fixture
def make_result():
    """Factory: ``make_result(values, method=..., **fields)`` -> AttributionResult."""
    return _make_result


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def small(rng):
    """A signed (N=4, C=3, T=20) result, its input, and the values."""
    values = rng.normal(size=(4, 3, 20)).astype(np.float32)
    x = rng.normal(size=(4, 3, 20)).astype(np.float32)
    return _make_result(values, target=np.array([0, 1, 1, 0])), x, values
