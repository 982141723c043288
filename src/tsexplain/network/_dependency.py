"""Which input steps each activation depends on, and a colouring of the input steps for JVPs.

A time-series CNN has a finite receptive field: activation step ``t'`` depends only on input
steps within a window of width ``R``. Input steps ``t`` with the same ``t mod R`` then never
feed the same activation step, so one Jacobian-vector product whose tangent is 1 on all steps
of one residue ("colour") recovers every ``d a[., t'] / d x[c, t]`` separately. ``C x R`` JVPs
give the whole Jacobian, however many filters the layer has.

The dependency pattern is found structurally, not from gradient values (a ReLU can make a
gradient zero where a dependency exists): a NaN placed at input step ``t`` turns exactly the
activations that depend on it into NaN (NaN x 0 is NaN). Results are cached per model, layer
and input shape.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch
from torch import nn

from tsexplain.network._hooks import run_until_captured


@dataclass(frozen=True)
class ColorPlan:
    """``width``: colours R; ``index[j, t']``: the input step of colour j feeding step t'; ``valid``."""

    width: int
    index: torch.Tensor  # (R, T') long
    valid: torch.Tensor  # (R, T') bool


_CACHE: weakref.WeakKeyDictionary[nn.Module, dict[tuple, ColorPlan | None]] = weakref.WeakKeyDictionary()


def dependency_pattern(
    model: nn.Module, module: nn.Module, sample: torch.Tensor, *, inputs: bool, chunk: int = 256
) -> torch.Tensor:
    """Boolean (T, T'): does step t' of the captured tensor depend on input step t (any channel)?"""
    n_channels, n_steps = sample.shape[1], sample.shape[2]
    rows = []
    with torch.no_grad():
        for start in range(0, n_steps, chunk):
            stop = min(start + chunk, n_steps)
            probe = sample[:1].detach().expand(stop - start, n_channels, n_steps).clone()
            steps = torch.arange(start, stop, device=sample.device)
            probe[torch.arange(stop - start, device=sample.device), :, steps] = float("nan")
            h = run_until_captured(model, probe, [module], inputs=inputs)[module]
            rows.append(torch.isnan(h).flatten(1, -2).any(dim=1) if h.ndim == 3 else torch.isnan(h))
    return torch.cat(rows, dim=0).cpu()


def color_plan(
    model: nn.Module, module: nn.Module, sample: torch.Tensor, *, inputs: bool
) -> ColorPlan | None:
    """Colouring of the input steps for ``module``'s output (or input); None if not found."""
    key = (id(module), inputs, tuple(sample.shape[1:]), sample.dtype)
    per_model = _CACHE.setdefault(model, {})
    if key in per_model:
        return per_model[key]
    dep = dependency_pattern(model, module, sample, inputs=inputs)  # (T, T')
    plan: ColorPlan | None = None
    if not bool(torch.isnan(run_until_captured(model, sample[:1], [module], inputs=inputs)[module]).any()):
        steps = torch.arange(dep.shape[0])[:, None].expand_as(dep)
        any_dep = dep.any(dim=0)
        lo = torch.where(dep, steps, dep.shape[0]).amin(dim=0)
        hi = torch.where(dep, steps, -1).amax(dim=0)
        width = int((hi - lo + 1)[any_dep].max()) if bool(any_dep.any()) else 1
        residue = steps % width
        index = torch.zeros(width, dep.shape[1], dtype=torch.long)
        valid = torch.zeros(width, dep.shape[1], dtype=torch.bool)
        for j in range(width):
            m = dep & (residue == j)
            valid[j] = m.any(dim=0)
            index[j] = m.to(torch.int8).argmax(dim=0)
        plan = ColorPlan(width=width, index=index, valid=valid)
    per_model[key] = plan
    return plan
