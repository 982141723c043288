"""Gradient x input (Shrikumar et al. 2016)."""

from __future__ import annotations

from typing import Any

import torch

from tsexplain._targets import Selection
from tsexplain._typing import Target
from tsexplain.attribution._base import Attribution
from tsexplain.attribution._engine import Engine


def times_input(g: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
    """Multiply gradients (n, ...) or (n, K, ...) by the inputs (n, ...)."""
    return g * (xs[:, None] if g.ndim == xs.ndim + 1 else xs)


class GradientXInput(Attribution):
    """Gradient times input: ``A[n, c, t] = x[n, c, t] * d f(x_n) / d x_n[c, t]``.

    Signed. For a linear model without bias it is each term's contribution to the output and
    sums to ``f(x)``; it equals Integrated Gradients with a zero baseline for such models.

    Notes
    -----
    The sign mixes the gradient's and the input's signs, and an input value of 0 always gets 0
    attribution however much it matters: standardise series or prefer Integrated Gradients with
    a meaningful baseline.

    References
    ----------
    Shrikumar et al. (2016), Not just a black box: learning important features through
    propagating activation differences. arXiv:1605.01713.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import GradientXInput
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 1, bias=False))
    >>> x = torch.randn(4, 2, 3)
    >>> res = GradientXInput(model).attribute(x)
    >>> bool(torch.allclose(torch.as_tensor(res.values).sum((1, 2)), model(x)[:, 0], atol=1e-5))
    True
    """

    name = "gradient_x_input"
    kind = "gradient"
    unit = "output"
    attributes_additional = True

    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine
    ) -> tuple[torch.Tensor, Selection, torch.Tensor, dict[str, Any]]:
        return self._attribute_input_gradient(x, target, engine, times_input)

    def _attribute_selected(
        self, x: torch.Tensor, sel: Selection, engine: Engine, **call: Any
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        def reduce_additional(
            eg: tuple[torch.Tensor | None, ...], extras: tuple[torch.Tensor, ...], idx: torch.Tensor
        ) -> tuple[torch.Tensor | None, ...]:
            return tuple(None if g is None else times_input(g, e) for g, e in zip(eg, extras, strict=True))

        values = engine.map_samples(
            x, sel, 1, lambda xs, idx: xs, lambda g, xs, idx: times_input(g, xs),
            reduce_additional=reduce_additional,
        )
        return values, {}
