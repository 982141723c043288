"""Integrated Gradients (Sundararajan et al. 2017)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from tsexplain._targets import Selection
from tsexplain._typing import Baseline, Target
from tsexplain._validation import check_choice, check_int
from tsexplain.attribution._base import Attribution
from tsexplain.attribution._engine import Engine
from tsexplain.attribution._quadrature import RULES, quadrature
from tsexplain.attribution.gradient_x_input import times_input
from tsexplain.exceptions import ParameterError, ShapeError


def check_baseline(baseline: Baseline) -> Baseline:
    """Check a baseline's form before any input is seen (a clear error early)."""
    if isinstance(baseline, str):
        return check_choice(baseline, "baseline", ("zeros", "mean"))
    if isinstance(baseline, bool):
        raise ParameterError(f"baseline must be 'zeros', 'mean', a number or an array, got {baseline!r}")
    if isinstance(baseline, int | float | np.integer | np.floating):
        if not np.isfinite(float(baseline)):
            raise ParameterError(f"baseline must be finite, got {baseline!r}")
        return baseline
    if isinstance(baseline, np.ndarray | torch.Tensor):
        if baseline.ndim not in (0, 2, 3):
            raise ShapeError(
                f"baseline of shape {tuple(baseline.shape)}: expected a scalar, (C, T) (one "
                f"baseline for every series), (1, C, T) or (N, C, T) (one per series)"
            )
        if not bool(torch.isfinite(torch.as_tensor(baseline)).all()):
            raise ParameterError("baseline contains NaN or Inf")
        return baseline
    raise ParameterError(
        f"baseline must be 'zeros', 'mean', a number or an array, got {type(baseline).__name__}"
    )


def make_baseline(baseline: Baseline, x: torch.Tensor) -> torch.Tensor:
    """The baseline as a tensor of x's shape (N, C, T).

    ``"zeros"``, ``"mean"`` (each series' per-channel mean over time), a scalar, or an array of
    shape (C, T), (1, C, T) or (N, C, T).

    Raises
    ------
    ShapeError
        An array whose shape is none of these for ``x``.
    """
    baseline = check_baseline(baseline)
    if isinstance(baseline, str):
        if baseline == "zeros":
            return torch.zeros_like(x)
        return x.mean(dim=2, keepdim=True).expand_as(x)
    if not isinstance(baseline, np.ndarray | torch.Tensor):
        return torch.full_like(x, float(baseline))
    b = torch.as_tensor(baseline, dtype=x.dtype, device=x.device)
    n, c, t = x.shape
    if b.ndim == 0:
        return b.expand_as(x)
    if b.ndim == 2 and tuple(b.shape) == (c, t) or b.ndim == 3 and tuple(b.shape) in ((1, c, t), (n, c, t)):
        return b.expand_as(x)
    raise ShapeError(
        f"baseline of shape {tuple(b.shape)} does not fit x of shape {tuple(x.shape)} (N, C, T); "
        f"pass ({c}, {t}), (1, {c}, {t}), ({n}, {c}, {t}), a scalar, 'zeros' or 'mean'"
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
    kind = "gradient"
    unit = "output"
    uses_baseline = True
    cost_params = ("steps",)
    attributes_additional = True

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
        self.baseline = check_baseline(baseline)
        self.rule = check_choice(rule, "rule", RULES)
        quadrature(self.steps, self.rule)  # fails early on steps < 2 with the trapezoid rule

    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine, *, baseline: Baseline | None = None
    ) -> tuple[torch.Tensor, Selection, torch.Tensor, dict[str, Any]]:
        sel, outputs = self._select(x, target, engine)
        base = make_baseline(self.baseline if baseline is None else baseline, x)
        values, grads_extras = self._integrate(x, sel, engine, base)
        joint = engine.attribute_additional
        # the baseline of floating extras is zero when they are attributed (moved along the path)
        base_extras = tuple(torch.zeros_like(e) if joint and e.is_floating_point() else e
                            for e in engine.additional)
        out_base = engine.outputs(base.contiguous(), extras=base_extras)
        if sel.mode == "all":
            diff = outputs - out_base
            total = values.sum(dim=(-2, -1))
            for v in grads_extras:
                total = total + v.reshape(*v.shape[:2], -1).sum(-1)
        else:
            col = sel.index[:, None] if sel.index is not None else torch.zeros(len(x), 1, dtype=torch.long)
            diff = (outputs.gather(1, col) - out_base.gather(1, col))[:, 0]
            total = values.sum(dim=(1, 2))
            for v in grads_extras:
                total = total + v.reshape(v.shape[0], -1).sum(-1)
        extras = {
            "completeness_gap": (total - diff).detach().cpu().numpy(),
            "output_difference": diff.detach().cpu().numpy(),
        }
        return values, sel, outputs, extras

    def _attribute_selected(
        self, x: torch.Tensor, sel: Selection, engine: Engine, **call: Any
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        baseline = call.get("baseline")
        base = make_baseline(self.baseline if baseline is None else baseline, x)
        return self._integrate(x, sel, engine, base)[0], {}

    def _integrate(
        self, x: torch.Tensor, sel: Selection, engine: Engine, base: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Values (N, C, T) or (N, K, C, T), and the attributed extras (if asked for)."""
        alphas_np, weights_np = quadrature(self.steps, self.rule)
        alphas = torch.as_tensor(alphas_np, dtype=x.dtype, device=x.device)
        weights = torch.as_tensor(weights_np, dtype=x.dtype, device=x.device)
        s = self.steps

        def make_rows(xs: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            b = base[idx]
            rows = b[:, None] + alphas[None, :, None, None] * (xs - b)[:, None]
            return rows.reshape(-1, *xs.shape[1:])

        def weighted(g: torch.Tensor, n: int) -> torch.Tensor:
            g = g.reshape(n, s, *g.shape[1:])
            w = weights.reshape(1, s, *([1] * (g.ndim - 2)))
            return (g * w).sum(dim=1)

        def reduce(g: torch.Tensor, xs: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            avg = weighted(g, xs.shape[0])
            delta = xs - base[idx]
            return avg * (delta[:, None] if avg.ndim == 4 else delta)

        def make_additional(extras: tuple[torch.Tensor, ...], idx: torch.Tensor) -> tuple[torch.Tensor, ...]:
            out = []
            for e in extras:  # floating extras move from 0 to their value with the series
                if e.is_floating_point():
                    a = alphas.reshape(1, s, *([1] * (e.ndim - 1)))
                    out.append((a * e[:, None]).reshape(-1, *e.shape[1:]))
                else:
                    out.append(e.repeat_interleave(s, dim=0))
            return tuple(out)

        def reduce_additional(
            eg: tuple[torch.Tensor | None, ...], extras: tuple[torch.Tensor, ...], idx: torch.Tensor
        ) -> tuple[torch.Tensor | None, ...]:
            return tuple(None if g is None else times_input(weighted(g, e.shape[0]), e)
                         for g, e in zip(eg, extras, strict=True))

        joint = engine.attribute_additional
        values = engine.map_samples(
            x, sel, s, make_rows, reduce, reduce_additional=reduce_additional,
            make_additional=make_additional if joint else None,
        )
        attributed = [v for v in engine.additional_values if v is not None] if joint else []
        return values, attributed
