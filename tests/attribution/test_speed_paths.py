"""Chunk sizing and its timing: every speed path gives the values of plain autograd / Captum.

The engine bounds a chunk by the memory budget and, on the CPU, times a few sizes within that
bound. These tests check that the bound grows with the budget and stays within it, that the
timed sizes change nothing in the values (LSTM, GRU, Transformer encoder, TCN, against a plain
autograd loop and Captum 0.9), and that CUDA runs stay on the device. No wall-clock assertion.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tsexplain.attribution import IntegratedGradients, Saliency, SmoothGrad, _engine
from tsexplain.attribution._memory import _row_bytes, activation_bytes, chunk_plan, chunk_rows


class RecurrentClassifier(nn.Module):
    """(N, C, T) -> last hidden state -> (N, K)."""

    def __init__(self, cell: type[nn.RNNBase], c: int = 3, hidden: int = 16, k: int = 2) -> None:
        super().__init__()
        self.rnn = cell(c, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x.transpose(1, 2))
        return self.fc(out[:, -1])


class TransformerClassifier(nn.Module):
    """(N, C, T) -> 2-layer Transformer encoder over time -> mean -> (N, K)."""

    def __init__(self, c: int = 3, d: int = 16, k: int = 2) -> None:
        super().__init__()
        self.inp = nn.Linear(c, d)
        layer = nn.TransformerEncoderLayer(d, 2, 32, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.fc = nn.Linear(d, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.enc(self.inp(x.transpose(1, 2))).mean(1))


def tcn(c: int = 3, k: int = 2) -> nn.Module:
    """Dilated causal convolutions (left padding), global average pooling, linear head."""
    layers: list[nn.Module] = []
    c_in = c
    for d in (1, 2, 4):
        layers += [nn.ConstantPad1d((2 * d, 0), 0.0), nn.Conv1d(c_in, 8, 3, dilation=d), nn.ReLU()]
        c_in = 8
    return nn.Sequential(*layers, nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(8, k))


def make(kind: str) -> nn.Module:
    torch.manual_seed(0)
    models = {
        "lstm": lambda: RecurrentClassifier(nn.LSTM),
        "gru": lambda: RecurrentClassifier(nn.GRU),
        "transformer": TransformerClassifier,
        "tcn": tcn,
    }
    return models[kind]().eval()


KINDS = ("lstm", "gru", "transformer", "tcn")


def series(n: int = 24, c: int = 3, t: int = 30, seed: int = 3) -> torch.Tensor:
    return torch.randn(n, c, t, generator=torch.Generator().manual_seed(seed))


def autograd_gradients(model: nn.Module, rows: torch.Tensor, target: int) -> torch.Tensor:
    """The reference: one plain backward over all rows at once."""
    xi = rows.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model(xi)[:, target].sum(), xi)
    return g


@pytest.fixture(autouse=True)
def _fresh_tuning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small timing thresholds so that small test inputs go through the timed path."""
    monkeypatch.setattr(_engine, "_TUNED", {})
    monkeypatch.setattr(_engine, "TUNE_MIN_ROWS", 8)
    monkeypatch.setattr(_engine, "TUNE_SIZES", (2, 4, 8, 16))


# ------------------------------------------------------------------ the budget is a budget
@pytest.mark.parametrize("kind", ["cnn", *KINDS])
def test_larger_budget_gives_larger_chunks_within_the_budget(kind: str) -> None:
    if kind == "cnn":
        from attribution_models import fordA_cnn

        model, row = fordA_cnn(width=64).eval(), series(1, 1, 500)
    else:
        model, row = make(kind), series(1)
    total, _ = activation_bytes(model, row)
    per_row = _row_bytes(total, row, 1)
    previous = 0
    for gib in (1, 8, 64):
        budget = gib << 30
        rows = chunk_rows([model], row, budget)
        assert rows * per_row <= budget  # never over the budget by its own estimate
        assert rows > previous  # a larger budget gives larger chunks (no allocator cap)
        assert rows == budget // per_row
        previous = rows


def test_recurrent_and_attention_internals_are_counted() -> None:
    """An LSTM keeps its gates for backward, attention its weights: the estimate includes them."""
    row = series(1)
    lstm = make("lstm")
    total, _ = activation_bytes(lstm, row)
    t, hidden = row.shape[2], lstm.rnn.hidden_size
    assert total >= 6 * t * hidden * 4  # six saved gate values per step and unit, float32
    tr = make("transformer")
    total_tr, _ = activation_bytes(tr, row)
    heads = tr.enc.layers[0].self_attn.num_heads
    assert total_tr >= 2 * heads * t * t * 4  # attention weights of both layers


