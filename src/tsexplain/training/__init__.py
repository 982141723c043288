"""Training: ``fit`` one model, ``train_ensemble`` N at once, ``save_model`` / ``load_model``."""

from tsexplain.training.ensemble import EnsembleResult, train_ensemble
from tsexplain.training.fit import TrainingHistory, fit
from tsexplain.training.serialization import load_model, save_model

__all__ = [
    "EnsembleResult",
    "TrainingHistory",
    "fit",
    "load_model",
    "save_model",
    "train_ensemble",
]
