"""channel/time/class importance against hand computations; plot_aggregates draws them."""

from __future__ import annotations

import numpy as np
import pytest

from tsexplain.exceptions import ShapeError, TargetError
from tsexplain.plotting import (
    channel_importance,
    class_importance,
    plot_aggregates,
    time_importance,
)

# N=2, C=2, T=3
A = np.array(
    [
        [[1.0, -2.0, 3.0], [0.0, 4.0, -4.0]],
        [[-1.0, 0.0, 1.0], [2.0, -2.0, 6.0]],
    ]
)


def test_channel_importance_by_hand(make_result):
    # channel 0: |1|+|-2|+|3|+|-1|+|0|+|1| = 8 over 6 -> 4/3; channel 1: 0+4+4+2+2+6 = 18 / 6 = 3
    np.testing.assert_allclose(channel_importance(A), [8 / 6, 3.0])
    np.testing.assert_allclose(channel_importance(make_result(A)), [8 / 6, 3.0], rtol=1e-6)
    # signed mean: (1-2+3-1+0+1)/6 = 1/3 ; (0+4-4+2-2+6)/6 = 1
    np.testing.assert_allclose(channel_importance(A, absolute=False), [1 / 3, 1.0])


def test_time_importance_by_hand():
    # t0: (1+0+1+2)/4 = 1; t1: (2+4+0+2)/4 = 2; t2: (3+4+1+6)/4 = 3.5
    np.testing.assert_allclose(time_importance(A), [1.0, 2.0, 3.5])
    assert time_importance(A).shape == (3,)


def test_class_importance_by_hand():
    v = np.stack([A[0], A[1], -A[0]])  # N=3: labels 1, 0, 1
    out = class_importance(v, np.array([1, 0, 1]))
    assert out.shape == (2, 2, 3)
    np.testing.assert_allclose(out[0], np.abs(A[1]))  # class 0: sample 1 only
    np.testing.assert_allclose(out[1], np.abs(A[0]))  # class 1: mean of |A0| and |-A0|
    signed = class_importance(v, [1, 0, 1], absolute=False)
    np.testing.assert_allclose(signed[1], 0.0)


def test_class_importance_classes_order_and_missing_class():
    out = class_importance(A, ["b", "a"], classes=["a", "b", "c"])
    np.testing.assert_allclose(out[0], np.abs(A[1]))
    np.testing.assert_allclose(out[1], np.abs(A[0]))
    assert np.isnan(out[2]).all()


def test_class_importance_output_label_on_4d():
    # (N=2, K=2, C=2, T=3): sample 0 has label 1, sample 1 label 0 -> their own output's map
    v4 = np.stack([np.stack([A[0] * 10, A[0]]), np.stack([A[1], A[1] * 10])])
    out = class_importance(v4, np.array([1, 0]), target="label")
    np.testing.assert_allclose(out[0], np.abs(A[1]))
    np.testing.assert_allclose(out[1], np.abs(A[0]))
    np.testing.assert_allclose(class_importance(v4, [1, 0], target=0)[1], np.abs(A[0]) * 10)
    with pytest.raises(TargetError, match="target index 2 is out of range"):
        class_importance(v4, np.array([2, 0]), target="label")
    with pytest.raises(TargetError, match="target=None is ambiguous"):
        class_importance(v4, np.array([1, 0]))


def test_aggregate_errors():
    with pytest.raises(ShapeError, match="labels"):
        class_importance(A, [0, 1, 1])
    with pytest.raises(ShapeError, match=r"\(N, C, T\)"):
        channel_importance(A[0])
    with pytest.raises(TargetError, match="target=None is ambiguous"):
        time_importance(np.zeros((2, 3, 2, 4)))
    with pytest.raises(TargetError, match="only applies"):
        time_importance(A, target=0)


def test_plot_aggregates_draws_the_aggregates(rng, make_result):
    v = rng.normal(size=(12, 6, 30))
    v[:, 4] *= 5
    labels = np.repeat([0, 1, 2], 4)
    names = [f"s{i}" for i in range(6)]
    fig = plot_aggregates(make_result(v), labels, names, top_k=3)
    ax_bar, ax_time = fig.axes[0], fig.axes[1]
    heights = [p.get_height() for p in ax_bar.patches]
    expected = channel_importance(v)
    top = np.argsort(-expected, kind="stable")[:3]
    np.testing.assert_allclose(heights, expected[top])
    assert [t.get_text() for t in ax_bar.get_xticklabels()] == [names[c] for c in top]
    assert top[0] == 4
    np.testing.assert_allclose(ax_time.lines[0].get_ydata(), time_importance(v))
    cls = class_importance(v, labels)
    maps = [ax for ax in fig.axes[2:] if ax.images]
    assert len(maps) == 3
    for i, ax in enumerate(maps):
        np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), cls[i][np.sort(top)])


def test_plot_aggregates_without_labels(rng):
    fig = plot_aggregates(rng.normal(size=(3, 2, 10)))
    assert len(fig.axes) == 2
