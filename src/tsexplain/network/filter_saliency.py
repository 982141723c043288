"""Per-filter input saliency (TSViz Eq. 13-14), for every filter of a layer in batched passes."""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator, Sequence
from typing import Literal

import torch
from torch import nn

from tsexplain._typing import SeriesBatch
from tsexplain._validation import check_choice, check_int, check_model, check_series_batch
from tsexplain.attribution._memory import (
    activation_bytes,
    get_memory_budget,
    heap_rows,
    parse_bytes,
)
from tsexplain.exceptions import ParameterError
from tsexplain.network._dependency import ColorPlan, color_plan
from tsexplain.network._hooks import (
    LayerRef,
    check_filter_output,
    frozen_eval,
    resolve_layer,
    run_until_captured,
)
from tsexplain.network._model_inputs import series_alone

Scale = Literal["filter", "layer", "none"]
Method = Literal["auto", "jvp", "vmap", "replicate"]


def _filter_indices(filters: Sequence[int] | None, n_filters: int) -> list[int]:
    if filters is None:
        return list(range(n_filters))
    idx = [int(f) for f in filters]
    bad = [f for f in idx if not 0 <= f < n_filters]
    if bad or not idx:
        raise ParameterError(f"filters must be indices in [0, {n_filters}); got {list(filters)}.")
    return idx


