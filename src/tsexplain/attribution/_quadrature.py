"""Integration points and weights on [0, 1] for path methods (Integrated Gradients)."""

from __future__ import annotations

import numpy as np

from tsexplain._validation import check_choice
from tsexplain.exceptions import ParameterError

RULES = ("gausslegendre", "riemann_middle", "riemann_trapezoid", "riemann_left", "riemann_right")


def quadrature(steps: int, rule: str = "gausslegendre") -> tuple[np.ndarray, np.ndarray]:
    """Return ``(alphas, weights)`` of shape (steps,) so that sum(w f(a)) ~ integral_0^1 f.

    Parameters
    ----------
    steps : int
        Number of evaluation points (>= 1; >= 2 for the trapezoid rule).
    rule : str
        ``"gausslegendre"`` (default, exact for polynomials of degree 2*steps-1, as Captum's
        default), or a Riemann rule: ``"riemann_middle"``, ``"riemann_trapezoid"``,
        ``"riemann_left"``, ``"riemann_right"``.
    """
    check_choice(rule, "rule", RULES)
    if rule == "gausslegendre":
        nodes, w = np.polynomial.legendre.leggauss(steps)
        return (nodes + 1.0) / 2.0, w / 2.0
    if rule == "riemann_trapezoid":
        if steps < 2:
            raise ParameterError("the trapezoid rule needs steps >= 2")
        alphas = np.linspace(0.0, 1.0, steps)
        w = np.full(steps, 1.0 / (steps - 1))
        w[[0, -1]] /= 2.0
        return alphas, w
    w = np.full(steps, 1.0 / steps)
    offset = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}[rule]
    return (np.arange(steps) + offset) / steps, w
