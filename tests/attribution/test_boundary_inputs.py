"""The boundary of ``attribute``: dtypes of x and of the additional inputs, read-only arrays,
non-finite additional inputs, model failures on them, and channels-last series."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

import tsexplain
from tsexplain._validation import check_additional_inputs, check_series_batch
from tsexplain.exceptions import InputTypeError, ModelOutputError, NonFiniteError


class TwoInput(nn.Module):
    """A series (N, 3, T) and a static vector (N, 4)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(3, 5, 3, padding=1)
        self.static = nn.Linear(4, 5)
        self.fc = nn.Linear(10, 2)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        h = self.conv(x).mean(-1)
        return self.fc(torch.cat([h, torch.tanh(self.static(s))], 1))


def _cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(3, 4, 5, padding=2), nn.ReLU(), nn.AdaptiveAvgPool1d(1),
                         nn.Flatten(), nn.Linear(4, 2))


def _series(n: int = 4, t: int = 16) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, 3, t)).astype(np.float32)


# ------------------------------------------------------------------ read-only arrays
_READ_ONLY = textwrap.dedent("""
    import warnings, numpy as np, torch
    warnings.simplefilter("error")
    from tsexplain._validation import check_additional_inputs, check_series_array, check_series_batch
    x = np.random.default_rng(0).normal(size=(2, 3, 8)).astype(np.float{bits})
    x.setflags(write=False)
    t = check_series_batch(x)
    assert np.shares_memory(t.numpy(), x) is False
    check_series_array(x)
    check_additional_inputs([x[:, 0]], t, torch.float32)
    print("ok")
""")


@pytest.mark.parametrize("bits", [32, 64])
def test_read_only_arrays_give_no_warning(bits):
    # PyTorch warns once per process, so each case runs in a fresh one
    done = subprocess.run([sys.executable, "-c", _READ_ONLY.format(bits=bits)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_a_writable_contiguous_array_is_shared_not_copied():
    x = np.zeros((2, 3, 8), dtype=np.float32)
    assert np.shares_memory(check_series_batch(x).numpy(), x)


# ------------------------------------------------------------------ one dtype rule for x
@pytest.mark.parametrize("as_torch", [False, True])
def test_bool_series_are_numbers_for_numpy_and_torch_alike(as_torch):
    x = _series() > 0
    given = torch.from_numpy(x) if as_torch else x
    t = check_series_batch(given)
    assert t.dtype == torch.float32
    assert torch.equal(t, torch.from_numpy(x.astype(np.float32)))
    res = tsexplain.explain(_cnn(), given, "saliency", target=0)
    assert res.values.dtype == np.float32


@pytest.mark.parametrize("as_torch", [False, True])
def test_complex_series_are_refused_for_numpy_and_torch_alike(as_torch):
    x = _series().astype(np.complex64)
    with pytest.raises(InputTypeError, match="x must hold numbers"):
        check_series_batch(torch.from_numpy(x) if as_torch else x)


# ------------------------------------------------------------------ additional inputs
def test_nan_in_an_additional_input_is_named():
    s = np.ones((4, 4), dtype=np.float32)
    s[1, 2] = np.nan
    with pytest.raises(NonFiniteError, match=r"additional_inputs\[0\] contains 1 NaN"):
        tsexplain.explain(TwoInput(), _series(), "saliency", target=0, additional_inputs=[s])


def test_inf_in_a_second_additional_tensor_is_named():
    s = torch.ones(4, 4)
    s[0, 0] = float("inf")
    x = torch.zeros(4, 3, 16)
    with pytest.raises(NonFiniteError, match=r"additional_inputs\[1\]"):
        check_additional_inputs([torch.ones(4, 2), s], x, torch.float32)


def test_integer_additional_inputs_keep_their_dtype():
    x = torch.zeros(4, 3, 16)
    ids = np.arange(4)
    (t,) = check_additional_inputs([ids], x, torch.float32)
    assert t.dtype == torch.int64


def test_non_numeric_additional_input_is_refused_by_name():
    with pytest.raises(InputTypeError, match=r"additional_inputs\[0\] must hold numbers"):
        check_additional_inputs([np.array([["a"]] * 4)], torch.zeros(4, 3, 16), torch.float32)


@pytest.mark.parametrize("attribute_additional", [False, True])
def test_an_integer_additional_input_the_model_reads_as_floats_is_a_clear_error(attribute_additional):
    s = np.ones((4, 4), dtype=np.int64)
    with pytest.raises(ModelOutputError) as err:
        tsexplain.explain(TwoInput(), _series(), "saliency", target=0, additional_inputs=[s],
                          attribute_additional=attribute_additional)
    text = str(err.value)
    assert text.startswith("saliency: the model failed on additional_inputs[0] of dtype int64")
    assert "give them as floats" in text


def test_the_same_input_as_floats_works():
    s = np.ones((4, 4), dtype=np.int64)
    res = tsexplain.explain(TwoInput(), _series(), "saliency", target=0,
                            additional_inputs=[s.astype(np.float32)])
    assert res.shape == (4, 3, 16)


def test_a_dtype_failure_of_the_model_itself_stays_a_bug():
    class Broken(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.linear(x.mean(-1).long(), torch.ones(2, 3))

    with pytest.raises(RuntimeError) as err:
        tsexplain.explain(Broken(), _series(), "saliency", target=0)
    assert not isinstance(err.value, ModelOutputError)


# ------------------------------------------------------------------ channels-last series
def test_channels_last_series_get_the_transpose_hint():
    x = _series(t=16).transpose(0, 2, 1)  # (N, T, C)
    with pytest.raises(ModelOutputError, match=r"transpose it: x\.transpose\(1, 2\)"):
        tsexplain.explain(_cnn(), x, "saliency", target=0)


def test_a_wrong_channel_count_gets_no_transpose_hint():
    x = np.zeros((4, 5, 16), dtype=np.float32)
    with pytest.raises(ModelOutputError) as err:
        tsexplain.explain(_cnn(), x, "saliency", target=0)
    assert "transpose" not in str(err.value)


# ------------------------------------------------------------------ a model's own shape bug
class BatchOfOneOnly(nn.Module):
    """Runs on one series, but flattens the whole batch into one row: a bug of the model's,
    which torch reports as a shape mismatch ('mat1 and mat2 shapes cannot be multiplied')."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(3 * 16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.reshape(1, -1)).expand(x.shape[0], 2)


def test_a_shape_failure_the_first_series_does_not_have_stays_a_bug():
    model = BatchOfOneOnly()
    assert tsexplain.explain(model, _series(n=1), "saliency", target=0).values.shape == (1, 3, 16)
    with pytest.raises(RuntimeError, match="cannot be multiplied") as err:
        tsexplain.explain(model, _series(n=4), "saliency", target=0)
    assert not isinstance(err.value, ModelOutputError)  # the series are what the model takes


def test_an_ensemble_member_that_refuses_the_series_is_the_inputs_fault():
    other = nn.Sequential(nn.Conv1d(5, 4, 3), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, 2))
    with pytest.raises(ModelOutputError, match=r"x of shape \(4, 3, 16\) \(N, C, T\)"):
        tsexplain.explain([_cnn(), other], _series(), "saliency", target=0)
