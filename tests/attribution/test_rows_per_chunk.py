"""The engine option ``rows_per_chunk``: rows the model runs at once, fixed instead of timed.

On the CPU the engine times a few chunk sizes on the first rows of a large call and keeps the
fastest for the process; an LSTM's gradients differ in the last bits with the rows per chunk, so
two processes that chose differently disagree. With ``rows_per_chunk=k`` every pass of the
model holds at most ``k`` rows (``k`` while enough are left), nothing is timed and the process's
remembered sizes are neither read nor written. The timing is forced here (fake per-row times),
as in ``tests/scale/test_scale_reproducible.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import tsexplain
from tsexplain.attribution import (
    ENGINE_OPTIONS,
    IntegratedGradients,
    NoiseTunnel,
    Saliency,
    SmoothGrad,
    TemporalSaliencyRescaling,
    _engine,
    fastest_rows_per_chunk,
)
from tsexplain.attribution._memory import chunk_plan
from tsexplain.exceptions import ParameterError

N, C, T = 40, 3, 20
K = 16

#: The LSTM classifier of these tests, as source: the child processes build the same one.
MODEL_SRC = textwrap.dedent(
    """
    import torch

    class LSTMClassifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                self.lstm = torch.nn.LSTM(3, 16, batch_first=True)
                self.fc = torch.nn.Linear(16, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out, _ = self.lstm(x.transpose(1, 2))
            return self.fc(out[:, -1])
    """
)
_namespace: dict[str, Any] = {}
exec(MODEL_SRC, _namespace)  # noqa: S102 - the test's own model source, shared with the children
LSTMClassifier = _namespace["LSTMClassifier"]


def _data(n: int = N, t: int = T) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, C, t)).astype(np.float32)


def _chunks(total: int, k: int) -> list[int]:
    """Chunks of ``k`` rows over ``total`` rows, the last one holding what is left."""
    return [k] * (total // k) + ([total % k] if total % k else [])


# --------------------------------------------------------------------------- across processes
CHILD_SRC = MODEL_SRC + textwrap.dedent(
    """
    import sys

    import numpy as np

    from tsexplain.attribution import IntegratedGradients, _engine

    timing, out = sys.argv[1], sys.argv[2]
    # fake per-row times: small chunks fastest, or large ones (a process's timing, forced)
    per_row = (lambda rows: float(rows)) if timing == "small" else (lambda rows: 1.0 / rows)
    record = _engine.ChunkTuner.record
    _engine.ChunkTuner.record = lambda self, rows, seconds: record(self, rows, rows * per_row(rows))
    model = LSTMClassifier().eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 32)).astype(np.float32)
    IntegratedGradients(model, steps=512).attribute(x, target=0)  # 1024 rows: sizes timed
    timed = IntegratedGradients(model, steps=512).attribute(x, target=0)  # the size chosen
    fixed = IntegratedGradients(model, steps=512, rows_per_chunk=64).attribute(x, target=0)
    np.savez(out, timed=np.asarray(timed.values), fixed=np.asarray(fixed.values),
             chosen=np.array(sorted(_engine._TUNED.values())))
    """
)


def test_fixed_rows_give_the_same_bits_in_processes_that_timed_differently(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD_SRC)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    runs = {}
    for timing in ("small", "large"):
        out = tmp_path / f"{timing}.npz"
        proc = subprocess.run([sys.executable, str(script), timing, str(out)], capture_output=True,
                              text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
        with np.load(out) as f:
            runs[timing] = {k: f[k] for k in f.files}
    small, large = runs["small"], runs["large"]
    # the two processes chose other sizes, and the LSTM's gradients differ in the last bits ...
    assert small["chosen"].tolist() == [16] and large["chosen"].tolist() != [16]
    assert not np.array_equal(small["timed"], large["timed"])
    np.testing.assert_allclose(small["timed"], large["timed"], rtol=1e-4, atol=1e-6)
    # ... while a fixed size gives the same bits in both
    assert np.array_equal(small["fixed"], large["fixed"])


# --------------------------------------------------------------------------- rows per pass
def _spied(model: torch.nn.Module) -> list[tuple[int, bool]]:
    """Every batch the model runs: (rows, whether gradients are taken)."""
    seen: list[tuple[int, bool]] = []
    model.register_forward_pre_hook(lambda m, args: seen.append((args[0].shape[0], torch.is_grad_enabled())))
    return seen


#: method, parameters, rows per series (R divides K: whole series fill a chunk exactly)
SPIED = [
    ("saliency", {}, 1),
    ("grad_cam", {"layer": "lstm"}, 1),
    ("smoothgrad", {"n_draws": 4}, 4),
    ("integrated_gradients", {"steps": 8}, 8),
    ("occlusion", {"window": 5}, None),
    ("tsr", {"base_method": "saliency"}, None),
]


@pytest.mark.parametrize(("method", "params", "rows"), SPIED, ids=[m for m, _, _ in SPIED])
def test_every_pass_holds_at_most_k_rows(method: str, params: dict, rows: int | None) -> None:
    model = LSTMClassifier().eval()
    seen = _spied(model)
    tsexplain.explain(model, _data(), method, target="predicted", rows_per_chunk=K, **params)
    sizes = [n for n, _ in seen if n > 1]  # not the one-series checks of a model's first call
    assert sizes and max(sizes) == K and sizes[0] == K, sizes  # N * rows >= K
    if rows is not None:  # the differentiated chunks: N * rows rows in chunks of K
        assert [n for n, grad in seen if grad] == _chunks(N * rows, K)
    seen.clear()  # without the option the same call runs larger passes
    tsexplain.explain(model, _data(), method, target="predicted", **params)
    assert max(n for n, _ in seen) > K


def test_the_memory_budget_bounds_the_fixed_rows() -> None:
    model = LSTMClassifier().eval()
    seen = _spied(model)
    x = _data(2, 32)
    IntegratedGradients(model, steps=512, memory_budget="1MB", rows_per_chunk=10**6).attribute(x, target=0)
    most, _ = chunk_plan([model], torch.as_tensor(x[:1]), 2**20, 1)
    assert most < 512  # the budget allows fewer than one series' steps per chunk
    assert [n for n, grad in seen if grad] == 2 * _chunks(512, most)  # one series per batch


# --------------------------------------------------------------------------- the process's cache
class _Untouchable(dict[tuple[object, ...], int]):
    """The engine's remembered sizes, refusing to be read or written."""

    def _refuse(self, *args: object, **kwargs: object) -> Any:
        raise AssertionError("the engine's remembered chunk sizes were used")

    get = __getitem__ = __setitem__ = __contains__ = setdefault = update = _refuse


