"""Static figures of one sample's attribution: heatmap, saliency-coloured series, comparison.

Every function takes an :class:`~tsexplain.attribution.AttributionResult` (or a bare array of
shape (N, C, T)) and returns a :class:`matplotlib.figure.Figure`. matplotlib is imported inside
the functions only, so ``import tsexplain.plotting`` stays light.

Colour conventions
------------------
Signed attributions use a diverging colormap (``"RdBu_r"``: red positive, blue negative) with
limits symmetric about 0, so white is exactly zero. Absolute attributions (``result.signed`` is
False, or ``absolute=True``) use a sequential colormap (``"Reds"``) from 0: the darker, the
larger. The colourbar names the method and its parameters.

Many channels
-------------
``top_k=k`` keeps the k channels with the largest total |attribution| of the plotted sample
(ties: lower channel index first). They are drawn in decreasing importance (``order=
"importance"``) or in their original order (``order="channel"``), labelled with their names
(``channel_names``) or indices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from tsexplain._deprecation import renamed_kwargs
from tsexplain._targets import target_indices
from tsexplain._typing import Target
from tsexplain._validation import series_shape_problem, to_float_array
from tsexplain.attribution._base import ENGINE_OPTIONS
from tsexplain.exceptions import InputTypeError, ParameterError, ShapeError, TargetError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.cm import ScalarMappable
    from matplotlib.figure import Figure

    from tsexplain.attribution import AttributionResult

__all__ = [
    "plot_heatmap",
    "plot_colored_series",
    "plot_method_comparison",
    "save_figure",
]

_SHAPE = "(N, C, T) = (samples, channels, time steps)"
_DIVERGING = "RdBu_r"
_SEQUENTIAL = "Reds"

Order = Literal["importance", "channel"]


# --------------------------------------------------------------------------------------------
# Input checks shared by the plotting functions (no torch, no matplotlib here)
# --------------------------------------------------------------------------------------------


def _to_numpy(a: Any, name: str) -> np.ndarray:
    """An array-like or tensor (any device, with or without grad) as a float64 numpy array."""
    return to_float_array(a, name)


def _raw_values(result: Any) -> Any:
    """``result.values`` for an AttributionResult, else ``result`` (tensors have a
    ``values()`` method, which is not what is meant)."""
    raw = getattr(result, "values", result)
    return result if callable(raw) else raw


def _values_3d(result: Any, target: Target = None, name: str = "result") -> np.ndarray:
    """The attribution values as a float array of shape (N, C, T).

    Parameters
    ----------
    result : AttributionResult or array of shape (N, C, T) or (N, K, C, T)
        The attribution.
    target : None, int, one int per sample, or "predicted"
        For 4-D values (``target="all"`` results), which output's attribution to take, with the
        rules of every ``target=`` argument (:mod:`tsexplain._targets`); ``"predicted"`` needs
        the result's ``predictions``. Must be None for 3-D values (they explain one output).

    Raises
    ------
    ShapeError
        The values are not 3-D or 4-D, or have an empty axis.
    TargetError
        4-D values without ``target``, a target the rules reject, or a target for 3-D values.
    """
    values = _to_numpy(_raw_values(result), name)
    if values.ndim == 4:
        values = values[np.arange(values.shape[0]), _target_rows(result, values, target)]
    elif values.ndim == 3:
        if target is not None:
            raise TargetError(
                f"target={target!r} only applies to values of shape (N, K, C, T) (a "
                f"target='all' result); {name} has shape {values.shape} = (N, C, T), the "
                f"attribution of one output per sample."
            )
    problem = series_shape_problem(values.shape, name, values.dtype)
    if problem:
        raise ShapeError(problem)
    return values.astype(np.float64, copy=False)


def _target_rows(result: Any, values: np.ndarray, target: Target) -> np.ndarray:
    """Per-sample output index into the K axis of 4-D values, by the target rules."""
    n, k = values.shape[:2]
    preds = getattr(result, "predictions", None)
    if preds is not None and np.asarray(preds).size == n * k:
        outputs = torch.as_tensor(np.asarray(preds, dtype=np.float64).reshape(n, k))
    elif isinstance(target, str) and target == "predicted":
        raise TargetError(
            "target='predicted' needs the model's predictions: pass the AttributionResult "
            "(it holds them), or an output index"
        )
    else:
        outputs = torch.zeros(n, k)
    return target_indices(target, outputs, where="plotting").cpu().numpy()


def _check_index(i: Any, n: int, name: str, what: str) -> int:
    """``i`` as an int in [0, n) (negative indices count from the end), or ParameterError."""
    if isinstance(i, bool) or not isinstance(i, int | np.integer):
        raise ParameterError(f"{name} must be an integer, got {i!r}.")
    i = int(i)
    if not -n <= i < n:
        raise ShapeError(f"{name}={i} is out of range: there are {n} {what} (0 .. {n - 1}).")
    return i % n


def _check_x(x: Any, values: np.ndarray, name: str = "x") -> np.ndarray:
    """``x`` as a float array of the values' shape (N, C, T), or ShapeError."""
    arr = _to_numpy(x, name)
    if arr.shape != values.shape:
        raise ShapeError(
            f"{name} has shape {arr.shape} but the attribution has shape {values.shape}; "
            f"both must be {_SHAPE} for the same samples."
        )
    return arr.astype(np.float64, copy=False)


