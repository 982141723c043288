"""LIME over (channel x time segment) groups (Ribeiro et al. 2016)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from tsexplain._targets import Selection
from tsexplain._typing import Baseline, Target
from tsexplain._validation import check_float, check_int
from tsexplain.attribution._base import Attribution
from tsexplain.attribution._coalitions import (
    coalition_outputs,
    count_unidentified,
    lime_coalitions,
    series_generator,
    solve_lime,
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
)


class Lime(Attribution):
    """Coefficients of a local linear surrogate fitted on random coalitions of groups.

    Each of ``n_coalitions`` coalitions keeps every group (by default each channel x time
    segment) with probability 1/2 and sets the others to the baseline. A linear model with
    intercept is fitted to the explained output on the coalition indicators, each coalition
    weighted by ``exp(-d^2 / kernel_width^2)`` with ``d = 1 - sqrt(|z| / G)`` the cosine distance
    between the coalition and the full series. Every cell of a group carries the group's
    coefficient. Signed. Unlike KernelSHAP the coefficients need not sum to ``f(x) - f(baseline)``.

    ``result.extras["fit_r2"]`` (shape (N,), or (N, K) for ``target="all"``) is the weighted
    R^2 of the surrogate: how much of the model's local behaviour the explanation captures.

    Parameters
    ----------
    model : torch.nn.Module or list of torch.nn.Module
        Model(s) mapping (N, C, T) to (N,) or (N, K); a list averages the outputs (AGRA).
    n_coalitions : int
        Coalitions evaluated per series (forward passes per series).
    groups : "cells", "channels", "segments", "steps" or int array
        The interpretable features; see :class:`FeatureAblation`.
    n_segments : int
        Number of time segments ("cells", "segments"), at most T (one step per segment).
    baseline : "zeros", "mean", float or array
        Values of the absent groups.
    kernel_width : float
        Width of the exponential kernel on the cosine distance (> 0; large values weight all
        coalitions alike).
    seed : int
        Seed of the coalitions, per series (results do not depend on the batch).

    Notes
    -----
    The surrogate is an ordinary weighted least-squares fit (no sparsity penalty): with fewer
    coalitions than groups it is under-determined, so use ``n_coalitions`` well above G.

    References
    ----------
    Ribeiro, Singh, Guestrin (2016), "Why should I trust you?": explaining the predictions of
    any classifier. KDD.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import Lime
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 1))
    >>> res = Lime(model, n_segments=3, n_coalitions=64).attribute(torch.randn(2, 2, 6))
    >>> res.shape, bool((res.extras["fit_r2"] > 0.99).all())
    ((2, 2, 6), True)
    """

    name = "lime"
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
        kernel_width: float = 0.25,
        seed: int = 0,
        **engine: Any,
    ) -> None:
        super().__init__(model, **engine)
        self.n_coalitions = check_int(n_coalitions, "n_coalitions", minimum=2)
        self.groups = groups
        self.n_segments = check_int(n_segments, "n_segments", minimum=1)
        self.baseline = baseline
        self.kernel_width = check_float(kernel_width, "kernel_width", minimum=0.0, strict=True)
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
            lime_coalitions(n_groups, self.n_coalitions, self.kernel_width, series_generator(self.seed, x[i]))
            for i in range(x.shape[0])
        ]
        y = coalition_outputs(engine, x, ids, base, [z for z, _ in draws], sel, self.progress, self.name)
        coefs, r2 = [], []
        for i, (z, w) in enumerate(draws):
            coef, fit = solve_lime(z, y[i].cpu(), w)
            coefs.append(coef)
            r2.append(fit)
        n_bad = count_unidentified(r2)
        warn_unidentified(self.name, n_bad, x.shape[0], n_groups, self.n_coalitions)
        values = spread(coefs, ids.cpu()).to(x)
        extras = {"fit_r2": per_output(torch.stack(r2), sel), "n_groups": n_groups}
        return finish(values, sel), sel, outputs, extras
