"""What the command line says besides results: boolean ``--param`` values, tsexplain's warnings as
one line, and the shape rule added when a 2-D ``.npy`` or ``.npz`` array is refused by the model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from tsexplain.cli.main import main
from tsexplain.exceptions import ParameterError

C, T = 3, 40
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

#: A factory that warns itself (user code: Python's format is kept) and builds a 3-channel CNN.
FACTORY_SRC = textwrap.dedent(
    """
    import warnings

    import torch

    def make_net():
        warnings.warn("from the user's factory", UserWarning)
        return torch.nn.Sequential(
            torch.nn.Conv1d(3, 4, 5, padding=2), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(), torch.nn.Linear(4, 2))
    """
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-channel CNN (safetensors + spec), (6, 3, 40) data, a (3, 40) and a (6, 40) .npy."""
    from tsexplain.models import FordACNN
    from tsexplain.training import save_model

    d = tmp_path_factory.mktemp("messages")
    torch.manual_seed(0)
    save_model(FordACNN(n_channels=C, n_outputs=2, filters=4).eval(), d / "cnn.safetensors")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, C, T)).astype(np.float32)
    np.savez(d / "data.npz", X=X)
    np.save(d / "data_3d.npy", X[:, :1])  # (6, 1, 40): univariate stored as (N, C, T)
    np.save(d / "one_series_CT.npy", X[0])  # (3, 40): one multichannel series, read as 3 x 1 x 40
    np.save(d / "series_NT.npy", X[:, 0])  # (6, 40)
    np.savez(d / "series_NT.npz", X=X[:, 0], y=np.arange(6) % 2)  # (6, 40)
    torch.manual_seed(0)
    save_model(FordACNN(n_channels=1, n_outputs=2, filters=4).eval(), d / "cnn1.safetensors")
    (d / "usernets.py").write_text(FACTORY_SRC)
    return d


def run(files: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        *args: str) -> tuple[int, str]:
    monkeypatch.chdir(files)
    rc = main(list(args))
    return rc, capsys.readouterr().err.strip()


# ------------------------------------------------------------------ boolean parameters


@pytest.mark.parametrize("value", ["maybe", "flase", "2", "0.5", "none"])
@pytest.mark.parametrize("key", ["absolute", "saliency.absolute"])
def test_a_boolean_parameter_refuses_other_words(files, capsys, monkeypatch, key, value):
    rc, err = run(files, capsys, monkeypatch, "explain", "cnn.safetensors", "data.npz", "-t", "0",
                  "-m", "saliency", "-p", f"{key}={value}", "--out", "never", "-q")
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    shown = "none" if value == "none" else value
    assert err == (f"tsexplain explain: error: {key} takes true/false (also yes/no, on/off, 1/0), "
                   f"got {shown!r}")
    assert not (files / "never").exists()


@pytest.mark.parametrize(("value", "expected"),
                         [("true", True), ("no", False), ("1", True), ("0", False), ("OFF", False)])
def test_a_boolean_parameter_takes_the_boolean_words(files, capsys, monkeypatch, value, expected):
    rc, err = run(files, capsys, monkeypatch, "explain", "cnn.safetensors", "data.npz", "-t", "0",
                  "-m", "saliency", "-p", f"absolute={value}", "--out", f"ok_{value}", "-q",
                  "--no-report", "--no-faithfulness")
    assert rc == 0, err
    meta = json.loads((files / f"ok_{value}" / "meta.json").read_text())
    assert meta["methods"]["saliency"]["params"]["absolute"] is expected


def test_parse_method_params_checks_only_the_boolean_ones():
    from tsexplain.cli._method_params import parse_method_params

    params = parse_method_params(
        ["steps=32", "baseline=mean", "fold_batchnorm=no", "smoothgrad.multiply_by_inputs=1"],
        ["integrated_gradients", "smoothgrad"])
    assert params == {"steps": 32, "baseline": "mean", "fold_batchnorm": False,
                      "smoothgrad.multiply_by_inputs": True}
    # per_channel is occlusion's boolean: given to every chosen method taking it
    with pytest.raises(ParameterError, match="per_channel takes true/false.*got 'yes please'"):
        parse_method_params(["per_channel=yes please"], ["saliency", "occlusion"])
    # a key no chosen method takes is left to the pipeline's error (it lists what they take)
    assert parse_method_params(["absolute=maybe"], ["integrated_gradients"]) == {"absolute": "maybe"}


def test_explain_dataset_refuses_a_non_boolean_before_loading(files, capsys, monkeypatch):
    rc, err = run(files, capsys, monkeypatch, "explain-dataset", "--model", "absent.pt2",
                  "absent.npy", "-m", "saliency", "-p", "absolute=flase", "--out", "never")
    assert rc == 2
    assert err == ("tsexplain explain-dataset: error: absolute takes true/false (also yes/no, "
                   "on/off, 1/0), got 'flase'")


# ------------------------------------------------------------------ warnings


