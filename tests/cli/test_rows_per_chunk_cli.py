"""The engine option ``rows_per_chunk`` from the command line: ``-p rows_per_chunk=64``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tsexplain.attribution import _engine
from tsexplain.cli.main import main

C, T = 3, 40


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-channel CNN (safetensors + spec) and (6, 3, 40) data."""
    from tsexplain.models import FordACNN
    from tsexplain.training import save_model

    d = tmp_path_factory.mktemp("rows_per_chunk")
    torch.manual_seed(0)
    save_model(FordACNN(n_channels=C, n_outputs=2, filters=4).eval(), d / "cnn.safetensors")
    X = np.random.default_rng(0).standard_normal((6, C, T)).astype(np.float32)
    np.savez(d / "data.npz", X=X)
    np.save(d / "data.npy", X)
    return d


@pytest.fixture
def fixed_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """The ``fixed`` rows of every chunk tuner the engine builds."""
    seen: list[int | None] = []
    init = _engine.ChunkTuner.__init__

    def spy(self: _engine.ChunkTuner, *args: object, fixed: int | None = None, **kw: object) -> None:
        seen.append(fixed)
        init(self, *args, fixed=fixed, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(_engine.ChunkTuner, "__init__", spy)
    return seen


def test_explain_passes_rows_per_chunk_to_the_engine(files, capsys, monkeypatch, fixed_sizes):
    monkeypatch.chdir(files)
    rc = main(["explain", "cnn.safetensors", "data.npz", "-t", "0", "-m", "integrated_gradients",
               "-p", "steps=8", "-p", "rows_per_chunk=64", "--out", "ok", "-q", "--no-report",
               "--no-faithfulness"])
    assert rc == 0, capsys.readouterr().err
    assert fixed_sizes and set(fixed_sizes) == {64}
    assert (files / "ok" / "attributions_integrated_gradients.npz").is_file()


@pytest.mark.parametrize(("value", "problem"), [("0", "must be >= 1, got 0."),
                                                ("abc", "must be an integer, got 'abc'."),
                                                ("1.5", "must be an integer, got 1.5.")])
def test_explain_refuses_a_bad_rows_per_chunk_in_one_line(files, capsys, monkeypatch, value, problem):
    monkeypatch.chdir(files)
    rc = main(["explain", "cnn.safetensors", "data.npz", "-t", "0", "-m", "saliency",
               "-p", f"rows_per_chunk={value}", "--out", "never", "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err == f"tsexplain explain: error: rows_per_chunk {problem}"


def test_explain_dataset_records_the_given_rows(files, capsys, monkeypatch, fixed_sizes):
    monkeypatch.chdir(files)
    rc = main(["explain-dataset", "data.npy", "--model", "cnn.safetensors", "-m", "saliency",
               "-t", "0", "-p", "rows_per_chunk=32", "--out", "store", "--chunk-size", "4"])
    assert rc == 0, capsys.readouterr().err
    assert json.loads((files / "store" / "manifest.json").read_text())["engine"] == {"rows_per_chunk": 32}
    assert fixed_sizes and set(fixed_sizes) == {32}
