"""The name of a tensor operation, whatever form a model's code or a ``torch.export`` program
calls it in."""

from __future__ import annotations

from typing import Any


def op_name(func: Any) -> str:
    """``flatten`` for ``torch.flatten``, ``Tensor.flatten`` and the ATen overload
    ``aten.flatten.using_ints`` that a ``torch.export`` program calls.

    Examples
    --------
    >>> import torch
    >>> op_name(torch.relu), op_name(torch.ops.aten.relu.default), op_name(torch.Tensor.add)
    ('relu', 'relu', 'add')
    """
    packet = getattr(func, "overloadpacket", None)  # torch._ops.OpOverload
    if packet is not None:
        return str(getattr(packet, "__name__", packet)).split(".")[-1]
    return str(getattr(func, "__name__", func))
