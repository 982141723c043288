"""Perturbed windows through a convolutional front and a global average (``_local``): the split is
found only where it is exact, it reproduces the plain forward pass, and occlusion / feature
ablation through it equal Captum's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import tsexplain
from tsexplain.attribution._local import local_split, time_extents, windowed_outputs
from tsexplain.attribution._model_state import fold_batchnorm
from tsexplain.models import FordACNN

captum_attr = pytest.importorskip("captum.attr", reason="captum is the oracle (pip install captum)")


class Residual(nn.Module):
    """conv -> (conv-BN-ReLU-conv) + skip -> ReLU -> mean over time -> Linear (a ResNet block)."""

    def __init__(self, c: int = 2) -> None:
        super().__init__()
        self.stem = nn.Conv1d(c, 6, 7, padding=3)
        self.a = nn.Conv1d(6, 6, 5, padding=4, dilation=2)
        self.bn = nn.BatchNorm1d(6)
        self.b = nn.Conv1d(6, 6, 3, padding="same")
        self.head = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.stem(x))
        h = torch.relu(h + self.b(torch.relu(self.bn(self.a(h)))))
        return self.head(h.mean(dim=-1))


class Causal(nn.Module):
    """A causal convolution (padding on the left only, via slicing): not length-preserving."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(2, 4, 3, padding=2)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x)[..., :-2].mean(-1))


