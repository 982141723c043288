"""The bias-free regression CNN of AGRA (averaged gradients over retrained models)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from torch import nn

from tsexplain.exceptions import ParameterError
from tsexplain.models._base import (
    SequentialModel,
    _flat_size,
    _int_tuple,
    _positive_int,
    _probability,
    register_architecture,
)

__all__ = ["AGRACNN"]


@register_architecture
class AGRACNN(SequentialModel):
    """AGRA's quality-score regressor: 4 bias-free convolutions with pooling, 2 dense layers.

    ``[conv-ReLU-maxpool] x 4 - flatten - dense-ReLU - dropout - dense``, no bias anywhere, so a
    zero series maps to a zero output (the paper relies on it for a zero Integrated-Gradients
    baseline). Input ``(N, C, T)``, output ``(N, n_outputs)``.

    Parameters
    ----------
    n_channels : int
        C (2 in the paper).
    length : int
        T (fixes the size of the first dense layer); at least ``pool_size ** 4``. Default 200,
        the length of ``make_quality_signals``.
    n_outputs : int
        Number of regressed scores.
    filters : sequence of 4 int
        Filters of the convolutions (the paper does not state them); 16/16/32/32 keeps the
        model small and the ensembles fast.
    kernel_size : int
        Odd kernel size ("same" padding).
    pool_size : int
        Max-pooling size after each convolution.
    hidden : int
        Width of the first dense layer.
    dropout : float
        Dropout probability between the dense layers.

    References
    ----------
    "AGRA: averaged gradients over several trainings", an experimental setup with ground truth
    for the explanation of a signal-quality regressor (2-channel sinusoids with perturbations).

    Examples
    --------
    >>> import torch
    >>> AGRACNN(length=128)(torch.zeros(3, 2, 128)).shape
    torch.Size([3, 1])
    """

    default_task: ClassVar[str] = "regression"
    training_defaults: ClassVar[dict[str, Any]] = {"epochs": 30, "lr": 1e-3, "batch_size": 32}

    def __init__(
        self,
        n_channels: int = 2,
        length: int = 200,
        n_outputs: int = 1,
        filters: Sequence[int] = (16, 16, 32, 32),
        kernel_size: int = 5,
        pool_size: int = 2,
        hidden: int = 32,
        dropout: float = 0.25,
    ) -> None:
        super().__init__()
        n_channels = _positive_int(n_channels, "n_channels")
        length = _positive_int(length, "length")
        n_outputs = _positive_int(n_outputs, "n_outputs")
        filters = _int_tuple(filters, "filters")
        if len(filters) != 4:
            raise ParameterError(f"filters must hold 4 values, got {filters!r}.")
        k = _positive_int(kernel_size, "kernel_size")
        if k % 2 == 0:
            raise ParameterError(f"kernel_size must be odd, got {k}.")
        pool_size = _positive_int(pool_size, "pool_size")
        hidden = _positive_int(hidden, "hidden")
        dropout = _probability(dropout, "dropout")
        self._record_config(
            n_channels=n_channels, length=length, n_outputs=n_outputs, filters=filters,
            kernel_size=k, pool_size=pool_size, hidden=hidden, dropout=dropout,
        )
        layers: list[nn.Module] = []
        width = n_channels
        for f in filters:
            layers += [
                nn.Conv1d(width, f, k, padding=k // 2, bias=False),
                nn.ReLU(),
                nn.MaxPool1d(pool_size),
            ]
            width = f
        layers.append(nn.Flatten())
        body = nn.Sequential(*layers)
        n_flat = _flat_size(body, n_channels, length, type(self).__name__)
        self.net = nn.Sequential(
            *body,
            nn.Linear(n_flat, hidden, bias=False),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_outputs, bias=False),
        )
