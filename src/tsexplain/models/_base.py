"""The common base of the reference models: a stack of standard layers plus a recorded config.

Every reference model keeps its layers in one ``nn.Sequential`` called ``net`` and records the
constructor arguments it was built with. That gives three things for free:

- ``model_spec`` / ``build_model`` can write and rebuild the architecture as plain JSON;
- ``tsexplain.training.train_ensemble`` can fuse N members into one wide model (grouped
  convolutions), because every layer is a standard ``torch.nn`` layer it knows how to widen;
- the forward pass is obvious to read and to hook (``model.net[i]``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from tsexplain.exceptions import ParameterError

#: Architecture name -> class, filled by :func:`register_architecture`.
ARCHITECTURES: dict[str, type[SequentialModel]] = {}


def register_architecture(cls: type[SequentialModel]) -> type[SequentialModel]:
    """Class decorator: make ``cls`` buildable by name in :func:`tsexplain.models.build_model`."""
    ARCHITECTURES[cls.__name__] = cls
    return cls


class SequentialModel(nn.Module):
    """Base of the reference models: ``forward(x) = net(x)``, optionally squeezing axis 1.

    Subclasses build ``self.net`` and call :meth:`_record_config` with their constructor
    arguments (JSON-serialisable values only).

    Attributes
    ----------
    net : torch.nn.Sequential
        The layers, all standard ``torch.nn`` modules.
    squeeze_output : bool
        Class attribute: drop the size-1 axis 1 of ``net``'s output (``(N, 1, T)`` -> ``(N, T)``).
    default_task : str
        Class attribute: the task ``tsexplain.training.fit`` assumes when none is given.
    training_defaults : dict
        Class attribute: ``fit`` settings (epochs, lr, batch_size, patience, ...) that train this
        architecture well on its paper's data; explicit ``fit`` arguments override them.

    Examples
    --------
    A minimal subclass: a 1x1 convolution giving one prediction per step, (N, C, T) -> (N, T):

    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.models import SequentialModel
    >>> class StepwiseLinear(SequentialModel):
    ...     squeeze_output = True
    ...     def __init__(self, n_channels=2):
    ...         super().__init__()
    ...         self.net = nn.Sequential(nn.Conv1d(n_channels, 1, kernel_size=1))
    ...         self._record_config(n_channels=n_channels)
    >>> model = StepwiseLinear(3)
    >>> model(torch.zeros(4, 3, 10)).shape, model.get_config()
    (torch.Size([4, 10]), {'n_channels': 3})
    """

    squeeze_output: ClassVar[bool] = False
    default_task: ClassVar[str] = "regression"
    training_defaults: ClassVar[dict[str, Any]] = {}

    net: nn.Sequential

    def __init__(self) -> None:
        super().__init__()
        self._config: dict[str, Any] = {}

    def _record_config(self, **kwargs: Any) -> None:
        self._config = {
            k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()
        }

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments, such that ``type(self)(**config)`` rebuilds it."""
        return {k: list(v) if isinstance(v, list) else v for k, v in self._config.items()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the model.

        Parameters
        ----------
        x : torch.Tensor of shape (N, C, T)

        Returns
        -------
        torch.Tensor
            Shape depends on the architecture (see the class docstring).
        """
        out = self.net(x)
        return out.squeeze(1) if self.squeeze_output else out

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._config.items())


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ParameterError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _int_tuple(value: Any, name: str) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise ParameterError(
            f"{name} must be a sequence of positive integers, got {value!r}."
        ) from None
    if not items:
        raise ParameterError(f"{name} must not be empty.")
    return tuple(_positive_int(v, f"{name}[{i}]") for i, v in enumerate(items))


def _probability(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value < 1.0:
        raise ParameterError(f"{name} must be a number in [0, 1), got {value!r}.")
    return float(value)


_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "elu": nn.ELU,
}


def _activation(name: Any) -> nn.Module:
    if name not in _ACTIVATIONS:
        listed = ", ".join(repr(a) for a in _ACTIVATIONS)
        raise ParameterError(f"activation must be one of {listed}; got {name!r}.")
    return _ACTIVATIONS[name]()


def _flat_size(layers: nn.Sequential, n_channels: int, length: int, name: str) -> int:
    """Number of features after ``layers`` for one input of shape (1, n_channels, length)."""
    try:
        with torch.no_grad():
            out = layers(torch.zeros(1, n_channels, length))
    except RuntimeError as exc:
        raise ParameterError(
            f"{name}: length={length} is too short for this stack of convolutions and poolings "
            f"({exc})."
        ) from None
    if out.numel() == 0:
        raise ParameterError(f"{name}: length={length} leaves no time step after pooling.")
    return int(out.numel())
