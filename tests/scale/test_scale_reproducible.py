"""A data-set run is fast and the same to the last bit in every process.

A new store times the engine's chunk sizes once, in the driver, and records the fastest; every
chunk (the first included, resumed ones, Ray actors) is then computed with that fixed size. An
LSTM's gradients differ in the last bits with the rows per chunk, so a chunk computed with other
rows would show. The timing is forced here (fake per-row times), with the process's cache of
chosen sizes emptied before each run, as a fresh process would have it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from _scale_helpers import LSTMClassifier

import tsexplain.attribution
from tsexplain.attribution import IntegratedGradients, _engine
from tsexplain.exceptions import ParameterError
from tsexplain.scale import LocalBackend, attribute_dataset
from tsexplain.scale.api import ROWS_PER_CHUNK

N_SERIES, N_CHANNELS, N_TIMESTEPS = 4, 3, 32
STEPS = 512  # 2 series per chunk: 1024 rows per call, enough for the engine to time sizes
CHUNK = 2


def _data() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((N_SERIES, N_CHANNELS, N_TIMESTEPS)).astype(np.float32)


#: Fake seconds per row for a chunk of ``rows`` rows: small chunks fastest, large ones, or 64 rows.
SMALL_FASTEST: Callable[[int], float] = lambda rows: float(rows)  # noqa: E731
LARGE_FASTEST: Callable[[int], float] = lambda rows: 1.0 / rows  # noqa: E731
FASTEST_AT_64: Callable[[int], float] = lambda rows: 1.0 + abs(math.log2(rows) - 6)  # noqa: E731
_RECORD = _engine.ChunkTuner.record  # the engine's own, however often the tests patch it


def _fresh_process_timing(monkeypatch: pytest.MonkeyPatch, per_row: Callable[[int], float]) -> None:
    """No chosen sizes cached, and the engine's timing of a chunk of r rows reads r * per_row(r)."""
    monkeypatch.setattr(_engine, "_TUNED", {})
    monkeypatch.setattr(_engine.ChunkTuner, "record",
                        lambda self, rows, seconds: _RECORD(self, rows, rows * per_row(rows)))


#: Rows of every forward pass of :class:`CountingLSTM`, in order.
PASSES: list[int] = []


class CountingLSTM(LSTMClassifier):
    """The LSTM classifier, recording the rows of each forward pass in :data:`PASSES`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        PASSES.append(x.shape[0])
        return super().forward(x)


def _spy_timing(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, Any]]:
    """Calls of the driver's timing: (first, end) indices into :data:`PASSES` and the result."""
    calls: list[tuple[int, int, Any]] = []
    real = tsexplain.attribution.fastest_rows_per_chunk

    def spy(*args: Any, **kwargs: Any) -> Any:
        first = len(PASSES)
        rows = real(*args, **kwargs)
        calls.append((first, len(PASSES), rows))
        return rows

    monkeypatch.setattr(tsexplain.attribution, "fastest_rows_per_chunk", spy)
    return calls


def _run(out: Path, on_chunk: Callable[[int, int, int], None] | None = None,
         model: torch.nn.Module | None = None, **engine: object) -> dict[str, np.ndarray]:
    run = attribute_dataset(model or LSTMClassifier().eval(), _data(), "integrated_gradients",
                            out=out, steps=STEPS, target="predicted", chunk_size=CHUNK,
                            on_chunk=on_chunk, **engine)
    return {k: run.store[k][:] for k in run.store.arrays}


def _per_chunk_reference(rows: int) -> np.ndarray:
    """Each chunk: the method on the chunk's series with ``rows`` rows per engine chunk."""
    ig = IntegratedGradients(LSTMClassifier().eval(), steps=STEPS, rows_per_chunk=rows)
    x = _data()
    return np.concatenate([np.asarray(ig.attribute(x[i : i + CHUNK], target="predicted").values)
                           for i in range(0, N_SERIES, CHUNK)])


def _recorded(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "manifest.json").read_text())["engine"])


def _assert_bitwise_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        diff = np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)).max()
        assert np.array_equal(a[k], b[k]), f"{k}: max abs difference {diff:.3g}"


def _stop_after_first_chunk(chunk: int, n_written: int, n_to_write: int) -> None:
    raise KeyboardInterrupt


