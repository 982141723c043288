"""plot_heatmap, plot_colored_series, plot_method_comparison, save_figure: the drawn data."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import LineCollection

from tsexplain.plotting import (
    plot_colored_series,
    plot_heatmap,
    plot_method_comparison,
    save_figure,
)


def _ticklabels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


def _cbar_label(fig) -> str:
    return fig.axes[-1].get_ylabel()


# ---------------------------------------------------------------- heatmap


def test_heatmap_image_equals_attribution(small):
    res, x, values = small
    fig = plot_heatmap(res, x, sample=2)
    ax = fig.axes[0]
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), values[2], rtol=1e-6)
    assert _ticklabels(ax) == ["0", "1", "2"]
    assert len(ax.lines) == 3  # the input drawn in each row


def test_heatmap_signed_is_diverging_centred_on_zero(small):
    res, _, values = small
    im = plot_heatmap(res, sample=1).axes[0].images[0]
    lo, hi = im.get_clim()
    assert lo == pytest.approx(-hi) and hi == pytest.approx(np.abs(values[1]).max())
    assert im.get_cmap().name == "RdBu_r"


def test_heatmap_absolute_result_is_sequential(make_result, rng):
    v = np.abs(rng.normal(size=(2, 3, 10)))
    res = make_result(v, method="saliency", params={"absolute": True}, signed=False)
    fig = plot_heatmap(res)
    im = fig.axes[0].images[0]
    assert im.get_clim()[0] == 0.0 and im.get_cmap().name == "Reds"
    assert "saliency" in _cbar_label(fig) and "absolute=True" in _cbar_label(fig)
    # absolute=True on a signed result draws |A|
    fig = plot_heatmap(make_result(-v), absolute=True)
    np.testing.assert_allclose(np.asarray(fig.axes[0].images[0].get_array()), v[0], rtol=1e-6)


def test_heatmap_colorbar_names_method_and_params(small):
    res, _, _ = small
    label = _cbar_label(plot_heatmap(res))
    assert "integrated_gradients" in label and "steps=50" in label and "baseline='zeros'" in label


def test_heatmap_top_k_selects_the_largest_channels(make_result, rng):
    v = rng.normal(size=(3, 60, 40)) * 0.1
    v[1, 17] *= 30  # most important in sample 1
    v[1, 3] *= 20
    v[1, 42] -= 1.5  # signed: large negative counts by |A|
    names = [f"ch{i}" for i in range(60)]
    fig = plot_heatmap(make_result(v), sample=1, top_k=3, channel_names=names)
    ax = fig.axes[0]
    expected = np.argsort(-np.abs(v[1]).sum(axis=1))[:3]
    assert _ticklabels(ax) == [names[c] for c in expected]
    assert set(expected) == {17, 3, 42}
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), v[1][expected], rtol=1e-5)
    # order="channel" keeps the same channels in index order, indices as labels
    ax = plot_heatmap(make_result(v), sample=1, top_k=3, order="channel").axes[0]
    assert _ticklabels(ax) == ["3", "17", "42"]
    assert "top 3 of 60" in ax.get_title()


def test_heatmap_60_channels_renders(make_result, rng, tmp_path):
    v = rng.normal(size=(2, 60, 100))
    x = rng.normal(size=(2, 60, 100))
    fig = plot_heatmap(make_result(v), x, sample=-1)
    assert len(_ticklabels(fig.axes[0])) == 60
    path = save_figure(fig, tmp_path / "heat60", dpi=60)
    assert path.suffix == ".png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_heatmap_explicit_channels_time_and_output(make_result, rng):
    v4 = rng.normal(size=(2, 3, 4, 12))  # (N, K, C, T)
    time = np.linspace(10.0, 21.0, 12)
    fig = plot_heatmap(make_result(v4), sample=1, target=2, channel=[3, 0], time=time)
    ax = fig.axes[0]
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), v4[1, 2][[3, 0]], rtol=1e-6)
    assert _ticklabels(ax) == ["3", "0"]
    assert ax.get_xlim() == pytest.approx((9.5, 21.5))
    assert "output 2" in ax.get_title()


def test_heatmap_non_uniform_time_uses_a_mesh(small):
    res, _, values = small
    time = np.cumsum(np.arange(1, 21, dtype=float))
    ax = plot_heatmap(res, time=time).axes[0]
    assert not ax.images
    np.testing.assert_allclose(
        np.asarray(ax.collections[0].get_array()).ravel(), values[0].ravel(), rtol=1e-6
    )


def test_heatmap_accepts_ax_and_plain_arrays(small):
    import matplotlib.pyplot as plt

    _, _, values = small
    fig, (a, b) = plt.subplots(1, 2)
    assert plot_heatmap(values, ax=b, colorbar=False) is fig
    assert b.images and not a.images


def test_heatmap_accepts_torch_tensors(small):
    import torch

    res, x, values = small
    fig = plot_heatmap(torch.from_numpy(values).requires_grad_(), torch.from_numpy(x))
    np.testing.assert_allclose(np.asarray(fig.axes[0].images[0].get_array()), values[0])


# ---------------------------------------------------------------- coloured series


def _panels(fig) -> list:
    """The plotting axes (the colourbar's axes excluded)."""
    return [ax for ax in fig.axes if not hasattr(ax, "_colorbar")]


def _line_collections(fig) -> list[LineCollection]:
    return [c for ax in _panels(fig) for c in ax.collections if isinstance(c, LineCollection)]


def test_colored_series_colours_follow_the_attribution(small):
    res, x, values = small
    fig = plot_colored_series(res, x, sample=3)
    lcs = _line_collections(fig)
    assert len(lcs) == 3  # one panel per channel (3 <= top_k)
    for c, lc in enumerate(lcs):
        np.testing.assert_allclose(lc.get_array(), values[3, c], rtol=1e-6)
        segs = lc.get_segments()
        assert len(segs) == 20
        # segment t passes through (t, x[t])
        np.testing.assert_allclose([s[1] for s in segs], np.c_[np.arange(20), x[3, c]], rtol=1e-6)
    norms = {(lc.norm.vmin, lc.norm.vmax) for lc in lcs}
    assert len(norms) == 1  # one shared scale
    ((vmin, vmax),) = norms
    assert vmin == pytest.approx(-vmax) and vmax == pytest.approx(np.abs(values[3]).max())
    assert "integrated_gradients" in _cbar_label(fig)


def test_colored_series_absolute_like_the_forda_figure(small):
    res, x, values = small
    fig = plot_colored_series(res, x, sample=0, channel=1, absolute=True)
    (lc,) = _line_collections(fig)
    np.testing.assert_allclose(lc.get_array(), np.abs(values[0, 1]), rtol=1e-6)
    assert lc.norm.vmin == 0.0 and lc.get_cmap().name == "Reds"


def test_colored_series_top_k_panels(make_result, rng):
    v = rng.uniform(-0.1, 0.1, size=(1, 60, 30))
    for rank, c in enumerate([50, 5, 33, 12]):
        v[0, c] = rng.choice([-1.0, 1.0], size=30) * (10 - rank)  # total |A| = 30 (10 - rank)
    x = rng.normal(size=(1, 60, 30))
    names = [f"sensor {i}" for i in range(60)]
    fig = plot_colored_series(make_result(v), x, top_k=4, channel_names=names)
    panels = _panels(fig)
    assert [ax.get_ylabel() for ax in panels] == [names[c] for c in (50, 5, 33, 12)]
    for ax, c in zip(panels, (50, 5, 33, 12), strict=True):
        np.testing.assert_allclose(ax.collections[0].get_array(), v[0, c], rtol=1e-5)
    assert "top 4 of 60" in panels[0].get_title()
    # default top_k=8 when C is large
    assert len(_line_collections(plot_colored_series(make_result(v), x))) == 8


def test_colored_series_into_given_axes(small):
    import matplotlib.pyplot as plt

    res, x, values = small
    fig, axes = plt.subplots(2, 1)
    out = plot_colored_series(res, x, 1, channel=[2, 0], ax=axes)
    assert out is fig
    np.testing.assert_allclose(axes[0].collections[0].get_array(), values[1, 2], rtol=1e-6)
    np.testing.assert_allclose(axes[1].collections[0].get_array(), values[1, 0], rtol=1e-6)


# ---------------------------------------------------------------- comparison, saving


def test_method_comparison_rows_are_methods(make_result, small, rng):
    res, x, values = small
    other = make_result(values * 2, method="saliency", params={"absolute": False})
    fig = plot_method_comparison({"IG": res, "grad": other}, x, sample=1)
    rows = fig.axes[:2]
    assert rows[0].get_title(loc="left").startswith("IG: integrated_gradients")
    assert rows[1].get_title(loc="left").startswith("grad: saliency")
    np.testing.assert_allclose(np.asarray(rows[0].images[0].get_array()), values[1], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(rows[1].images[0].get_array()), 2 * values[1], rtol=1e-6)


def test_method_comparison_univariate_list_uses_coloured_lines(make_result, rng):
    v = rng.normal(size=(2, 1, 25))
    x = rng.normal(size=(2, 1, 25))
    results = [make_result(v), make_result(-v, method="saliency", params={})]
    fig = plot_method_comparison(results, x, sample=0)
    rows = fig.axes[:2]
    np.testing.assert_allclose(rows[0].collections[0].get_array(), v[0, 0], rtol=1e-6)
    np.testing.assert_allclose(rows[1].collections[0].get_array(), -v[0, 0], rtol=1e-6)
    assert rows[1].get_title(loc="left") == "saliency"


def test_save_figure_png(small, tmp_path):
    res, x, _ = small
    path = save_figure(
        plot_colored_series(res, x), tmp_path / "sub" / "fig.png", dpi=50, close=True
    )
    assert path.exists() and path.read_bytes()[:4] == b"\x89PNG"


def test_with_the_engine_and_datetime_axis():
    import torch

    import tsexplain

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 16, 3))
    x = torch.randn(5, 2, 16)
    res = tsexplain.explain(model, x, "gradient_x_input", target="all")
    assert res.values.shape == (5, 3, 2, 16)
    time = np.arange("2024-01-01", "2024-01-17", dtype="datetime64[D]")
    fig = plot_heatmap(res, x, sample=4, target=1, time=time)
    np.testing.assert_allclose(
        np.asarray(fig.axes[0].images[0].get_array()), res.values[4, 1], rtol=1e-6
    )
    fig = plot_colored_series(res, x, sample=4, target=1, time=time)
    np.testing.assert_allclose(
        _line_collections(fig)[1].get_array(), res.values[4, 1, 1], rtol=1e-6
    )
