"""The wide model's fast layers equal the plain per-member layers they replace."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import training_fixtures  # a module, not a conftest.py: see its docstring
from torch import nn

from tsexplain.models import AGRACNN
from tsexplain.training._wide import WideConv1d, WideReLUMaxPool, WideSequential, widen
from tsexplain.training.ensemble import _fused_optimizer
from tsexplain.training.fit import make_optimizer

_one_thread = training_fixtures.one_thread


@pytest.mark.parametrize(("cin", "cout", "length", "bias"), [(2, 4, 20, False), (3, 5, 9, True)])
def test_wide_conv_equals_conv1d_per_member(cin, cout, length, bias):
    torch.manual_seed(0)
    m = 3
    convs = [nn.Conv1d(cin, cout, 5, padding=2, bias=bias) for _ in range(m)]
    grouped = nn.Conv1d(m * cin, m * cout, 5, padding=2, groups=m, bias=bias)
    with torch.no_grad():
        grouped.weight.copy_(torch.cat([c.weight for c in convs]))
        if bias:
            grouped.bias.copy_(torch.cat([c.bias for c in convs]))
    wide = WideConv1d(grouped)
    x = torch.randn(4, m, cin, length)
    out = wide(x.reshape(4, m * cin, length))
    assert out.shape == (4, m * cout, 1, length)
    assert out.is_contiguous(memory_format=torch.channels_last)
    g = torch.randn(out.shape)
    out.backward(g)
    for i, conv in enumerate(convs):
        xi = x[:, i].clone().requires_grad_()
        ref = F.conv1d(xi, conv.weight, conv.bias, padding=2)
        torch.testing.assert_close(out[:, i * cout : (i + 1) * cout, 0], ref)
        ref.backward(g[:, i * cout : (i + 1) * cout, 0])
        torch.testing.assert_close(wide.weight.grad[i * cout : (i + 1) * cout], conv.weight.grad)


@pytest.mark.parametrize("length", [16, 17])
def test_relu_max_pool_equals_max_pool_of_relu(length):
    torch.manual_seed(0)
    x = torch.randn(4, 6, length).round(decimals=1)  # negatives, zeros and ties included
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    g = torch.randn(4, 6, length // 2)
    y1 = nn.MaxPool1d(2)(torch.relu(x1))
    y2 = WideReLUMaxPool()(x2)  # (B, C, 1, T // 2), channels-last
    assert torch.equal(y1, y2.squeeze(2))
    y1.backward(g)
    y2.backward(g.unsqueeze(2))
    assert torch.equal(x1.grad, x2.grad)
    with torch.no_grad():  # the inference path
        assert torch.equal(WideReLUMaxPool()(x).squeeze(2), y1)


def test_widened_agra_equals_its_members():
    torch.manual_seed(0)
    members = [AGRACNN(length=40, filters=(4, 4, 8, 8), hidden=8, dropout=0.0) for _ in range(3)]
    wide, pairs = widen(members)
    assert isinstance(wide, WideSequential) and len(pairs) == len(wide)
    assert sum(isinstance(layer, WideReLUMaxPool) for layer in wide) == 4
    x = torch.randn(5, 3, 2, 40)
    with torch.no_grad():
        out = wide(x.reshape(5, 6, 40))
        for i, mod in enumerate(members):
            torch.testing.assert_close(out[:, i : i + 1], mod(x[:, i]))
    out = wide(x.reshape(5, 6, 40))  # training path (custom autograd functions)
    out.sum().backward()
    mod = members[1]
    mod(x[:, 1]).sum().backward()
    first_conv = wide[0].weight.grad.reshape(3, -1)[1]
    torch.testing.assert_close(first_conv, mod.net[0].weight.grad.flatten(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_fused_optimizer_matches_make_optimizer(name):
    torch.manual_seed(0)
    s = {"optimizer": name, "lr": 1e-2, "weight_decay": 0.1}
    p1 = torch.randn(50, requires_grad=True)
    p2 = p1.detach().clone().requires_grad_()
    o1, o2 = make_optimizer([p1], s), _fused_optimizer([p2], s)
    assert type(o1) is type(o2)
    for _ in range(20):
        grad = torch.randn(50)
        p1.grad, p2.grad = grad.clone(), grad.clone()
        o1.step()
        o2.step()
    np.testing.assert_allclose(p1.detach(), p2.detach(), rtol=1e-5, atol=1e-6)