def test_cpu_default_keeps_the_allocator_cap_but_the_bound_follows_the_budget() -> None:
    from attribution_models import fordA_cnn

    model, row = fordA_cnn(width=64).eval(), series(1, 1, 500)
    most, default = chunk_plan([model], row, 64 << 30)
    assert default <= most
    assert most > chunk_plan([model], row, 1 << 30)[0]


def test_chunks_use_every_row_the_budget_allows(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a budget bigger than the call, one chunk holds all rows (GPU-like: not timed)."""
    model, x = make("tcn"), series(6)
    seen: list[int] = []
    orig = _engine.row_gradients

    def spy(m: nn.Module, rows: torch.Tensor, *a: object, **k: object):  # type: ignore[no-untyped-def]
        seen.append(rows.shape[0])
        return orig(m, rows, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(_engine, "row_gradients", spy)
    monkeypatch.setattr(_engine, "TUNE_SIZES", ())
    IntegratedGradients(model, steps=4, memory_budget="1GB").attribute(x, target=1)
    assert seen == [24]


# ------------------------------------------------------------------ timed sizes change nothing
@pytest.mark.parametrize("kind", KINDS)
def test_saliency_equals_autograd_whatever_the_chunking(kind: str) -> None:
    model, x = make(kind), series()
    expected = autograd_gradients(model, x, 1).numpy()
    for _ in range(2):  # the first call times sizes, the second reuses the fastest
        got = np.asarray(Saliency(model).attribute(x, target=1))
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    assert len(_engine._TUNED) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_integrated_gradients_equal_captum(kind: str) -> None:
    from captum.attr import IntegratedGradients as CaptumIG

    model, x = make(kind), series(8)
    ours = np.asarray(IntegratedGradients(model, steps=20).attribute(x, target=1))
    theirs = CaptumIG(model).attribute(x, target=1, n_steps=20).detach().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-5 * float(np.abs(theirs).max()))


@pytest.mark.parametrize("kind", KINDS)
def test_smoothgrad_equals_a_plain_loop_over_its_noisy_rows(kind: str) -> None:
    from tsexplain.attribution.noise_tunnel import noisy_copies

    model, x = make(kind), series(6)
    got = np.asarray(SmoothGrad(model, n_draws=10, noise=0.1, seed=4).attribute(x, target=0))
    rows = noisy_copies(x, 10, 0.1, 4, "sample")
    expected = autograd_gradients(model, rows, 0).reshape(6, 10, *x.shape[1:]).mean(1).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_budget_does_not_change_values() -> None:
    model, x = make("lstm"), series(10)
    small = np.asarray(IntegratedGradients(model, steps=16, memory_budget="1MB").attribute(x, target=1))
    large = np.asarray(IntegratedGradients(model, steps=16, memory_budget="4GB").attribute(x, target=1))
    np.testing.assert_allclose(small, large, rtol=1e-4, atol=1e-6)


def test_tuner_picks_the_fastest_timed_size() -> None:
    tuner = _engine.ChunkTuner(most=100, default=10, key=("k",), timed=True)
    per_row = {2: 3.0, 4: 1.0, 8: 2.0, 16: 2.5}
    while tuner.tuning:
        size = tuner.size(1000)
        tuner.record(size, per_row[size] * size)
    assert tuner.best == 4 and _engine._TUNED[("k",)] == 4
    assert _engine.ChunkTuner(most=100, default=10, key=("k",), timed=True).size(5) == 4
    untimed = _engine.ChunkTuner(most=100, default=10, key=("other",), timed=False)
    assert not untimed.tuning and untimed.size(1000) == 10


# ------------------------------------------------------------------ GPU readiness
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("kind", KINDS)
def test_cuda_runs_on_the_device_and_matches_the_cpu(kind: str) -> None:
    model, x = make(kind), series(6)
    cpu = np.asarray(IntegratedGradients(model, steps=8).attribute(x, target=1))
    gpu_model = make(kind).cuda()
    row = x[:1].cuda()
    most, default = chunk_plan([gpu_model], row, 1 << 40)
    free, _ = torch.cuda.mem_get_info()
    total, _ = activation_bytes(gpu_model, row)
    assert most == default and most * _row_bytes(total, row, 1) <= free  # budget from free memory
    gpu = np.asarray(IntegratedGradients(gpu_model, steps=8).attribute(x.cuda(), target=1))
    np.testing.assert_allclose(gpu, cpu, rtol=1e-3, atol=1e-5)


class CountingModel(nn.Module):
    """A small CNN classifier that counts the rows of every forward pass."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool1d(1),
                                 nn.Flatten(), nn.Linear(4, 3))
        self.rows = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.rows += x.shape[0]
        return self.net(x)


