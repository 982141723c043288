"""Grad-CAM and layer Integrated Gradients: equal to Captum 0.9 at the layer, upsampled as
documented, on a CNN, a pooling CNN and a CNN-LSTM."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from attribution_models import fordA_cnn, set_batchnorm_statistics
from torch import nn

import tsexplain
from tsexplain.attribution import LayerGradCam, LayerIntegratedGradients
from tsexplain.exceptions import ParameterError

captum_attr = pytest.importorskip("captum.attr", reason="captum is the oracle (pip install captum)")


def pooling_cnn(seed: int = 5) -> nn.Module:
    """Conv/ReLU/MaxPool1d twice, then a linear head: (N, 3, 40) -> (N, 1)."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(8, 8, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2), nn.Flatten(), nn.Linear(80, 1),
    ).eval()


class ConvLSTM(nn.Module):
    """Conv1d front end, LSTM over time, linear head: (N, C, T) -> (N, K)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.conv = nn.Conv1d(3, 6, 5, padding=2)
        self.act = nn.ReLU()
        self.lstm = nn.LSTM(6, 10, batch_first=True)
        self.head = nn.Linear(10, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(self.act(self.conv(x)).transpose(1, 2))
        return self.head(h[:, -1])


def close_to(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert np.abs(ours - theirs).max() <= 1e-5 * np.abs(theirs).max()


def layer(model: nn.Module, name: str) -> nn.Module:
    return dict(model.named_modules())[name]


def layer_ig_equals_captum(model: nn.Module, x: torch.Tensor, layer_name: str, target: int, steps: int,
                           additional: tuple = ()) -> None:
    """Our layer IG at ``layer_name`` (zero baseline) equals Captum's ``LayerIntegratedGradients``."""
    ours = tsexplain.explain(model, x, "layer_integrated_gradients", target=target, layer=layer_name,
                             steps=steps, additional_inputs=additional or None)
    theirs = captum_attr.LayerIntegratedGradients(model, layer(model, layer_name)).attribute(
        x, baselines=torch.zeros_like(x), target=target, n_steps=steps,
        additional_forward_args=additional or None,
    ).detach().numpy()
    close_to(ours.extras["layer_values"], theirs)


@pytest.fixture(scope="module")
def cnn_data():
    model = fordA_cnn(n_classes=2, width=16, seed=3)
    x = torch.randn(6, 1, 60, generator=torch.Generator().manual_seed(1))
    return model, x, [0, 1, 1, 0, 1, 0]


# ----------------------------------------------------------------------------- Grad-CAM
@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("name", ["6", "3"])
def test_grad_cam_matches_captum(cnn_data, relu, name):
    model, x, target = cnn_data
    ours = tsexplain.explain(model, x, "grad_cam", target=target, layer=name, relu=relu)
    theirs = captum_attr.LayerGradCam(model, layer(model, name)).attribute(
        x, target=target, relu_attributions=relu
    ).detach()
    close_to(ours.extras["layer_map"], theirs[:, 0].numpy())
    per_filter = captum_attr.LayerGradCam(model, layer(model, name)).attribute(
        x, target=target, attr_dim_summation=False
    ).detach().numpy()
    close_to(ours.extras["layer_values"], per_filter)


@pytest.mark.parametrize("mode", ["linear", "nearest"])
def test_grad_cam_upsampled_from_a_pooled_layer_equals_interpolated_captum(mode):
    model = pooling_cnn()
    x = torch.randn(5, 3, 40, generator=torch.Generator().manual_seed(2))
    name = [n for n, m in model.named_modules() if isinstance(m, nn.Conv1d)][-1]
    ours = LayerGradCam(model, layer=name, upsample=mode).attribute(x)
    cam = captum_attr.LayerGradCam(model, layer(model, name)).attribute(x, relu_attributions=True).detach()
    assert cam.shape[-1] < 40  # the layer is coarser than the input
    up = captum_attr.LayerAttribution.interpolate(cam, (40,), interpolate_mode=mode).numpy()
    assert ours.shape == (5, 3, 40)
    for c in range(3):  # one time profile repeated over channels
        close_to(ours.values[:, c], up[:, 0])


