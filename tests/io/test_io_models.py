"""load_any_model: each kind gives the same function; pickles and ONNX without converter refused."""

from __future__ import annotations

import importlib.util
import textwrap

import numpy as np
import pytest
import torch

from tsexplain.exceptions import DataFormatError, ParameterError, ShapeError, TargetError
from tsexplain.io import PickleRefusedError, load_any_model
from tsexplain.io.checks import check_memory, check_model_data

FACTORY_SRC = textwrap.dedent(
    """
    import torch

    def make_net(n_channels=2, n_classes=3):
        torch.manual_seed(1)
        return torch.nn.Sequential(
            torch.nn.Conv1d(n_channels, 4, 3, padding=1), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(), torch.nn.Linear(4, n_classes))
    """
)


@pytest.fixture()
def factory(tmp_path):
    (tmp_path / "usernets_io.py").write_text(FACTORY_SRC)
    ns: dict = {}
    exec(FACTORY_SRC, ns)
    return tmp_path / "usernets_io.py", ns["make_net"]


def out(model, x):
    with torch.no_grad():
        return model(torch.as_tensor(x)).numpy()


X = np.random.default_rng(0).standard_normal((3, 2, 20)).astype(np.float32)


def test_torchscript_traced_and_scripted(tmp_path, factory):
    _, make = factory
    net = make().eval()
    torch.jit.trace(net, torch.zeros(1, 2, 20)).save(str(tmp_path / "t.pt"))
    torch.jit.script(net).save(str(tmp_path / "s.pt"))
    for name in ("t.pt", "s.pt"):
        loaded = load_any_model(tmp_path / name)
        assert loaded.kind == "torchscript"
        np.testing.assert_allclose(out(loaded.module, X), out(net, X), rtol=1e-6)
        # the engine's forward hooks work on the wrapper (ScriptModules refuse them)
        loaded.module.register_forward_hook(lambda *a: None)


def test_safetensors_with_architecture_json(tmp_path):
    from tsexplain.models import FordACNN
    from tsexplain.training import save_model

    net = FordACNN(n_channels=2, n_outputs=3, filters=4).eval()
    save_model(net, tmp_path / "m.safetensors")
    loaded = load_any_model(tmp_path / "m.safetensors")
    assert loaded.kind == "safetensors"
    np.testing.assert_allclose(out(loaded.module, X), out(net, X), rtol=1e-6)


def test_safetensors_without_spec_points_to_factory(tmp_path, factory):
    from safetensors.torch import save_file

    _, make = factory
    save_file(make().state_dict(), str(tmp_path / "w.safetensors"))
    with pytest.raises(DataFormatError, match="package.module:factory --weights"):
        load_any_model(tmp_path / "w.safetensors")


def test_factory_module_and_file_with_pt_and_safetensors_weights(tmp_path, factory, monkeypatch):
    from safetensors.torch import save_file

    path, make = factory
    trained = make()
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.5)
    torch.save(trained.state_dict(), tmp_path / "w.pt")
    save_file(trained.state_dict(), str(tmp_path / "w.safetensors"))
    monkeypatch.chdir(tmp_path)
    a = load_any_model("usernets_io:make_net", weights="w.pt")
    b = load_any_model(f"{path}:make_net", weights=tmp_path / "w.safetensors")
    c = load_any_model("usernets_io:make_net", weights="w.pt",
                       factory_kwargs={"n_channels": 2, "n_classes": 3})
    for loaded in (a, b, c):
        assert loaded.kind == "factory"
        np.testing.assert_allclose(out(loaded.module, X), out(trained.eval(), X), rtol=1e-6)
    with pytest.raises(DataFormatError, match="do not fit"):
        load_any_model("usernets_io:make_net", weights="w.pt", factory_kwargs={"n_classes": 5})
    with pytest.raises(ParameterError, match="no attribute"):
        load_any_model("usernets_io:nope", weights="w.pt")
    with pytest.raises(ParameterError, match="cannot import"):
        load_any_model("not_a_module_xyz:make", weights="w.pt")


def test_pickles_are_refused_never_loaded(tmp_path, factory, monkeypatch):
    _, make = factory
    net = make()
    torch.save(net, tmp_path / "whole.pt")  # a pickle of the module
    with pytest.raises(PickleRefusedError, match="never unpickles"):
        load_any_model(tmp_path / "whole.pt")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "usernets_io.py").write_text(FACTORY_SRC)
    with pytest.raises(PickleRefusedError, match="state_dict"):
        load_any_model("usernets_io:make_net", weights=tmp_path / "whole.pt")
    import pickle

    (tmp_path / "m.pkl").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(PickleRefusedError):
        load_any_model(tmp_path / "m.pkl")
    torch.save(net.state_dict(), tmp_path / "state.pt")
    with pytest.raises(ParameterError, match="only weights"):
        load_any_model(tmp_path / "state.pt")


@pytest.mark.skipif(importlib.util.find_spec("onnx2torch") is not None, reason="onnx2torch installed")
def test_onnx_without_converter_is_refused_clearly(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"\x08\x07")
    with pytest.raises(ParameterError, match="onnx2torch"):
        load_any_model(tmp_path / "m.onnx")


def test_check_model_data_messages(factory):
    _, make = factory
    net = make().eval()
    with pytest.raises(ShapeError, match="--channels-last"):
        check_model_data(net, X.transpose(0, 2, 1), target=0)
    with pytest.raises(ShapeError, match="expects 2 channels"):
        check_model_data(net, np.zeros((2, 5, 20), np.float32), target=0)
    with pytest.raises(TargetError, match="--target predicted"):
        check_model_data(net, X)
    with pytest.raises(TargetError, match="out of range"):
        check_model_data(net, X, target=3)
    probe = check_model_data(net, X, target="predicted")
    assert probe.n_outputs == 3


def test_check_memory_refuses_and_suggests_max_samples():
    with pytest.raises(ParameterError, match=r"--max-samples \d+"):
        check_memory((1_000_000, 64, 1000), n_methods=2, available=8 << 30)
    assert check_memory((10, 2, 20), n_methods=1, available=8 << 30) > 0
