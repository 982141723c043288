"""Ranking scores against known coefficients: nDCG per state (Time-SmoothGrad) and per step.

Time-SmoothGrad (Kiritoshi & Izumitani 2019) generates ``y_t = F_s . x_t + w_t`` where the
coefficient vector ``F_s`` changes with a hidden state ``s``. Its score compares, in each state,
the ranking of the features by their mean attribution with the ranking by ``F_s``, as an nDCG
(Järvelin & Kekäläinen 2000).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Literal

import numpy as np

from tsexplain._validation import check_choice, check_int, to_float_array
from tsexplain.exceptions import NonFiniteError, ParameterError, ShapeError
from tsexplain.metrics._base import Metric
from tsexplain.metrics._checks import Reduction, as_single_map, check_same_shape, reduce
from tsexplain.metrics._similarity import pearson_rows

Sign = Literal["absolute", "signed", "positive"]
Gain = Literal["linear", "exponential"]

_SIGNS = ("absolute", "signed", "positive")
_GAINS = ("linear", "exponential")

__all__ = ["NDCGPerState", "ndcg_per_state", "ndcg_score", "per_step_correlation"]


def ndcg_score(
    scores: Any, relevance: Any, *, k: int | None = None, gain: Gain = "linear"
) -> float:
    """Normalised discounted cumulative gain of one ranking.

    The items are ranked by ``scores`` (highest first); the item at rank ``r`` (1-based)
    contributes ``gain(relevance) / log2(r + 1)``. The sum is divided by the same sum for the
    ideal ranking (by ``relevance``). Tied scores are handled as in McSherry & Najork (2008):
    each item of a tie group gets the average discount of the positions the group occupies,
    which is the expected DCG under a random order of the ties. So a constant ``scores`` gives
    the score of a random ranking, not a lucky or unlucky one.

    Parameters
    ----------
    scores : array-like of shape (D,)
        Predicted importance of each item (higher ranks first).
    relevance : array-like of shape (D,)
        True relevance of each item; must be non-negative.
    k : int, optional
        Only the first ``k`` ranks count (nDCG@k). Default: all items.
    gain : {"linear", "exponential"}
        ``"linear"``: gain = relevance (Järvelin & Kekäläinen 2000);
        ``"exponential"``: gain = 2 ** relevance - 1.

    Returns
    -------
    float
        In [0, 1]; 1 for a ranking as good as the ideal one. NaN when every relevance is 0.

    Raises
    ------
    ShapeError
        ``scores`` and ``relevance`` are not two 1-D arrays of the same length.
    ValueError
        A relevance is negative or not finite.

    Examples
    --------
    >>> round(ndcg_score([0.5, 0.9, 0.1], [3.0, 1.0, 2.0]), 4)
    0.8175
    """
    s = to_float_array(scores, "scores")
    r = to_float_array(relevance, "relevance")
    if s.ndim != 1 or r.ndim != 1 or s.shape != r.shape:
        raise ShapeError(
            f"scores and relevance must be 1-D of the same length, got scores.shape = {s.shape} "
            f"and relevance.shape = {r.shape}."
        )
    check_choice(gain, "gain", _GAINS)
    if not np.isfinite(r).all() or not np.isfinite(s).all():
        raise NonFiniteError("scores and relevance must be finite.")
    if (r < 0).any():
        raise ParameterError(
            f"relevance must be non-negative (nDCG is undefined for negative gains); got a "
            f"minimum of {r.min():.4g}. Take absolute values or shift them first."
        )
    return _ndcg(s, r, k=None if k is None else check_int(k, "k", minimum=1), gain=gain)


def _ndcg(s: np.ndarray, r: np.ndarray, *, k: int | None, gain: str) -> float:
    d = s.size
    g = r if gain == "linear" else np.exp2(r) - 1.0
    disc = 1.0 / np.log2(np.arange(2, d + 2, dtype=np.float64))
    if k is not None and k < d:
        disc[k:] = 0.0
    ideal = float(np.sort(g)[::-1] @ disc)
    if ideal <= 0:
        return float("nan")
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    g_sorted = g[order]
    # Tie groups: runs of equal scores in the sorted order get their mean discount.
    boundaries = np.flatnonzero(np.diff(s_sorted) != 0) + 1
    starts = np.concatenate([[0], boundaries])
    sums = np.add.reduceat(disc, starts)
    counts = np.diff(np.concatenate([starts, [d]]))
    mean_disc = np.repeat(sums / counts, counts)
    return float(g_sorted @ mean_disc / ideal)


def _state_sums(
    attribution: np.ndarray, coefficients: np.ndarray, states: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per state: labels (S,), attribution sums (S, C), coefficient sums (S, C), counts (S,)."""
    labels, inverse = np.unique(states, return_inverse=True)
    inverse = inverse.reshape(-1)
    n_states = labels.size

    def sums(m: np.ndarray) -> np.ndarray:
        return np.stack([np.bincount(inverse, weights=row, minlength=n_states) for row in m], 1)

    counts = np.bincount(inverse, minlength=n_states).astype(np.float64)
    return labels, sums(attribution), sums(coefficients), counts


