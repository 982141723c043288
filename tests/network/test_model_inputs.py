"""A model whose forward takes further inputs (forward(x, s)): every network analysis raises one
clear ModelInputsError naming itself and the missing argument, not Python's bare TypeError."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import tsexplain.network as N
from tsexplain.exceptions import ModelInputsError, ModelOutputError


class TwoInput(nn.Module):
    """A series (N, 3, 32) and static features s (N, 4)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(3, 8, 5, padding=2)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.static = nn.Linear(4, 8)
        self.fc = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        h = self.pool(self.relu(self.conv(x))).flatten(1)
        return self.fc(torch.cat([h, torch.tanh(self.static(s))], 1))


class FixedStatic(nn.Module):
    """The wrapper the error message advises: forward(x) with one sample's s fixed."""

    def __init__(self, model: nn.Module, s: torch.Tensor) -> None:
        super().__init__()
        self.model = model
        self.s = s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, self.s.expand(x.shape[0], -1))


X = np.random.default_rng(0).standard_normal((4, 3, 32)).astype(np.float32)
Y = np.array([0, 1, 2, 1])

CALLS: dict[str, Callable[[nn.Module], Any]] = {
    "describe": lambda m: N.describe(m, X),
    "inspect": lambda m: N.inspect(m, X),
    "conv_activations": lambda m: N.conv_activations(m, X, "conv"),
    "filter_saliency": lambda m: N.filter_saliency(m, X[:1], "conv"),
    "filter_importance": lambda m: N.filter_importance(m, X, "conv", target=1),
    "filter_importance_stats": lambda m: N.filter_importance_stats(m, X, ["conv"], target=1, progress=False),
    "inverse_optimize": lambda m: N.inverse_optimize(m, 1, x0=X[:1], steps=2),
    "fgsm": lambda m: N.fgsm(m, X, 0.1),
    "iterative_fgsm": lambda m: N.iterative_fgsm(m, X, 0.1, steps=2),
    "prune_filters": lambda m: N.prune_filters(m, "relu", [0], sample=X),
    "evaluate_loss": lambda m: N.evaluate_loss(m, X, Y),
    "pruning_curve": lambda m: N.pruning_curve(m, "conv", X, Y, x_importance=X, target=1),
    "faithfulness_table": lambda m: N.faithfulness_table(m, X, Y, target=1),
    "detect_saturation": lambda m: N.detect_saturation(m, X),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_model_with_further_inputs_gets_one_clear_error(name: str) -> None:
    with pytest.raises(ModelInputsError, match=rf"^{name}: the model's forward takes more inputs "
                                               rf"than the series \(missing: 's'\); .*additional_inputs=") as info:
        CALLS[name](TwoInput().eval())
    assert info.value.problem == "the model's forward takes more inputs than the series (missing: 's')"
    assert isinstance(info.value.__cause__, TypeError)


def test_the_advised_wrapper_is_analysed_under_its_own_layer_names() -> None:
    model = TwoInput().eval()
    s = torch.randn(1, 4)
    wrapped = FixedStatic(model, s).eval()
    importance = N.filter_importance(wrapped, X[:1], "model.conv", target=1)
    assert np.asarray(importance).shape == (1, 8)
    with torch.no_grad():
        torch.testing.assert_close(wrapped(torch.from_numpy(X[:1])), model(torch.from_numpy(X[:1]), s))


def test_other_type_errors_of_the_model_are_not_reworded() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv1d(3, 2, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x) + "oops"  # a bug of the model's: its own TypeError

    with pytest.raises(TypeError) as info:
        N.describe(Broken(), X)
    assert not isinstance(info.value, ModelInputsError)


class ThreeChannels(nn.Module):
    """A CNN or an LSTM over (N, 3, T) series."""

    def __init__(self, recurrent: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.recurrent = recurrent
        self.conv = nn.Conv1d(3, 8, 5, padding=2)
        self.lstm = nn.LSTM(3, 4, batch_first=True)
        self.fc = nn.Linear(8, 3)
        self.fc_lstm = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.recurrent:
            return self.fc_lstm(self.lstm(x.transpose(1, 2))[0][:, -1])
        return self.fc(torch.relu(self.conv(x)).mean(2))


SERIES_CALLS: dict[str, Callable[[nn.Module, np.ndarray], Any]] = {
    "describe": lambda m, s: N.describe(m, s),
    "conv_activations": lambda m, s: N.conv_activations(m, s, "conv"),
    "filter_saliency": lambda m, s: N.filter_saliency(m, s, "conv"),
    "filter_importance": lambda m, s: N.filter_importance(m, s, "conv", target=1),
    "fgsm": lambda m, s: N.fgsm(m, s, 0.1),
    "evaluate_loss": lambda m, s: N.evaluate_loss(m, s, Y),
    "detect_saturation": lambda m, s: N.detect_saturation(m, s),
}


@pytest.mark.parametrize("name", sorted(SERIES_CALLS))
def test_a_series_the_model_refuses_gets_one_clear_error(name: str) -> None:
    model = ThreeChannels(recurrent=False).eval()
    with pytest.raises(ModelOutputError) as info:  # channels-last (N, T, C)
        SERIES_CALLS[name](model, X.transpose(0, 2, 1))
    text = str(info.value)
    assert text.startswith(f"{name}: the model failed on x of shape (4, 32, 3) (N, C, T): ")
    assert text.endswith("if x is channels-last (N, T, C), transpose it: x.transpose(1, 2).")
    with pytest.raises(ModelOutputError, match=rf"^{name}: the model failed on x of shape "
                                               r"\(4, 2, 32\) .*built for\.$"):
        SERIES_CALLS[name](model, X[:, :2])  # 2 channels for a 3-channel model


def test_a_recurrent_model_and_inverse_optimisation_name_the_series_they_were_given() -> None:
    lstm = ThreeChannels(recurrent=True).eval()
    with pytest.raises(ModelOutputError, match=r"^fgsm: the model failed on x of shape \(4, 2, 32\)"):
        N.fgsm(lstm, X[:, :2], 0.1)
    cnn = ThreeChannels(recurrent=False).eval()
    with pytest.raises(ModelOutputError, match=r"^inverse_optimize: the model failed on x0 of shape "
                                               r"\(1, 32, 3\) .*transpose it: x0\.transpose\(1, 2\)\.$"):
        N.inverse_optimize(cnn, 1, x0=X[:1].transpose(0, 2, 1), steps=2)
    with pytest.raises(ModelOutputError, match=r"^inverse_optimize: the model failed on a series of "
                                               r"shape \(1, 2, 32\) .*built for\.$"):
        N.inverse_optimize(cnn, 1, shape=(1, 2, 32), steps=2)


def test_a_size_error_the_series_does_not_cause_is_not_reworded() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv1d(3, 2, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.requires_grad:  # fails only inside the analysis: not the series' fault
                raise RuntimeError("size mismatch in a bug of the model's")
            return self.conv(x).mean(2)

    with pytest.raises(RuntimeError, match="size mismatch in a bug") as info:
        N.fgsm(Broken().eval(), X, 0.1)
    assert not isinstance(info.value, ModelOutputError)
