"""Static matplotlib figures of attributions and of network filters.

Attribution figures (one call on an :class:`~tsexplain.attribution.AttributionResult`):

* :func:`plot_heatmap` -- channels x time heatmap of one sample (``top_k`` for many channels);
* :func:`plot_colored_series` -- the series as a line coloured by its attribution;
* :func:`plot_method_comparison` -- one row per method, same sample;
* :func:`plot_aggregates` with :func:`channel_importance`, :func:`time_importance`,
  :func:`class_importance` -- data-set aggregates (mean |attribution|);
* :func:`save_figure` -- write a figure (PNG) to disk.

Filter figures (TSViz) come from :mod:`tsexplain.plotting.filters` and are re-exported here
(:func:`plot_filter_grid`, :func:`plot_dendrogram`, :func:`plot_silhouette`, ...).

``import tsexplain.plotting`` does not import matplotlib (nor torch): the names load on first
use. Every function returns a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_SERIES = ("plot_heatmap", "plot_colored_series", "plot_method_comparison", "save_figure")
_AGGREGATES = ("channel_importance", "time_importance", "class_importance", "plot_aggregates")
_FILTERS = ("plot_filter_grid", "plot_dendrogram", "plot_silhouette", "plot_before_after",
            "plot_inverse_result", "plot_adversarial_result", "plot_pruning_curve")

_LAZY: dict[str, str] = {
    **{name: "tsexplain.plotting.series" for name in _SERIES},
    **{name: "tsexplain.plotting.aggregates" for name in _AGGREGATES},
    **{name: "tsexplain.plotting.filters" for name in _FILTERS},
}

# each name loads its module on first use (__getattr__ below), so the import stays light
__all__ = [
    "plot_heatmap", "plot_colored_series", "plot_method_comparison", "save_figure",
    "channel_importance", "time_importance", "class_importance", "plot_aggregates",
    "plot_filter_grid", "plot_dendrogram", "plot_silhouette", "plot_before_after",
    "plot_inverse_result", "plot_adversarial_result", "plot_pruning_curve",
]

if TYPE_CHECKING:  # pragma: no cover
    from tsexplain.plotting.aggregates import (
        channel_importance,
        class_importance,
        plot_aggregates,
        time_importance,
    )
    from tsexplain.plotting.filters import (
        plot_adversarial_result,
        plot_before_after,
        plot_dendrogram,
        plot_filter_grid,
        plot_inverse_result,
        plot_pruning_curve,
        plot_silhouette,
    )
    from tsexplain.plotting.series import (
        plot_colored_series,
        plot_heatmap,
        plot_method_comparison,
        save_figure,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tsexplain.plotting' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
