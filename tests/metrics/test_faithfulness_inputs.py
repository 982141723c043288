"""Deletion and insertion curves of models with further inputs, and inputs the model refuses:
a clear error naming the input and its expected form, never torch's bare RuntimeError."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tsexplain.exceptions import ModelOutputError
from tsexplain.metrics import deletion_curve, insertion_curve


class StaticLinear(torch.nn.Module):
    """f(x, s) = sum(x) + s @ v: the static vector goes through its own (float) weights."""

    def __init__(self) -> None:
        super().__init__()
        self.v = torch.nn.Linear(3, 1, bias=False)
        with torch.no_grad():
            self.v.weight.copy_(torch.tensor([[1.0, -2.0, 0.5]]))

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=(1, 2)) + self.v(s)[:, 0]


def test_static_input_curve_by_hand_and_integer_static_input_is_named():
    x = np.array([[[1.0, 2.0, 3.0, 4.0]]])  # (1, 1, 4); attribution = x: delete 4, 3, 2, 1
    s = np.array([[2.0, 0.0, 2.0]])  # s @ v = 2 + 0 + 1 = 3
    curve = deletion_curve(StaticLinear(), x, x, steps=4, additional_inputs=s)
    # by hand: sum(x) after deleting the k largest cells, plus the fixed 3
    assert curve.scores.tolist() == [[13.0, 9.0, 6.0, 4.0, 3.0]]
    for kind, fn in (("deletion", deletion_curve), ("insertion", insertion_curve)):
        for bad, name in ((s.astype(np.int64), "int64"), (torch.tensor(s) > 0, "bool")):
            with pytest.raises(ModelOutputError) as info:
                fn(StaticLinear(), x, x, steps=4, additional_inputs=bad)
            text = str(info.value)
            assert text.startswith(f"{kind}_curve: the model failed on additional_inputs[0] of "
                                   f"dtype {name} and shape (1, 3)")
            assert "give them as floats" in text


class NeedsThreeChannels(torch.nn.Module):
    def __init__(self, recurrent: bool) -> None:
        super().__init__()
        self.recurrent = recurrent
        self.conv = torch.nn.Conv1d(3, 2, 3)
        self.lstm = torch.nn.LSTM(3, 2, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.recurrent:
            return self.lstm(x.transpose(1, 2))[0][:, -1]
        return self.conv(x).mean(2)


@pytest.mark.parametrize("recurrent", [False, True])
def test_channels_last_and_wrong_channel_count_are_user_errors(recurrent):
    model = NeedsThreeChannels(recurrent).eval()
    x = torch.randn(2, 3, 10)
    with pytest.raises(ModelOutputError) as info:  # (N, T, C) given
        deletion_curve(model, x.transpose(1, 2), x.transpose(1, 2), target=0, steps=2)
    text = str(info.value)
    assert text.startswith("deletion_curve: the model failed on x of shape (2, 10, 3) (N, C, T)")
    assert text.endswith("if x is channels-last (N, T, C), transpose it: x.transpose(1, 2).")
    with pytest.raises(ModelOutputError) as info:  # 2 channels for a 3-channel model
        insertion_curve(model, x[:, :2], x[:, :2], target=0, steps=2)
    text = str(info.value)
    assert "insertion_curve: the model failed on x of shape (2, 2, 10)" in text
    assert "Check that C and T match what the model was built for." in text
    assert "transpose" not in text


class FailsOnBatches(torch.nn.Module):
    """Runs on one series, fails with a 'size mismatch' on several: not the input's fault."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > 1:
            raise RuntimeError("size mismatch in my own layer")
        return x.sum(dim=(1, 2))


def test_a_failure_the_first_series_does_not_reproduce_is_not_called_a_user_error():
    x = torch.ones(3, 1, 4)
    with pytest.raises(RuntimeError, match="size mismatch in my own layer") as info:
        deletion_curve(FailsOnBatches(), x, x, steps=2)
    assert not isinstance(info.value, ModelOutputError)


def test_parameters_that_were_silently_accepted_are_refused():
    from tsexplain.exceptions import NonFiniteError, ParameterError
    from tsexplain.metrics import area_under_curve, perturbation_baseline

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1, bias=False))
    torch.nn.init.ones_(model[1].weight)  # f(x) = sum(x)
    x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    # a finite baseline by hand: step 1 sets the two largest cells (4, 3) to 1, step 2 all four:
    # 1 + 2 + 1 + 1 = 5, then 4
    assert deletion_curve(model, x, x, steps=2, baseline=1.0).scores.tolist() == [[10.0, 5.0, 4.0]]
    with pytest.raises(NonFiniteError, match="^baseline contains 1 NaN or Inf"):
        deletion_curve(model, x, x, steps=2, baseline=float("nan"))  # the curve was all NaN
    with pytest.raises(NonFiniteError, match="^baseline contains 2 NaN or Inf"):
        perturbation_baseline(x, np.array([0.0, np.inf, 0.0, np.nan]))
    with pytest.raises(ParameterError, match="max_fraction must be a number in"):
        deletion_curve(model, x, x, max_fraction=True)  # was read as 1.0
    with pytest.raises(ParameterError, match="^seed must be an integer, got 'a'"):
        insertion_curve(model, x, x, seed="a")  # numpy's TypeError from SeedSequence
    # the trapezoid on an increasing axis, by hand: (1 + 0) / 2 * 0.5 + (0 + 0) / 2 * 0.5
    assert float(area_under_curve([0.0, 0.5, 1.0], [1.0, 0.0, 0.0])) == 0.25
    with pytest.raises(ParameterError, match="fractions must be finite and increasing"):
        area_under_curve([1.0, 0.5, 0.0], [1.0, 1.0, 1.0])  # was a negative area, -1
