"""Per-filter input saliency (TSViz Eq. 13-14), for every filter of a layer in batched passes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from tsexplain._typing import SeriesBatch
from tsexplain._validation import check_choice, check_int, check_model, check_series_batch
from tsexplain.exceptions import ParameterError
from tsexplain.network._hooks import (
    LayerRef,
    check_filter_output,
    frozen_eval,
    resolve_layer,
    run_until_captured,
)

Scale = Literal["filter", "layer", "none"]


def _filter_indices(filters: Sequence[int] | None, n_filters: int) -> list[int]:
    if filters is None:
        return list(range(n_filters))
    idx = [int(f) for f in filters]
    bad = [f for f in idx if not 0 <= f < n_filters]
    if bad or not idx:
        raise ParameterError(f"filters must be indices in [0, {n_filters}); got {list(filters)}.")
    return idx


def min_max_scale(s: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    """TSViz Eq. 14: ``(s - min) / (max - min)`` over ``dims``; constant maps become zeros."""
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


def filter_saliency(
    model: nn.Module,
    x: SeriesBatch,
    layer: LayerRef,
    *,
    filters: Sequence[int] | None = None,
    position: int | None = None,
    scale: Scale = "filter",
    chunk_size: int = 16,
    method: Literal["auto", "vmap", "replicate"] = "auto",
) -> torch.Tensor:
    """Input saliency of each filter of ``layer``: ``|d a_f / d x|``, min-max scaled (TSViz Eq. 13-14).

    For filter ``f`` the explained quantity is its activation summed over time,
    ``sum_t' a[n, f, t']`` -- what TSViz's Keras implementation obtains from
    ``K.gradients(layer.output[..., f], input)``, which sums the output implicitly -- or, with
    ``position=t'``, the activation at that one position. The gradient of each sample only
    depends on that sample (models in eval mode), so one batched pass serves all N samples.

    All filters are done at once: one forward pass up to ``layer`` (the rest of the network is
    skipped), then a batched vector-Jacobian product with one one-hot cotangent per filter
    (``torch.autograd.grad(..., is_grads_batched=True)``, i.e. ``vmap`` over the filter axis),
    in chunks of ``chunk_size`` filters. No per-filter backward loop.

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
    chunk_size : int
        Filters per batched backward pass (memory: chunk_size x N x C x T floats per layer).
    method : {"auto", "vmap", "replicate"}
        ``"vmap"`` uses batched gradients; ``"replicate"`` stacks ``chunk_size`` copies of the
        batch and does one ordinary backward (for layers without batching rules); ``"auto"``
        tries vmap and falls back.

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
    """
    model = check_model(model)
    xt = check_series_batch(x, "x")
    check_choice(scale, "scale", ("filter", "layer", "none"))
    check_choice(method, "method", ("auto", "vmap", "replicate"))
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    name, module = resolve_layer(model, layer)
    n = xt.shape[0]
    with frozen_eval(model):
        with torch.no_grad():
            probe = run_until_captured(model, xt[:1], [module])[module]
        check_filter_output(probe, name, 1)
        n_filters, t_out = probe.shape[1], probe.shape[2]
        idx = _filter_indices(filters, n_filters)
        if position is not None:
            position = check_int(position, "position")
            if not -t_out <= position < t_out:
                raise ParameterError(f"position={position} is outside the layer's {t_out} output steps.")
            position %= t_out
        chunks = [idx[i : i + chunk_size] for i in range(0, len(idx), chunk_size)]
        out: torch.Tensor | None = None
        if method in ("auto", "vmap"):
            try:
                out = _saliency_vmap(model, module, xt, chunks, position)
            except RuntimeError:
                if method == "vmap":
                    raise
        if out is None:
            out = _saliency_replicate(model, module, xt, chunks, position)
    sal = out.abs().transpose(0, 1)  # (N, F, C, T)
    if scale == "filter":
        sal = min_max_scale(sal, (2, 3))
    elif scale == "layer":
        sal = min_max_scale(sal, (1, 2, 3))
    assert sal.shape[0] == n
    return sal


def _saliency_vmap(
    model: nn.Module,
    module: nn.Module,
    xt: torch.Tensor,
    chunks: list[list[int]],
    position: int | None,
) -> torch.Tensor:
    xg = xt.clone().requires_grad_(True)
    act = run_until_captured(model, xg, [module])[module]
    parts = []
    for i, chunk in enumerate(chunks):
        v = _cotangents(chunk, act.shape, position, act)
        (g,) = torch.autograd.grad(
            act, xg, grad_outputs=v, is_grads_batched=True, retain_graph=i < len(chunks) - 1
        )
        parts.append(g)
    return torch.cat(parts, dim=0)  # (F, N, C, T)


def _saliency_replicate(
    model: nn.Module,
    module: nn.Module,
    xt: torch.Tensor,
    chunks: list[list[int]],
    position: int | None,
) -> torch.Tensor:
    n = xt.shape[0]
    parts = []
    for chunk in chunks:
        m = len(chunk)
        xg = xt.repeat(m, 1, 1).requires_grad_(True)  # (m*N, C, T), block j <-> filter chunk[j]
        act = run_until_captured(model, xg, [module])[module]
        v = _cotangents(chunk, act.shape[:0] + torch.Size([n, *act.shape[1:]]), position, act)
        v = v.reshape(m * n, *act.shape[1:])
        (g,) = torch.autograd.grad(act, xg, grad_outputs=v)
        parts.append(g.reshape(m, n, *xt.shape[1:]))
    return torch.cat(parts, dim=0)
