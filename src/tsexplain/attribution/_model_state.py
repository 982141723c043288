"""Fold eval-mode BatchNorm into the preceding convolution for speed.

Eval mode itself is :func:`tsexplain._model_state.frozen_eval`.
"""

from __future__ import annotations

import copy
import itertools
import warnings
import weakref

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
    BatchNorm layers. The caller's model is never modified; the copy is reused while the
    model's parameters and buffers are unchanged (an in-place change or a replaced tensor folds
    afresh). A model that torch.fx cannot
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
    key = _state_key(model, probe)
    cached = _FOLDED.get(model)
    if cached is not None and cached[0] == key:
        return cached[1] if cached[1] is not None else model
    folded = _fold(model, probe)
    _FOLDED[model] = (key, None if folded is model else folded)
    return folded


#: The folded copy of each model (None: not foldable), with the parameter state it was made from.
_FOLDED: weakref.WeakKeyDictionary[nn.Module, tuple[tuple[object, ...], nn.Module | None]] = (
    weakref.WeakKeyDictionary()
)


def _state_key(model: nn.Module, probe: torch.Tensor) -> tuple[object, ...]:
    """Changes whenever a parameter or buffer of ``model`` is replaced or modified in place."""
    tensors = itertools.chain(model.parameters(), model.buffers())
    return (
        tuple((id(t), t._version, t.dtype, t.device) for t in tensors),
        probe.dtype, probe.device, tuple(probe.shape[1:]),
    )


def _fold(model: nn.Module, probe: torch.Tensor) -> nn.Module:
    """The folded copy of ``model`` checked on ``probe``, or ``model`` (see :func:`fold_batchnorm`)."""
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
