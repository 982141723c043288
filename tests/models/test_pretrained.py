"""Shipped reference weights: loadable by name, checked against their sha256, accurate on FordA."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import tsexplain.models._pretrained as pre
from tsexplain.exceptions import DataFormatError, ParameterError
from tsexplain.models import PRETRAINED, FordACNN, pretrained

needs_forda = pytest.mark.skipif(
    "forda_cnn" not in PRETRAINED,
    reason="no FordA weights shipped yet (train them with benchmarks/train_forda_cnn.py and "
           "register them in tsexplain/models/_pretrained.py)")


def _shared_data() -> Path:
    env = os.environ.get("TSEXPLAIN_SHARED_DATA")
    return Path(env) if env else (Path(__file__).resolve().parents[2] / ".." / "shared" / "data")


def test_every_shipped_file_matches_its_recorded_hash() -> None:
    for name, (file, digest, _) in PRETRAINED.items():
        path = pre.pretrained_path(name)
        assert path.name == file
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
        assert path.stat().st_size < 300_000  # small enough to ship


@needs_forda
def test_forda_cnn_loads_as_the_reference_architecture() -> None:
    model = pretrained("forda_cnn")
    assert isinstance(model, FordACNN) and not model.training
    out = model(torch.zeros(3, 1, 500))
    assert out.shape == (3, 2)


@needs_forda
def test_hash_mismatch_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file, digest, what = PRETRAINED["forda_cnn"]
    bad = "0" * 64
    monkeypatch.setitem(pre.PRETRAINED, "forda_cnn", (file, bad, what))
    with pytest.raises(DataFormatError, match="sha256"):
        pretrained("forda_cnn")


@needs_forda
def test_damaged_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a copy of the weights with one byte changed, registered under the true hash
    src = pre.pretrained_path("forda_cnn")
    weights = tmp_path / "weights"
    weights.mkdir()
    data = bytearray(src.read_bytes())
    data[-1] ^= 0xFF
    (weights / "forda_cnn.safetensors").write_bytes(bytes(data))

    class _Files:
        def __truediv__(self, other: str) -> Path:
            return tmp_path / other

    monkeypatch.setattr(pre.resources, "files", lambda _pkg: _Files())
    with pytest.raises(DataFormatError, match="damaged or was replaced"):
        pretrained("forda_cnn")


def test_unknown_name() -> None:
    with pytest.raises(ParameterError, match="no shipped model named"):
        pretrained("no_such_model")


@needs_forda
def test_forda_cnn_test_accuracy_on_the_real_files() -> None:
    test_file = _shared_data() / "FordA" / "FordA_TEST.tsv.gz"
    if not test_file.is_file():
        pytest.skip(f"FordA test file {test_file} absent (set TSEXPLAIN_SHARED_DATA)")
    from tsexplain.datasets import load_ucr

    test = load_ucr(test_file)
    model = pretrained("forda_cnn")
    with torch.no_grad():
        pred = torch.cat([model(torch.as_tensor(test.X[i : i + 256], dtype=torch.float32))
                          for i in range(0, len(test.X), 256)]).argmax(1).numpy()
    assert len(test.y) == 1320
    # the training script's final figure for the shipped weights (seed 0, 150 epochs, weights
    # averaged over the last 50): 1281 of 1320 right, 0.9705 (the paper's CNN: 0.9697)
    assert np.sum(pred == test.y) == 1281
