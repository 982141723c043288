"""make_ismail_layouts against the layouts of Ismail et al. (NeurIPS 2020)."""

from __future__ import annotations

import numpy as np
import pytest

from tsexplain.datasets import ISMAIL_LAYOUTS, make_ismail_layouts
from tsexplain.exceptions import ParameterError

# layout: (box features, box steps)
SIZES = {
    "middle": (30, 30),
    "small_middle": (14, 14),
    "moving_middle": (30, 30),
    "moving_small_middle": (15, 15),
    "rare_time": (40, 6),
    "moving_rare_time": (40, 6),
    "rare_feature": (6, 40),
    "moving_rare_feature": (6, 40),
    "positional_time": (20, 20),
    "positional_feature": (20, 20),
}


@pytest.mark.parametrize("layout", ISMAIL_LAYOUTS)
def test_mask_is_one_box_of_the_right_size(layout):
    d = make_ismail_layouts(layout, n=200, n_test=50, seed=0)
    assert d.X.shape == d.mask.shape == (250, 50, 50)
    assert d.train_mask.sum() == 200 and d.layout == layout
    n_f, n_t = SIZES[layout]
    for i in range(0, 250, 25):
        feats = np.flatnonzero(d.mask[i].any(axis=1))
        steps = np.flatnonzero(d.mask[i].any(axis=0))
        assert len(feats) == n_f and len(steps) == n_t
        assert np.all(np.diff(feats) == 1) and np.all(np.diff(steps) == 1)
        assert d.mask[i].sum() == n_f * n_t
    assert 0.35 < d.y.mean() < 0.65


@pytest.mark.parametrize("layout", ["middle", "rare_time", "rare_feature", "moving_middle"])
def test_box_shift_carries_the_label(layout):
    d = make_ismail_layouts(layout, n=400, seed=1)
    box_mean = (d.X * d.mask).sum(axis=(1, 2)) / d.mask.sum(axis=(1, 2))
    out_mean = (d.X * ~d.mask).sum(axis=(1, 2)) / (~d.mask).sum(axis=(1, 2))
    assert abs(out_mean.mean()) < 0.02
    assert (box_mean[d.y == 1] > 0.5).mean() > 0.95
    assert (box_mean[d.y == 0] < -0.5).mean() > 0.95
    fixed = not layout.startswith("moving")
    assert np.all(d.mask == d.mask[0]) if fixed else not np.all(d.mask == d.mask[0])


def test_middle_box_position_matches_reference():
    d = make_ismail_layouts("middle", n=2, seed=0)
    expected = np.zeros((50, 50), dtype=bool)
    expected[10:40, 10:40] = True
    np.testing.assert_array_equal(d.mask[0], expected)


@pytest.mark.parametrize(("layout", "axis"), [("positional_time", 0), ("positional_feature", 1)])
def test_positional_layouts_encode_class_by_position(layout, axis):
    d = make_ismail_layouts(layout, n=300, seed=2)
    # axis 0 of mask[i].any(axis=...) below: time for positional_time, feature otherwise
    other = 0 if axis == 0 else 1  # reduce over features (0) to get steps, or steps (1)
    starts = np.array([np.flatnonzero(m.any(axis=other))[0] for m in d.mask])
    np.testing.assert_array_equal(starts[d.y == 1], 1)
    np.testing.assert_array_equal(starts[d.y == 0], 29)
    box_mean = (d.X * d.mask).sum(axis=(1, 2)) / d.mask.sum(axis=(1, 2))
    assert box_mean.mean() > 0.8  # +1 for both classes


@pytest.mark.parametrize("process", ["autoregressive", "harmonic"])
def test_other_base_processes(process):
    d = make_ismail_layouts("middle", n=50, process=process, seed=0)
    x = np.where(d.mask, np.nan, d.X)
    xc = x - np.nanmean(x, axis=2, keepdims=True)
    r1 = np.nansum(xc[:, :, 1:] * xc[:, :, :-1]) / np.nansum(xc**2)
    assert r1 > 0.5


def test_seed_and_errors():
    a = make_ismail_layouts("moving_middle", n=10, seed=3)
    b = make_ismail_layouts("moving_middle", n=10, seed=3)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.mask, b.mask)
    with pytest.raises(ParameterError, match="layout must be one of"):
        make_ismail_layouts("diagonal")
    with pytest.raises(ParameterError, match="process"):
        make_ismail_layouts(process="narma")
