"""fit: learning, settings, datasets, early stopping, interruption, error paths."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
import training_fixtures  # a module, not a conftest.py: see its docstring

from tsexplain.exceptions import ParameterError, ShapeError
from tsexplain.models import AGRACNN, FordACNN, PointwiseMLP, TSVizAnomalyCNN
from tsexplain.training import TrainingHistory, fit

_one_thread = training_fixtures.one_thread
regression_data = training_fixtures.regression_data
binary_data = training_fixtures.binary_data


def test_fit_reduces_regression_loss(regression_data):
    X, y = regression_data
    torch.manual_seed(0)
    model = AGRACNN(length=32, dropout=0.0, filters=(8, 8, 8, 8), hidden=16)
    hist = fit(model, X, y, epochs=15, lr=3e-3, batch_size=16, progress=False)
    assert isinstance(hist, TrainingHistory)
    assert hist.epochs_run == 15
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]
    assert len(hist.val_loss) == 15
    assert not model.training  # left in eval mode


def test_fit_binary_reaches_high_accuracy(binary_data):
    X, y = binary_data
    torch.manual_seed(0)
    model = TSVizAnomalyCNN(length=20, filters=(8, 8))
    hist = fit(model, X, y, epochs=12, lr=3e-3, batch_size=16, val_fraction=0.25,
               progress=False)
    assert hist.settings["task"] == "binary"  # the model's default task
    assert hist.val_accuracy[-1] >= 0.9
    acc = ((model(torch.from_numpy(X)).squeeze(1) > 0).float().numpy() == y).mean()
    assert acc >= 0.9


def test_fit_multiclass_with_batchnorm(binary_data):
    X, y = binary_data
    torch.manual_seed(0)
    model = FordACNN(n_channels=3, filters=8)
    hist = fit(model, X, y.astype(int), epochs=8, lr=1e-2, batch_size=16, progress=False)
    assert hist.train_loss[-1] < hist.train_loss[0]
    assert model.net[1].num_batches_tracked > 0


def test_fit_is_seed_deterministic(regression_data):
    X, y = regression_data
    hists = []
    for _ in range(2):
        torch.manual_seed(3)
        model = AGRACNN(length=32, hidden=8, dropout=0.5)
        hists.append(fit(model, X, y, epochs=3, seed=7, progress=False))
    assert hists[0].train_loss == hists[1].train_loss
    assert hists[0].val_loss == hists[1].val_loss


def test_fit_does_not_touch_the_global_rng(regression_data):
    X, y = regression_data
    model = AGRACNN(length=32, hidden=8)
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    fit(model, X, y, epochs=1, seed=5, progress=False)
    assert torch.equal(torch.rand(3), expected)


def test_early_stopping_and_best_weights(regression_data):
    X, y = regression_data
    torch.manual_seed(0)
    model = AGRACNN(length=32, hidden=8)
    # a learning rate this small cannot lower the validation loss measurably
    hist = fit(model, X, y, epochs=20, lr=1e-12, patience=2, progress=False)
    assert hist.stopped_early
    assert hist.epochs_run == 3
    assert hist.best_epoch == 0


def test_activity_regularisation_shrinks_outputs(binary_data):
    X, y = binary_data
    sizes = []
    for beta in (0.0, 1.0):
        torch.manual_seed(0)
        model = TSVizAnomalyCNN(length=20, filters=(8, 8))
        fit(model, X, y, epochs=8, lr=3e-3, batch_size=16, activity_l2=beta, progress=False)
        sizes.append(model(torch.from_numpy(X)).abs().mean().item())
    assert sizes[1] < 0.5 * sizes[0]


def test_cosine_schedule_changes_later_epochs_only(regression_data):
    X, y = regression_data
    hists = {}
    for schedule in (None, "cosine"):
        torch.manual_seed(0)
        model = AGRACNN(length=32, hidden=8, dropout=0.0)
        hists[schedule] = fit(model, X, y, epochs=3, lr=1e-2, lr_schedule=schedule,
                              progress=False)
    assert hists["cosine"].settings["lr_schedule"] == "cosine"
    assert hists["cosine"].train_loss[0] == hists[None].train_loss[0]
    assert hists["cosine"].train_loss[1] != hists[None].train_loss[1]


def test_model_training_defaults_are_used_and_overridable(regression_data):
    X, y = regression_data
    model = AGRACNN(length=32, hidden=8)
    hist = fit(model, X, y, epochs=1, progress=False)
    assert hist.settings["lr"] == AGRACNN.training_defaults["lr"]
    assert hist.settings["batch_size"] == AGRACNN.training_defaults["batch_size"]
    hist = fit(model, X, y, epochs=1, batch_size=7, progress=False)
    assert hist.settings["batch_size"] == 7


@dataclass
class _Samples:
    X: np.ndarray
    y: np.ndarray
    train_mask: np.ndarray


def test_fit_accepts_a_dataset_and_uses_its_training_part(regression_data):
    X, y = regression_data
    mask = np.arange(len(y)) < 60
    y_bad = y.copy()
    y_bad[~mask] = np.nan  # the test part must never reach the loss
    model = AGRACNN(length=32, hidden=8)
    hist = fit(model, _Samples(X=X, y=y_bad, train_mask=mask), epochs=2, progress=False)
    assert np.isfinite(hist.train_loss).all() and np.isfinite(hist.val_loss).all()


def test_fit_on_one_long_recording_with_a_time_mask():
    """make_ar_states layout: X (1, C, T), y (1, T), train_mask (T,)."""
    rng = np.random.default_rng(0)
    T = 3000
    X = rng.normal(size=(1, 3, T)).astype(np.float32)
    w = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    y = (w @ X[0])[None]
    mask = np.zeros(T, dtype=bool)
    mask[:800] = mask[1000:1800] = mask[2000:2800] = True
    y_test_poisoned = y.copy()
    y_test_poisoned[0, ~mask] = np.nan
    torch.manual_seed(0)
    model = PointwiseMLP(n_channels=3, hidden=(16,), lags=3)
    hist = fit(model, _Samples(X=X, y=y_test_poisoned, train_mask=mask), epochs=30, window=100,
               lr=1e-2, batch_size=8, progress=False)
    assert np.isfinite(hist.train_loss).all()
    with torch.no_grad():
        pred = model(torch.from_numpy(X))[0].numpy()
    test = ~mask
    assert np.corrcoef(pred[test], y[0, test])[0, 1] > 0.95


def test_time_windows_cover_train_steps_once():
    from tsexplain.training._data import time_windows

    T = 50
    X = torch.arange(T, dtype=torch.float32).view(1, 1, T)
    y = torch.arange(T, dtype=torch.float32).view(1, T)
    mask = np.zeros(T, dtype=bool)
    mask[3:20] = mask[25:48] = True
    Xw, yw = time_windows(X, y, mask, window=6, warmup=2)
    targets = yw[torch.isfinite(yw)]
    expected = [t for t in range(T) if mask[t] and mask[max(t - 2, 0)] and t - 2 >= 0
                and (t - 2 >= 3 if t < 20 else t - 2 >= 25)]
    assert sorted(targets.tolist()) == expected
    # inputs never come from outside the train runs
    assert all(mask[int(v)] for v in Xw.flatten())


def test_fit_interrupted_keeps_weights_and_warns(regression_data):
    X, y = regression_data

    class Interrupting(AGRACNN):
        calls = 0

        def forward(self, x):
            if self.training:
                Interrupting.calls += 1
                if Interrupting.calls == 14:
                    raise KeyboardInterrupt
            return super().forward(x)

    model = Interrupting(length=32, hidden=8)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        hist = fit(model, X, y, epochs=10, batch_size=16, progress=False)
    assert hist.interrupted
    assert hist.epochs_run == 2  # 86 samples, 6 batches per epoch: stopped in the third
    assert torch.isfinite(model(torch.from_numpy(X))).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"y": np.zeros(5)}, ShapeError, "one entry per sample"),
        ({"task": "ranking"}, ParameterError, "task must be one of"),
        ({"epochs": 0}, ParameterError, "epochs must be >= 1"),
        ({"val_fraction": 1.0}, ParameterError, "val_fraction"),
        ({"lr": -1.0}, ParameterError, "lr must be > 0"),
        ({"lr_schedule": "step"}, ParameterError, "lr_schedule must be one of"),
        ({"task": "binary"}, ParameterError, "labels 0/1"),
        ({"task": "multiclass"}, ShapeError, "K >= 2"),
    ],
)
def test_fit_error_paths(regression_data, kwargs, error, match):
    X, y = regression_data
    kwargs = {"y": y, **kwargs}
    with pytest.raises(error, match=match):
        fit(AGRACNN(length=32, hidden=8), X, progress=False, **kwargs)


def test_fit_input_errors(regression_data):
    X, y = regression_data
    model = AGRACNN(length=32, hidden=8)
    with pytest.raises(ShapeError, match="add the channel axis"):
        fit(model, X[:, 0], y, progress=False)
    with pytest.raises(ShapeError, match="model fails"):
        fit(model, X[:, :, :20], y, progress=False)
    with pytest.raises(ParameterError, match="y is missing"):
        fit(model, X, progress=False)
    with pytest.raises(ParameterError, match="0..1"):
        fit(FordACNN(n_channels=2, filters=4), X, np.arange(len(y)) % 3, progress=False)
