"""``tsexplain explain`` / ``tsexplain report`` run as a user would: a subprocess on saved files.

Each supported model kind (TorchScript, safetensors + architecture JSON, ``module:factory`` with
``.pt`` or safetensors weights) and data format (npz, npy, CSV long and wide, UCR .tsv) is run
once, and the written arrays are compared with the Python API on the original module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import tsexplain
from tsexplain.cli.main import main

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "your_own_model.md"

FACTORY_SRC = textwrap.dedent(
    """
    import torch

    def make_net(n_channels=2, n_classes=3):
        return torch.nn.Sequential(
            torch.nn.Conv1d(n_channels, 6, 5, padding=2), torch.nn.Tanh(),
            torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(), torch.nn.Linear(6, n_classes))
    """
)
N, C, T = 100, 2, 40
NAMES = ["pressure", "torque"]


#: One intra-op thread per subprocess: these models are tiny, and on 2 shared cores the thread
#: pools of concurrent processes only contend.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def tsx(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tsexplain.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=ENV)


def values(out: Path, method: str) -> np.ndarray:
    with np.load(out / f"attributions_{method}.npz", allow_pickle=False) as f:
        return f["values"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Saved models of every kind and the same data in every format."""
    from safetensors.torch import save_file

    from tsexplain.models import FordACNN
    from tsexplain.training import save_model

    d = tmp_path_factory.mktemp("byom")
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, C, T)).astype(np.float32)
    y = rng.integers(0, 3, N)
    cnn = FordACNN(n_channels=C, n_outputs=3, filters=8).eval()
    save_model(cnn, d / "cnn.safetensors")
    torch.jit.trace(cnn, torch.zeros(1, C, T)).save(str(d / "cnn_ts.pt"))
    torch.save(cnn, d / "cnn_pickle.pt")

    (d / "usernets.py").write_text(FACTORY_SRC)
    ns: dict = {}
    exec(FACTORY_SRC, ns)
    torch.manual_seed(1)
    user = ns["make_net"]().eval()
    torch.save(user.state_dict(), d / "user.pt")
    save_file(user.state_dict(), str(d / "user.safetensors"))

    uni = FordACNN(n_channels=1, n_outputs=2, filters=8).eval()
    save_model(uni, d / "uni.safetensors")
    yu = y % 2
    (d / "Toy_TEST.tsv").write_text("".join(
        "\t".join([str(int(yu[n])), *(repr(float(v)) for v in X[n, 0, :30])]) + "\n" for n in range(20)))

    np.savez(d / "data.npz", X=X, y=y, channel_names=np.array(NAMES))
    np.save(d / "data.npy", X)
    np.save(d / "data_cl.npy", X.transpose(0, 2, 1))
    # 480 GB of float32 as a sparse file (a few KB on disk): read memory-mapped, refused unread
    del_me = np.lib.format.open_memmap(d / "huge.npy", mode="w+", dtype=np.float32,
                                       shape=(1_000_000, C, 60_000))
    del del_me
    with open(d / "long.csv", "w") as fh:
        fh.write("id,sensor,step,reading,label\n")
        for n in range(N):
            for c in range(C):
                fh.writelines(f"u{n},{NAMES[c]},{t},{float(X[n, c, t])!r},{y[n]}\n" for t in range(T))
    with open(d / "wide.csv", "w") as fh:
        fh.write("sample,channel," + ",".join(f"t{t}" for t in range(T)) + "\n")
        for n in range(N):
            for c in range(C):
                fh.write(f"{n},{NAMES[c]}," + ",".join(repr(float(v)) for v in X[n, c]) + "\n")
    return {"dir": d, "X": X, "y": y, "cnn": cnn, "user": user, "uni": uni, "yu": yu}


@pytest.fixture(scope="module")
def full_run(files):
    """TorchScript + npz, two methods, report and faithfulness: the run the report tests read."""
    d = files["dir"]
    proc = tsx("explain", "cnn_ts.pt", "data.npz", "-m", "saliency", "-m", "integrated_gradients",
               "-p", "integrated_gradients.steps=16", "--target", "predicted", "--out", "A", "-q",
               cwd=d)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return d / "A"


