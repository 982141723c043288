# ruff: noqa: F811  (fixtures imported from network_helpers are redefined as test arguments)
import copy

import numpy as np
import pytest
import torch
from network_helpers import assert_unchanged, cnn, snapshot, x  # noqa: F401  (pytest fixtures)

from tsexplain.exceptions import ParameterError, ShapeError, TargetError
from tsexplain.network import (
    evaluate_loss,
    faithfulness_table,
    filter_importance_stats,
    prune_filters,
    pruning_curve,
)


def test_prune_leaves_callers_model_unchanged(cnn, x):
    cnn.train()
    before = snapshot(cnn)
    out_before = cnn.eval()(x).detach()
    cnn.train()
    pruned = prune_filters(cnn, "3", [0, 5])
    assert_unchanged(cnn, before)
    assert pruned is not cnn
    assert torch.equal(pruned[3].weight[[0, 5]], torch.zeros_like(pruned[3].weight[[0, 5]]))
    acts = pruned[:4].eval()(x)
    assert float(acts[:, [0, 5]].abs().max()) == 0.0
    torch.testing.assert_close(cnn.eval()(x).detach(), out_before)


def test_non_conv_layer_needs_sample_and_masks(cnn, x):
    with pytest.raises(ParameterError, match="sample"):
        prune_filters(cnn, "4", [1])
    pruned = prune_filters(cnn, "4", [1], sample=x)
    h = {}
    pruned[4].register_forward_hook(lambda m, i, o: h.setdefault("o", o))
    pruned.eval()(x)
    assert float(h["o"][:, 1].abs().max()) == 0.0


def test_pruning_curve_and_fine_tuning_keep_caller_model(cnn, x):
    y = (torch.rand(6, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    before = snapshot(cnn)
    curve = pruning_curve(cnn, "3", x, y, x_importance=x, max_pruned=3, fine_tune_epochs=1, train=(x, y))
    assert_unchanged(cnn, before)
    assert curve.loss.shape == (4,)
    assert curve.loss[0] == pytest.approx(evaluate_loss(cnn, x, y))
    stats = filter_importance_stats(cnn, x, ["3"], progress=False)["3"]
    np.testing.assert_array_equal(curve.removal_order[:3], np.argsort(stats.mean, kind="stable")[:3])
    no_ft = pruning_curve(cnn, "3", x, y, importance=stats, order="most")
    assert no_ft.loss.shape == (12,)
    loss2 = evaluate_loss(prune_filters(cnn, "3", no_ft.removal_order[:2]), x, y)
    assert no_ft.loss[2] == pytest.approx(loss2)


def test_faithfulness_table_linear_readout():
    # A model whose last conv filters feed the output with weights 0, 1, ..., 4: the most
    # influential filter is 4, the least is 0, and removing 4 must hurt more.
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv1d(1, 5, 1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(), torch.nn.Linear(5, 1))
    with torch.no_grad():
        model[0].weight.fill_(1.0)
        model[0].bias.fill_(0.0)
        model[4].weight.copy_(torch.arange(5.0)[None])
        model[4].bias.fill_(0.0)
    x = torch.rand(20, 1, 10) + 0.1
    y = model(x).detach()[:, 0]
    table = faithfulness_table(model, x, y, task="regression")
    row = table.rows[0]
    assert (row.most_filter, row.least_filter) == (4, 0)
    assert row.loss_without_most > row.loss_without_least == pytest.approx(0.0, abs=1e-10)
    assert "loss w/o most" in str(table)


def test_classification_labels_of_the_wrong_shape_are_named() -> None:
    """(N, K) targets given to a 3-class classifier: a ShapeError naming both shapes, not torch's
    batch-size ValueError from inside cross-entropy; the same targets as a regression's work."""
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 3))
    x, y = torch.randn(4, 2, 8), torch.rand(4, 3)
    with pytest.raises(ShapeError, match=r"one class per sample, shape \(N,\) = \(4,\); got shape \(4, 3\)"):
        evaluate_loss(net, x, y, task="multiclass")
    expected = torch.nn.functional.mse_loss(net(x), y).item()
    assert abs(evaluate_loss(net, x, y, task="regression") - expected) < 1e-6


