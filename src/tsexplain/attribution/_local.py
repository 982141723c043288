"""Forward passes of locally perturbed rows through a convolutional front and a global average.

Many time-series classifiers (FCN, the FordA CNN, ResNet-style stacks) are a *local front* (stride-1,
length-preserving convolutions, BatchNorm, point-wise activations, sums of such branches), then a
global average over time, then a head. When a row differs from its series only inside a time
window ``[a, b)``, the front's output differs only inside ``[a - R, b + R)`` (``R``: the front's
receptive radius), so the perturbed row's average is the series' average corrected on that
stretch, which a pass over the window plus ``2 R`` steps on each side computes exactly. Occlusion
and feature ablation perturb windows of a few steps of long series; they run the front on those
stretches only and the head on the corrected averages.

:func:`local_split` finds the front and the head with ``torch.fx`` (None when the model has no
such structure, cannot be traced, or the split does not reproduce the model on a probe), and
:func:`windowed_outputs` computes the outputs of perturbed rows through it.
"""

from __future__ import annotations

import copy
import logging
import operator
import weakref
from dataclasses import dataclass

import torch
from torch import fx, nn
from torch.nn import functional as F

from tsexplain._targets import flatten_output
from tsexplain.attribution._ops import op_name

log = logging.getLogger(__name__)

#: Modules that act on each time step alone (in eval mode), keeping (N, C, T) shapes.
_POINTWISE_MODULES = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Tanh, nn.Sigmoid, nn.Softplus, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.PReLU,
    nn.Identity, nn.Dropout, nn.BatchNorm1d,
)
_POINTWISE_FUNCTIONS = {
    torch.relu, F.relu, F.relu6, F.leaky_relu, F.elu, F.selu, F.celu, F.gelu, F.silu, F.mish,
    torch.tanh, torch.sigmoid, F.softplus, F.hardtanh, F.hardswish, F.dropout,
}
_POINTWISE_METHODS = {"relu", "sigmoid", "tanh", "contiguous"}
#: The same operations as a ``torch.export`` program calls them (ATen overloads, by name).
_POINTWISE_ATEN = {
    "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "tanh",
    "sigmoid", "softplus", "hardtanh", "hardswish", "hardsigmoid", "dropout", "clone", "alias",
    "contiguous",
}
_BINARY_ATEN = {"add", "mul", "sub"}
_BINARY = {operator.add, operator.mul, operator.sub, torch.add, torch.mul, torch.sub}
_BINARY_METHODS = {"add", "mul", "sub"}


@dataclass(frozen=True)
class LocalSplit:
    """A model cut into a local front and a head behind a global average over time.

    Attributes
    ----------
    front : torch.fx.GraphModule
        (N, C, T) -> (N, C', T): the layers before the average.
    head : torch.fx.GraphModule
        The average in the shape the model's pooling gives ((N, C', 1) or (N, C')) -> outputs.
    radius : int
        Steps on each side of a changed step whose front outputs can change.
    keepdim : bool
        The pooling keeps the time axis (``AdaptiveAvgPool1d(1)``, ``mean(-1, keepdim=True)``).
    """

    front: fx.GraphModule
    head: fx.GraphModule
    radius: int
    keepdim: bool


#: Per model: its structure when the split was made, and the split (None: the model has none).
_SPLITS: weakref.WeakKeyDictionary[nn.Module, tuple[tuple[tuple[str, int], ...], LocalSplit | None]] = (
    weakref.WeakKeyDictionary())


def local_split(model: nn.Module, probe: torch.Tensor) -> LocalSplit | None:
    """The model's local front and head (cached per model), or None when it has none.

    Parameters
    ----------
    model : torch.nn.Module
        An eval-mode model with one input (N, C, T).
    probe : torch.Tensor of shape (1, C, T)
        A row used to check that the split reproduces the model (also on one perturbed window).
    """
    key = _structure(model)
    cached = _SPLITS.get(model)
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        split = _split(model)
        if split is not None and not _reproduces(model, split, probe):
            log.debug("local split of %s does not reproduce the model; not used", type(model).__name__)
            split = None
    except Exception:  # noqa: BLE001 - untraceable models simply take the full forward pass
        log.debug("no local split for %s", type(model).__name__, exc_info=True)
        split = None
    try:
        _SPLITS[model] = (key, split)
    except TypeError:  # not weak-referenceable: not cached
        pass
    return split


def _structure(model: nn.Module) -> tuple[tuple[str, int], ...]:
    """The model's layers by name and identity: a split is rebuilt when a layer is replaced (new
    weights need nothing: the front and head hold the model's own layers; the split keeps the
    layers it holds alive, so their identities stay theirs)."""
    return tuple((name, id(m)) for name, m in model.named_modules())


def _conv_radius(conv: nn.Conv1d) -> int | None:
    """Receptive radius of a stride-1, zero-padded, length-preserving, symmetric Conv1d."""
    if conv.stride != (1,) or conv.padding_mode != "zeros" or conv.groups < 1:
        return None
    span = conv.dilation[0] * (conv.kernel_size[0] - 1)
    if span % 2:
        return None
    pad = conv.padding
    if pad == "same" or (isinstance(pad, tuple) and 2 * pad[0] == span):
        return span // 2
    return None