def _check_top_k(top_k: Any) -> int | None:
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or top_k < 1:
        raise ParameterError(f"top_k must be a positive integer or None, got {top_k!r}.")
    return int(top_k)


def _channel_labels(channel_names: Sequence[str] | None, n_channels: int) -> list[str]:
    if channel_names is None:
        return ["value"] if n_channels == 1 else [str(c) for c in range(n_channels)]
    names = [str(n) for n in channel_names]
    if len(names) != n_channels:
        raise ShapeError(
            f"channel_names has {len(names)} names but the attribution has {n_channels} channels."
        )
    return names


def _time_axis(time: Any, n_steps: int) -> np.ndarray:
    """Positions of the T steps on the x axis: ``arange(T)`` or ``time`` (checked)."""
    if time is None:
        return np.arange(n_steps, dtype=np.float64)
    t = np.asarray(time)
    if np.issubdtype(t.dtype, np.datetime64):
        from matplotlib import dates as mdates

        t = np.asarray(mdates.date2num(t), dtype=np.float64)
    else:
        t = _to_numpy(t, "time").astype(np.float64)
    if t.shape != (n_steps,):
        raise ShapeError(f"time must have shape (T,) = ({n_steps},), got {t.shape}.")
    if n_steps > 1 and not np.all(np.diff(t) > 0):
        raise ParameterError("time must be strictly increasing.")
    return t


def _select_channels(
    values_ct: np.ndarray,
    channel: int | Sequence[int] | None,
    top_k: int | None,
    order: Order,
) -> np.ndarray:
    """Indices of the channels to draw, from (C, T) values of one sample."""
    n_channels = values_ct.shape[0]
    if order not in ("importance", "channel"):
        raise ParameterError(f"order must be 'importance' or 'channel', got {order!r}.")
    if channel is not None:
        chans = [channel] if isinstance(channel, int | np.integer) else list(channel)
        if not chans:
            raise ParameterError("channel must name at least one channel.")
        return np.array([_check_index(c, n_channels, "channel", "channels") for c in chans])
    if top_k is None or top_k >= n_channels:  # nothing dropped: natural channel order
        return np.arange(n_channels)
    total = np.abs(values_ct).sum(axis=1)
    ranked = np.argsort(-total, kind="stable")[:top_k]  # decreasing importance, ties by index
    if order == "channel":
        ranked = np.sort(ranked)
    return ranked


def _is_signed(result: Any, values: np.ndarray, absolute: bool) -> bool:
    if absolute:
        return False
    signed = getattr(result, "signed", None)
    if signed is None:  # bare array: signed when it has negative values
        return bool(np.any(values < 0))
    return bool(signed)


def _format_param(v: Any) -> str:
    if isinstance(v, np.ndarray) or (hasattr(v, "shape") and hasattr(v, "dtype")):
        return f"array{tuple(v.shape)}"
    if isinstance(v, float):
        return f"{v:g}"
    text = repr(v)
    return text if len(text) <= 20 else text[:17] + "..."


