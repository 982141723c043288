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

``import tsexplain.plotting`` does not import matplotlib (nor torch): each function imports it
when called. Every function returns a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

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

__all__ = [
    "plot_heatmap",
    "plot_colored_series",
    "plot_method_comparison",
    "save_figure",
    "channel_importance",
    "time_importance",
    "class_importance",
    "plot_aggregates",
    "plot_adversarial_result",
    "plot_before_after",
    "plot_dendrogram",
    "plot_filter_grid",
    "plot_inverse_result",
    "plot_pruning_curve",
    "plot_silhouette",
]