def min_max_scale(s: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    """TSViz Eq. 14: ``(s - min) / (max - min)`` over ``dims``; constant maps become zeros.

    Examples
    --------
    >>> import torch
    >>> min_max_scale(torch.tensor([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]]), (1,))  # per row
    tensor([[0.0000, 0.5000, 1.0000],
            [0.0000, 0.0000, 0.0000]])
    """
    lo = s.amin(dim=dims, keepdim=True)
    hi = s.amax(dim=dims, keepdim=True)
    span = hi - lo
    return torch.where(span > 0, (s - lo) / torch.where(span > 0, span, torch.ones_like(span)), 0.0)


def _cotangents(
    idx: list[int], act_shape: torch.Size, position: int | None, like: torch.Tensor
) -> torch.Tensor:
    """One-hot cotangents on the filter axis: shape (len(idx), N, F, T')."""
    v = torch.zeros((len(idx), *act_shape), dtype=like.dtype, device=like.device)
    rows = torch.arange(len(idx), device=like.device)
    cols = torch.as_tensor(idx, device=like.device)
    if position is None:
        v[rows, :, cols, :] = 1.0
    else:
        v[rows, :, cols, position] = 1.0
    return v


@series_alone
def filter_saliency(
    model: nn.Module,
    x: SeriesBatch,
    layer: LayerRef,
    *,
    filters: Sequence[int] | None = None,
    position: int | None = None,
    scale: Scale = "filter",
    memory_budget: int | str | None = None,
    method: Method = "auto",
    chunk_size: int | None = None,
) -> torch.Tensor:
    """Input saliency of each filter of ``layer``: ``|d a_f / d x|``, min-max scaled (TSViz Eq. 13-14).

    For filter ``f`` the explained quantity is its activation summed over time,
    ``sum_t' a[n, f, t']`` -- what TSViz's Keras implementation obtains from
    ``K.gradients(layer.output[..., f], input)``, which sums the output implicitly -- or, with
    ``position=t'``, the activation at that one position. Sample n's gradient depends only on
    sample n (models run in eval mode), so all N samples share each pass.

    All filters are done at once, never one backward pass per filter:

    - ``"vmap"``: one forward pass up to the layer, then a batched vector-Jacobian product with
      one cotangent per filter (``torch.autograd.grad(..., is_grads_batched=True)``, i.e. vmap
      over the filter axis), as many filters at a time as ``memory_budget`` holds. Cost: about
      F backward passes.
    - ``"jvp"``: a CNN's activation step depends on a window of R input steps, so ``C x R``
      forward-mode JVPs (one per channel and input step modulo R, see ``_dependency``) give
      the full Jacobian for every filter. Cost: about ``C x R`` forward passes, independent
      of F. The dependency window is found once per model and layer (cached) and the result is
      checked against one ordinary backward pass; on a mismatch it falls back to ``"vmap"``.
    - ``"replicate"``: like vmap, but stacks copies of the batch (for layers lacking batching rules).
    - ``"auto"``: ``"jvp"`` when ``C x R`` is smaller than the number of filters, else ``"vmap"``
      (falling back to ``"replicate"`` if vmap fails).

    When ``layer`` is a ``Conv1d``, its filters are affine in its input, so the cotangent at the
    convolution's input is computed once (it does not depend on the sample) and the passes stop
    one layer earlier.

    Parameters
    ----------
    model : torch.nn.Module
    x : torch.Tensor or numpy.ndarray of shape (N, C, T)
    layer : str or nn.Module
        Layer whose output is shaped (N, F, T'), by dotted name or as the module.
    filters : sequence of int, optional
        Subset of filters; default all F.
    position : int, optional
        Explain the activation at this output position instead of its sum over time.
    scale : {"filter", "layer", "none"}
        ``"filter"`` (default, Eq. 14): each map scaled to [0, 1] on its own, per sample and
        filter over (C, T). ``"layer"``: one min and max per sample over all filters, so filters
        can be compared. ``"none"``: the raw absolute gradient.
    memory_budget : int or str, optional
        Bytes (or ``"512MB"``) one batched pass may use; it sets the filters per batched backward
        pass (vmap/replicate) and the colours per JVP batch (jvp), each costing about one set of
        the model's activations for the N inputs. Default
        :func:`tsexplain.attribution.get_memory_budget`.
    chunk_size : int, optional
        Deprecated (removed in the next release): filters per batched pass, as a count; use
        ``memory_budget``.
    method : {"auto", "jvp", "vmap", "replicate"}

    Returns
    -------
    torch.Tensor of shape (N, F_selected, C, T)
        Non-negative saliency (absolute values), in [0, 1] unless ``scale="none"``.

    Raises
    ------
    ParameterError
        Unknown layer name, bad filter indices or position.
    ShapeError
        ``x`` not (N, C, T), or the layer's output is not (N, F, T') ("layer has no filters").

    References
    ----------
    S. A. Siddiqui et al., "TSViz: Demystification of Deep Learning Models for Time-Series
    Analysis", IEEE Access 7, 2019, Section IV-B.1.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import filter_saliency
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x = torch.randn(3, 2, 16)
    >>> sal = filter_saliency(net, x, "0")  # every filter of the first Conv1d
    >>> tuple(sal.shape)  # (N, F, C, T)
    (3, 4, 2, 16)
    >>> float(sal.amin()), float(sal.amax())  # each map min-max scaled to [0, 1]
    (0.0, 1.0)
    >>> tuple(filter_saliency(net, x, "2", filters=[1], position=5, scale="none").shape)
    (3, 1, 2, 16)
    """
    model = check_model(model)
    xt = check_series_batch(x, "x")
    check_choice(scale, "scale", ("filter", "layer", "none"))
    check_choice(method, "method", ("auto", "jvp", "vmap", "replicate"))
    budget = get_memory_budget() if memory_budget is None else parse_bytes(memory_budget)
    if chunk_size is not None:
        warnings.warn(
            "filter_saliency: the argument chunk_size= is replaced by memory_budget= (bytes or "
            "'512MB'); chunk_size will be removed in the next release.",
            DeprecationWarning,
            stacklevel=2,
        )
        chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    name, module = resolve_layer(model, layer)
    with frozen_eval(model):
        if chunk_size is None:
            total, _ = activation_bytes(model, xt[:1])
            chunk_size = max(1, budget // max(1, total * xt.shape[0]))
        with torch.no_grad():
            probe = run_until_captured(model, xt[:1], [module])[module]
        check_filter_output(probe, name, 1, module)
        n_filters, t_out = probe.shape[1], probe.shape[2]
        idx = _filter_indices(filters, n_filters)
        if position is not None:
            position = check_int(position, "position")
            if not -t_out <= position < t_out:
                raise ParameterError(f"position={position} is outside the layer's {t_out} output steps.")
            position %= t_out
        readout, at_input = _readout(model, module, xt, idx, probe.shape, position)
        run_model, run_module = _folded_before(model, name, module, xt[:1]) if at_input else (model, module)
        signed = _signed_saliency(run_model, run_module, xt, readout, at_input, method, chunk_size)
    sal = signed.abs().transpose(0, 1).contiguous()  # (N, F, C, T)
    if scale == "filter":
        sal = min_max_scale(sal, (2, 3))
    elif scale == "layer":
        sal = min_max_scale(sal, (1, 2, 3))
    return sal


def _folded_before(
    model: nn.Module, name: str, module: nn.Module, probe: torch.Tensor
) -> tuple[nn.Module, nn.Module]:
    """The BatchNorm-folded copy of ``model`` and its layer ``name``, for gradients taken at that
    layer's *input*: folding changes only values after a convolution's BatchNorm, and the layer's
    input comes out of the layers before it unchanged (within rounding), so the passes up to it
    skip BatchNorm (and its forward-mode derivative). The model itself when it cannot be folded."""
    from tsexplain.attribution._model_state import fold_batchnorm

    folded = fold_batchnorm(model, probe)
    if folded is model:
        return model, module
    try:
        return folded, folded.get_submodule(name)
    except AttributeError:
        return model, module


def _readout(
    model: nn.Module,
    module: nn.Module,
    xt: torch.Tensor,
    idx: list[int],
    act_shape: torch.Size,
    position: int | None,
) -> tuple[torch.Tensor, bool]:
    """Weights L (F_sel, C_h, T_h) with ``s[n, f] = <L[f], h[n]> (+ const)``; h = layer output or conv input."""
    onehot = _cotangents(idx, act_shape, position, xt)  # (F_sel, 1, F, T')
    if isinstance(module, nn.Conv1d):
        with torch.no_grad():
            h1 = run_until_captured(model, xt[:1], [module], inputs=True)[module]
        fast = _conv_readout(module, onehot[:, 0], idx, h1.shape[2])
        if fast is not None:
            return fast, True
        # the convolution is affine: the gradient of <onehot_f, conv(z)> is the same at any z
        z = torch.zeros((len(idx), *h1.shape[1:]), dtype=h1.dtype, device=h1.device, requires_grad=True)
        with torch.enable_grad():
            out = module(z)
            (lw,) = torch.autograd.grad((out * onehot[:, 0]).sum(), z)
        return lw.detach(), True
    return onehot[:, 0], False


def _conv_readout(
    conv: nn.Conv1d, onehot: torch.Tensor, idx: list[int], t_in: int
) -> torch.Tensor | None:
    """The readout weights of a Conv1d at its input, (F_sel, C_in, T_in), as one grouped
    transposed convolution: selected filter ``f``'s row is its cotangent (F_sel's own channel
    of ``onehot`` (F_sel, F, T')) transposed through ``W[f]`` alone. None where the layer's
    padding, groups or padding mode call for the general backward."""
    pad, stride, dil = conv.padding, conv.stride[0], conv.dilation[0]
    if conv.groups != 1 or conv.padding_mode != "zeros" or isinstance(pad, str):
        return None
    k = conv.kernel_size[0]
    t_out = onehot.shape[2]
    extra = t_in - ((t_out - 1) * stride - 2 * pad[0] + dil * (k - 1) + 1)
    if not 0 <= extra < max(stride, dil):
        return None
    sel = torch.as_tensor(idx, device=onehot.device)
    cot = onehot[torch.arange(len(idx), device=onehot.device), sel][None]  # (1, F_sel, T')
    weight = conv.weight[sel].detach()  # (F_sel, C_in, k)
    out = torch.nn.functional.conv_transpose1d(
        cot, weight, None, stride, pad[0], extra, len(idx), dil
    )  # (1, F_sel * C_in, T_in)
    return out.reshape(len(idx), weight.shape[1], t_in)


def _signed_saliency(
    model: nn.Module,
    module: nn.Module,
    xt: torch.Tensor,
    readout: torch.Tensor,
    at_input: bool,
    method: str,
    chunk_size: int,
) -> torch.Tensor:
    n_sel = readout.shape[0]
    n_channels = xt.shape[1]
    if method in ("auto", "jvp"):
        plan = color_plan(model, module, xt[:1], inputs=at_input)
        if plan is not None and (method == "jvp" or n_channels * plan.width < n_sel):
            g = _saliency_jvp(model, module, xt, readout, at_input, plan, chunk_size)
            if _matches_backward(model, module, xt, readout, at_input, g):
                return g
            warnings.warn(
                "filter_saliency: the JVP result disagreed with a plain backward pass (the layer's "
                "dependency window was not detected correctly); using method='vmap'.",
                RuntimeWarning,
                stacklevel=3,
            )
    chunks = [readout[i : i + chunk_size] for i in range(0, n_sel, chunk_size)]
    if method in ("auto", "jvp", "vmap"):
        try:
            return _saliency_vmap(model, module, xt, chunks, at_input)
        except RuntimeError:
            if method == "vmap":
                raise
    return _saliency_replicate(model, module, xt, chunks, at_input)


def _matches_backward(
    model: nn.Module,
    module: nn.Module,
    xt: torch.Tensor,
    readout: torch.Tensor,
    at_input: bool,
    g: torch.Tensor,
) -> bool:
    """Check: sum over filters of the JVP saliency equals one ordinary backward of sum_f <L_f, h>."""
    n_check = min(xt.shape[0], 4)  # the dependency pattern is the same for every sample
    xg = xt[:n_check].clone().requires_grad_(True)
    with torch.enable_grad():
        h = run_until_captured(model, xg, [module], inputs=at_input)[module]
        (ref,) = torch.autograd.grad((h * readout.sum(0)[None]).sum(), xg)
    got = g[:, :n_check].sum(0)
    tol = 1e-4 * float(ref.abs().max()) + 1e-12
    return bool(((got - ref).abs() <= tol + 1e-4 * ref.abs()).all())


def _saliency_jvp(
    model: nn.Module,
    module: nn.Module,
    xt: torch.Tensor,
    readout: torch.Tensor,
    at_input: bool,
    plan: ColorPlan,
    chunk_size: int,
) -> torch.Tensor:
    from torch.func import jvp, vmap

    dev = xt.device
    width, index, valid = plan.width, plan.index.to(dev), plan.valid.to(dev)
    n, n_channels, n_steps = xt.shape
    n_sel = readout.shape[0]
    colours = [(c, j) for c in range(n_channels) for j in range(width)]
    residue = torch.arange(n_steps, device=dev) % width
    out = torch.zeros(n_sel, n, n_channels, n_steps, dtype=xt.dtype, device=dev)

    def captured(inp: torch.Tensor) -> torch.Tensor:
        return run_until_captured(model, inp, [module], inputs=at_input)[module]

    def tangent_out(t: torch.Tensor) -> torch.Tensor:
        return jvp(captured, (xt,), (t,))[1]

    lt = readout.permute(2, 0, 1).contiguous()  # (T_h, F_sel, C_h)
    # a readout that is one matrix at most steps (a convolution's, summed over time: its kernel's
    # sums away from the edges) is one matrix product over all steps, redone at the others
    common = lt[lt.shape[0] // 2]
    other = (lt != common).flatten(1).any(dim=1).nonzero()[:, 0]
    use_common = len(other) <= lt.shape[0] // 4
    lt_other = lt[other]  # (E, F_sel, C_h)
    everywhere = valid.all(dim=1).tolist()
    valid_f = valid.to(xt.dtype)
    # colours per pass: within the budget, and few enough that the pass's activations (colours x N
    # rows) stay on the heap; passes of equal size (each pass also recomputes the primal)
    largest = activation_bytes(model, xt[:1])[1]
    most = max(1, min(chunk_size // 2, heap_rows(largest) // max(1, n)))
    n_passes = -(-len(colours) // most)
    step = -(-len(colours) // n_passes)
    for s in range(0, len(colours), step):
        group = colours[s : s + step]
        tangents = torch.zeros(len(group), n, n_channels, n_steps, dtype=xt.dtype, device=dev)
        for k, (c, j) in enumerate(group):
            tangents[k, :, c, residue == j] = 1.0
        with _input_tangent_convolutions(model):
            h_dot = vmap(tangent_out)(tangents)  # (k, N, C_h, T_h)
        for k, (c, j) in enumerate(group):
            # contrib[f, n, t'] = sum_c' L[f, c', t'] h_dot[n, c', t']; steps t' that no input
            # step of this colour feeds are zeroed (no gathering copies)
            if use_common:
                per_row = torch.matmul(common, h_dot[k])  # (N, F_sel, T')
                if len(other):
                    at = h_dot[k][:, :, other].permute(2, 1, 0)  # (E, C_h, N)
                    per_row[:, :, other] = torch.bmm(lt_other, at).permute(2, 1, 0)
                contrib = per_row.transpose(0, 1)  # (F_sel, N, T')
            else:  # T' small matmuls
                hk = h_dot[k].permute(2, 1, 0).contiguous()  # (T', C_h, N)
                contrib = torch.bmm(lt, hk).permute(1, 2, 0)  # (F_sel, N, T')
            if not everywhere[j]:
                contrib = contrib * valid_f[j]
            out[:, :, c, :].index_add_(2, index[j], contrib)
    return out


class _InputTangentConv(torch.autograd.Function):
    """A convolution whose forward-mode derivative is taken with respect to its input only.

    torch's own rule also convolves the primal input with the weight's (zero) tangent, a
    primal-sized convolution more per layer and pass; here the tangent is ``conv(t, W)``
    (no bias: the map is affine). For weights without tangents (frozen during the JVP)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
        return conv._conv_forward(x, conv.weight, conv.bias)

    @staticmethod
    def setup_context(ctx: object, inputs: tuple[object, ...], output: torch.Tensor) -> None:
        ctx.conv = inputs[1]  # type: ignore[attr-defined]

    @staticmethod
    def jvp(ctx: object, x_t: torch.Tensor, _conv_t: object) -> torch.Tensor:
        conv = ctx.conv  # type: ignore[attr-defined]
        return conv._conv_forward(x_t, conv.weight, None)


def _input_tangent_conv(x: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    out: torch.Tensor = _InputTangentConv.apply(x, conv)
    return out


@contextlib.contextmanager
def _input_tangent_convolutions(model: nn.Module) -> Iterator[None]:
    """Within the block, the plain Conv1d layers of ``model`` (frozen weights) use
    :class:`_InputTangentConv`; their own forward comes back afterwards, also on an error."""
    convs = [m for m in model.modules() if type(m) is nn.Conv1d and not m.weight.requires_grad]
    try:
        for m in convs:
            m.forward = functools.partial(_input_tangent_conv, conv=m)  # type: ignore[method-assign]
        yield
    finally:
        for m in convs:
            m.__dict__.pop("forward", None)


def _saliency_vmap(
    model: nn.Module,
    module: nn.Module,
    xt: torch.Tensor,
    chunks: list[torch.Tensor],
    at_input: bool,
) -> torch.Tensor:
    xg = xt.clone().requires_grad_(True)
    with torch.enable_grad():
        h = run_until_captured(model, xg, [module], inputs=at_input)[module]
        parts = []
        for i, chunk in enumerate(chunks):
            v = chunk[:, None].expand(chunk.shape[0], *h.shape)
            (g,) = torch.autograd.grad(
                h, xg, grad_outputs=v, is_grads_batched=True, retain_graph=i < len(chunks) - 1
            )
            parts.append(g)
    return torch.cat(parts, dim=0)  # (F_sel, N, C, T)


def _saliency_replicate(
    model: nn.Module,
    module: nn.Module,
    xt: torch.Tensor,
    chunks: list[torch.Tensor],
    at_input: bool,
) -> torch.Tensor:
    n = xt.shape[0]
    parts = []
    for chunk in chunks:
        m = chunk.shape[0]
        xg = xt.repeat(m, 1, 1).requires_grad_(True)  # (m*N, C, T), block j <-> filter j of chunk
        with torch.enable_grad():
            h = run_until_captured(model, xg, [module], inputs=at_input)[module]
            v = chunk[:, None].expand(m, n, *chunk.shape[1:]).reshape(h.shape)
            (g,) = torch.autograd.grad(h, xg, grad_outputs=v)
        parts.append(g.reshape(m, n, *xt.shape[1:]))
    return torch.cat(parts, dim=0)