def _method_label(result: Any, absolute: bool = False, width: int | None = None) -> str:
    """ "integrated_gradients (steps=50, baseline='zeros')", for colourbars and titles.

    With ``width``, the parameters go on the next line(s), wrapped at ``width`` characters.
    """
    method = getattr(result, "method", None)
    shown: list[str] = []
    if method is None:
        name = "attribution"
    else:
        name = str(method)
        params = getattr(result, "params", {}) or {}
        shown = [f"{k}={_format_param(v)}" for k, v in params.items() if k not in ENGINE_OPTIONS]
        n_models = getattr(result, "n_models", 1) or 1
        if n_models > 1:
            shown.append(f"AGRA over {n_models} models")
    if absolute:
        name = f"|{name}|"
    if not shown:
        return name
    if width is None:
        return f"{name} ({', '.join(shown)})"
    import textwrap

    return name + "\n" + "\n".join(textwrap.wrap(", ".join(shown), width=width))


def _default_title(result: Any, sample: int, output: Target) -> str:
    parts = [str(getattr(result, "method", "attribution")), f"sample {sample}"]
    if output is not None:
        arr = np.asarray(output.cpu() if isinstance(output, torch.Tensor) else output)
        shown = arr.item() if arr.ndim == 0 else arr[sample]
        parts.append(f"output {shown}")
    target = getattr(result, "target", None)
    if target is not None:
        target = np.asarray(target)
        if target.ndim == 1 and sample < target.shape[0]:
            parts.append(f"target {target[sample]}")
    return ", ".join(parts)


def _norm_limits(values: np.ndarray, signed: bool) -> tuple[float, float]:
    m = float(np.max(np.abs(values))) if values.size else 0.0
    if not np.isfinite(m) or m == 0.0:
        m = 1.0
    return (-m, m) if signed else (0.0, m)


def _new_figure(width: float, height: float) -> Figure:
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(width, height), layout="constrained")


def _tick_fontsize(n_rows: float) -> float:
    return float(np.clip(420.0 / max(n_rows, 1), 5.0, 10.0))


# --------------------------------------------------------------------------------------------
# Drawing primitives (on given axes)
# --------------------------------------------------------------------------------------------


def _draw_heatmap(
    ax: Axes,
    values_ct: np.ndarray,
    channels: np.ndarray,
    labels: list[str],
    t: np.ndarray,
    signed: bool,
    cmap: Any,
    x_ct: np.ndarray | None,
) -> ScalarMappable:
    """Draw rows ``channels`` of ``values_ct`` (C, T); returns the image (or mesh)."""
    data = values_ct[channels]
    mappable: ScalarMappable
    vmin, vmax = _norm_limits(data, signed)
    cmap = cmap if cmap is not None else (_DIVERGING if signed else _SEQUENTIAL)
    n_rows, n_steps = data.shape
    dt = np.diff(t)
    uniform = n_steps < 2 or np.allclose(dt, dt[0], rtol=1e-6, atol=0.0)
    if uniform:
        half = 0.5 * (dt[0] if n_steps > 1 else 1.0)
        mappable = ax.imshow(
            data,
            aspect="auto",
            interpolation="nearest",
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            origin="upper",
            extent=(t[0] - half, t[-1] + half, n_rows - 0.5, -0.5),
        )
    else:  # non-uniform time stamps: cell edges halfway between the steps
        mid = 0.5 * (t[1:] + t[:-1])
        edges = np.concatenate([[t[0] - (mid[0] - t[0])], mid, [t[-1] + (t[-1] - mid[-1])]])
        mappable = ax.pcolormesh(
            edges, np.arange(n_rows + 1) - 0.5, data, cmap=cmap, vmin=vmin, vmax=vmax
        )
        ax.set_ylim(n_rows - 0.5, -0.5)
    if x_ct is not None:  # the input drawn inside each row, scaled to the row's height
        for row, c in enumerate(channels):
            s = x_ct[c]
            lo, hi = float(np.min(s)), float(np.max(s))
            z = (s - lo) / (hi - lo) if hi > lo else np.full_like(s, 0.5)
            ax.plot(t, row + 0.4 - 0.8 * z, color="black", linewidth=0.8, alpha=0.8)
    ax.set_yticks(np.arange(n_rows))
    ax.set_yticklabels([labels[c] for c in channels], fontsize=_tick_fontsize(n_rows))
    ax.set_ylabel("channel")
    ax.set_xlabel("time")
    return mappable


