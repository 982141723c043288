"""The result of an attribution: an array shaped like the input, with its provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class AttributionResult:
    """Attribution values with the method's name and parameters.

    ``numpy.asarray(result)`` gives :attr:`values`.

    Attributes
    ----------
    values : numpy.ndarray of shape (N, C, T), or (N, K, C, T) for ``target="all"``
        The attribution, signed unless the method says otherwise (see ``signed``).
    method : str
        Registered name of the method, e.g. ``"integrated_gradients"``.
    params : dict
        The method's parameters as used (defaults filled in).
    target : numpy.ndarray of shape (N,) or None
        The output index explained for each sample; None for a single-output model or
        ``target="all"`` (then the outputs are the K axis of ``values``).
    predictions : numpy.ndarray of shape (N, K) or None
        Model output (mean over models for an ensemble) on the unperturbed input.
    n_models : int
        Number of models averaged (AGRA when > 1).
    signed : bool
        False when values are absolute (e.g. ``saliency`` with ``absolute=True``).
    extras : dict
        Method-specific diagnostics, e.g. ``completeness_gap`` of shape (N,) or (N, K) for
        Integrated Gradients.
    seconds : float
        Wall-clock time of the computation.

    Examples
    --------
    Every method's ``attribute`` returns one:

    >>> import numpy as np, torch
    >>> from tsexplain.attribution import Saliency
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 3))
    >>> res = Saliency(model).attribute(torch.randn(4, 2, 3), target="predicted")
    >>> res.method, res.shape, res.target.shape, res.predictions.shape
    ('saliency', (4, 2, 3), (4,), (4, 3))
    >>> np.asarray(res).shape
    (4, 2, 3)
    """

    values: np.ndarray
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    target: np.ndarray | None = None
    predictions: np.ndarray | None = None
    n_models: int = 1
    signed: bool = True
    extras: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is None:
            return self.values
        return self.values.astype(dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of :attr:`values`."""
        return tuple(self.values.shape)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        models = f", n_models={self.n_models}" if self.n_models > 1 else ""
        return f"AttributionResult(method={self.method!r}, shape={self.shape}, {params}{models})"
