"""Occlusion and FeatureAblation: Captum 0.9 as the oracle, linear models analytically, and the
``tsexplain explain`` door."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from attribution_models import Linear
from torch import nn

import tsexplain
from tsexplain.attribution import FeatureAblation, Occlusion
from tsexplain.exceptions import ParameterError, ShapeError

captum_attr = pytest.importorskip("captum.attr", reason="captum is the oracle (pip install captum)")


def small_cnn(n_channels: int = 3, n_classes: int = 2, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(n_channels, 8, 5, padding=2), nn.BatchNorm1d(8), nn.ReLU(),
        nn.Conv1d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(),
        nn.Linear(8, n_classes),
    ).eval()


class LSTMNet(nn.Module):
    """(N, C, T) -> LSTM over time -> last hidden state -> K logits."""

    def __init__(self, n_channels: int = 3, n_classes: int = 2, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.lstm = nn.LSTM(n_channels, 12, batch_first=True)
        self.head = nn.Linear(12, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x.transpose(1, 2))
        return self.head(out[:, -1])


def close_to(ours: np.ndarray, theirs: np.ndarray) -> None:
    """Max difference at most 1e-5 of the max (the issue's criterion)."""
    assert np.abs(ours - theirs).max() <= 1e-5 * np.abs(theirs).max()


@pytest.fixture(scope="module")
def data():
    x = torch.randn(6, 3, 40, generator=torch.Generator().manual_seed(1))
    return x, [0, 1, 1, 0, 1, 0]


# ----------------------------------------------------------------------------- Captum oracle
@pytest.mark.parametrize("model_fn", [small_cnn, LSTMNet], ids=["cnn", "lstm"])
@pytest.mark.parametrize(("window", "stride", "per_channel"), [(1, 1, True), (8, 4, True), (5, 5, False)])
def test_occlusion_matches_captum(data, model_fn, window, stride, per_channel):
    x, target = data
    model = model_fn()
    ours = tsexplain.explain(model, x, "occlusion", target=target, window=window, stride=stride,
                             per_channel=per_channel, baseline=0.3).values
    shape = (1, window) if per_channel else (3, window)
    strides = (1, stride) if per_channel else (3, stride)
    theirs = captum_attr.Occlusion(model).attribute(
        x, sliding_window_shapes=shape, strides=strides, baselines=0.3, target=target
    ).detach().numpy()
    close_to(ours, theirs)


def test_occlusion_mean_baseline_matches_captum(data):
    x, target = data
    model = small_cnn()
    ours = tsexplain.explain(model, x, "occlusion", target=target, window=4, stride=2, baseline="mean")
    base = x.mean(dim=2, keepdim=True).expand_as(x).contiguous()
    theirs = captum_attr.Occlusion(model).attribute(
        x, sliding_window_shapes=(1, 4), strides=(1, 2), baselines=base, target=target
    ).detach().numpy()
    close_to(ours.values, theirs)


@pytest.mark.parametrize("model_fn", [small_cnn, LSTMNet], ids=["cnn", "lstm"])
@pytest.mark.parametrize("groups", ["cells", "channels", "segments", "steps"])
def test_feature_ablation_matches_captum(data, model_fn, groups):
    x, target = data
    model = model_fn()
    ours = tsexplain.explain(model, x, "feature_ablation", target=target, groups=groups,
                             n_segments=5, baseline=-0.5).values
    t = torch.arange(40)
    seg = t * 5 // 40
    ch = torch.arange(3)[:, None]
    mask = {"cells": ch * 5 + seg, "channels": ch.expand(3, 40), "segments": seg.expand(3, 40),
            "steps": t.expand(3, 40)}[groups]
    theirs = captum_attr.FeatureAblation(model).attribute(
        x, feature_mask=mask[None].expand_as(x), baselines=-0.5, target=target
    ).detach().numpy()
    close_to(ours, theirs)


def test_feature_ablation_user_masks_match_captum(data):
    x, target = data
    model = small_cnn()
    rng = np.random.default_rng(0)
    shared = rng.integers(0, 7, size=(3, 40))
    per_series = rng.integers(0, 5, size=(6, 3, 40))
    for mask in (shared, per_series):
        ours = tsexplain.explain(model, x, "feature_ablation", target=target, groups=mask).values
        m = torch.as_tensor(mask)
        theirs = captum_attr.FeatureAblation(model).attribute(
            x, feature_mask=m if m.ndim == 3 else m[None].expand_as(x), baselines=0.0, target=target
        ).detach().numpy()
        close_to(ours, theirs)


# ----------------------------------------------------------------------------- analytic
def test_occlusion_of_a_linear_model_is_weight_times_removed_input():
    model = Linear(n_channels=3, n_timesteps=20)
    x = torch.randn(5, 3, 20, generator=torch.Generator().manual_seed(3))
    w = model.weight.detach()[0]
    res = Occlusion(model, window=1, stride=1, baseline=0.5).attribute(x)
    np.testing.assert_allclose(res.values, (w * (x - 0.5)).numpy(), rtol=1e-5, atol=1e-5)


def test_windowed_occlusion_of_a_linear_model_averages_the_window_sums():
    """Each cell: mean over the windows covering it of sum_window w (x - b); derived by hand."""
    model = Linear(n_channels=2, n_timesteps=11)
    x = torch.randn(3, 2, 11, generator=torch.Generator().manual_seed(4))
    w = model.weight.detach()[0]
    contrib = (w * x).numpy()
    window, stride = 4, 3
    starts = [0, 3, 6, 7]  # 0, 3, 6 by the stride, plus the window ending at T = 11
    expected = np.zeros_like(contrib)
    for n in range(3):
        for c in range(2):
            for t in range(11):
                sums = [contrib[n, c, s : s + window].sum() for s in starts if s <= t < s + window]
                expected[n, c, t] = np.mean(sums)
    res = Occlusion(model, window=window, stride=stride).attribute(x)
    np.testing.assert_allclose(res.values, expected, rtol=1e-5, atol=1e-5)


def test_feature_ablation_of_a_linear_model_is_the_group_sum_of_weight_times_input():
    model = Linear(n_channels=3, n_timesteps=20)
    x = torch.randn(4, 3, 20, generator=torch.Generator().manual_seed(5))
    base = torch.randn(3, 20, generator=torch.Generator().manual_seed(6))
    w = model.weight.detach()[0]
    contrib = (w * (x - base)).numpy()
    res = FeatureAblation(model, groups="channels", baseline=base.numpy()).attribute(x)
    expected = np.broadcast_to(contrib.sum(axis=2, keepdims=True), contrib.shape)
    np.testing.assert_allclose(res.values, expected, rtol=1e-5, atol=1e-5)
    cells = FeatureAblation(model, groups="steps", baseline=base.numpy()).attribute(x)
    expected = np.broadcast_to(contrib.sum(axis=1, keepdims=True), contrib.shape)
    np.testing.assert_allclose(cells.values, expected, rtol=1e-5, atol=1e-5)


def test_every_step_is_occluded_when_strides_stop_short():
    model = Linear(n_channels=1, n_timesteps=23)
    x = torch.randn(2, 1, 23, generator=torch.Generator().manual_seed(7))
    res = Occlusion(model, window=5, stride=5).attribute(x)
    assert np.isfinite(res.values).all() and (res.values[:, 0, -3:] != 0).all()


def test_all_channels_at_once_gives_one_value_per_step():
    model = small_cnn()
    x = torch.randn(2, 3, 40, generator=torch.Generator().manual_seed(8))
    res = Occlusion(model, window=4, stride=2, per_channel=False).attribute(x, target=1)
    np.testing.assert_array_equal(res.values[:, 0], res.values[:, 2])


# ----------------------------------------------------------------------------- errors
def test_window_longer_than_the_series_and_gaps_between_windows_are_refused():
    with pytest.raises(ParameterError, match="window must be at most T = 20"):
        Occlusion(Linear(), window=30).attribute(torch.randn(2, 3, 20))
    with pytest.raises(ParameterError, match="stride must be at most window"):
        Occlusion(Linear(), window=4, stride=5)
    assert Occlusion(Linear(), window=4).stride == 2


def test_group_mask_of_the_wrong_shape_is_refused():
    with pytest.raises(ShapeError, match=r"shape \(C, T\) = \(3, 20\)"):
        FeatureAblation(Linear(), groups=np.zeros((3, 19), dtype=int)).attribute(torch.randn(2, 3, 20))
    with pytest.raises(ParameterError, match="groups must be one of"):
        FeatureAblation(Linear(), groups="rows").attribute(torch.randn(2, 3, 20))


def test_progress_bar_on_request(capsys):
    model = small_cnn()
    Occlusion(model, window=4, stride=2, progress=True).attribute(torch.randn(3, 3, 40), target=0)
    assert "occlusion" in capsys.readouterr().err


# ----------------------------------------------------------------------------- CLI door
def test_cli_explain_with_a_new_method(tmp_path):
    (tmp_path / "net.py").write_text(textwrap.dedent(
        """
        import torch

        def make_net(n_channels=2, n_classes=3):
            return torch.nn.Sequential(
                torch.nn.Conv1d(n_channels, 6, 5, padding=2), torch.nn.ReLU(),
                torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(), torch.nn.Linear(6, n_classes))
        """
    ))
    sys.path.insert(0, str(tmp_path))
    try:
        from net import make_net  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    torch.manual_seed(0)
    model = make_net()
    torch.save(model.state_dict(), tmp_path / "w.pt")
    x = np.random.default_rng(0).standard_normal((5, 2, 40)).astype(np.float32)
    np.savez(tmp_path / "d.npz", X=x)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "tsexplain.cli.main", "explain", f"{tmp_path}/net.py:make_net",
         str(tmp_path / "d.npz"), "--weights", str(tmp_path / "w.pt"), "--method", "occlusion",
         "--param", "occlusion.window=4", "--method", "deeplift", "--target", "predicted",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    for method, params in (("occlusion", {"window": 4}), ("deeplift", {})):
        with np.load(tmp_path / "out" / f"attributions_{method}.npz") as f:
            got = f["values"]
        ref = tsexplain.explain(model, x, method, target="predicted", **params).values
        assert np.isfinite(ref).all() and np.isfinite(got).all()
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6 * np.abs(ref).max())


