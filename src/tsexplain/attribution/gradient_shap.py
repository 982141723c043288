"""GradientSHAP: expected gradients over a baseline distribution (Lundberg and Lee 2017;
Erion et al. 2021)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from tsexplain._targets import Selection
from tsexplain._typing import Baseline, Target
from tsexplain._validation import check_float, check_int
from tsexplain.attribution._base import Attribution
from tsexplain.attribution._engine import Engine
from tsexplain.attribution._perturbation import describe_array, make_baseline
from tsexplain.attribution.smoothgrad import sample_generator
from tsexplain.exceptions import ShapeError


def baseline_distribution(baselines: Baseline, x: torch.Tensor) -> torch.Tensor:
    """Baselines to draw from, shape (N or 1, B, C, T).

    ``"zeros"``, ``"mean"`` or a number give one baseline per series; an array of shape
    (B, C, T) or (B, 1, T) is a distribution of B baselines shared by every series (e.g. training
    series); (C, T) is one shared baseline.
    """
    if isinstance(baselines, np.ndarray | torch.Tensor):
        b = torch.as_tensor(baselines, dtype=x.dtype, device=x.device)
        if b.ndim == 2:
            b = b[None]
        if b.ndim != 3 or b.shape[2] != x.shape[2] or b.shape[1] not in (1, x.shape[1]):
            raise ShapeError(
                f"baselines of shape {tuple(b.shape)}: expected a distribution of B baselines of "
                f"shape (B, C, T) = (B, {x.shape[1]}, {x.shape[2]}) (or (B, 1, T), or (C, T))"
            )
        return b.expand(-1, x.shape[1], -1)[None].contiguous()
    return make_baseline(baselines, x)[:, None]


class GradientShap(Attribution):
    """Expected gradients: gradient x (input - baseline) at random points between them.

    ``A[n] = E[ grad f(b + a (x_n + e - b)) * (x_n + e - b) ]`` over a baseline ``b`` drawn from
    the distribution, ``a ~ U(0, 1)`` and optional Gaussian noise ``e`` on the input, estimated
    with ``n_draws`` draws per series (seeded per series). Signed. In expectation the values sum
    to ``f(x) - E_b f(b)`` (SHAP's efficiency, for the model linearised along each path); with one
    baseline and no noise it is a Monte Carlo estimate of Integrated Gradients.

    Parameters
    ----------
    model : torch.nn.Module or list of torch.nn.Module
        Model(s) mapping (N, C, T) to (N,) or (N, K); a list gives AGRA.
    n_draws : int
        Random (baseline, point, noise) draws per series.
    baselines : "zeros", "mean", float or array
        The distribution: an array of shape (B, C, T) of reference series (typically training
        series), or one baseline per series ("zeros", "mean", a number).
    noise : float
        Standard deviation of the input noise as a fraction of each series' value range
        (0: none).
    seed : int
        Seed of the draws; each series draws from its own stream (batch-independent).

    Notes
    -----
    Cost: ``n_draws`` forward and backward passes per series, batched and chunked. The estimate's
    error falls as ``1/sqrt(n_draws)``.

    References
    ----------
    Lundberg, Lee (2017), A unified approach to interpreting model predictions. NeurIPS.
    Erion et al. (2021), Improving performance of deep learning models with axiomatic
    attribution priors and expected gradients. Nature Machine Intelligence.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import GradientShap
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 1))
    >>> refs = torch.randn(8, 2, 3)
    >>> GradientShap(model, n_draws=16, baselines=refs).attribute(torch.randn(3, 2, 3)).shape
    (3, 2, 3)
    """

    name = "gradient_shap"
    unit = "output"
    uses_baseline = True
    randomized = True
    cost_params = ("n_draws",)

    def __init__(
        self,
        model: nn.Module | Sequence[nn.Module],
        n_draws: int = 50,
        baselines: Baseline = "zeros",
        noise: float = 0.0,
        seed: int = 0,
        **engine: Any,
    ) -> None:
        super().__init__(model, **engine)
        self.n_draws = check_int(n_draws, "n_draws", minimum=1)
        self.baselines = baselines
        self.noise = check_float(noise, "noise", minimum=0.0)
        self.seed = check_int(seed, "seed")

    def params(self) -> dict[str, Any]:
        p = super().params()
        p["baselines"] = describe_array(p["baselines"])
        return p

    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine
    ) -> tuple[torch.Tensor, Selection, torch.Tensor, dict[str, Any]]:
        sel, outputs = self._select(x, target, engine)
        dist = baseline_distribution(self.baselines, x)
        s = self.n_draws
        pending: dict[int, torch.Tensor] = {}

        def make_rows(xs: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            points, deltas = [], []
            for j, i in enumerate(idx.tolist()):
                gen = sample_generator(self.seed, xs[j])
                b_all = dist[i if dist.shape[0] > 1 else 0]
                pick = torch.randint(b_all.shape[0], (s,), generator=gen)
                alpha = torch.rand(s, generator=gen).to(xs)[:, None, None]
                xn = xs[j][None].expand(s, -1, -1)
                if self.noise > 0:
                    sigma = self.noise * (xs[j].max() - xs[j].min())
                    eps = torch.randn((s, *xs.shape[1:]), generator=gen).to(xs)
                    xn = xn + sigma * eps
                b = b_all[pick.to(b_all.device)]
                delta = xn - b
                points.append(b + alpha * delta)
                deltas.append(delta)
            pending[int(idx[0])] = torch.stack(deltas)
            return torch.cat(points)

        def reduce(g: torch.Tensor, xs: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            delta = pending.pop(int(idx[0]))  # (n, S, C, T)
            g = g.reshape(xs.shape[0], s, *g.shape[1:])
            if g.ndim == 5:  # target "all": (n, S, K, C, T)
                return (g * delta[:, :, None]).mean(dim=1)
            return (g * delta).mean(dim=1)

        values = engine.map_samples(x, sel, s, make_rows, reduce)
        return values, sel, outputs, {}
