"""Model-randomisation sanity check: model-blind explanations stay at 1, gradients decorrelate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tsexplain.exceptions import ShapeError
from tsexplain.metrics import model_randomization_check, randomizable_layers


def _gradient(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """Plain saliency with torch.autograd: d sum(f) / d x."""
    xv = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model(xv).sum(), xv)
    return g.numpy()


def _cnn() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv1d(2, 8, 5, padding=2),
        torch.nn.ReLU(),
        torch.nn.Conv1d(8, 8, 5, padding=2),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 40, 1),
    )


@pytest.fixture
def x():
    return torch.randn(6, 2, 40, generator=torch.Generator().manual_seed(1))


def test_layers_top_down_and_caller_model_untouched(x):
    model = _cnn()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng_before = torch.random.get_rng_state()
    assert randomizable_layers(model) == ["5", "2", "0"]
    res = model_randomization_check(model, x, explain_fn=_gradient, seed=3)
    assert res.layers == ["5", "2", "0"]
    assert res.spearman.shape == res.pearson.shape == res.ssim.shape == (3,)
    assert res.per_sample["spearman"].shape == (3, 6)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    assert torch.equal(torch.random.get_rng_state(), rng_before)
    again = model_randomization_check(model, x, explain_fn=_gradient, seed=3)
    assert np.allclose(again.spearman, res.spearman)  # seeded
    assert [row["layer"] for row in res.as_table()] == res.layers


def test_model_blind_explanation_stays_identical(x):
    # An "explanation" that ignores the model (the input itself) fails the check: similarity 1.
    res = model_randomization_check(_cnn(), x, explain_fn=lambda m, xx: xx.numpy())
    assert np.allclose(res.spearman, 1.0)
    assert np.allclose(res.pearson, 1.0)
    assert np.allclose(res.ssim, 1.0)


def test_linear_model_gradient_decorrelates_when_randomised():
    # f(x) = <w, x>: the gradient is w; after re-initialising w it is an independent draw.
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 100, 1))
    xx = torch.randn(4, 2, 100)
    res = model_randomization_check(model, xx, explain_fn=_gradient, keep_explanations=True)
    assert res.layers == ["1"]
    assert abs(res.spearman[0]) < 0.25 and abs(res.pearson[0]) < 0.25
    assert res.explanations is not None and res.explanations.shape == (2, 4, 2, 100)
    signed = model_randomization_check(model, xx, explain_fn=_gradient, absolute=False)
    assert abs(signed.spearman[0]) < 0.25


def test_deep_layers_randomised_cumulatively(x):
    res = model_randomization_check(_cnn(), x, explain_fn=_gradient)
    # After every layer is random the map bears little resemblance to the trained one.
    assert res.spearman[-1] < 0.6
    assert np.all(res.spearman <= 1.0) and np.all(res.ssim <= 1.0 + 1e-12)


def test_default_explain_fn_uses_tsexplain_explain(x):
    model = _cnn()
    a = model_randomization_check(model, x, method="saliency")
    b = model_randomization_check(model, x, explain_fn=_gradient)
    assert np.allclose(a.spearman, b.spearman, atol=1e-6)


def test_errors(x):
    model = _cnn()
    with pytest.raises(ValueError, match="unknown layer"):
        model_randomization_check(model, x, explain_fn=_gradient, layers=["head"])
    with pytest.raises(ShapeError, match=r"x.shape = \(6, 2, 40\).*\(6, 2, 39\)"):
        model_randomization_check(model, x, explain_fn=lambda m, xx: xx.numpy()[..., :39])
    with pytest.raises(ValueError, match="no parameters"):
        model_randomization_check(torch.nn.Flatten(), x, explain_fn=lambda m, xx: xx.numpy())


class _Static(torch.nn.Module):
    """forward(x, s): a series (N, 2, 40) and static features s (N, 3)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv1d(2, 4, 5, padding=2)
        self.static = torch.nn.Linear(3, 4)
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).mean(2) * torch.tanh(self.static(s)))


def test_a_model_with_further_inputs_takes_them_as_additional_inputs():
    from captum.attr import Saliency

    from tsexplain.exceptions import ModelInputsError

    model = _Static().eval()
    x, s = torch.randn(3, 2, 40), torch.randn(3, 3)
    res = model_randomization_check(model, x, target=1, additional_inputs=s, keep_explanations=True)
    assert res.layers == ["fc", "static", "conv"]
    oracle = Saliency(model).attribute(x.clone().requires_grad_(), target=1, abs=True,
                                       additional_forward_args=(s,))
    np.testing.assert_allclose(res.explanations[0], oracle.detach().numpy(), rtol=1e-5, atol=1e-8)
    with pytest.raises(ModelInputsError, match=r"^model_randomization_check: the model's forward "
                                               r"takes more inputs than the series \(missing: 's'\)"):
        model_randomization_check(model, x, target=1)


def test_a_refused_series_a_frozen_model_and_a_bad_ssim_window_are_named(x, tmp_path):
    from tsexplain.exceptions import ModelOutputError, ParameterError
    from tsexplain.io import load_any_model

    model = _cnn().eval()
    with pytest.raises(ModelOutputError, match=r"^model_randomization_check: the model failed on x "
                                               r"of shape \(4, 3, 40\)"):
        model_randomization_check(model, np.zeros((4, 3, 40)))
    with pytest.raises(ParameterError, match="ssim_window must be >= 1"):
        model_randomization_check(model, x, ssim_window=0)
    torch.jit.trace(model, torch.zeros(1, 2, 40)).save(str(tmp_path / "m.pt"))
    frozen = load_any_model(tmp_path / "m.pt")
    with pytest.raises(ParameterError, match="TorchScript file loaded by .*frozen.*torch.jit.load"):
        model_randomization_check(frozen, x)
    # the unfrozen TorchScript module is randomised layer by layer
    res = model_randomization_check(torch.jit.load(str(tmp_path / "m.pt")), x)
    assert len(res.layers) == 3 and bool((res.spearman[-1:] < 0.9).all())