def test_class_labels_the_model_does_not_have_are_a_target_error() -> None:
    """Label 3 for a 3-class classifier: a TargetError naming the valid indices, not torch's
    'Target 3 is out of bounds' IndexError; a fraction is not truncated to a class; binary labels
    outside [0, 1]. Valid labels give the cross-entropy computed by hand."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 3))
    x = torch.randn(4, 2, 8)
    logits = net(x).detach().double()
    y = torch.tensor([0, 2, 1, 2])
    by_hand = float(-(logits.log_softmax(1)[torch.arange(4), y]).mean())
    assert abs(evaluate_loss(net, x, y) - by_hand) < 1e-6
    with pytest.raises(TargetError, match=r"^multiclass labels must be class indices 0\.\.2 \(the "
                                          r"model has 3 outputs\); got 3 for sample 1 \(1 of 4"):
        evaluate_loss(net, x, torch.tensor([0, 3, 1, 2]))
    with pytest.raises(TargetError, match="got 1.5 for sample 0"):
        evaluate_loss(net, x, torch.tensor([1.5, 0, 1, 2]), task="multiclass")
    conv = torch.nn.Sequential(torch.nn.Conv1d(2, 4, 3), torch.nn.AdaptiveAvgPool1d(1),
                               torch.nn.Flatten(), torch.nn.Linear(4, 3))
    with pytest.raises(TargetError, match="multiclass labels must be class indices 0..2"):
        pruning_curve(conv, "0", x, torch.tensor([0, 3, 1, 2]), importance=np.ones(4), max_pruned=1)
    one = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 1))
    with pytest.raises(TargetError, match=r"^binary labels must be 0/1 classes .*got 2 for sample 3"):
        evaluate_loss(one, x, torch.tensor([0.0, 1.0, 1.0, 2.0]), task="binary")


# --- pruning before a BatchNorm: the removed filter contributes nothing downstream ----------


def _bn_cnn(seed: int = 0) -> torch.nn.Sequential:
    """conv(2->4) -> BN -> ReLU -> conv(4->3) -> BN -> ReLU -> pool -> linear, eval mode, BN
    statistics far from (0, 1) so that a zero channel is mapped to a clearly non-zero constant."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Conv1d(2, 4, 3, padding=1), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
        torch.nn.Conv1d(4, 3, 3, padding=1), torch.nn.BatchNorm1d(3), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(), torch.nn.Linear(3, 2),
    )
    with torch.no_grad():
        for bn in (net[1], net[4]):
            bn.running_mean.uniform_(-1.0, -0.5)  # zero input -> beta + gamma * 0.5..1 > 0
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(0.1, 0.3)
    return net.eval()


def _without_first_layer_filter(net: torch.nn.Sequential, f: int) -> torch.nn.Sequential:
    """The network with filter ``f`` of its first conv cut out by hand: a conv with one filter
    fewer, a BatchNorm with one channel fewer, the next conv without that input channel."""
    keep = [i for i in range(net[0].out_channels) if i != f]
    conv1, bn1, conv2 = net[0], net[1], net[3]
    small = torch.nn.Sequential(
        torch.nn.Conv1d(conv1.in_channels, len(keep), 3, padding=1), torch.nn.BatchNorm1d(len(keep)),
        torch.nn.ReLU(), torch.nn.Conv1d(len(keep), conv2.out_channels, 3, padding=1),
        *[copy.deepcopy(m) for m in list(net)[4:]],
    )
    with torch.no_grad():
        small[0].weight.copy_(conv1.weight[keep])
        small[0].bias.copy_(conv1.bias[keep])
        for attr in ("weight", "bias", "running_mean", "running_var"):
            getattr(small[1], attr).copy_(getattr(bn1, attr)[keep])
        small[3].weight.copy_(conv2.weight[:, keep])
        small[3].bias.copy_(conv2.bias)
    return small.eval()


@pytest.mark.parametrize("f", [0, 2])
@torch.no_grad()
def test_pruned_filter_before_batchnorm_equals_the_network_without_it(f: int) -> None:
    net = _bn_cnn()
    x = torch.randn(5, 2, 12, generator=torch.Generator().manual_seed(1))
    before = snapshot(net)
    pruned = prune_filters(net, "0", [f])
    expected = _without_first_layer_filter(net, f)(x)
    torch.testing.assert_close(pruned(x), expected, rtol=1e-5, atol=1e-6)
    # the unpruned BatchNorm would have passed a non-zero constant on
    assert float((net(x) - expected).abs().max()) > 1e-3
    assert_unchanged(net, before)
    assert float(pruned[1].weight[f]) == 0.0 and float(pruned[1].bias[f]) == 0.0