def test_grad_cam_defaults_to_the_last_convolution(cnn_data):
    model, x, target = cnn_data
    a = LayerGradCam(model).attribute(x, target=target)
    b = LayerGradCam(model, layer="6").attribute(x, target=target)
    assert a.extras["layer"] == ["6"]
    np.testing.assert_array_equal(a.values, b.values)


# ----------------------------------------------------------------------------- layer IG
@pytest.mark.parametrize("name", ["7", "2"])
def test_layer_integrated_gradients_matches_captum(cnn_data, name):
    model, x, target = cnn_data
    base = torch.full_like(x, -0.3)
    ours = tsexplain.explain(model, x, "layer_integrated_gradients", target=target, layer=name,
                             steps=40, baseline=base)
    theirs = captum_attr.LayerIntegratedGradients(model, layer(model, name)).attribute(
        x, baselines=base, target=target, n_steps=40
    ).detach().numpy()
    close_to(ours.extras["layer_values"], theirs)
    up = F.interpolate(torch.as_tensor(theirs).sum(1, keepdim=True), size=60, mode="linear",
                       align_corners=False).numpy()
    close_to(ours.values, up)


def test_layer_integrated_gradients_in_a_conv_lstm_matches_captum():
    x = torch.randn(4, 3, 30, generator=torch.Generator().manual_seed(3))
    layer_ig_equals_captum(ConvLSTM().eval(), x, "conv", target=1, steps=32)


class SkipCNN(nn.Module):
    """A residual block: the head sees the explained layer's output plus the block's input."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(6)
        self.stem = nn.Conv1d(2, 8, 3, padding=1)
        self.conv = nn.Conv1d(8, 8, 3, padding=1)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.stem(x))
        return self.head(torch.relu(self.conv(h) + h).mean(dim=2))


class BatchReadingCNN(nn.Module):
    """Reads the batch size of its input after the explained layer (``view(x.shape[0], -1)``)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(7)
        self.conv = nn.Conv1d(2, 4, 3, padding=1)
        self.head = nn.Linear(4 * 20, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.conv(x)).reshape(x.shape[0], -1))


def _first_layer_rows(model: nn.Module, first: nn.Module, x: torch.Tensor, **params) -> tuple:
    """(our layer IG result, rows the model's first layer saw during it)."""
    seen = []
    handle = first.register_forward_hook(lambda m, i, o: seen.append(i[0].shape[0]))
    try:
        res = tsexplain.explain(model, x, "layer_integrated_gradients", **params)
    finally:
        handle.remove()
    return res, sum(seen)


@pytest.mark.parametrize("n", [1, 5])
@pytest.mark.parametrize("make", [SkipCNN, BatchReadingCNN])
def test_layer_integrated_gradients_where_later_layers_see_more_than_the_layer(make, n):
    # the layers before the explained one run once per series only where the later layers see
    # the layer's output alone; these models see more, and must still equal Captum
    x = torch.randn(n, 2, 20, generator=torch.Generator().manual_seed(n))
    layer_ig_equals_captum(make().eval(), x, "conv", target=1, steps=24)


