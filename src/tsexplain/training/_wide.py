"""Fuse M models of one ``nn.Sequential`` architecture into one wide model.

Layout: member m's features occupy the channel block ``[m * C, (m + 1) * C)`` of a wide tensor
``(B, M * C, T)`` (or ``(B, M * F)`` after ``Flatten``). Convolutions become grouped convolutions
(groups multiplied by M) run as 2-D convolutions on channels-last tensors ``(B, M * C, 1, T)``
(oneDNN's grouped NCW kernels are slower for a few dozen channels per group), a ``ReLU``
followed by ``MaxPool1d(2)`` one fused pool-then-ReLU step, ``Linear`` a batched matrix product, ``BatchNorm1d`` one BatchNorm over
``M * C`` channels (its statistics are per channel, so per member: running statistics included),
and per-channel or element-wise layers (activations, pooling, dropout, padding) stay as they are.
Every wide tensor keeps member m's slice as block m of axis 0, so ``t.view(M, -1)[m]`` is member
m's part and Adam (element-wise) updates each member exactly as it would alone.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

_PASS_THROUGH = (
    nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.ELU, nn.LeakyReLU, nn.SiLU, nn.Identity,
    nn.Dropout, nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool1d,
    nn.ConstantPad1d,
)


class _MaxPoolFirstMax(torch.autograd.Function):
    """Max-pooling (kernel = stride, no padding) with a cheap backward.

    ``F.max_pool1d`` records argmax indices for autograd, which on CPU costs several times its
    plain forward. Here the forward keeps, per output, a boolean "which input won" mask (pairs,
    k = 2) or the output itself (k > 2); the backward routes each output gradient to the first
    maximal input of its window - the choice ``max_pool1d`` makes, so the gradients are
    bit-identical (NaN inputs aside).
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, k: int) -> torch.Tensor:
        ctx.k, ctx.length = k, x.shape[-1]
        with torch.no_grad():
            if k == 2:
                n = x.shape[-1] // 2
                x0, x1 = x[..., 0 : 2 * n : 2], x[..., 1 : 2 * n : 2]
                ctx.save_for_backward(x0 >= x1)  # where the first of the pair wins
                return torch.maximum(x0, x1)
            y = F.max_pool1d(x, k)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None]:
        k, length = ctx.k, ctx.length
        n = g.shape[-1]
        if k == 2:
            (first,) = ctx.saved_tensors
            shape = (*g.shape[:-1], length)
            gx = g.new_empty(shape) if length == 2 * n else g.new_zeros(shape)
            pairs = gx[..., : 2 * n].unflatten(-1, (n, 2))
            torch.mul(g, first, out=pairs[..., 0])  # (plain mul/where/stack are slower)
            torch.mul(g, ~first, out=pairs[..., 1])
            return gx, None
        x, y = ctx.saved_tensors
        gx = torch.zeros_like(x)
        gview = gx[..., : n * k].unflatten(-1, (n, k))
        taken = None
        for j in range(k):
            hit = x[..., j : n * k : k] == y
            if taken is not None:
                hit = hit & ~taken
            gview[..., j] = g * hit
            taken = hit if taken is None else taken | hit
        return gx, None


class _PoolPairsReLU(torch.autograd.Function):
    """``relu`` then max-pooling over pairs of steps, on channels-last ``(B, C, 1, T)``.

    Pooling first and rectifying the half-length result is the same function
    (``relu(max(a, b)) == max(relu(a), relu(b))``) and routes the same gradients: to the first
    maximal input of each pair, and nowhere when the pair's maximum is <= 0. The forward keeps
    two float 0/1 masks (the first input won and is positive; the second won and is positive),
    so the backward is two plain multiplications written straight into the input gradient.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        b, c, _, length = x.shape
        n = length // 2
        ctx.length = length
        with torch.no_grad():
            xt = x.permute(0, 2, 3, 1)  # (B, 1, T, C), contiguous for a channels-last x
            pairs = xt[:, :, : 2 * n].unflatten(2, (n, 2))
            first, second = pairs[:, :, :, 0], pairs[:, :, :, 1]
            y = torch.maximum(first, second)  # (B, 1, n, C)
            y.clamp_min_(0)
            w1 = torch.empty_like(y)
            torch.gt(y, 0, out=w1)
            w0 = torch.empty_like(y)
            torch.ge(first, second, out=w0)
            w0.mul_(w1)  # first won and is positive
            w1.sub_(w0)  # second won (strictly) and is positive
        ctx.save_for_backward(w0, w1)
        return y.permute(0, 3, 1, 2)  # (B, C, 1, n), channels-last

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        w0, w1 = ctx.saved_tensors
        b, n, c = w0.shape[0], w0.shape[2], w0.shape[3]
        length = ctx.length
        gt = g.permute(0, 2, 3, 1)  # (B, 1, n, C)
        gx = g.new_empty((b, 1, length, c)) if length == 2 * n else g.new_zeros((b, 1, length, c))
        pairs = gx[:, :, : 2 * n].unflatten(2, (n, 2))
        torch.mul(gt, w0, out=pairs[:, :, :, 0])
        torch.mul(gt, w1, out=pairs[:, :, :, 1])
        return gx.permute(0, 3, 1, 2)


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, T)`` or ``(B, C, 1, T)`` as a channels-last ``(B, C, 1, T)``."""
    if x.ndim == 3:
        x = x.unsqueeze(2)
    return x.contiguous(memory_format=torch.channels_last)


