"""Feature ablation over groups of cells: channels, time segments, or a user mask."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from tsexplain._targets import Selection
from tsexplain._typing import Baseline, Target
from tsexplain._validation import check_int
from tsexplain.attribution._base import Attribution
from tsexplain.attribution._engine import Engine
from tsexplain.attribution._local import time_extents
from tsexplain.attribution._perturbation import (
    describe_array,
    evaluate,
    finish,
    group_ids,
    make_baseline,
    select,
)


class FeatureAblation(Attribution):
    """Output drop when one group of cells at a time is replaced by a baseline.

    Each group ``g`` of cells (a channel, a time segment, a channel x segment block or any group
    of a user mask) gets ``f(x) - f(x with the cells of g set to the baseline)``, and every cell
    of the group carries that value. Signed. For a linear model with one cell per group this is
    the cell's weight times ``(x - baseline)``; for larger groups the same sum over the group.

    Parameters
    ----------
    model : torch.nn.Module or list of torch.nn.Module
        Model(s) mapping (N, C, T) to (N,) or (N, K); a list averages the outputs (AGRA).
    groups : "cells", "channels", "segments", "steps" or int array
        ``"cells"``: each channel x time segment; ``"channels"``: each channel over the whole
        series; ``"segments"``: each time segment over all channels; ``"steps"``: each time step
        over all channels; or an integer array of group ids of shape (C, T) (the same groups for
        every series) or (N, C, T) (one grouping per series).
    n_segments : int
        Number of contiguous time segments of near-equal length ("cells", "segments"), at most
        T (one step per segment).
    baseline : "zeros", "mean", float or array
        Replacement values: a number, ``"mean"`` (each series' per-channel mean over time) or an
        array broadcastable to (N, C, T).

    Notes
    -----
    Cost: one forward pass per group and series (G = C * n_segments for "cells"), no backward
    pass; rows of several series share one forward pass under the memory budget. Groups that
    span a short stretch of time take occlusion's shortcut through a convolutional front and a
    global average (see :class:`Occlusion`). Like occlusion
    it measures each group alone: redundant groups (the model can read the same evidence in
    another group) each get little.

    References
    ----------
    Captum's ``FeatureAblation``; the idea goes back to leave-one-covariate-out (Lei et al.
    2018, Distribution-free predictive inference for regression. JASA).

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import FeatureAblation
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 1))
    >>> res = FeatureAblation(model, groups="channels").attribute(torch.randn(3, 2, 6))
    >>> res.shape
    (3, 2, 6)
    """

    name = "feature_ablation"
    kind = "perturbation"
    unit = "output"
    uses_baseline = True
    cost_params = ("n_segments",)

    def __init__(
        self,
        model: nn.Module | Sequence[nn.Module],
        groups: Any = "cells",
        n_segments: int = 10,
        baseline: Baseline = "zeros",
        **engine: Any,
    ) -> None:
        super().__init__(model, **engine)
        self.groups = groups
        self.n_segments = check_int(n_segments, "n_segments", minimum=1)
        self.baseline = baseline

    def params(self) -> dict[str, Any]:
        p = super().params()
        p["baseline"] = describe_array(p["baseline"])
        p["groups"] = describe_array(p["groups"])
        return p

    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine
    ) -> tuple[torch.Tensor, Selection, torch.Tensor, dict[str, Any]]:
        n, c, t = x.shape
        ids = group_ids(self.groups, x, self.n_segments)
        sel, outputs = self._select(x, target, engine)
        base = make_baseline(self.baseline, x)
        n_groups = int(ids.max()) + 1
        group_range = torch.arange(n_groups, device=x.device)

        def make_rows(xs: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            off = ids[idx][:, None] == group_range[None, :, None, None]  # (n, G, C, T)
            rows = torch.where(off, base[idx][:, None], xs[:, None])
            return rows.reshape(-1, c, t)

        changed = torch.zeros(n_groups, t, dtype=torch.bool, device=x.device)
        changed[ids.reshape(-1), torch.arange(t, device=x.device).expand(n * c, t).reshape(-1)] = True
        extents = time_extents(changed)
        ablated = select(evaluate(engine, x, n_groups, make_rows, self.progress, self.name, extents), sel)
        drop = select(outputs[:, None, :], sel) - ablated  # (N, G, K')
        k = drop.shape[2]
        flat = ids.reshape(n, 1, c * t).expand(n, k, c * t)
        values = drop.transpose(1, 2).gather(2, flat).reshape(n, k, c, t)
        return finish(values, sel), sel, outputs, {"n_groups": n_groups}