def _colored_line(
    ax: Axes, t: np.ndarray, y: np.ndarray, c: np.ndarray, norm: Any, cmap: Any, linewidth: float
) -> Any:
    """A line through (t, y) whose piece around step i has the colour of c[i].

    Piece i runs from the midpoint with step i-1 through (t[i], y[i]) to the midpoint with step
    i+1, so there is exactly one segment per step: ``collection.get_array()`` equals ``c``.
    """
    from matplotlib.collections import LineCollection

    pts = np.column_stack([t, y])
    if len(t) == 1:
        segs = np.stack([pts - [0.5, 0.0], pts, pts + [0.5, 0.0]], axis=1)
    else:
        mid = 0.5 * (pts[1:] + pts[:-1])
        start = np.concatenate([pts[:1], mid])
        end = np.concatenate([mid, pts[-1:]])
        segs = np.stack([start, pts, end], axis=1)  # (T, 3, 2)
    lc = LineCollection(
        list(segs), cmap=cmap, norm=norm, linewidths=linewidth, capstyle="round", joinstyle="round"
    )
    lc.set_array(np.asarray(c, dtype=np.float64))
    ax.add_collection(lc, autolim=True)
    lo, hi = float(np.min(y)), float(np.max(y))
    pad = 0.05 * (hi - lo) if hi > lo else 0.5
    ax.set_ylim(lo - pad, hi + pad)
    if len(t) > 1:
        ax.set_xlim(t[0], t[-1])
    else:
        ax.set_xlim(t[0] - 0.5, t[0] + 0.5)
    return lc


def _draw_colored_panels(
    axes: Sequence[Axes],
    values_ct: np.ndarray,
    x_ct: np.ndarray,
    channels: np.ndarray,
    labels: list[str],
    t: np.ndarray,
    signed: bool,
    cmap: Any,
    linewidth: float,
) -> Any:
    """One coloured line per channel, on a shared colour scale; returns the last collection."""
    from matplotlib.colors import Normalize

    shown = values_ct[channels] if signed else np.abs(values_ct[channels])
    vmin, vmax = _norm_limits(shown, signed)
    norm = Normalize(vmin=vmin, vmax=vmax)
    cmap = cmap if cmap is not None else (_DIVERGING if signed else _SEQUENTIAL)
    lc = None
    n = len(channels)
    for i, (ax, c) in enumerate(zip(axes, channels, strict=True)):
        lc = _colored_line(ax, t, x_ct[c], shown[i], norm, cmap, linewidth)
        ax.set_ylabel(
            labels[c], fontsize=_tick_fontsize(2 * n), rotation=0, ha="right", va="center"
        )
        ax.tick_params(axis="y", labelsize=7)
        if i < n - 1:
            ax.tick_params(axis="x", labelbottom=False)
    axes[-1].set_xlabel("time")
    return lc


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


