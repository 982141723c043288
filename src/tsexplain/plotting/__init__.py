"""Static matplotlib figures of attributions and of network filters.

Attribution figures (one call on an :class:`~tsexplain.attribution.AttributionResult`):

* :func:`plot_heatmap` -- channels x time heatmap of one sample (``top_k`` for many channels);
* :func:`plot_colored_series` -- the series as a line coloured by its attribution;
* :func:`plot_method_comparison` -- one row per method, same sample;
* :func:`plot_aggregates` with :func:`channel_importance`, :func:`time_importance`,
  :func:`class_importance` -- data-set aggregates (mean |attribution|);
* :func:`save_figure` -- write a figure (PNG) to disk.

Filter figures (TSViz) come from :mod:`tsexplain.plotting.filters` and are re-exported here.

``import tsexplain.plotting`` does not import matplotlib (nor torch): the names load on first
use. Every function returns a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_SERIES = ("plot_heatmap", "plot_colored_series", "plot_method_comparison", "save_figure")
_AGGREGATES = ("channel_importance", "time_importance", "class_importance", "plot_aggregates")

_LAZY: dict[str, str] = {
    **{name: "tsexplain.plotting.series" for name in _SERIES},
    **{name: "tsexplain.plotting.aggregates" for name in _AGGREGATES},
}

# The filter plots (tsexplain.plotting.filters) are another module's; their public names are
# read from its __all__ the first time one is asked for.
_FILTERS_MODULE = "tsexplain.plotting.filters"

__all__ = [
    "plot_heatmap",
    "plot_colored_series",
    "plot_method_comparison",
    "save_figure",
    "channel_importance",
    "time_importance",
    "class_importance",
    "plot_aggregates",
]

if TYPE_CHECKING:  # pragma: no cover
    from tsexplain.plotting.aggregates import (
        channel_importance,
        class_importance,
        plot_aggregates,
        time_importance,
    )
    from tsexplain.plotting.series import (
        plot_colored_series,
        plot_heatmap,
        plot_method_comparison,
        save_figure,
    )


def _filters() -> Any | None:
    """The filters module, or None while it does not exist."""
    try:
        return importlib.import_module(_FILTERS_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name == _FILTERS_MODULE:
            return None
        raise


def _filters_public(mod: Any) -> tuple[str, ...]:
    """The filter module's public names: its ``__all__``, else its own public functions."""
    names = getattr(mod, "__all__", None)
    if names is not None:
        return tuple(names)
    return tuple(
        n
        for n, v in vars(mod).items()
        if not n.startswith("_") and callable(v) and getattr(v, "__module__", None) == mod.__name__
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if not name.startswith("_") and name not in ("series", "aggregates", "filters"):
        mod = _filters()
        if mod is not None and name in _filters_public(mod):
            value = getattr(mod, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'tsexplain.plotting' has no attribute {name!r}")


def __dir__() -> list[str]:
    mod = _filters()
    extra = _filters_public(mod) if mod is not None else ()
    return sorted({*globals(), *__all__, *extra})