def test_a_new_store_records_the_timed_rows_and_every_chunk_runs_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fresh_process_timing(monkeypatch, FASTEST_AT_64)
    calls = _spy_timing(monkeypatch)
    PASSES.clear()
    got = _run(tmp_path / "timed", model=CountingLSTM().eval())
    assert _recorded(tmp_path / "timed") == {"rows_per_chunk": 64}
    (first, end, rows), = calls  # timed once, in the driver
    assert rows == 64
    assert max(PASSES[first:end]) > 64  # the timing ran larger sizes too (its values are dropped)
    chunks = PASSES[end:]  # the chunks, the first one included, computed after the timing
    assert chunks and max(chunks) == 64
    assert np.array_equal(got["values"], _per_chunk_reference(64))


def test_each_store_runs_the_rows_its_timing_chose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh_process_timing(monkeypatch, SMALL_FASTEST)
    small = _run(tmp_path / "small")
    _fresh_process_timing(monkeypatch, LARGE_FASTEST)
    large = _run(tmp_path / "large")
    assert _recorded(tmp_path / "small") == {"rows_per_chunk": 16}
    # the largest size a 1024-row call reaches: 16 + 16 + 32 + ... + 256 rows timed before it
    assert _recorded(tmp_path / "large") == {"rows_per_chunk": 512}
    assert np.array_equal(small["values"], _per_chunk_reference(16))
    assert np.array_equal(large["values"], _per_chunk_reference(512))
    assert not np.array_equal(small["values"], large["values"])  # the LSTM shows the rows


def test_resumed_run_equals_uninterrupted_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh_process_timing(monkeypatch, SMALL_FASTEST)
    whole = _run(tmp_path / "whole")
    _fresh_process_timing(monkeypatch, SMALL_FASTEST)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "resumed", on_chunk=_stop_after_first_chunk)
    _fresh_process_timing(monkeypatch, LARGE_FASTEST)  # the resuming process would time otherwise
    calls = _spy_timing(monkeypatch)
    _assert_bitwise_equal(whole, _run(tmp_path / "resumed"))
    assert calls == []  # a resumed store is not timed again
    assert _recorded(tmp_path / "resumed") == {"rows_per_chunk": 16}


RESUME_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {helpers!r})
    import numpy as np
    from _scale_helpers import LSTMClassifier
    from tsexplain.scale import attribute_dataset
    x = np.random.default_rng(0).standard_normal(({n}, {c}, {t})).astype(np.float32)
    run = attribute_dataset(LSTMClassifier().eval(), x, "integrated_gradients", out={out!r},
                            steps={steps}, target="predicted", chunk_size={chunk})
    print(run.computed, run.skipped)
""")


def test_another_process_resumes_to_the_same_bits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store is created and its first chunk computed here (timing forced to 64 rows); a fresh
    process, which times for itself, computes the rest with the recorded rows."""
    _fresh_process_timing(monkeypatch, FASTEST_AT_64)
    whole = _run(tmp_path / "whole")
    _fresh_process_timing(monkeypatch, FASTEST_AT_64)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "resumed", on_chunk=_stop_after_first_chunk)
    script = RESUME_SCRIPT.format(helpers=str(Path(__file__).parent), n=N_SERIES, c=N_CHANNELS,
                                  t=N_TIMESTEPS, out=str(tmp_path / "resumed"), steps=STEPS, chunk=CHUNK)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[1]", "[0]"]
    resumed = attribute_dataset(LSTMClassifier().eval(), _data(), "integrated_gradients",
                                out=tmp_path / "resumed", steps=STEPS, target="predicted",
                                chunk_size=CHUNK)
    assert resumed.computed == []
    _assert_bitwise_equal(whole, {k: resumed.store[k][:] for k in resumed.store.arrays})


def test_given_rows_are_recorded_used_for_every_chunk_and_not_timed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = 64
    calls = _spy_timing(monkeypatch)
    PASSES.clear()
    given = _run(tmp_path / "given", model=CountingLSTM().eval(), rows_per_chunk=rows)
    assert calls == []  # nothing timed
    assert max(PASSES) == rows  # no pass of the run (no timing) held more rows
    assert _recorded(tmp_path / "given") == {"rows_per_chunk": rows}
    assert np.array_equal(given["values"], _per_chunk_reference(rows))
    _fresh_process_timing(monkeypatch, LARGE_FASTEST)
    assert not np.array_equal(given["values"], _run(tmp_path / "timed")["values"])  # 512 rows


