"""The chunk store, resumability (interrupted and killed runs) and the local backend; no Ray."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from _scale_helpers import CHUNK, N, small_data, small_model, store_arrays

import tsexplain
from tsexplain.exceptions import ParameterError
from tsexplain.scale import (
    ChunkStore,
    StoreMismatchError,
    attribute_dataset,
    dataset_filter_importance,
    train_ensemble_distributed,
)

PY = sys.executable


# ----------------------------------------------------------------------------- store
def test_store_roundtrip_slicing_and_consolidation(tmp_path: Path) -> None:
    st = ChunkStore.create(tmp_path / "s", 10, 4, {"values": ((2, 3), "float32"), "p": ((), "int64")})
    assert st.n_chunks == 3 and st.missing() == [0, 1, 2]
    full = np.arange(60, dtype=np.float32).reshape(10, 2, 3)
    for i in (2, 0, 1):
        a, b = st.bounds(i)
        st.write_chunk(i, {"values": full[a:b], "p": np.arange(a, b)})
    again = ChunkStore.open(tmp_path / "s")
    assert again.complete and again.finished() == [0, 1, 2]
    np.testing.assert_array_equal(again["values"][3:9], full[3:9])
    np.testing.assert_array_equal(again["values"][-1], full[-1])
    np.testing.assert_array_equal(again["p"][:], np.arange(10))
    out = again.to_npy(tmp_path / "all.npy")
    np.testing.assert_array_equal(np.load(out), full)
    assert not list((tmp_path / "s").rglob("*.tmp"))  # no temporary files left
    with pytest.raises(Exception, match="shape"):
        st.write_chunk(0, {"values": full[:3], "p": np.arange(3)})


def test_store_refuses_another_run(tmp_path: Path) -> None:
    model, x = small_model(), small_data(40)
    attribute_dataset(model, x, "saliency", out=tmp_path / "a", chunk_size=CHUNK, target=1)
    with pytest.raises(StoreMismatchError, match="different run"):  # another method
        attribute_dataset(model, x, "gradient_x_input", out=tmp_path / "a", chunk_size=CHUNK,
                          target=1)
    with pytest.raises(StoreMismatchError, match="different run"):  # other data
        attribute_dataset(model, x + 1, "saliency", out=tmp_path / "a", chunk_size=CHUNK, target=1)
    with pytest.raises(StoreMismatchError, match="different run"):  # another model
        attribute_dataset(small_model(1), x, "saliency", out=tmp_path / "a", chunk_size=CHUNK, target=1)
    with pytest.raises(StoreMismatchError, match="resume=False"):
        attribute_dataset(model, x, "saliency", out=tmp_path / "a", chunk_size=CHUNK, target=1, resume=False)


# ----------------------------------------------------------------------------- local backend
@pytest.mark.parametrize(("method", "params"), [
    ("saliency", {}),
    ("integrated_gradients", {"steps": 8}),
    ("smoothgrad", {"n_draws": 4, "seed": 3}),
])
def test_local_equals_explain_chunk_by_chunk(tmp_path: Path, method: str, params: dict) -> None:
    model, x = small_model(), small_data()
    run = attribute_dataset(model, x, method, out=tmp_path / "o", chunk_size=CHUNK,
                            target="predicted", **params)
    assert run.computed == list(range(6)) and run.skipped == []
    got = run.values[:]
    assert got.shape == x.shape and got.dtype == np.float32
    for i in range(6):  # each chunk is exactly explain() on that chunk
        a, b = run.store.bounds(i)
        ref = np.asarray(tsexplain.explain(model, x[a:b], method, target="predicted", **params))
        np.testing.assert_array_equal(got[a:b], ref)
    whole = tsexplain.explain(model, x, method, target="predicted", **params)
    np.testing.assert_allclose(got, np.asarray(whole), rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(run.store["target"][:], whole.target)


def test_agra_and_npy_path_input(tmp_path: Path) -> None:
    models, x = [small_model(0), small_model(1)], small_data()
    np.save(tmp_path / "x.npy", x)
    a = attribute_dataset(models, tmp_path / "x.npy", "gradient_x_input", out=tmp_path / "a",
                          chunk_size=CHUNK, target=1)
    b = attribute_dataset(models, x, "gradient_x_input", out=tmp_path / "b", chunk_size=CHUNK,
                          target=1)
    np.testing.assert_array_equal(a.values[:], b.values[:])
    assert a.store.meta["n_models"] == 2


def test_interrupted_run_resumes_without_recomputing(tmp_path: Path) -> None:
    model, x = small_model(), small_data()
    ref = attribute_dataset(model, x, "integrated_gradients", out=tmp_path / "ref",
                            chunk_size=CHUNK, steps=8, target=1)

    def stop_after_two(i: int, n_written: int, n_total: int) -> None:
        if n_written == 2:
            raise KeyboardInterrupt

    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        attribute_dataset(model, x, "integrated_gradients", out=out, chunk_size=CHUNK, steps=8, target=1,
                          on_chunk=stop_after_two)
    st = ChunkStore.open(out)
    done = st.finished()
    assert done == [0, 1]
    stamps = {i: os.stat(st.chunk_path("values", i)).st_mtime_ns for i in done}
    run = attribute_dataset(model, x, "integrated_gradients", out=out, chunk_size=CHUNK, steps=8, target=1)
    assert run.skipped == [0, 1] and run.computed == [2, 3, 4, 5]  # nothing recomputed
    assert {i: os.stat(st.chunk_path("values", i)).st_mtime_ns for i in done} == stamps
    for k, v in store_arrays(ref).items():
        np.testing.assert_array_equal(run.store[k][:], v)


def test_a_store_being_written_refuses_a_second_writer_then_resumes(tmp_path: Path) -> None:
    """Two runs into one store would each compute every chunk at a fraction of the machine: the
    second is refused while the first holds the store, and resumes it afterwards."""
    model, x = small_model(), small_data()
    out = tmp_path / "run"
    seen: list[str] = []

    def second_run(i: int, n_written: int, n_total: int) -> None:
        if n_written == 1:
            with pytest.raises(ParameterError, match=rf"being written by another process \(pid {os.getpid()}\)"):
                attribute_dataset(model, x, "saliency", out=out, chunk_size=CHUNK, target=1)
            seen.append("refused")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        attribute_dataset(model, x, "saliency", out=out, chunk_size=CHUNK, target=1, on_chunk=second_run)
    assert seen == ["refused"]
    run = attribute_dataset(model, x, "saliency", out=out, chunk_size=CHUNK, target=1)  # lock released
    assert run.skipped == [0] and run.computed == [1, 2, 3, 4, 5]


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    sys.path.insert(0, {helpers!r})
    from _scale_helpers import small_model
    from tsexplain.scale import attribute_dataset
    x = np.load({data!r}, mmap_mode="r")
    attribute_dataset(small_model(), {data!r}, "saliency", out={out!r}, chunk_size=8, target=1,
                      on_chunk=lambda i, n, t: time.sleep(0.4))
""")


