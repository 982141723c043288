"""The two CNNs of TSViz (Siddiqui et al., 2019): a forecasting regressor and an anomaly detector."""

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
    register_architecture,
)

__all__ = ["TSVizRegressionCNN", "TSVizAnomalyCNN"]

_REFERENCE = (
    "S. A. Siddiqui, D. Mercier, M. Munir, A. Dengel, S. Ahmed. \"TSViz: Demystification of Deep "
    "Learning Models for Time-Series Analysis\", IEEE Access 7, 2019."
)


def _check_kernel(kernel_size: Any) -> int:
    k = _positive_int(kernel_size, "kernel_size")
    if k % 2 == 0:
        raise ParameterError(
            f"kernel_size must be odd so that 'same' padding keeps the length, got {k}."
        )
    return k


@register_architecture
class TSVizRegressionCNN(SequentialModel):
    """TSViz's forecasting CNN: 3 convolutions, 2 max-poolings, one dense layer.

    ``conv-ReLU-maxpool-conv-ReLU-maxpool-conv-ReLU-flatten-dense``. Input ``(N, C, T)`` (the
    paper: a window of 50 steps, channel 0 the series, channel 1 its first difference), output
    ``(N, n_outputs)`` (the next value(s)).

    Parameters
    ----------
    n_channels : int
        C.
    length : int
        T, the window length (fixes the size of the dense layer).
    n_outputs : int
        Number of forecast values.
    filters : sequence of 3 int
        Filters of the three convolutions (not given in the paper; 16/32/64 as in its anomaly
        model).
    kernel_size : int
        Odd kernel size of the convolutions ("same" padding).

    References
    ----------
    {ref}

    Examples
    --------
    >>> import torch
    >>> TSVizRegressionCNN()(torch.zeros(5, 2, 50)).shape
    torch.Size([5, 1])
    """

    default_task: ClassVar[str] = "regression"
    training_defaults: ClassVar[dict[str, Any]] = {"epochs": 50, "lr": 1e-3, "batch_size": 32}

    def __init__(
        self,
        n_channels: int = 2,
        length: int = 50,
        n_outputs: int = 1,
        filters: Sequence[int] = (16, 32, 64),
        kernel_size: int = 3,
    ) -> None:
        super().__init__()
        n_channels = _positive_int(n_channels, "n_channels")
        length = _positive_int(length, "length")
        n_outputs = _positive_int(n_outputs, "n_outputs")
        filters = _int_tuple(filters, "filters")
        if len(filters) != 3:
            raise ParameterError(f"filters must hold 3 values, got {filters!r}.")
        k = _check_kernel(kernel_size)
        self._record_config(
            n_channels=n_channels, length=length, n_outputs=n_outputs, filters=filters,
            kernel_size=k,
        )
        f1, f2, f3 = filters
        body = nn.Sequential(
            nn.Conv1d(n_channels, f1, k, padding=k // 2), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(f1, f2, k, padding=k // 2), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(f2, f3, k, padding=k // 2), nn.ReLU(),
            nn.Flatten(),
        )
        n_flat = _flat_size(body, n_channels, length, type(self).__name__)
        self.net = nn.Sequential(*body, nn.Linear(n_flat, n_outputs))


@register_architecture
class TSVizAnomalyCNN(SequentialModel):
    """TSViz's anomaly-detection CNN: convolutions of 16, 32 and 64 filters, then one dense layer.

    ``conv-ReLU-conv-ReLU-conv-ReLU-flatten-dense``, "same" padding, no pooling, so every filter
    keeps one activation per time step. Input ``(N, 3, 50)`` by default (pressure, temperature,
    torque), output ``(N, n_outputs)`` logits (one logit: "anomalous"; no sigmoid inside).

    Parameters
    ----------
    n_channels : int
        C.
    length : int
        T (fixes the size of the dense layer).
    n_outputs : int
        1 for a binary logit, K for K-class logits.
    filters : sequence of int
        Filters of the convolutions.
    kernel_size : int
        Odd kernel size ("same" padding).

    References
    ----------
    {ref}

    Examples
    --------
    >>> import torch
    >>> TSVizAnomalyCNN()(torch.zeros(5, 3, 50)).shape
    torch.Size([5, 1])
    """

    default_task: ClassVar[str] = "binary"
    training_defaults: ClassVar[dict[str, Any]] = {
        "epochs": 10,
        "lr": 2e-3,
        "batch_size": 128,
        "patience": None,
        # Decoupled weight decay: pressure carries no information about anomalies, and with
        # plain Adam the weights that read it keep random-walking (Adam normalises their noisy
        # gradients to steps of about lr), leaving 6-16% of every gradient map on pressure.
        # AdamW's decay pulls them to zero (docs: "Measured behaviour").
        "optimizer": "adamw",
        "weight_decay": 3.0,
        # TSViz's activity regularisation: keeps the logits moderate (median |logit| about 2
        # instead of 14) so that gradients do not vanish in a saturated sigmoid.
        "activity_l2": 0.01,
    }

    def __init__(
        self,
        n_channels: int = 3,
        length: int = 50,
        n_outputs: int = 1,
        filters: Sequence[int] = (16, 32, 64),
        kernel_size: int = 3,
    ) -> None:
        super().__init__()
        n_channels = _positive_int(n_channels, "n_channels")
        length = _positive_int(length, "length")
        n_outputs = _positive_int(n_outputs, "n_outputs")
        filters = _int_tuple(filters, "filters")
        k = _check_kernel(kernel_size)
        self._record_config(
            n_channels=n_channels, length=length, n_outputs=n_outputs, filters=filters,
            kernel_size=k,
        )
        layers: list[nn.Module] = []
        width = n_channels
        for f in filters:
            layers += [nn.Conv1d(width, f, k, padding=k // 2), nn.ReLU()]
            width = f
        layers.append(nn.Flatten())
        self.net = nn.Sequential(*layers, nn.Linear(width * length, n_outputs))


for _cls in (TSVizRegressionCNN, TSVizAnomalyCNN):
    _cls.__doc__ = (_cls.__doc__ or "").replace("{ref}", _REFERENCE)
