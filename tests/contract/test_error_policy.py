"""User errors vs bugs: only tsexplain.exceptions become a one-line exit 2 on the command line."""

from __future__ import annotations

import argparse

import pytest
import torch

from tsexplain import exceptions
from tsexplain.cli import main as cli_main


def _run_raising(monkeypatch: pytest.MonkeyPatch, err: BaseException) -> int:
    """``tsexplain methods`` with its ``run`` replaced by one raising ``err``."""
    from tsexplain.cli import methods

    def run(args: argparse.Namespace) -> int:
        raise err

    monkeypatch.setattr(methods, "run", run)
    return cli_main.main(["methods"])


@pytest.mark.parametrize(
    "err",
    [exceptions.ShapeError("x must have 3 dimensions"), exceptions.TargetError("target index -1"),
     exceptions.InputTypeError("x must be a torch.Tensor"), exceptions.ParameterError("bad")],
)
def test_library_user_errors_exit_2_in_one_line(monkeypatch, capsys, err):
    assert _run_raising(monkeypatch, err) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"tsexplain methods: error: {err}"]


@pytest.mark.parametrize("err", [TypeError("unsupported operand"), ValueError("math domain error"),
                                 RuntimeError("boom"), KeyError("k")])
def test_other_exceptions_are_bugs_with_a_traceback_and_exit_1(monkeypatch, capsys, err):
    assert _run_raising(monkeypatch, err) == 1
    text = capsys.readouterr().err
    assert "Traceback (most recent call last)" in text
    assert "this is a bug in tsexplain" in text


@pytest.mark.parametrize("err", [MemoryError(), torch.OutOfMemoryError("CUDA out of memory."),
                                 RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: "
                                              "can't allocate memory: you tried to allocate 10 GB")])
def test_out_of_memory_says_so_and_is_not_exit_2(monkeypatch, capsys, err):
    assert _run_raising(monkeypatch, err) == 1
    text = capsys.readouterr().err
    assert "out of memory" in text
    assert "check that C and T" not in text.lower()
    assert "Traceback" not in text


def test_every_user_error_type_is_a_tsexplain_error_and_a_builtin():
    for kind in (exceptions.ShapeError, exceptions.TargetError, exceptions.ModelOutputError,
                 exceptions.ParameterError, exceptions.DataFormatError, exceptions.NonFiniteError):
        assert issubclass(kind, exceptions.TsExplainError) and issubclass(kind, ValueError)
    assert issubclass(exceptions.InputTypeError, TypeError)


def test_attribute_does_not_wrap_out_of_memory_or_model_bugs_in_shape_advice():
    import tsexplain

    class Failing(torch.nn.Module):
        def __init__(self, err: Exception) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(4, 1)
            self.err = err

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise self.err

    x = torch.zeros(2, 1, 4)
    oom = RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 TB")
    with pytest.raises(RuntimeError, match="can't allocate memory") as info:
        tsexplain.explain(Failing(oom), x, "saliency")
    assert not isinstance(info.value, exceptions.TsExplainError)
    with pytest.raises(RuntimeError, match="a bug inside the model") as info:
        tsexplain.explain(Failing(RuntimeError("a bug inside the model")), x, "saliency")
    assert not isinstance(info.value, exceptions.TsExplainError)
    # a real shape mismatch keeps the advice, as a user error
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 1))
    with pytest.raises(exceptions.ModelOutputError, match="Check that C and T match"):
        tsexplain.explain(net, x, "saliency")
