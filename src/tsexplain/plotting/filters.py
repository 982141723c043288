"""Plots for :mod:`tsexplain.network` (TSViz views). matplotlib is imported inside each function.

Every function draws into a new figure unless ``ax``/``fig`` is given and returns the figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tsexplain.exceptions import ShapeError

__all__ = [
    "plot_adversarial_result",
    "plot_before_after",
    "plot_dendrogram",
    "plot_filter_grid",
    "plot_inverse_result",
    "plot_pruning_curve",
    "plot_silhouette",
]

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from tsexplain.network import AdversarialResult, FilterClusters, InverseResult, PruningCurve


def _np(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def _minmax(v: np.ndarray) -> np.ndarray:
    lo, hi = float(np.min(v)), float(np.max(v))
    return np.zeros_like(v, dtype=float) if hi <= lo else (v - lo) / (hi - lo)


def plot_filter_grid(
    activations: Any,
    *,
    labels: Any = None,
    importance: Any = None,
    saliency: Any = None,
    n_cols: int = 8,
    max_filters: int | None = None,
    title: str | None = None,
) -> Figure:
    """TSViz filter grid: each filter's activation, coloured by cluster, with importance and saliency.

    Parameters
    ----------
    activations : array of shape (F, T')
        Activations of one layer for one input series.
    labels : array of shape (F,), optional
        Cluster of each filter (e.g. ``FilterClusters.labels``): sets the line colour.
    importance : array of shape (F,), optional
        Filter importance; min-max scaled and shown as the panel's background shade and title.
        Filters are ordered by decreasing importance when given.
    saliency : array of shape (F, C, T) or (F, T), optional
        Per-filter input saliency (``filter_saliency(...)[n]``); summed over channels and drawn as
        a shaded band under the activation (resampled to T' when T != T').
    n_cols : int
    max_filters : int, optional
        Show only the first (most important) filters.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from tsexplain.plotting import plot_filter_grid
    >>> acts = np.random.default_rng(0).standard_normal((6, 20))  # (F, T')
    >>> fig = plot_filter_grid(acts, labels=[1, 1, 2, 2, 3, 3], importance=np.arange(6),
    ...                        saliency=np.ones((6, 2, 10)), n_cols=4)
    >>> len(fig.axes)  # 2 rows x 4 columns
    8
    >>> fig.axes[0].get_title()  # most important filter first, with its cluster
    'f5 c3 I=1.00'
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    acts = _np(activations)
    if acts.ndim != 2:
        raise ShapeError(f"activations must have shape (F, T'), got {acts.shape}.")
    n_filters, n_steps = acts.shape
    order = np.arange(n_filters)
    imp = None if importance is None else _minmax(_np(importance).astype(float))
    if imp is not None:
        order = np.argsort(-imp, kind="stable")
    if max_filters is not None:
        order = order[:max_filters]
    lab = None if labels is None else _np(labels)
    sal = None
    if saliency is not None:
        sal = _np(saliency)
        sal = sal.sum(axis=1) if sal.ndim == 3 else sal
        if sal.shape[1] != n_steps:
            grid = np.linspace(0, 1, sal.shape[1])
            sal = np.stack([np.interp(np.linspace(0, 1, n_steps), grid, row) for row in sal])
        sal = np.stack([_minmax(row) for row in sal])
    n_rows = int(np.ceil(len(order) / n_cols))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.9 * n_cols, 1.3 * n_rows), squeeze=False, sharex=True)
    cmap = plt.get_cmap("tab10")
    t = np.arange(n_steps)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for k, f in enumerate(order):
        ax = axes.ravel()[k]
        colour = cmap((int(lab[f]) - 1) % 10) if lab is not None else "k"
        if imp is not None:
            ax.set_facecolor((1.0, 1.0 - 0.35 * imp[f], 1.0 - 0.35 * imp[f]))
        a = acts[f]
        if sal is not None:
            lo, hi = float(a.min()), float(a.max())
            ax.fill_between(t, lo, lo + (hi - lo + 1e-12) * sal[f], color="orange", alpha=0.35, lw=0)
        ax.plot(t, a, color=colour, lw=1.0)
        text = f"f{f}" + (f" c{int(lab[f])}" if lab is not None else "") + (f" I={imp[f]:.2f}" if imp is not None else "")
        ax.set_title(text, fontsize=7, pad=2)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_silhouette(clusters: FilterClusters, *, ax: Axes | None = None) -> Figure:
    """Silhouette score against the number of clusters, best k marked (TSViz Figure 4).

    Parameters
    ----------
    clusters : FilterClusters
        From :func:`~tsexplain.network.cluster_filters`.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from tsexplain.network import cluster_filters
    >>> t = np.linspace(0, 2 * np.pi, 20)
    >>> clusters = cluster_filters(np.stack([np.sin(t), np.sin(t), np.cos(t), np.cos(t), t / np.pi - 1]))
    >>> fig = plot_silhouette(clusters)
    >>> [int(k) for k in fig.axes[0].lines[0].get_xdata()]  # the candidate k
    [2, 3]
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    fig, ax = (ax.figure.figure, ax) if ax is not None else plt.subplots(figsize=(5, 3))
    ks = sorted(clusters.silhouette)
    ax.plot(ks, [clusters.silhouette[k] for k in ks], marker="o", ms=3)
    if clusters.k in clusters.silhouette:
        ax.axvline(clusters.k, color="r", ls="--", lw=1, label=f"best k = {clusters.k}")
        ax.legend()
    ax.set_xlabel("number of clusters k")
    ax.set_ylabel("silhouette (DTW)")
    return fig


def plot_dendrogram(
    clusters: FilterClusters, *, k: int | None = None, ax: Axes | None = None
) -> Figure:
    """Complete-linkage dendrogram of the filters, cut (coloured) at ``k`` (default: the best k).

    Parameters
    ----------
    clusters : FilterClusters
        From :func:`~tsexplain.network.cluster_filters` (F filters).
    k : int, optional
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Leaves labelled ``f0`` .. ``f{F-1}``.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from tsexplain.network import cluster_filters
    >>> t = np.linspace(0, 2 * np.pi, 20)
    >>> clusters = cluster_filters(np.stack([np.sin(t), np.sin(t), np.cos(t), np.cos(t), t / np.pi - 1]))
    >>> fig = plot_dendrogram(clusters)  # coloured at the best k = 3
    >>> sorted(label.get_text() for label in fig.axes[0].get_xticklabels())
    ['f0', 'f1', 'f2', 'f3', 'f4']
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import dendrogram

    fig, ax = (ax.figure.figure, ax) if ax is not None else plt.subplots(figsize=(7, 3))
    z = clusters.linkage
    k = clusters.k if k is None else k
    threshold = z[-(k - 1), 2] if 1 < k <= z.shape[0] + 1 else None
    dendrogram(z, ax=ax, color_threshold=threshold, labels=[f"f{i}" for i in range(z.shape[0] + 1)])
    ax.set_ylabel("DTW distance (complete linkage)")
    ax.tick_params(axis="x", labelsize=6)
    return fig


