# ruff: noqa: F811  (fixtures imported from network_helpers are redefined as test arguments)
import pytest
import torch
from captum.attr import NeuronGradient
from network_helpers import Nested, assert_unchanged, cnn, snapshot, x  # noqa: F401  (pytest fixtures)

from tsexplain.exceptions import ParameterError, ShapeError
from tsexplain.network import filter_saliency


def _loop_reference(model, x, upto, n_filters, position=None):
    """Slow oracle: one plain backward per filter."""
    maps = []
    for f in range(n_filters):
        xg = x.clone().requires_grad_(True)
        a = upto(xg)
        s = a[:, f].sum() if position is None else a[:, f, position].sum()
        (g,) = torch.autograd.grad(s, xg)
        maps.append(g.abs())
    return torch.stack(maps, dim=1)


@pytest.mark.parametrize("method", ["jvp", "vmap", "replicate"])
def test_equals_per_filter_loop(cnn, x, method):
    got = filter_saliency(cnn, x, "3", scale="none", method=method, chunk_size=5)
    ref = _loop_reference(cnn, x, cnn[:4], 12)
    assert got.shape == (6, 12, 3, 50)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-7)


def test_position_and_subset(cnn, x):
    got = filter_saliency(cnn, x, "3", scale="none", position=7, filters=[2, 5])
    ref = _loop_reference(cnn, x, cnn[:4], 12, position=7)[:, [2, 5]]
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-7)


def test_equals_captum_neuron_gradient(cnn, x):
    got = filter_saliency(cnn, x, cnn[3], scale="none")
    ng = NeuronGradient(cnn, cnn[3])
    for f in (0, 4, 11):
        ref = ng.attribute(x, neuron_selector=(f, slice(None))).abs()
        torch.testing.assert_close(got[:, f], ref, rtol=1e-5, atol=1e-7)


def test_min_max_scaling(cnn, x):
    raw = filter_saliency(cnn, x, "0", scale="none")
    per_filter = filter_saliency(cnn, x, "0")
    per_layer = filter_saliency(cnn, x, "0", scale="layer")
    lo = raw.amin(dim=(2, 3), keepdim=True)
    hi = raw.amax(dim=(2, 3), keepdim=True)
    torch.testing.assert_close(per_filter, (raw - lo) / (hi - lo))
    assert float(per_layer.amax()) == pytest.approx(1.0)
    assert float(per_layer.amin()) == 0.0


def test_nested_model_and_model_untouched():
    net = Nested()
    net.train()
    before = snapshot(net)
    xx = torch.randn(3, 2, 20, generator=torch.Generator().manual_seed(0))
    got = filter_saliency(net, xx, "blocks.b", scale="none")
    ref = _loop_reference(net, xx, lambda v: net.blocks["b"](torch.tanh(net.blocks["a"](v))), 4)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-7)
    assert_unchanged(net, before)


def test_errors(cnn, x):
    with pytest.raises(ShapeError, match="no filters"):
        filter_saliency(cnn, x, "6")
    with pytest.raises(ParameterError, match="filters must be"):
        filter_saliency(cnn, x, "3", filters=[12])
    with pytest.raises(ParameterError, match="scale"):
        filter_saliency(cnn, x, "3", scale="global")


@pytest.mark.parametrize("position", [None, 3])
def test_jvp_on_nested_model_and_positions(position):
    net = Nested()
    xx = torch.randn(3, 2, 20, generator=torch.Generator().manual_seed(1))
    for layer, upto in (
        ("blocks.b", lambda v: net.blocks["b"](torch.tanh(net.blocks["a"](v)))),
        ("blocks.a", lambda v: net.blocks["a"](v)),
    ):
        n_f = 4 if layer == "blocks.b" else 6
        got = filter_saliency(net, xx, layer, scale="none", method="jvp", position=position)
        ref = _loop_reference(net, xx, upto, n_f, position=position)
        torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-7)


class _HidesNaN(torch.nn.Module):
    """A layer that hides the NaN used by the dependency probe: the JVP check must catch it."""

    def forward(self, h):
        return torch.nan_to_num(h, nan=0.0) + 0.1 * h.roll(7, dims=2).nan_to_num(0.0)


def test_jvp_falls_back_when_dependency_probe_is_fooled():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv1d(1, 8, 3, padding=1), _HidesNaN(), torch.nn.Conv1d(8, 16, 3, padding=1))
    xx = torch.randn(2, 1, 30)
    with pytest.warns(RuntimeWarning, match="vmap"):
        got = filter_saliency(net, xx, "2", scale="none", method="jvp")
    ref = _loop_reference(net, xx, net, 16)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-7)