# ----------------------------------------------------------------------------- extra model inputs
class SeriesAndStatic(nn.Module):
    """model(x, static): a CNN on the series, concatenated with static covariates (N, 3)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(2, 4, 3, padding=1)
        self.act = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.flat = nn.Flatten()
        self.head = nn.Linear(4 + 3, 2)

    def forward(self, x: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.flat(self.pool(self.act(self.conv(x)))), static], dim=1))


class FixedStatic(nn.Module):
    def __init__(self, model: nn.Module, static: torch.Tensor) -> None:
        super().__init__()
        self.model, self.static = model, static

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, self.static.expand(x.shape[0], -1))


NEW_METHODS = {"occlusion": {}, "feature_ablation": {}, "kernel_shap": {"n_coalitions": 64},
               "lime": {"n_coalitions": 64}, "gradient_shap": {"n_draws": 8}, "deeplift": {},
               "deeplift_shap": {}, "grad_cam": {}, "layer_integrated_gradients": {"steps": 8},
               "tsr": {}}


@pytest.mark.parametrize("name", list(NEW_METHODS))
def test_additional_inputs_follow_their_series(name):
    """With additional_inputs each series is explained with its own static covariates: the same
    as a single-input model that holds that series' covariates fixed."""
    model = SeriesAndStatic().eval()
    x = torch.randn(4, 2, 30, generator=torch.Generator().manual_seed(1))
    static = torch.randn(4, 3, generator=torch.Generator().manual_seed(2))
    params = NEW_METHODS[name]
    got = tsexplain.explain(model, x, name, target=1, additional_inputs=(static,), **params).values
    for i in range(4):
        ref = tsexplain.explain(FixedStatic(model, static[i : i + 1]), x[i : i + 1], name, target=1,
                                **params).values[0]
        # float32 rounding differs between a batch of 4 and of 1; the fits amplify it a little
        np.testing.assert_allclose(got[i], ref, rtol=1e-4, atol=1e-5 * np.abs(ref).max())


