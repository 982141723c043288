"""What fit() is given becomes training tensors without touching the caller's arrays."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from torch import nn

from tsexplain.training._data import prepare_training_data


def _read_only(kind: str, arr: np.ndarray, path) -> np.ndarray:
    if kind == "mmap":
        np.save(path, arr)
        return np.load(path, mmap_mode="r")
    if kind == "broadcast":  # a read-only view with stride 0 along the samples
        return np.broadcast_to(arr[:1], arr.shape)
    frozen = arr.copy()
    frozen.setflags(write=False)
    return frozen


@pytest.mark.parametrize("kind", ["mmap", "setflags", "broadcast"])
def test_read_only_labels_and_series_raise_no_warning(kind, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 2, 5)).astype(np.float32)
    y = rng.normal(size=(6,)).astype(np.float32)
    X_ro, y_ro = _read_only(kind, X, tmp_path / "X.npy"), _read_only(kind, y, tmp_path / "y.npy")
    assert not X_ro.flags.writeable and not y_ro.flags.writeable
    model = nn.Sequential(nn.Flatten(), nn.Linear(10, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns "The given NumPy array is not writable"
        data = prepare_training_data(model, X_ro, y_ro, "regression", None)
    np.testing.assert_array_equal(data.X.numpy(), np.asarray(X_ro))
    np.testing.assert_array_equal(data.y.numpy().reshape(-1), np.asarray(y_ro))
    # torch warns once per process only: what is checked for sure is that the tensors are
    # copies, never memory that must not be written (training writes to neither, but a caller may)
    assert not np.shares_memory(data.y.numpy(), y_ro)
    assert not np.shares_memory(data.X.numpy(), X_ro)
