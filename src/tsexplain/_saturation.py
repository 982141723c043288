"""When is a probability output saturated (TSViz Proposition 1): the one rule of the package.

A sample is saturated when the probability of its explained output (the top class when no
output is chosen) lies within ``tol`` of 0 or 1: the derivative ``p (1 - p)`` of a sigmoid, and
``p_i (delta_ij - p_j)`` of a softmax, then vanish, and so does every gradient through the output.
Attribution (which warns) and :func:`tsexplain.network.detect_saturation` (which reports) both
use :func:`saturated`.
"""

from __future__ import annotations

import torch
from torch import nn

#: Default tolerance: probabilities within 1e-4 of 0 or 1 are saturated.
SATURATION_TOL = 1e-4

#: Final layers whose output is a probability (LogSoftmax: a log-probability).
PROBABILITY_LAYERS = (nn.Sigmoid, nn.Softmax, nn.Softmin, nn.LogSoftmax)


def final_activation(model: nn.Module) -> nn.Module | None:
    """The model's last leaf module if it turns logits into probabilities, else ``None``.

    Examples
    --------
    >>> from torch import nn
    >>> final_activation(nn.Sequential(nn.Linear(2, 1), nn.Sigmoid()))
    Sigmoid()
    >>> final_activation(nn.Linear(2, 1)) is None
    True
    """
    last = None
    for m in model.modules():
        if next(m.children(), None) is None:
            last = m
    return last if isinstance(last, PROBABILITY_LAYERS) else None


def looks_like_probabilities(outputs: torch.Tensor) -> bool:
    """Whether (N, K) outputs with K > 1 are rows of probabilities (a softmax inside forward)."""
    return (
        outputs.ndim == 2
        and outputs.shape[1] > 1
        and bool(((outputs >= 0) & (outputs <= 1)).all())
        and bool(torch.allclose(outputs.sum(1), torch.ones(1, dtype=outputs.dtype), atol=1e-4))
    )


def explained_probability(
    outputs: torch.Tensor, final: nn.Module | None, index: torch.Tensor | None = None
) -> torch.Tensor:
    """Probability of each sample's explained output (the top one when ``index`` is None).

    ``outputs`` (N, K) are probabilities, or log-probabilities when ``final`` is a LogSoftmax.
    """
    probs = outputs.exp() if isinstance(final, nn.LogSoftmax) else outputs
    if index is not None:
        return probs.gather(1, index.to(probs.device)[:, None])[:, 0]
    return probs.max(dim=1).values


def saturated(probability: torch.Tensor, tol: float = SATURATION_TOL) -> torch.Tensor:
    """Boolean mask: ``probability`` within ``tol`` of 0 or 1 (the saturation rule).

    Examples
    --------
    >>> import torch
    >>> saturated(torch.tensor([0.5, 0.99999, 0.00001])).tolist()
    [False, True, True]
    """
    return (probability > 1 - tol) | (probability < tol)


__all__ = [
    "PROBABILITY_LAYERS",
    "SATURATION_TOL",
    "explained_probability",
    "final_activation",
    "looks_like_probabilities",
    "saturated",
]