@renamed_kwargs(output="target")
def plot_heatmap(
    result_or_array: AttributionResult | np.ndarray,
    x: Any = None,
    sample: int = 0,
    *,
    channel_names: Sequence[str] | None = None,
    time: Any = None,
    top_k: int | None = None,
    channel: int | Sequence[int] | None = None,
    order: Order = "importance",
    target: Target = None,
    absolute: bool = False,
    ax: Axes | None = None,
    cmap: Any = None,
    title: str | None = None,
    colorbar: bool = True,
) -> Figure:
    """Channels x time heatmap of one sample's attribution.

    Parameters
    ----------
    result_or_array : AttributionResult or numpy.ndarray of shape (N, C, T) or (N, K, C, T)
        The attribution. 4-D values (``target="all"``) need ``target``.
    x : array or torch.Tensor of shape (N, C, T), optional
        The explained input. When given, each channel's series is drawn inside its row (black
        line, min-max scaled to the row's height).
    sample : int
        Which sample n to draw (negative counts from the end).
    channel_names : sequence of str of length C, optional
        Row labels; default: channel indices.
    time : array of shape (T,), optional
        Increasing time stamps (numbers or datetime64) for the x axis; default 0 .. T-1.
    top_k : int, optional
        Keep only the k channels with the largest total |attribution| of this sample (see
        ``order``). Default: all channels, in channel order.
    channel : int or sequence of int, optional
        Draw exactly these channels, in this order (overrides ``top_k``).
    order : {"importance", "channel"}
        Row order when ``top_k`` drops channels: decreasing importance (top row first), or
        channel index. When every channel is drawn they keep their channel order.
    target : int, one int per sample, or "predicted", optional
        For (N, K, C, T) values (a ``target="all"`` result): which output to draw, with the
        rules of every ``target=`` argument (formerly ``output``).
    absolute : bool
        Draw |attribution| (sequential colormap).
    ax : matplotlib.axes.Axes, optional
        Draw into this axes (its figure is returned); default: a new figure sized for C.
    cmap : str or Colormap, optional
        Default "RdBu_r" centred on 0 for signed values, "Reds" from 0 for absolute ones.
    title : str, optional
        Default: method, sample, target.
    colorbar : bool
        Add a colourbar labelled with the method and its parameters.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0].images[0].get_array()`` is the drawn (rows, T) data (for uniform time).

    Raises
    ------
    ShapeError
        Values not (N, C, T) / (N, K, C, T), ``x`` of another shape, ``sample``/``channel``
        out of range, ``channel_names`` or ``time`` of the wrong length.
    ParameterError
        ``top_k < 1``, 4-D values without ``target``, a bad ``order``.

    Examples
    --------
    >>> import numpy as np, torch, tsexplain
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12 * 20, 2))
    >>> x = np.random.default_rng(0).standard_normal((4, 12, 20)).astype("float32")
    >>> res = tsexplain.explain(model, x, "integrated_gradients", target="predicted")
    >>> fig = plot_heatmap(res, x, sample=3, top_k=10)
    >>> len(fig.axes[0].get_yticklabels())  # the 10 channels of largest total |attribution|
    10
    """
    values = _values_3d(result_or_array, target)
    n, n_channels, n_steps = values.shape
    s = _check_index(sample, n, "sample", "samples")
    x_arr = _check_x(x, values) if x is not None else None
    k = _check_top_k(top_k)
    labels = _channel_labels(channel_names, n_channels)
    t = _time_axis(time, n_steps)
    signed = _is_signed(result_or_array, values, absolute)
    vals = values[s] if not absolute else np.abs(values[s])
    channels = _select_channels(vals, channel, k, order)

    if ax is None:
        height = float(np.clip(1.4 + 0.2 * len(channels), 2.8, 14.0))
        fig = _new_figure(10.0, height)
        ax = fig.add_subplot()
    else:
        fig = ax.figure.figure  # the root Figure, also when ax sits in a SubFigure
    mappable = _draw_heatmap(
        ax, vals, channels, labels, t, signed, cmap, x_arr[s] if x_arr is not None else None
    )
    if time is not None and np.issubdtype(np.asarray(time).dtype, np.datetime64):
        ax.xaxis_date()
    if title is None:
        title = _default_title(result_or_array, s, target)
        if len(channels) < n_channels:
            title += f" (top {len(channels)} of {n_channels} channels)"
    ax.set_title(title)
    if colorbar:
        cb = fig.colorbar(mappable, ax=ax, fraction=0.04, pad=0.01)
        width = int(np.clip(11 * ax.get_position().height * fig.get_figheight(), 30, 90))
        cb.set_label(_method_label(result_or_array, absolute, width=width), fontsize=8)
    return fig


