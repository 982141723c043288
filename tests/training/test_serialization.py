"""save_model / load_model: safetensors + JSON spec round trips and clear errors."""

from __future__ import annotations

import json

import pytest
import torch

from tsexplain.exceptions import DataFormatError, ParameterError
from tsexplain.models import AGRACNN, FordACNN, PointwiseMLP, TSVizAnomalyCNN, TSVizRegressionCNN
from tsexplain.training import fit, load_model, save_model
from tsexplain.training.serialization import spec_path


def _models():
    torch.manual_seed(0)
    ford = FordACNN(n_channels=2, filters=6)
    # non-default BatchNorm statistics must survive the round trip too
    fit(ford, torch.randn(40, 2, 32), torch.arange(40) % 2, epochs=1, progress=False)
    return [
        (PointwiseMLP(n_channels=2, hidden=(8,), lags=3), (3, 2, 32)),
        (TSVizRegressionCNN(length=32), (3, 2, 32)),
        (TSVizAnomalyCNN(n_channels=2, length=32), (3, 2, 32)),
        (AGRACNN(length=32), (3, 2, 32)),
        (ford, (3, 2, 32)),
    ]


@pytest.mark.parametrize("index", range(5))
def test_round_trip_gives_identical_outputs(tmp_path, index):
    model, shape = _models()[index]
    model.eval()
    path = save_model(model, tmp_path / "m.safetensors")
    assert path.is_file() and spec_path(path).is_file()
    spec = json.loads(spec_path(path).read_text())
    assert spec["architecture"] == type(model).__name__
    loaded = load_model(path)
    assert type(loaded) is type(model) and not loaded.training
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_weights_file_alone_suffices_and_suffix_is_added(tmp_path):
    model = AGRACNN(length=32).eval()
    path = save_model(model, tmp_path / "sub" / "agra")
    assert path.name == "agra.safetensors"
    spec_path(path).unlink()
    loaded = load_model(tmp_path / "sub" / "agra")
    x = torch.randn(2, 2, 32, generator=torch.Generator().manual_seed(1))
    assert torch.equal(model(x), loaded(x))


def test_custom_module_loads_into_given_instance(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv1d(2, 3, 3), torch.nn.Flatten(), torch.nn.Linear(18, 1))
    path = save_model(model, tmp_path / "custom.safetensors")
    assert not spec_path(path).exists()
    with pytest.raises(DataFormatError, match="carries no architecture spec"):
        load_model(path)
    target = torch.nn.Sequential(torch.nn.Conv1d(2, 3, 3), torch.nn.Flatten(), torch.nn.Linear(18, 1))
    loaded = load_model(path, model=target)
    x = torch.randn(2, 2, 8)
    assert torch.equal(model(x), loaded(x))


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model weights"):
        load_model(tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00\x01 this is not safetensors")
    with pytest.raises(DataFormatError, match="not a readable safetensors"):
        load_model(bad)
    path = save_model(AGRACNN(length=32), tmp_path / "m.safetensors")
    spec_path(path).write_text(json.dumps({"architecture": "Transformer", "config": {}}))
    with pytest.raises(ParameterError, match="Unknown architecture 'Transformer'"):
        load_model(path)
    spec_path(path).write_text("{not json")
    with pytest.raises(DataFormatError, match="not JSON"):
        load_model(path)
    spec_path(path).write_text(json.dumps(
        {"architecture": "AGRACNN", "config": {"length": 64}}
    ))
    with pytest.raises(DataFormatError, match="do not fit AGRACNN"):
        load_model(path)
    truncated = tmp_path / "trunc.safetensors"
    truncated.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataFormatError):
        load_model(truncated)


def test_save_model_rejects_non_modules(tmp_path):
    with pytest.raises(TypeError, match="torch.nn.Module"):
        save_model({"weight": torch.zeros(2)}, tmp_path / "x")  # type: ignore[arg-type]
