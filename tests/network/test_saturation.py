# ruff: noqa: F811  (fixtures imported from network_helpers are redefined as test arguments)
import warnings

import numpy as np
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


class _StaticModel(torch.nn.Module):
    """forward(x, s): a series (N, 3, 16) and static features s (N, 2); ends in a Softmax or not."""

    def __init__(self, softmax: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv1d(3, 4, 3, padding=1)
        self.fc = torch.nn.Linear(4 + 2, 3)
        self.out = torch.nn.Softmax(dim=1) if softmax else torch.nn.Identity()

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.out(self.fc(torch.cat([self.conv(x).mean(2), s], 1)))

    def logits(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.cat([self.conv(x).mean(2), s], 1))


@pytest.mark.parametrize("softmax", [False, True])
def test_with_temperature_passes_a_models_further_inputs_on(softmax):
    import tsexplain
    from tsexplain.exceptions import ModelInputsError

    model = _StaticModel(softmax).eval()
    x, s = torch.randn(5, 3, 16), torch.randn(5, 2)
    hot = with_temperature(model, 2.0)
    expected = torch.softmax(model.logits(x, s) / 2.0, dim=1)  # TSViz Eq. 19 by hand
    torch.testing.assert_close(hot(x, s), expected)
    # the attribution methods give the wrapper the further inputs: d p_1 / d x by autograd
    xr = x.clone().requires_grad_()
    grad = torch.autograd.grad(torch.softmax(model.logits(xr, s) / 2.0, 1)[:, 1].sum(), xr)[0]
    sal = tsexplain.explain(hot, x, "saliency", target=1, additional_inputs=s, absolute=False)
    np.testing.assert_allclose(np.asarray(sal.values), grad.numpy(), rtol=1e-5, atol=1e-7)
    # the network analyses (series alone) name what forward misses
    with pytest.raises(ModelInputsError, match="missing: 's'"):
        detect_saturation(hot, x)