class WideReLUMaxPool(nn.Module):
    """``ReLU`` followed by ``MaxPool1d(2)`` on the wide channels-last activations, fused."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim not in (3, 4):
            return F.max_pool1d(torch.relu(x), 2)
        x = _channels_last(x)
        if not torch.is_grad_enabled() or not x.requires_grad:
            return F.max_pool2d(torch.relu(x), (1, 2))
        return _PoolPairsReLU.apply(x)


class WideConv1d(nn.Module):
    """A grouped ``Conv1d`` (M members' blocks) run as ``conv2d`` on channels-last tensors.

    The parameters keep the ``Conv1d`` shapes (``weight (M * out, in / groups, k)``), so member
    m's block is still block m of axis 0. Takes ``(B, M * in, T)`` or ``(B, M * in, 1, T)``,
    returns a channels-last ``(B, M * out, 1, T')``.
    """

    def __init__(self, conv: nn.Conv1d) -> None:
        super().__init__()
        self.weight = conv.weight
        self.bias = conv.bias
        self.stride = (1, int(conv.stride[0]))
        self.padding = (0, int(conv.padding[0]))
        self.dilation = (1, int(conv.dilation[0]))
        self.groups = conv.groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(_channels_last(x), self.weight.unsqueeze(2), self.bias, self.stride,
                        self.padding, self.dilation, self.groups)


#: Wide layers that take (and keep) the channels-last 4-D layout; others get ``(B, C, T)``.
_FOUR_D = (
    WideConv1d, WideReLUMaxPool, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.ELU, nn.LeakyReLU,
    nn.SiLU, nn.Identity, nn.Dropout, nn.Flatten,
)


class WideSequential(nn.Sequential):
    """``nn.Sequential`` that hands 4-D channels-last activations only to layers that take them."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self:
            if x.ndim == 4 and not isinstance(layer, _FOUR_D):
                x = x.squeeze(2)
            x = layer(x)
        return x.squeeze(2) if x.ndim == 4 else x


class FastMaxPool1d(nn.Module):
    """``nn.MaxPool1d(k)`` (stride k, no padding) with the cheap backward of the wide model."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled() or not x.requires_grad:
            return F.max_pool1d(x, self.k)
        return _MaxPoolFirstMax.apply(x, self.k)


def _plain_pool_size(layer: nn.MaxPool1d) -> int | None:
    """k if ``layer`` is MaxPool1d(k) with stride k, no padding/dilation/ceil/indices."""
    k = layer.kernel_size if isinstance(layer.kernel_size, int) else layer.kernel_size[0]
    stride = layer.stride if isinstance(layer.stride, int) else layer.stride[0]
    pad = layer.padding if isinstance(layer.padding, int) else layer.padding[0]
    dil = layer.dilation if isinstance(layer.dilation, int) else layer.dilation[0]
    if stride == k and pad == 0 and dil == 1 and not layer.ceil_mode and not layer.return_indices:
        return int(k)
    return None


class GroupedLinear(nn.Module):
    """M independent ``Linear`` layers on a wide input ``(B, M * in)`` -> ``(B, M * out)``."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)  # (M, out, in)
        self.bias = nn.Parameter(bias) if bias is not None else None  # (M, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m, n_out, n_in = self.weight.shape
        b = x.shape[0]
        xm = x.reshape(b, m, n_in).transpose(0, 1)  # (M, B, in)
        wt = self.weight.transpose(1, 2)
        if self.bias is not None:
            out = torch.baddbmm(self.bias.unsqueeze(1), xm, wt)
        else:
            out = torch.bmm(xm, wt)
        return out.transpose(0, 1).reshape(b, m * n_out)


def _leaves(module: nn.Module) -> list[nn.Module]:
    if isinstance(module, nn.Sequential):
        return [leaf for child in module for leaf in _leaves(child)]
    return [module]


def sequential_layers(model: nn.Module) -> list[nn.Module] | None:
    """The leaf layers of a reference model's ``net``, or None if it is not such a model."""
    net = getattr(model, "net", None)
    if not isinstance(net, nn.Sequential):
        return None
    # forward must be net(x) (+ optional squeeze): true for tsexplain's SequentialModel
    from tsexplain.models._base import SequentialModel

    if not isinstance(model, SequentialModel):
        return None
    return _leaves(net)


def why_not_widenable(model: nn.Module) -> str | None:
    """None if :func:`widen` supports ``model``, else the reason."""
    layers = sequential_layers(model)
    if layers is None:
        return f"{type(model).__name__} is not a tsexplain SequentialModel"
    for layer in layers:
        if isinstance(layer, nn.Conv1d):
            if layer.padding_mode != "zeros" or isinstance(layer.padding, str):
                return f"Conv1d with padding {layer.padding!r}/{layer.padding_mode!r}"
        elif isinstance(layer, nn.Flatten):
            if layer.start_dim != 1 or layer.end_dim != -1:
                return "Flatten other than Flatten(1, -1)"
        elif isinstance(layer, (nn.BatchNorm1d, nn.Linear, *_PASS_THROUGH)):
            continue
        else:
            return f"layer {type(layer).__name__} has no wide version"
    return None


def widen(members: Sequence[nn.Module]) -> tuple[nn.Sequential, list[tuple[nn.Module, list[nn.Module]]]]:
    """Build the wide model of ``members`` (same architecture, checked by the caller).

    Returns
    -------
    wide : torch.nn.Sequential
        Takes ``(B, M * C, T)``, returns ``(B, M * K, ...)``.
    pairs : list of (wide layer, member layers)
        For :func:`scatter`.
    """
    m = len(members)
    per_member = [sequential_layers(mod) for mod in members]
    assert all(p is not None for p in per_member)
    wide_layers: list[nn.Module] = []
    pairs: list[tuple[nn.Module, list[nn.Module]]] = []
    columns = list(zip(*per_member, strict=True))
    fused_pool = False
    for j, layers in enumerate(columns):
        first = layers[0]
        w: nn.Module
        if fused_pool:  # this MaxPool1d(2) runs inside the preceding WideReLUMaxPool
            w, fused_pool = nn.Identity(), False
        elif (
            type(first) is nn.ReLU and j + 1 < len(columns)
            and isinstance(columns[j + 1][0], nn.MaxPool1d)
            and _plain_pool_size(columns[j + 1][0]) == 2
        ):
            w, fused_pool = WideReLUMaxPool(), True
        elif isinstance(first, nn.Conv1d):
            conv = nn.Conv1d(
                first.in_channels * m, first.out_channels * m, first.kernel_size[0],
                stride=first.stride[0],
                padding=first.padding if isinstance(first.padding, str) else first.padding[0],
                dilation=first.dilation[0], groups=first.groups * m, bias=first.bias is not None,
            )
            with torch.no_grad():
                conv.weight.copy_(torch.cat([lay.weight for lay in layers]))
                if conv.bias is not None:
                    conv.bias.copy_(torch.cat([lay.bias for lay in layers]))
            w = WideConv1d(conv)
        elif isinstance(first, nn.Linear):
            w = GroupedLinear(
                torch.stack([lay.weight.detach() for lay in layers]).clone(),
                torch.stack([lay.bias.detach() for lay in layers]).clone()
                if first.bias is not None else None,
            )
        elif isinstance(first, nn.BatchNorm1d):
            bn = nn.BatchNorm1d(
                first.num_features * m, eps=first.eps, momentum=first.momentum,
                affine=first.affine, track_running_stats=first.track_running_stats,
            )
            with torch.no_grad():
                for name in ("weight", "bias", "running_mean", "running_var"):
                    if getattr(first, name) is not None:
                        getattr(bn, name).copy_(torch.cat([getattr(lay, name) for lay in layers]))
                if first.num_batches_tracked is not None and bn.num_batches_tracked is not None:
                    bn.num_batches_tracked.copy_(first.num_batches_tracked)
            w = bn
        elif isinstance(first, nn.MaxPool1d) and (size := _plain_pool_size(first)) is not None:
            w = FastMaxPool1d(size)
        else:
            w = copy.deepcopy(first)
        wide_layers.append(w)
        pairs.append((w, list(layers)))
    return WideSequential(*wide_layers), pairs


@torch.no_grad()
def scatter(pairs: list[tuple[nn.Module, list[nn.Module]]]) -> None:
    """Copy every member's block of the wide tensors back into the member layers."""
    for wide, layers in pairs:
        m = len(layers)
        for name, tensor in list(wide.named_parameters(recurse=False)) + list(
            wide.named_buffers(recurse=False)
        ):
            for i, lay in enumerate(layers):
                target = getattr(lay, name)
                if target is None:
                    continue
                if name == "num_batches_tracked":
                    target.copy_(tensor)
                else:
                    target.copy_(tensor.reshape(m, -1)[i].reshape(target.shape))
