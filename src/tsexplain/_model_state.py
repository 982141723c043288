"""Run models without side effects: the one eval/frozen context and the device/dtype helper."""

from __future__ import annotations

import contextlib
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
    modes = [(m, m.training) for model in group for m in model.modules()]
    flags = [(p, p.requires_grad) for model in group for p in model.parameters()]
    try:
        for model in group:
            model.eval()
        for p, _ in flags:
            p.requires_grad_(False)
        yield
    finally:
        for m, training in modes:
            m.training = training
        for p, req in flags:
            p.requires_grad_(req)


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
    for p in [*model.parameters(), *model.buffers()]:
        if p.is_floating_point():
            return p.device, p.dtype
    return torch.device("cpu"), torch.float32


__all__ = ["frozen_eval", "model_device_dtype"]