@renamed_kwargs(output="target")
def plot_colored_series(
    result: AttributionResult | np.ndarray,
    x: Any,
    sample: int = 0,
    channel: int | Sequence[int] | None = None,
    *,
    top_k: int | None = 8,
    order: Order = "importance",
    target: Target = None,
    absolute: bool = False,
    channel_names: Sequence[str] | None = None,
    time: Any = None,
    ax: Axes | Sequence[Axes] | None = None,
    cmap: Any = None,
    title: str | None = None,
    linewidth: float = 2.0,
    colorbar: bool = True,
) -> Figure:
    """The series drawn as a line coloured by its attribution, one panel per channel.

    The saliency-coloured plot of the FordA Integrated-Gradients tutorial: the colour of the
    line around step t is the attribution at t (a matplotlib ``LineCollection`` with one segment
    per step, from the midpoint with t-1 to the midpoint with t+1). ``absolute=True`` colours by
    |attribution| on a sequential scale, exactly the tutorial's figure (the darker, the larger).
    All panels share one colour scale and one colourbar.

    Parameters
    ----------
    result : AttributionResult or numpy.ndarray of shape (N, C, T) or (N, K, C, T)
        The attribution. 4-D values (``target="all"``) need ``target``.
    x : array or torch.Tensor of shape (N, C, T)
        The explained input (the drawn series).
    sample : int
        Which sample n to draw.
    channel : int or sequence of int, optional
        Draw exactly these channels (overrides ``top_k``). Default: all channels when
        C <= ``top_k``, else the ``top_k`` most important.
    top_k : int or None
        Maximum number of panels when ``channel`` is None: the k channels with the largest total
        |attribution| of this sample. None draws every channel.
    order : {"importance", "channel"}
        Panel order (top to bottom) when ``top_k`` drops channels: decreasing importance, or
        channel index. When every channel is drawn they keep their channel order.
    target : int, one int per sample, or "predicted", optional
        For (N, K, C, T) values (a ``target="all"`` result): which output to draw, with the
        rules of every ``target=`` argument (formerly ``output``).
    absolute : bool
        Colour by |attribution| with a sequential colormap.
    channel_names : sequence of str of length C, optional
        Panel labels; default: channel indices.
    time : array of shape (T,), optional
        Increasing time stamps for the x axis; default 0 .. T-1.
    ax : Axes or sequence of Axes, optional
        Draw into these axes, one per drawn channel; default: a new figure.
    cmap : str or Colormap, optional
        Default "RdBu_r" centred on 0 (signed), "Reds" from 0 (absolute).
    title : str, optional
        Default: method, sample, target.
    linewidth : float
        Width of the line in points.
    colorbar : bool
        Add the shared colourbar.

    Returns
    -------
    matplotlib.figure.Figure
        Each panel's ``ax.collections[0].get_array()`` equals the drawn channel's attribution
        (or its absolute value), shape (T,).

    Raises
    ------
    ShapeError
        Values not (N, C, T) / (N, K, C, T), ``x`` of another shape, ``sample`` or ``channel``
        out of range, wrong number of axes.
    ParameterError
        ``top_k < 1``, 4-D values without ``target``.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from tsexplain.plotting import plot_colored_series
    >>> x = np.random.default_rng(0).standard_normal((2, 3, 20))  # (N, C, T)
    >>> attr = x * np.linspace(0, 1, 20)  # an AttributionResult or any (N, C, T) array
    >>> fig = plot_colored_series(attr, x, sample=1, top_k=2)
    >>> len(fig.axes)  # 2 panels (the 2 most important channels) + the colourbar
    3
    >>> top = np.abs(attr[1]).sum(axis=1).argmax()
    >>> np.allclose(fig.axes[0].collections[0].get_array(), attr[1, top])  # one colour per step
    True
    >>> plt.close(fig)
    """
    values = _values_3d(result, target)
    n, n_channels, n_steps = values.shape
    s = _check_index(sample, n, "sample", "samples")
    x_arr = _check_x(x, values)
    k = _check_top_k(top_k)
    labels = _channel_labels(channel_names, n_channels)
    t = _time_axis(time, n_steps)
    signed = _is_signed(result, values, absolute)
    channels = _select_channels(values[s], channel, k, order)

    if ax is None:
        height = float(np.clip(0.9 + 1.25 * len(channels), 3.2, 16.0))
        fig = _new_figure(10.0, height)
        axes = list(fig.subplots(len(channels), 1, sharex=True, squeeze=False)[:, 0])
    else:
        if isinstance(ax, Sequence | np.ndarray):
            axes = list(np.ravel(np.asarray(ax, dtype=object)))
        else:
            axes = [ax]
        if len(axes) != len(channels):
            raise ShapeError(
                f"ax has {len(axes)} axes but {len(channels)} channels are drawn; pass one axes "
                f"per channel, or choose the channels with channel=."
            )
        fig = axes[0].figure
    lc = _draw_colored_panels(
        axes, values[s], x_arr[s], channels, labels, t, signed, cmap, linewidth
    )
    if time is not None and np.issubdtype(np.asarray(time).dtype, np.datetime64):
        axes[-1].xaxis_date()
    if title is None:
        title = _default_title(result, s, target)
        if len(channels) < n_channels:
            title += f" (top {len(channels)} of {n_channels} channels)"
    axes[0].set_title(title)
    if colorbar:
        cb = fig.colorbar(lc, ax=axes, fraction=0.04, pad=0.01, aspect=max(20, 8 * len(axes)))
        cb.set_label(_method_label(result, absolute, width=40), fontsize=8)
    return fig


