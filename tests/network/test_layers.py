# ruff: noqa: F811  (fixtures imported from network_helpers are redefined as test arguments)
import numpy as np
import pytest
import torch
from network_helpers import Nested, assert_unchanged, cnn, snapshot, x  # noqa: F401  (pytest fixtures)

from tsexplain.exceptions import ParameterError, ShapeError
from tsexplain.network import conv_activations, describe


def test_inspect_lists_layers_in_forward_order(cnn, x):
    summary = describe(cnn, x)
    assert [info.kind for info in summary.layers] == [
        "Conv1d", "ReLU", "MaxPool1d", "Conv1d", "ReLU", "Flatten", "Linear"
    ]
    assert [info.n_filters for info in summary.conv_layers] == [8, 12]
    assert summary.layers[3].input_shape == (6, 8, 25)
    assert summary.layers[3].output_shape == (6, 12, 25)
    assert summary.output_shape == (6, 1)
    assert "Conv1d" in str(summary)


def test_inspect_any_layout_and_activations():
    net = Nested()
    xx = torch.randn(2, 2, 30, generator=torch.Generator().manual_seed(0))
    summary = describe(net, xx, activations=True)
    assert [info.name for info in summary.layers] == ["blocks.a", "blocks.b", "head"]
    assert summary.activations["blocks.b"].shape == (2, 4, 30)
    expected = net.blocks["b"](torch.tanh(net.blocks["a"](xx)))
    torch.testing.assert_close(summary.activations["blocks.b"], expected.detach())


def test_conv_activations_match_manual_forward(cnn, x):
    acts = conv_activations(cnn, x)
    assert set(acts) == {"0", "3"}
    torch.testing.assert_close(acts["3"], cnn[:4](x).detach())
    one = conv_activations(cnn, x.numpy(), cnn[3])
    torch.testing.assert_close(one["3"], acts["3"])


def test_model_left_as_found(cnn, x):
    cnn.train()
    before = snapshot(cnn)
    describe(cnn, x)
    conv_activations(cnn, x)
    assert_unchanged(cnn, before)


def test_bad_inputs_raise_clear_errors(cnn, x):
    with pytest.raises(ParameterError, match="Conv1d layers"):
        conv_activations(cnn, x, "conv9")
    with pytest.raises(ShapeError, match="3 dimensions"):
        describe(cnn, x[0])
    with pytest.raises(ShapeError, match="no filters"):
        conv_activations(cnn, x, "6")
    with pytest.raises(ParameterError, match="not a sub-module"):
        conv_activations(cnn, x, torch.nn.Conv1d(1, 1, 1))
    with pytest.raises(TypeError):
        describe(cnn, "abc")
    assert np.isfinite(conv_activations(cnn, x)["0"].numpy()).all()


def test_inspect_is_a_deprecated_alias_of_describe(cnn, x):
    from tsexplain.network import inspect

    with pytest.warns(DeprecationWarning, match="renamed describe"):
        old = inspect(cnn, x)
    new = describe(cnn, x)
    assert [(a.name, a.output_shape) for a in old.layers] == [(b.name, b.output_shape) for b in new.layers]


class _EncoderNet(torch.nn.Module):
    """Conv front, a batch-first Transformer encoder layer ((N, T', F) out), mean, linear."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.front = torch.nn.Conv1d(3, 8, 1)
        self.enc = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        self.head = torch.nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc(self.front(x).transpose(1, 2)).mean(1))


def test_an_attention_layer_has_no_filters_for_the_filter_analysis():
    """Its (N, T', F) output is 3-D like a convolution's, with time second: every filter
    function refuses it by name (filter importance read its 20 time steps as 20 filters)."""
    from tsexplain.network import filter_importance, filter_saliency, prune_filters

    model = _EncoderNet().eval()
    xs = torch.randn(4, 3, 20, generator=torch.Generator().manual_seed(1))
    for run in (lambda: filter_importance(model, xs, "enc", "predicted"),
                lambda: filter_saliency(model, xs, "enc"),
                lambda: conv_activations(model, xs, "enc"),
                lambda: prune_filters(model, "enc", [0], sample=xs)):
        with pytest.raises(ShapeError, match=r"'enc' \(TransformerEncoderLayer\) has no filters.*"
                                             r"use grad_cam or layer_integrated_gradients"):
            run()
    assert filter_importance(model, xs, "front", "predicted")[0].shape == (8,)