def test_torchscript_npz_two_methods_match_the_api(files, full_run):
    X, cnn = files["X"], files["cnn"]
    sal = tsexplain.explain(cnn, X, "saliency", target="predicted")
    ig = tsexplain.explain(cnn, X, "integrated_gradients", target="predicted", steps=16)
    np.testing.assert_allclose(values(full_run, "saliency"), sal.values, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(values(full_run, "integrated_gradients"), ig.values, rtol=1e-5, atol=1e-7)
    with np.load(full_run / "attributions_integrated_gradients.npz", allow_pickle=False) as f:
        assert list(f["dims"]) == ["sample", "channel", "time"]
        assert list(f["channel"]) == NAMES
        assert json.loads(str(f["params"]))["steps"] == 16
        np.testing.assert_array_equal(f["target"], ig.target)
        np.testing.assert_array_equal(f["sample"], np.arange(N))
    meta = json.loads((full_run / "meta.json").read_text())
    assert meta["model"]["kind"] == "torchscript" and meta["data"]["format"] == "npz"
    faith = meta["faithfulness"]
    assert set(faith["methods"]) == {"saliency", "integrated_gradients"} and "random" in faith
    assert all(np.isfinite(s["deletion_auc"]) for s in faith["methods"].values())


def test_report_is_standalone_and_small(full_run):
    html = (full_run / "report.html").read_text()
    size = (full_run / "report.html").stat().st_size
    assert size < 3_000_000, f"report of {N} samples is {size / 1e6:.1f} MB"
    assert "src='http" not in html and "src=\"http" not in html
    n_png = html.count("data:image/png;base64,")
    assert n_png == 3 * 3 + 2  # 3 samples x (series, heatmap, comparison) + 2 aggregates
    assert "deletion AUC" in html and "How to read this" in html and "random ranking" in html


def test_report_rebuilds_from_saved_results(full_run, tmp_path):
    proc = tsx("report", str(full_run), "--out", str(tmp_path / "again.html"), "--samples", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    html = (tmp_path / "again.html").read_text()
    assert html.count("data:image/png;base64,") == 1 * 3 + 2


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium) "
                    "- the headless screenshot check of report.html is skipped")
def test_report_renders_every_figure_in_headless_chromium(full_run, tmp_path):
    import matplotlib.image as mpimg

    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars"]
    page = tmp_path / "probe.html"
    page.write_text((full_run / "report.html").read_text() + (
        "<script>window.addEventListener('load',()=>{const im=[...document.images];"
        "document.body.dataset.images=im.length;"
        "document.body.dataset.loaded=im.filter(i=>i.complete&&i.naturalWidth>0).length})</script>"))
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=60).stdout
    m = re.search(r'data-images="(\d+)" data-loaded="(\d+)"', dom)
    assert m, dom[:500]
    assert int(m.group(1)) == 11 and m.group(1) == m.group(2)
    shot = tmp_path / "shot.png"
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1200,3000",
                    (full_run / "report.html").as_uri()], capture_output=True, timeout=60)
    img = mpimg.imread(shot)[..., :3]
    assert img.shape[:2] == (3000, 1200)
    non_white = (img.min(axis=2) < 0.9).mean()
    assert img.std() > 0.05 and non_white > 0.05, "screenshot looks blank"


def test_safetensors_json_with_long_csv_and_own_column_names(files):
    d = files["dir"]
    proc = tsx("explain", "cnn.safetensors", "long.csv", "-m", "smoothgrad", "-p", "n_samples=8",
               "-p", "noise=0.2", "--target", "2", "--sample-col", "id", "--channel-col", "sensor",
               "--time-col", "step", "--value-col", "reading", "--out", "B", "--no-report",
               "--no-faithfulness", "-q", cwd=d)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ref = tsexplain.explain(files["cnn"], files["X"], "smoothgrad", target=2, n_samples=8, noise=0.2)
    np.testing.assert_allclose(values(d / "B", "smoothgrad"), ref.values, rtol=1e-5, atol=1e-7)
    with np.load(d / "B" / "inputs.npz", allow_pickle=False) as f:
        np.testing.assert_array_equal(f["y"], files["y"])
        assert list(f["sample"][:2]) == ["u0", "u1"]


def test_module_factory_with_pt_state_dict_and_wide_csv_all_outputs(files):
    d = files["dir"]
    proc = tsx("explain", "usernets:make_net", "wide.csv", "--weights", "user.pt",
               "--model-arg", "n_classes=3", "-m", "gradient_x_input", "--target", "all",
               "--out", "C", "--no-report", "--no-faithfulness", "-q", cwd=d)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ref = tsexplain.explain(files["user"], files["X"], "gradient_x_input", target="all")
    got = values(d / "C", "gradient_x_input")
    assert got.shape == (N, 3, C, T)
    np.testing.assert_allclose(got, ref.values, rtol=1e-5, atol=1e-7)
    with np.load(d / "C" / "attributions_gradient_x_input.npz", allow_pickle=False) as f:
        assert list(f["dims"]) == ["sample", "output", "channel", "time"]


