"""Integrated Gradients (Sundararajan et al. 2017)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from tsexplain._typing import Baseline, Target
from tsexplain._validation import check_choice, check_int
from tsexplain.attribution._base import Attribution
from tsexplain.attribution._engine import Engine
from tsexplain.attribution._quadrature import RULES, quadrature
from tsexplain.attribution._targets import Selection
from tsexplain.exceptions import ParameterError, ShapeError


def make_baseline(baseline: Baseline, x: torch.Tensor) -> torch.Tensor:
    """The baseline as a tensor broadcast to x's shape (N, C, T).

    ``"zeros"``, a scalar, or an array of shape (N, C, T), (1, C, T), (C, T) or anything that
    broadcasts to x; ``"mean"`` uses each series' per-channel mean over time.
    """
    if isinstance(baseline, str):
        check_choice(baseline, "baseline", ("zeros", "mean"))
        if baseline == "zeros":
            return torch.zeros_like(x)
        return x.mean(dim=2, keepdim=True).expand_as(x)
    if isinstance(baseline, int | float | np.integer | np.floating) and not isinstance(baseline, bool):
        return torch.full_like(x, float(baseline))
    if isinstance(baseline, np.ndarray | torch.Tensor):
        b = torch.as_tensor(baseline, dtype=x.dtype, device=x.device)
        try:
            if b.ndim > 3:
                raise RuntimeError("too many dimensions")
            return b.expand_as(x)
        except RuntimeError as err:
            raise ShapeError(
                f"baseline of shape {tuple(b.shape)} does not broadcast to x's shape "
                f"{tuple(x.shape)} (N, C, T); pass (N, C, T), (1, C, T), (C, T) or a scalar"
            ) from err
    raise ParameterError(
        f"baseline must be 'zeros', 'mean', a number or an array, got {type(baseline).__name__}"
    )


class IntegratedGradients(Attribution):
    """Path integral of the gradient from a baseline to the input.

    ``A[n] = (x_n - b_n) * integral_0^1 grad f(b_n + a (x_n - b_n)) da``, approximated with
    ``steps`` points of a quadrature rule (Gauss-Legendre by default, as Captum). Signed. The
    values satisfy completeness: ``sum A[n] = f(x_n) - f(b_n)`` up to the integration error,
    reported per sample in ``result.extras["completeness_gap"]`` (shape (N,), or (N, K) for
    ``target="all"``) together with ``extras["output_difference"]``.

    Parameters
    ----------
    model : torch.nn.Module or list of torch.nn.Module
        Model(s) mapping (N, C, T) to (N,) or (N, K); a list gives AGRA.
    steps : int
        Integration points.
    baseline : "zeros", "mean", float or array
        The reference input; see :func:`make_baseline`.
    rule : str
        Quadrature rule: "gausslegendre", "riemann_middle", "riemann_trapezoid",
        "riemann_left", "riemann_right".

    Notes
    -----
    The result depends on the baseline: a zero baseline means "the signal absent", which for
    standardised series is "the mean level". Cost: ``steps`` forward and backward passes per
    series, batched and chunked.

    References
    ----------
    Sundararajan, Taly, Yan (2017), Axiomatic attribution for deep networks. ICML.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import IntegratedGradients
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 1), torch.nn.Tanh())
    >>> res = IntegratedGradients(model, steps=64).attribute(torch.randn(3, 2, 3))
    >>> bool(abs(res.extras["completeness_gap"]).max() < 1e-4)
    True
    """

    name = "integrated_gradients"
    uses_baseline = True

    def __init__(
        self,
        model: nn.Module | Sequence[nn.Module],
        steps: int = 50,
        baseline: Baseline = "zeros",
        rule: str = "gausslegendre",
        **engine: Any,
    ) -> None:
        super().__init__(model, **engine)
        self.steps = check_int(steps, "steps", minimum=1)
        self.baseline = baseline
        self.rule = check_choice(rule, "rule", RULES)
        quadrature(self.steps, self.rule)  # fails early on steps < 2 with the trapezoid rule

    def params(self) -> dict[str, Any]:
        p = super().params()
        if not isinstance(p["baseline"], str | int | float):
            p["baseline"] = f"array{tuple(np.shape(p['baseline']))}"
        return p

    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine
    ) -> tuple[torch.Tensor, Selection, torch.Tensor, dict[str, Any]]:
        sel, outputs = self._select(x, target, engine)
        base = make_baseline(self.baseline, x)
        alphas_np, weights_np = quadrature(self.steps, self.rule)
        alphas = torch.as_tensor(alphas_np, dtype=x.dtype, device=x.device)
        weights = torch.as_tensor(weights_np, dtype=x.dtype, device=x.device)
        s = self.steps

        def make_rows(xs: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            b = base[idx]
            rows = b[:, None] + alphas[None, :, None, None] * (xs - b)[:, None]
            return rows.reshape(-1, *xs.shape[1:])

        def reduce(g: torch.Tensor, xs: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            g = g.reshape(xs.shape[0], s, *g.shape[1:])
            w = weights.reshape(1, s, *([1] * (g.ndim - 2)))
            avg = (g * w).sum(dim=1)
            delta = xs - base[idx]
            return avg * (delta[:, None] if avg.ndim == 4 else delta)

        values = engine.map_samples(x, sel, s, make_rows, reduce)
        out_base = engine.outputs(base.contiguous())
        if sel.mode == "all":
            diff = outputs - out_base
            total = values.sum(dim=(-2, -1))
        else:
            col = sel.index[:, None] if sel.index is not None else torch.zeros(len(x), 1, dtype=torch.long)
            diff = (outputs.gather(1, col) - out_base.gather(1, col))[:, 0]
            total = values.sum(dim=(1, 2))
        extras = {
            "completeness_gap": (total - diff).detach().cpu().numpy(),
            "output_difference": diff.detach().cpu().numpy(),
        }
        return values, sel, outputs, extras
