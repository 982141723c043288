"""A wrong channel count on an exported or traced recurrent model is refused before its forward.

The ``aten.lstm`` / ``aten.gru`` operations of a ``torch.export`` program and of a traced
TorchScript graph do not compare their input's size with their weights: the native kernel read
out of bounds, so ``tsexplain explain lstm.pt2`` on 4-channel data of a 3-channel model aborted
the process ("double free or corruption", exit 134) and on 1-channel data wrote results. Every
door now refuses it with the one message naming the expected channel count and (N, C, T): the
command line and ``workspace add-model`` (exit code 2), the Python API (``ShapeError``).

The checks on wrong data run in one child process, so that a regression aborts that process and
fails these tests instead of killing pytest.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from tsexplain._validation import model_channels_problem
from tsexplain.io import load_any_model
from tsexplain.io.models import declared_channels

N_CHANNELS, LENGTH = 3, 16


class _Recurrent(nn.Module):
    """A classifier of (N, C, T) series: an LSTM or a GRU over time, then a linear layer."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        layer = nn.LSTM if kind == "lstm" else nn.GRU
        self.rnn = layer(N_CHANNELS, 4, batch_first=True)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x.transpose(1, 2))
        return self.fc(out[:, -1])


def _export(net: nn.Module) -> Any:
    return torch.export.export(net, (torch.zeros(2, N_CHANNELS, LENGTH),),
                               dynamic_shapes=({0: torch.export.Dim("batch")},))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("channels")
    torch.manual_seed(0)
    out = {}
    for kind in ("lstm", "gru"):
        net = _Recurrent(kind).eval()
        torch.export.save(_export(net), d / f"{kind}.pt2")
        out[kind] = d / f"{kind}.pt2"
    traced = torch.jit.trace(_Recurrent("lstm").eval(), torch.zeros(2, N_CHANNELS, LENGTH))
    traced.save(str(d / "lstm_traced.pt"))
    out["traced"] = d / "lstm_traced.pt"
    rng = np.random.default_rng(0)
    for c in (1, N_CHANNELS, 4):
        np.save(d / f"data_{c}ch.npy", rng.standard_normal((5, c, LENGTH)).astype(np.float32))
        out[f"data_{c}"] = d / f"data_{c}ch.npy"
    out["dir"] = d
    return out


_CHILD = textwrap.dedent("""
    import contextlib, io, json, sys
    import numpy as np, torch
    from tsexplain.attribution import explain
    from tsexplain.io import load_any_model
    from tsexplain.cli.main import main

    paths = json.loads(sys.argv[1])
    report = {}

    def cli(key, argv):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                rc = main(argv)
            except SystemExit as exc:
                rc = exc.code
        report[key] = {"rc": rc, "stderr": err.getvalue()}
        print(key, flush=True)  # the last key printed names the check that aborted, if any

    def api(key, run):
        try:
            run()
            report[key] = {"error": None, "message": ""}
        except Exception as exc:
            report[key] = {"error": type(exc).__name__, "message": str(exc)}
        print(key, flush=True)

    for kind in ("lstm", "gru", "traced"):
        for c in (1, 4):
            cli(f"cli_{kind}_{c}", ["explain", paths[kind], paths[f"data_{c}"], "--target",
                                    "predicted", "-m", "saliency", "--no-report", "-q",
                                    "--out", f"{paths['dir']}/r_{kind}_{c}"])
    for kind in ("lstm", "gru"):
        cli(f"ws_{kind}", ["workspace", "add-model", f"{paths['dir']}/ws", f"m_{kind}",
                           paths[kind], "--input-shape", "4,16"])
        program = torch.export.load(paths[kind])
        x = torch.randn(5, 4, 16)
        api(f"api_{kind}_program", lambda: explain(program, x, "saliency", target="predicted"))
        module = program.module()
        api(f"api_{kind}_module", lambda: explain(module, x, "saliency", target="predicted"))
    traced = torch.jit.load(paths["traced"])
    api("api_traced", lambda: explain(traced, torch.randn(5, 1, 16), "saliency", target=0))
    loaded = load_any_model(paths["lstm"]).module  # its own check, without the methods'
    api("forward_lstm", lambda: loaded(torch.zeros(2, 2, 16)))
    print("REPORT " + json.dumps(report), flush=True)
""")


