"""Coalitions of groups and the weighted linear fits of KernelSHAP and LIME.

A coalition ``z`` in {0, 1}^G keeps the groups with ``z_g = 1`` and replaces the others by the
baseline. Both methods run the model on many coalitions per series and fit a linear model of
the output on ``z``; they differ in how coalitions are drawn and weighted and in the fit's
constraints.
"""

from __future__ import annotations

import math
from itertools import combinations

import torch

from tsexplain._targets import Selection
from tsexplain._warnings import warn_caller
from tsexplain.attribution._engine import Engine
from tsexplain.attribution._perturbation import evaluate, select
from tsexplain.attribution.smoothgrad import sample_generator

#: Enumerate every coalition (exact Shapley values) when there are at most this many.
MAX_ENUMERATED = 4096


def enough_coalitions(n_groups: int) -> int:
    """Coalitions per series for a batch run to identify every one of ``n_groups`` groups:
    ``2 G + 32`` (at least the ``2 G`` that :func:`warn_unidentified` asks for, with a margin).

    Examples
    --------
    >>> enough_coalitions(15)
    62
    """
    return 2 * n_groups + 32


def shapley_coalitions(n_groups: int, n_coalitions: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Coalitions (S, G) and their regression weights (S,) for KernelSHAP.

    With ``2^G - 2 <= n_coalitions`` every proper non-empty coalition is listed once with the
    Shapley kernel weight ``(G - 1) / (C(G, k) k (G - k))`` (the fit then gives the exact
    Shapley values). Otherwise coalition sizes ``k`` are drawn with probability proportional
    to ``(G - 1) / (k (G - k))``, members uniformly, each with its complement (paired sampling),
    and all weights are 1.
    """
    g = n_groups
    if g == 1:
        return torch.zeros(0, 1), torch.zeros(0)
    if (1 << g) - 2 <= min(n_coalitions, MAX_ENUMERATED):
        rows, weights = [], []
        for k in range(1, g):
            w = (g - 1) / (math.comb(g, k) * k * (g - k))
            for members in combinations(range(g), k):
                z = torch.zeros(g)
                z[list(members)] = 1.0
                rows.append(z)
                weights.append(w)
        return torch.stack(rows), torch.tensor(weights, dtype=torch.float64)
    sizes = torch.arange(1, g, dtype=torch.float64)
    p = (g - 1) / (sizes * (g - sizes))
    n_pairs = (n_coalitions + 1) // 2
    drawn = torch.multinomial(p / p.sum(), n_pairs, replacement=True, generator=gen) + 1
    order = torch.rand(n_pairs, g, generator=gen).argsort(dim=1)
    ranks = order.argsort(dim=1)
    z = (ranks < drawn[:, None]).to(torch.float32)
    z = torch.stack([z, 1.0 - z], dim=1).reshape(-1, g)[:n_coalitions]
    return z, torch.ones(z.shape[0], dtype=torch.float64)


def lime_coalitions(n_groups: int, n_coalitions: int, kernel_width: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Coalitions (S, G), each group kept with probability 1/2, and LIME's weights (S,).

    The weight is ``exp(-d^2 / kernel_width^2)`` with ``d`` the cosine distance between the
    coalition and the full series (all ones): ``d = 1 - sqrt(|z| / G)``.
    """
    z = (torch.rand(n_coalitions, n_groups, generator=gen) < 0.5).to(torch.float32)
    d = 1.0 - torch.sqrt(z.sum(dim=1).double() / n_groups)
    return z, torch.exp(-(d**2) / kernel_width**2)


def coalition_outputs(
    engine: Engine,
    x: torch.Tensor,
    ids: torch.Tensor,
    base: torch.Tensor,
    coalitions: list[torch.Tensor],
    sel: Selection,
    progress: bool | None,
    desc: str,
) -> torch.Tensor:
    """Selected outputs (N, S, K') on every series' coalitions (each (S, G_n))."""
    n_rows = coalitions[0].shape[0]
    c, t = x.shape[1:]

    def make_rows(xs: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        rows = []
        for j, i in enumerate(idx.tolist()):
            z = coalitions[i].to(xs)
            keep = z[:, ids[i].reshape(-1)].reshape(-1, c, t) > 0.5  # (S, C, T)
            rows.append(torch.where(keep, xs[j][None], base[i][None]))
        return torch.cat(rows)

    return select(evaluate(engine, x, n_rows, make_rows, progress, desc), sel)


def series_generator(seed: int, series: torch.Tensor) -> torch.Generator:
    """A generator that depends only on the seed and the series' values (batch-independent)."""
    return sample_generator(seed, series)


def weighted_r2(y: torch.Tensor, fit: torch.Tensor, w: torch.Tensor, full_rank: bool = True) -> torch.Tensor:
    """Weighted R^2 per output column: y, fit (S, K'), w (S,) -> (K',).

    NaN when the weighted design was not ``full_rank``: with fewer independent coalitions than
    unknowns the least-squares fit interpolates the coalitions exactly, and its R^2 of 1 would
    say nothing about the model.
    """
    if not full_rank:
        return torch.full(y.shape[1:], float("nan"), dtype=y.dtype)
    mean = (w[:, None] * y).sum(0) / w.sum()
    ss_res = (w[:, None] * (y - fit) ** 2).sum(0)
    ss_tot = (w[:, None] * (y - mean) ** 2).sum(0)
    return torch.where(ss_tot > 0, 1.0 - ss_res / ss_tot.clamp(min=1e-300), torch.ones_like(ss_tot))


def _weighted_lstsq(design: torch.Tensor, rhs: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """Weighted least squares of ``rhs`` (S, K') on ``design`` (S, P): the solution (P, K') and
    whether the weighted design has full column rank (every unknown identified)."""
    sw = w.sqrt()[:, None]
    out = torch.linalg.lstsq(design * sw, rhs * sw, driver="gelsd")
    return out.solution, int(out.rank) == design.shape[1]


def solve_shapley(
    z: torch.Tensor, y: torch.Tensor, w: torch.Tensor, f_empty: torch.Tensor, f_full: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Kernel SHAP regression with efficiency: ``phi`` (G, K') summing to f_full - f_empty.

    Weighted least squares of ``y - f_empty`` on ``z`` subject to ``sum(phi) = f_full -
    f_empty``, solved by eliminating the last group (as in the original Kernel SHAP). Returns
    ``phi`` and the weighted R^2 of the fit (K',), NaN when the coalitions do not separate
    every group (a rank-deficient design, :func:`weighted_r2`).
    """
    z, y, w = z.double(), y.double(), w.double()
    delta = f_full - f_empty  # (K',)
    g = z.shape[1]
    if g == 1:
        phi = delta[None, :].clone()
        return phi, torch.ones_like(delta)
    design = z[:, :-1] - z[:, -1:]
    rhs = y - f_empty[None] - z[:, -1:] * delta[None]
    beta, full_rank = _weighted_lstsq(design, rhs, w)  # (G-1, K')
    phi = torch.cat([beta, (delta - beta.sum(0))[None]], dim=0)
    fit = f_empty[None] + z @ phi
    return phi, weighted_r2(y, fit, w, full_rank)


def count_unidentified(r2: list[torch.Tensor]) -> int:
    """How many series' fits were rank-deficient (their R^2, from :func:`solve_shapley` or
    :func:`solve_lime`, is NaN): their coalitions did not separate every group."""
    return sum(bool(torch.isnan(r).any()) for r in r2)


def warn_unidentified(method: str, n_bad: int, n: int, n_groups: int, n_coalitions: int) -> None:
    """Warn that some series' coalitions did not separate every group."""
    if n_bad:
        warn_caller(
            f"{method}: for {n_bad} of {n} series the {n_coalitions} coalitions do not separate "
            f"all {n_groups} groups (some groups were always kept or removed together), so their "
            f"values are not identified; raise n_coalitions (at least 2 x {n_groups}) or use "
            f"fewer groups (n_segments)"
        )


def solve_lime(z: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted least squares with intercept: coefficients (G, K') and weighted R^2 (K'), NaN
    when the coalitions do not separate every group (a rank-deficient design)."""
    z, y, w = z.double(), y.double(), w.double()
    design = torch.cat([torch.ones(z.shape[0], 1, dtype=z.dtype), z], dim=1)
    coef, full_rank = _weighted_lstsq(design, y, w)
    fit = design @ coef
    return coef[1:], weighted_r2(y, fit, w, full_rank)


def spread(phi: list[torch.Tensor], ids: torch.Tensor) -> torch.Tensor:
    """Group values (G_n, K') of each series onto its cells: (N, K', C, T)."""
    out = []
    for i, p in enumerate(phi):
        out.append(p.T[:, ids[i]])  # (K', C, T)
    return torch.stack(out)
