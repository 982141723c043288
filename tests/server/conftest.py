"""Fixtures of the server tests: a tiny trained workspace on disk, the app, a TestClient."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from tsexplain.server.app import create_app  # noqa: E402
from tsexplain.server.config import Settings  # noqa: E402

CHANNELS = ["pressure", "temperature", "torque"]


def make_tiny_workspace(root: Path, *, seed: int = 0) -> Path:
    """A 3x20 anomaly CNN with 4/6/8 filters, trained a little, and small data sets."""
    import torch

    from tsexplain.datasets import make_anomaly_sequences
    from tsexplain.models import TSVizAnomalyCNN
    from tsexplain.training import fit, save_model

    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "datasets").mkdir(parents=True, exist_ok=True)
    data = make_anomaly_sequences(n_train=400, n_test=40, length=20, seed=seed)
    torch.manual_seed(seed)
    model = TSVizAnomalyCNN(length=20, filters=(4, 6, 8))
    fit(model, data.train.X, data.train.y, seed=seed, epochs=3, progress=False)
    save_model(model, root / "models" / "tiny.safetensors")
    (root / "models" / "tiny.info.json").write_text(json.dumps(
        {"task": "binary", "output_names": ["anomalous"], "output_unit": "logit", "dataset": "tiny_test"}))
    test = data.test
    common = {"channel_names": np.asarray(CHANNELS), "class_names": np.asarray(["normal", "anomalous"]),
              "value_unit": np.asarray("sigma"), "time_unit": np.asarray("step")}
    np.savez(root / "datasets" / "tiny_test.npz", X=test.X, y=test.y, mask=test.mask, **common)
    np.savez(root / "datasets" / "tiny_train.npz", X=data.train.X[:200], y=data.train.y[:200], **common)
    np.savez(root / "datasets" / "unlabelled.npz", X=test.X[:10])
    np.savez(root / "datasets" / "two_channels.npz", X=test.X[:5, :2])
    (root / "datasets" / "broken.npz").write_bytes(b"this is not a zip file")
    return root


@pytest.fixture(scope="session")
def tiny_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_workspace(tmp_path_factory.mktemp("workspace"))


def small_settings(workspace: Path, **overrides: object) -> Settings:
    values = {"workspace": workspace, "max_explain_samples": 8, "max_aggregate_samples": 40,
              "max_method_int": 64, "max_active_jobs": 3, "max_body_bytes": 200_000,
              "max_upload_values": 20_000, "allowed_hosts": ["testserver"]}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture()
def app(tiny_workspace: Path, tmp_path: Path):
    # a fresh copy per test: uploads and jobs never leak between tests
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(tiny_workspace, ws)
    return create_app(small_settings(ws))


@pytest.fixture()
def client(app) -> TestClient:
    with TestClient(app) as c:
        yield c
