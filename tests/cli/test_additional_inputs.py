"""``tsexplain explain --additional-input FILE[:KEY]``: a model ``forward(x, static)`` through the
command line, and ``deletion_curve`` / ``insertion_curve`` with ``additional_inputs=``.

Oracles: the Python API on the same module (``tsexplain.explain(..., additional_inputs=[static])``)
for the saved maps; for a model linear in ``static``, Integrated Gradients of ``static`` from a
zero baseline is exactly ``w * static``; a model whose output depends on ``static`` only has a
flat deletion curve at its output. The CLI runs in-process (``main([...])``), as in
``test_doors.py``.
"""

from __future__ import annotations

import json
import re
import textwrap

import numpy as np
import pytest
import torch

import tsexplain
from tsexplain.cli.main import main
from tsexplain.exceptions import ModelInputsError, ShapeError
from tsexplain.io import read_results
from tsexplain.metrics import deletion_curve, insertion_curve

N, C, T, S, K = 8, 2, 16, 3, 2
TARGET = 1

NETS_SRC = textwrap.dedent(
    """
    import torch


    class ConvStatic(torch.nn.Module):
        \"\"\"conv-pooled x + static @ w: (N, C, T) and (N, S) in, (N, K) out. Coupled, static
        also shifts the convolution's features (the map of x then depends on static); not
        coupled, the output is linear in static.\"\"\"

        def __init__(self, n_channels=2, n_static=3, n_outputs=2, coupled=True):
            super().__init__()
            self.conv = torch.nn.Conv1d(n_channels, 4, 3)
            self.head = torch.nn.Linear(4, n_outputs)
            self.w = torch.nn.Parameter(torch.randn(n_static, n_outputs))
            self.u = torch.nn.Parameter(torch.randn(n_static, 4)) if coupled else None

        def forward(self, x, static):
            h = self.conv(x)
            if self.u is not None:
                h = h + (static @ self.u)[:, :, None]
            return self.head(torch.tanh(h).mean(2)) + static @ self.w


    class WithCode(ConvStatic):
        \"\"\"A third input of integer codes (an embedding's indices): passed, never attributed.\"\"\"

        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(4, 2)

        def forward(self, x, static, code):
            return super().forward(x, static) + self.embed(code)


    def make(coupled=True):
        return ConvStatic(coupled=coupled)


    def make_with_code():
        return WithCode()
    """
)


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The factory file, weights of two models, data (N, C, T) and static inputs in each form."""
    d = tmp_path_factory.mktemp("additional")
    (d / "nets.py").write_text(NETS_SRC)
    ns: dict = {}
    exec(NETS_SRC, ns)
    torch.manual_seed(0)
    model = ns["make"]().eval()
    torch.save(model.state_dict(), d / "w.pt")
    torch.manual_seed(2)
    linear = ns["make"](coupled=False).eval()
    torch.save(linear.state_dict(), d / "w_lin.pt")
    torch.manual_seed(1)
    coded = ns["make_with_code"]().eval()
    torch.save(coded.state_dict(), d / "w_code.pt")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, C, T)).astype(np.float32)
    static = rng.standard_normal((N, S)).astype(np.float32)
    np.savez(d / "data.npz", X=X)
    np.save(d / "static.npy", static)
    np.savetxt(d / "static.csv", static, delimiter=",", header="age,height,dose", comments="")
    np.savez(d / "extras.npz", static=static, other=static[:, :1])
    codes = np.arange(N, dtype=np.int64) % 4
    np.save(d / "codes.npy", codes)
    # broken forms
    np.save(d / "short.npy", static[:5])
    with_nan = static.copy()
    with_nan[2, 1] = np.nan
    np.save(d / "nan.npy", with_nan)
    (d / "words.csv").write_text("a,b,c\n" + "1,2,3\n" * 3 + "1,x,3\n" * (N - 3))
    return {"dir": d, "model": model, "linear": linear, "coded": coded, "X": X, "static": static, "codes": codes,
            "factory": f"{d / 'nets.py'}:make"}


def _explain(files, out, *extra, methods=("integrated_gradients",), faithfulness=False,
             report=False, linear=False):
    model = (["--weights", files["dir"] / "w_lin.pt", "--model-arg", "coupled=false"] if linear
             else ["--weights", files["dir"] / "w.pt"])
    argv = ["explain", files["factory"], *model, files["dir"] / "data.npz", "--target", str(TARGET), "-o", out, "-q",
            *[a for m in methods for a in ("-m", m)], *extra]
    if not faithfulness:
        argv.append("--no-faithfulness")
    argv += ["--report-samples", "1"] if report else ["--no-report"]
    return argv


@pytest.mark.parametrize("form", ["static.npy", "static.csv", "extras.npz:static"])
def test_the_saved_map_is_the_python_api_s(files, tmp_path, capsys, form):
    """The CLI with --additional-input gives the map of tsexplain.explain(..., additional_inputs=
    [static]) on the same module, whatever the file form (float64 CSV values included)."""
    code, _, err = _run(_explain(files, tmp_path / "out", "--additional-input",
                                 f"{files['dir'] / form}"), capsys)
    assert code == 0, err
    saved = read_results(tmp_path / "out")
    want = tsexplain.explain(files["model"], files["X"], "integrated_gradients", target=TARGET,
                             additional_inputs=[files["static"]]).values
    np.testing.assert_allclose(saved.results["integrated_gradients"].values, want, atol=1e-6, rtol=0)
    other = tsexplain.explain(files["model"], files["X"], "integrated_gradients", target=TARGET,
                              additional_inputs=[np.zeros_like(files["static"])]).values
    assert np.abs(want - other).max() > 1e-3  # the oracle depends on static: the test has teeth
    described = saved.meta["additional_inputs"]
    assert [(d["file"], d["shape"]) for d in described] == [(str(files["dir"] / form), [N, S])]
    if form.endswith(".csv"):
        assert described[0]["columns"] == ["age", "height", "dose"]
    assert "additional" not in saved.results["integrated_gradients"].extras  # not asked for


def test_attribute_additional_gives_w_times_static_and_a_report_table(files, tmp_path, capsys):
    """Linear in static, zero baseline: IG of static is w[:, target] * static (exact). Saved as an
    array beside the map (read back without pickle), shown per column in the report; the
    faithfulness curves ran with the extras (their unperturbed output is the model's)."""
    out = tmp_path / "out"
    code, _, err = _run(_explain(files, out, "--additional-input", files["dir"] / "static.csv",
                                 "--attribute-additional", methods=("integrated_gradients", "saliency"),
                                 faithfulness=True, report=True, linear=True), capsys)
    assert code == 0, err
    w = files["linear"].w.detach().numpy()[:, TARGET]
    with np.load(out / "attributions_integrated_gradients.npz", allow_pickle=False) as f:
        ig_static = f["extra__additional__0"]
    np.testing.assert_allclose(ig_static, w * (files["static"] - 0.0), atol=1e-5, rtol=0)
    saved = read_results(out)
    np.testing.assert_allclose(saved.results["saliency"].extras["additional"][0],
                               np.broadcast_to(w, (N, S)), atol=1e-6, rtol=0)  # d out / d static
    meta = json.loads((out / "meta.json").read_text())
    with torch.no_grad():
        f_x = files["linear"](torch.as_tensor(files["X"]), torch.as_tensor(files["static"]))[:, TARGET]
    assert meta["faithfulness"]["methods"]["integrated_gradients"]["output_on_input"] == \
        pytest.approx(float(f_x.mean()), abs=1e-5)
    assert meta["attribute_additional"] is True
    page = (out / "report.html").read_text()
    assert "integrated_gradients: mean |attribution| of each additional input&#x27;s columns" in page
    mean_ig = np.abs(w * files["static"]).mean(axis=0)
    cells = re.findall(r"<td>age</td><td class='n'>([^<]+)</td>", page)
    assert len(cells) == 2  # one row per method
    assert float(cells[0]) == pytest.approx(mean_ig[0], rel=1e-3)
    assert f"static.csv ({N}, {S})" in page


def test_an_integer_input_is_passed_and_not_attributed(files, tmp_path, capsys):
    """forward(x, static, code) with code an embedding's indices (.npy int64): the map is the
    Python API's; the integer input has no attribution (None read back, a note in the report)."""
    out = tmp_path / "out"
    argv = ["explain", f"{files['dir'] / 'nets.py'}:make_with_code", "--weights",
            files["dir"] / "w_code.pt", files["dir"] / "data.npz", "--target", str(TARGET), "-o",
            out, "-q", "--no-faithfulness", "--report-samples", "1",
            "--additional-input", files["dir"] / "static.npy",
            "--additional-input", files["dir"] / "codes.npy", "--attribute-additional"]
    code, _, err = _run(argv, capsys)
    assert code == 0, err
    want = tsexplain.explain(files["coded"], files["X"], "integrated_gradients", target=TARGET,
                             additional_inputs=[files["static"], files["codes"]],
                             attribute_additional=True)
    saved = read_results(out).results["integrated_gradients"]
    np.testing.assert_allclose(saved.values, want.values, atol=1e-6, rtol=0)
    static_attr, code_attr = saved.extras["additional"]
    np.testing.assert_allclose(static_attr, want.extras["additional"][0], atol=1e-6, rtol=0)
    assert code_attr is None
    assert "(not floating: held fixed, not attributed)" in (out / "report.html").read_text()


def test_max_samples_cuts_the_additional_inputs(files, tmp_path, capsys):
    """--max-samples 3 explains the first 3 series with the first 3 rows of each extra (the
    other rows would give other maps: the model couples x and static)."""
    out = tmp_path / "out"
    code, _, err = _run(_explain(files, out, "--additional-input", files["dir"] / "static.npy",
                                 "--attribute-additional", "--max-samples", "3"), capsys)
    assert code == 0, err
    saved = read_results(out)
    want = tsexplain.explain(files["model"], files["X"][:3], "integrated_gradients", target=TARGET,
                             additional_inputs=[files["static"][:3]], attribute_additional=True)
    res = saved.results["integrated_gradients"]
    np.testing.assert_allclose(res.values, want.values, atol=1e-6, rtol=0)
    np.testing.assert_allclose(res.extras["additional"][0], want.extras["additional"][0],
                               atol=1e-6, rtol=0)
    assert res.extras["additional"][0].shape == (3, S)
    assert saved.meta["additional_inputs"][0]["shape"] == [3, S]


def test_explain_files_takes_additional_inputs_from_python(files, tmp_path):
    """The same field from Python: explain_files(..., additional_inputs=[FILE])."""
    from tsexplain.io.pipeline import explain_files

    out = explain_files(files["model"], files["dir"] / "data.npz", ["saliency"], target=TARGET,
                        out=tmp_path / "out", additional_inputs=[files["dir"] / "static.npy"],
                        faithfulness=False, report=False)
    want = tsexplain.explain(files["model"], files["X"], "saliency", target=TARGET,
                             additional_inputs=[files["static"]]).values
    np.testing.assert_allclose(read_results(out).results["saliency"].values, want, atol=1e-6, rtol=0)


def test_target_all_reports_the_extras_at_the_predicted_output_as_the_series(files, tmp_path, capsys):
    """With target='all' the extras' attributions are (N, K, S): the report's table reads them at
    each sample's predicted output, as it reads the series' maps (not the mean over outputs)."""
    out = tmp_path / "out"
    argv = _explain(files, out, "--additional-input", files["dir"] / "static.csv",
                    "--attribute-additional", report=True)
    argv[argv.index("--target") + 1] = "all"
    code, _, err = _run(argv, capsys)
    assert code == 0, err
    saved = read_results(out)
    v = np.asarray(saved.results["integrated_gradients"].extras["additional"][0])
    assert v.shape == (N, K, S)
    pred = np.asarray(saved.predictions).argmax(axis=1)
    assert len(set(pred.tolist())) > 1  # the two readings differ only if the predictions do
    want = np.abs(v[np.arange(N), pred]).mean(axis=0)
    page = (out / "report.html").read_text()
    cells = [float(c) for c in re.findall(r"<td>age</td><td class='n'>([^<]+)</td>", page)]
    assert cells == [pytest.approx(want[0], rel=1e-3)]
    assert abs(np.abs(v).mean(axis=(0, 1))[0] - want[0]) > 1e-3 * want[0]


def test_explain_files_refuses_arrays_as_additional_inputs(files, tmp_path):
    from tsexplain.exceptions import ParameterError
    from tsexplain.io.pipeline import explain_files

    with pytest.raises(ParameterError, match="additional_inputs takes files .* got ndarray; arrays "
                                             "go to tsexplain.explain"):
        explain_files(files["model"], files["dir"] / "data.npz", ["saliency"], target=TARGET,
                      out=tmp_path / "out", additional_inputs=[files["static"]])


@pytest.mark.parametrize("form", ["pt2", "function"])
def test_a_model_of_the_series_alone_given_extras_is_told_to_give_fewer(files, tmp_path, form):
    """A one-input model (a torch.export program, a plain function) given a further input: the
    ModelInputsError that says so, not Python's TypeError from inside the wrapper."""
    from tsexplain.io import load_any_model

    head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(C * T, K)).eval()
    if form == "pt2":
        batch = torch.export.Dim("batch", min=1)
        program = torch.export.export(head, (torch.zeros(2, C, T),), dynamic_shapes=({0: batch},))
        torch.export.save(program, tmp_path / "one.pt2")
        model = load_any_model(tmp_path / "one.pt2").module
    else:
        def model(x):
            return head(x)
    with pytest.raises(ModelInputsError, match=r"forward takes 1 input, not the series and 1 "
                                               r"additional input\(s\)\. Give additional_inputs= only"):
        tsexplain.explain(model, files["X"], "saliency", target=TARGET,
                          additional_inputs=[files["static"]])
    with pytest.raises(ModelInputsError, match=r"not the series and 1 additional input"):
        deletion_curve(model, files["X"], np.ones_like(files["X"]), target=TARGET,
                       additional_inputs=[files["static"]])


