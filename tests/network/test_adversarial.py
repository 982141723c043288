# ruff: noqa: F811  (fixtures imported from network_helpers are redefined as test arguments)
import pytest
import torch
import torch.nn.functional as F
from network_helpers import assert_unchanged, cnn, make_cnn, snapshot, x  # noqa: F401  (pytest fixtures)

from tsexplain.exceptions import ParameterError
from tsexplain.network import fgsm, iterative_fgsm


def test_fgsm_step_is_exactly_epsilon_sign_gradient(cnn, x):
    eps = 0.05
    xg = x.clone().requires_grad_(True)
    logits = cnn(xg)[:, 0]
    y = (logits > 0).float().detach()
    (g,) = torch.autograd.grad(F.binary_cross_entropy_with_logits(logits, y, reduction="sum"), xg)
    res = fgsm(cnn, x, eps, task="binary")  # one logit, no labels: binary only when told
    assert torch.equal(res.perturbation, eps * torch.sign(g))
    assert torch.equal(res.x_adv, x + eps * torch.sign(g))
    assert res.channel_mass.shape == (6, 3)
    torch.testing.assert_close(res.channel_share.sum(1), torch.ones(6))


def test_fgsm_multiclass_targeted_and_regression():
    model = make_cnn(n_out=3)
    x = torch.randn(4, 3, 50, generator=torch.Generator().manual_seed(0))
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(model(xg), torch.full((4,), 2), reduction="sum"), xg)
    res = fgsm(model, x, 0.1, y=2, targeted=True)
    assert torch.equal(res.perturbation, -0.1 * torch.sign(g))
    reg = fgsm(make_cnn(), x, 0.1, task="regression")
    assert bool((reg.output_after > reg.output_before).all())
    with pytest.raises(ParameterError, match="targeted"):
        fgsm(model, x, 0.1, targeted=True)


def test_iterative_fgsm_stays_in_ball_and_increases_loss(cnn, x):
    cnn.train()
    before = snapshot(cnn)
    res = iterative_fgsm(cnn, x, 0.05, alpha=0.01, steps=20)
    assert float(res.perturbation.abs().max()) <= 0.05 + 1e-7
    y = res.label_before.float()
    l0 = F.binary_cross_entropy_with_logits(res.output_before[:, 0], y)
    l1 = F.binary_cross_entropy_with_logits(res.output_after[:, 0], y)
    assert l1 > l0
    assert res.steps == 20
    assert_unchanged(cnn, before)


def test_iterative_fgsm_flips_a_linear_classifier():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(20, 1))
    x = torch.randn(1, 1, 20)
    with torch.no_grad():
        model[1].bias.fill_(0.0)
        z = float(model(x))
        model[1].bias.fill_(-z + (0.5 if z >= 0 else -0.5))  # margin 0.5
    res = iterative_fgsm(
        model, x, epsilon=0.5, alpha=0.01, steps=200, stop_on_flip=True, task="binary"
    )
    assert bool(res.flipped.all())
    assert res.steps < 200


def test_saturated_binary_logit_still_attacked():
    # sigmoid(40) == 1.0 in float32: the BCE gradient is exactly zero, the logit's is not
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(10, 1))
    x = torch.randn(1, 1, 10)
    with torch.no_grad():
        model[1].bias.add_(40.0 - float(model(x)))
    xg = x.clone().requires_grad_(True)
    bce = F.binary_cross_entropy_with_logits(model(xg)[:, 0], torch.ones(1), reduction="sum")
    (g,) = torch.autograd.grad(bce, xg)
    assert float(g.abs().max()) == 0.0
    res = fgsm(model, x, 0.1, task="binary")
    assert torch.equal(res.perturbation, -0.1 * torch.sign(model[1].weight.detach()).reshape(1, 1, 10))
    assert float(res.output_after) < float(res.output_before)