def _pool_keepdim(node: fx.Node, modules: dict[str, nn.Module]) -> bool | None:
    """Whether ``node`` is a global average over the last axis of a (N, C', T) value (its
    keepdim), or None."""
    if node.op == "call_module":
        mod = modules[str(node.target)]
        if isinstance(mod, nn.AdaptiveAvgPool1d) and mod.output_size in (1, (1,)):
            return True
        return None
    if node.op == "call_function" and node.target is F.adaptive_avg_pool1d:
        size = node.args[1] if len(node.args) > 1 else node.kwargs.get("output_size")
        return True if size in (1, (1,)) else None
    is_mean = (node.op == "call_method" and node.target == "mean") or (
        node.op == "call_function" and (node.target is torch.mean or (
            hasattr(node.target, "overloadpacket") and op_name(node.target) == "mean")))
    if not is_mean:
        return None
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
    if isinstance(dim, list | tuple) and len(dim) == 1:
        dim = dim[0]
    keepdim = node.args[2] if len(node.args) > 2 else node.kwargs.get("keepdim", False)
    if dim not in (-1, 2) or len(node.args) > 3 or set(node.kwargs) - {"dim", "keepdim"}:
        return None
    return keepdim if isinstance(keepdim, bool) else None


def _split(model: nn.Module) -> LocalSplit | None:
    # trace a copy: tracing runs the model's Python forward once, side effects included; the
    # front and head are then built on the model itself, so they use its current weights
    gm = fx.symbolic_trace(copy.deepcopy(model))
    modules = dict(gm.named_modules())
    graph = gm.graph
    inputs = [n for n in graph.nodes if n.op == "placeholder"]
    if len(inputs) != 1:
        return None
    radius: dict[fx.Node, int] = {inputs[0]: 0}
    pool: fx.Node | None = None
    keepdim = False
    for node in graph.nodes:
        if node.op == "placeholder" or node.op == "output":
            continue
        local_args = [a for a in node.all_input_nodes if a in radius]
        if not local_args:
            continue
        if pool is not None and node is not pool:
            if any(a is not pool for a in node.all_input_nodes if a in radius):
                return None  # the head reads the front past the average
        r = max(radius[a] for a in local_args)
        own = _local_step(node, modules, local_args)
        if own is not None:
            radius[node] = r + own
            continue
        kd = _pool_keepdim(node, modules)
        if kd is None or pool is not None or len(local_args) != 1 or node.args[0] is not local_args[0]:
            return None
        pool, keepdim = node, kd
    if pool is None:
        return None
    pooled_input = pool.args[0]
    assert isinstance(pooled_input, fx.Node)
    # Every front value feeds the average (no front value reaches the output another way).
    for node, _ in radius.items():
        for user in node.users:
            if user not in radius and user is not pool:
                return None

    front_graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for node in graph.nodes:
        if node in radius:
            env[node] = front_graph.node_copy(node, lambda n: env[n])
    front_graph.output(env[pooled_input])
    head_graph = fx.Graph()
    env2: dict[fx.Node, fx.Node] = {pool: head_graph.placeholder("pooled")}
    for node in graph.nodes:
        if node in radius or node is pool:
            continue
        env2[node] = head_graph.node_copy(node, lambda n: env2[n])
    front = fx.GraphModule(model, front_graph)
    head = fx.GraphModule(model, head_graph)
    return LocalSplit(front=front, head=head, radius=radius[pooled_input], keepdim=keepdim)


def _local_step(node: fx.Node, modules: dict[str, nn.Module], local_args: list[fx.Node]) -> int | None:
    """The receptive radius a local node adds (0 for point-wise), or None if it is not local."""
    if node.op == "call_module":
        mod = modules[str(node.target)]
        if len(node.all_input_nodes) != 1:
            return None
        if isinstance(mod, nn.Conv1d):
            return _conv_radius(mod)
        if isinstance(mod, _POINTWISE_MODULES):
            return 0
        return None
    if node.op == "call_function":
        aten = op_name(node.target) if hasattr(node.target, "overloadpacket") else None
        if (node.target in _POINTWISE_FUNCTIONS or aten in _POINTWISE_ATEN) and len(node.all_input_nodes) == 1:
            return 0
        if node.target in _BINARY or aten in _BINARY_ATEN:
            others = [a for a in node.args if not isinstance(a, fx.Node)]
            if all(isinstance(a, int | float) for a in others) and len(node.all_input_nodes) == len(local_args):
                return 0
        return None
    if node.op == "call_method":
        if node.target in _POINTWISE_METHODS and len(node.all_input_nodes) == 1 and len(node.args) == 1:
            return 0
        if node.target in _BINARY_METHODS and len(node.all_input_nodes) == len(local_args):
            others = [a for a in node.args[1:] if not isinstance(a, fx.Node)]
            if all(isinstance(a, int | float) for a in others) and not node.kwargs:
                return 0
    return None


