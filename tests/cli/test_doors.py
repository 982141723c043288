"""Every door x every model form: ``explain``, ``explain-dataset``, ``workspace add-model`` + the
explorer's API, with the nn.Module's attributions through the Python API as the oracle.

Forms: factory + ``.pt`` state dict, factory + ``.safetensors``, ``save_model`` safetensors + spec,
``torch.export`` (``.pt2``), TorchScript. Data: generated ``.npz`` and ECG5000 (UCR, labels 1..5)
from the shared data folder when present. The CLI runs in-process (``main([...])``): the same
code path as the console script, without a Python start-up per call.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import tsexplain
from tsexplain.cli.main import main

NETS = Path(__file__).resolve().parents[1] / "io" / "_user_nets.py"
LENGTH = 32
FORMS = ("factory_pt", "factory_safetensors", "export", "torchscript")


def _nets():
    spec = importlib.util.spec_from_file_location("_tsexplain_door_nets", NETS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from safetensors.torch import save_file

    d = tmp_path_factory.mktemp("doors")
    nets = _nets()
    out = {}
    for kind in ("cnn", "lstm"):
        net = nets.make(kind).eval()
        torch.save(net.state_dict(), d / f"{kind}.pt")
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(d / f"{kind}.safetensors"))
        program = torch.export.export(net, (torch.zeros(2, 1, LENGTH),),
                                      dynamic_shapes=({0: torch.export.Dim("batch")},))
        torch.export.save(program, d / f"{kind}.pt2")
        torch.jit.script(net).save(str(d / f"{kind}.ts.pt"))
        out[kind] = {
            "module": net,
            "factory_pt": [f"{NETS}:make", "--weights", str(d / f"{kind}.pt"), "--model-arg", f"kind={kind}"],
            "factory_safetensors": [f"{NETS}:make", "--weights", str(d / f"{kind}.safetensors"),
                                    "--model-arg", f"kind={kind}"],
            "export": [str(d / f"{kind}.pt2")],
            "torchscript": [str(d / f"{kind}.ts.pt")],
        }
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 1, LENGTH)).astype(np.float32)
    np.savez(d / "data.npz", X=X, y=np.array([1, 2, 2, 1, 2]))
    np.save(d / "data.npy", X)
    out["X"], out["dir"] = X, d
    return out


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _cli_model(files, kind, form):
    first, *rest = files[kind][form]
    return first, rest


def _values(folder: Path, method: str = "integrated_gradients") -> np.ndarray:
    with np.load(folder / f"attributions_{method}.npz", allow_pickle=False) as f:
        return f["values"]


def _close(got, ref, form):
    if form.startswith("factory"):
        np.testing.assert_array_equal(got, ref, err_msg=form)
    else:
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-6, err_msg=form)


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_explain_door_every_form(files, kind, tmp_path, capsys):
    X = files["X"]
    target = np.array([0, 1, 1, 0, 1])  # labels 1/2 -> classes 0/1
    ref = np.asarray(tsexplain.explain(files[kind]["module"], X, "integrated_gradients",
                                       target=target, steps=8).values)
    for form in FORMS:
        model, extra = _cli_model(files, kind, form)
        out = tmp_path / form
        code, stdout, err = _run(["explain", model, files["dir"] / "data.npz", *extra, "--target", "label",
                                  "--param", "steps=8", "--out", out, "--no-report",
                                  "--no-faithfulness", "--quiet", "--class-names", "one,two"], capsys)
        assert code == 0, err
        _close(_values(out), ref, form)
        meta = json.loads((out / "meta.json").read_text())
        assert meta["label_values"] == [1, 2] and meta["class_names"] == ["one", "two"]
        assert meta["model"]["kind"] == {"export": "export", "torchscript": "torchscript"}.get(form, "factory")


def test_explain_door_on_ecg5000(files, shared_data_dir, tmp_path, capsys):
    from tsexplain.io import load_any_data

    data = load_any_data(shared_data_dir / "ECG5000", split="train").head(4)
    X = np.ascontiguousarray(data.X, dtype=np.float32)  # (4, 1, 140): the CNN pools over time
    ref = np.asarray(tsexplain.explain(files["cnn"]["module"], X, "integrated_gradients",
                                       target="predicted", steps=8).values)
    for form in FORMS:
        model, extra = _cli_model(files, "cnn", form)
        out = tmp_path / form
        code, _, err = _run(["explain", model, shared_data_dir / "ECG5000", *extra, "--split", "train",
                             "--max-samples", 4, "--target", "predicted", "--param", "steps=8",
                             "--out", out, "--no-report", "--no-faithfulness", "--quiet"], capsys)
        assert code == 0, err
        _close(_values(out), ref, form)
        assert json.loads((out / "meta.json").read_text())["label_values"] == [1, 2, 3, 4, 5]


def test_explain_dataset_door_every_form(files, tmp_path, capsys):
    X = files["X"]
    ref = np.asarray(tsexplain.explain(files["cnn"]["module"], X, "integrated_gradients",
                                       target=1, steps=8).values)
    for form in FORMS:
        model, extra = _cli_model(files, "cnn", form)
        out = tmp_path / form
        code, _, err = _run(["explain-dataset", "--model", model, *extra, files["dir"] / "data.npy",
                             "--target", 1, "--param", "steps=8", "--chunk-size", 2, "--out", out,
                             "--npy", tmp_path / f"{form}.npy"], capsys)
        assert code == 0, err
        _close(np.load(tmp_path / f"{form}.npy"), ref, form)


@pytest.fixture(scope="module")
def workspace(files, tmp_path_factory):
    """A workspace built with the CLI: one model per form, one data set."""
    ws = tmp_path_factory.mktemp("ws") / "ws"
    d = files["dir"]
    assert main(["workspace", "add-data", str(ws), "gen", str(d / "data.npz"),
                 "--class-names", "one,two", "--value-unit", "mV", "--time-unit", "ms"]) == 0
    for form in FORMS:
        model, extra = _cli_model(files, "cnn", form)
        assert main(["workspace", "add-model", str(ws), form, model, *extra, "--dataset", "gen",
                     "--class-names", "one,two"]) == 0
    return ws


def test_workspace_layout_is_the_documented_one(workspace):
    models = workspace / "models"
    assert json.loads((models / "factory_pt" / "factory.json").read_text()) == {
        "factory": "_user_nets.py:make", "factory_kwargs": {"kind": "cnn"},
        "weights": "weights.safetensors"}
    assert (models / "factory_pt" / "_user_nets.py").is_file()
    assert (models / "export.pt2").is_file() and (models / "torchscript.pt").is_file()
    info = json.loads((models / "export.info.json").read_text())
    assert info["input_shape"] == [1, LENGTH] and info["class_names"] == ["one", "two"]
    assert info["dataset"] == "gen"
    with np.load(workspace / "datasets" / "gen.npz", allow_pickle=False) as z:
        assert z["y"].tolist() == [0, 1, 1, 0, 1]
        assert z["label_values"].tolist() == ["1", "2"] and z["class_names"].tolist() == ["one", "two"]
        assert str(z["value_unit"]) == "mV" and str(z["time_unit"]) == "ms"


def _client(workspace, trust):
    from fastapi.testclient import TestClient

    from tsexplain.server.app import create_app
    from tsexplain.server.config import Settings
    from tsexplain.server.workspace import Workspace

    app = create_app(Settings.from_env(workspace=workspace), Workspace(workspace, trust_code=trust))
    return TestClient(app, base_url="http://127.0.0.1")


def test_explorer_door_every_form(files, workspace):
    client = _client(workspace, trust=True)
    X = files["X"]
    ref = np.asarray(tsexplain.explain(files["cnn"]["module"], X[:2], "integrated_gradients",
                                       target=1, steps=8).values)
    listed = {m["name"]: m["kind"] for m in client.get("/api/v1/models").json()}
    assert listed == {"factory_pt": "factory", "factory_safetensors": "factory", "export": "export",
                      "torchscript": "torchscript"}
    for form in FORMS:
        r = client.post("/api/v1/explain", json={"model": form, "dataset": "gen", "indices": [0, 1],
                                                 "method": "integrated_gradients",
                                                 "params": {"steps": 8}, "target": 1})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["values"]["shape"] == list(ref.shape)
        got = np.asarray(body["values"]["data"], dtype=np.float32)
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-6, err_msg=form)
        network = client.get(f"/api/v1/models/{form}/network")
        if form == "torchscript":
            assert network.status_code == 422
            assert "no module tree for hooks" in network.json()["detail"]
        else:
            assert network.status_code == 200, network.text


def test_factory_models_need_trust_code(workspace):
    client = _client(workspace, trust=False)
    r = client.get("/api/v1/models/factory_pt")
    assert r.status_code == 422 and "--trust-code" in r.json()["detail"]
    assert client.get("/api/v1/models/export").status_code == 200
    listed = {m["name"]: m for m in client.get("/api/v1/models").json()}
    assert "--trust-code" in listed["factory_pt"]["problem"]
    assert listed["factory_pt"]["kind"] == "factory" and listed["factory_pt"]["task"] is None
    assert listed["export"]["problem"] is None and listed["export"]["task"] is not None


def test_workspace_list(workspace, capsys):
    code, out, _ = _run(["workspace", "list", workspace], capsys)
    assert code == 0
    assert "factory_pt" in out and "needs 'serve --trust-code'" in out and "gen" in out


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["workspace", "add-model", "{ws}", "bad/name", "{d}/cnn.pt2", "--input-shape", "1,32"],
         r"model name 'bad/name' is not allowed"),
        (["workspace", "add-model", "{ws}", "m", "{d}/missing.pt2", "--input-shape", "1,32"],
         r"no model file at"),
        (["workspace", "add-model", "{ws}", "m", "{d}/cnn.pt2"], r"input shape is unknown"),
        (["workspace", "add-model", "{ws}", "m", "{d}/cnn.pt2", "--input-shape", "3,32"],
         r"does not accept this data"),
        (["workspace", "add-model", "{ws}", "m", "{d}/cnn.pt2", "--input-shape", "x"],
         r"--input-shape takes C,T"),
        (["workspace", "add-model", "{ws}", "m", "{d}/cnn.pt"], r"holds only weights"),
        (["workspace", "add-model", "{ws}", "m", "{d}/cnn.pt2", "--input-shape", "1,32",
          "--class-names", "a,b,c"], r"3 class/output names for a model with 2 outputs"),
        (["workspace", "add-model", "{ws}", "m", "{d}/cnn.pt2", "--dataset", "nope"],
         r"--dataset nope: no "),
        (["workspace", "add-data", "{ws}", "d", "{d}/missing.npz"], r"no data file at"),
        (["workspace", "add-data", "{ws}", "d", "{d}/data.npz", "--channel-names", "a,b"],
         r"2 names for 1 channels"),
        (["workspace", "add-data", "{ws}", "d", "{d}/data.npz", "--class-names", "a"],
         r"1 names for 2 classes"),
        (["workspace", "list", "{d}/no-such-ws"], r"no workspace folder"),
        (["explain-dataset", "--model", "{d}/cnn.pt2", "--model", "{d}/cnn.ts.pt", "--weights",
          "{d}/cnn.pt", "{d}/data.npy", "--out", "{d}/o"], r"--weights and --model-arg go with a single"),
    ],
    ids=["bad-name", "missing-model", "no-shape", "wrong-channels", "bad-shape", "weights-only",
         "too-many-names", "unknown-dataset", "missing-data", "channel-names", "class-names",
         "no-workspace", "weights-with-agra"],
)
def test_bad_input_is_one_line_exit_2(files, tmp_path, capsys, args, pattern):
    argv = [a.format(ws=tmp_path / "ws", d=files["dir"]) for a in args]
    code, _, err = _run(argv, capsys)
    assert code == 2, err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    import re

    assert re.search(pattern, lines[0]), lines[0]


def test_a_model_with_further_inputs_is_refused_with_the_doors_that_take_them(files, tmp_path, capsys):
    """forward(x, static) given the series only: it said "the model does not accept this data (its
    first convolution expects 1 channels)" of data that had 1 channel. Now each door says where
    it takes them: explain --additional-input and the Python keyword; the workspace the data
    set's arrays additional_0, ... (written by add-data --additional-input)."""
    (tmp_path / "two.py").write_text(
        "import torch\n"
        "class Two(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = torch.nn.Conv1d(1, 2, 3)\n"
        "    def forward(self, x, static):\n"
        "        return self.conv(x).mean(2) + static\n"
        "def make():\n    return Two()\n"
    )
    for argv in (["explain", f"{tmp_path / 'two.py'}:make", files["dir"] / "data.npz", "--target", "0",
                  "-o", tmp_path / "out"],
                 ["workspace", "add-model", tmp_path / "ws", "two", f"{tmp_path / 'two.py'}:make",
                  "--input-shape", f"1,{LENGTH}"]):
        code, _, err = _run(argv, capsys)
        lines = [ln for ln in err.strip().splitlines() if ln.strip() and "UserWarning" not in ln]
        assert code == 2 and "Traceback" not in err, err
        assert "takes more inputs than the series (missing: 'static')" in lines[-1], err
        assert "--additional-input FILE" in lines[-1]
        if argv[0] == "explain":
            assert "additional_inputs=" in lines[-1]
        else:
            assert "add them to datasets/NAME.npz as arrays additional_0, additional_1" in lines[-1]


