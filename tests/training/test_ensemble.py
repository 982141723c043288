"""train_ensemble: every vectorized member trains exactly as it would alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import training_fixtures  # a module, not a conftest.py: see its docstring
from torch import nn

from tsexplain.exceptions import ParameterError
from tsexplain.models import AGRACNN, FordACNN, PointwiseMLP, TSVizRegressionCNN
from tsexplain.training import EnsembleResult, fit, train_ensemble
from tsexplain.training._data import member_seed
from tsexplain.training._wide import FastMaxPool1d, GroupedLinear
from tsexplain.training.ensemble import init_member

_one_thread = training_fixtures.one_thread
regression_data = training_fixtures.regression_data
binary_data = training_fixtures.binary_data


def _agra():
    return AGRACNN(length=32, filters=(4, 4, 8, 8), hidden=8, dropout=0.0)


def _alone(factory, X, y, index, **kwargs):
    sd = member_seed(0, index)
    model = init_member(factory, sd)
    hist = fit(model, X, y, seed=sd, progress=False, **kwargs)
    return model, hist


def _assert_same_member(a, ha, b, hb, X, rtol=1e-4):
    np.testing.assert_allclose(ha.train_loss, hb.train_loss, rtol=rtol)
    np.testing.assert_allclose(ha.val_loss, hb.val_loss, rtol=rtol)
    assert ha.best_epoch == hb.best_epoch
    with torch.no_grad():
        x = torch.as_tensor(X)
        torch.testing.assert_close(a(x), b(x), rtol=rtol, atol=1e-5)


@pytest.mark.parametrize("method", ["wide", "vmap"])
def test_vectorized_member_matches_member_trained_alone(regression_data, method):
    X, y = regression_data
    settings = {"epochs": 6, "lr": 3e-3, "batch_size": 16, "patience": 2,
                "lr_schedule": "cosine"}
    members = train_ensemble(_agra, X, y, n_models=3, method=method, n_workers=1,
                             progress=False, **settings)
    assert isinstance(members, EnsembleResult) and members.method == method
    for i in (0, 2):
        alone, hist = _alone(_agra, X, y, i, **settings)
        _assert_same_member(members[i], members.histories[i], alone, hist, X)


def test_wide_handles_batchnorm_running_statistics(binary_data):
    X, y = binary_data
    factory = lambda: FordACNN(n_channels=3, filters=6, n_layers=2)  # noqa: E731
    settings = {"epochs": 3, "lr": 3e-3, "batch_size": 32}
    members = train_ensemble(factory, X, y.astype(int), n_models=2, progress=False,
                             n_workers=1, **settings)
    assert members.method == "wide"
    alone, hist = _alone(factory, X, y.astype(int), 1, **settings)
    _assert_same_member(members[1], members.histories[1], alone, hist, X)
    torch.testing.assert_close(members[1].net[1].running_var, alone.net[1].running_var)


def test_member_does_not_depend_on_ensemble_size_or_workers(regression_data):
    X, y = regression_data
    kw = {"epochs": 2, "batch_size": 16, "progress": False}
    small = train_ensemble(_agra, X, y, n_models=2, n_workers=1, **kw)
    large = train_ensemble(_agra, X, y, n_models=4, n_workers=2, **kw)
    assert small.seeds == large.seeds[:2]
    for i in range(2):
        with torch.no_grad():
            torch.testing.assert_close(small[i](torch.as_tensor(X)), large[i](torch.as_tensor(X)))
    # members differ from each other: own initialisation and data order
    with torch.no_grad():
        assert not torch.allclose(large[0](torch.as_tensor(X)), large[1](torch.as_tensor(X)))


def test_sequence_output_model_and_regression_cnn(regression_data):
    X, y = regression_data
    y_seq = X[:, 0] * 2.0  # one target per step
    factory = lambda: PointwiseMLP(n_channels=2, hidden=(8,), lags=3)  # noqa: E731
    members = train_ensemble(factory, X, y_seq, n_models=2, epochs=2, progress=False,
                             n_workers=1)
    alone, hist = _alone(factory, X, y_seq, 1, epochs=2)
    _assert_same_member(members[1], members.histories[1], alone, hist, X)
    members = train_ensemble(lambda: TSVizRegressionCNN(length=32, filters=(4, 4, 4)), X, y,
                             n_models=2, epochs=1, progress=False)
    assert members.method == "wide" and len(members) == 2


def test_returns_ordinary_modules(regression_data):
    X, y = regression_data
    members = train_ensemble(_agra, X, y, n_models=2, epochs=1, progress=False)
    assert all(type(m) is AGRACNN and not m.training for m in members)
    assert all(p.grad is None and p.requires_grad for p in members[0].parameters())
    # usable for attributions: the input gradient is that of a freshly built AGRACNN carrying
    # the member's weights (no leftover hooks or stacked state from the vectorized training)
    fresh = _agra().eval()
    fresh.load_state_dict(members[0].state_dict())
    x = torch.as_tensor(X[:4]).requires_grad_()
    x_fresh = x.detach().clone().requires_grad_()
    members[0](x).sum().backward()
    fresh(x_fresh).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    torch.testing.assert_close(x.grad, x_fresh.grad)


class _CustomNoBuffers(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 4, 3, padding=1)
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).mean(-1))


class _CustomBatchNorm(_CustomNoBuffers):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(4)

    def forward(self, x):
        return self.head(torch.relu(self.bn(self.conv(x))).mean(-1))


def test_auto_method_falls_back(regression_data):
    X, y = regression_data
    kw = {"n_models": 2, "epochs": 1, "progress": False}
    members = train_ensemble(_CustomNoBuffers, X, y, **kw)
    assert members.method == "vmap" and "no wide version" in members.reason
    with pytest.warns(RuntimeWarning, match="falls back to a loop"):
        members = train_ensemble(_CustomBatchNorm, X, y, **kw)
    assert members.method == "loop" and len(members) == 2
    with pytest.raises(ParameterError, match="method='wide' is not possible"):
        train_ensemble(_CustomNoBuffers, X, y, method="wide", **kw)
    with pytest.raises(ParameterError, match="method='vmap' is not possible"):
        train_ensemble(lambda: FordACNN(n_channels=2, filters=4), X, (y > 0).astype(int),
                       method="vmap", **kw)


def test_ensemble_error_paths(regression_data):
    X, y = regression_data
    with pytest.raises(ParameterError, match="n_models"):
        train_ensemble(_agra, X, y, n_models=0, progress=False)
    with pytest.raises(ParameterError, match="method must be one of"):
        train_ensemble(_agra, X, y, n_models=2, method="fast", progress=False)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        train_ensemble(lambda: 3, X, y, n_models=2, progress=False)
    sizes = iter([8, 16])
    with pytest.raises(ParameterError, match="same architecture"):
        train_ensemble(lambda: AGRACNN(length=32, hidden=next(sizes)), X, y, n_models=2,
                       progress=False)


def test_interrupted_ensemble_keeps_usable_members(regression_data, monkeypatch):
    from tsexplain.training import ensemble

    X, y = regression_data
    original = ensemble._WideEngine.step
    calls = {"n": 0}

    def step(self, x, yb):
        calls["n"] += 1
        if calls["n"] == 9:
            raise KeyboardInterrupt
        return original(self, x, yb)

    monkeypatch.setattr(ensemble._WideEngine, "step", step)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        members = train_ensemble(_agra, X, y, n_models=3, epochs=5, batch_size=16,
                                 n_workers=1, progress=False)
    assert members.interrupted and len(members) == 3
    assert all(h.epochs_run == 1 for h in members.histories)
    with torch.no_grad():
        assert all(torch.isfinite(m(torch.as_tensor(X))).all() for m in members)


@pytest.mark.parametrize(("k", "length"), [(2, 16), (2, 17), (3, 17)])
def test_fast_max_pool_gradient_matches_max_pool(k, length):
    torch.manual_seed(0)
    x = torch.relu(torch.randn(4, 5, length)).round(decimals=1)  # zeros and ties included
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    g = torch.randn(4, 5, length // k)
    y1, y2 = nn.MaxPool1d(k)(x1), FastMaxPool1d(k)(x2)
    assert torch.equal(y1, y2)
    y1.backward(g)
    y2.backward(g)
    assert torch.equal(x1.grad, x2.grad)


def test_grouped_linear_equals_separate_linears():
    torch.manual_seed(0)
    layers = [nn.Linear(5, 3) for _ in range(4)]
    grouped = GroupedLinear(
        torch.stack([lay.weight.detach() for lay in layers]),
        torch.stack([lay.bias.detach() for lay in layers]),
    )
    x = torch.randn(7, 4, 5)
    expected = torch.cat([lay(x[:, i]) for i, lay in enumerate(layers)], dim=1)
    torch.testing.assert_close(grouped(x.reshape(7, 20)), expected)


def test_interrupted_loop_returns_completed_members(regression_data, monkeypatch):
    X, y = regression_data

    class Interrupting(_CustomBatchNorm):
        calls = 0

        def forward(self, x):
            if self.training:
                Interrupting.calls += 1
                if Interrupting.calls == 8:  # 6 batches per member: inside member 2
                    raise KeyboardInterrupt
            return super().forward(x)

    with pytest.warns(RuntimeWarning) as record:
        members = train_ensemble(Interrupting, X, y, n_models=3, epochs=1, batch_size=16,
                                 progress=False)
    assert members.method == "loop" and members.interrupted
    assert len(members) == 1
    assert any("1 member(s) completed" in str(w.message) for w in record)
