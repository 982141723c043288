"""``tsexplain workspace add-data DATA --labels FILE.npy``: labels for data that hold none (an
X.npy beside a y.npy) end up where the labels of an .npz (X, y) do, in the data set's file and the
explorer's summary; a labels file of another length is a one-line refusal naming the shapes."""

from __future__ import annotations

import numpy as np
import pytest

from tsexplain.cli.main import main

LABELS = np.array([1, 2, 2, 1, 2, 1])  # UCR-style labels: class indices 0, 1 in sorted order


@pytest.fixture()
def files(tmp_path):
    X = np.random.default_rng(0).standard_normal((6, 2, 16)).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", LABELS)
    np.savez(tmp_path / "data.npz", X=X, y=LABELS)
    return tmp_path


def _stored(ws, name) -> dict:
    with np.load(ws / "datasets" / f"{name}.npz") as z:
        return {k: z[k] for k in z.files}


def _summary(ws, name) -> dict:
    from fastapi.testclient import TestClient

    from tsexplain.server.app import create_app
    from tsexplain.server.config import Settings
    from tsexplain.server.workspace import Workspace

    app = create_app(Settings.from_env(workspace=ws), Workspace(ws))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        return client.get(f"/api/v1/datasets/{name}").json()


def test_labels_of_an_npy_pair_are_those_of_the_same_npz(files, capsys):
    ws = files / "ws"
    assert main(["workspace", "add-data", str(ws), "pair", str(files / "X.npy"),
                 "--labels", str(files / "y.npy")]) == 0
    assert "labels -> 2 classes" in capsys.readouterr().out
    assert main(["workspace", "add-data", str(ws), "packed", str(files / "data.npz")]) == 0
    pair, packed = _stored(ws, "pair"), _stored(ws, "packed")
    np.testing.assert_array_equal(pair["y"], [0, 1, 1, 0, 1, 0])
    np.testing.assert_array_equal(pair["label_values"], ["1", "2"])
    assert set(pair) == set(packed)
    for key in pair:
        np.testing.assert_array_equal(pair[key], packed[key])
    summary = _summary(ws, "pair")
    assert summary["has_labels"] is True
    assert [(c["label"], c["count"]) for c in summary["classes"]] == [(0.0, 3), (1.0, 3)]
    assert summary["classes"] == _summary(ws, "packed")["classes"]


def test_real_valued_targets_are_kept_as_they_are(files):
    targets = np.array([0.5, 1.25, -2.0, 3.5, 0.0, 7.75])
    np.save(files / "t.npy", targets)
    ws = files / "ws"
    assert main(["workspace", "add-data", str(ws), "reg", str(files / "X.npy"),
                 "--labels", str(files / "t.npy")]) == 0
    stored = _stored(ws, "reg")
    np.testing.assert_array_equal(stored["y"], targets)
    assert "label_values" not in stored


@pytest.mark.parametrize("labels", [LABELS[:5], LABELS[:, None]], ids=["short", "column"])
def test_labels_of_another_shape_are_refused_in_one_line(files, capsys, labels):
    np.save(files / "bad.npy", labels)
    code = main(["workspace", "add-data", str(files / "ws"), "pair", str(files / "X.npy"),
                 "--labels", str(files / "bad.npy")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert f"has shape {labels.shape}, expected (6,)" in err and "(6, 2, 16)" in err
    assert not (files / "ws" / "datasets" / "pair.npz").exists()


def test_a_file_with_labels_of_its_own_refuses_a_labels_file(files, capsys):
    code = main(["workspace", "add-data", str(files / "ws"), "packed", str(files / "data.npz"),
                 "--labels", str(files / "y.npy")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "holds labels already" in err


def test_explain_takes_the_labels_file_for_target_label(files, tmp_path):
    """The same option of ``tsexplain explain``: --target label explains each series' class, so
    the saliency of a linear model is the weight row of that class."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(32, 2)).eval()
    torch.jit.trace(net, torch.zeros(1, 2, 16)).save(str(tmp_path / "m.pt"))
    out = tmp_path / "out"
    assert main(["explain", str(tmp_path / "m.pt"), str(files / "X.npy"), "--labels",
                 str(files / "y.npy"), "-m", "saliency", "--target", "label", "-o", str(out),
                 "--no-report", "--no-faithfulness", "--quiet"]) == 0
    with np.load(out / "attributions_saliency.npz") as z:
        target, values = z["target"], z["values"]
    np.testing.assert_array_equal(target, [0, 1, 1, 0, 1, 0])
    weight = net[1].weight.detach().numpy().reshape(2, 2, 16)
    np.testing.assert_allclose(values, weight[target], rtol=1e-6)
