"""n_segments of the group methods (feature ablation, KernelSHAP, LIME): at most T.

A segment is at least one time step, so ``n_segments = T`` is one step per segment and more
segments than steps is refused (it used to be cut to T silently, while the result's params echoed
the larger number).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from attribution_models import Linear

import tsexplain
from tsexplain.exceptions import ParameterError

METHODS = ["feature_ablation", "kernel_shap", "lime"]
C, T = 2, 8
BASELINE = 0.25


def extra(method: str) -> dict:
    # 2 x 16 groups of one cell each: enough coalitions for an exact linear fit.
    return {} if method == "feature_ablation" else {"n_coalitions": 200}


@pytest.mark.parametrize("groups", ["cells", "segments"])
@pytest.mark.parametrize("method", METHODS)
def test_more_segments_than_time_steps_is_refused_naming_t(method, groups):
    x = torch.randn(3, C, T, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ParameterError) as err:
        tsexplain.explain(Linear(C, T), x, method, groups=groups, n_segments=T + 1, **extra(method))
    message = str(err.value)
    assert "n_segments" in message and f"T = {T}" in message and f"got {T + 1}" in message
    assert f"n_segments={T}" in message  # the largest valid value


@pytest.mark.parametrize("method", METHODS)
def test_one_segment_per_step_is_the_literal_per_step_ablation(method):
    model = Linear(C, T)
    x = torch.randn(3, C, T, generator=torch.Generator().manual_seed(1))
    res = tsexplain.explain(model, x, method, n_segments=T, baseline=BASELINE, **extra(method))
    w = model.weight.detach()[0].numpy()
    xs = x.numpy()
    expected = np.empty_like(xs)
    for n in range(xs.shape[0]):
        for c in range(C):
            for t in range(T):
                expected[n, c, t] = w[c, t] * (xs[n, c, t] - BASELINE)
    np.testing.assert_allclose(res.values, expected, rtol=1e-4, atol=1e-4)
    assert res.params["n_segments"] == T
    assert res.extras.get("n_groups", C * T) == C * T


@pytest.mark.parametrize("method", METHODS)
def test_n_segments_is_not_checked_where_the_groups_do_not_use_it(method):
    # "channels" ignores n_segments: the default 10 stays valid on series shorter than 10 steps.
    model = Linear(C, 6)
    x = torch.randn(3, C, 6, generator=torch.Generator().manual_seed(2))
    res = tsexplain.explain(model, x, method, groups="channels", **extra(method))
    w = model.weight.detach()[0].numpy()
    expected = np.broadcast_to((w * x.numpy()).sum(axis=2, keepdims=True), x.shape)
    np.testing.assert_allclose(res.values, expected, rtol=1e-4, atol=1e-4)
