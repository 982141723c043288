"""Occlusion over sliding time windows (Zeiler and Fergus 2014, for (C, T) series)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from tsexplain._targets import Selection
from tsexplain._typing import Baseline, Target
from tsexplain._validation import check_bool, check_int
from tsexplain.attribution._base import Attribution
from tsexplain.attribution._engine import Engine
from tsexplain.attribution._local import time_extents
from tsexplain.attribution._perturbation import (
    describe_array,
    evaluate,
    finish,
    make_baseline,
    select,
)
from tsexplain.exceptions import ParameterError


def window_starts(n_timesteps: int, window: int, stride: int) -> list[int]:
    """Start of every window: ``0, stride, 2 stride, ...``, plus one window ending at T when the
    strides do not reach the end (so that every time step is occluded at least once)."""
    starts = list(range(0, n_timesteps - window + 1, stride))
    if starts[-1] != n_timesteps - window:
        starts.append(n_timesteps - window)
    return starts


def window_masks(n_channels: int, n_timesteps: int, window: int, stride: int, per_channel: bool) -> torch.Tensor:
    """The occluded cells of every window, shape (W, C, T) (1 = replaced by the baseline)."""
    starts = window_starts(n_timesteps, window, stride)
    masks = []
    for c in range(n_channels) if per_channel else [None]:
        for s in starts:
            m = torch.zeros(n_channels, n_timesteps)
            if c is None:
                m[:, s : s + window] = 1.0
            else:
                m[c, s : s + window] = 1.0
            masks.append(m)
    return torch.stack(masks)


class Occlusion(Attribution):
    """Output drop when a sliding time window is replaced by a baseline.

    For each window ``w`` (``window`` steps, moved by ``stride`` steps; on each channel alone
    with ``per_channel=True``, on all channels at once otherwise), the row ``x`` with the window's
    cells set to the baseline is run through the model. Every cell gets the mean, over the windows
    that cover it, of ``f(x) - f(x with window w occluded)``. Signed: positive where removing the
    window lowers the explained output. For a linear model and windows of one step, the value of a
    cell is its weight times ``(x - baseline)``.

    Parameters
    ----------
    model : torch.nn.Module or list of torch.nn.Module
        Model(s) mapping (N, C, T) to (N,) or (N, K); a list averages the outputs (AGRA).
    window : int
        Window length in time steps (at most T).
    stride : int, optional
        Steps between window starts, at most ``window`` (default: half the window). A last
        window ending at T is added when the strides stop short of the end, so every step is
        covered.
    per_channel : bool
        Occlude each channel's window separately (values differ across channels) or all
        channels of the window at once (one value per time step, repeated over channels).
    baseline : "zeros", "mean", float or array
        Replacement values: a number, ``"mean"`` (each series' per-channel mean over time) or an
        array broadcastable to (N, C, T).

    Notes
    -----
    Cost: ``W = C * ceil((T - window) / stride + 1)`` forward passes per series with
    ``per_channel=True`` (``C`` times fewer without), no backward pass; rows of several series
    share one forward pass under the memory budget. For a model made of stride-1 convolutions,
    BatchNorm and point-wise activations followed by a global average over time (FCN-style
    classifiers), only each window's stretch, widened by twice the receptive radius, goes through
    the convolutions, and the head runs on the corrected average: the same outputs (found with
    ``torch.fx`` and checked on a probe; other models take the full pass). The values show what the model loses
    without a window, not how it combines windows (interactions are averaged away).

    References
    ----------
    Zeiler, Fergus (2014), Visualizing and understanding convolutional networks. ECCV.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import Occlusion
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 1))
    >>> res = Occlusion(model, window=1, stride=1).attribute(torch.randn(3, 2, 6))
    >>> res.shape
    (3, 2, 6)
    """

    name = "occlusion"
    kind = "perturbation"
    unit = "output"
    uses_baseline = True
    cost_params = ("per_channel",)

    def __init__(
        self,
        model: nn.Module | Sequence[nn.Module],
        window: int = 10,
        stride: int | None = None,
        per_channel: bool = True,
        baseline: Baseline = "zeros",
        **engine: Any,
    ) -> None:
        super().__init__(model, **engine)
        self.window = check_int(window, "window", minimum=1)
        self.stride = max(1, self.window // 2) if stride is None else check_int(stride, "stride", minimum=1)
        if self.stride > self.window:
            raise ParameterError(
                f"stride must be at most window ({self.window}) so that every time step is "
                f"occluded, got {self.stride}"
            )
        self.per_channel = check_bool(per_channel, "per_channel")
        self.baseline = baseline

    def params(self) -> dict[str, Any]:
        p = super().params()
        p["baseline"] = describe_array(p["baseline"])
        return p

    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine
    ) -> tuple[torch.Tensor, Selection, torch.Tensor, dict[str, Any]]:
        n, c, t = x.shape
        if self.window > t:
            raise ParameterError(f"window must be at most T = {t} time steps, got {self.window}")
        sel, outputs = self._select(x, target, engine)
        base = make_baseline(self.baseline, x)
        masks = window_masks(c, t, self.window, self.stride, self.per_channel).to(x)
        keep = 1.0 - masks
        n_windows = masks.shape[0]

        def make_rows(xs: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            rows = xs[:, None] * keep[None] + base[idx][:, None] * masks[None]
            return rows.reshape(-1, c, t)

        extents = time_extents(masks.bool().any(1))
        occluded = select(evaluate(engine, x, n_windows, make_rows, self.progress, self.name, extents), sel)
        drop = select(outputs[:, None, :], sel) - occluded  # (N, W, K')
        counts = masks.sum(dim=0)
        values = torch.einsum("nwk,wct->nkct", drop, masks) / counts
        return finish(values, sel), sel, outputs, {}
