"""Fold eval-mode BatchNorm into the preceding convolution for speed.

Eval mode itself is :func:`tsexplain._model_state.frozen_eval`.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def has_batchnorm(model: nn.Module) -> bool:
    """Whether ``model`` holds a BatchNorm layer with running statistics."""
    return any(isinstance(m, _BN_TYPES) and m.track_running_stats for m in model.modules())


def fold_batchnorm(model: nn.Module, probe: torch.Tensor) -> nn.Module:
    """Return a copy of an eval-mode ``model`` with BatchNorm folded into the preceding conv.

    The function computed is unchanged (checked on ``probe`` to float rounding); input
    gradients are therefore the same, but each backward pass skips the BatchNorm layers.
    The caller's model is never modified. Models that torch.fx cannot trace, or whose
    folded copy disagrees on ``probe``, are returned as they are.

    Parameters
    ----------
    model : torch.nn.Module
        A model in eval mode.
    probe : torch.Tensor of shape (n, C, T)
        A few inputs used to check the folded copy.
    """
    if not has_batchnorm(model):
        return model
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from torch.fx.experimental.optimization import fuse

            folded = fuse(copy.deepcopy(model), inplace=True)
        folded.eval()
        for p in folded.parameters():
            p.requires_grad_(False)
        with torch.no_grad():
            ref = model(probe)
            new = folded(probe)
        if ref.shape != new.shape or not torch.allclose(ref, new, rtol=1e-4, atol=1e-5):
            return model
        if has_batchnorm(folded):  # some BatchNorm could not be folded: no gain from the copy
            return model
        return folded
    except Exception:  # noqa: BLE001 - any tracing failure means: use the model as it is
        return model