def test_file_factory_with_safetensors_weights_npy_and_limits(files, tmp_path):
    d = files["dir"]
    proc = tsx("explain", f"{d / 'usernets.py'}:make_net", str(d / "data.npy"), "--weights",
               str(d / "user.safetensors"), "-m", "integrated_gradients", "-p", "steps=8",
               "--target", "1", "--max-samples", "10", "--memory-budget", "64MB",
               "--out", str(tmp_path / "D"), "--no-report", "--no-faithfulness", "-q")
    assert proc.returncode == 0, proc.stderr[-2000:]
    ref = tsexplain.explain(files["user"], files["X"][:10], "integrated_gradients", target=1, steps=8)
    np.testing.assert_allclose(values(tmp_path / "D", "integrated_gradients"), ref.values,
                               rtol=1e-5, atol=1e-7)
    meta = json.loads((tmp_path / "D" / "meta.json").read_text())
    assert meta["data"]["n_samples_in_file"] == N and meta["n_samples"] == 10


def test_ucr_tsv_with_labels_as_target(files):
    d = files["dir"]
    proc = tsx("explain", "uni.safetensors", "Toy_TEST.tsv", "-m", "saliency", "--target",
               "label", "--out", "E", "--no-report", "--no-faithfulness", "-q", cwd=d)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ref = tsexplain.explain(files["uni"], files["X"][:20, :1, :30], "saliency", target=files["yu"][:20])
    np.testing.assert_allclose(values(d / "E", "saliency"), ref.values, rtol=1e-5, atol=1e-7)


def test_channels_last_flag_transposes(files):
    d = files["dir"]
    proc = tsx("explain", "cnn.safetensors", "data_cl.npy", "--channels-last", "-m", "saliency",
               "--target", "predicted", "--out", "F", "--no-report", "--no-faithfulness", "-q", cwd=d)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ref = tsexplain.explain(files["cnn"], files["X"], "saliency", target="predicted")
    np.testing.assert_allclose(values(d / "F", "saliency"), ref.values, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------ errors a user will make


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["uni.safetensors", "data.npz", "-t", "0"], r"expects 1 channels.*belong together"),
        (["cnn.safetensors", "data_cl.npy", "-t", "0"], r"channels-last.*--channels-last"),
        (["cnn.safetensors", "data.npz"], r"3 outputs per sample.*--target predicted"),
        (["cnn_pickle.pt", "data.npz", "-t", "0"], r"never unpickles"),
        (["usernets:make_net", "data.npz", "--weights", "cnn_pickle.pt", "-t", "0"], r"never unpickles"),
        (["cnn.safetensors", "data.npz", "-t", "0", "-p", "stepz=3"], r"no chosen method takes 'stepz'"),
        (["cnn.safetensors", "data.npz", "-t", "first"], r"--target must be"),
        (["cnn.safetensors", "data.npz", "-m", "no_such_method"], r"unknown method .no_such_method."),
        (["cnn.safetensors", "huge.npy", "-t", "0"], r"TiB.*--max-samples \d+"),
    ],
    ids=["wrong-pairing", "channels-last", "classifier-no-target", "pickle-model",
         "pickle-weights", "unknown-param", "bad-target", "unknown-method", "huge-data"],
)
def test_user_errors_are_one_line_and_exit_2(files, args, pattern, capsys, monkeypatch):
    monkeypatch.chdir(files["dir"])
    rc = main(["explain", *args, "--out", "never", "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("tsexplain explain: error: ")
    assert re.search(pattern, err), err
    assert not (files["dir"] / "never").exists()


def test_error_exit_code_of_the_real_command(files):
    proc = tsx("explain", "cnn_pickle.pt", "data.npz", "-t", "0", cwd=files["dir"])
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "never unpickles" in proc.stderr


def test_help_has_examples(capsys):
    for cmd in ("explain", "report"):
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0
        assert "examples:" in capsys.readouterr().out


def test_docs_copy_paste_example_runs(tmp_path):
    blocks = re.findall(r"```bash\n(.*?)```", DOCS.read_text(), flags=re.S)
    assert blocks, "no bash block in docs/your_own_model.md"
    env = {**ENV, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", blocks[0]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "my_results" / "report.html").stat().st_size > 50_000
