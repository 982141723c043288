"""The Ray backend on a local Ray instance (2 CPUs, shared by the whole module) against local."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from _scale_helpers import (
    CHUNK,
    LSTMClassifier,
    WithStatic,
    small_data,
    small_model,
    small_static,
    store_arrays,
)

ray = pytest.importorskip(
    "ray", reason="Ray is not installed (optional: pip install 'tsexplain[scale]')"
)
pytest.importorskip("ray.data", reason="ray[data] is not installed (pip install 'ray[data]')")

from tsexplain.scale import (  # noqa: E402
    ChunkStore,
    attribute_dataset,
    dataset_filter_importance,
    train_ensemble_distributed,
)


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One local Ray instance for the module, bound to localhost, shut down afterwards."""
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1", object_store_memory=256 * 2**20,
             runtime_env={"env_vars": {"PYTHONPATH": str(Path(__file__).parent)}})
    yield
    ray.shutdown()


def _pair(tmp_path: Path, models, x, method: str, **kw):
    local = attribute_dataset(models, x, method, out=tmp_path / "local", chunk_size=CHUNK, **kw)
    remote = attribute_dataset(models, x, method, out=tmp_path / "ray", chunk_size=CHUNK,
                               backend="ray", **kw)
    assert remote.backend == "ray" and remote.computed == local.computed == list(range(6))
    return store_arrays(local), store_arrays(remote)


@pytest.mark.parametrize(("method", "params"), [
    ("saliency", {"target": "predicted"}),
    ("integrated_gradients", {"steps": 8, "target": 1}),
    ("smoothgrad", {"n_draws": 6, "noise": 0.2, "seed": 11, "target": "predicted"}),
])
def test_ray_equals_local_to_the_last_bit(tmp_path: Path, method: str, params: dict) -> None:
    local, remote = _pair(tmp_path, small_model(), small_data(), method, **params)
    assert set(local) == set(remote) >= {"values", "predictions"}
    for k in local:
        assert np.array_equal(local[k], remote[k]), k  # bit for bit, every array


def test_ray_actors_run_the_recorded_rows_per_engine_chunk(tmp_path: Path) -> None:
    """An LSTM, whose gradients differ in the last bits with the rows per engine chunk: the actors
    run the run's rows_per_chunk (16 here), bit for bit as the local run with it, which differs
    from one with 512 rows."""
    x = np.random.default_rng(0).standard_normal((12, 3, 32)).astype(np.float32)
    kw = {"steps": 512, "target": 0, "chunk_size": 2}
    local, remote = (
        store_arrays(attribute_dataset(LSTMClassifier().eval(), x, "integrated_gradients",
                                       out=tmp_path / name, rows_per_chunk=16, backend=name, **kw))
        for name in ("local", "ray")
    )
    assert ChunkStore.open(tmp_path / "ray").engine == {"rows_per_chunk": 16}
    for k in local:
        assert np.array_equal(local[k], remote[k]), k
    other = attribute_dataset(LSTMClassifier().eval(), x, "integrated_gradients",
                              out=tmp_path / "other", rows_per_chunk=512, **kw)
    assert not np.array_equal(other.values[:], local["values"])


def test_ray_sends_each_chunk_its_rows_of_the_further_inputs(tmp_path: Path) -> None:
    """forward(x, static): the actors get each chunk's rows of static (the attributions of x and
    of static equal the local run's bit for bit, and those differ when static is shuffled)."""
    model, x, static = WithStatic().eval(), small_data(), small_static()
    local, remote = _pair(tmp_path, model, x, "integrated_gradients", steps=8, target=1,
                          additional_inputs=[static], attribute_additional=True)
    assert set(local) == set(remote) >= {"values", "additional_0"}
    for k in local:
        assert np.array_equal(local[k], remote[k]), k
    shuffled = attribute_dataset(model, x, "integrated_gradients", out=tmp_path / "shuffled",
                                 chunk_size=CHUNK, steps=8, target=1,
                                 additional_inputs=[static[::-1].copy()])
    assert not np.allclose(shuffled.values[:], local["values"])


def test_ray_agra_from_npy_with_per_series_target(tmp_path: Path) -> None:
    x = small_data()
    np.save(tmp_path / "x.npy", x)  # read memory-mapped by the actors
    target = np.arange(len(x)) % 2
    local, remote = _pair(tmp_path, [small_model(0), small_model(1)], tmp_path / "x.npy",
                          "integrated_gradients", steps=4, target=target)
    for k in local:
        assert np.array_equal(local[k], remote[k]), k
    np.testing.assert_array_equal(remote["target"], target)