@pytest.mark.parametrize("method", [Saliency, IntegratedGradients, SmoothGrad])
def test_fixed_rows_neither_read_nor_write_the_remembered_sizes(
    monkeypatch: pytest.MonkeyPatch, method: type
) -> None:
    monkeypatch.setattr(_engine, "_TUNED", _Untouchable())
    x = _data(1100 if method is Saliency else 4, 32)  # enough rows that the default times sizes
    method(LSTMClassifier().eval(), rows_per_chunk=K).attribute(x, target=0)
    with pytest.raises(AssertionError, match="remembered chunk sizes"):  # the default uses them
        method(LSTMClassifier().eval()).attribute(x, target=0)


def test_fixed_rows_on_a_process_that_remembers_another_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """A size the process chose before (here 512) is ignored, and stays remembered."""
    model = LSTMClassifier().eval()
    cache: dict[tuple[object, ...], int] = {}
    monkeypatch.setattr(_engine, "_TUNED", cache)
    IntegratedGradients(model, steps=512).attribute(_data(2, 32), target=0)  # times and remembers
    remembered = dict(cache)
    assert remembered
    seen = _spied(model)
    IntegratedGradients(model, steps=512, rows_per_chunk=K).attribute(_data(2, 32), target=0)
    assert [n for n, grad in seen if grad] == _chunks(2 * 512, K)
    assert cache == remembered