class ReadsLastStep(nn.Module):
    """The head reads the front's last step beside the average."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(2, 4, 3, padding=1)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)
        return self.head(torch.cat([h.mean(-1), h[..., -1]], dim=1))


class Recurrent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(2, 5, batch_first=True)
        self.head = nn.Linear(5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x.transpose(1, 2))[0].mean(1))


def randomized(model: nn.Module, seed: int = 0) -> nn.Module:
    """Eval mode with non-trivial BatchNorm statistics."""
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
    return model.eval()


def probe(c: int = 2, t: int = 120) -> torch.Tensor:
    return torch.randn(1, c, t, generator=torch.Generator().manual_seed(3))


@pytest.mark.parametrize(
    ("make", "channels", "radius"),
    [
        (lambda: FordACNN(n_channels=2), 2, 3),  # three k=3 convolutions
        (Residual, 2, 3 + 4 + 1),  # k=7; k=5 dilation 2; k=3
        (lambda: nn.Sequential(nn.Conv1d(2, 4, 9, padding=4), nn.GELU(), nn.Dropout(0.2),
                               nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, 1)), 2, 4),
    ],
    ids=["forda_cnn", "residual", "sequential"],
)
def test_the_split_is_found_with_the_receptive_radius(make, channels, radius):
    model = randomized(make())
    split = local_split(model, probe(channels))
    assert split is not None
    assert split.radius == radius
    folded = fold_batchnorm(model, probe(channels))
    assert local_split(folded, probe(channels)) is not None


@pytest.mark.parametrize(
    "make",
    [
        Causal,
        ReadsLastStep,
        Recurrent,
        lambda: nn.Sequential(nn.Conv1d(2, 4, 3, stride=2, padding=1), nn.AdaptiveAvgPool1d(1),
                              nn.Flatten(), nn.Linear(4, 2)),
        lambda: nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.AdaptiveMaxPool1d(1), nn.Flatten(),
                              nn.Linear(4, 2)),
        lambda: nn.Sequential(nn.Conv1d(2, 4, 4, padding="same"), nn.AdaptiveAvgPool1d(1),
                              nn.Flatten(), nn.Linear(4, 2)),  # even kernel: asymmetric padding
        lambda: nn.Sequential(nn.Conv1d(2, 4, 3, padding=1, padding_mode="circular"),
                              nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, 2)),
        lambda: nn.Sequential(nn.Flatten(), nn.Linear(240, 2)),
    ],
    ids=["causal", "head_reads_front", "lstm", "strided", "max_pool", "even_kernel", "circular",
         "dense"],
)
def test_no_split_where_a_window_reaches_beyond_its_stretch(make):
    assert local_split(randomized(make()), probe()) is None


@pytest.mark.parametrize("make", [lambda: FordACNN(n_channels=2), Residual], ids=["forda_cnn", "residual"])
def test_windowed_outputs_equal_the_full_forward_pass(make):
    model = randomized(make())
    x = torch.randn(3, 2, 120, generator=torch.Generator().manual_seed(0))
    split = local_split(model, x[:1])
    assert split is not None
    # windows at both edges, in the middle, of one step, empty, and one channel only
    windows = [(0, 5), (115, 120), (50, 61), (7, 8), (0, 0), (30, 45)]
    rows = x[:, None].repeat(1, len(windows), 1, 1)
    for r, (a, b) in enumerate(windows):
        channels = slice(0, 1) if r == len(windows) - 1 else slice(None)
        rows[:, r, channels, a:b] = torch.randn(3, rows[:, r, channels, a:b].shape[1], b - a)
    changed = (rows != x[:, None]).any(dim=(0, 2))
    extents = time_extents(changed)
    with torch.no_grad():
        ref = model(rows.reshape(-1, 2, 120)).reshape(3, len(windows), -1)
        got = windowed_outputs(split, x, split.front(x), rows, extents)
    assert torch.allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_time_extents():
    changed = torch.tensor([[0, 1, 1, 0, 1], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    assert time_extents(changed).tolist() == [[1, 5], [0, 0], [0, 1]]


@pytest.fixture
def split_calls(monkeypatch):
    """Counts the perturbation passes that went through the split."""
    from tsexplain.attribution import _perturbation

    calls = []
    real = _perturbation.windowed_outputs

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_perturbation, "windowed_outputs", spy)
    return calls


def close_to(ours: np.ndarray, theirs: np.ndarray, model: torch.nn.Module, x: torch.Tensor) -> None:
    """Equal within 1e-5 of the largest value, plus float32 rounding of the outputs that occlusion
    subtracts (~1e-7 |f(x)|: other batch sizes change f by that much, and values that are small
    against f inherit it)."""
    with torch.no_grad():
        f_max = float(model(x).abs().max())
    assert np.abs(ours - theirs).max() <= 1e-5 * np.abs(theirs).max() + 1e-6 * f_max


@pytest.mark.parametrize(("make", "t"), [(lambda: FordACNN(n_channels=2, n_outputs=3), 60), (Residual, 100)],
                         ids=["forda_cnn", "residual"])
def test_occlusion_through_the_split_equals_captum(make, t, split_calls):
    model = randomized(make())
    x = torch.randn(5, 2, t, generator=torch.Generator().manual_seed(1))
    target = [0, 2, 1, 1, 0]
    ours = tsexplain.explain(model, x, "occlusion", target=target, window=4, stride=2,
                             baseline=2.0).values
    theirs = captum_attr.Occlusion(model).attribute(
        x, sliding_window_shapes=(1, 4), strides=(1, 2), baselines=2.0, target=target
    ).detach().numpy()
    assert split_calls
    close_to(ours, theirs, model, x)


def test_feature_ablation_through_the_split_equals_captum(split_calls):
    model = randomized(Residual())
    x = torch.randn(4, 2, 100, generator=torch.Generator().manual_seed(2))
    # contiguous segments per channel, plus one group split over two distant stretches
    ids = (torch.arange(100) // 5)[None].repeat(2, 1) + torch.tensor([[0], [20]])
    ids[:, 75:80] = 3
    ours = tsexplain.explain(model, x, "feature_ablation", target=1, groups=ids.numpy(),
                             baseline=2.0).values
    theirs = captum_attr.FeatureAblation(model).attribute(
        x, feature_mask=ids[None], target=1, baselines=2.0
    ).detach().numpy()
    assert split_calls
    close_to(ours, theirs, model, x)


def test_the_front_passes_follow_the_memory_budget_and_leave_the_model_alone():
    """Tracing works on a copy (the model's own forward, side effects included, is not run);
    a small budget gives smaller front passes and the same values."""

    class Counting(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = FordACNN(n_channels=2, filters=8)
            self.calls = 0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.calls += 1
            return self.net(x)

    model = randomized(Counting())
    x = torch.randn(30, 2, 300, generator=torch.Generator().manual_seed(4))
    split = local_split(model, x[:1])
    assert split is not None and model.calls == 1  # only the check against the model itself
    sizes: list[int] = []
    front = split.front

    class Spy(nn.Module):
        def forward(self, rows: torch.Tensor) -> torch.Tensor:
            sizes.append(rows.shape[0] * rows.shape[-1])
            return front(rows)

    object.__setattr__(split, "front", Spy())
    try:
        res = tsexplain.explain(model, x, "occlusion", target=0, window=5, memory_budget="1GB",
                                fold_batchnorm=False)
        big = res.values
        most_big = max(sizes)
        sizes.clear()
        small = tsexplain.explain(model, x, "occlusion", target=0, window=5, memory_budget="2MB",
                                  fold_batchnorm=False).values
    finally:
        object.__setattr__(split, "front", front)
    assert max(sizes) < most_big
    # outputs are subtracted: other batch sizes change f(x) by float32 rounding, ~1e-7 |f|
    np.testing.assert_allclose(small, big, rtol=1e-5, atol=1e-6 * np.abs(res.predictions).max())


def test_a_torch_export_program_takes_the_split(tmp_path, split_calls):
    """A .pt2 model calls ATen overloads (aten.relu.default, aten.add.Tensor, aten.mean.dim):
    the same front is found, and occlusion equals Captum on the original module."""
    from tsexplain.io import load_any_model

    model = randomized(Residual())
    x = torch.randn(4, 2, 100, generator=torch.Generator().manual_seed(5))
    program = torch.export.export(model, (x,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, tmp_path / "m.pt2")
    loaded = load_any_model(tmp_path / "m.pt2").module
    split = local_split(loaded, x[:1])
    assert split is not None and split.radius == 8
    ours = tsexplain.explain(loaded, x, "occlusion", target=2, window=4, stride=2, baseline=2.0).values
    theirs = captum_attr.Occlusion(model).attribute(
        x, sliding_window_shapes=(1, 4), strides=(1, 2), baselines=2.0, target=2
    ).detach().numpy()
    assert split_calls
    close_to(ours, theirs, model, x)


def test_new_weights_and_replaced_layers_are_used(split_calls):
    """The split holds the model's own layers: after training (new weights) or after replacing a
    layer, occlusion still equals Captum on the model as it is now."""
    model = randomized(Residual())
    x = torch.randn(3, 2, 100, generator=torch.Generator().manual_seed(6))

    def check() -> None:
        ours = tsexplain.explain(model, x, "occlusion", target=0, window=4, stride=2, baseline=2.0,
                                 fold_batchnorm=False).values
        theirs = captum_attr.Occlusion(model).attribute(
            x, sliding_window_shapes=(1, 4), strides=(1, 2), baselines=2.0, target=0
        ).detach().numpy()
        close_to(ours, theirs, model, x)

    check()
    with torch.no_grad():
        model.stem.weight.mul_(-1.5)  # as an optimiser step would: in place
        model.head.bias.add_(1.0)
    check()
    model.a = nn.Conv1d(6, 6, 3, padding=1)  # another layer in its place: the split is rebuilt
    check()
    assert local_split(model, x[:1]) is not None and local_split(model, x[:1]).radius == 3 + 1 + 1
    model.stem = nn.Conv1d(2, 6, 7, padding=3, stride=1, padding_mode="circular")
    assert local_split(model, x[:1]) is None  # no longer local: the full pass
    assert split_calls
