# ruff: noqa: F811  (fixtures imported from network_helpers are redefined as test arguments)
import warnings

import pytest
import torch
from network_helpers import cnn, make_cnn, x  # noqa: F401  (pytest fixtures)

from tsexplain.exceptions import SaturationWarning
from tsexplain.network import detect_saturation, filter_importance, with_temperature


def test_detects_saturation_and_temperature_restores_gradients():
    torch.manual_seed(0)
    model = torch.nn.Sequential(make_cnn(), torch.nn.Sigmoid())
    x = torch.randn(4, 3, 50)
    with torch.no_grad():
        model[0][6].bias.fill_(60.0)  # pushes every probability to 1.0
    with pytest.warns(SaturationWarning):
        rep = detect_saturation(model, x)
    assert rep.fraction == 1.0 and rep.activation == "sigmoid"
    assert filter_importance(model, x, "0.3").abs().max() == 0.0  # Proposition 1
    hot = with_temperature(model, rep.suggested_temperature)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not bool(detect_saturation(hot, x).saturated.any())
    assert float(filter_importance(hot, x, "model.0.3").abs().max()) > 0
    # the wrapper left no hook behind
    assert not model[1]._forward_pre_hooks


def test_logit_model_not_saturated(cnn, x):
    rep = detect_saturation(cnn, x, warn=False)
    assert not bool(rep.saturated.any()) and rep.suggested_temperature is None
    p = with_temperature(cnn, 2.0)(x)
    torch.testing.assert_close(p, torch.sigmoid(cnn(x) / 2))