def test_killed_process_resumes_without_recomputing(tmp_path: Path) -> None:
    """kill -9 a run in a subprocess mid-way; the rerun computes only the missing chunks."""
    x = small_data(120)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "run"
    script = KILL_SCRIPT.format(helpers=str(Path(__file__).parent), data=str(tmp_path / "x.npy"),
                                out=str(out))
    proc = subprocess.Popen([PY, "-c", script], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            values = out / "values"
            if values.is_dir() and len(list(values.glob("*.npy"))) >= 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    st = ChunkStore.open(out)
    done = st.finished()
    assert 3 <= len(done) < st.n_chunks == 15
    for i in done:  # every file under its final name is complete
        assert st.read_chunk(i).shape[0] == 8
    run = attribute_dataset(small_model(), tmp_path / "x.npy", "saliency", out=out, chunk_size=8,
                            target=1)
    assert run.skipped == done
    assert sorted(run.computed) == sorted(set(range(15)) - set(done))
    ref = attribute_dataset(small_model(), x, "saliency", out=tmp_path / "ref", chunk_size=8,
                            target=1)
    np.testing.assert_array_equal(run.values[:], ref.values[:])


def test_dataset_filter_importance_matches_in_memory(tmp_path: Path) -> None:
    from tsexplain.network import filter_importance_stats

    model, x = small_model(), small_data()
    got = dataset_filter_importance(model, x, target="predicted", chunk_size=CHUNK)
    ref = filter_importance_stats(model, x, target="predicted", progress=False)
    assert list(got) == list(ref)
    for name in ref:
        np.testing.assert_allclose(got[name].min, ref[name].min, rtol=1e-6)
        np.testing.assert_allclose(got[name].max, ref[name].max, rtol=1e-6)
        np.testing.assert_allclose(got[name].mean, ref[name].mean, rtol=1e-6)
        assert got[name].n_samples == N


def test_ensemble_groups_and_seeds() -> None:
    from tsexplain.models import AGRACNN
    from tsexplain.training._data import member_seed

    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(48, 2, 32, generator=gen), torch.randn(48, generator=gen)
    a = train_ensemble_distributed(lambda: AGRACNN(length=32), X, y, n_models=5, group_size=2,
                                   epochs=1, seed=7)
    assert len(a) == 5 and a.groups == [[0, 1], [2, 3], [4]]
    assert a.seeds == [member_seed(7, i) for i in range(5)]
    # the first 3 members of a 3-model run are the first 3 of the 5-model run (same groups)
    b = train_ensemble_distributed(lambda: AGRACNN(length=32), X, y, n_models=3, group_size=2,
                                   epochs=1, seed=7)
    for m1, m2 in zip(a[:2], b[:2], strict=True):
        for k, v in m1.state_dict().items():
            assert torch.equal(v, m2.state_dict()[k])


# ----------------------------------------------------------------------------- packaging, CLI
def test_import_does_not_import_ray() -> None:
    code = "import sys, tsexplain, tsexplain.scale, tsexplain.cli.scale; print('ray' in sys.modules)"
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_clear_message_without_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    from tsexplain.scale import get_backend

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ModuleNotFoundError, match=r"tsexplain\[scale\]"):
        get_backend("ray")