def _named_results(results: Any) -> list[tuple[str, Any]]:
    if isinstance(results, Mapping):
        items = [(str(k), v) for k, v in results.items()]
    elif isinstance(results, Sequence) and not isinstance(results, str | bytes):
        items = []
        seen: dict[str, int] = {}
        for r in results:
            name = str(getattr(r, "method", "attribution"))
            seen[name] = seen.get(name, 0) + 1
            items.append((name if seen[name] == 1 else f"{name} #{seen[name]}", r))
    else:
        raise InputTypeError(
            "results must be a dict {name: AttributionResult} or a list of AttributionResult, "
            f"got {type(results).__name__}."
        )
    if not items:
        raise ParameterError("results is empty: give at least one attribution to compare.")
    return items


@renamed_kwargs(output="target")
def plot_method_comparison(
    results: Mapping[str, AttributionResult] | Sequence[AttributionResult],
    x: Any,
    sample: int = 0,
    *,
    kind: Literal["auto", "heatmap", "series"] = "auto",
    channel_names: Sequence[str] | None = None,
    time: Any = None,
    top_k: int | None = 8,
    target: Target = None,
    absolute: bool = False,
    title: str | None = None,
) -> Figure:
    """One row per method, all on the same sample: the side-by-side figure of a report.

    Each row has its own colour scale and colourbar (methods differ in scale) and is titled with
    the method and its parameters. All rows show the
    same channels: with C > ``top_k`` the ``top_k`` channels with the largest mean (over the
    methods) of each method's normalised total |attribution|, in channel order.

    Parameters
    ----------
    results : dict {name: AttributionResult} or list of AttributionResult
        Attributions of the same input (each of shape (N, C, T), or (N, K, C, T) with
        ``target``). A list is named by each result's ``method``.
    x : array or torch.Tensor of shape (N, C, T)
        The explained input.
    sample : int
        The sample drawn in every row.
    kind : {"auto", "heatmap", "series"}
        "series": saliency-coloured line (one channel per row: univariate data, or the single
        most important channel); "heatmap": channels x time with the input drawn in each row.
        "auto": "series" for C == 1, else "heatmap".
    channel_names, time, target, absolute
        As in :func:`plot_heatmap`.
    top_k : int or None
        Maximum number of channels per heatmap row.
    title : str, optional
        Figure title; default "sample n".

    Returns
    -------
    matplotlib.figure.Figure
        Row i's main axes is ``fig.axes`` entry i (colourbars come after).

    Raises
    ------
    ShapeError
        Results of different shapes, ``x`` of another shape, ``sample`` out of range.
    ParameterError
        Empty ``results``, ``top_k < 1``, a bad ``kind``, 4-D values without ``target``.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> import torch, tsexplain
    >>> from tsexplain.plotting import plot_method_comparison
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 20, 2))
    >>> x = np.random.default_rng(0).standard_normal((2, 3, 20)).astype("float32")
    >>> results = [tsexplain.explain(model, x, m, target=0) for m in ("saliency", "gradient_x_input")]
    >>> fig = plot_method_comparison(results, x, sample=1)
    >>> len(fig.axes)  # one heatmap and one colourbar per method
    4
    >>> [ax.get_title(loc="left").split()[0] for ax in fig.axes[:2]]
    ['saliency', 'gradient_x_input']
    >>> plt.close(fig)
    """
    items = _named_results(results)
    if kind not in ("auto", "heatmap", "series"):
        raise ParameterError(f"kind must be 'auto', 'heatmap' or 'series', got {kind!r}.")
    vals = [_values_3d(r, target, name=f"results[{name!r}]") for name, r in items]
    for (name, _), v in zip(items, vals, strict=True):
        if v.shape != vals[0].shape:
            raise ShapeError(
                f"results[{name!r}] has shape {v.shape} but results[{items[0][0]!r}] has "
                f"{vals[0].shape}; compare attributions of the same input."
            )
    n, n_channels, n_steps = vals[0].shape
    s = _check_index(sample, n, "sample", "samples")
    x_arr = _check_x(x, vals[0])
    k = _check_top_k(top_k)
    labels = _channel_labels(channel_names, n_channels)
    t = _time_axis(time, n_steps)
    if kind == "auto":
        kind = "series" if n_channels == 1 else "heatmap"

    # common channels: mean over methods of normalised per-channel importance
    imp = np.zeros(n_channels)
    for v in vals:
        tot = np.abs(v[s]).sum(axis=1)
        imp += tot / tot.sum() if tot.sum() > 0 else tot
    ranked = np.argsort(-imp, kind="stable")
    limit = 1 if kind == "series" else (k if k is not None else n_channels)
    channels = np.sort(ranked[:limit])

    rows = len(items)
    row_h = 1.6 if kind == "series" else float(np.clip(0.8 + 0.18 * len(channels), 1.6, 5.0))
    fig = _new_figure(10.0, float(np.clip(0.6 + row_h * rows, 2.5, 30.0)))
    axes = list(fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0])
    for i, ((name, r), v, ax) in enumerate(zip(items, vals, axes, strict=True)):
        signed = _is_signed(r, v, absolute)
        data = np.abs(v[s]) if absolute else v[s]
        if kind == "series":
            m = _draw_colored_panels([ax], data, x_arr[s], channels, labels, t, signed, None, 2.0)
        else:
            m = _draw_heatmap(ax, data, channels, labels, t, signed, None, x_arr[s])
            ax.set_ylabel("")
        label = _method_label(r, absolute)
        ax.set_title(
            label if name == getattr(r, "method", None) else f"{name}: {label}",
            fontsize=9,
            loc="left",
        )
        if i < rows - 1:
            ax.set_xlabel("")
            ax.tick_params(axis="x", labelbottom=False)
        cb = fig.colorbar(m, ax=ax, fraction=0.04, pad=0.01)
        cb.ax.tick_params(labelsize=7)
    if time is not None and np.issubdtype(np.asarray(time).dtype, np.datetime64):
        axes[-1].xaxis_date()
    if title is None:
        title = f"sample {s}"
        if kind == "series" and n_channels > 1:
            title += f", channel {labels[channels[0]]}"
        elif len(channels) < n_channels:
            title += f" (top {len(channels)} of {n_channels} channels)"
    fig.suptitle(title)
    return fig


