"""Shared machinery of the perturbation methods: groups of cells, perturbed rows, one forward.

A perturbation method turns each series into ``R`` perturbed copies (rows), runs the model
once on many rows at a time (chunked under the memory budget, with a progress bar on long runs)
and reads the selected outputs back as an array of shape (N, R, K').
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from tsexplain._targets import Selection
from tsexplain._typing import Baseline
from tsexplain._validation import check_int
from tsexplain.attribution._engine import Engine, series_bar
from tsexplain.attribution._local import LocalSplit, local_split, usable, windowed_outputs
from tsexplain.exceptions import ParameterError, ShapeError

#: ``make_rows(xs, idx) -> rows``: samples (n, C, T) with indices (n,) to (n * R, C, T) rows.
MakeRows = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

GROUPINGS = ("cells", "channels", "segments", "steps")


def make_baseline(baseline: Baseline, x: torch.Tensor) -> torch.Tensor:
    """The replacement values as a tensor of x's shape (N, C, T).

    ``"zeros"`` (or 0.0), a scalar, ``"mean"`` (each series' per-channel mean over time), or
    an array of shape (N, C, T), (1, C, T), (C, T) or anything that broadcasts to x.
    """
    from tsexplain.attribution.integrated_gradients import make_baseline as _make

    return _make(baseline, x).contiguous()


def segment_ids(n_timesteps: int, n_segments: int) -> torch.Tensor:
    """Segment index (0..S-1) of every time step: S contiguous segments of near-equal length.

    A segment is at least one time step, so ``n_segments`` above ``n_timesteps`` is a
    :class:`~tsexplain.exceptions.ParameterError` naming both (``n_segments = T`` is one step
    per segment).
    """
    if n_segments > n_timesteps:
        raise ParameterError(
            f"n_segments must be at most T = {n_timesteps} time steps (a segment is at least one "
            f"step; n_segments={n_timesteps} is one step per segment), got {n_segments}"
        )
    return torch.div(torch.arange(n_timesteps) * n_segments, n_timesteps, rounding_mode="floor")


def group_ids(groups: Any, x: torch.Tensor, n_segments: int) -> torch.Tensor:
    """Group id of every cell, shape (N, C, T) (long, ids 0..G-1, contiguous).

    ``groups`` is ``"cells"`` (channel x time segment), ``"channels"`` (each channel over all
    time), ``"segments"`` (each time segment over all channels), ``"steps"`` (each time step
    over all channels) or an integer array of group ids of shape (C, T) or (N, C, T).
    ``n_segments`` (used by ``"cells"`` and ``"segments"``) is at most T.
    """
    n, c, t = x.shape
    if isinstance(groups, str):
        if groups not in GROUPINGS:
            raise ParameterError(
                f"groups must be one of {', '.join(repr(g) for g in GROUPINGS)} or an integer "
                f"array of group ids of shape (C, T) or (N, C, T); got {groups!r}"
            )
        n_segments = check_int(n_segments, "n_segments", minimum=1)
        ch = torch.arange(c)[:, None]
        if groups in ("cells", "segments"):
            seg = segment_ids(t, n_segments)
            ids = ch * n_segments + seg[None, :] if groups == "cells" else seg[None, :].expand(c, t)
        elif groups == "channels":
            ids = ch.expand(c, t)
        else:
            ids = torch.arange(t)[None, :].expand(c, t)
        return ids.expand(n, c, t).to(x.device)
    arr = groups.detach().cpu().numpy() if isinstance(groups, torch.Tensor) else np.asarray(groups)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        else:
            raise ParameterError(f"groups: a mask must hold integer group ids, got dtype {arr.dtype}")
    if arr.shape not in ((c, t), (n, c, t), (1, c, t)):
        raise ShapeError(
            f"groups: a mask of group ids must have shape (C, T) = ({c}, {t}) or (N, C, T) = "
            f"({n}, {c}, {t}); got {arr.shape}"
        )
    if arr.min() < 0:
        raise ParameterError("groups: group ids must be >= 0")
    _, inverse = np.unique(arr.astype(np.int64), return_inverse=True)
    ids = torch.from_numpy(inverse.reshape(arr.shape).astype(np.int64))
    if ids.ndim == 2:
        ids = ids[None]
    return ids.expand(n, c, t).to(x.device)


def forward_rows(engine: Engine, rows: torch.Tensor, idx: torch.Tensor, per: int) -> torch.Tensor:
    """Model outputs (averaged over the models) of ``rows`` (n * per, C, T): shape (n * per, K).

    Extra model inputs (``engine.additional``), when the engine carries them, follow each
    sample's rows.
    """
    if getattr(engine, "additional", None):
        return engine.outputs(rows, idx=idx, rows_per_sample=per)
    return engine.outputs(rows)


def row_extras(engine: Engine, idx: torch.Tensor, per: int) -> tuple[torch.Tensor, ...]:
    """The additional model inputs of series ``idx``, each repeated ``per`` times (sample-major);
    empty for a single-input model."""
    extras_for = getattr(engine, "extras_for", None)
    return tuple(extras_for(idx, per)) if extras_for is not None else ()


#: Forward-only passes are split so that one layer's activations of a pass stay about this size:
#: larger batches of rows leave the CPU caches and cost more per row (no backward pass needs
#: them all at once).
FORWARD_CACHE_BYTES = 4 << 20


def forward_rows_per_pass(engine: Engine) -> int:
    """Rows per forward-only pass: the engine's chunk, capped so that the largest activation of
    the pass stays near :data:`FORWARD_CACHE_BYTES`; the engine's chunk itself when its rows per
    chunk are fixed (the option ``rows_per_chunk``)."""
    from tsexplain.attribution._memory import activation_bytes

    step = engine.chunk()
    probe = getattr(engine, "_probe", None)
    if probe is None or getattr(engine, "rows_per_chunk", None) is not None:
        return step
    try:
        extras = tuple(a[:1] for a in getattr(engine, "additional", ()))
        largest = max(activation_bytes(m, probe, extras)[1] for m in engine.models)
    except Exception:  # noqa: BLE001 - a model that cannot be measured keeps the engine's chunk
        return step
    return int(max(8, min(step, FORWARD_CACHE_BYTES // max(largest, 1))))


def evaluate(
    engine: Engine,
    x: torch.Tensor,
    rows_per_sample: int,
    make_rows: MakeRows,
    progress: bool | None,
    desc: str,
    extents: torch.Tensor | None = None,
) -> torch.Tensor:
    """Outputs on every sample's perturbed rows: shape (N, R, K).

    Rows of several samples are built together (about one engine chunk, the size the memory
    budget allows) and run through the model in forward-only passes of
    :func:`forward_rows_per_pass` rows.

    ``extents`` (R, 2), when given, is the time window ``[a, b)`` outside which row ``r`` equals
    its series. For models made of a convolutional front and a global average
    (:mod:`tsexplain.attribution._local`), only the windows' stretches then go through the front.
    """
    n, c, t = x.shape
    splits = _local_splits(engine, extents, t)
    step = engine.chunk()
    per_pass = max(1, step // rows_per_sample)
    fwd = forward_rows_per_pass(engine)
    total_rows = n * rows_per_sample * len(engine.models)
    parts = []
    with series_bar(n, desc, progress, total_rows) as bar, torch.inference_mode():
        for start in range(0, n, per_pass):
            idx = torch.arange(start, min(n, start + per_pass))
            rows = make_rows(x[idx], idx)
            if splits:
                assert extents is not None
                xs, rows4 = x[idx], rows.reshape(len(idx), rows_per_sample, c, t)
                cells = fwd * c * t  # a full pass's input cells: the budget's and caches' bound
                outs = [windowed_outputs(s, xs, s.front(xs), rows4, extents, cells) for s in splits]
                out = torch.stack(outs).mean(0) if len(outs) > 1 else outs[0]
            elif getattr(engine, "additional", None):
                out = forward_rows(engine, rows, idx, rows_per_sample)
            else:
                out = torch.cat([engine.outputs(rows[i : i + fwd]) for i in range(0, rows.shape[0], fwd)])
            parts.append(out.reshape(len(idx), rows_per_sample, -1))
            bar.update(len(idx))
    return (torch.cat(parts) if len(parts) > 1 else parts[0]).clone()


def _local_splits(engine: Engine, extents: torch.Tensor | None, n_timesteps: int) -> list[LocalSplit]:
    """Every model's local split when all have one and the windows are short enough, else []."""
    if extents is None or getattr(engine, "additional", None):
        return []
    probe = getattr(engine, "_probe", None)
    if probe is None:
        return []
    splits = [local_split(m, probe) for m in engine.models]
    if any(s is None for s in splits):
        return []
    found = [s for s in splits if s is not None]
    if not all(usable(extents, n_timesteps, s.radius) for s in found):
        return []
    return found


def select(out: torch.Tensor, sel: Selection) -> torch.Tensor:
    """The explained outputs of (N, R, K) outputs: (N, R, 1), or (N, R, K) for ``"all"``."""
    if sel.mode == "all":
        return out
    if sel.mode == "single" or sel.index is None:
        return out[..., :1]
    index = sel.index.to(out.device)[:, None, None].expand(-1, out.shape[1], 1)
    return out.gather(2, index)


def finish(values: torch.Tensor, sel: Selection) -> torch.Tensor:
    """(N, K', C, T) per explained output to (N, C, T), or (N, K, C, T) for ``"all"``."""
    return values if sel.mode == "all" else values[:, 0]


def per_output(array: torch.Tensor, sel: Selection) -> np.ndarray:
    """A per-sample diagnostic (N, K') as (N,), or (N, K) for ``"all"``."""
    a = array.detach().cpu().numpy()
    return a if sel.mode == "all" else a[:, 0]


def describe_array(value: Any) -> Any:
    """A parameter for the result's ``params``: arrays become ``"array(shape)"``."""
    if isinstance(value, np.ndarray | torch.Tensor):
        return f"array{tuple(value.shape)}"
    return value
