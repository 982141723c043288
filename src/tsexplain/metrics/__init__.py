"""Scores for explanations: against ground truth, and model-based faithfulness checks.

Shapes are ``(N, C, T)`` (samples, channels, time steps) unless a function says otherwise.
Each score is a plain function; scores that accumulate over batches also exist as classes with
``update`` / ``compute`` / ``reset`` (torchmetrics style).

Ground truth
    :func:`ndcg_per_state`, :func:`per_step_correlation`, :func:`ndcg_score`, :class:`NDCGPerState`
    (Time-SmoothGrad); :func:`reconstruction_mse`, :func:`agra_reconstruct`,
    :func:`magnitude_pearson`, :func:`signed_pearson`, :func:`ideal_gradient` (AGRA);
    :func:`mass_share`, :func:`channel_mass_share`, :func:`pointing_game`,
    :func:`top_k_precision_recall` (localisation).
Model-based, any data
    :func:`deletion_curve`, :func:`insertion_curve`, :func:`area_under_curve`;
    :func:`model_randomization_check` (Adebayo et al. 2018).
"""

from tsexplain.metrics._base import Metric
from tsexplain.metrics.agra_scores import (
    AGRAReconstruction,
    MagnitudePearson,
    SignedPearson,
    agra_reconstruct,
    ideal_gradient,
    magnitude_pearson,
    reconstruction_mse,
    signed_pearson,
)
from tsexplain.metrics.faithfulness import (
    DeletionCurve,
    InsertionCurve,
    PerturbationCurve,
    area_under_curve,
    deletion_curve,
    insertion_curve,
    perturbation_baseline,
)
from tsexplain.metrics.localization import (
    MassShare,
    PointingGame,
    TopKPrecisionRecall,
    channel_mass_share,
    mass_share,
    pointing_game,
    top_k_precision_recall,
)
from tsexplain.metrics.ndcg import NDCGPerState, ndcg_per_state, ndcg_score, per_step_correlation
from tsexplain.metrics.sanity import (
    RandomizationResult,
    model_randomization_check,
    randomizable_layers,
)

__all__ = [
    "AGRAReconstruction",
    "DeletionCurve",
    "InsertionCurve",
    "MagnitudePearson",
    "MassShare",
    "Metric",
    "NDCGPerState",
    "PerturbationCurve",
    "PointingGame",
    "RandomizationResult",
    "SignedPearson",
    "TopKPrecisionRecall",
    "agra_reconstruct",
    "area_under_curve",
    "channel_mass_share",
    "deletion_curve",
    "ideal_gradient",
    "insertion_curve",
    "magnitude_pearson",
    "mass_share",
    "model_randomization_check",
    "ndcg_per_state",
    "ndcg_score",
    "per_step_correlation",
    "perturbation_baseline",
    "pointing_game",
    "randomizable_layers",
    "reconstruction_mse",
    "signed_pearson",
    "top_k_precision_recall",
]