def save_figure(
    fig: Figure, path: str | Path, *, dpi: int = 150, close: bool = False, **kwargs: Any
) -> Path:
    """Save ``fig`` (PNG unless the suffix says otherwise), creating parent folders.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or pathlib.Path
        Destination; ".png" is appended when there is no suffix.
    dpi : int
        Resolution in dots per inch.
    close : bool
        Close the figure afterwards (frees memory when writing many figures).
    **kwargs
        Passed to :meth:`matplotlib.figure.Figure.savefig` (``bbox_inches="tight"`` by default).

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> import tempfile
    >>> from pathlib import Path
    >>> from tsexplain.plotting import save_figure
    >>> fig, ax = plt.subplots(figsize=(2, 1))
    >>> with tempfile.TemporaryDirectory() as tmp:  # nothing is left behind
    ...     path = save_figure(fig, Path(tmp) / "figs" / "example", dpi=50, close=True)
    ...     print(path.name, path.read_bytes()[1:4] == b"PNG")
    example.png True
    >>> plt.fignum_exists(fig.number)  # close=True closed it
    False
    """
    if isinstance(dpi, bool) or not isinstance(dpi, int | float) or dpi <= 0:
        raise ParameterError(f"dpi must be a positive number, got {dpi!r}.")
    p = Path(path)
    if not p.suffix:
        p = p.with_suffix(".png")
    p.parent.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault("bbox_inches", "tight")
    fig.savefig(p, dpi=dpi, **kwargs)
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return p
