"""The ground-truth layouts of Ismail et al. (NeurIPS 2020), "Benchmarking Deep Learning
Interpretability in Time Series Predictions".

Every sample is a C x T grid (50 features by 50 steps) of a base process; a box of features x
steps carries the label. Box layouts add ``+1`` (class 1) or ``-1`` (class 0) to the box; the
positional layouts always add ``+1`` and the class decides where the box sits. Sizes and positions
follow the authors' generation script for 50 x 50 (``Scripts/createDatasets.py``).
"""

from __future__ import annotations

import numpy as np

from tsexplain._validation import check_choice, check_int
from tsexplain.datasets._random import Seed, as_generator
from tsexplain.datasets.containers import IsmailLayoutDataset

__all__ = ["make_ismail_layouts", "ISMAIL_LAYOUTS"]

# name: (box steps, box features, start step, start feature, moving, positional axis)
# For the positional layouts the start on the positional axis is 1 (class 1) or 29 (class 0).
_LAYOUTS: dict[str, tuple[int, int, int, int, bool, str | None]] = {
    "middle": (30, 30, 10, 10, False, None),
    "small_middle": (14, 14, 18, 18, False, None),
    "moving_middle": (30, 30, 10, 10, True, None),
    "moving_small_middle": (15, 15, 18, 18, True, None),
    "rare_time": (6, 40, 22, 5, False, None),
    "moving_rare_time": (6, 40, 22, 5, True, None),
    "rare_feature": (40, 6, 5, 22, False, None),
    "moving_rare_feature": (40, 6, 5, 22, True, None),
    "positional_time": (20, 20, 0, 0, False, "time"),
    "positional_feature": (20, 20, 0, 0, False, "feature"),
}

#: The layout names :func:`make_ismail_layouts` accepts.
ISMAIL_LAYOUTS: tuple[str, ...] = tuple(_LAYOUTS)

_PROCESSES = ("gaussian", "autoregressive", "harmonic")
_REF_SIZE = 50
_POSITIONS = (29, 1)  # start on the positional axis for class 0 and class 1


