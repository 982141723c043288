"""Saliency: the gradient of the output with respect to the input (Simonyan et al. 2013)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from tsexplain._targets import Selection
from tsexplain._typing import Target
from tsexplain._validation import check_bool
from tsexplain.attribution._base import Attribution
from tsexplain.attribution._engine import Engine


class Saliency(Attribution):
    """Gradient of the explained output with respect to every input value.

    ``A[n, c, t] = d f(x_n) / d x_n[c, t]``, signed by default; ``absolute=True`` gives
    Simonyan et al.'s ``|gradient|``. One forward and one backward pass per series.

    Parameters
    ----------
    model : torch.nn.Module or list of torch.nn.Module
        Model(s) mapping (N, C, T) to (N,) or (N, K); a list gives AGRA.
    absolute : bool
        Return the absolute gradient.
    **engine : Any
        ``memory_budget``, ``progress``, ``fold_batchnorm`` (see :class:`Attribution`).

    Notes
    -----
    A local, first-order view: where the output saturates (ReLU plateaus, sigmoid near 0/1) the
    gradient is small although the input matters; Integrated Gradients addresses this.

    References
    ----------
    Simonyan, Vedaldi, Zisserman (2013), Deep inside convolutional networks: visualising image
    classification models and saliency maps. arXiv:1312.6034.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import Saliency
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 1))
    >>> x = torch.randn(4, 2, 3)
    >>> res = Saliency(model).attribute(x)
    >>> res.shape
    (4, 2, 3)
    >>> bool(torch.allclose(torch.as_tensor(res.values[0]), model[1].weight.reshape(2, 3)))
    True
    """

    name = "saliency"
    kind = "gradient"
    unit = "output per input unit"
    attributes_additional = True

    def __init__(
        self, model: nn.Module | Sequence[nn.Module], absolute: bool = False, **engine: Any
    ) -> None:
        super().__init__(model, **engine)
        self.absolute = check_bool(absolute, "absolute")

    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine
    ) -> tuple[torch.Tensor, Selection, torch.Tensor, dict[str, Any]]:
        return self._attribute_input_gradient(x, target, engine, lambda g, x: g.abs() if self.absolute else g)

    def _attribute_selected(
        self, x: torch.Tensor, sel: Selection, engine: Engine, **call: Any
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        def reduce_additional(
            eg: tuple[torch.Tensor | None, ...], extras: tuple[torch.Tensor, ...], idx: torch.Tensor
        ) -> tuple[torch.Tensor | None, ...]:
            return tuple(None if g is None else (g.abs() if self.absolute else g) for g in eg)

        values = engine.map_samples(
            x, sel, 1, lambda xs, idx: xs, lambda g, xs, idx: g, reduce_additional=reduce_additional
        )
        return (values.abs() if self.absolute else values), {}
