# ruff: noqa: F811  (fixtures imported from network_helpers are redefined as test arguments)
import numpy as np
import pytest
import torch
from network_helpers import assert_unchanged, cnn, snapshot, x  # noqa: F401  (pytest fixtures)

from tsexplain.exceptions import ParameterError, ShapeError
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