def test_smoothgrad_is_statistically_stable(tmp_path: Path) -> None:
    """Same seed, other chunking: equal up to float rounding; another seed: a different draw."""
    model, x = small_model(), small_data()
    kw = {"n_samples": 6, "noise": 0.2, "target": "predicted"}
    a = attribute_dataset(model, x, "smoothgrad", out=tmp_path / "a", chunk_size=CHUNK,
                          backend="ray", seed=11, **kw).values[:]
    b = attribute_dataset(model, x, "smoothgrad", out=tmp_path / "b", chunk_size=25,
                          backend="ray", seed=11, **kw).values[:]
    c = attribute_dataset(model, x, "smoothgrad", out=tmp_path / "c", chunk_size=CHUNK,
                          seed=12, **kw).values[:]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7 * np.abs(a).max())
    assert not np.allclose(a, c, rtol=1e-3)
    # but the two seeds estimate the same expectation: same sign pattern on most strong entries
    strong = np.abs(a) > np.quantile(np.abs(a), 0.9)
    assert (np.sign(a[strong]) == np.sign(c[strong])).mean() > 0.8


def test_ray_run_interrupted_resumes_without_recomputing(tmp_path: Path) -> None:
    model, x = small_model(), small_data()
    ref = attribute_dataset(model, x, "saliency", out=tmp_path / "ref", chunk_size=CHUNK, target=1)

    def stop_after_two(i: int, n_written: int, n_total: int) -> None:
        if n_written == 2:
            raise KeyboardInterrupt

    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        attribute_dataset(model, x, "saliency", out=out, chunk_size=CHUNK, target=1,
                          backend="ray", on_chunk=stop_after_two)
    st = ChunkStore.open(out)
    done = st.finished()
    assert len(done) == 2
    stamps = {i: os.stat(st.chunk_path("values", i)).st_mtime_ns for i in done}
    run = attribute_dataset(model, x, "saliency", out=out, chunk_size=CHUNK, target=1,
                            backend="ray")
    assert run.skipped == done and sorted(run.computed) == sorted(set(range(6)) - set(done))
    assert {i: os.stat(st.chunk_path("values", i)).st_mtime_ns for i in done} == stamps
    np.testing.assert_array_equal(run.values[:], ref.values[:])


def test_ray_filter_importance_equals_local() -> None:
    model, x = small_model(), small_data()
    a = dataset_filter_importance(model, x, target="predicted", chunk_size=CHUNK)
    b = dataset_filter_importance(model, x, target="predicted", chunk_size=CHUNK, backend="ray")
    assert list(a) == list(b)
    for name in a:
        for stat in ("min", "mean", "max"):
            assert np.array_equal(getattr(a[name], stat), getattr(b[name], stat)), (name, stat)


def test_ensemble_independent_of_the_number_of_workers() -> None:
    from tsexplain.models import AGRACNN

    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 2, 32, generator=gen), torch.randn(64, generator=gen)
    kw = {"n_models": 5, "group_size": 2, "epochs": 2, "seed": 3}
    local = train_ensemble_distributed(lambda: AGRACNN(length=32), X, y, **kw)  # 1 worker
    two = train_ensemble_distributed(lambda: AGRACNN(length=32), X, y, backend="ray", **kw)
    one = train_ensemble_distributed(lambda: AGRACNN(length=32), X, y, backend="ray",
                                     num_cpus_per_group=2, **kw)  # one group at a time
    assert local.seeds == two.seeds == one.seeds
    for i, (a, b, c) in enumerate(zip(local, two, one, strict=True)):
        for k, v in a.state_dict().items():
            assert torch.equal(v, b.state_dict()[k]) and torch.equal(v, c.state_dict()[k]), (i, k)


_USER_CODE = '''
import torch
from torch import nn


class UserNet(nn.Module):
    """A model class Ray's workers cannot import: it lives in a file off their path."""

    def __init__(self, width=6):
        super().__init__()
        self.conv = nn.Conv1d(1, width, 5, padding=2)
        self.head = nn.Linear(width, 2)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).mean(-1))


def make_model(width=6):
    torch.manual_seed(3)
    return UserNet(width)
'''


@pytest.mark.parametrize("form", ["factory_file", "torchscript", "export"])
def test_ray_takes_every_saved_model_form(tmp_path: Path, form: str) -> None:
    """A model loaded from a user's file (factory code off the workers' path, TorchScript,
    torch.export) gives the local result on Ray, bit for bit."""
    from tsexplain.io import load_any_model

    code = tmp_path / "user_models.py"
    code.write_text(_USER_CODE)
    module = load_any_model(f"{code}:make_model", factory_kwargs={"width": 6}).module
    x = small_data()
    if form == "torchscript":
        path = tmp_path / "model.ts"
        torch.jit.save(torch.jit.trace(module, torch.as_tensor(x[:2])), str(path))
        module = load_any_model(path).module
    elif form == "export":
        path = tmp_path / "model.pt2"
        program = torch.export.export(module, (torch.as_tensor(x[:2]),),
                                      dynamic_shapes=({0: torch.export.Dim("batch")},))
        torch.export.save(program, str(path))
        module = load_any_model(path).module
    local, remote = _pair(tmp_path, module, x, "integrated_gradients", steps=4, target="predicted")
    for k in local:
        assert np.array_equal(local[k], remote[k]), k
