"""Inside the network: TSViz's filter-level analysis for any 1D convolutional model.

Layers are found with forward hooks (no class layout assumed) and named as in
``model.named_modules()``. Shapes: inputs ``(N, C, T)``, layer activations ``(N, F, T')``.

- :func:`describe`, :func:`conv_activations`: layers in forward order, filter activations.
- :func:`filter_saliency`: ``|d a_f / d x|`` for every filter at once (TSViz Eq. 13-14).
- :func:`filter_importance`, :func:`filter_importance_stats`: 1-norm of d output / d a_f (Eq. 16).
- :func:`cluster_filters`: DTW + complete linkage + silhouette (Section IV-C).
- :func:`inverse_optimize`: input that produces a target output (Eq. 25-26).
- :func:`fgsm`, :func:`iterative_fgsm`: adversarial examples (Eq. 27-28).
- :func:`prune_filters`, :func:`pruning_curve`, :func:`faithfulness_table`: pruning (Fig. 10, Table 1).
- :func:`detect_saturation`, :func:`with_temperature`: Proposition 1 and Eq. 19.

Reference: S. A. Siddiqui, D. Mercier, M. Munir, A. Dengel, S. Ahmed, "TSViz: Demystification
of Deep Learning Models for Time-Series Analysis", IEEE Access 7, 2019.
"""

from tsexplain.network.adversarial import AdversarialResult, fgsm, iterative_fgsm
from tsexplain.network.clustering import FilterClusters, cluster_filters, dtw_distances
from tsexplain.network.filter_importance import (
    FilterImportanceStats,
    filter_importance,
    filter_importance_stats,
)
from tsexplain.network.filter_saliency import filter_saliency
from tsexplain.network.inverse import InverseResult, inverse_optimize
from tsexplain.network.layers import LayerInfo, NetworkSummary, conv_activations, describe, inspect
from tsexplain.network.pruning import (
    FaithfulnessTable,
    PruningCurve,
    evaluate_loss,
    faithfulness_table,
    prune_filters,
    pruning_curve,
)
from tsexplain.network.saturation import SaturationReport, detect_saturation, with_temperature

__all__ = [
    "AdversarialResult",
    "FaithfulnessTable",
    "FilterClusters",
    "FilterImportanceStats",
    "InverseResult",
    "LayerInfo",
    "NetworkSummary",
    "PruningCurve",
    "SaturationReport",
    "cluster_filters",
    "conv_activations",
    "describe",
    "detect_saturation",
    "dtw_distances",
    "evaluate_loss",
    "faithfulness_table",
    "fgsm",
    "filter_importance",
    "filter_importance_stats",
    "filter_saliency",
    "inspect",
    "inverse_optimize",
    "iterative_fgsm",
    "prune_filters",
    "pruning_curve",
    "with_temperature",
]