@pytest.fixture(scope="module")
def wrong_channels(files: dict[str, Path]) -> dict[str, Any]:
    """What each door did with a wrong channel count, run in a child process."""
    arg = json.dumps({k: str(v) for k, v in files.items()})
    proc = subprocess.run([sys.executable, "-c", _CHILD, arg], capture_output=True, text=True,
                          timeout=300)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines or not lines[-1].startswith("REPORT "):
        last = lines[-1] if lines else "(none)"
        pytest.fail(f"the child process ended with code {proc.returncode} after check {last!r}:"
                    f"\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1][len("REPORT "):])


@pytest.mark.parametrize("kind", ["lstm", "gru", "traced"])
@pytest.mark.parametrize("n_channels", [1, 4])
def test_cli_explain_refuses_wrong_channels(wrong_channels: dict[str, Any], kind: str,
                                            n_channels: int) -> None:
    done = wrong_channels[f"cli_{kind}_{n_channels}"]
    assert done["rc"] == 2, done["stderr"]
    message = done["stderr"].strip().splitlines()[-1]
    assert "the model does not accept this data" in message
    assert f"{n_channels} channels" in message
    assert "the model expects 3 channels" in message
    assert "(N, C, T)" in message
    assert "Traceback" not in done["stderr"]


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_workspace_add_model_refuses_wrong_input_shape(wrong_channels: dict[str, Any],
                                                       files: dict[str, Path], kind: str) -> None:
    done = wrong_channels[f"ws_{kind}"]
    assert done["rc"] == 2, done["stderr"]
    assert "the model expects 3 channels" in done["stderr"]
    assert "(N, C, T)" in done["stderr"]
    assert not (files["dir"] / "ws" / "models" / f"m_{kind}").exists()


@pytest.mark.parametrize("key", ["api_lstm_program", "api_lstm_module", "api_gru_program",
                                 "api_gru_module", "api_traced", "forward_lstm"])
def test_python_api_raises_shape_error(wrong_channels: dict[str, Any], key: str) -> None:
    done = wrong_channels[key]
    assert done["error"] == "ShapeError", done
    assert "the model expects 3 channels" in done["message"]
    assert "(N, C, T)" in done["message"]


def test_declared_channels_of_each_form(files: dict[str, Path]) -> None:
    program = torch.export.load(str(files["lstm"]))
    assert declared_channels(load_any_model(program).module)[0] == N_CHANNELS
    assert declared_channels(program.module())[0] == N_CHANNELS
    assert declared_channels(load_any_model(files["gru"]).module)[0] == N_CHANNELS
    traced = load_any_model(files["traced"]).module
    assert declared_channels(traced) == (N_CHANNELS, "its LSTM layer takes 3 input features")
    # an nn.Module checks its own input (nn.LSTM raises), a scripted LSTM as well
    assert declared_channels(_Recurrent("lstm")) is None
    with pytest.raises(RuntimeError, match="input_size"):
        _Recurrent("lstm")(torch.zeros(1, 4, LENGTH))
    scripted = load_any_model(torch.jit.script(_Recurrent("lstm").eval())).module
    with pytest.raises(Exception, match="input_size"):  # torch.jit.Error
        scripted(torch.zeros(1, 4, LENGTH))


def test_right_channels_still_run(files: dict[str, Path]) -> None:
    x = torch.randn(5, N_CHANNELS, 24)  # any batch size; a recurrent model any length
    for key in ("lstm", "gru", "traced"):
        assert load_any_model(files[key]).module(x).shape == (5, 2)


def test_channels_last_hint(files: dict[str, Path]) -> None:
    model = load_any_model(files["lstm"]).module
    problem = model_channels_problem(model, (5, LENGTH, N_CHANNELS))
    assert problem is not None and "x.transpose(1, 2)" in problem
    assert model_channels_problem(model, (5, N_CHANNELS, LENGTH)) is None
