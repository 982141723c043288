"""The Time-SmoothGrad world: AR(2) explanatory series whose coefficients switch per state.

Kiritoshi & Izumitani, "Time-Smoothgrad: A Method Extracting Time-Varying Attribution for Neural
Networks" (JSAI 2019, and the IJCAI 2019 XAI workshop version), section 5.1:

    x_t = alpha_1s x_{t-1} + alpha_2s x_{t-2} + v_t        (6)
    y_t = F_s^T x_t + w_t                                  (7)

with v_t, w_t and the start values drawn from normal distributions. The state s changes every
``steps_per_state`` steps, which switches both the AR coefficients and ``F_s``. Each state holds
5000 steps, split 2500 / 2500 into training and test data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tsexplain._validation import check_float, check_int
from tsexplain.datasets._random import Seed, as_generator
from tsexplain.datasets.containers import ARStatesDataset
from tsexplain.exceptions import ParameterError

__all__ = ["make_ar_states", "default_ar_coefficients"]

# Three AR(2) processes that differ in both their stationary variance (with unit innovations:
# about 26, 1 and 5) and their autocorrelation (a smooth slow oscillation, white noise, a fast
# alternation): a model that sees x_t (and more so one that sees a few past steps) can tell the
# states apart. AR coefficients that barely differ make the state invisible from the inputs, and a
# point-wise model then learns the average F over states.
_BASE_AR = np.array(
    [
        [1.7, -0.8],  # roots 0.89 e^{+-0.32i}: smooth oscillation, variance 25.7
        [0.0, 0.0],  # white noise, variance 1
        [-0.9, 0.0],  # alternating sign, lag-1 correlation -0.9, variance 5.3
    ]
)


def default_ar_coefficients(n_states: int, radii: Sequence[float] = (0.3, 0.6, 0.9)) -> np.ndarray:
    """The AR(2) coefficients ``make_ar_states`` uses when none are given.

    The first three states use a fixed, well-separated table: ``(1.7, -0.8)`` (a smooth
    oscillation, stationary variance 25.7 with unit innovations), ``(0, 0)`` (white noise,
    variance 1) and ``(-0.9, 0)`` (a fast alternation, variance 5.3). Further states take
    characteristic roots ``r e^{+-i theta}`` (``alpha_1 = 2 r cos theta``, ``alpha_2 = -r^2``)
    with ``theta`` spread over ``(0, pi)`` and ``r`` cycling through ``radii`` (0.3, 0.6 and 0.9
    by default), so their dominant frequencies and variances differ.

    Parameters
    ----------
    n_states : int
        Number of states, at least 1.
    radii : sequence of float, default (0.3, 0.6, 0.9)
        Root moduli the states after the third cycle through, each in [0, 1) (stationary).

    Returns
    -------
    numpy.ndarray of shape (n_states, 2)
        ``(alpha_1s, alpha_2s)`` per state; every row is stationary.

    Examples
    --------
    >>> from tsexplain.datasets import default_ar_coefficients
    >>> default_ar_coefficients(3).tolist()
    [[1.7, -0.8], [0.0, 0.0], [-0.9, 0.0]]
    >>> a = default_ar_coefficients(5)
    >>> a.shape, a[3:].round(3).tolist()
    ((5, 2), [[0.424, -0.09], [-0.849, -0.36]])
    """
    n_states = check_int(n_states, "n_states", minimum=1)
    radii = tuple(float(r) for r in radii)
    if not radii or not all(0.0 <= r < 1.0 for r in radii):
        raise ParameterError(f"radii must be root moduli in [0, 1) (stationary AR(2)); got {radii}")
    rows = [_BASE_AR[i] for i in range(min(n_states, len(_BASE_AR)))]
    n_extra = n_states - len(rows)
    for k in range(n_extra):
        theta = np.pi * (k + 0.5) / n_extra
        r = radii[k % len(radii)]
        rows.append(np.array([2.0 * r * np.cos(theta), -(r**2)]))
    return np.asarray(rows, dtype=float)


def _check_stationary(ar: np.ndarray) -> None:
    a1, a2 = ar[:, 0], ar[:, 1]
    ok = (a2 > -1.0) & (a1 + a2 < 1.0) & (a2 - a1 < 1.0)
    if not bool(ok.all()):
        bad = np.flatnonzero(~ok)[0]
        raise ParameterError(
            f"ar_coefficients row {bad} = {tuple(ar[bad])} is not a stationary AR(2) process; "
            f"need alpha_2 > -1, alpha_1 + alpha_2 < 1 and alpha_2 - alpha_1 < 1."
        )


def _simulate_ar2(
    ar: np.ndarray,
    innovations: np.ndarray,
    segment: np.ndarray,
    start: np.ndarray,
) -> np.ndarray:
    """Run x_t = a1 x_{t-1} + a2 x_{t-2} + v_t through consecutive segments.

    ``innovations`` has shape (C, T); ``segment`` gives the state of each step; ``start`` holds
    ``(x_{-2}, x_{-1})`` of shape (2, C). The state switches keep continuity: each segment starts
    from the last two values of the previous one.
    """
    from scipy.signal import lfilter

    n_channels, n_steps = innovations.shape
    x = np.empty((n_channels, n_steps))
    prev2, prev1 = start[0].copy(), start[1].copy()
    bounds = np.flatnonzero(np.diff(segment)) + 1
    edges = np.concatenate([[0], bounds, [n_steps]])
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        a1, a2 = ar[segment[lo]]
        # Transposed direct form II state for b = [1], a = [1, -a1, -a2] given the two last outputs.
        zi = np.stack([a1 * prev1 + a2 * prev2, a2 * prev1], axis=-1)
        x[:, lo:hi] = lfilter([1.0], [1.0, -a1, -a2], innovations[:, lo:hi], axis=-1, zi=zi)[0]
        if hi - lo >= 2:
            prev2, prev1 = x[:, hi - 2], x[:, hi - 1]
        else:
            prev2, prev1 = prev1, x[:, hi - 1]
    return x


def make_ar_states(
    n_states: int = 3,
    n_features: int = 10,
    steps_per_state: int = 5000,
    *,
    train_fraction: float = 0.5,
    ar_coefficients: Any = None,
    state_coefficients: Any = None,
    noise_x: float = 1.0,
    noise_y: float = 0.5,
    burn_in: int = 200,
    seed: Seed = 0,
) -> ARStatesDataset:
    """Generate the Time-SmoothGrad AR(2) states world: one long recording.

    The recording runs through the states in order ``0, 1, ..., n_states - 1``, each for
    ``steps_per_state`` steps. In state ``s`` every feature follows
    ``x_t = alpha_1s x_{t-1} + alpha_2s x_{t-2} + v_t`` and the target is
    ``y_t = F_s . x_t + w_t``, with ``v_t ~ N(0, noise_x^2)`` and ``w_t ~ N(0, noise_y^2)``
    independent across features and steps. The first ``train_fraction`` of every state's segment
    is training data and the rest test data (the paper: 2500 / 2500 of 5000).

    Parameters
    ----------
    n_states : int, default 3
        Number of states (the paper uses 3 and 10).
    n_features : int, default 10
        C, the number of explanatory features (the paper uses 10 and 1000).
    steps_per_state : int, default 5000
        Length of each state's segment; T = n_states * steps_per_state.
    train_fraction : float, default 0.5
        Share of each segment, taken from its start, marked as training data.
    ar_coefficients : array-like of shape (n_states, 2), optional
        ``(alpha_1s, alpha_2s)`` per state; each row must be stationary. Default:
        :func:`default_ar_coefficients`, chosen so the states differ visibly in variance and
        autocorrelation (shared by all features of a state, as in the paper's eq. 6).
    state_coefficients : array-like of shape (n_states, n_features), optional
        ``F_s`` per state. Default: drawn i.i.d. from ``N(0, 1)`` (the paper draws them from a
        normal distribution without stating its parameters).
    noise_x : float, default 1.0
        Standard deviation of the innovations ``v_t``.
    noise_y : float, default 0.5
        Standard deviation of the target noise ``w_t``.
    burn_in : int, default 200
        Steps simulated in state 0 before the recording starts (dropped), so the series starts
        near stationarity from normal start values.
    seed : int, numpy.random.Generator or None, default 0
        Seed of the random draws; the same seed gives the same arrays.

    Returns
    -------
    ARStatesDataset
        ``X (1, C, T)``, ``y (1, T)``, ``coefficients (C, T)`` (F_s at every step),
        ``states (T,)``, ``train_mask (T,)``, ``state_coefficients (n_states, C)``,
        ``ar_coefficients (n_states, 2)``; channel names ``x0 .. x{C-1}``.

    Raises
    ------
    ParameterError
        An argument is out of range, a coefficient array has the wrong shape, or an AR row is not
        stationary.

    Notes
    -----
    With a model that sees only ``x_t`` (a point-wise MLP), ``y_t`` is predictable only as far as
    ``x_t`` reveals the state; this is why the default AR coefficients differ strongly between
    states. A model that also sees a few past steps can read the autocorrelation too.

    References
    ----------
    K. Kiritoshi, T. Izumitani, "Time-Smoothgrad: A Method Extracting Time-Varying Attribution
    for Neural Networks", JSAI 2019 / IJCAI 2019 Workshop on XAI.

    Examples
    --------
    >>> from tsexplain.datasets import make_ar_states
    >>> d = make_ar_states(n_states=3, n_features=4, steps_per_state=100, seed=1)
    >>> d.X.shape, d.y.shape, d.coefficients.shape, d.states.shape
    ((1, 4, 300), (1, 300), (4, 300), (300,))
    >>> int(d.train_mask.sum())
    150
    """
    n_states = check_int(n_states, "n_states", minimum=1)
    n_features = check_int(n_features, "n_features", minimum=1)
    steps_per_state = check_int(steps_per_state, "steps_per_state", minimum=4)
    burn_in = check_int(burn_in, "burn_in", minimum=0)
    train_fraction = check_float(train_fraction, "train_fraction", minimum=0.0)
    if train_fraction > 1.0:
        raise ParameterError(f"train_fraction must be in [0, 1], got {train_fraction}.")
    noise_x = check_float(noise_x, "noise_x", minimum=0.0, strict=True)
    noise_y = check_float(noise_y, "noise_y", minimum=0.0)
    rng = as_generator(seed)

    if ar_coefficients is None:
        ar = default_ar_coefficients(n_states)
    else:
        ar = np.asarray(ar_coefficients, dtype=float)
        if ar.shape != (n_states, 2):
            raise ParameterError(
                f"ar_coefficients must have shape (n_states, 2) = ({n_states}, 2), got {ar.shape}."
            )
    _check_stationary(ar)

    if state_coefficients is None:
        f_states = rng.standard_normal((n_states, n_features))
    else:
        f_states = np.asarray(state_coefficients, dtype=float)
        if f_states.shape != (n_states, n_features):
            raise ParameterError(
                "state_coefficients must have shape (n_states, n_features) = "
                f"({n_states}, {n_features}), got {f_states.shape}."
            )
        if not np.isfinite(f_states).all():
            raise ParameterError("state_coefficients must be finite.")

    n_steps = n_states * steps_per_state
    states = np.repeat(np.arange(n_states), steps_per_state)
    segment = np.concatenate([np.zeros(burn_in, dtype=int), states])
    start = rng.standard_normal((2, n_features)) * noise_x
    innovations = rng.standard_normal((n_features, burn_in + n_steps)) * noise_x
    x = _simulate_ar2(ar, innovations, segment, start)[:, burn_in:]

    coefficients = f_states[states].T  # (C, T)
    y = np.einsum("ct,ct->t", coefficients, x) + noise_y * rng.standard_normal(n_steps)

    n_train = int(round(train_fraction * steps_per_state))
    in_segment = np.tile(np.arange(steps_per_state), n_states)
    train_mask = in_segment < n_train

    return ARStatesDataset(
        X=x[None, :, :],
        y=y[None, :],
        train_mask=train_mask,
        channel_names=tuple(f"x{j}" for j in range(n_features)),
        coefficients=coefficients,
        states=states,
        state_coefficients=f_states,
        ar_coefficients=ar,
    )