def _reproduces(model: nn.Module, split: LocalSplit, probe: torch.Tensor) -> bool:
    """The split gives the model's outputs on ``probe`` and on it with a window zeroed."""
    t = probe.shape[-1]
    a = t // 3
    b = min(t, a + max(1, t // 10))
    rows = probe.repeat(2, 1, 1)
    rows[1, :, a:b] = 0.0
    with torch.no_grad():
        ref = model(rows)
        full = split.front(probe)
        extents = torch.tensor([[a, b]])
        new = windowed_outputs(split, probe, full, rows[1:].reshape(1, 1, *probe.shape[1:]), extents)
        plain = _head(split, full.mean(-1), rows=1)
    ref = flatten_output(ref, 2)
    got = torch.cat([plain, new.reshape(1, -1)])
    return bool(ref.shape == got.shape and torch.allclose(ref, got, rtol=1e-4, atol=1e-5))


def _head(split: LocalSplit, pooled: torch.Tensor, rows: int) -> torch.Tensor:
    return flatten_output(split.head(pooled[..., None] if split.keepdim else pooled), rows)


def windowed_outputs(
    split: LocalSplit,
    xs: torch.Tensor,
    front: torch.Tensor,
    rows: torch.Tensor,
    extents: torch.Tensor,
    max_cells: int = 1 << 22,
) -> torch.Tensor:
    """Outputs of perturbed rows that equal their series outside known time windows.

    Parameters
    ----------
    split : LocalSplit
        The model's front and head.
    xs : torch.Tensor of shape (n, C, T)
        The series.
    front : torch.Tensor of shape (n, C', T)
        ``split.front(xs)``.
    rows : torch.Tensor of shape (n, R, C, T)
        Perturbed copies: row ``r`` of series ``i`` equals ``xs[i]`` outside ``extents[r]``.
    extents : torch.Tensor of shape (R, 2)
        ``[a, b)`` time window of each row (long).
    max_cells : int
        Most (row x channel x step) input cells per front pass (callers pass what the memory
        budget allows for full rows: rows per pass x C x T).

    Returns
    -------
    torch.Tensor of shape (n, R, K)
    """
    n, n_rows, c, t = rows.shape
    r = split.radius
    a, b = extents[:, 0], extents[:, 1]
    lo = (a - 2 * r).clamp(min=0)
    hi = (b + 2 * r).clamp(max=t)
    keep_lo = (a - r).clamp(min=0)
    keep_hi = (b + r).clamp(max=t)
    geometry = torch.stack([hi - lo, keep_lo - lo, keep_hi - keep_lo], dim=1)
    shapes, group = torch.unique(geometry, dim=0, return_inverse=True)
    total = front.sum(-1)  # (n, C')
    out: torch.Tensor | None = None
    for g, (length, k0, klen) in enumerate(shapes.tolist()):
        members = torch.nonzero(group == g).flatten()
        steps = torch.arange(length, device=xs.device)
        kept = torch.arange(klen, device=xs.device)
        per_pass = max(1, max_cells // max(1, n * c * length))
        for s in range(0, len(members), per_pass):
            mem = members[s : s + per_pass]
            m = len(mem)
            index = (lo[mem, None] + steps[None]).to(xs.device)  # (m, L)
            picked = rows[:, mem].gather(3, index[None, :, None, :].expand(n, m, c, length))
            new = split.front(picked.reshape(n * m, c, length))  # (n m, C', L)
            new_sum = new[..., k0 : k0 + klen].sum(-1).reshape(n, m, -1)
            old_index = (keep_lo[mem, None] + kept[None]).to(xs.device)  # (m, klen)
            cp = front.shape[1]
            old = front[:, None].expand(n, m, cp, t).gather(3, old_index[None, :, None, :].expand(n, m, cp, klen))
            pooled = (total[:, None] - old.sum(-1) + new_sum) / t  # (n, m, C')
            res = _head(split, pooled.reshape(n * m, -1), n * m).reshape(n, m, -1)
            if out is None:
                out = res.new_empty(n, n_rows, res.shape[-1])
            out[:, mem] = res
    assert out is not None
    return out


def time_extents(changed: torch.Tensor) -> torch.Tensor:
    """``[a, b)``: the first and one past the last True step of every row of ``changed`` (R, T);
    a row with no True step gets ``[0, 0)``. Shape (R, 2), long."""
    t = changed.shape[-1]
    steps = torch.arange(t, device=changed.device)
    any_ = changed.any(-1)
    first = torch.where(changed, steps, t).amin(-1)
    last = torch.where(changed, steps, -1).amax(-1) + 1
    return torch.stack([torch.where(any_, first, 0), torch.where(any_, last, 0)], dim=1).long()


def usable(extents: torch.Tensor, n_timesteps: int, radius: int) -> bool:
    """Whether the windows (plus ``2 radius`` on each side) are short enough to gain."""
    width = (extents[:, 1] - extents[:, 0]).float().mean().item() + 4 * radius
    return width < 0.5 * n_timesteps


__all__ = ["LocalSplit", "local_split", "time_extents", "usable", "windowed_outputs"]