def _check_inputs(
    attribution: Any, coefficients: Any, states: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = as_single_map(attribution, "attribution")
    f = as_single_map(coefficients, "coefficients")
    check_same_shape(a, f, "attribution", "coefficients")
    st = np.asarray(states.detach().cpu().numpy() if hasattr(states, "detach") else states)
    if st.ndim != 1 or st.shape[0] != a.shape[1]:
        raise ShapeError(
            f"states must have shape (T,) = ({a.shape[1]},) to label each time step of "
            f"attribution.shape = {a.shape}, got states.shape = {st.shape}."
        )
    return a, f, st


def _scores_and_relevance(
    mean_attr: np.ndarray, mean_coef: np.ndarray, sign: str
) -> tuple[np.ndarray, np.ndarray]:
    if sign == "absolute":
        return np.abs(mean_attr), np.abs(mean_coef)
    if sign == "signed":
        return mean_attr, mean_coef - mean_coef.min()
    return mean_attr, np.maximum(mean_coef, 0.0)  # "positive"


def _ndcg_from_means(
    mean_attr: np.ndarray, mean_coef: np.ndarray, sign: str, k: int | None, gain: str
) -> np.ndarray:
    out = np.empty(mean_attr.shape[0])
    for i in range(mean_attr.shape[0]):
        s, r = _scores_and_relevance(mean_attr[i], mean_coef[i], sign)
        out[i] = _ndcg(s, r, k=k, gain=gain)
    return out


def ndcg_per_state(
    attribution: Any,
    coefficients: Any,
    states: Any,
    *,
    sign: Sign = "absolute",
    k: int | None = None,
    gain: Gain = "linear",
) -> np.ndarray:
    """nDCG of the feature ranking in each state, against the true coefficients.

    For every state ``s`` (in the order of ``numpy.unique(states)``), the attribution and the
    coefficients are averaged over the time steps labelled ``s``, giving one score and one
    relevance per feature (channel); the features ranked by score are then scored with
    :func:`ndcg_score` against the relevance. This is the score of Table 2 of the Time-SmoothGrad
    paper, which compares "the ranking of the elements per state by the values of F_s" with "the
    ranking of the per-state mean of the attribution map".

    Sign handling (nDCG needs non-negative relevance, and the paper does not say how it treats a
    negative coefficient):

    - ``"absolute"`` (default): rank by ``|mean attribution|``, relevance ``|mean coefficient|``.
      A feature with a large negative coefficient is an important feature, found by a signed
      attribution of either sign. Averaging happens *before* the absolute value, so an
      attribution that flips sign within a state is penalised.
    - ``"signed"``: rank by the signed mean attribution, relevance ``F - min(F)`` within the
      state: the most positive coefficient is most relevant, the most negative one gets 0.
    - ``"positive"``: rank by the signed mean attribution, relevance ``max(F, 0)``: only positive
      influence counts.

    Parameters
    ----------
    attribution : array-like of shape (C, T) or (1, C, T)
        Attribution of one series (signed, e.g. d y_t / d x_t for every step).
    coefficients : array-like of shape (C, T)
        True coefficient of each feature at each time step (``F_s`` repeated over the state).
    states : array-like of shape (T,)
        State label of each time step.
    sign : {"absolute", "signed", "positive"}
        How signs are handled, see above.
    k : int, optional
        Only the top ``k`` ranks count (nDCG@k). Default: all C features.
    gain : {"linear", "exponential"}
        Gain of a relevance, see :func:`ndcg_score`.

    Returns
    -------
    numpy.ndarray of shape (n_states,)
        nDCG in [0, 1] per state, in the order of ``numpy.unique(states)``; NaN for a state whose
        relevances are all 0.

    Raises
    ------
    ShapeError
        ``attribution`` and ``coefficients`` differ in shape, or ``states`` is not ``(T,)``.

    See Also
    --------
    NDCGPerState : the same score accumulated over chunks of a long series.
    per_step_correlation : a per-time-step score that sees the smoothing Time-SmoothGrad adds.

    References
    ----------
    Kiritoshi, K. & Izumitani, T. (2019). Time-Smoothgrad: A Method Extracting Time-Varying
    Attribution for Neural Networks. JSAI.
    Järvelin, K. & Kekäläinen, J. (2000). IR evaluation methods for retrieving highly relevant
    documents. SIGIR.

    Examples
    --------
    >>> import numpy as np
    >>> F = np.repeat(np.array([[3.0, 0.0], [1.0, 1.0], [2.0, 3.0]]), 4, axis=1)  # (C=3, T=8)
    >>> states = np.repeat([0, 1], 4)
    >>> ndcg_per_state(F, F, states)
    array([1., 1.])
    """
    a, f, st = _check_inputs(attribution, coefficients, states)
    check_choice(sign, "sign", _SIGNS)
    check_choice(gain, "gain", _GAINS)
    k = None if k is None else check_int(k, "k", minimum=1)
    _, sum_a, sum_f, counts = _state_sums(a, f, st)
    return _ndcg_from_means(sum_a / counts[:, None], sum_f / counts[:, None], sign, k, gain)


def per_step_correlation(
    attribution: Any,
    coefficients: Any,
    *,
    absolute: bool = False,
    reduction: Reduction = "mean",
) -> np.ndarray | float:
    """Pearson correlation across features at each time step, averaged over time.

    At every step ``t`` the C attribution values ``attribution[:, t]`` are correlated with the C
    true coefficients ``coefficients[:, t]``. Unlike :func:`ndcg_per_state`, which compares
    per-state means, this sees how noisy the attribution is step by step, which is what
    Time-SmoothGrad's moving average improves.

    Parameters
    ----------
    attribution : array-like of shape (C, T) or (1, C, T)
        Attribution of one series (signed).
    coefficients : array-like of shape (C, T)
        True coefficients (signed).
    absolute : bool
        Correlate ``|attribution|`` with ``|coefficients|`` instead of the signed values.
    reduction : {"mean", "none"}
        ``"mean"``: average over the steps where the correlation is defined; ``"none"``: return
        the ``(T,)`` per-step values.

    Returns
    -------
    float or numpy.ndarray of shape (T,)
        Correlation in [-1, 1]; NaN at steps where the attribution or the coefficients are
        constant across features (skipped by the mean).

    Raises
    ------
    ShapeError
        ``attribution`` and ``coefficients`` differ in shape.

    Examples
    --------
    >>> import numpy as np
    >>> F = np.arange(12.0).reshape(3, 4)  # (C, T) = (3, 4)
    >>> round(per_step_correlation(2 * F, F), 6)
    1.0
    >>> per_step_correlation(-F, F, reduction="none").round(6).tolist()
    [-1.0, -1.0, -1.0, -1.0]
    """
    a = as_single_map(attribution, "attribution")
    f = as_single_map(coefficients, "coefficients")
    check_same_shape(a, f, "attribution", "coefficients")
    if a.shape[0] < 2:
        raise ShapeError(
            f"per_step_correlation needs at least 2 features (channels) to correlate across, "
            f"got attribution.shape = {a.shape}."
        )
    if absolute:
        a, f = np.abs(a), np.abs(f)
    return reduce(pearson_rows(a.T, f.T), reduction)


class NDCGPerState(Metric):
    """nDCG per state, accumulated over chunks of one long series.

    ``update`` adds the per-state sums of a chunk (attribution ``(C, T_chunk)``, coefficients
    ``(C, T_chunk)``, states ``(T_chunk,)``); ``compute`` returns the nDCG per state seen, in
    sorted label order, exactly as :func:`ndcg_per_state` on the concatenated series would.

    Parameters
    ----------
    sign, k, gain
        As in :func:`ndcg_per_state`.

    Examples
    --------
    >>> import numpy as np
    >>> F = np.repeat(np.array([[3.0, 0.0], [1.0, 1.0], [2.0, 3.0]]), 4, axis=1)
    >>> states = np.repeat([0, 1], 4)
    >>> m = NDCGPerState()
    >>> m.update(F[:, :5], F[:, :5], states[:5]); m.update(F[:, 5:], F[:, 5:], states[5:])
    >>> m.compute()
    array([1., 1.])
    """

    def __init__(self, *, sign: Sign = "absolute", k: int | None = None, gain: Gain = "linear"):
        self.sign = check_choice(sign, "sign", _SIGNS)
        self.gain = check_choice(gain, "gain", _GAINS)
        self.k = None if k is None else check_int(k, "k", minimum=1)
        super().__init__()

    def reset(self) -> None:
        self._sums: dict[Hashable, list[Any]] = {}
        self._n_channels: int | None = None

    def update(self, attribution: Any, coefficients: Any, states: Any) -> None:
        a, f, st = _check_inputs(attribution, coefficients, states)
        if self._n_channels is not None and a.shape[0] != self._n_channels:
            raise ShapeError(
                f"attribution has {a.shape[0]} channels, earlier chunks had {self._n_channels}: "
                f"got attribution.shape = {a.shape}."
            )
        self._n_channels = a.shape[0]
        labels, sum_a, sum_f, counts = _state_sums(a, f, st)
        for i, label in enumerate(labels.tolist()):
            entry = self._sums.setdefault(label, [0.0, 0.0, 0.0])
            entry[0] = entry[0] + sum_a[i]
            entry[1] = entry[1] + sum_f[i]
            entry[2] += counts[i]

    @property
    def states(self) -> list[Hashable]:
        """The state labels seen, in the order of :meth:`compute`."""
        # labels come from np.unique of the states, so they are mutually comparable; Hashable
        # alone does not say so
        return sorted(self._sums)  # type: ignore[type-var]

    def compute(self) -> np.ndarray:
        if not self._sums:
            return np.empty(0)
        labels = self.states
        mean_a = np.stack([self._sums[s][0] / self._sums[s][2] for s in labels])
        mean_f = np.stack([self._sums[s][1] / self._sums[s][2] for s in labels])
        return _ndcg_from_means(mean_a, mean_f, self.sign, self.k, self.gain)

    def __repr__(self) -> str:
        return f"NDCGPerState(sign={self.sign!r}, k={self.k!r}, gain={self.gain!r})"
