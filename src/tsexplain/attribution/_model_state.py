"""Fold eval-mode BatchNorm into the preceding convolution for speed.

Eval mode itself is :func:`tsexplain._model_state.frozen_eval`.
"""

from __future__ import annotations

import copy
import itertools
import warnings
import weakref

import torch
from torch import fx, nn
from torch.fx.proxy import TraceError
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def has_batchnorm(model: nn.Module) -> bool:
    """Whether ``model`` holds a BatchNorm layer with running statistics."""
    return any(isinstance(m, _BN_TYPES) and m.track_running_stats for m in model.modules())


def fold_batchnorm(model: nn.Module, probe: torch.Tensor, keep: frozenset[str] = frozenset()) -> nn.Module:
    """Return a copy of an eval-mode ``model`` with BatchNorm folded into the preceding conv.

    The folded weights ``w * gamma / sqrt(var + eps)`` and biases are computed in float64 and
    rounded once to the model's dtype, so the folded copy computes the same function to the
    rounding of one convolution (no larger than that of the convolution followed by
    BatchNorm). A BatchNorm that does not follow a convolution or linear layer of its own
    becomes the per-channel affine map it computes in eval mode (``x * scale + shift``, also
    computed in float64). Input gradients are therefore the same, but each backward pass skips
    the BatchNorm layers. The caller's model is never modified; the copy is reused while the
    model's parameters and buffers are unchanged (an in-place change or a replaced tensor folds
    afresh). A model that torch.fx cannot trace, that has BatchNorm layers left after folding
    (e.g. without running statistics), or whose folded copy disagrees on ``probe``, is returned
    as it is.

    Parameters
    ----------
    model : torch.nn.Module
        A model in eval mode.
    probe : torch.Tensor of shape (n, C, T)
        A few inputs used to check the folded copy.
    keep : frozenset of str
        Names of layers (``model.named_modules()``) whose outputs must stay those of the model,
        e.g. a layer whose activations are explained: no BatchNorm is folded into them and a
        BatchNorm among them keeps its name (as its affine map). They keep their names in the
        copy.

    Returns
    -------
    torch.nn.Module
        The folded copy (eval mode, parameters frozen), or ``model`` itself.
    """
    if not has_batchnorm(model):
        return model
    key = _state_key(model, probe)
    per_keep = _FOLDED.setdefault(model, {})
    cached = per_keep.get(keep)
    if cached is not None and cached[0] == key:
        return cached[1] if cached[1] is not None else model
    folded = _fold(model, probe, keep)
    per_keep[keep] = (key, None if folded is model else folded)
    return folded


#: The folded copies of each model per set of kept layers (None: not foldable), with the
#: parameter state each was made from.
_FOLDED: weakref.WeakKeyDictionary[
    nn.Module, dict[frozenset[str], tuple[tuple[object, ...], nn.Module | None]]
] = weakref.WeakKeyDictionary()


def _state_key(model: nn.Module, probe: torch.Tensor) -> tuple[object, ...]:
    """Changes whenever a parameter or buffer of ``model`` is replaced or modified in place."""
    tensors = itertools.chain(model.parameters(), model.buffers())
    return (
        tuple((id(t), t._version, t.dtype, t.device) for t in tensors),
        probe.dtype, probe.device, tuple(probe.shape[1:]),
    )


def _fold(model: nn.Module, probe: torch.Tensor, keep: frozenset[str]) -> nn.Module:
    """The folded copy of ``model`` checked on ``probe``, or ``model`` (see :func:`fold_batchnorm`)."""
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), probe.dtype)
    try:
        with warnings.catch_warnings():  # torch's deprecation notices (an exported model's specs)
            warnings.simplefilter("ignore")
            wide = copy.deepcopy(model).to(torch.float64)
            folded = fx.symbolic_trace(wide)
        _fold_graph(folded, keep)
    except _UNTRACEABLE:  # dynamic control flow, a Proxy where a value is needed, no deepcopy
        return model
    if has_batchnorm(folded):  # some BatchNorm could not be folded: no gain from the copy
        return model
    folded = folded.to(dtype).eval()
    for p in folded.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        ref = model(probe)
        new = folded(probe)
    if not isinstance(ref, torch.Tensor) or not isinstance(new, torch.Tensor):
        return model
    if ref.shape != new.shape or not torch.allclose(ref, new, rtol=1e-4, atol=1e-5):
        return model
    return folded


