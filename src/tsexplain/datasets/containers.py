"""The small dataclasses that generators and loaders return.

Every result holds numpy arrays: ``X`` of shape ``(N, C, T)`` (N samples, C channels, T time
steps), a target ``y`` and a boolean ``train_mask``; each world adds its ground truth. ``train`` and
``test`` return the same kind of object restricted to one part.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

_D = TypeVar("_D", bound="SeriesDataset")

__all__ = [
    "SeriesDataset",
    "ARStatesDataset",
    "QualitySignalsDataset",
    "AnomalySequencesDataset",
    "IsmailLayoutDataset",
    "LabeledSeriesDataset",
]


@dataclass(frozen=True, kw_only=True)
class SeriesDataset:
    """A batch of series with a target and a train/test split.

    Attributes
    ----------
    X : numpy.ndarray of shape (N, C, T)
        The series (float).
    y : numpy.ndarray of shape (N,) or (N, T)
        The target: a class index, a score, or one value per time step.
    train_mask : numpy.ndarray of bool, shape (N,)
        True for training samples, False for test samples.
    channel_names : tuple of str, length C
        A name per channel.

    Examples
    --------
    >>> import numpy as np
    >>> from tsexplain.datasets import SeriesDataset
    >>> d = SeriesDataset(X=np.zeros((4, 2, 5)), y=np.array([0, 1, 0, 1]),
    ...                   train_mask=np.array([True, True, True, False]), channel_names=("a", "b"))
    >>> d
    SeriesDataset(X shape (4, 2, 5), y shape (4,), 3 train / 1 test, channels ['a', 'b'])
    >>> d.train.X.shape, d.test.y.tolist(), d.subset([0, 2]).n_samples
    ((3, 2, 5), [1], 2)
    """

    X: np.ndarray
    y: np.ndarray
    train_mask: np.ndarray
    channel_names: tuple[str, ...] = ()

    #: Fields indexed like the samples (first axis N); subclasses extend this.
    _per_sample: ClassVar[tuple[str, ...]] = ("X", "y", "train_mask")

    @property
    def n_samples(self) -> int:
        """N, the number of samples."""
        return int(self.X.shape[0])

    @property
    def n_channels(self) -> int:
        """C, the number of channels."""
        return int(self.X.shape[1])

    @property
    def n_timesteps(self) -> int:
        """T, the number of time steps."""
        return int(self.X.shape[2])

    @property
    def train(self: _D) -> _D:
        """The training part, as an object of the same class."""
        return self.subset(self.train_mask)

    @property
    def test(self: _D) -> _D:
        """The test part, as an object of the same class."""
        return self.subset(~self.train_mask)

    def subset(self: _D, index: Any) -> _D:
        """Return the samples selected by ``index`` (boolean mask or integer indices)."""
        changes = {
            name: getattr(self, name)[index]
            for name in self._per_sample
            if getattr(self, name) is not None
        }
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        n_train = int(np.count_nonzero(self.train_mask))
        return (
            f"{type(self).__name__}(X shape {self.X.shape}, y shape {self.y.shape}, "
            f"{n_train} train / {self.train_mask.size - n_train} test, "
            f"channels {list(self.channel_names)})"
        )


@dataclass(frozen=True, kw_only=True, repr=False)
class ARStatesDataset(SeriesDataset):
    """One long recording of the Time-SmoothGrad AR(2) states world.

    Attributes
    ----------
    X : numpy.ndarray of shape (1, C, T)
        The explanatory series: C features, T = n_states * steps_per_state steps.
    y : numpy.ndarray of shape (1, T)
        The target ``y_t = F_s . x_t + w_t``.
    train_mask : numpy.ndarray of bool, shape (T,)
        True on the training steps (the first part of every state's segment).
    coefficients : numpy.ndarray of shape (C, T)
        The true coefficient vector ``F_s`` in force at every time step (the ground truth of an
        attribution ``d y_t / d x_t``).
    states : numpy.ndarray of int, shape (T,)
        The state id ``s`` at every time step, in ``0 .. n_states - 1``.
    state_coefficients : numpy.ndarray of shape (n_states, C)
        ``F_s`` for each state.
    ar_coefficients : numpy.ndarray of shape (n_states, 2)
        ``(alpha_1s, alpha_2s)`` of the AR(2) process of each state.

    Notes
    -----
    Here the split runs along time, so ``train``/``test``/``subset`` select time steps: the result
    keeps ``X`` of shape ``(1, C, T')``.

    Examples
    --------
    :func:`~tsexplain.datasets.make_ar_states` returns one:

    >>> from tsexplain.datasets import make_ar_states
    >>> d = make_ar_states(n_states=2, n_features=3, steps_per_state=50, seed=0)
    >>> d.n_states, d.X.shape, d.coefficients.shape, d.ar_coefficients.tolist()
    (2, (1, 3, 100), (3, 100), [[1.7, -0.8], [0.0, 0.0]])
    >>> d.train.X.shape, d.test.states.shape
    ((1, 3, 50), (50,))
    """

    coefficients: np.ndarray
    states: np.ndarray
    state_coefficients: np.ndarray
    ar_coefficients: np.ndarray

    def subset(self, index: Any) -> ARStatesDataset:
        """Return the time steps selected by ``index`` (boolean mask of shape (T,) or indices)."""
        return dataclasses.replace(
            self,
            X=self.X[:, :, index],
            y=self.y[:, index],
            train_mask=self.train_mask[index],
            coefficients=self.coefficients[:, index],
            states=self.states[index],
        )

    @property
    def n_states(self) -> int:
        """The number of states."""
        return int(self.state_coefficients.shape[0])


@dataclass(frozen=True, kw_only=True, repr=False)
class QualitySignalsDataset(SeriesDataset):
    """The AGRA quality-signals world.

    Attributes
    ----------
    X : numpy.ndarray of shape (N, 2, T)
        The perturbed signals (the model's input).
    y : numpy.ndarray of shape (N,)
        The quality score, within ``score_range = (worst, best)``: ``best`` for an unperturbed
        signal, moving linearly toward ``worst`` with the MSE between ``X`` and ``clean`` (by
        default best = 0 and worst = 10, so the score rises with the error; see
        :func:`make_quality_signals`).
    train_mask : numpy.ndarray of bool, shape (N,)
    clean : numpy.ndarray of shape (N, 2, T)
        The ideal signals (sinusoids plus their small noise) before perturbation.
    mask : numpy.ndarray of bool, shape (N, 2, T)
        True where a perturbation changed the signal; exactly ``X != clean``.
    ideal_gradient : numpy.ndarray of shape (N, 2, T)
        ``clean - X``: the direction that turns the input into the ideal signal.
    n_perturbations : numpy.ndarray of int, shape (N,)
        How many perturbations each signal received (0 .. max_perturbations).
    perturbations : numpy.ndarray of int, shape (N, max_perturbations, 2)
        ``(channel, centre step)`` of each perturbation, padded with -1.
    mse : numpy.ndarray of shape (N,)
        Mean squared difference between ``X`` and ``clean`` per signal.
    score_range : tuple of float
        ``(worst, best)`` score.

    Examples
    --------
    :func:`~tsexplain.datasets.make_quality_signals` returns one:

    >>> import numpy as np
    >>> from tsexplain.datasets import make_quality_signals
    >>> d = make_quality_signals(n_train=3, n_test=1, length=32, seed=0)
    >>> d.X.shape, d.train.X.shape, d.score_range
    ((4, 2, 32), (3, 2, 32), (10.0, 0.0))
    >>> bool(np.allclose(d.ideal_gradient, d.clean - d.X))
    True
    """

    clean: np.ndarray
    mask: np.ndarray
    ideal_gradient: np.ndarray
    n_perturbations: np.ndarray
    perturbations: np.ndarray
    mse: np.ndarray
    score_range: tuple[float, float] = (10.0, 0.0)

    _per_sample: ClassVar[tuple[str, ...]] = (
        *SeriesDataset._per_sample,
        "clean",
        "mask",
        "ideal_gradient",
        "n_perturbations",
        "perturbations",
        "mse",
    )


@dataclass(frozen=True, kw_only=True, repr=False)
class AnomalySequencesDataset(SeriesDataset):
    """The TSViz anomaly world: pressure, temperature and torque with point anomalies.

    Attributes
    ----------
    X : numpy.ndarray of shape (N, 3, T)
        Channels in the order of ``channel_names``: pressure, temperature, torque.
    y : numpy.ndarray of int, shape (N,)
        1 if the sequence holds at least one point anomaly, else 0.
    train_mask : numpy.ndarray of bool, shape (N,)
    mask : numpy.ndarray of bool, shape (N, 3, T)
        True at every anomalous (channel, step); never true in the pressure channel.

    Examples
    --------
    :func:`~tsexplain.datasets.make_anomaly_sequences` returns one:

    >>> from tsexplain.datasets import make_anomaly_sequences
    >>> d = make_anomaly_sequences(n_train=6, n_test=2, length=20, seed=0)
    >>> d.X.shape, d.test.mask.shape
    ((8, 3, 20), (2, 3, 20))
    >>> bool((d.y == d.mask.any(axis=(1, 2))).all()), bool(d.mask[:, 0].any())
    (True, False)
    """

    mask: np.ndarray

    _per_sample: ClassVar[tuple[str, ...]] = (*SeriesDataset._per_sample, "mask")


@dataclass(frozen=True, kw_only=True, repr=False)
class IsmailLayoutDataset(SeriesDataset):
    """One layout of the Ismail et al. (NeurIPS 2020) saliency benchmark.

    Attributes
    ----------
    X : numpy.ndarray of shape (N, C, T)
        C features by T time steps (50 x 50 by default).
    y : numpy.ndarray of int, shape (N,)
        Binary class.
    train_mask : numpy.ndarray of bool, shape (N,)
    mask : numpy.ndarray of bool, shape (N, C, T)
        True on the informative box.
    layout : str
        The layout's name.

    Examples
    --------
    :func:`~tsexplain.datasets.make_ismail_layouts` returns one:

    >>> from tsexplain.datasets import make_ismail_layouts
    >>> d = make_ismail_layouts("middle", n=4, n_features=10, n_timesteps=10, seed=0)
    >>> d.layout, d.X.shape, d.mask.shape, d.y.shape
    ('middle', (4, 10, 10), (4, 10, 10), (4,))
    """

    mask: np.ndarray
    layout: str = ""

    _per_sample: ClassVar[tuple[str, ...]] = (*SeriesDataset._per_sample, "mask")


@dataclass(frozen=True, kw_only=True, repr=False)
class LabeledSeriesDataset(SeriesDataset):
    """Series read from files, with class labels mapped to ``0 .. K-1``.

    Attributes
    ----------
    X : numpy.ndarray of shape (N, C, T)
        The series; padded steps (unequal lengths with ``pad=True``) hold NaN.
    y : numpy.ndarray of int, shape (N,)
        Class index in ``0 .. K-1``; ``classes[y]`` gives the original label.
    train_mask : numpy.ndarray of bool, shape (N,)
        True for rows read from the TRAIN file.
    classes : numpy.ndarray of shape (K,)
        The original labels, sorted (numerically when they all are numbers).
    lengths : numpy.ndarray of int, shape (N,)
        The true length of each series (T unless padded).
    source : tuple of str
        The files read.

    Examples
    --------
    :func:`~tsexplain.datasets.load_ucr` returns one:

    >>> import pathlib, tempfile
    >>> from tsexplain.datasets import load_ucr
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp) / "Toy_TRAIN.tsv"
    ...     _ = p.write_text("b\\t0.1\\t0.2\\t0.3\\na\\t1.0\\t0.5\\t0.0\\n")
    ...     d = load_ucr(p)
    >>> d.X.shape, d.y.tolist(), d.classes.tolist(), d.labels.tolist(), d.lengths.tolist()
    ((2, 1, 3), [1, 0], ['a', 'b'], ['b', 'a'], [3, 3])
    """

    classes: np.ndarray
    lengths: np.ndarray
    source: tuple[str, ...] = field(default=())

    _per_sample: ClassVar[tuple[str, ...]] = (*SeriesDataset._per_sample, "lengths")

    @property
    def labels(self) -> np.ndarray:
        """The original label of every sample, shape (N,)."""
        return self.classes[self.y]
