"""Data-set aggregates of an attribution: importance per channel, per time step, per class.

The aggregates are plain numpy functions. Each is the **mean absolute attribution** over the
axes it removes (``absolute=False`` gives the mean signed attribution instead):

* ``channel_importance(result)[c] = mean over n, t of |A[n, c, t]|``, shape (C,);
* ``time_importance(result)[t] = mean over n, c of |A[n, c, t]|``, shape (T,);
* ``class_importance(result, labels)[i, c, t] = mean over {n : labels[n] == classes[i]} of
  |A[n, c, t]|``, shape (n_classes, C, T).

Means (not sums) keep the numbers comparable between data sets of different sizes, lengths
and channel counts. ``plot_aggregates`` draws all three.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tsexplain._deprecation import renamed_kwargs
from tsexplain._typing import Target
from tsexplain.exceptions import ParameterError, ShapeError
from tsexplain.plotting.series import (
    _channel_labels,
    _check_top_k,
    _method_label,
    _new_figure,
    _raw_values,
    _tick_fontsize,
    _time_axis,
    _to_numpy,
    _values_3d,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from tsexplain.attribution import AttributionResult

__all__ = ["channel_importance", "time_importance", "class_importance", "plot_aggregates"]


def _reduce(values: np.ndarray, absolute: bool) -> np.ndarray:
    return np.abs(values) if absolute else values


@renamed_kwargs(output="target")
def channel_importance(
    result: AttributionResult | np.ndarray, *, target: Target = None, absolute: bool = True
) -> np.ndarray:
    """Mean |attribution| of each channel over samples and time steps.

    Parameters
    ----------
    result : AttributionResult or numpy.ndarray of shape (N, C, T) or (N, K, C, T)
        The attribution. 4-D values (``target="all"``) need ``target``.
    target : int, one int per sample, or "predicted", optional
        For (N, K, C, T) values (a ``target="all"`` result): which output to aggregate, with
        the rules of every ``target=`` argument (formerly ``output``).
    absolute : bool
        Average |A| (default) or the signed A.

    Returns
    -------
    numpy.ndarray of shape (C,)
        ``mean over n, t of |A[n, c, t]|`` (float64).

    Examples
    --------
    >>> import numpy as np
    >>> from tsexplain.plotting import channel_importance
    >>> a = np.zeros((2, 3, 4))  # (N, C, T)
    >>> a[:, 1] = -2.0
    >>> a[0, 2] = 1.0
    >>> channel_importance(a)
    array([0. , 2. , 0.5])
    >>> channel_importance(a, absolute=False)
    array([ 0. , -2. ,  0.5])
    """
    values = _values_3d(result, target)
    return _reduce(values, absolute).mean(axis=(0, 2))


@renamed_kwargs(output="target")
def time_importance(
    result: AttributionResult | np.ndarray, *, target: Target = None, absolute: bool = True
) -> np.ndarray:
    """Mean |attribution| of each time step over samples and channels.

    Parameters
    ----------
    result : AttributionResult or numpy.ndarray of shape (N, C, T) or (N, K, C, T)
        The attribution. 4-D values (``target="all"``) need ``target``.
    target : int, one int per sample, or "predicted", optional
        For (N, K, C, T) values (a ``target="all"`` result): which output to aggregate, with
        the rules of every ``target=`` argument (formerly ``output``).
    absolute : bool
        Average |A| (default) or the signed A.

    Returns
    -------
    numpy.ndarray of shape (T,)
        ``mean over n, c of |A[n, c, t]|`` (float64).

    Examples
    --------
    >>> import numpy as np
    >>> from tsexplain.plotting import time_importance
    >>> a = np.zeros((2, 3, 4))  # (N, C, T)
    >>> a[:, :, 0] = 3.0
    >>> a[0, 0, 3] = -6.0
    >>> time_importance(a)  # mean over the 2 x 3 (sample, channel) cells
    array([3., 0., 0., 1.])
    """
    values = _values_3d(result, target)
    return _reduce(values, absolute).mean(axis=(0, 1))


def _check_labels(labels: Any, n: int) -> np.ndarray:
    lab = (
        _to_numpy(labels, "labels") if not isinstance(labels, list | tuple) else np.asarray(labels)
    )
    if lab.ndim != 1 or lab.shape[0] != n:
        raise ShapeError(f"labels must have shape (N,) = ({n},), one per sample; got {lab.shape}.")
    return lab


@renamed_kwargs(output="target")
def class_importance(
    result: AttributionResult | np.ndarray,
    labels: Any,
    *,
    classes: Sequence[Any] | None = None,
    target: Target = None,
    absolute: bool = True,
) -> np.ndarray:
    """Mean |attribution| map of each class: average over the samples with that label.

    Parameters
    ----------
    result : AttributionResult or numpy.ndarray of shape (N, C, T) or (N, K, C, T)
        The attribution.
    labels : array of shape (N,)
        The class of each sample (true labels, or predictions for "what the model used").
    classes : sequence, optional
        The classes, i.e. the rows of the result, in this order. Default ``numpy.unique(labels)``
        (sorted). A class without samples gets a row of NaN.
    target : int, one int per sample, "predicted" or "label", optional
        For (N, K, C, T) values (a ``target="all"`` result): which output to aggregate, with
        the rules of every ``target=`` argument; ``"label"`` takes for each sample the output
        of its own label (``target=labels``: integers in [0, K)). Formerly ``output``.
    absolute : bool
        Average |A| (default) or the signed A.

    Returns
    -------
    numpy.ndarray of shape (n_classes, C, T)
        Row i is ``mean over {n : labels[n] == classes[i]} of |A[n]|`` (float64).

    Raises
    ------
    ShapeError
        ``labels`` is not one label per sample.
    TargetError
        4-D values without ``target``; labels out of [0, K) with ``target="label"``.
    ParameterError
        Empty ``classes``.

    Examples
    --------
    >>> import numpy as np
    >>> from tsexplain.plotting import class_importance
    >>> a = np.stack([np.full((2, 3), v) for v in (1.0, 3.0, -4.0)])  # (N, C, T) = (3, 2, 3)
    >>> maps = class_importance(a, ["b", "a", "b"])  # classes sorted: "a", "b"
    >>> maps.shape, maps[:, 0, 0].tolist()
    ((2, 2, 3), [3.0, 2.5])
    >>> float(class_importance(a, [0, 1, 0], classes=[0, 1, 2])[2, 0, 0])  # class 2 has no sample
    nan
    >>> a4 = np.zeros((2, 2, 1, 3))  # (N, K, C, T), target="all"
    >>> a4[0, 0], a4[1, 1] = 1.0, 5.0
    >>> class_importance(a4, [0, 1], target="label")[:, 0, 0].tolist()  # each sample's own label
    [1.0, 5.0]
    """
    if isinstance(target, str) and target == "label":
        raw = _to_numpy(_raw_values(result), "result")
        lab = _check_labels(labels, raw.shape[0])
        values = _values_3d(result, lab if raw.ndim == 4 else None)
    else:
        values = _values_3d(result, target)
        lab = _check_labels(labels, values.shape[0])
    cls = np.unique(lab) if classes is None else list(classes)
    if len(cls) == 0:
        raise ParameterError("classes is empty.")
    v = _reduce(values, absolute)
    out = np.full((len(cls), *values.shape[1:]), np.nan)
    for i, c in enumerate(cls):
        mask = lab == c
        if np.any(mask):
            out[i] = v[mask].mean(axis=0)
    return out


@renamed_kwargs(output="target")
def plot_aggregates(
    result: AttributionResult | np.ndarray,
    labels: Any = None,
    channel_names: Sequence[str] | None = None,
    *,
    target: Target = None,
    top_k: int | None = None,
    time: Any = None,
    class_names: Sequence[str] | dict[Any, str] | None = None,
    max_classes: int = 12,
    title: str | None = None,
) -> Figure:
    """Importance per channel (bars), per time step (curve) and, with labels, per class (maps).

    Parameters
    ----------
    result : AttributionResult or numpy.ndarray of shape (N, C, T) or (N, K, C, T)
        The attribution of a data set. 4-D values need ``target``.
    labels : array of shape (N,), optional
        Class of each sample; adds one mean-|attribution| heatmap per class (shared colour scale).
    channel_names : sequence of str of length C, optional
        Channel labels; default: indices.
    target : int, one int per sample, or "predicted", optional
        For (N, K, C, T) values (a ``target="all"`` result): which output to aggregate, with
        the rules of every ``target=`` argument (formerly ``output``).
    top_k : int, optional
        Keep the k most important channels (by :func:`channel_importance`) in the bar chart
        (sorted by importance) and the class maps (channel order). Default: all.
    time : array of shape (T,), optional
        Increasing time stamps for the time axes.
    class_names : sequence or dict, optional
        Names of the classes (in ``numpy.unique(labels)`` order, or a dict label -> name).
    max_classes : int
        Draw at most this many class maps (the first classes in sorted order).
    title : str, optional
        Figure title; default: the method and its parameters.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]``: bars of :func:`channel_importance`; ``fig.axes[1]``: the curve of
        :func:`time_importance`; then the class maps (``images[0]`` of each is the class's
        (rows, T) map) and their colourbar.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from tsexplain.plotting import channel_importance, plot_aggregates
    >>> attr = np.random.default_rng(0).standard_normal((6, 3, 20))  # (N, C, T)
    >>> fig = plot_aggregates(attr, labels=[0, 1, 0, 1, 0, 1], channel_names=["x", "y", "z"])
    >>> len(fig.axes)  # channel bars, time curve, 2 class maps, colourbar
    5
    >>> np.allclose([bar.get_height() for bar in fig.axes[0].patches], channel_importance(attr))
    True
    >>> plt.close(fig)
    """
    values = _values_3d(result, target)
    n, n_channels, n_steps = values.shape
    k = _check_top_k(top_k)
    names = _channel_labels(channel_names, n_channels)
    t = _time_axis(time, n_steps)
    ch_imp = channel_importance(values)
    t_imp = time_importance(values)
    if k is not None and k < n_channels:
        ranked = np.argsort(-ch_imp, kind="stable")[:k]
    else:
        ranked = np.arange(n_channels)

    cls_maps = None
    cls = np.array([])
    if labels is not None:
        lab = _check_labels(labels, n)
        cls = np.unique(lab)[:max_classes]
        cls_maps = class_importance(values, lab, classes=list(cls))
    n_cls = len(cls)
    n_cols = 2 if n_cls == 0 else max(2, min(4, n_cls))
    cls_rows = int(np.ceil(n_cls / n_cols)) if n_cls else 0
    map_rows = np.sort(ranked)
    map_h = float(np.clip(0.6 + 0.12 * len(map_rows), 2.0, 7.0))
    fig = _new_figure(
        max(10.0, 3.2 * n_cols),
        float(np.clip(3.4 + map_h * cls_rows, 3.4, 30.0)),
    )
    gs = fig.add_gridspec(1 + cls_rows, 2 * n_cols, height_ratios=[3.0] + [map_h] * cls_rows)
    ax_bar = fig.add_subplot(gs[0, :n_cols])
    ax_time = fig.add_subplot(gs[0, n_cols:])

    pos = np.arange(len(ranked))
    ax_bar.bar(pos, ch_imp[ranked], color="tab:blue")
    ax_bar.set_xticks(pos)
    ax_bar.set_xticklabels(
        [names[c] for c in ranked],
        rotation=90 if len(ranked) > 12 else 0,
        fontsize=_tick_fontsize(len(ranked) / 1.5),
    )
    ax_bar.set_xlabel("channel" + (" (by importance)" if len(ranked) < n_channels else ""))
    ax_bar.set_ylabel("mean |attribution|")
    ax_bar.set_title(
        "per channel"
        + (f" (top {len(ranked)} of {n_channels})" if len(ranked) < n_channels else "")
    )
    ax_time.plot(t, t_imp, color="tab:blue")
    ax_time.fill_between(t, 0, t_imp, color="tab:blue", alpha=0.2)
    ax_time.set_xlim(t[0], t[-1] if n_steps > 1 else t[0] + 1)
    ax_time.set_ylim(bottom=0)
    ax_time.set_xlabel("time")
    ax_time.set_ylabel("mean |attribution|")
    ax_time.set_title("per time step")

    if cls_maps is not None:
        from tsexplain.plotting.series import _draw_heatmap

        if isinstance(class_names, dict):
            cnames = [str(class_names.get(c, c)) for c in cls]
        elif class_names is not None:
            cnames = [str(c) for c in class_names][: len(cls)]
            if len(cnames) != len(cls):
                raise ShapeError(f"class_names has {len(cnames)} names for {len(cls)} classes.")
        else:
            cnames = [str(c) for c in cls]
        vmax = float(np.nanmax(cls_maps[:, map_rows])) or 1.0
        map_axes = []
        mappable = None
        for i in range(n_cls):
            r, c = divmod(i, n_cols)
            ax = fig.add_subplot(gs[1 + r, 2 * c : 2 * c + 2])
            mappable = _draw_heatmap(ax, cls_maps[i], map_rows, names, t, False, None, None)
            mappable.set_clim(0.0, vmax)
            count = int(np.sum(lab == cls[i]))
            ax.set_title(f"class {cnames[i]} (n={count})", fontsize=9)
            if c > 0:
                ax.set_ylabel("")
            map_axes.append(ax)
        if mappable is not None:
            cb = fig.colorbar(mappable, ax=map_axes, fraction=0.03, pad=0.01)
            cb.set_label("mean |attribution| per class", fontsize=8)
    fig.suptitle(title if title is not None else _method_label(result))
    return fig
