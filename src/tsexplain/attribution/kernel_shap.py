"""KernelSHAP over (channel x time segment) groups (Lundberg and Lee 2017)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from tsexplain._targets import Selection
from tsexplain._typing import Baseline, Target
from tsexplain._validation import check_int
from tsexplain.attribution._base import Attribution
from tsexplain.attribution._coalitions import (
    coalition_outputs,
    count_unidentified,
    series_generator,
    shapley_coalitions,
    solve_shapley,
    spread,
    warn_unidentified,
)
from tsexplain.attribution._engine import Engine
from tsexplain.attribution._perturbation import (
    describe_array,
    finish,
    group_ids,
    make_baseline,
    per_output,
    select,
)


class KernelShap(Attribution):
    """Shapley values of groups of cells, estimated by the Kernel SHAP regression.

    The players are groups of cells (by default each channel x time segment). A coalition keeps
    its groups and sets the others to the baseline. The Shapley value ``phi_g`` of group ``g``
    is its average marginal contribution over coalitions; Kernel SHAP estimates all of them at
    once by a weighted least-squares fit of the output on the coalition indicators, constrained
    so that ``sum_g phi_g = f(x) - f(baseline)`` (efficiency). With ``2^G - 2 <= n_coalitions``
    every coalition is evaluated and the values are exact; otherwise ``n_coalitions`` are drawn
    from the Shapley kernel (in complementary pairs), seeded per series. Every cell of a group
    carries the group's value. Signed.

    ``result.extras["fit_r2"]`` (shape (N,), or (N, K) for ``target="all"``) is the weighted
    R^2 of the additive fit on the coalitions: near 1 when the model is close to additive in the
    groups; low values warn that interactions between groups dominate. ``extras["n_groups"]``
    is G.

    Parameters
    ----------
    model : torch.nn.Module or list of torch.nn.Module
        Model(s) mapping (N, C, T) to (N,) or (N, K); a list averages the outputs (AGRA).
    n_coalitions : int
        Coalitions evaluated per series (forward passes per series).
    groups : "cells", "channels", "segments", "steps" or int array
        The players; see :class:`FeatureAblation`.
    n_segments : int
        Number of time segments ("cells", "segments"), at most T (one step per segment).
    baseline : "zeros", "mean", float or array
        Values of the absent groups.
    seed : int
        Seed of the coalitions; each series draws from its own stream (derived from the seed and
        the series' values), so results do not depend on the batch.

    Notes
    -----
    For a linear model, ``phi_g = sum over the cells of g of w * (x - baseline)`` exactly.
    The error of a sampled estimate falls as ``1/sqrt(n_coalitions)``; use at least ``2 G``.

    References
    ----------
    Lundberg, Lee (2017), A unified approach to interpreting model predictions. NeurIPS.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import KernelShap
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 1))
    >>> res = KernelShap(model, n_segments=3).attribute(torch.randn(2, 2, 6))
    >>> res.shape, res.extras["n_groups"]
    ((2, 2, 6), 6)
    """

    name = "kernel_shap"
    kind = "perturbation"
    unit = "output"
    uses_baseline = True
    randomized = True
    cost_params = ("n_coalitions",)

    def __init__(
        self,
        model: nn.Module | Sequence[nn.Module],
        n_coalitions: int = 256,
        groups: Any = "cells",
        n_segments: int = 10,
        baseline: Baseline = "zeros",
        seed: int = 0,
        **engine: Any,
    ) -> None:
        super().__init__(model, **engine)
        self.n_coalitions = check_int(n_coalitions, "n_coalitions", minimum=2)
        self.groups = groups
        self.n_segments = check_int(n_segments, "n_segments", minimum=1)
        self.baseline = baseline
        self.seed = check_int(seed, "seed")

    def params(self) -> dict[str, Any]:
        p = super().params()
        p["baseline"] = describe_array(p["baseline"])
        p["groups"] = describe_array(p["groups"])
        return p

    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine
    ) -> tuple[torch.Tensor, Selection, torch.Tensor, dict[str, Any]]:
        ids = group_ids(self.groups, x, self.n_segments)
        sel, outputs = self._select(x, target, engine)
        base = make_baseline(self.baseline, x)
        n_groups = int(ids.max()) + 1
        draws = [
            shapley_coalitions(n_groups, self.n_coalitions, series_generator(self.seed, x[i]))
            for i in range(x.shape[0])
        ]
        # row 0 of every series is the empty coalition (all groups at the baseline)
        coalitions = [torch.cat([torch.zeros(1, n_groups), z]) for z, _ in draws]
        y = coalition_outputs(engine, x, ids, base, coalitions, sel, self.progress, self.name)
        full = select(outputs[:, None, :], sel)[:, 0]  # (N, K')
        phis, r2 = [], []
        for i, (z, w) in enumerate(draws):
            phi, fit = solve_shapley(z, y[i, 1:].cpu(), w, y[i, 0].cpu().double(), full[i].cpu().double())
            phis.append(phi)
            r2.append(fit)
        n_bad = count_unidentified(r2)
        warn_unidentified(self.name, n_bad, x.shape[0], n_groups, self.n_coalitions)
        values = spread(phis, ids.cpu()).to(x)
        extras = {"fit_r2": per_output(torch.stack(r2), sel), "n_groups": n_groups}
        return finish(values, sel), sel, outputs, extras
