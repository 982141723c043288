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


# ------------------------------------------------------------------ labels and flags of the wrong kind
def _tiny() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(2 * 5, 2))


@pytest.mark.parametrize("labels", [np.array(["cat", "dog"] * 3), np.array([b"a", b"b"] * 3),
                                    np.array([1 + 1j, 0j] * 3)])
def test_labels_that_are_not_real_numbers_are_named_with_the_fix(labels):
    from tsexplain.exceptions import InputTypeError
    from tsexplain.training import fit

    X = np.zeros((6, 2, 5), dtype=np.float32)
    with pytest.raises(InputTypeError, match=rf"y must hold real numbers, got an array of dtype "
                                             rf"{labels.dtype}.*np\.unique\(y, return_inverse=True\)"):
        fit(_tiny(), X, labels, epochs=1, progress=False)
    if labels.dtype.kind != "c":  # the fix the message gives trains
        fit(_tiny(), X, np.unique(labels, return_inverse=True)[1], epochs=1, progress=False)


@pytest.mark.parametrize("value", ["no", 0, None])
def test_restore_best_takes_only_true_or_false(value):
    from tsexplain.exceptions import ParameterError
    from tsexplain.training import fit, train_ensemble

    X, y = np.zeros((6, 2, 5), dtype=np.float32), np.array([0, 1] * 3)
    with pytest.raises(ParameterError, match=r"restore_best must be True or False"):
        fit(_tiny(), X, y, epochs=1, progress=False, restore_best=value)
    with pytest.raises(ParameterError, match=r"restore_best must be True or False"):
        train_ensemble(_tiny, X, y, n_models=2, epochs=1, progress=False, restore_best=value)
