"""Run models without side effects: the one eval/frozen context and the device/dtype helper."""

from __future__ import annotations

import contextlib
import itertools
import warnings
from collections.abc import Iterator, Sequence

import torch
from torch import nn


@contextlib.contextmanager
def frozen_eval(models: nn.Module | Sequence[nn.Module]) -> Iterator[None]:
    """Run ``models`` in eval mode with parameters not requiring grad; restore both afterwards.

    Dropout is off and batch-norm uses its running statistics; gradients with respect to inputs
    or activations never build weight gradients nor touch ``param.grad``. Every module's
    ``training`` flag and every parameter's ``requires_grad`` come back as found, also when the
    block raises.

    Parameters
    ----------
    models : torch.nn.Module or sequence of torch.nn.Module

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(2, 2), nn.Dropout()).train()
    >>> with frozen_eval(net):
    ...     net.training, net[0].weight.requires_grad
    (False, False)
    >>> net.training, net[0].weight.requires_grad
    (True, True)
    """
    group = [models] if isinstance(models, nn.Module) else list(models)
    # one walk over the modules; only what has to change is changed (and restored): most calls
    # find a frozen eval model
    per_model = [list(model.modules()) for model in group]
    modes = [(m, m.training) for modules in per_model for m in modules]
    flags = list({id(p): p for modules in per_model for m in modules for p in m._parameters.values()
                  if p is not None and p.requires_grad}.values())
    try:
        for model, modules in zip(group, per_model, strict=True):
            if any(m.training for m in modules):
                try:
                    model.eval()
                except NotImplementedError:  # torch.export's module(): its graph has one mode
                    for m in modules:
                        m.training = False
        for p in flags:
            p.requires_grad_(False)
        yield
    finally:
        for m, training in modes:
            if m.training != training:
                m.training = training
        for p in flags:
            p.requires_grad_(True)


def model_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    """Device and floating dtype of the model's first floating parameter or buffer.

    A model without floating parameters or buffers (e.g. a wrapped function) runs on CPU in
    float32.

    Examples
    --------
    >>> from torch import nn
    >>> model_device_dtype(nn.Linear(2, 1).double())
    (device(type='cpu'), torch.float64)
    """
    for p in itertools.chain(model.parameters(), model.buffers()):  # lazily: the first one
        if p.is_floating_point():
            return p.device, p.dtype
    return torch.device("cpu"), torch.float32


def budget_rows(
    model: nn.Module,
    x: torch.Tensor,
    memory_budget: int | str | None,
    batch_size: int | None = None,
    where: str = "this function",
    *,
    stacklevel: int = 3,
    extras: tuple[torch.Tensor, ...] = (),
) -> int:
    """Samples per forward/backward pass of ``model`` that fit ``memory_budget``.

    The one conversion of the batching knob (bytes, or a string such as "512MB"; default: the
    package's budget, :func:`tsexplain.attribution.set_memory_budget`) into rows. The former
    ``batch_size`` (a row count) still wins for one release, with a ``DeprecationWarning``.

    Parameters
    ----------
    model : torch.nn.Module
    x : torch.Tensor of shape (N, C, T)
        The inputs; their first row is used to measure the activations.
    memory_budget : int or str or None
    batch_size : int, optional
        Deprecated row count.
    where : str
        The public function's name, for the warning.
    stacklevel : int
        Passed to :func:`warnings.warn` (3: the caller of the function calling this one).
    extras : tuple of torch.Tensor, each of shape (N, ...)
        The model's additional inputs (``model(x, *extras)``); their first rows go with ``x[:1]``.
    """
    from tsexplain._validation import check_int

    if batch_size is not None:
        warnings.warn(
            f"{where}: the argument batch_size= is replaced by memory_budget= (bytes or '512MB'); "
            f"batch_size will be removed in the next release.",
            DeprecationWarning,
            stacklevel=stacklevel,
        )
        return check_int(batch_size, "batch_size", minimum=1)
    from tsexplain.attribution._memory import chunk_plan, get_memory_budget, parse_bytes

    budget = get_memory_budget() if memory_budget is None else parse_bytes(memory_budget)
    with frozen_eval(model):
        _most, rows = chunk_plan([model], x[:1], budget, extras=tuple(e[:1] for e in extras))
    return max(1, int(rows))


__all__ = ["frozen_eval", "model_device_dtype", "budget_rows"]
