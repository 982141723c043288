"""Accumulating metrics in the torchmetrics style: ``update`` per batch, ``compute``, ``reset``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np


class Metric(ABC):
    """Base of the accumulating metrics.

    ``update(...)`` takes one batch and adds it to the state, ``compute()`` returns the value over
    every batch seen since the last ``reset()``. Each metric also exists as a plain function for
    one-off use (see the subclass's ``See Also``).

    Examples
    --------
    >>> import numpy as np
    >>> from tsexplain.metrics import MassShare, Metric
    >>> mask = np.array([[False, False], [True, True]])  # (C, T): channel 1 is informative
    >>> metric = MassShare()
    >>> isinstance(metric, Metric)
    True
    >>> metric.update(np.array([[[0.0, 0.0], [1.0, 3.0]]]), mask)  # all mass on the mask: 1.0
    >>> metric.update(np.ones((1, 2, 2)), mask)  # half of it: 0.5
    >>> metric.compute()
    0.75
    >>> metric.reset(); metric.compute()
    nan
    """

    def __init__(self) -> None:
        self.reset()

    @abstractmethod
    def reset(self) -> None:
        """Forget every batch seen so far."""

    @abstractmethod
    def update(self, *args: Any, **kwargs: Any) -> None:
        """Add one batch to the state."""

    @abstractmethod
    def compute(self) -> Any:
        """Return the metric over all batches seen since the last reset."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SampleMeanMetric(Metric):
    """A metric defined per sample and averaged over samples (NaN values are skipped)."""

    _values: list[np.ndarray]

    def reset(self) -> None:
        self._values = []

    def _add(self, values: np.ndarray | float) -> None:
        self._values.append(np.atleast_1d(np.asarray(values, dtype=np.float64)))

    @property
    def n_samples(self) -> int:
        """Number of samples seen (NaN values included)."""
        return int(sum(v.size for v in self._values))

    def compute(self) -> float:
        """Mean over every sample seen, skipping NaN values (NaN if nothing finite was seen)."""
        if not self._values:
            return float("nan")
        v = np.concatenate(self._values)
        v = v[~np.isnan(v)]
        return float(v.mean()) if v.size else float("nan")