ERRORS = [
    (["--additional-input", "{d}/nope.npy"], r"additional input \S*nope\.npy: no file at"),
    (["--additional-input", "{d}/extras.npz:zz"],
     r"extras\.npz has no array 'zz'; its arrays: static, other"),
    (["--additional-input", "{d}/extras.npz"],
     r"extras\.npz holds 2 arrays \(static, other\): name one, e\.g\. \S*extras\.npz:static"),
    (["--additional-input", "{d}/words.csv"],
     r"words\.csv \(a numeric table, one row per series\): column b holds 'x', not a number"),
    (["--additional-input", "{d}/nan.npy"], r"nan\.npy holds 1 NaN/Inf values"),
    (["--additional-input", "{d}/short.npy"],
     rf"short\.npy has 5 rows, shape \(5, {S}\); the data have {N} series \(N, C, T\) = "
     rf"\({N}, {C}, {T}\): one row per series"),
    (["--additional-input", "{d}/static.npy:k"], r"':k' names an array of an \.npz file"),
    ([], r"takes more inputs than the series \(missing: 'static'\): .*--additional-input FILE"),
    (["--additional-input", "{d}/static.npy", "--additional-input", "{d}/static.npy"],
     r"forward takes 2 inputs, not the series and 2 additional input\(s\): give only the inputs "
     r"forward takes after x, one --additional-input"),
    (["--additional-input", "{d}/static.npy", "--attribute-additional", "-m", "occlusion"],
     r"occlusion does not attribute additional inputs"),
    (["--attribute-additional"], r"--attribute-additional needs .*--additional-input FILE"),
]


