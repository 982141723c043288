"""The BatchNorm layers that normalise a layer's output channels (so pruning can reach them).

A pruned filter outputs zeros, but a BatchNorm in eval mode maps a zero channel to the constant
``beta - gamma * mean / sqrt(var + eps)``, which still reaches the model's output. Removing a
filter therefore also has to silence the BatchNorm channel it feeds. :func:`batchnorms_after`
finds those BatchNorms with ``torch.fx`` (the BatchNorms reading the layer's output, directly or
through layers that keep a zero channel at zero, such as ReLU or max pooling); when the model
cannot be traced it falls back on the order in which the model registers its layers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn

from tsexplain.attribution._model_state import _UNTRACEABLE

#: Layers that map each channel on its own and a zero channel to a zero channel: the zeros of a
#: pruned filter pass through them unchanged on their way to a BatchNorm.
ZERO_PRESERVING_LAYERS: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Hardtanh, nn.Hardswish, nn.Tanh, nn.Softsign, nn.Tanhshrink, nn.Dropout,
    nn.Dropout1d, nn.AlphaDropout, nn.Identity, nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveMaxPool1d,
    nn.AdaptiveAvgPool1d, nn.ConstantPad1d, nn.ZeroPad1d,
)

#: The same maps called as functions or tensor methods in a forward.
_ZERO_PRESERVING_CALLS: frozenset[object] = frozenset({
    F.relu, torch.relu, F.relu6, F.leaky_relu, F.elu, F.selu, F.celu, F.gelu, F.silu, F.mish,
    F.hardtanh, F.hardswish, torch.tanh, F.tanh, F.dropout, F.dropout1d, F.max_pool1d,
    F.avg_pool1d, F.adaptive_max_pool1d, F.adaptive_avg_pool1d, torch.max_pool1d,
    torch.avg_pool1d, torch.adaptive_avg_pool1d,
})
_ZERO_PRESERVING_METHODS = frozenset({"relu", "relu_", "tanh", "tanh_", "contiguous", "clone"})


@dataclass
class FollowingBatchNorms:
    """The BatchNorms fed channel for channel by one layer.

    Attributes
    ----------
    names : list of str
        Their dotted names in ``model.named_modules()``.
    traced : bool
        True when found with ``torch.fx``; False when the model could not be traced and the
        BatchNorm right after the layer in registration order was taken.
    """

    names: list[str]
    traced: bool


def _zero_preserving(node: fx.Node, source: fx.Node, modules: dict[str, nn.Module]) -> bool:
    """Whether ``node`` maps its input ``source`` channel for channel, zero to zero."""
    if not node.args or node.args[0] is not source:
        return False
    if node.op == "call_module":
        return isinstance(modules.get(str(node.target)), ZERO_PRESERVING_LAYERS)
    if node.op == "call_function":
        return node.target in _ZERO_PRESERVING_CALLS
    if node.op == "call_method":
        return str(node.target) in _ZERO_PRESERVING_METHODS
    return False


def _traced(model: nn.Module, name: str) -> list[str] | None:
    """BatchNorm1d layers fed by ``name`` in the fx graph of ``model``; None if untraceable."""
    try:
        with warnings.catch_warnings():  # torch's deprecation notices while tracing
            warnings.simplefilter("ignore")
            graph = fx.Tracer().trace(model)
    except _UNTRACEABLE:
        return None
    modules = dict(model.named_modules())
    starts = [n for n in graph.nodes if n.op == "call_module" and n.target == name]
    if not starts:  # the layer is a container that tracing went through
        return None
    found: list[str] = []
    todo = list(starts)
    seen: set[fx.Node] = set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for user in node.users:
            if user.op == "call_module" and isinstance(modules.get(str(user.target)), nn.BatchNorm1d):
                if user.args and user.args[0] is node and str(user.target) not in found:
                    found.append(str(user.target))
            elif _zero_preserving(user, node, modules):
                todo.append(user)
    return found


def _by_registration(model: nn.Module, name: str, n_channels: int) -> list[str]:
    """The BatchNorm1d of ``n_channels`` registered right after ``name`` (zero-preserving
    layers in between are skipped), as in ``nn.Sequential(conv, bn, relu)`` or a class that
    assigns ``self.conv1`` then ``self.bn1``."""
    items = list(model.named_modules())
    at = next(i for i, (n, _) in enumerate(items) if n == name)
    for n, m in items[at + 1:]:
        if n.startswith(name + "."):  # the layer's own children
            continue
        if isinstance(m, nn.BatchNorm1d):
            return [n] if m.num_features == n_channels else []
        if not isinstance(m, ZERO_PRESERVING_LAYERS):
            return []
    return []


def batchnorms_after(model: nn.Module, name: str, n_channels: int) -> FollowingBatchNorms:
    """The ``BatchNorm1d`` layers that read the output channels of layer ``name``.

    Parameters
    ----------
    model : torch.nn.Module
    name : str
        Dotted name of the layer in ``model.named_modules()``.
    n_channels : int
        Its number of output channels (filters), F.

    Returns
    -------
    FollowingBatchNorms
        With ``torch.fx``: every BatchNorm1d whose input is the layer's output (N, F, T'),
        directly or through layers that keep zero channels at zero (ReLU, dropout, pooling).
        A model that cannot be traced: the BatchNorm1d of F features registered right after the
        layer (zero-preserving layers in between skipped), if there is one; ``traced`` is False.

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3), nn.BatchNorm1d(4), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3), nn.ReLU(), nn.BatchNorm1d(3))
    >>> batchnorms_after(net, "0", 4)
    FollowingBatchNorms(names=['1'], traced=True)
    >>> batchnorms_after(net, "3", 3).names  # through the ReLU
    ['5']
    """
    traced = _traced(model, name)
    if traced is not None:
        return FollowingBatchNorms(traced, True)
    return FollowingBatchNorms(_by_registration(model, name, n_channels), False)