class _KeptLayerInlined(Exception):
    """A layer to keep is not a module call of the traced graph: the copy cannot stand in."""


#: What torch.fx raises on a model it cannot trace (or copy.deepcopy on one it cannot copy), and
#: a kept layer that tracing went through.
_UNTRACEABLE = (TraceError, RuntimeError, TypeError, NotImplementedError, _KeptLayerInlined)


#: The layers a BatchNorm of the same dimension folds into: (layer, BatchNorm).
_FOLDABLE = (
    (nn.Conv1d, nn.BatchNorm1d), (nn.Conv2d, nn.BatchNorm2d), (nn.Conv3d, nn.BatchNorm3d),
    (nn.Linear, nn.BatchNorm1d),
)


class ChannelAffine(nn.Module):
    """An eval-mode BatchNorm as the affine map it computes: ``x * scale + shift`` per channel.

    Parameters
    ----------
    bn : BatchNorm1d, BatchNorm2d or BatchNorm3d
        A BatchNorm with running statistics; inputs (N, C, ...) as for it.
    """

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm) -> None:
        super().__init__()
        assert bn.running_var is not None and bn.running_mean is not None
        var, mean = bn.running_var.double(), bn.running_mean.double()
        scale = torch.rsqrt(var + bn.eps)
        if bn.weight is not None:
            scale = scale * bn.weight.double()
        shift = -mean * scale
        if bn.bias is not None:
            shift = shift + bn.bias.double()
        dtype = bn.running_var.dtype
        self.register_buffer("scale", scale.to(dtype))
        self.register_buffer("shift", shift.to(dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, ...) -> (N, C, ...)."""
        shape = (1, -1) + (1,) * (x.dim() - 2)
        scale, shift = self.scale, self.shift
        assert isinstance(scale, torch.Tensor) and isinstance(shift, torch.Tensor)
        return torch.addcmul(shift.view(shape), x, scale.view(shape))


def _fold_graph(gm: fx.GraphModule, keep: frozenset[str]) -> None:
    """Fold each BatchNorm node of ``gm`` (in place) into the layer before it, or make it affine.

    Raises :class:`_KeptLayerInlined` when a layer of ``keep`` is not called as one module in
    the graph (torch.fx traced through it).

    A BatchNorm folds into the convolution or linear layer whose output it alone reads, when
    that layer is called once in the graph and is not in ``keep``; a BatchNorm in ``keep``, or
    called from more than one place, or after anything else, becomes a :class:`ChannelAffine`.
    A BatchNorm without running statistics (batch statistics in eval mode) stays as it is.
    """
    modules = dict(gm.named_modules())
    calls: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    missing = sorted(keep - set(calls))
    if missing:  # traced through (not called as one module): its output would not be seen
        raise _KeptLayerInlined(missing)
    for node in list(gm.graph.nodes):
        bn = modules.get(node.target) if node.op == "call_module" else None
        if not isinstance(bn, _BN_TYPES) or bn.running_var is None or bn.running_mean is None:
            continue
        prev = node.args[0] if node.args else None
        layer = (
            modules.get(prev.target)
            if isinstance(prev, fx.Node) and prev.op == "call_module" and isinstance(prev.target, str)
            else None
        )
        foldable = (
            layer is not None
            and any(isinstance(layer, a) and type(bn) is b for a, b in _FOLDABLE)
            and isinstance(prev, fx.Node)
            and len(prev.users) == 1
            and calls.get(str(prev.target)) == 1
            and calls.get(str(node.target)) == 1
            and prev.target not in keep
            and node.target not in keep
        )
        if foldable:
            assert isinstance(prev, fx.Node) and layer is not None
            fused = (
                fuse_linear_bn_eval(layer, bn) if isinstance(layer, nn.Linear)
                else fuse_conv_bn_eval(layer, bn)
            )
            _set_submodule(gm, str(prev.target), fused)
            node.replace_all_uses_with(prev)
            gm.graph.erase_node(node)
        else:
            _set_submodule(gm, str(node.target), ChannelAffine(bn))
    gm.graph.lint()
    gm.delete_all_unused_submodules()
    gm.recompile()


def _set_submodule(root: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, child, module)