@pytest.mark.parametrize("extra, pattern", ERRORS,
                         ids=["missing", "unknown-key", "no-key", "not-numbers", "nan", "rows",
                              "key-of-npy", "too-few-inputs", "too-many-inputs",
                              "not-attributable", "attribute-nothing"])
def test_bad_additional_input_is_one_line_exit_2(files, tmp_path, capsys, extra, pattern):
    argv = _explain(files, tmp_path / "out", *[a.format(d=files["dir"]) for a in extra])
    code, _, err = _run(argv, capsys)
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert re.search(pattern, lines[0]), lines[0]


def test_the_workspace_says_how_a_data_set_carries_further_inputs(files, tmp_path, capsys):
    """The workspace takes further inputs from the data set (arrays additional_<i>), no longer
    only the series: its one-line refusal says how to add them."""
    argv = ["workspace", "add-model", tmp_path / "ws", "two", files["factory"], "--weights",
            files["dir"] / "w.pt", "--input-shape", f"{C},{T}"]
    code, _, err = _run(argv, capsys)
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "(missing: 'static')" in lines[0]
    assert "add them to datasets/NAME.npz as arrays additional_0, additional_1" in lines[0]
    assert "'tsexplain workspace add-data ... --additional-input FILE' writes them" in lines[0]