def make_ismail_layouts(
    layout: str = "middle",
    n: int = 1000,
    *,
    n_test: int = 0,
    process: str = "gaussian",
    n_features: int = 50,
    n_timesteps: int = 50,
    seed: Seed = 0,
) -> IsmailLayoutDataset:
    """Generate one Ismail et al. layout with its true informative mask.

    Layouts (box sizes in steps x features for 50 x 50; scaled with ``n_timesteps`` and
    ``n_features``):

    - ``middle`` (30 x 30 from step 10, feature 10), ``small_middle`` (14 x 14 from 18, 18);
    - ``rare_time`` (6 steps x 40 features from step 22, feature 5);
    - ``rare_feature`` (40 steps x 6 features from step 5, feature 22);
    - ``moving_*``: the same box sizes at a uniform random position per sample;
    - ``positional_time``: a 20 x 20 box at a random feature position that starts at step 1 for
      class 1 and at step 29 for class 0; ``positional_feature``: the same with the roles of time
      and feature swapped. Both classes get ``+1``: only the position tells the class.

    In the non-positional layouts the box gets ``+1`` for class 1 and ``-1`` for class 0 (the
    authors' ``Target``), so the box's sign tells the class.

    Parameters
    ----------
    layout : str, default "middle"
        One of :data:`ISMAIL_LAYOUTS`.
    n : int, default 1000
        Number of training samples (the authors use 1000 training and 100 test samples).
    n_test : int, default 0
        Number of test samples, appended after the training samples.
    process : {"gaussian", "autoregressive", "harmonic"}, default "gaussian"
        Base process per feature: i.i.d. ``N(0, 1)`` (the authors' "Box"), AR(1) with coefficient
        0.9 and unit innovations, or a sinusoid of two cycles over the window with a random phase
        plus ``N(0, 0.3^2)`` noise (the authors sample timesynth processes; these are close
        stand-ins without that dependency).
    n_features, n_timesteps : int, default 50
        C and T. Box sizes and positions scale proportionally from the 50 x 50 reference.
    seed : int, numpy.random.Generator or None, default 0
        Seed of the random draws.

    Returns
    -------
    IsmailLayoutDataset
        ``X (N, C, T)``, ``y (N,)`` in {0, 1}, ``train_mask (N,)``, ``mask (N, C, T)`` true on the
        informative box, ``layout``.

    Raises
    ------
    ParameterError
        Unknown layout or process, or a size out of range.

    References
    ----------
    A. A. Ismail, M. Gunady, H. Corrada Bravo, S. Feizi, "Benchmarking Deep Learning
    Interpretability in Time Series Predictions", NeurIPS 2020.

    Examples
    --------
    >>> from tsexplain.datasets import make_ismail_layouts
    >>> d = make_ismail_layouts("rare_time", n=4, seed=0)
    >>> d.X.shape, int(d.mask[0].sum())
    ((4, 50, 50), 240)
    """
    check_choice(layout, "layout", ISMAIL_LAYOUTS)
    check_choice(process, "process", _PROCESSES)
    n_train = check_int(n, "n", minimum=1)
    n_test = check_int(n_test, "n_test", minimum=0)
    n_features = check_int(n_features, "n_features", minimum=10)
    n_timesteps = check_int(n_timesteps, "n_timesteps", minimum=10)
    rng = as_generator(seed)
    total = n_train + n_test

    box_t, box_f, start_t, start_f, moving, positional = _LAYOUTS[layout]

    def scale_t(v: int) -> int:
        return int(round(v * n_timesteps / _REF_SIZE))

    def scale_f(v: int) -> int:
        return int(round(v * n_features / _REF_SIZE))

    box_t, box_f = max(scale_t(box_t), 1), max(scale_f(box_f), 1)
    y = rng.integers(0, 2, size=total)
    if positional is None:
        shift = np.where(y == 1, 1.0, -1.0)
        if moving:
            starts_t = rng.integers(0, n_timesteps - box_t + 1, size=total)
            starts_f = rng.integers(0, n_features - box_f + 1, size=total)
        else:
            starts_t = np.full(total, scale_t(start_t))
            starts_f = np.full(total, scale_f(start_f))
    else:
        shift = np.ones(total)
        if positional == "time":
            starts_t = np.where(y == 1, scale_t(_POSITIONS[1]), scale_t(_POSITIONS[0]))
            starts_f = rng.integers(0, n_features - box_f + 1, size=total)
        else:
            starts_f = np.where(y == 1, scale_f(_POSITIONS[1]), scale_f(_POSITIONS[0]))
            starts_t = rng.integers(0, n_timesteps - box_t + 1, size=total)

    x = _base_process(rng, process, total, n_features, n_timesteps)
    t_idx = np.arange(n_timesteps)[None, :]
    f_idx = np.arange(n_features)[None, :]
    in_t = (t_idx >= starts_t[:, None]) & (t_idx < starts_t[:, None] + box_t)  # (N, T)
    in_f = (f_idx >= starts_f[:, None]) & (f_idx < starts_f[:, None] + box_f)  # (N, C)
    mask = in_f[:, :, None] & in_t[:, None, :]
    x = x + mask * shift[:, None, None]

    return IsmailLayoutDataset(
        X=x,
        y=y.astype(np.int64),
        train_mask=np.arange(total) < n_train,
        channel_names=tuple(f"f{j}" for j in range(n_features)),
        mask=mask,
        layout=layout,
    )


def _base_process(
    rng: np.random.Generator, process: str, n: int, n_features: int, n_timesteps: int
) -> np.ndarray:
    shape = (n, n_features, n_timesteps)
    if process == "gaussian":
        return rng.standard_normal(shape)
    if process == "autoregressive":
        from scipy.signal import lfilter

        v = rng.standard_normal(shape)
        return np.asarray(lfilter([1.0], [1.0, -0.9], v, axis=-1))
    cycles = np.arange(n_timesteps) / n_timesteps
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(n, n_features, 1))
    return np.sin(2.0 * np.pi * 2.0 * cycles + phase) + 0.3 * rng.standard_normal(shape)