class StaticAfter(nn.Module):
    """forward(x, static): the static covariates join after the explained layer (or, with
    ``before=True``, scale the series before it)."""

    def __init__(self, before: bool) -> None:
        super().__init__()
        torch.manual_seed(8)
        self.before = before
        self.conv = nn.Conv1d(2, 6, 3, padding=1)
        self.head = nn.Linear(6 + 3, 2)

    def forward(self, x: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        if self.before:
            x = x * static[:, :1, None]
        h = torch.tanh(self.conv(x)).mean(dim=2)
        return self.head(torch.cat([h, static], dim=1))


@pytest.mark.parametrize("before", [False, True])
def test_layer_integrated_gradients_of_a_model_with_further_inputs_matches_captum(before):
    x = torch.randn(5, 2, 20, generator=torch.Generator().manual_seed(3))
    static = torch.randn(5, 3, generator=torch.Generator().manual_seed(4))
    layer_ig_equals_captum(StaticAfter(before).eval(), x, "conv", target=0, steps=20, additional=(static,))


def test_layer_integrated_gradients_runs_the_earlier_layers_once_per_series(cnn_data):
    model, x, target = cnn_data
    steps = 30
    ours, rows = _first_layer_rows(model, layer(model, "0"), x, target=target, layer="6", steps=steps)
    theirs = captum_attr.LayerIntegratedGradients(model, layer(model, "6")).attribute(
        x, baselines=torch.zeros_like(x), target=target, n_steps=steps
    ).detach().numpy()
    close_to(ours.extras["layer_values"], theirs)
    # a few passes over the series (outputs, the series' and the baseline's activations, the
    # shortcut's check, the path) and the engine's one-row probes; not one pass per step
    assert rows <= 8 * len(x) < steps * len(x)
    # a skip connection keeps every pass
    skip = SkipCNN().eval()
    xs = torch.randn(5, 2, 20, generator=torch.Generator().manual_seed(2))
    _, rows_skip = _first_layer_rows(skip, skip.stem, xs, target=1, layer="conv", steps=steps)
    assert rows_skip >= steps * len(xs)


def test_layer_integrated_gradients_on_the_recurrent_layer_is_complete():
    """At the LSTM's output (N, T', H) with time_axis=1 the layer values sum to f(x) - f(b)."""
    model = ConvLSTM().eval()
    x = torch.randn(4, 3, 30, generator=torch.Generator().manual_seed(5))
    res = LayerIntegratedGradients(model, layer="lstm", steps=64, time_axis=1).attribute(x, target=0)
    assert res.extras["layer_values"].shape == (4, 10, 30)
    gap = np.abs(res.extras["completeness_gap"]).max()
    assert gap < 1e-3 * np.abs(res.extras["output_difference"]).max()


class _Transpose(nn.Module):
    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h.transpose(1, 2)


class ConvLSTMTransposed(ConvLSTM):
    """ConvLSTM with the LSTM's output turned to (N, H, T') by a layer Captum can hook."""

    def __init__(self) -> None:
        super().__init__()
        self.turn = _Transpose()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(self.act(self.conv(x)).transpose(1, 2))
        return self.head(self.turn(h)[:, :, -1])


@pytest.mark.parametrize("time_axis", [None, 1])
def test_grad_cam_at_a_recurrent_layer_matches_captum_on_its_turned_output(time_axis):
    """At a batch-first LSTM (output (N, T', H)) time is axis 1, inferred when not given; Captum's
    LayerGradCam averages over the last axis, so its oracle is the same output turned to (N, H, T')
    by a layer of its own (same weights). Grad-CAM here failed ("differentiated tensor not used")
    with time_axis=1 and read the hidden units as time without it."""
    model = ConvLSTMTransposed().eval()
    x = torch.randn(5, 3, 30, generator=torch.Generator().manual_seed(8))
    ours = LayerGradCam(model, layer="lstm", relu=False, time_axis=time_axis).attribute(x, target=1)
    theirs = captum_attr.LayerGradCam(model, model.turn).attribute(x, target=1).detach().numpy()
    assert ours.extras["layer_map"].shape == (5, 30)
    close_to(ours.extras["layer_map"], theirs[:, 0])
    close_to(ours.values[:, 0], theirs[:, 0])  # T' = T: the profile is the map itself
    lig = LayerIntegratedGradients(model, layer="lstm", steps=16, time_axis=time_axis).attribute(x, target=1)
    their_lig = captum_attr.LayerIntegratedGradients(model, model.turn).attribute(
        x, baselines=torch.zeros_like(x), target=1, n_steps=16).detach().numpy()
    close_to(lig.extras["layer_values"], their_lig)


def test_a_recurrent_layer_in_an_exported_program_is_explained_like_the_module(tmp_path):
    """In a .pt2 the LSTM is a module torch names LSTM (not an nn.LSTM): time is still axis 1."""
    from tsexplain.io import load_any_model

    model = ConvLSTM().eval()
    x = torch.randn(5, 3, 30, generator=torch.Generator().manual_seed(9))
    program = torch.export.export(model, (x,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, tmp_path / "m.pt2")
    loaded = load_any_model(tmp_path / "m.pt2")
    for method in ("grad_cam", "layer_integrated_gradients"):
        ours = tsexplain.explain(loaded, x, method, target=1, layer="lstm").extras["layer_values"]
        ref = tsexplain.explain(model, x, method, target=1, layer="lstm").extras["layer_values"]
        assert ours.shape == (5, 10, 30)
        close_to(ours, ref)


class SmallTransformer(nn.Module):
    """(N, C, T) -> 1x1 convolution -> 2-layer Transformer encoder -> mean over time -> (N, 3)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.proj = nn.Conv1d(3, 16, 1)
        layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.fc = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.enc(self.proj(x).transpose(1, 2)).mean(1))


def test_every_encoder_layer_of_an_exported_transformer_is_explained_like_the_module(tmp_path):
    """In a .pt2 an inner encoder layer returns [size, size, activation] (the sizes its attention
    read are used by the next layer): the activation is the last tensor, not the first item."""
    from tsexplain.io import load_any_model

    model = SmallTransformer().eval()
    x = torch.randn(4, 3, 24, generator=torch.Generator().manual_seed(2))
    program = torch.export.export(model, (x,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, tmp_path / "t.pt2")
    loaded = load_any_model(tmp_path / "t.pt2")
    for name in ("enc.layers.0", "enc.layers.1", "enc"):
        for method in ("grad_cam", "layer_integrated_gradients"):
            ours = tsexplain.explain(loaded, x, method, target=2, layer=name)
            ref = tsexplain.explain(model, x, method, target=2, layer=name)
            assert ours.extras["layer_values"].shape == (4, 16, 24)
            close_to(ours.extras["layer_values"], ref.extras["layer_values"])
            close_to(ours.values, ref.values)


def test_a_sequence_first_recurrent_layer_is_refused():
    class SeqFirst(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(3, 8)
            self.head = nn.Linear(8, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h, _ = self.lstm(x.permute(2, 0, 1))
            return self.head(h[-1])

    x = torch.randn(4, 3, 12)
    for method in ("grad_cam", "layer_integrated_gradients"):
        with pytest.raises(ParameterError, match=r"shape \(12, 4, 8\) for 4 series: the series are "
                                                 r"not its first axis.*batch_first=True"):
            tsexplain.explain(SeqFirst().eval(), x, method, target=0, layer="lstm")


# ----------------------------------------------------------------------------- errors
def test_unknown_layer_names_the_available_ones(cnn_data):
    model, x, _ = cnn_data
    with pytest.raises(ParameterError, match=r"no layer named 'conv9'.*0, 1, 2"):
        LayerGradCam(model, layer="conv9")
    with pytest.raises(ParameterError, match=r"activations of shape \(6, 2\)"):
        LayerIntegratedGradients(model, layer="11", steps=4).attribute(x, target=0)
    with pytest.raises(ParameterError, match="no Conv1d layer"):
        LayerGradCam(nn.Sequential(nn.Flatten(), nn.Linear(60, 2)))


class Block(nn.Module):
    """A user's block (torch.fx traces through it: it is no module call in a traced graph)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, 3, padding=1)
        self.bn = nn.BatchNorm1d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


def bn_model_with_blocks() -> nn.Module:
    torch.manual_seed(9)
    model = nn.Sequential(Block(1, 8), Block(8, 8), nn.Conv1d(8, 8, 3, padding=1), nn.BatchNorm1d(8),
                          nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(8, 2))
    return set_batchnorm_statistics(model, 0.2)


@pytest.mark.parametrize("name", ["2", "1.conv", "1"])
@pytest.mark.parametrize("method", ["grad_cam", "layer_integrated_gradients"])
def test_batchnorm_folding_leaves_the_explained_layer_as_it_is(name, method):
    """BatchNorm with real statistics folds into the layers before the explained one (not into
    it): a conv followed by BatchNorm, a conv inside a block, and a block torch.fx traces through
    (folding is then skipped) all equal Captum on the unfolded model, and the unfolded call."""
    model = bn_model_with_blocks()
    x = torch.randn(5, 1, 40, generator=torch.Generator().manual_seed(2))
    target = [0, 1, 1, 0, 1]
    ours = tsexplain.explain(model, x, method, target=target, layer=name)
    unfolded = tsexplain.explain(model, x, method, target=target, layer=name, fold_batchnorm=False)
    if method == "grad_cam":
        theirs = captum_attr.LayerGradCam(model, layer(model, name)).attribute(
            x, target=target, attr_dim_summation=False).detach().numpy()
    else:
        theirs = captum_attr.LayerIntegratedGradients(model, layer(model, name)).attribute(
            x, baselines=torch.zeros_like(x), target=target, n_steps=50,
            method="gausslegendre").detach().numpy()
    close_to(ours.extras["layer_values"], theirs)
    close_to(ours.extras["layer_values"], unfolded.extras["layer_values"])


def test_layer_methods_on_torchscript_say_how_to_save_instead(cnn_data):
    model, x, target = cnn_data
    scripted = torch.jit.script(model)
    for method in ("grad_cam", "layer_integrated_gradients"):
        with pytest.raises(ParameterError, match=f"{method}: this TorchScript model has no module tree"):
            tsexplain.explain(scripted, x, method, target=target, layer="6")


def test_a_loaded_model_stands_for_its_module(cnn_data, tmp_path):
    """What tsexplain.io.load_any_model returns can be passed where a model is expected."""
    from tsexplain.io import load_any_model
    from tsexplain.network import filter_saliency

    model, x, target = cnn_data
    path = tmp_path / "m.pt2"
    batch = torch.export.Dim("batch")
    torch.export.save(torch.export.export(model, (x,), dynamic_shapes=({0: batch},)), path)
    loaded = load_any_model(str(path))
    ours = tsexplain.explain(loaded, x, "grad_cam", target=target, layer="6")
    plain = tsexplain.explain(model, x, "grad_cam", target=target, layer="6")
    close_to(ours.extras["layer_values"], plain.extras["layer_values"])
    torch.testing.assert_close(filter_saliency(loaded, x, "6"), filter_saliency(model, x, "6"))


# ----------------------------------------------------------------------------- sequence-first layers
class SeqFirstGRU(nn.Module):
    """A GRU built with batch_first=False: its output is (T, N, H)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.gru = nn.GRU(3, 5)
        self.head = nn.Linear(5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.gru(x.permute(2, 0, 1))
        return self.head(h[-1])


class _TimeFirst(nn.Module):
    """A user's layer that says nothing of its layout: (N, C, T) -> (T, N, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(2, 0, 1)


class UndeclaredSeqFirst(nn.Module):
    """A 1x1 convolution, then a layer whose output is sequence-first without a batch_first."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.conv = nn.Conv1d(3, 4, 1)
        self.turn = _TimeFirst()
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.turn(self.conv(x))[-1])


@pytest.mark.parametrize("n", [8, 6, 1])
@pytest.mark.parametrize("method", ["grad_cam", "layer_integrated_gradients"])
def test_a_sequence_first_layer_is_refused_whatever_the_number_of_series(method, n):
    # with as many series as time steps (N == T' == 8) the output's shape cannot tell its layout:
    # the layer's own batch_first=False does
    x = torch.randn(n, 3, 8, generator=torch.Generator().manual_seed(n))
    with pytest.raises(ParameterError, match=r"not its first axis.*GRU has batch_first=False.*batch_first=True"):
        tsexplain.explain(SeqFirstGRU().eval(), x, method, target=1, layer="gru")


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0),
        lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0), 1,
                                      enable_nested_tensor=False),
    ],
)
def test_a_sequence_first_transformer_is_refused_when_n_equals_t(make):
    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(5)
            self.proj = nn.Conv1d(3, 4, 1)
            self.enc = make()
            self.head = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.enc(self.proj(x).permute(2, 0, 1)).mean(0))

    x = torch.randn(6, 3, 6, generator=torch.Generator().manual_seed(1))
    for method in ("grad_cam", "layer_integrated_gradients"):
        with pytest.raises(ParameterError, match=r"not its first axis.*batch_first=False"):
            tsexplain.explain(Encoder().eval(), x, method, target=0, layer="enc")


@pytest.mark.parametrize("method", ["grad_cam", "layer_integrated_gradients"])
def test_an_undeclared_sequence_first_layer_is_refused_when_n_equals_t(method):
    # no batch_first to read: one pass over one series shows the layout
    x = torch.randn(8, 3, 8, generator=torch.Generator().manual_seed(2))
    with pytest.raises(ParameterError, match=r"shape \(8, 8, 4\) for 8 series.*with one series it gives \(8, 1, 4\)"):
        tsexplain.explain(UndeclaredSeqFirst().eval(), x, method, target=0, layer="turn", time_axis=1)


def test_a_batch_first_layer_with_as_many_series_as_steps_or_filters_equals_captum():
    # the layout probe must not refuse a batch-first layer whose output is (N, N, F) or (N, F, N)
    model = ConvLSTMTransposed().eval()  # conv: 6 filters; LSTM: 10 units over T' = T
    x = torch.randn(10, 3, 10, generator=torch.Generator().manual_seed(3))  # N = T' = 10
    ours = LayerGradCam(model, layer="lstm", relu=False).attribute(x, target=1)
    theirs = captum_attr.LayerGradCam(model, model.turn).attribute(x, target=1).detach().numpy()
    close_to(ours.extras["layer_map"], theirs[:, 0])
    layer_ig_equals_captum(model, x, "conv", target=1, steps=16)  # conv output (N, 6, N)
    layer_ig_equals_captum(model, x[:6], "conv", target=0, steps=16)  # N = 6 filters: (N, N, T)


# ----------------------------------------------------------------------------- quiet probes
class ResidualBN(nn.Module):
    """conv1/bn1/relu, then conv2/bn2 added to it (a skip connection around conv2): BatchNorm
    folding turns the model into a torch.fx GraphModule."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(8)
        self.conv1 = nn.Conv1d(3, 8, 5, padding=2)
        self.bn1 = nn.BatchNorm1d(8)
        self.conv2 = nn.Conv1d(8, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm1d(8)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn1(self.conv1(x)))
        return self.fc(torch.relu(self.bn2(self.conv2(h)) + h).mean(dim=2))


@pytest.mark.parametrize("name", ["conv2", "bn2"])
def test_layer_integrated_gradients_inside_a_skip_connection_prints_nothing(capfd, name):
    # the check whether the later layers see only the layer's output fails on the skip
    # connection; the folded model (an fx GraphModule) must not print that failure's traceback
    model = set_batchnorm_statistics(ResidualBN(), 0.3).eval()
    x = torch.randn(4, 3, 32, generator=torch.Generator().manual_seed(4))
    capfd.readouterr()
    ours = LayerIntegratedGradients(model, layer=name, steps=8).attribute(x, target=1)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
    theirs = captum_attr.LayerIntegratedGradients(model, layer(model, name)).attribute(
        x, baselines=torch.zeros_like(x), target=1, n_steps=8, method="gausslegendre").detach().numpy()
    close_to(ours.extras["layer_values"], theirs)


# ----------------------------------------------------------------------------- what results record
def test_grad_cam_metadata_says_what_its_results_say_about_sign(cnn_data):
    model, x, target = cnn_data
    default = LayerGradCam(model).attribute(x, target=target)
    assert LayerGradCam.metadata()["signed"] is default.signed is False
    assert (default.values >= 0).all()
    assert LayerGradCam(model, relu=False).attribute(x, target=target).signed is True
    assert tsexplain.attribution.METHODS["grad_cam"].metadata()["signed"] is False


@pytest.mark.parametrize("method", ["grad_cam", "layer_integrated_gradients"])
def test_the_resolved_layer_is_recorded_and_reruns_the_result(cnn_data, method):
    model, x, target = cnn_data
    res = tsexplain.explain(model, x, method, target=target)
    assert res.params["layer"] == "6" == res.extras["layer"][0]
    again = tsexplain.explain(model, x, method, target=target, **res.params)
    np.testing.assert_array_equal(again.values, res.values)
    named = tsexplain.explain(model, x, method, target=target, layer="3")
    assert named.params["layer"] == "3"


def test_the_parameter_tables_give_the_signature_defaults():
    """The docs' parameter tables state each default of the constructor (time_axis: None, auto)."""
    import re
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs" / "methods"
    for page, cls in (("grad-cam.md", LayerGradCam), ("layer-integrated-gradients.md", LayerIntegratedGradients)):
        rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", (docs / page).read_text(), flags=re.M)
        table = {name: default.strip().strip("`") for name, default in rows}
        for name, default in cls.parameters().items():
            assert table[name] == (f'"{default}"' if isinstance(default, str) else str(default)), (page, name)
