"""The TSViz anomaly world: pressure, temperature and torque with point anomalies.

Siddiqui et al., "TSViz: Demystification of Deep Learning Models for Time-Series Analysis"
(IEEE Access 2019), section III-B: 60,000 sequences of 50 steps of pressure, temperature and
torque; point anomalies are introduced at random, never in the pressure signal; a sequence that
holds one is anomalous; 50,000 for training and 10,000 for testing.
"""

from __future__ import annotations

import numpy as np

from tsexplain._validation import check_float, check_int
from tsexplain.datasets._random import Seed, as_generator
from tsexplain.datasets.containers import AnomalySequencesDataset
from tsexplain.exceptions import ParameterError

__all__ = ["make_anomaly_sequences", "ANOMALY_CHANNELS"]

#: Channel order of :func:`make_anomaly_sequences`.
ANOMALY_CHANNELS: tuple[str, str, str] = ("pressure", "temperature", "torque")


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """White noise smoothed by a Gaussian kernel along the last axis, rescaled to unit std."""
    from scipy.ndimage import gaussian_filter1d

    white = rng.standard_normal(shape)
    smooth = gaussian_filter1d(white, sigma=sigma, axis=-1, mode="reflect")
    return smooth / float(np.sqrt(np.sum(_gauss_kernel(sigma) ** 2)))


def _gauss_kernel(sigma: float) -> np.ndarray:
    r = int(4.0 * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return k / k.sum()


def make_anomaly_sequences(
    n_train: int = 50000,
    n_test: int = 10000,
    length: int = 50,
    *,
    anomaly_fraction: float = 0.5,
    max_anomalies: int = 3,
    anomaly_size: tuple[float, float] = (2.5, 4.0),
    seed: Seed = 0,
) -> AnomalySequencesDataset:
    """Generate TSViz's anomaly-detection sequences with their anomaly mask.

    The normal signals are smooth and differ per channel, in standardised units (each channel
    has mean about 0 and standard deviation about 1 over the data set):

    - pressure: a level plus a slow oscillation (period 40 to 150 steps) and smooth noise;
    - temperature: a level plus a slow drift (linear trend) and smooth noise;
    - torque: a level plus a load cycle (period 8 to 20 steps) and smooth noise.

    The three channels are drawn independently, so pressure carries no information about the
    label. A share ``anomaly_fraction`` of the sequences is anomalous (``y = 1``); each of them gets
    between 1 and ``max_anomalies`` point anomalies, each at a uniform step in the temperature or
    the torque channel (never pressure): one step offset by ``+-U(anomaly_size)`` standard deviations
    (one sign per sequence and channel). Two anomalies may fall on the same step (they add up); the
    mask marks every anomalous (channel, step).

    Parameters
    ----------
    n_train, n_test : int, default 50000 and 10000
        Number of training and test sequences; the first n_train rows are the training part.
    length : int, default 50
        T, the number of steps per sequence.
    anomaly_fraction : float, default 0.5
        Probability that a sequence is anomalous.
    max_anomalies : int, default 3
        Largest number of point anomalies in an anomalous sequence.
    anomaly_size : (float, float), default (2.5, 4.0)
        Range of the absolute offset of a point anomaly, in channel standard deviations.
    seed : int, numpy.random.Generator or None, default 0
        Seed of the random draws.

    Returns
    -------
    AnomalySequencesDataset
        ``X (N, 3, T)`` float32, ``y (N,)`` int64 in {0, 1}, ``train_mask (N,)``,
        ``mask (N, 3, T)`` (``mask[:, 0]`` is all False), ``channel_names`` =
        ("pressure", "temperature", "torque").

    Raises
    ------
    ParameterError
        An argument is out of range.

    Examples
    --------
    >>> from tsexplain.datasets import make_anomaly_sequences
    >>> d = make_anomaly_sequences(n_train=80, n_test=20, seed=0)
    >>> d.X.shape, d.mask.shape, d.channel_names
    ((100, 3, 50), (100, 3, 50), ('pressure', 'temperature', 'torque'))
    >>> bool(d.mask[:, 0].any())
    False
    """
    n_train = check_int(n_train, "n_train", minimum=0)
    n_test = check_int(n_test, "n_test", minimum=0)
    n = n_train + n_test
    if n == 0:
        raise ParameterError("n_train + n_test must be at least 1.")
    length = check_int(length, "length", minimum=2)
    anomaly_fraction = check_float(anomaly_fraction, "anomaly_fraction", minimum=0.0)
    if anomaly_fraction > 1.0:
        raise ParameterError(f"anomaly_fraction must be in [0, 1], got {anomaly_fraction}.")
    max_anomalies = check_int(max_anomalies, "max_anomalies", minimum=1)
    try:
        size_lo, size_hi = (float(v) for v in anomaly_size)
    except (TypeError, ValueError):
        raise ParameterError(
            f"anomaly_size must be a pair (low, high), got {anomaly_size!r}."
        ) from None
    if not (0 < size_lo <= size_hi < np.inf):
        raise ParameterError(f"anomaly_size must satisfy 0 < low <= high, got {anomaly_size!r}.")
    rng = as_generator(seed)

    t = np.arange(length, dtype=float)[None, :]

    def col(lo: float, hi: float) -> np.ndarray:
        return rng.uniform(lo, hi, size=(n, 1))

    pressure = (
        col(-1.0, 1.0)
        + col(0.3, 0.8) * np.sin(2 * np.pi * t / col(40.0, 150.0) + col(0.0, 2 * np.pi))
        + 0.15 * _smooth_noise(rng, (n, length), sigma=3.0)
    )
    temperature = (
        col(-1.0, 1.0)
        + col(-0.03, 0.03) * (t - length / 2.0)
        + 0.15 * _smooth_noise(rng, (n, length), sigma=4.0)
    )
    torque = (
        col(-0.8, 0.8)
        + col(0.3, 0.6) * np.sin(2 * np.pi * t / col(8.0, 20.0) + col(0.0, 2 * np.pi))
        + 0.1 * _smooth_noise(rng, (n, length), sigma=1.5)
    )
    x = np.stack([pressure, temperature, torque], axis=1)
    # Standardise each channel over the whole data set, before anomalies are added.
    x = (x - x.mean(axis=(0, 2), keepdims=True)) / x.std(axis=(0, 2), keepdims=True)

    y = (rng.random(n) < anomaly_fraction).astype(np.int64)
    counts = rng.integers(1, max_anomalies + 1, size=n) * y
    slots = np.arange(max_anomalies)[None, :] < counts[:, None]  # (n, max_anomalies)
    chans = rng.integers(1, 3, size=(n, max_anomalies))  # 1 = temperature, 2 = torque
    steps = rng.integers(0, length, size=(n, max_anomalies))
    sizes = rng.uniform(size_lo, size_hi, size=(n, max_anomalies))
    # One sign per (sequence, channel): two anomalies on the same step add up, never cancel.
    signs = rng.choice(np.array([-1.0, 1.0]), size=(n, 3))
    sizes *= np.take_along_axis(signs, chans, axis=1)
    rows = np.broadcast_to(np.arange(n)[:, None], slots.shape)
    np.add.at(x, (rows[slots], chans[slots], steps[slots]), sizes[slots])
    mask = np.zeros(x.shape, dtype=bool)
    mask[rows[slots], chans[slots], steps[slots]] = True

    return AnomalySequencesDataset(
        X=x.astype(np.float32),
        y=y,
        train_mask=np.arange(n) < n_train,
        channel_names=ANOMALY_CHANNELS,
        mask=mask,
    )