# ----------------------------------------------------------------------------- other doors
def test_scale_out_and_the_servers_method_list_carry_the_new_methods(tmp_path):
    from tsexplain.scale import attribute_dataset
    from tsexplain.server import explore

    listed = {info.name: info for info in explore.method_infos()}
    for name in NEW_METHODS:
        assert name in listed and listed[name].summary
    model = small_cnn(n_channels=2, n_classes=3)
    x = np.random.default_rng(0).standard_normal((10, 2, 30)).astype(np.float32)
    for name in ("kernel_shap", "deeplift", "grad_cam"):
        params = NEW_METHODS[name]
        run = attribute_dataset(model, x, name, out=tmp_path / name, chunk_size=4, target="predicted",
                                **params)
        whole = tsexplain.explain(model, x, name, target="predicted", **params).values
        np.testing.assert_allclose(run.values[:], whole, rtol=1e-4, atol=1e-5 * np.abs(whole).max())


@pytest.mark.parametrize("name", list(NEW_METHODS))
def test_attributing_the_additional_inputs_is_refused_clearly(name):
    model = SeriesAndStatic().eval()
    x = torch.randn(2, 2, 30, generator=torch.Generator().manual_seed(1))
    static = torch.randn(2, 3, generator=torch.Generator().manual_seed(2))
    with pytest.raises(ParameterError, match=f"{name} does not attribute additional inputs"):
        tsexplain.explain(model, x, name, target=1, additional_inputs=(static,),
                          attribute_additional=True, **NEW_METHODS[name])
