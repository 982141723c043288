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
from _scale_helpers import LSTMClassifier

from tsexplain.attribution import IntegratedGradients, _engine
from tsexplain.exceptions import ParameterError
from tsexplain.scale import api, attribute_dataset
from tsexplain.scale.api import ROWS_PER_CHUNK

N_SERIES, N_CHANNELS, N_TIMESTEPS = 4, 3, 32
STEPS = 512  # 2 series per chunk: 1024 rows per call, enough for the engine to time sizes
CHUNK = 2


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


def _run(out: Path, on_chunk: Callable[[int, int, int], None] | None = None,
         **engine: object) -> dict[str, np.ndarray]:
    run = attribute_dataset(LSTMClassifier().eval(), _data(), "integrated_gradients", out=out,
                            steps=STEPS, target="predicted", chunk_size=CHUNK, on_chunk=on_chunk,
                            **engine)
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
    assert manifest["engine"] == {"rows_per_chunk": ROWS_PER_CHUNK}
    assert "rows_per_chunk" not in manifest["meta"]["params"]
    # a later version with another default resumes the store with the rows it was created with
    monkeypatch.setattr(api, "ROWS_PER_CHUNK", 16)
    _assert_bitwise_equal(whole, _run(tmp_path / "resumed"))
    assert json.loads((tmp_path / "resumed" / "manifest.json").read_text())["engine"] == manifest["engine"]


def test_given_rows_are_recorded_and_used_for_every_chunk(tmp_path: Path) -> None:
    rows = 64
    given = _run(tmp_path / "given", rows_per_chunk=rows)
    manifest = json.loads((tmp_path / "given" / "manifest.json").read_text())
    assert manifest["engine"] == {"rows_per_chunk": rows}
    # each chunk: the method on the chunk's series with that many rows per engine chunk
    ig = IntegratedGradients(LSTMClassifier().eval(), steps=STEPS, rows_per_chunk=rows)
    x = _data()
    expected = np.concatenate([np.asarray(ig.attribute(x[i : i + CHUNK], target="predicted").values)
                               for i in range(0, N_SERIES, CHUNK)])
    assert np.array_equal(given["values"], expected)
    assert not np.array_equal(given["values"], _run(tmp_path / "default")["values"])  # 512 rows


def test_a_resumed_run_keeps_the_recorded_rows_over_given_ones(tmp_path: Path) -> None:
    whole = _run(tmp_path / "whole", rows_per_chunk=64)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "resumed", on_chunk=_stop_after_first_chunk, rows_per_chunk=64)
    with pytest.warns(UserWarning, match=r"created with rows_per_chunk=64; its remaining chunks use it "
                                         r"too \(not 16\)"):
        resumed = _run(tmp_path / "resumed", rows_per_chunk=16)
    _assert_bitwise_equal(whole, resumed)


def test_a_store_without_recorded_rows_still_resumes(tmp_path: Path) -> None:
    """A manifest written before the rows were recorded (no "engine"): resumed with the default."""
    whole = _run(tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "old", on_chunk=_stop_after_first_chunk)
    path = tmp_path / "old" / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["engine"]
    path.write_text(json.dumps(manifest))
    _assert_bitwise_equal(whole, _run(tmp_path / "old"))


@pytest.mark.parametrize("value", [0, "abc", 2.5, True])
def test_bad_rows_are_refused_before_any_store_is_written(tmp_path: Path, value: object) -> None:
    with pytest.raises(ParameterError, match=r"^rows_per_chunk must be "):
        _run(tmp_path / "bad", rows_per_chunk=value)
    assert not (tmp_path / "bad").exists()


def test_the_budget_bounds_the_rows_and_the_process_cache_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache: dict[tuple[object, ...], int] = {(): 7}
    monkeypatch.setattr(_engine, "_TUNED", cache)
    sizes: list[tuple[int, int]] = []
    size = _engine.ChunkTuner.__dict__["size"]

    def logged_size(self: _engine.ChunkTuner, remaining: int) -> int:
        rows = size(self, remaining)
        sizes.append((rows, self.most))
        return int(rows)

    monkeypatch.setattr(_engine.ChunkTuner, "size", logged_size)
    _run(tmp_path / "small_budget", memory_budget="1MB")
    assert sizes and all(rows == most < ROWS_PER_CHUNK for rows, most in sizes)  # the budget wins
    assert _engine._TUNED is cache and cache == {(): 7}  # nothing timed, nothing cached