def test_a_resumed_run_keeps_the_recorded_rows_over_given_ones(tmp_path: Path) -> None:
    whole = _run(tmp_path / "whole", rows_per_chunk=64)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "resumed", on_chunk=_stop_after_first_chunk, rows_per_chunk=64)
    with pytest.warns(UserWarning, match=r"created with rows_per_chunk=64; its remaining chunks use it "
                                         r"too \(not 16\)"):
        resumed = _run(tmp_path / "resumed", rows_per_chunk=16)
    _assert_bitwise_equal(whole, resumed)


def test_a_store_without_recorded_rows_still_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A manifest written before the rows were recorded (no "engine"): resumed with
    ROWS_PER_CHUNK, untimed."""
    whole = _run(tmp_path / "whole", rows_per_chunk=ROWS_PER_CHUNK)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "old", on_chunk=_stop_after_first_chunk, rows_per_chunk=ROWS_PER_CHUNK)
    path = tmp_path / "old" / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["engine"]
    path.write_text(json.dumps(manifest))
    calls = _spy_timing(monkeypatch)
    _assert_bitwise_equal(whole, _run(tmp_path / "old"))
    assert calls == []


@pytest.mark.parametrize("value", [0, "abc", 2.5, True])
def test_bad_rows_are_refused_before_any_store_is_written(tmp_path: Path, value: object) -> None:
    with pytest.raises(ParameterError, match=r"^rows_per_chunk must be "):
        _run(tmp_path / "bad", rows_per_chunk=value)
    assert not (tmp_path / "bad").exists()


def test_the_budget_bounds_the_timed_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh_process_timing(monkeypatch, LARGE_FASTEST)
    sizes: list[tuple[int, int]] = []
    size = _engine.ChunkTuner.__dict__["size"]

    def logged_size(self: _engine.ChunkTuner, remaining: int) -> int:
        rows = size(self, remaining)
        sizes.append((rows, self.most))
        return int(rows)

    monkeypatch.setattr(_engine.ChunkTuner, "size", logged_size)
    calls = _spy_timing(monkeypatch)
    PASSES.clear()
    _run(tmp_path / "small_budget", model=CountingLSTM().eval(), memory_budget="1MB")
    ((_first, end, rows),) = calls
    most = max(m for _, m in sizes)
    assert rows == most < ROWS_PER_CHUNK  # the largest size the budget allows, fastest here
    assert _recorded(tmp_path / "small_budget") == {"rows_per_chunk": most}
    assert max(PASSES[end:]) == most


def test_the_timing_runs_with_the_threads_of_the_backends_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backend whose chunks run one torch thread (as Ray actors with num_cpus=1): the driver
    times with one thread, then gets its own back."""

    class OneThread(LocalBackend):
        def chunk_threads(self) -> int:
            return 1

    threads: list[int] = []
    real = tsexplain.attribution.fastest_rows_per_chunk

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(tsexplain.attribution, "fastest_rows_per_chunk", spy)
    _fresh_process_timing(monkeypatch, FASTEST_AT_64)
    before = torch.get_num_threads()
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)  # as a 2-core driver would have it
    set_to: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", set_to.append)
    _run(tmp_path / "one_thread", backend=OneThread())
    assert set_to == [1, 2]  # one thread for the timing, then the driver's again
    assert threads == [2]  # (get_num_threads is faked: it reads 2 throughout)
    assert _recorded(tmp_path / "one_thread") == {"rows_per_chunk": 64}
    assert torch.get_num_threads() == 2 and before >= 1


def test_chunks_on_gpus_are_not_timed_in_the_driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver's CPU cannot time a GPU's chunks: such a run records ROWS_PER_CHUNK, untimed."""

    class OnGpus(LocalBackend):
        def chunks_on_gpus(self) -> bool:
            return True

    calls = _spy_timing(monkeypatch)
    _run(tmp_path / "gpus", backend=OnGpus())
    assert calls == []
    assert _recorded(tmp_path / "gpus") == {"rows_per_chunk": ROWS_PER_CHUNK}


def test_ray_actors_run_one_thread_per_cpu_they_declare() -> None:
    pytest.importorskip("ray")
    from tsexplain.scale import RayBackend

    assert RayBackend(num_cpus=1).chunk_threads() == 1 and RayBackend(num_cpus=2.5).chunk_threads() == 2
    assert RayBackend(num_cpus=0.5).chunk_threads() == 1
    assert not RayBackend().chunks_on_gpus() and RayBackend(num_gpus=0.5).chunks_on_gpus()
    assert LocalBackend().chunk_threads() is None and not LocalBackend().chunks_on_gpus()
