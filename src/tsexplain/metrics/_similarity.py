"""Row-wise similarity measures: Pearson, Spearman and a structural similarity (SSIM)."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.stats import rankdata


def pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation between matching rows of ``a`` and ``b`` (last axis).

    Parameters
    ----------
    a, b : numpy.ndarray of shape (..., D)

    Returns
    -------
    numpy.ndarray of shape (...)
        NaN where a row is constant (the correlation is undefined there).
    """
    d = a.shape[-1]
    scale_a = np.abs(a).max(axis=-1, initial=0.0)
    scale_b = np.abs(b).max(axis=-1, initial=0.0)
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    ss_a = (a * a).sum(axis=-1)
    ss_b = (b * b).sum(axis=-1)
    # A row is constant when its centred values vanish up to rounding of its own magnitude.
    degenerate = (ss_a <= d * (1e-12 * scale_a) ** 2) | (ss_b <= d * (1e-12 * scale_b) ** 2)
    den = np.sqrt(np.where(degenerate, 1.0, ss_a * ss_b))
    r = np.where(degenerate, np.nan, (a * b).sum(axis=-1) / den)
    return np.clip(r, -1.0, 1.0)


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation between matching rows (ties get average ranks)."""
    return pearson_rows(rankdata(a, axis=-1), rankdata(b, axis=-1))


def ssim_maps(a: np.ndarray, b: np.ndarray, *, window: int = 7) -> np.ndarray:
    """Mean structural similarity of two batches of maps, windowed along time.

    Each map is scaled by its own maximum absolute value to lie in [-1, 1] (data range 2),
    then the SSIM of Wang et al. (2004) is computed with a uniform window of ``window`` steps
    along time, separately in each channel (channels have no spatial order), and averaged.

    Parameters
    ----------
    a, b : numpy.ndarray of shape (N, C, T)
    window : int
        Window length along time (clipped to T).

    Returns
    -------
    numpy.ndarray of shape (N,)
        1 for identical maps (up to a positive scale), near 0 for unrelated ones.
    """
    a = _unit_scale(a)
    b = _unit_scale(b)
    w = max(1, min(int(window), a.shape[-1]))
    data_range = 2.0
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    mu_a = uniform_filter1d(a, w, axis=-1, mode="reflect")
    mu_b = uniform_filter1d(b, w, axis=-1, mode="reflect")
    var_a = uniform_filter1d(a * a, w, axis=-1, mode="reflect") - mu_a**2
    var_b = uniform_filter1d(b * b, w, axis=-1, mode="reflect") - mu_b**2
    cov = uniform_filter1d(a * b, w, axis=-1, mode="reflect") - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return s.reshape(s.shape[0], -1).mean(axis=1)


def _unit_scale(a: np.ndarray) -> np.ndarray:
    m = np.abs(a).reshape(a.shape[0], -1).max(axis=1)
    m = np.where(m > 0, m, 1.0)
    return a / m[:, None, None]