# --------------------------------------------------------------------------- bad values
@pytest.mark.parametrize("value", [0, -3, True, 2.5, "abc", "64", [16]])
def test_bad_values_are_refused_naming_the_option(value: object) -> None:
    model = LSTMClassifier().eval()
    for make in (
        lambda: Saliency(model, rows_per_chunk=value),
        lambda: SmoothGrad(model, rows_per_chunk=value),
        lambda: NoiseTunnel("integrated_gradients", model, rows_per_chunk=value),
        lambda: TemporalSaliencyRescaling(model, rows_per_chunk=value),
        lambda: tsexplain.explain(model, _data(2), "occlusion", rows_per_chunk=value),
    ):
        with pytest.raises(ParameterError, match=r"^rows_per_chunk must be (an integer|>= 1), got "):
            make()


def test_an_engine_option_of_every_method() -> None:
    from tsexplain.attribution import METHODS, accepted_params

    assert "rows_per_chunk" in ENGINE_OPTIONS
    assert all("rows_per_chunk" in accepted_params(name) for name in METHODS)
    assert np.int64(8) == Saliency(LSTMClassifier(), rows_per_chunk=np.int64(8)).rows_per_chunk


# --------------------------------------------------------------------------- the timed choice
_RECORD = _engine.ChunkTuner.record  # the engine's own, however often the tests patch it


def _timing(monkeypatch: pytest.MonkeyPatch, fastest: int) -> None:
    """The engine's timing of a chunk of r rows reads r * (1 + |log2(r / fastest)|) seconds."""
    monkeypatch.setattr(
        _engine.ChunkTuner, "record",
        lambda self, rows, seconds: _RECORD(self, rows, rows * (1.0 + abs(np.log2(rows / fastest)))))


def test_fastest_rows_per_chunk_is_the_size_the_engine_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_engine, "_TUNED", {})
    _timing(monkeypatch, 32)
    model = LSTMClassifier().eval()
    seen = _spied(model)
    rows = fastest_rows_per_chunk("integrated_gradients", model, _data(), target=0, steps=64)
    grads = [n for n, grad in seen if grad]
    assert sum(grads) == N * 64
    # timed: 16, 16, 32, 64, 128 (two sizes slower than 32 in a row), then chunks of 32
    assert grads[:5] == [16, 16, 32, 64, 128] and set(grads[5:-1]) == {32}
    assert rows == 32 and list(_engine._TUNED.values()) == [32]
    # the process's remembered size is the engine's choice for a later call: not timed again
    _timing(monkeypatch, 16)
    seen.clear()
    assert fastest_rows_per_chunk("integrated_gradients", model, _data(), target=0, steps=64) == 32
    assert {n for n, grad in seen if grad} <= {32}


def test_fastest_rows_per_chunk_of_a_call_too_small_to_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing timed: the size the call used, the engine's default (CPU: the rows whose largest
    activation stays below the allocator's mmap threshold, at most what the budget allows)."""
    monkeypatch.setattr(_engine, "_TUNED", {})
    model = LSTMClassifier().eval()
    x = _data(2)
    seen = _spied(model)
    rows = fastest_rows_per_chunk("integrated_gradients", model, x, target=0, steps=5,
                                  memory_budget="1MB")
    most, default = chunk_plan([model], torch.as_tensor(x[:1]), 2**20, 1)
    assert 10 < most // 2 and rows == default  # 10 rows: fewer than timing needs, none timed
    assert [n for n, grad in seen if grad] == _chunks(10, default)
    assert _engine._TUNED == {}


def test_fastest_rows_per_chunk_times_on_the_first_series_up_to_max_rows(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    attribute = IntegratedGradients.attribute

    def spy(self: IntegratedGradients, x: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(x))
        return attribute(self, x, *args, **kwargs)

    monkeypatch.setattr(IntegratedGradients, "attribute", spy)
    monkeypatch.setattr(_engine, "_TUNED", {})
    _timing(monkeypatch, 32)
    x = _data(100)
    assert fastest_rows_per_chunk("integrated_gradients", LSTMClassifier().eval(), x, target=0,
                                  steps=64, max_rows=1500) == 32
    assert calls == [1, 24]  # one series (64 rows), then ceil(1500 / 64) series


def test_fastest_rows_per_chunk_refuses_fixed_rows() -> None:
    with pytest.raises(ParameterError, match=r"does not take rows_per_chunk"):
        fastest_rows_per_chunk("saliency", LSTMClassifier().eval(), _data(2), rows_per_chunk=8)
