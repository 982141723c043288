"""The JSON architecture spec: model_spec / build_model."""

from __future__ import annotations

import json

import pytest
import torch

from tsexplain.exceptions import ParameterError
from tsexplain.models import (
    AGRACNN,
    FordACNN,
    PointwiseMLP,
    TSVizAnomalyCNN,
    TSVizRegressionCNN,
    available_architectures,
    build_model,
    model_spec,
)

MODELS = [
    PointwiseMLP(n_channels=4, hidden=(8, 6), lags=3, activation="tanh", dropout=0.1),
    TSVizRegressionCNN(length=40, filters=(4, 5, 6)),
    TSVizAnomalyCNN(filters=(4, 8), kernel_size=5),
    AGRACNN(length=64, hidden=16),
    FordACNN(filters=8, n_layers=2),
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_spec_round_trip(model):
    spec = json.loads(json.dumps(model_spec(model)))
    rebuilt = build_model(spec)
    assert type(rebuilt) is type(model)
    assert rebuilt.get_config() == model.get_config()
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == shapes


def test_available_architectures_lists_all_five():
    assert set(available_architectures()) >= {
        "PointwiseMLP", "TSVizRegressionCNN", "TSVizAnomalyCNN", "AGRACNN", "FordACNN",
    }


def test_build_model_errors():
    with pytest.raises(ParameterError, match="Unknown architecture 'ResNet'"):
        build_model({"architecture": "ResNet", "config": {}})
    with pytest.raises(ParameterError, match="format"):
        build_model({"format": 99, "architecture": "FordACNN", "config": {}})
    with pytest.raises(ParameterError, match="does not fit FordACNN"):
        build_model({"architecture": "FordACNN", "config": {"n_filters": 3}})
    with pytest.raises(ParameterError, match="must be a dict"):
        build_model(["FordACNN"])  # type: ignore[arg-type]


def test_model_spec_rejects_custom_modules():
    with pytest.raises(ParameterError, match="not a registered"):
        model_spec(torch.nn.Linear(2, 2))