def test_cli_explain_dataset_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import argparse

    from tsexplain.cli import scale as cli_scale
    from tsexplain.training import save_model

    save_model(small_model(), tmp_path / "m.safetensors")
    np.save(tmp_path / "x.npy", small_data(40))
    parser = argparse.ArgumentParser()
    cli_scale.register(parser.add_subparsers())
    argv = ["explain-dataset", str(tmp_path / "x.npy"), "--model", str(tmp_path / "m.safetensors"),
            "--method", "saliency", "--target", "predicted", "--out", str(tmp_path / "o"),
            "--chunk-size", "16", "--npy", str(tmp_path / "v.npy")]
    args = parser.parse_args(argv)
    assert args.run(args) == 0
    assert "3 computed, 0 already done" in capsys.readouterr().out
    ref = np.asarray(tsexplain.explain(small_model(), small_data(40)[:16], "saliency", target="predicted"))
    np.testing.assert_array_equal(np.load(tmp_path / "v.npy")[:16], ref)
    args = parser.parse_args(argv)
    assert args.run(args) == 0
    assert "0 computed, 3 already done" in capsys.readouterr().out


def test_cli_explain_dataset_reads_other_forms_with_labels(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    """An .npz with string labels and (N, T, C) storage: --channels-last and --target label give
    the Python API's values for each series' labelled class."""
    import argparse

    from tsexplain.cli import scale as cli_scale
    from tsexplain.exceptions import ParameterError
    from tsexplain.io.data import encode_labels
    from tsexplain.training import save_model

    save_model(small_model(), tmp_path / "m.safetensors")
    x = small_data(20)
    names = np.array(["ok", "fault"])[np.arange(20) % 2]
    np.savez(tmp_path / "d.npz", X=x.transpose(0, 2, 1), y=names)
    parser = argparse.ArgumentParser()
    cli_scale.register(parser.add_subparsers())
    base = ["explain-dataset", "--model", str(tmp_path / "m.safetensors"), "--method",
            "gradient_x_input", "--chunk-size", "8"]
    args = parser.parse_args([*base, str(tmp_path / "d.npz"), "--channels-last", "--target",
                              "label", "--out", str(tmp_path / "o"), "--npy", str(tmp_path / "v.npy")])
    assert args.run(args) == 0
    labels, _ = encode_labels(names)
    ref = np.asarray(tsexplain.explain(small_model(), x, "gradient_x_input", target=labels))
    np.testing.assert_array_equal(np.load(tmp_path / "v.npy"), ref)
    np.save(tmp_path / "x.npy", x)
    args = parser.parse_args([*base, str(tmp_path / "x.npy"), "--target", "label", "--out",
                              str(tmp_path / "o2")])
    with pytest.raises(ParameterError, match="has no labels"):
        args.run(args)
    args = parser.parse_args([*base, str(tmp_path / "x.npy"), "--x-key", "X", "--out",
                              str(tmp_path / "o3")])
    with pytest.raises(ParameterError, match="--x-key: a .npy file holds one array"):
        args.run(args)


def test_further_inputs_go_with_their_series_chunk_by_chunk(tmp_path: Path) -> None:
    """forward(x, static) with a per-series target, chunks of 16 of 90: the store equals the
    Python API on the whole batch (the static covariates of x and their attribution)."""
    import torch
    from _scale_helpers import WithStatic, small_static

    import tsexplain
    from tsexplain.exceptions import ModelInputsError

    model, x, static = WithStatic().eval(), small_data(), small_static()
    target = np.arange(len(x)) % 2
    run = attribute_dataset(model, x, "saliency", out=tmp_path / "s", chunk_size=CHUNK,
                            target=target, additional_inputs=torch.as_tensor(static),
                            attribute_additional=True)
    ref = tsexplain.explain(model, x, "saliency", target=target, additional_inputs=[static],
                            attribute_additional=True)
    np.testing.assert_allclose(run.values[:], ref.values, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(run.store["additional_0"][:], ref.extras["additional"][0],
                               rtol=1e-6, atol=1e-7)
    with pytest.raises(ModelInputsError, match=r"missing: 'static'.*X \(90, 1, 64\)"):
        attribute_dataset(model, x, "saliency", out=tmp_path / "t", chunk_size=CHUNK, target=1)
    assert not (tmp_path / "t").exists()


def test_attribute_additional_takes_only_true_or_false(tmp_path: Path) -> None:
    """'no' used to become True (the extras were attributed and stored); refused before any store."""
    from _scale_helpers import WithStatic, small_static

    from tsexplain.exceptions import ParameterError

    model, x, static = WithStatic().eval(), small_data(), small_static()
    with pytest.raises(ParameterError, match=r"attribute_additional must be True or False, got 'no'"):
        attribute_dataset(model, x, "saliency", out=tmp_path / "s", chunk_size=CHUNK, target=1,
                          additional_inputs=[static], attribute_additional="no")
    assert not (tmp_path / "s").exists()