def plot_pruning_curve(curves: PruningCurve | Sequence[PruningCurve], *, ax: Axes | None = None) -> Figure:
    """Test loss against the number of pruned filters, one line per curve (TSViz Figure 10).

    Parameters
    ----------
    curves : PruningCurve or sequence of PruningCurve
        From :func:`~tsexplain.network.pruning_curve`.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> import torch
    >>> from torch import nn
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> from tsexplain.network import pruning_curve
    >>> from tsexplain.plotting import plot_pruning_curve
    >>> x, y = torch.randn(3, 2, 16), torch.tensor([0.0, 1.0, 1.0])
    >>> curves = [pruning_curve(net, "2", x, y, x_importance=x, order=o) for o in ("least", "most")]
    >>> fig = plot_pruning_curve(curves)
    >>> len(fig.axes[0].lines), fig.axes[0].lines[1].get_label()
    (2, '2 (most influential first)')
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    fig, ax = (ax.figure.figure, ax) if ax is not None else plt.subplots(figsize=(5, 3))
    seq = [curves] if not isinstance(curves, Sequence) else list(curves)
    for c in seq:
        ax.plot(c.n_pruned, c.loss, marker="o", ms=3, label=f"{c.layer} ({c.order} influential first)")
    ax.set_xlabel("filters removed")
    ax.set_ylabel("test loss")
    ax.legend(fontsize=7)
    return fig


def plot_before_after(
    before: Any,
    after: Any,
    *,
    channel_names: Sequence[str] | None = None,
    title_before: str = "before",
    title_after: str = "after",
    sample: int = 0,
) -> Figure:
    """Overlay of a series before and after an inverse optimisation or an adversarial attack.

    Parameters
    ----------
    before, after : array of shape (N, C, T) or (C, T)
    channel_names : sequence of str, optional
    title_before, title_after : str
        Legend labels (e.g. with the model's probabilities).
    sample : int
        Which series of the batch.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per channel, the difference shaded.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from tsexplain.plotting import plot_before_after
    >>> before = np.zeros((2, 3, 20))  # (N, C, T)
    >>> fig = plot_before_after(before, before + 0.1, channel_names=["a", "b", "c"], sample=1)
    >>> len(fig.axes), fig.axes[0].get_ylabel()
    (3, 'a')
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    b, a = _np(before), _np(after)
    if b.ndim == 3:
        b, a = b[sample], a[sample]
    n_channels = b.shape[0]
    names = list(channel_names) if channel_names is not None else [f"channel {c}" for c in range(n_channels)]
    fig, axes = plt.subplots(n_channels, 1, figsize=(7, 1.6 * n_channels), sharex=True, squeeze=False)
    t = np.arange(b.shape[1])
    for c in range(n_channels):
        ax = axes[c, 0]
        ax.plot(t, b[c], color="0.5", lw=1, label=title_before)
        ax.plot(t, a[c], color="C3", lw=1, label=title_after)
        ax.fill_between(t, b[c], a[c], color="C3", alpha=0.15, lw=0)
        ax.set_ylabel(names[c], fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def _describe(out: Any, sample: int, probability: str | None) -> str:
    o = _np(out)[sample].astype(float)
    if probability == "sigmoid":
        return f"p = {1.0 / (1.0 + np.exp(-o[0])):.4f}"
    if probability == "softmax":
        e = np.exp(o - o.max())
        return "p = " + str((e / e.sum()).round(4).tolist())
    return f"output {o.round(4).tolist()}"


def plot_inverse_result(
    result: InverseResult,
    *,
    channel_names: Sequence[str] | None = None,
    sample: int = 0,
    probability: str | None = None,
) -> Figure:
    """Start and end of :func:`~tsexplain.network.inverse_optimize` (TSViz Figures 5-6).

    ``probability="sigmoid"``/``"softmax"`` labels the curves with probabilities from logits.

    Parameters
    ----------
    result : InverseResult
        Start and end series of shape (N, C, T).
    channel_names, sample
        As in :func:`plot_before_after`.
    probability : {"sigmoid", "softmax"}, optional

    Returns
    -------
    matplotlib.figure.Figure
        One panel per channel.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> import torch
    >>> from torch import nn
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> from tsexplain.network import inverse_optimize
    >>> from tsexplain.plotting import plot_inverse_result
    >>> res = inverse_optimize(net, 1.0, shape=(1, 2, 16), steps=10, alpha=0.1)
    >>> fig = plot_inverse_result(res, probability="sigmoid")
    >>> len(fig.axes), [line.get_label().split()[0] for line in fig.axes[0].lines]
    (2, ['start', 'end'])
    >>> plt.close(fig)
    """
    return plot_before_after(
        result.start, result.x, channel_names=channel_names, sample=sample,
        title_before=f"start ({_describe(result.output_before, sample, probability)})",
        title_after=f"end ({_describe(result.output_after, sample, probability)})",
    )


def plot_adversarial_result(
    result: AdversarialResult,
    x: Any,
    *,
    channel_names: Sequence[str] | None = None,
    sample: int = 0,
    probability: str | None = None,
) -> Figure:
    """Original and adversarial series (TSViz Figures 7-8), with each channel's perturbation share.

    Parameters
    ----------
    result : AdversarialResult
        From :func:`~tsexplain.network.fgsm` or :func:`~tsexplain.network.iterative_fgsm`.
    x : array of shape (N, C, T)
        The attacked input.
    channel_names, sample
        As in :func:`plot_before_after`.
    probability : {"sigmoid", "softmax"}, optional

    Returns
    -------
    matplotlib.figure.Figure
        One panel per channel.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> import torch
    >>> from torch import nn
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> from tsexplain.network import fgsm
    >>> from tsexplain.plotting import plot_adversarial_result
    >>> x = torch.randn(3, 2, 16)
    >>> fig = plot_adversarial_result(fgsm(net, x, epsilon=0.05), x, sample=2)
    >>> len(fig.axes), fig.axes[0].texts[0].get_text()  # FGSM: +-epsilon everywhere
    (2, '50% of |perturbation|')
    >>> plt.close(fig)
    """
    fig = plot_before_after(
        x, result.x_adv, channel_names=channel_names, sample=sample,
        title_before=f"original ({_describe(result.output_before, sample, probability)})",
        title_after=f"adversarial ({_describe(result.output_after, sample, probability)})",
    )
    share = _np(result.channel_share)[sample]
    for c, ax in enumerate(fig.axes):
        ax.text(0.01, 0.9, f"{share[c]:.0%} of |perturbation|", transform=ax.transAxes, fontsize=7, va="top")
    return fig