def test_add_model_says_the_task_it_guessed_and_how_to_change_it(files, tmp_path, capsys):
    """A 2-output model is taken for a classifier unless told (a forecaster of 2 steps is not)."""
    base = ["workspace", "add-model", tmp_path / "ws"]
    code, out, _ = _run([*base, "m", files["dir"] / "cnn.pt2", "--input-shape", f"1,{LENGTH}"], capsys)
    assert code == 0 and "task multiclass, guessed from 2 output(s): pass --task regression" in out
    code, out, _ = _run([*base, "f", files["dir"] / "cnn.pt2", "--input-shape", f"1,{LENGTH}",
                         "--task", "regression"], capsys)
    assert code == 0 and "task regression)" in out
    info = json.loads((tmp_path / "ws" / "models" / "f.info.json").read_text())
    assert info["task"] == "regression"


def test_a_regressor_is_reported_by_its_explained_output_not_as_a_class(files, tmp_path, capsys):
    """--task regression: captions give the explained output's value (a classifier's give the
    predicted class), the aggregates group by that value, and --target predicted (the largest
    output) is refused."""
    model, data = files["dir"] / "cnn.pt2", tmp_path / "unlabelled.npz"
    np.savez(data, X=np.load(files["dir"] / "data.npz")["X"])
    code, _, err = _run(["explain", model, data, "-m", "saliency", "--target", "1", "--task",
                         "regression", "--no-faithfulness", "-o", tmp_path / "r"], capsys)
    assert code == 0 and "task: regression\n" in err
    meta = json.loads((tmp_path / "r" / "meta.json").read_text())
    preds = np.load(tmp_path / "r" / "inputs.npz")["predictions"]
    assert meta["task"] == "regression" and meta["target"] == 1
    html = (tmp_path / "r" / "report.html").read_text()
    assert "sample 0, output 1 = " in html and "predicted class" not in html
    assert "per quartile of the predicted value" in html
    assert f"output 1 = {float(preds[0, 1]):.3g}, outputs " in html
    code, _, err = _run(["explain", model, data, "-m", "saliency", "--target", "1", "--no-faithfulness",
                         "-o", tmp_path / "c"], capsys)
    assert code == 0 and "task: multiclass (guessed from 2 output(s); --task sets it)" in err
    assert "predicted class" in (tmp_path / "c" / "report.html").read_text()
    code, _, err = _run(["explain", model, data, "--target", "predicted", "--task", "regression",
                         "-o", tmp_path / "p"], capsys)
    assert code == 2 and "this model is a regressor (2 outputs): pass --target INDEX" in err


def test_existing_names_need_force(files, workspace, capsys):
    code, _, err = _run(["workspace", "add-model", workspace, "export", files["dir"] / "cnn.pt2",
                         "--input-shape", "1,32"], capsys)
    assert code == 2 and "pass --force" in err
    code, _, err = _run(["workspace", "add-data", workspace, "gen", files["dir"] / "data.npz"], capsys)
    assert code == 2 and "pass --force" in err


def test_console_script_prints_no_traceback(files, tmp_path):
    """One real process: the installed entry point's error path (grouped: one start-up)."""
    import subprocess
    import sys

    code = ("import sys; from tsexplain.cli.main import main; "
            f"codes = [main(['workspace', 'add-model', {str(tmp_path)!r}, 'm', {str(files['dir'] / 'cnn.pt')!r}]), "
            f"main(['explain', {str(files['dir'] / 'cnn.ts.pt')!r}, {str(files['dir'] / 'data.npz')!r}, '--target', 'label', '--max-samples', '0'])]; "
            "print(codes)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert proc.stdout.strip() == "[2, 2]", proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 2
