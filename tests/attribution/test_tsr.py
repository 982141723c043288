"""Temporal Saliency Rescaling against a literal implementation of Ismail et al.'s Algorithm 1."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import tsexplain
from tsexplain.attribution import TemporalSaliencyRescaling
from tsexplain.exceptions import ParameterError


def small_model(n_channels: int = 3, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(n_channels, 6, 3, padding=1), nn.Tanh(), nn.Conv1d(6, 6, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(6 * 10, 2),
    ).eval()


def literal_tsr(model, x, inner, params, target, alpha_quantile, mask_value=0.0):
    """Algorithm 1 of Ismail et al. (2020), one series and one masked input at a time.

    for t: mask all features at t; time relevance = sum |R(X) - R(X masked)|
    alpha = the quantile of the time relevances
    for t, i: if time relevance > alpha: mask feature i at t; feature relevance = sum |R(X) - R(X
    masked)|, else 0; R_TSR[i, t] = feature relevance x time relevance
    """
    def saliency_of(series):
        return tsexplain.explain(model, series[None], inner, target=[target], **params).values[0]

    n_features, n_steps = x.shape
    r = saliency_of(x)
    time_rel = np.zeros(n_steps)
    for t in range(n_steps):
        masked = x.clone()
        masked[:, t] = mask_value
        time_rel[t] = np.abs(r - saliency_of(masked)).sum()
    alpha = np.quantile(time_rel, alpha_quantile)
    out = np.zeros((n_features, n_steps))
    for t in range(n_steps):
        for i in range(n_features):
            if time_rel[t] > alpha:
                masked = x.clone()
                masked[i, t] = mask_value
                feature_rel = np.abs(r - saliency_of(masked)).sum()
            else:
                feature_rel = 0.0
            out[i, t] = feature_rel * time_rel[t]
    return out, time_rel


@pytest.mark.parametrize(("inner", "params"), [
    ("saliency", {}),
    ("integrated_gradients", {"steps": 8}),
    ("occlusion", {"window": 2, "stride": 1}),
])
def test_tsr_equals_the_literal_algorithm(inner, params):
    model = small_model()
    x = torch.randn(2, 3, 10, generator=torch.Generator().manual_seed(1))
    target = [1, 0]
    res = tsexplain.explain(model, x, "tsr", target=target, base_method=inner, base_params=params,
                            threshold_quantile=0.55)
    for n in range(2):
        expected, time_rel = literal_tsr(model, x[n], inner, params, target[n], 0.55)
        np.testing.assert_allclose(res.extras["time_relevance"][n], time_rel, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(res.values[n], expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())


def test_tsr_of_a_single_channel_squares_the_time_relevance():
    model = small_model(n_channels=1, seed=2)
    x = torch.randn(3, 1, 10, generator=torch.Generator().manual_seed(3))
    res = TemporalSaliencyRescaling(model, base_method="saliency", threshold_quantile=0.3).attribute(x, target=0)
    for n in range(3):
        expected, time_rel = literal_tsr(model, x[n], "saliency", {}, 0, 0.3)
        np.testing.assert_allclose(res.values[n], expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())
        relevant = time_rel > np.quantile(time_rel, 0.3)
        np.testing.assert_allclose(res.values[n, 0, relevant], time_rel[relevant] ** 2, rtol=1e-4)


def test_tsr_keeps_only_the_relevant_steps_and_is_non_negative():
    model = small_model()
    x = torch.randn(2, 3, 10, generator=torch.Generator().manual_seed(4))
    res = TemporalSaliencyRescaling(model, threshold_quantile=0.5).attribute(x, target=1)
    assert not res.signed and (res.values >= 0).all()
    steps_kept = (res.values != 0).any(axis=1).sum(axis=1)
    assert (steps_kept <= 5).all()


def test_tsr_target_all_stacks_each_output():
    model = small_model()
    x = torch.randn(2, 3, 10, generator=torch.Generator().manual_seed(5))
    every = TemporalSaliencyRescaling(model).attribute(x, target="all")
    assert every.shape == (2, 2, 3, 10) and every.extras["time_relevance"].shape == (2, 2, 10)
    for k in range(2):
        one = TemporalSaliencyRescaling(model).attribute(x, target=k)
        np.testing.assert_allclose(every.values[:, k], one.values, rtol=1e-5)


def test_tsr_refuses_unknown_inner_methods_and_parameters():
    model = small_model()
    with pytest.raises(ParameterError, match="tsr: base_method must be one of"):
        TemporalSaliencyRescaling(model, base_method="tsr")
    with pytest.raises(ParameterError, match="saliency does not take steps"):
        TemporalSaliencyRescaling(model, base_method="saliency", base_params={"steps": 4})
    with pytest.raises(ParameterError, match=r"threshold_quantile must be in \[0, 1\)"):
        TemporalSaliencyRescaling(model, threshold_quantile=1.0)
