"""Filter clustering (TSViz Section IV-C): DTW distances, complete linkage, k by silhouette."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from tsexplain._validation import check_choice, check_int, check_single_map
from tsexplain.exceptions import ParameterError, ShapeError

Normalize = Literal["none", "zscore", "minmax"]


def dtw_distances(
    activations: np.ndarray, *, window: int | None = None, parallel: bool = True
) -> np.ndarray:
    """Pairwise DTW distances between activation vectors, with dtaidistance's C implementation.

    The distance is dtaidistance's: the square root of the smallest sum of squared differences
    along a warping path. (TSViz Eq. 21 sums ``|a_i - b_j|`` instead; both share the optimal-path
    recursion and agree on which filters are identical.)

    Parameters
    ----------
    activations : numpy.ndarray of shape (F, T')
        One activation vector per filter.
    window : int, optional
        Sakoe-Chiba band half-width in steps (warping limited to ``|i - j| <= window``);
        ``None`` allows any warping. A band of about 10% of T' is several times faster.
    parallel : bool
        Use dtaidistance's OpenMP parallel loop.

    Returns
    -------
    numpy.ndarray of shape (F, F)
        Symmetric, zero diagonal, float64.

    Examples
    --------
    >>> import numpy as np
    >>> from tsexplain.network import dtw_distances
    >>> d = dtw_distances(np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [0.0, 0.0, 0.0]]))
    >>> d.shape, float(d[0, 1]), round(float(d[0, 2]), 4)  # identical rows: 0; sqrt(0 + 1 + 4)
    ((3, 3), 0.0, 2.2361)
    """
    from dtaidistance import dtw

    series = np.ascontiguousarray(activations, dtype=np.float64)
    kwargs = {} if window is None else {"window": int(window)}
    d = dtw.distance_matrix_fast(series, compact=False, parallel=parallel, **kwargs)
    d = np.asarray(d, dtype=np.float64)
    np.fill_diagonal(d, 0.0)
    return d


@dataclass
class FilterClusters:
    """Result of :func:`cluster_filters`; the whole hierarchy is kept for cutting at any k.

    Attributes
    ----------
    labels : numpy.ndarray of shape (F,)
        Cluster of each filter (1..k) at the chosen ``k``.
    k : int
        Number of clusters with the best silhouette (or the one asked for).
    distances : numpy.ndarray of shape (F, F)
        DTW distance matrix.
    linkage : numpy.ndarray of shape (F - 1, 4)
        SciPy complete-linkage matrix (for :func:`scipy.cluster.hierarchy.dendrogram`).
    silhouette : dict of int to float
        Silhouette score (precomputed DTW distances) for each candidate k.

    Examples
    --------
    >>> import numpy as np
    >>> from tsexplain.network import cluster_filters
    >>> t = np.linspace(0, 2 * np.pi, 20)
    >>> acts = np.stack([np.sin(t), np.sin(t), np.cos(t), np.cos(t), t / np.pi - 1])  # (F, T')
    >>> res = cluster_filters(acts)  # returns a FilterClusters
    >>> res.k, res.labels.tolist(), res.distances.shape, res.linkage.shape
    (3, [1, 1, 2, 2, 3], (5, 5), (4, 4))
    >>> {c: m.tolist() for c, m in res.members().items()}
    {1: [0, 1], 2: [2, 3], 3: [4]}
    >>> res.cut(2).tolist()  # the same hierarchy cut into 2 clusters
    [1, 1, 1, 1, 2]
    """

    labels: np.ndarray
    k: int
    distances: np.ndarray
    linkage: np.ndarray
    silhouette: dict[int, float] = field(default_factory=dict)

    def cut(self, k: int) -> np.ndarray:
        """Labels (1..k) of each filter when the hierarchy is cut into ``k`` clusters."""
        from scipy.cluster.hierarchy import fcluster

        n = self.distances.shape[0]
        k = check_int(k, "k", minimum=1)
        if k > n:
            raise ParameterError(f"k={k} exceeds the number of filters ({n}).")
        return fcluster(self.linkage, t=k, criterion="maxclust")

    def members(self) -> dict[int, np.ndarray]:
        """Filter indices of each cluster at the chosen k."""
        return {int(c): np.flatnonzero(self.labels == c) for c in np.unique(self.labels)}


def _normalize(a: np.ndarray, how: str) -> np.ndarray:
    if how == "zscore":
        sd = a.std(axis=1, keepdims=True)
        return (a - a.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    if how == "minmax":
        lo, hi = a.min(axis=1, keepdims=True), a.max(axis=1, keepdims=True)
        return (a - lo) / np.where(hi > lo, hi - lo, 1.0)
    return a


def cluster_filters(
    activations: np.ndarray | torch.Tensor,
    *,
    k: int | None = None,
    k_range: tuple[int, int] | None = None,
    window: int | None = None,
    normalize: Normalize = "none",
    parallel: bool = True,
) -> FilterClusters:
    """Group a layer's filters by the shape of their activations (TSViz Section IV-C).

    DTW distances between the filters' activation vectors (dtaidistance, C), complete-linkage
    agglomerative clustering (SciPy), and the number of clusters with the best silhouette
    score over ``k_range`` (scikit-learn, ``metric="precomputed"``) -- every k except 1 and F,
    as in TSViz. The linkage is returned, so ``result.cut(k)`` gives any other k.

    Parameters
    ----------
    activations : array of shape (F, T') or (1, F, T')
        One activation vector per filter, for one input series, e.g.
        ``conv_activations(model, x[:1], "conv2")["conv2"][0]``.
    k : int, optional
        Use this number of clusters instead of the silhouette choice (silhouettes are still
        reported).
    k_range : (int, int), optional
        Inclusive range of k searched; default ``(2, F - 1)``.
    window : int, optional
        Sakoe-Chiba band for DTW (see :func:`dtw_distances`).
    normalize : {"none", "zscore", "minmax"}
        Rescale each activation vector first, to compare shapes regardless of magnitude.
    parallel : bool
        dtaidistance's parallel loop.

    Returns
    -------
    FilterClusters

    Raises
    ------
    ShapeError
        Activations not (F, T'), or fewer than 3 filters.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import cluster_filters, conv_activations
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> with torch.no_grad():  # plant two identical filters, 0 and 3
    ...     net[0].weight[3] = net[0].weight[0]
    ...     net[0].bias[3] = net[0].bias[0]
    >>> acts = conv_activations(net, torch.randn(1, 2, 16), "0")["0"][0]  # (F, T') = (4, 16)
    >>> res = cluster_filters(acts)
    >>> bool(res.labels[0] == res.labels[3])  # planted identical filters share a cluster
    True
    >>> res.distances.shape, float(res.distances[0, 3])
    ((4, 4), 0.0)
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    from sklearn.metrics import silhouette_score

    a = check_single_map(
        activations, "activations", shape="(F, T') (one vector per filter)",
        batch_hint="pick one sample of the (N, F, T') batch, e.g. activations[0]",
    )
    n_filters = a.shape[0]
    if n_filters < 3:
        raise ShapeError(f"clustering needs at least 3 filters, got {n_filters}.")
    check_choice(normalize, "normalize", ("none", "zscore", "minmax"))
    a = _normalize(a.astype(np.float64), normalize)
    d = dtw_distances(a, window=window, parallel=parallel)
    z = linkage(squareform(d, checks=False), method="complete")
    lo, hi = k_range if k_range is not None else (2, n_filters - 1)
    lo, hi = max(2, int(lo)), min(n_filters - 1, int(hi))
    scores: dict[int, float] = {}
    for kk in range(lo, hi + 1):
        labels = fcluster(z, t=kk, criterion="maxclust")
        n_found = len(np.unique(labels))
        if n_found != kk or n_found < 2 or n_found >= n_filters:
            continue  # ties in the hierarchy: this k cannot be cut exactly
        scores[kk] = float(silhouette_score(d, labels, metric="precomputed"))
    if k is not None:
        k_best = check_int(k, "k", minimum=1)
        if k_best > n_filters:
            raise ParameterError(f"k={k_best} exceeds the number of filters ({n_filters}).")
    elif scores:
        k_best = max(scores, key=lambda kk: (scores[kk], -kk))
    else:
        k_best = 1
    labels = fcluster(z, t=k_best, criterion="maxclust")
    return FilterClusters(labels=labels, k=int(len(np.unique(labels))), distances=d, linkage=z, silhouette=scores)
