"""Clear errors: sample out of range, x of another shape, top_k < 1, 4-D values, bad options."""

from __future__ import annotations

import numpy as np
import pytest

from tsexplain.exceptions import ParameterError, ShapeError, TargetError
from tsexplain.plotting import (
    plot_aggregates,
    plot_colored_series,
    plot_heatmap,
    plot_method_comparison,
    save_figure,
)


@pytest.mark.parametrize("sample", [4, -5])
def test_sample_out_of_range(small, sample):
    res, x, _ = small
    with pytest.raises(ShapeError, match=rf"sample={sample} is out of range: there are 4 samples"):
        plot_heatmap(res, sample=sample)
    with pytest.raises(ShapeError, match="out of range"):
        plot_colored_series(res, x, sample=sample)
    with pytest.raises(ShapeError, match="out of range"):
        plot_method_comparison([res], x, sample=sample)


def test_x_of_another_shape(small):
    res, x, _ = small
    with pytest.raises(ShapeError, match=r"x has shape \(4, 3, 19\) but the attribution has"):
        plot_heatmap(res, x[..., :-1])
    with pytest.raises(ShapeError, match="x has shape"):
        plot_colored_series(res, x[:2])
    with pytest.raises(ShapeError, match="x has shape"):
        plot_method_comparison({"a": res}, x[:, :2])


@pytest.mark.parametrize("top_k", [0, -1, 2.5, True])
def test_top_k_must_be_positive_int(small, top_k):
    res, x, _ = small
    with pytest.raises(ParameterError, match="top_k must be a positive integer"):
        plot_heatmap(res, top_k=top_k)
    with pytest.raises(ParameterError, match="top_k"):
        plot_colored_series(res, x, top_k=top_k)
    with pytest.raises(ParameterError, match="top_k"):
        plot_aggregates(res, top_k=top_k)


def test_4d_values_need_a_target(make_result, rng):
    v4 = rng.normal(size=(2, 5, 3, 10))
    x = rng.normal(size=(2, 3, 10))
    with pytest.raises(TargetError, match=r"5 outputs per sample, so target=None is ambiguous"):
        plot_heatmap(make_result(v4))
    with pytest.raises(TargetError, match="target=None is ambiguous"):
        plot_colored_series(make_result(v4), x)
    with pytest.raises(TargetError, match="target index 5 is out of range"):
        plot_heatmap(make_result(v4), target=5)
    with pytest.raises(TargetError, match="target index -1 is negative"):
        plot_heatmap(make_result(v4), target=-1)
    with pytest.raises(TargetError, match="only applies"):
        plot_colored_series(make_result(v4[:, 0]), x, target=0)
    # with a target the 4-D result plots against the (N, C, T) input
    fig = plot_colored_series(make_result(v4), x, target=4, channel=2)
    np.testing.assert_allclose(fig.axes[0].collections[0].get_array(), v4[0, 4, 2], rtol=1e-6)
    # the former name still works, with a DeprecationWarning
    with pytest.warns(DeprecationWarning, match="output= is renamed target="):
        fig = plot_colored_series(make_result(v4), x, output=4, channel=2)
    np.testing.assert_allclose(fig.axes[0].collections[0].get_array(), v4[0, 4, 2], rtol=1e-6)


def test_bad_ranks_and_options(small, rng):
    res, x, values = small
    with pytest.raises(ShapeError, match=r"add the channel axis"):
        plot_heatmap(values[:, 0])
    with pytest.raises(ShapeError, match="channel_names has 2 names"):
        plot_heatmap(res, channel_names=["a", "b"])
    with pytest.raises(ShapeError, match=r"time must have shape \(T,\)"):
        plot_heatmap(res, time=np.arange(5))
    with pytest.raises(ParameterError, match="strictly increasing"):
        plot_heatmap(res, time=np.arange(20)[::-1])
    with pytest.raises(ShapeError, match="channel=3 is out of range"):
        plot_colored_series(res, x, channel=3)
    with pytest.raises(ParameterError, match="order"):
        plot_heatmap(res, top_k=2, order="size")
    with pytest.raises(ShapeError, match="1 axes but 3 channels"):
        import matplotlib.pyplot as plt

        plot_colored_series(res, x, ax=plt.subplots()[1])
    with pytest.raises(TypeError, match="must hold numbers"):
        plot_heatmap(np.array([[["a"]]]))


def test_comparison_errors(make_result, small):
    res, x, values = small
    with pytest.raises(ParameterError, match="empty"):
        plot_method_comparison({}, x)
    with pytest.raises(ShapeError, match="compare attributions of the same input"):
        plot_method_comparison([res, make_result(values[:, :2])], x)
    with pytest.raises(ParameterError, match="kind"):
        plot_method_comparison([res], x, kind="bars")
    with pytest.raises(TypeError, match="dict"):
        plot_method_comparison(res, x)


def test_save_figure_bad_dpi(small, tmp_path):
    res, _, _ = small
    with pytest.raises(ParameterError, match="dpi"):
        save_figure(plot_heatmap(res), tmp_path / "f.png", dpi=0)