# --------------------------------------------------------------------- explain-dataset (chunked)


def _explain_dataset(files, x_path, store, *extra):
    return ["explain-dataset", "--model", files["factory"], "--weights", files["dir"] / "w.pt",
            x_path, "--target", str(TARGET), "--out", store, "--chunk-size", "3", *extra]


@pytest.mark.parametrize("extra", [[], ["--additional-input", "static.npy"]], ids=["alone", "with-extras"])
def test_explain_dataset_refuses_a_pickled_data_file_in_one_line(files, tmp_path, capsys, extra):
    np.save(tmp_path / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    extra = [files["dir"] / a if a.endswith(".npy") else a for a in extra]
    code, _, err = _run(_explain_dataset(files, tmp_path / "x.npy", tmp_path / "store", *extra), capsys)
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "x.npy is not a readable .npy file" in lines[0]


def test_explain_dataset_without_the_further_inputs_is_one_line(files, tmp_path, capsys):
    np.save(tmp_path / "x.npy", files["X"])
    code, _, err = _run(_explain_dataset(files, tmp_path / "x.npy", tmp_path / "store"), capsys)
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "(missing: 'static')" in lines[0] and "--additional-input FILE[:KEY]" in lines[0]
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("form", ["static.npy", "static.csv"])
def test_explain_dataset_chunks_get_their_rows_of_the_further_inputs(files, tmp_path, capsys, form):
    """Chunks of 3 of 8 series: every chunk's map and the static inputs' attribution equal the
    Python API on the whole batch; a second run resumes; other further inputs are another run."""
    np.save(tmp_path / "x.npy", files["X"])
    store = tmp_path / "store"
    argv = _explain_dataset(files, tmp_path / "x.npy", store, "--additional-input",
                            files["dir"] / form, "--attribute-additional")
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    ref = tsexplain.explain(files["model"], files["X"], "integrated_gradients", target=TARGET,
                            additional_inputs=[files["static"]], attribute_additional=True)
    from tsexplain.scale.store import ChunkStore

    st = ChunkStore.open(store)
    assert st.n_chunks == 3
    np.testing.assert_allclose(st["values"][:], ref.values, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(st["additional_0"][:], ref.extras["additional"][0], rtol=1e-5, atol=1e-6)
    assert np.abs(st["additional_0"][:]).max() > 0
    code, out, err = _run(argv, capsys)
    assert code == 0 and "0 computed, 3 already done" in out, out + err
    np.save(tmp_path / "other.npy", files["static"] + 1)
    other = _explain_dataset(files, tmp_path / "x.npy", store, "--additional-input",
                             tmp_path / "other.npy")
    code, _, err = _run(other, capsys)
    assert code != 0 and "different run" in err


def test_explain_dataset_refuses_further_inputs_of_the_wrong_length(files, tmp_path, capsys):
    np.save(tmp_path / "x.npy", files["X"])
    argv = _explain_dataset(files, tmp_path / "x.npy", tmp_path / "store", "--additional-input",
                            files["dir"] / "short.npy")
    code, _, err = _run(argv, capsys)
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "5 rows" in lines[0] and f"{N} series" in lines[0]


# --------------------------------------------------------------------- the faithfulness curves


class _StaticOnly(torch.nn.Module):
    """f(x, static) = static @ w: the output does not depend on x."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([1.5, -2.0]))

    def forward(self, x: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        return static @ self.w + 0.0 * x.sum((1, 2))


class _SumPlusStatic(_StaticOnly):
    """f(x, static) = sum(x) + static @ w."""

    def forward(self, x: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        return x.sum((1, 2)) + static @ self.w


@pytest.fixture
def curve_inputs():
    rng = np.random.default_rng(3)
    return rng.standard_normal((5, 2, 6)), rng.standard_normal((5, 2))  # x (N, C, T), static (N, 2)


@pytest.mark.parametrize("curve", [deletion_curve, insertion_curve])
def test_a_curve_of_a_static_only_model_is_flat_at_its_output(curve_inputs, curve):
    """Every perturbed copy of series i gets static[i] (sample-major rows): each curve is flat at
    f = static[i] @ w, also when the copies of one series span several forward passes."""
    x, static = curve_inputs
    model = _StaticOnly()
    want = static @ np.array([1.5, -2.0])
    res = curve(model, x, np.abs(x), steps=4, additional_inputs=[static], baseline="zeros")
    np.testing.assert_allclose(res.scores, np.repeat(want[:, None], 5, axis=1), atol=1e-5, rtol=0)
    with pytest.warns(DeprecationWarning, match="batch_size"):  # 3 rows per forward pass
        chunked = curve(model, x, np.abs(x), steps=4, additional_inputs=[static],
                        baseline="zeros", batch_size=3)
    np.testing.assert_allclose(chunked.scores, res.scores, atol=1e-6, rtol=0)


def test_the_extras_are_held_while_x_is_deleted(curve_inputs):
    """f = sum(x) + static @ w, attribution x: the curve starts at sum(x) + static @ w and, once
    every cell is zeroed, ends at static @ w."""
    x, static = curve_inputs
    res = deletion_curve(_SumPlusStatic(), x, x, steps=3, additional_inputs=static)
    s_w = static @ np.array([1.5, -2.0])
    np.testing.assert_allclose(res.scores[:, 0], x.sum((1, 2)) + s_w, atol=1e-5, rtol=0)
    np.testing.assert_allclose(res.scores[:, -1], s_w, atol=1e-5, rtol=0)


def test_a_curve_without_the_extras_says_so_in_one_line(curve_inputs):
    x, static = curve_inputs
    for curve in (deletion_curve, insertion_curve):
        with pytest.raises(ModelInputsError) as info:
            curve(_StaticOnly(), x, x)
        message = str(info.value)
        assert "\n" not in message
        assert message.startswith(f"{curve.__name__}: the model's forward takes more inputs than "
                                  f"the series (missing: 'static')")
        assert "additional_inputs=" in message and "(5, 2, 6)" in message
    with pytest.raises(ShapeError, match=r"additional_inputs\[0\] has shape \(3, 2\).*N=5"):
        deletion_curve(_StaticOnly(), x, x, additional_inputs=[static[:3]])


def test_an_integer_additional_input_read_as_numbers_says_to_save_floats(files, tmp_path, capsys):
    """The model multiplies ``static`` by float weights: int64 values fail inside it with a
    dtype error, which names the input and says to save it as floats (was 'check that MODEL,
    DATA and each --additional-input belong together', which they do)."""
    ints = tmp_path / "static_int.npy"
    np.save(ints, np.rint(files["static"] * 3).astype(np.int64))
    code, _, err = _run(_explain(files, tmp_path / "out", "--additional-input", ints), capsys)
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert re.search(rf"--additional-input number 1 \(dtype int64, shape \({N}, {S}\)\)", lines[0]), lines[0]
    assert "save them as floats" in lines[0] and "belong together" not in lines[0], lines[0]
    np.save(ints, np.rint(files["static"] * 3).astype(np.float32))  # the advice, followed
    code, _, err = _run(_explain(files, tmp_path / "out2", "--additional-input", ints), capsys)
    assert code == 0, err
