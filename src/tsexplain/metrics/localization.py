"""Localisation against a known mask: mass share, channel share, pointing game, top-k hits.

For worlds whose informative cells are known (point anomalies, the Ismail et al. 2020 layouts),
these measure how much of an attribution falls where it should. All take ``(N, C, T)``
attributions and a mask of the same shape (a ``(C, T)`` mask is used for every sample), and
work on magnitudes by default: an attribution of either sign at a cell marks it as important.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from tsexplain._validation import check_choice, check_int, check_series_array
from tsexplain.exceptions import ParameterError
from tsexplain.metrics._base import Metric, SampleMeanMetric
from tsexplain.metrics._checks import Reduction, as_mask, reduce

Axis = Literal["cell", "time", "feature"]
_AXES = ("cell", "time", "feature")

__all__ = [
    "MassShare",
    "PointingGame",
    "TopKPrecisionRecall",
    "channel_mass_share",
    "mass_share",
    "pointing_game",
    "top_k_precision_recall",
]


def _importance(a: np.ndarray, absolute: bool) -> np.ndarray:
    """|a| (absolute) or the positive part max(a, 0) (signed: only evidence for the output)."""
    return np.abs(a) if absolute else np.maximum(a, 0.0)


def _inputs(attribution: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
    a = check_series_array(attribution, "attribution")
    return a, as_mask(mask, "mask", a, "attribution")


def mass_share(
    attribution: Any, mask: Any, *, absolute: bool = True, reduction: Reduction = "mean"
) -> np.ndarray | float:
    """Share of the attribution mass that lies on the true (masked) cells.

    Parameters
    ----------
    attribution : array-like of shape (N, C, T)
        Any attribution.
    mask : array-like of shape (N, C, T) or (C, T)
        True where a cell is informative (e.g. the anomaly's positions and channels).
    absolute : bool
        True: mass is ``|attribution|``; False: only the positive part ``max(a, 0)`` counts.
    reduction : {"mean", "none"}
        Average over samples (skipping undefined ones) or return ``(N,)``.

    Returns
    -------
    float or numpy.ndarray of shape (N,)
        In [0, 1]: 1 when all mass is on the mask; about the mask's fraction of cells for an
        attribution unrelated to it. NaN for a sample with zero total mass.

    Raises
    ------
    ShapeError
        ``mask`` has neither the shape of ``attribution`` nor that of one of its samples.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((2, 4), dtype=bool); mask[1, 2:] = True  # (C, T): 2 of 8 cells
    >>> from tsexplain.metrics import mass_share
    >>> on_mask = np.where(mask, 5.0, 0.0)[None]  # (1, 2, 4)
    >>> mass_share(on_mask, mask), mass_share(np.ones((3, 2, 4)), mask)
    (1.0, 0.25)
    """
    a, m = _inputs(attribution, mask)
    w = _importance(a, absolute).reshape(a.shape[0], -1)
    total = w.sum(axis=1)
    on = (w * m.reshape(a.shape[0], -1)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, on / np.where(total > 0, total, 1.0), np.nan)
    return reduce(share, reduction)


def channel_mass_share(
    attribution: Any, *, absolute: bool = True, reduction: Reduction = "mean"
) -> np.ndarray:
    """Share of the attribution mass on each channel.

    Use it for a channel the model never needs (e.g. pressure in the TSViz anomaly world): a
    faithful attribution puts almost nothing there.

    Parameters
    ----------
    attribution : array-like of shape (N, C, T)
    absolute : bool
        True: mass is ``|attribution|``; False: the positive part only.
    reduction : {"mean", "none"}
        ``"mean"``: average the per-sample shares, giving ``(C,)``; ``"none"``: ``(N, C)``.

    Returns
    -------
    numpy.ndarray of shape (C,) or (N, C)
        Each row sums to 1 (NaN rows for samples with zero total mass, skipped by the mean).

    Examples
    --------
    >>> import numpy as np
    >>> from tsexplain.metrics import channel_mass_share
    >>> a = np.array([[[3.0, 3.0, 3.0], [-1.0, -1.0, -1.0]]])  # (1, 2, 3)
    >>> channel_mass_share(a).tolist(), channel_mass_share(a, absolute=False).tolist()
    ([0.75, 0.25], [1.0, 0.0])
    """
    a = check_series_array(attribution, "attribution")
    w = _importance(a, absolute).sum(axis=2)
    total = w.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, w / np.where(total > 0, total, 1.0), np.nan)
    if reduction == "none":
        return share
    check_choice(reduction, "reduction", ("mean", "none"))
    ok = ~np.isnan(share).any(axis=1)
    return share[ok].mean(axis=0) if ok.any() else np.full(a.shape[1], np.nan)


def pointing_game(
    attribution: Any, mask: Any, *, absolute: bool = True, reduction: Reduction = "mean"
) -> np.ndarray | float:
    """Whether the cell of largest attribution lies on the mask (Zhang et al. 2018).

    When several cells share the maximum, the score is the fraction of them on the mask: the
    expected hit under a random choice among them.

    Parameters
    ----------
    attribution : array-like of shape (N, C, T)
    mask : array-like of shape (N, C, T) or (C, T)
        True on the informative cells.
    absolute : bool
        Point at the largest ``|attribution|`` (True) or the largest signed value (False).
    reduction : {"mean", "none"}
        Hit rate over samples, or the ``(N,)`` hits.

    Returns
    -------
    float or numpy.ndarray of shape (N,)
        Hit (1) or miss (0) per sample; NaN for a sample whose mask is empty. A random
        attribution hits with probability equal to the mask's fraction of cells.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((2, 4), dtype=bool); mask[1, 2:] = True  # (C, T): 2 of 8 cells
    >>> from tsexplain.metrics import pointing_game
    >>> a = np.zeros((2, 2, 4)); a[0, 1, 3] = 1.0; a[1, 0, 0] = -2.0  # hit, then miss
    >>> pointing_game(a, mask, reduction="none").tolist(), pointing_game(a, mask)
    ([1.0, 0.0], 0.5)
    """
    a, m = _inputs(attribution, mask)
    s = (np.abs(a) if absolute else a).reshape(a.shape[0], -1)
    mf = m.reshape(a.shape[0], -1)
    top = s == s.max(axis=1, keepdims=True)
    hits = (top & mf).sum(axis=1) / top.sum(axis=1)
    hits = np.where(mf.any(axis=1), hits, np.nan)
    return reduce(hits.astype(np.float64), reduction)


def _collapse(w: np.ndarray, m: np.ndarray, axis: str) -> tuple[np.ndarray, np.ndarray]:
    """Scores and truth per item: cells (N, C*T), time steps (N, T) or features (N, C)."""
    if axis == "cell":
        return w.reshape(w.shape[0], -1), m.reshape(m.shape[0], -1)
    if axis == "time":
        return w.sum(axis=1), np.asarray(m.any(axis=1))
    return w.sum(axis=2), np.asarray(m.any(axis=2))


def top_k_precision_recall(
    attribution: Any,
    mask: Any,
    *,
    k: int | None = None,
    axis: Axis = "cell",
    absolute: bool = True,
    reduction: Reduction = "mean",
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Precision and recall of the ``k`` most attributed cells, time steps or features.

    With ``axis="time"`` the importance of a time step is the attribution mass summed over
    channels and a step is true when any channel is informative there; ``axis="feature"`` does
    the same per channel, summing over time. This scores the Ismail et al. (2020) layouts
    (signal in the middle, rare in time, rare in feature, moving, positional) in the dimension
    where each is hard.

    Ties at the k-th place are shared: the tied items fill the remaining slots in proportion,
    which is the expected result of a random order of the ties (so a constant attribution
    scores the base rate, not better).

    Parameters
    ----------
    attribution : array-like of shape (N, C, T)
    mask : array-like of shape (N, C, T) or (C, T)
        True on the informative cells.
    k : int, optional
        Number of top items. Default: the number of true items of each sample (then precision
        equals recall, the "R-precision").
    axis : {"cell", "time", "feature"}
        What an item is.
    absolute : bool
        Rank by ``|attribution|`` (True) or by its positive part (False).
    reduction : {"mean", "none"}
        Average over samples or return ``(N,)`` arrays.

    Returns
    -------
    precision, recall : float or numpy.ndarray of shape (N,)
        ``hits / k`` and ``hits / n_true``; NaN where the sample has no true item. For a
        random attribution, precision is about the fraction of true items and recall about
        ``k / n_items``.

    References
    ----------
    Ismail, A. A., Gunady, M., Corrada Bravo, H. & Feizi, S. (2020). Benchmarking Deep Learning
    Interpretability in Time Series Predictions. NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((2, 4), dtype=bool); mask[1, 2:] = True  # (C, T): 2 of 8 cells
    >>> from tsexplain.metrics import top_k_precision_recall
    >>> a = np.array([[[0.1, 0.0, 0.2, 0.0], [0.0, 0.0, 0.9, 0.5]]])  # (1, 2, 4)
    >>> top_k_precision_recall(a, mask)  # k = 2 true cells, both ranked first
    (1.0, 1.0)
    >>> p, r = top_k_precision_recall(a, mask, k=3)
    >>> round(p, 4), r
    (0.6667, 1.0)
    >>> top_k_precision_recall(a, mask, k=1, axis="time")  # step 2 of the true steps 2 and 3
    (1.0, 0.5)
    """
    a, m = _inputs(attribution, mask)
    check_choice(axis, "axis", _AXES)
    s, truth = _collapse(_importance(a, absolute), m, axis)
    n_items = s.shape[1]
    if k is not None:
        k = check_int(k, "k", minimum=1)
        if k > n_items:
            raise ParameterError(f"k = {k} exceeds the {n_items} items along axis={axis!r}.")
    n = s.shape[0]
    n_true = truth.sum(axis=1)
    precision = np.full(n, np.nan)
    recall = np.full(n, np.nan)
    for i in range(n):
        if n_true[i] == 0:
            continue
        ki = int(n_true[i]) if k is None else k
        order = np.sort(s[i])[::-1]
        kth = order[ki - 1]
        above = s[i] > kth
        tied = s[i] == kth
        slots = ki - int(above.sum())
        hits = float((above & truth[i]).sum()) + slots * (tied & truth[i]).sum() / tied.sum()
        precision[i] = hits / ki
        recall[i] = hits / n_true[i]
    return reduce(precision, reduction), reduce(recall, reduction)


class MassShare(SampleMeanMetric):
    """Accumulating :func:`mass_share`: ``update(attribution, mask)`` per batch.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((2, 4), dtype=bool); mask[1, 2:] = True  # (C, T): 2 of 8 cells
    >>> from tsexplain.metrics import MassShare
    >>> metric = MassShare()
    >>> metric.update(np.where(mask, 1.0, 0.0)[None], mask)  # share 1.0
    >>> metric.update(np.ones((1, 2, 4)), mask)  # share 0.25
    >>> metric.compute(), metric.n_samples
    (0.625, 2)
    """

    def __init__(self, *, absolute: bool = True) -> None:
        self.absolute = absolute
        super().__init__()

    def update(self, attribution: Any, mask: Any) -> None:
        self._add(mass_share(attribution, mask, absolute=self.absolute, reduction="none"))


class PointingGame(SampleMeanMetric):
    """Accumulating :func:`pointing_game`: ``update(attribution, mask)``; compute = hit rate.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((2, 4), dtype=bool); mask[1, 2:] = True  # (C, T): 2 of 8 cells
    >>> from tsexplain.metrics import PointingGame
    >>> hit = np.zeros((1, 2, 4)); hit[0, 1, 2] = 1.0
    >>> miss = np.zeros((1, 2, 4)); miss[0, 0, 2] = 1.0
    >>> metric = PointingGame()
    >>> for a in (hit, hit, miss, hit):
    ...     metric.update(a, mask)
    >>> metric.compute()
    0.75
    """

    def __init__(self, *, absolute: bool = True) -> None:
        self.absolute = absolute
        super().__init__()

    def update(self, attribution: Any, mask: Any) -> None:
        self._add(pointing_game(attribution, mask, absolute=self.absolute, reduction="none"))


class TopKPrecisionRecall(Metric):
    """Accumulating :func:`top_k_precision_recall`; ``compute()`` returns (precision, recall).

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((2, 4), dtype=bool); mask[1, 2:] = True  # (C, T): 2 of 8 cells
    >>> from tsexplain.metrics import TopKPrecisionRecall
    >>> metric = TopKPrecisionRecall(k=2, axis="time")
    >>> metric.update(np.where(mask, 1.0, 0.0)[None], mask)  # steps 2, 3: both true
    >>> metric.update(np.array([[[1.0, 1.0, 0, 0], [0, 0, 0, 0]]]), mask)  # steps 0, 1: none
    >>> metric.compute()
    (0.5, 0.5)
    """

    def __init__(self, *, k: int | None = None, axis: Axis = "cell", absolute: bool = True) -> None:
        self.k = k
        self.axis = check_choice(axis, "axis", _AXES)
        self.absolute = absolute
        super().__init__()

    def reset(self) -> None:
        self._precision = _Mean()
        self._recall = _Mean()

    def update(self, attribution: Any, mask: Any) -> None:
        p, r = top_k_precision_recall(
            attribution, mask, k=self.k, axis=self.axis, absolute=self.absolute, reduction="none"
        )
        self._precision._add(np.asarray(p))
        self._recall._add(np.asarray(r))

    def compute(self) -> tuple[float, float]:
        return self._precision.compute(), self._recall.compute()


class _Mean(SampleMeanMetric):
    def update(self, values: Any) -> None:  # pragma: no cover - internal
        self._add(np.asarray(values))
