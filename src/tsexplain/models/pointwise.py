"""The point-wise MLP regressor of Time-SmoothGrad (Kiritoshi & Izumitani, 2019)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from torch import nn

from tsexplain.models._base import (
    SequentialModel,
    _activation,
    _int_tuple,
    _positive_int,
    _probability,
    register_architecture,
)

__all__ = ["PointwiseMLP"]


@register_architecture
class PointwiseMLP(SequentialModel):
    """An MLP applied at every time step: one prediction ``y_t`` per step.

    Input ``(N, C, T)``, output ``(N, T)``. With ``lags=1`` (the paper's model) ``y_t`` depends
    on ``x_t`` only; with ``lags=L`` it is causal and sees ``x_{t-L+1} .. x_t`` (steps before the
    start of the series are zeros). The MLP is written as 1-D convolutions: the first has kernel
    size ``L`` after ``L - 1`` zeros of left padding, the others kernel size 1.

    Parameters
    ----------
    n_channels : int
        C, the number of input features.
    hidden : sequence of int
        Widths of the hidden layers.
    lags : int
        How many steps the model sees (1 = strictly point-wise).
    activation : {"relu", "tanh", "gelu", "elu"}
        Non-linearity after each hidden layer.
    dropout : float
        Dropout probability after each hidden layer.

    Attributes
    ----------
    receptive_field : int
        ``lags``: ``y_t`` depends on ``x_{t - receptive_field + 1} .. x_t``.

    Notes
    -----
    Why lags: in the AR(2)-states world the target is ``y_t = F_s . x_t + w_t`` with a state ``s``
    that the current ``x_t`` alone barely reveals; the state shows in the AR dynamics, which a
    causal model sees through a few past steps. The attribution ``d y_t / d x_t`` stays well
    defined either way.

    References
    ----------
    K. Kiritoshi, T. Izumitani. "Time-Smoothgrad: A Method Extracting Time-Varying Attribution
    for Neural Networks", JSAI 2019.

    Examples
    --------
    >>> import torch
    >>> model = PointwiseMLP(n_channels=10, hidden=(32,), lags=1)
    >>> model(torch.zeros(4, 10, 100)).shape
    torch.Size([4, 100])
    """

    squeeze_output: ClassVar[bool] = True
    default_task: ClassVar[str] = "regression"
    training_defaults: ClassVar[dict[str, Any]] = {
        "epochs": 200,
        "lr": 3e-3,
        "batch_size": 16,
        "patience": 20,
        "window": 100,
    }

    def __init__(
        self,
        n_channels: int = 10,
        hidden: Sequence[int] = (64, 64),
        lags: int = 1,
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        n_channels = _positive_int(n_channels, "n_channels")
        hidden = _int_tuple(hidden, "hidden")
        lags = _positive_int(lags, "lags")
        dropout = _probability(dropout, "dropout")
        _activation(activation)  # validates the name
        self._record_config(
            n_channels=n_channels, hidden=hidden, lags=lags, activation=activation, dropout=dropout
        )
        self.receptive_field = lags
        layers: list[nn.Module] = []
        if lags > 1:
            layers.append(nn.ConstantPad1d((lags - 1, 0), 0.0))
        width, kernel = n_channels, lags
        for h in hidden:
            layers += [nn.Conv1d(width, h, kernel_size=kernel), _activation(activation)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width, kernel = h, 1
        layers.append(nn.Conv1d(width, 1, kernel_size=kernel))
        self.net = nn.Sequential(*layers)