def test_jvp_on_a_non_conv_layer(cnn, x):
    # the ReLU after the second convolution: one-hot readout, 3 channels x small window
    got = filter_saliency(cnn, x, "4", scale="none", method="jvp")
    ref = _loop_reference(cnn, x, cnn[:5], 12)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-7)
    auto = filter_saliency(cnn, x, "4", scale="none")
    torch.testing.assert_close(auto, ref, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("method", ["jvp", "vmap"])
@pytest.mark.parametrize("layer", ["net.3", "net.6"])
def test_batchnorm_models_equal_the_per_filter_loop(method, layer):
    """The passes up to a convolution's input run on the BatchNorm-folded copy: the maps still
    equal one plain backward per filter through the unfolded model (float32 rounding apart)."""
    from tsexplain.models import FordACNN

    torch.manual_seed(0)
    model = FordACNN(n_channels=2, filters=8).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
    xb = torch.randn(5, 2, 40, generator=torch.Generator().manual_seed(1))
    upto = model.net[: int(layer.split(".")[1]) + 1]
    got = filter_saliency(model, xb, layer, scale="none", method=method)
    ref = _loop_reference(model, xb, upto, 8)
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-5 * float(ref.abs().max()))


@pytest.mark.parametrize("colours_per_pass", [1, 2])
def test_jvp_split_into_heap_sized_passes_gives_the_same_maps(cnn, x, monkeypatch, colours_per_pass):
    """Few colours per pass (as when the pass's activations would exceed glibc's mmap threshold)."""
    import importlib

    from torch.func import vmap as real_vmap

    fs = importlib.import_module("tsexplain.network.filter_saliency")
    passes: list[int] = []

    def counting_vmap(fn, *a, **k):
        mapped = real_vmap(fn, *a, **k)

        def run(tangents):
            passes.append(tangents.shape[0])
            return mapped(tangents)
        return run

    monkeypatch.setattr("torch.func.vmap", counting_vmap)
    monkeypatch.setattr(fs, "heap_rows", lambda largest: colours_per_pass * x.shape[0])
    got = filter_saliency(cnn, x, "3", scale="none", method="jvp")
    assert passes and max(passes) == colours_per_pass and sum(passes) > colours_per_pass
    ref = _loop_reference(cnn, x, cnn[:4], 12)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("stride,dilation,padding,position", [
    (1, 1, 1, None), (1, 1, 0, None), (2, 1, 1, None), (1, 2, 2, None), (3, 2, 1, None), (2, 1, 1, 4), (1, 1, 1, 0),
])
def test_conv_readout_equals_the_backward_of_the_layer(stride, dilation, padding, position):
    """The grouped transposed convolution gives what autograd gives for sum_t <onehot_f, conv(z)>."""
    import importlib

    fs = importlib.import_module("tsexplain.network.filter_saliency")
    torch.manual_seed(3)
    conv = torch.nn.Conv1d(5, 7, 3, stride=stride, dilation=dilation, padding=padding)
    t_in = 23
    t_out = conv(torch.zeros(1, 5, t_in)).shape[2]
    idx = [0, 3, 6]
    onehot = fs._cotangents(idx, torch.Size([1, 7, t_out]), position, torch.zeros(1))[:, 0]
    got = fs._conv_readout(conv, onehot, idx, t_in)
    assert got is not None
    z = torch.zeros(len(idx), 5, t_in, requires_grad=True)
    (ref,) = torch.autograd.grad((conv(z) * onehot).sum(), z)
    torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-7)


def test_conv_readout_leaves_grouped_and_circular_layers_to_the_backward():
    import importlib

    fs = importlib.import_module("tsexplain.network.filter_saliency")
    onehot = torch.ones(2, 4, 10)
    assert fs._conv_readout(torch.nn.Conv1d(4, 4, 3, padding=1, groups=2), onehot, [0, 1], 10) is None
    assert fs._conv_readout(torch.nn.Conv1d(4, 4, 3, padding=1, padding_mode="circular"), onehot, [0, 1], 10) is None
    assert fs._conv_readout(torch.nn.Conv1d(4, 4, 3, padding="same"), onehot, [0, 1], 10) is None


def test_input_tangent_convolutions_restore_the_layers_forward_also_on_an_error(cnn):
    import importlib

    from torch.func import jvp

    fs = importlib.import_module("tsexplain.network.filter_saliency")
    for p in cnn.parameters():
        p.requires_grad_(False)
    try:
        xx, tt = torch.randn(2, 3, 50), torch.randn(2, 3, 50)
        _, ref = jvp(cnn, (xx,), (tt,))
        with fs._input_tangent_convolutions(cnn):
            out, got = jvp(cnn, (xx,), (tt,))
        torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(out, cnn(xx))
        with pytest.raises(KeyError), fs._input_tangent_convolutions(cnn):
            raise KeyError("inside")
        assert all("forward" not in m.__dict__ for m in cnn.modules())
    finally:
        for p in cnn.parameters():
            p.requires_grad_(True)