def test_tsexplain_warnings_are_one_line_and_others_keep_their_format(files, capsys, monkeypatch):
    before = warnings.showwarning
    # pytest.warns records what reaches the previous display: the user's warning, not ours
    with pytest.warns(UserWarning) as caught:
        warnings.simplefilter("always")
        rc, err = run(files, capsys, monkeypatch, "explain", "usernets.py:make_net", "data.npz",
                      "-t", "0", "-m", "saliency", "--out", "warned", "-q", "--no-report",
                      "--no-faithfulness")
    assert rc == 0, err
    assert {str(w.message) for w in caught} == {"from the user's factory"}
    ours = [ln for ln in err.splitlines() if ln.startswith("tsexplain explain: warning: ")]
    assert len(ours) == 1, err
    assert "usernets.py:make_net() was called without weights" in ours[0]
    assert "UserWarning" not in ours[0]
    assert warnings.showwarning is before  # restored after the run


def test_the_installed_command_prints_no_python_warning_lines(files):
    launcher = Path(sys.executable).parent / "tsexplain"
    cmd = [str(launcher)] if launcher.exists() else [sys.executable, "-m", "tsexplain.cli.main"]
    proc = subprocess.run([*cmd, "explain", "usernets.py:make_net", "data.npz", "-t", "0",
                           "-m", "kernel_shap", "-p", "n_coalitions=8", "-p", "n_segments=4",
                           "--out", "sub", "-q", "--no-report", "--no-faithfulness"],
                          cwd=files, capture_output=True, text=True, timeout=180, env=ENV)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert "sys.exit(main())" not in proc.stderr
    ours = [ln for ln in lines if ln.startswith("tsexplain explain: warning: ")]
    assert any("called without weights" in ln for ln in ours), proc.stderr
    assert any(ln.startswith("tsexplain explain: warning: kernel_shap: for ") for ln in ours), \
        proc.stderr
    # besides ours, only the user's factory warning in Python's format (not presented as
    # tsexplain's) and its source line
    others = [ln for ln in lines if ln not in ours]
    line = FACTORY_SRC.splitlines().index('    warnings.warn("from the user\'s factory", UserWarning)')
    assert others == [f"{files / 'usernets.py'}:{line + 1}: UserWarning: from the user's factory",
                      '  warnings.warn("from the user\'s factory", UserWarning)'], proc.stderr


# ------------------------------------------------------------------ 2-D data files


@pytest.mark.parametrize(("data", "shape"), [("one_series_CT.npy", "(3, 40)"),
                                             ("series_NT.npy", "(6, 40)")])
def test_a_refused_2d_npy_states_the_shape_rule(files, capsys, monkeypatch, data, shape):
    rc, err = run(files, capsys, monkeypatch, "explain", "cnn.safetensors", data, "-t", "0",
                  "--out", "never", "-q")
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("tsexplain explain: error: the model does not accept this data")
    assert err.endswith(f"{data} holds a 2-D array {shape}: 2-D arrays are read as (N, T) "
                        f"univariate series; save one multichannel series as (1, C, T)")


def test_a_refused_2d_npz_states_the_shape_rule(files, capsys, monkeypatch):
    rc, err = run(files, capsys, monkeypatch, "explain", "cnn.safetensors", "series_NT.npz", "-t",
                  "0", "--out", "never", "-q")
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("tsexplain explain: error: the model does not accept this data, 6 "
                          "samples x 1 channels x 40 steps")
    assert err.endswith("series_NT.npz holds a 2-D array (6, 40): 2-D arrays are read as (N, T) "
                        "univariate series; save one multichannel series as (1, C, T)")


@pytest.mark.parametrize("data", ["series_NT.npy", "series_NT.npz"])
def test_explain_dataset_reads_a_2d_array_as_explain_does(files, capsys, monkeypatch, data):
    from tsexplain.attribution import Saliency
    from tsexplain.training import load_model

    out = f"ds_{data.replace('.', '_')}"
    rc, err = run(files, capsys, monkeypatch, "explain-dataset", "--model", "cnn1.safetensors",
                  data, "-m", "saliency", "-t", "1", "--out", out, "--npy", f"{out}.npy")
    assert rc == 0, err
    values = np.load(files / f"{out}.npy")
    # the same numbers as the library on the (N, 1, T) array, computed directly
    x = np.load(files / "series_NT.npy")[:, None, :]
    expected = np.asarray(Saliency(load_model(files / "cnn1.safetensors")).attribute(x, target=1))
    assert values.shape == (6, 1, T)
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("data", ["series_NT.npy", "series_NT.npz"])
def test_explain_dataset_states_the_shape_rule_when_the_model_refuses(files, capsys, monkeypatch,
                                                                       data):
    rc, err = run(files, capsys, monkeypatch, "explain-dataset", "--model", "cnn.safetensors",
                  data, "-m", "saliency", "-t", "0", "--out", "never_ds")
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    assert "(1, 1, 40)" in err  # the model saw one univariate series
    assert err.endswith(f"{data} holds a 2-D array (6, 40): 2-D arrays are read as (N, T) "
                        "univariate series; save one multichannel series as (1, C, T)")


def test_a_refused_3d_npy_has_no_2d_rule(files, capsys, monkeypatch):
    rc, err = run(files, capsys, monkeypatch, "explain", "cnn.safetensors", "data_3d.npy", "-t",
                  "0", "--out", "never", "-q")
    assert rc == 2 and "the model does not accept this data" in err
    assert "2-D" not in err