@torch.no_grad()
def test_pruning_a_conv_equals_pruning_its_batchnorm_in_a_residual_model() -> None:
    """A class with its own forward (traced with torch.fx) and a skip connection: removing the
    conv's filter removes the BatchNorm channel it feeds (the repro of the user trial)."""

    class ResBN(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.conv1, self.bn1 = torch.nn.Conv1d(3, 6, 5, padding=2), torch.nn.BatchNorm1d(6)
            self.conv2, self.bn2 = torch.nn.Conv1d(6, 6, 3, padding=1), torch.nn.BatchNorm1d(6)
            self.fc = torch.nn.Linear(6, 3)
            with torch.no_grad():
                for bn in (self.bn1, self.bn2):
                    bn.running_mean.uniform_(-0.6, -0.4)  # a zero channel -> about 0.7, kept by ReLU
                    bn.bias.uniform_(0.1, 0.3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = torch.relu(self.bn1(self.conv1(x)))
            h = torch.relu(self.bn2(self.conv2(h)) + h)
            return self.fc(h.mean(2))

    net = ResBN().eval()
    x = torch.randn(4, 3, 20, generator=torch.Generator().manual_seed(2))
    by_conv = prune_filters(net, "conv1", [0, 3])
    by_bn = prune_filters(net, "bn1", [0, 3], sample=x)
    torch.testing.assert_close(by_conv(x), by_bn(x), rtol=0, atol=0)
    assert float((by_conv(x) - net(x)).abs().max()) > 1e-4


@torch.no_grad()
def test_untraceable_model_falls_back_on_registration_order_or_warns() -> None:
    class Branchy(torch.nn.Module):  # control flow on a tensor value: torch.fx cannot trace it
        def __init__(self, bn_first: bool) -> None:
            super().__init__()
            torch.manual_seed(0)
            if bn_first:  # registration order says nothing about the conv -> bn data flow
                self.bn = torch.nn.BatchNorm1d(4)
                self.conv = torch.nn.Conv1d(2, 4, 3)
            else:
                self.conv = torch.nn.Conv1d(2, 4, 3)
                self.bn = torch.nn.BatchNorm1d(4)
            with torch.no_grad():
                self.bn.bias.fill_(0.7)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.bn(self.conv(x))
            return h if bool(x.sum() > -1e9) else -h

    x = torch.randn(3, 2, 10)
    pruned = prune_filters(Branchy(bn_first=False).eval(), "conv", [1])
    assert float(pruned(x)[:, 1].abs().max()) == 0.0
    with pytest.warns(UserWarning, match=r"cannot trace the model.*prune the same channels"):
        prune_filters(Branchy(bn_first=True).eval(), "conv", [1])


@torch.no_grad()
def test_pruning_curve_on_a_batchnorm_cnn_matches_networks_pruned_by_hand() -> None:
    net = _bn_cnn(seed=3)
    x = torch.randn(12, 2, 12, generator=torch.Generator().manual_seed(4))
    y = torch.arange(12) % 2
    curve = pruning_curve(net, "0", x, y, importance=np.array([0.4, 0.1, 0.3, 0.2]))
    np.testing.assert_array_equal(curve.removal_order, [1, 3, 2, 0])
    # by hand: zero the removed filters of the conv and their BatchNorm channels (weight, bias)
    for k in range(1, 4):
        hand = copy.deepcopy(net)
        gone = curve.removal_order[:k].tolist()
        with torch.no_grad():
            for p in (hand[0].weight, hand[0].bias, hand[1].weight, hand[1].bias):
                p[gone] = 0.0
        assert curve.loss[k] == pytest.approx(evaluate_loss(hand, x, y), rel=1e-6)
    # each step is the network with those filters cut out: one filter removed by slicing
    assert curve.loss[1] == pytest.approx(evaluate_loss(_without_first_layer_filter(net, 1), x, y), rel=1e-5)
