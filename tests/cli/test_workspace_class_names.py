"""``tsexplain workspace add-model --dataset NAME``: the model's outputs take the data set's class
names when there is one output per class; a name the user gives wins; no names otherwise."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from tsexplain.cli.main import main

CLASSES = ["low", "mid", "high"]


@pytest.fixture()
def workspace(tmp_path):
    """A 3-class data set with class names, and TorchScript models with 3 and 2 outputs."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "data.npz", X=rng.standard_normal((6, 1, 16)).astype(np.float32),
             y=np.array([0, 1, 2, 0, 1, 2]))
    for n_outputs in (3, 2):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(28, n_outputs))
        torch.jit.trace(net.eval(), torch.zeros(1, 1, 16)).save(str(tmp_path / f"out{n_outputs}.pt"))
    ws = tmp_path / "ws"
    assert main(["workspace", "add-data", str(ws), "gen", str(tmp_path / "data.npz"),
                 "--class-names", ",".join(CLASSES)]) == 0
    return ws


def _add(ws, name, model_file, *extra) -> dict:
    assert main(["workspace", "add-model", str(ws), name, str(ws.parent / model_file),
                 "--dataset", "gen", *extra]) == 0
    return json.loads((ws / "models" / f"{name}.info.json").read_text())


def _summary(ws, name) -> dict:
    from fastapi.testclient import TestClient

    from tsexplain.server.app import create_app
    from tsexplain.server.config import Settings
    from tsexplain.server.workspace import Workspace

    app = create_app(Settings.from_env(workspace=ws), Workspace(ws))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        return client.get(f"/api/v1/models/{name}").json()


def test_one_output_per_class_takes_the_class_names(workspace):
    info = _add(workspace, "m", "out3.pt")
    assert info["class_names"] == CLASSES and info["output_names"] == CLASSES
    assert _summary(workspace, "m")["output_names"] == CLASSES


@pytest.mark.parametrize(("flag", "names"), [("--class-names", ["a", "b", "c"]),
                                             ("--output-names", ["x", "y", "z"])])
def test_names_the_user_gives_win(workspace, flag, names):
    info = _add(workspace, "m", "out3.pt", flag, ",".join(names))
    assert info["output_names"] == names
    assert _summary(workspace, "m")["output_names"] == names


def test_another_output_count_takes_no_names(workspace, capsys):
    info = _add(workspace, "m", "out2.pt")
    assert "class_names" not in info and "output_names" not in info
    assert _summary(workspace, "m")["output_names"] == ["output 0", "output 1"]
    assert "2 outputs" in capsys.readouterr().out
