"""The 'methods' ranking section: its scores, its ranks and its settings for every method."""

from __future__ import annotations

import numpy as np
import torch

from tsexplain.attribution import METHODS
from tsexplain.benchmark.methods import _mean_ranks, method_params, score


def test_every_registered_method_gets_settings_that_identify_every_group():
    params = method_params(4, 50, np.zeros((3, 4, 50), dtype=np.float32))
    assert set(params) == set(METHODS)
    assert params["kernel_shap"]["n_coalitions"] >= 2 * 4 * 5
    assert params["occlusion"] == {"window": 5, "stride": 5}


def test_the_truth_scores_perfect_localisation_and_random_does_not():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 20, 1))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 2, 20)).astype(np.float32)
    mask = np.zeros((6, 2, 20), dtype=bool)
    mask[:, 0, 5:10] = True
    truth = score(model, x, mask.astype(float), mask, None)
    assert truth["cell_precision"] == 1.0 and truth["mass_on_truth"] == 1.0
    assert truth["time_precision"] == 1.0 and truth["feature_precision"] == 1.0
    noise = score(model, x, rng.random(x.shape), mask, None)
    assert noise["cell_precision"] < 0.5 and noise["mass_on_truth"] < 0.5


def test_mean_ranks_average_worlds_and_share_ties():
    worlds = {
        "a": {"m1": {"cell_precision": 0.9, "mass_on_truth": 0.8, "deletion_auc": 0.1, "insertion_auc": 0.9},
              "m2": {"cell_precision": 0.5, "mass_on_truth": 0.8, "deletion_auc": 0.3, "insertion_auc": 0.5}},
        "b": {"m1": {"cell_precision": 0.2, "mass_on_truth": 0.1, "deletion_auc": 0.5, "insertion_auc": 0.1},
              "m2": {"cell_precision": 0.6, "mass_on_truth": 0.7, "deletion_auc": 0.2, "insertion_auc": 0.6}},
    }
    ranks = _mean_ranks(worlds, ["m1", "m2"])
    # world a: m1 ranks 1, 1.5 (tie), 1, 1; world b: m1 ranks 2 everywhere
    assert ranks["m1"] == (1 + 1.5 + 1 + 1 + 2 * 4) / 8
    assert ranks["m2"] == (2 + 1.5 + 2 + 2 + 1 * 4) / 8
