"""Fold eval-mode BatchNorm into the preceding convolution for speed.

Eval mode itself is :func:`tsexplain._model_state.frozen_eval`.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn
from torch.fx.proxy import TraceError

_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def has_batchnorm(model: nn.Module) -> bool:
    """Whether ``model`` holds a BatchNorm layer with running statistics."""
    return any(isinstance(m, _BN_TYPES) and m.track_running_stats for m in model.modules())


def fold_batchnorm(model: nn.Module, probe: torch.Tensor) -> nn.Module:
    """Return a copy of an eval-mode ``model`` with BatchNorm folded into the preceding conv.

    The folded weights ``w * gamma / sqrt(var + eps)`` and biases are computed in float64 and
    rounded once to the model's dtype, so the folded copy computes the same function to the
    rounding of one convolution (no larger than that of the convolution followed by
    BatchNorm). Input gradients are therefore the same, but each backward pass skips the
    BatchNorm layers. The caller's model is never modified. A model that torch.fx cannot
    trace, that has BatchNorm layers left after folding, or whose folded copy disagrees on
    ``probe``, is returned as it is.

    Parameters
    ----------
    model : torch.nn.Module
        A model in eval mode.
    probe : torch.Tensor of shape (n, C, T)
        A few inputs used to check the folded copy.

    Returns
    -------
    torch.nn.Module
        The folded copy (eval mode, parameters frozen), or ``model`` itself.
    """
    if not has_batchnorm(model):
        return model
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), probe.dtype)
    try:
        wide = copy.deepcopy(model).to(torch.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from torch.fx.experimental.optimization import fuse

            folded = fuse(wide, inplace=True)
    except _UNTRACEABLE:  # dynamic control flow, a Proxy where a value is needed, no deepcopy
        return model
    if has_batchnorm(folded):  # some BatchNorm could not be folded: no gain from the copy
        return model
    folded = folded.to(dtype).eval()
    for p in folded.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        ref = model(probe)
        new = folded(probe)
    if not isinstance(ref, torch.Tensor) or not isinstance(new, torch.Tensor):
        return model
    if ref.shape != new.shape or not torch.allclose(ref, new, rtol=1e-4, atol=1e-5):
        return model
    return folded


#: What torch.fx raises on a model it cannot trace (or copy.deepcopy on one it cannot copy).
_UNTRACEABLE = (TraceError, RuntimeError, TypeError, NotImplementedError)