@pytest.mark.parametrize("target", ["predicted", 2, [0, 1, 2, 0, 1]])
@pytest.mark.parametrize("method", ["saliency", "gradient_x_input"])
def test_one_forward_pass_per_series_when_the_target_is_resolved_on_it(method, target) -> None:
    """Saliency and gradient x input resolve the target on the pass they differentiate: the model
    sees each series once (Captum's cost), and the values equal Captum's at the resolved target."""
    from captum.attr import InputXGradient
    from captum.attr import Saliency as CaptumSaliency

    from tsexplain.attribution import explain

    model = CountingModel().eval()
    x = torch.randn(5, 2, 30, generator=torch.Generator().manual_seed(1))
    res = explain(model, x, method=method, target=target, fold_batchnorm=False)
    assert model.rows == 5 + 1  # each series once, plus the one row the budget sizes chunks on
    oracle = {"saliency": lambda m: CaptumSaliency(m).attribute(x, target=idx, abs=False),
              "gradient_x_input": lambda m: InputXGradient(m).attribute(x, target=idx)}[method]
    idx = torch.as_tensor(res.target).long()
    assert idx.tolist() == (model.net(x).argmax(1).tolist() if target == "predicted"
                            else np.broadcast_to(np.asarray(target), (5,)).tolist())
    np.testing.assert_allclose(res.values, oracle(model.net).detach().numpy(), rtol=1e-6, atol=1e-7)


def test_tuner_times_the_first_size_twice_and_the_faster_counts() -> None:
    """A process's first chunks run cold (thread pools, kernels, memory): the first timing of
    the first size is slow, the second shows its speed. The first size is timed twice and the
    faster counts, so the cold start does not decide (by its first timing, 4 would win); later
    sizes are timed once, so that a call reaches the large sizes."""
    tuner = _engine.ChunkTuner(most=100, default=10, key=("cold",), timed=True)
    timings = {2: [5.0, 1.0], 4: [1.5], 8: [2.0], 16: [2.5]}
    seen: dict[int, int] = {}
    while tuner.tuning:
        size = tuner.size(1000)
        tuner.record(size, timings[size][seen.get(size, 0)] * size)
        seen[size] = seen.get(size, 0) + 1
    assert tuner.best == 2 and seen == {2: 2, 4: 1, 8: 1}  # stops after two slower sizes


def test_a_size_that_does_not_fit_one_batch_is_timed_on_a_later_batch() -> None:
    """Sizes 2 (twice, the first size), 4 and 8 use 16 of a first batch of 16 rows; 16 is timed
    on the second batch, and the fastest per row (16 here, by the reported times) is kept and
    remembered."""
    tuner = _engine.ChunkTuner(most=16, default=2, key=("test",), timed=True)
    per_row = {2: 1.0, 4: 0.8, 8: 0.7, 16: 0.5}
    for batch in (16, 16):
        left = batch
        while left:
            rows = tuner.size(left)
            tuner.record(rows, per_row.get(rows, 9.0) * rows)
            left -= rows
    assert tuner.best == 16 and _engine._TUNED[("test",)] == 16


def test_the_call_keeps_the_fastest_size_timed_when_it_ends_early() -> None:
    tuner = _engine.ChunkTuner(most=16, default=2, key=("short",), timed=True)
    left = 10
    while left:
        rows = tuner.size(left)
        tuner.record(rows, {2: 1.0, 4: 0.6}.get(rows, 9.0) * rows)
        left -= rows
    assert tuner.tuning  # 8 did not fit: still timing
    tuner.finish()
    assert tuner.best == 4 and _engine._TUNED[("short",)] == 4


def test_a_call_too_small_to_time_remembers_no_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """A call with too few rows to time runs them at the default size. A chunk that happens to
    hold as many rows as the first size to time (16: IG with steps=16 on one series) is not a
    timing: the call remembers nothing, and a later large call on the model times its own sizes.
    Counted as a timing, it made 16 rows the model's remembered size, and a GRU's next IG call
    (50 steps, 64 series) ran at 16 rows per chunk, 5.6x slower."""
    monkeypatch.setattr(_engine, "TUNE_MIN_ROWS", 1024)  # the package's thresholds
    monkeypatch.setattr(_engine, "TUNE_SIZES", (16, 32, 64, 128))
    tuner = _engine.ChunkTuner(most=4096, default=4096, key=("small",), timed=True)
    assert tuner.size(16) == 4096  # untimed: the engine runs the 16 rows left in one chunk
    tuner.record(16, 0.01)
    tuner.finish()
    assert tuner.best is None and tuner.settled == 4096 and ("small",) not in _engine._TUNED

    torch.manual_seed(0)
    gru = make("gru")
    x = torch.randn(1, 3, 40, generator=torch.Generator().manual_seed(0))
    IntegratedGradients(gru, steps=16, progress=False).attribute(x, target=1)
    assert _engine._TUNED == {}
