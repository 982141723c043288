"""A data-set run gives the same bits whatever the engine's timing chose, in any process.

On the CPU the engine times a few chunk sizes on the first rows of a large call and keeps the
fastest; an LSTM's gradients differ in the last bits with the rows per chunk. The timing is
forced here (fake per-row times) to the two extremes, with the process's cache of chosen sizes
emptied before each run, as a fresh process would have it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from tsexplain.attribution import _engine
from tsexplain.scale import api, attribute_dataset
from tsexplain.scale._rows import ENGINE_ROWS, fixed_engine_rows

N_SERIES, N_CHANNELS, N_TIMESTEPS = 4, 3, 32
STEPS = 512  # 2 series per chunk: 1024 rows per call, enough for the engine to time sizes
CHUNK = 2


class LSTMClassifier(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            self.lstm = torch.nn.LSTM(N_CHANNELS, 16, batch_first=True)
            self.fc = torch.nn.Linear(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x.transpose(1, 2))
        return self.fc(out[:, -1])


def _data() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((N_SERIES, N_CHANNELS, N_TIMESTEPS)).astype(np.float32)


#: Fake seconds per row for a chunk of ``rows`` rows: small chunks fastest, or large ones.
SMALL_FASTEST: Callable[[int], float] = lambda rows: float(rows)  # noqa: E731
LARGE_FASTEST: Callable[[int], float] = lambda rows: 1.0 / rows  # noqa: E731
_RECORD = _engine.ChunkTuner.record  # the engine's own, however often the tests patch it


def _fresh_process_timing(monkeypatch: pytest.MonkeyPatch, per_row: Callable[[int], float]) -> None:
    """No chosen sizes cached, and the engine's timing of a chunk of r rows reads r * per_row(r)."""
    monkeypatch.setattr(_engine, "_TUNED", {})
    monkeypatch.setattr(_engine.ChunkTuner, "record",
                        lambda self, rows, seconds: _RECORD(self, rows, rows * per_row(rows)))


def _run(out: Path, on_chunk: Callable[[int, int, int], None] | None = None) -> dict[str, np.ndarray]:
    run = attribute_dataset(LSTMClassifier().eval(), _data(), "integrated_gradients", out=out,
                            steps=STEPS, target="predicted", chunk_size=CHUNK, on_chunk=on_chunk)
    return {k: run.store[k][:] for k in run.store.arrays}


def _assert_bitwise_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        diff = np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)).max()
        assert np.array_equal(a[k], b[k]), f"{k}: max abs difference {diff:.3g}"


def _stop_after_first_chunk(chunk: int, n_written: int, n_to_write: int) -> None:
    raise KeyboardInterrupt


def test_timing_choice_does_not_change_the_bits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh_process_timing(monkeypatch, SMALL_FASTEST)
    small = _run(tmp_path / "small")
    _fresh_process_timing(monkeypatch, LARGE_FASTEST)
    large = _run(tmp_path / "large")
    _assert_bitwise_equal(small, large)


def test_resumed_run_equals_uninterrupted_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh_process_timing(monkeypatch, LARGE_FASTEST)
    whole = _run(tmp_path / "whole")
    _fresh_process_timing(monkeypatch, SMALL_FASTEST)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "resumed", on_chunk=_stop_after_first_chunk)
    _fresh_process_timing(monkeypatch, LARGE_FASTEST)  # the resuming process times otherwise
    _assert_bitwise_equal(whole, _run(tmp_path / "resumed"))


def test_store_records_the_rows_and_a_resumed_run_keeps_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _run(tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "resumed", on_chunk=_stop_after_first_chunk)
    manifest = json.loads((tmp_path / "resumed" / "manifest.json").read_text())
    assert manifest["engine"] == {"rows_per_chunk": ENGINE_ROWS}
    # a later version with another default resumes the store with the rows it was created with
    monkeypatch.setattr(api, "ENGINE_ROWS", 16)
    _assert_bitwise_equal(whole, _run(tmp_path / "resumed"))
    assert json.loads((tmp_path / "resumed" / "manifest.json").read_text())["engine"] == manifest["engine"]


def test_fixed_rows_keep_the_budget_and_the_process_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    from tsexplain.attribution import IntegratedGradients

    cache: dict[tuple[object, ...], int] = {}
    monkeypatch.setattr(_engine, "_TUNED", cache)
    sizes: list[tuple[int, int]] = []
    size = _engine.ChunkTuner.__dict__["size"]

    def logged_size(self: _engine.ChunkTuner, remaining: int) -> int:
        rows = size(self, remaining)
        sizes.append((rows, self.most))
        return int(rows)

    monkeypatch.setattr(_engine.ChunkTuner, "size", logged_size)
    ig = IntegratedGradients(LSTMClassifier().eval(), steps=STEPS, memory_budget="1MB")
    with fixed_engine_rows(ENGINE_ROWS):
        ig.attribute(_data()[:2], target=0)
    assert sizes and all(rows == min(ENGINE_ROWS, most) for rows, most in sizes)
    assert any(most < ENGINE_ROWS for _, most in sizes)  # the budget's bound wins
    assert _engine._TUNED is cache and not cache  # nothing timed, nothing cached
