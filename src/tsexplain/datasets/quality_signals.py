"""The AGRA world: 2-channel sinusoids, local perturbations, and a quality score.

Morel et al., "AGRA: Accurate GRAdient, a method to explain deep networks trained for
regression" (section III-A): ideal 2-D signals are sinusoids of different lengths plus a small
Gaussian noise; 0 to 8 high-frequency Gaussian perturbations are added at positions and in
dimensions drawn uniformly; a score, rescaled to a fixed range, is given from the MSE between
the perturbed and the ideal signal; 1000 signals, 750 for training and 250 for testing.

The paper's text for the score range is not legible. We give the ideal signal the *lowest*
score (0) and let the score grow with the error; :func:`make_quality_signals` says why.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tsexplain._validation import check_float, check_int
from tsexplain.datasets._random import Seed, as_generator
from tsexplain.datasets.containers import QualitySignalsDataset
from tsexplain.exceptions import ParameterError

__all__ = ["make_quality_signals"]


def make_quality_signals(
    n_train: int = 750,
    n_test: int = 250,
    length: int = 200,
    *,
    max_perturbations: int = 8,
    amplitude: tuple[float, float] = (0.5, 1.5),
    width: float = 1.5,
    noise: float = 0.05,
    period_range: tuple[float, float] = (20.0, 100.0),
    score_range: tuple[float, float] = (10.0, 0.0),
    seed: Seed = 0,
) -> QualitySignalsDataset:
    """Generate AGRA's quality-signals world.

    Each clean signal has 2 channels, each a sinusoid ``sin(2 pi t / P + phi)`` with its own period
    ``P ~ U(period_range)`` and phase ``phi ~ U(0, 2 pi)``, plus ``N(0, noise^2)`` noise. Each signal
    then receives ``K ~ U{0, ..., max_perturbations}`` perturbations; each one picks a channel and a
    centre step uniformly and adds a narrow Gaussian bump ``a exp(-(t - c)^2 / (2 width^2))`` of
    amplitude ``|a| ~ U(amplitude)`` with a random sign, truncated to ``|t - c| <= 3 width`` (so it
    has exact support: ``mask == (X != clean)``).

    The score is linear in the MSE between ``X`` and ``clean``:
    ``y = best + (worst - best) * mse / mse_max``, clipped to the interval spanned by
    ``score_range = (worst, best)``, where ``mse_max`` is the MSE of ``max_perturbations``
    non-overlapping bumps of the largest amplitude. An unperturbed signal scores ``best``; the
    optimum AGRA's Algorithm 1 moves inputs toward is therefore ``score_range[1]``. By default
    ``score_range = (10, 0)``: a perfect signal scores 0 and the score *rises* toward 10 as
    perturbations accumulate.

    Why the ideal signal scores 0: the paper's network has no bias anywhere, so it is
    positively homogeneous, ``f(x) = grad f(x) . x``. With the ideal at the top of the range,
    the network has to output the top score *from the clean sinusoid itself*, so its gradient
    sits on the whole sinusoid and Algorithm 1 partly rescales the signal instead of removing
    the bumps. With the ideal at 0, a bias-free network can compute "high-frequency energy",
    which vanishes on a smooth sinusoid, and its gradient sits on the bumps; only this
    orientation is compatible with the paper's Tables I-III (the measurements are on the
    "Measured behaviour" page of the documentation). ``score_range=(0, 10)`` gives the other
    orientation.

    Parameters
    ----------
    n_train, n_test : int, default 750 and 250
        Number of training and test signals (N = n_train + n_test; the first n_train rows are the
        training part).
    length : int, default 200
        T, the number of time steps.
    max_perturbations : int, default 8
        Largest number of perturbations per signal.
    amplitude : (float, float), default (0.5, 1.5)
        Range of the absolute bump amplitude.
    width : float, default 1.5
        Standard deviation (in steps) of each bump; small means high frequency (the paper's
        "high-frequency Gaussians", width not stated). Wider bumps look more like the sinusoid
        and are harder to score and to explain.
    noise : float, default 0.05
        Standard deviation of the small noise in the clean signals.
    period_range : (float, float), default (20, 100)
        Range of the sinusoid periods, in steps.
    score_range : (float, float), default (10, 0)
        ``(worst, best)`` score; ``best`` is the score of an unperturbed signal and may be the
        lower number (the default: ideal 0, see above). A range of width 10 is consistent with
        the paper's reported regression MSE of about 0.6.
    seed : int, numpy.random.Generator or None, default 0
        Seed of the random draws.

    Returns
    -------
    QualitySignalsDataset
        ``X (N, 2, T)``, ``y (N,)``, ``train_mask (N,)``, ``clean (N, 2, T)``,
        ``mask (N, 2, T)``, ``ideal_gradient = clean - X``, ``n_perturbations (N,)``,
        ``perturbations (N, max_perturbations, 2)`` as (channel, centre) padded with -1, ``mse``.

    Raises
    ------
    ParameterError
        An argument is out of range.

    References
    ----------
    T. Morel, M. Vautrin, R. Muller, ... , "AGRA: Accurate GRAdient, a method to explain deep
    networks trained for regression" (2020).

    Examples
    --------
    >>> from tsexplain.datasets import make_quality_signals
    >>> d = make_quality_signals(n_train=6, n_test=2, length=64, seed=0)
    >>> d.X.shape, d.mask.shape, d.y.shape
    ((8, 2, 64), (8, 2, 64), (8,))
    >>> bool(((d.X != d.clean) == d.mask).all())
    True
    """
    n_train = check_int(n_train, "n_train", minimum=0)
    n_test = check_int(n_test, "n_test", minimum=0)
    if n_train + n_test == 0:
        raise ParameterError("n_train + n_test must be at least 1.")
    length = check_int(length, "length", minimum=8)
    max_perturbations = check_int(max_perturbations, "max_perturbations", minimum=0)
    width = check_float(width, "width", minimum=0.0, strict=True)
    noise = check_float(noise, "noise", minimum=0.0)
    amp_lo, amp_hi = _check_range(amplitude, "amplitude", positive=True)
    per_lo, per_hi = _check_range(period_range, "period_range", positive=True)
    worst, best = _check_range(score_range, "score_range", positive=False)
    if worst == best:
        raise ParameterError(f"score_range must span an interval, got {score_range}.")
    rng = as_generator(seed)

    n = n_train + n_test
    n_channels = 2
    t = np.arange(length, dtype=float)

    periods = rng.uniform(per_lo, per_hi, size=(n, n_channels, 1))
    phases = rng.uniform(0.0, 2.0 * np.pi, size=(n, n_channels, 1))
    clean = np.sin(2.0 * np.pi * t / periods + phases)
    clean += noise * rng.standard_normal(clean.shape)

    counts = rng.integers(0, max_perturbations + 1, size=n)
    slots = np.arange(max_perturbations)[None, :] < counts[:, None]  # (n, max_p)
    channels = rng.integers(0, n_channels, size=(n, max_perturbations))
    centres = rng.integers(0, length, size=(n, max_perturbations))
    amps = rng.uniform(amp_lo, amp_hi, size=(n, max_perturbations))
    amps *= rng.choice(np.array([-1.0, 1.0]), size=(n, max_perturbations))
    amps[~slots] = 0.0

    half = int(np.floor(3.0 * width))
    offsets = np.arange(-half, half + 1)
    kernel = np.exp(-(offsets**2) / (2.0 * width**2))  # (K,)
    # Scatter every bump into a padded buffer, then crop: no Python loop over signals.
    bumps = np.zeros((n, n_channels, length + 2 * half))
    rows = np.broadcast_to(np.arange(n)[:, None, None], (n, max_perturbations, offsets.size))
    chans = np.broadcast_to(channels[:, :, None], rows.shape)
    steps = centres[:, :, None] + half + offsets[None, None, :]
    np.add.at(bumps, (rows, chans, steps), amps[:, :, None] * kernel[None, None, :])
    support = np.zeros(bumps.shape, dtype=bool)
    live = np.broadcast_to(slots[:, :, None], rows.shape)
    support[rows[live], chans[live], steps[live]] = True
    bumps = bumps[:, :, half : half + length]
    support = support[:, :, half : half + length]
    # Overlapping bumps of opposite sign could cancel exactly; keep the mask equal to X != clean.
    mask = support & (bumps != 0.0)

    x = clean + bumps
    x[~mask] = clean[~mask]
    mse = np.mean((x - clean) ** 2, axis=(1, 2))
    mse_max = max_perturbations * amp_hi**2 * float(np.sum(kernel**2)) / (n_channels * length)
    if mse_max > 0:
        score = best + (worst - best) * mse / mse_max
    else:
        score = np.full(n, best)
    score = np.clip(score, min(worst, best), max(worst, best))

    perturbations = np.where(slots[:, :, None], np.stack([channels, centres], axis=-1), -1)
    train_mask = np.arange(n) < n_train
    return QualitySignalsDataset(
        X=x,
        y=score,
        train_mask=train_mask,
        channel_names=("dim0", "dim1"),
        clean=clean,
        mask=mask,
        ideal_gradient=clean - x,
        n_perturbations=counts,
        perturbations=perturbations.astype(np.int64),
        mse=mse,
        score_range=(worst, best),
    )


def _check_range(value: object, name: str, *, positive: bool) -> tuple[float, float]:
    items = list(value) if isinstance(value, Iterable) else []
    try:
        lo, hi = (float(v) for v in items)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name} must be a pair of numbers (low, high), got {value!r}."
        ) from None
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ParameterError(f"{name} must be finite, got {value!r}.")
    if positive and (lo <= 0 or hi < lo):
        raise ParameterError(f"{name} must satisfy 0 < low <= high, got {value!r}.")
    return lo, hi
