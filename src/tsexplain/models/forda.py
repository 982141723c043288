"""The FordA CNN of the Keras time-series classification tutorial."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn

from tsexplain.models._base import SequentialModel, _positive_int, register_architecture
from tsexplain.models.tsviz import _check_kernel

__all__ = ["FordACNN"]


@register_architecture
class FordACNN(SequentialModel):
    """3 x (Conv1d 64, k=3, "same") + BatchNorm + ReLU, global average pooling, dense.

    Fully convolutional: any length T works. The convolutions have no bias: BatchNorm's shift
    replaces it (a bias before BatchNorm has a zero gradient, and Adam turns the rounding noise
    of that zero into steps of size ``lr``, a random walk that only shows in eval mode). Input ``(N, C, T)``, output ``(N, n_outputs)``
    logits (no softmax inside). With ``n_outputs=2`` train it with ``task="multiclass"``; with
    ``n_outputs=1`` (the tutorial's sigmoid unit, as a logit) with ``task="binary"``.

    Parameters
    ----------
    n_channels : int
        C (1 for FordA).
    n_outputs : int
        Number of logits.
    filters : int
        Filters of every convolution.
    kernel_size : int
        Odd kernel size.
    n_layers : int
        Number of conv-BN-ReLU blocks.

    References
    ----------
    H. Ismail Fawaz et al., "Deep learning for time series classification: a review" (the FCN
    family); Keras example "Timeseries classification from scratch" (FordA, 0.97 accuracy).

    Examples
    --------
    >>> import torch
    >>> FordACNN()(torch.zeros(4, 1, 500)).shape
    torch.Size([4, 2])
    """

    default_task: ClassVar[str] = "multiclass"
    training_defaults: ClassVar[dict[str, Any]] = {
        "epochs": 100,
        "lr": 1e-3,
        "batch_size": 32,
        "lr_schedule": "cosine",
    }

    def __init__(
        self,
        n_channels: int = 1,
        n_outputs: int = 2,
        filters: int = 64,
        kernel_size: int = 3,
        n_layers: int = 3,
    ) -> None:
        super().__init__()
        n_channels = _positive_int(n_channels, "n_channels")
        n_outputs = _positive_int(n_outputs, "n_outputs")
        filters = _positive_int(filters, "filters")
        k = _check_kernel(kernel_size)
        n_layers = _positive_int(n_layers, "n_layers")
        self._record_config(
            n_channels=n_channels, n_outputs=n_outputs, filters=filters, kernel_size=k,
            n_layers=n_layers,
        )
        layers: list[nn.Module] = []
        width = n_channels
        for _ in range(n_layers):
            layers += [
                nn.Conv1d(width, filters, k, padding=k // 2, bias=False),
                nn.BatchNorm1d(filters),
                nn.ReLU(),
            ]
            width = filters
        layers += [nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(filters, n_outputs)]
        self.net = nn.Sequential(*layers)
