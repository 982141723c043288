"""Execution backends: ``"local"`` (in-process, the default) and ``"ray"`` (scale-out).

Both run the same worker code (``_work.py``) on the same chunks, so their results are the same
to the last bit; only where the work runs differs.

- :class:`LocalBackend` builds the worker once and runs the chunks one after the other in this
  process (torch uses its usual intra-op threads).
- :class:`RayBackend` streams the chunk list through ``ray.data`` ``map_batches`` with a pool of
  model actors (``ActorPoolStrategy``): each actor rebuilds the models once from the safetensors
  bytes and JSON spec (put in the object store once by the driver), then handles one chunk per
  call; results stream back to the driver, which writes them to the chunk store as they arrive.
  Ray is imported only here, only when this backend is used.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tsexplain.exceptions import ParameterError
from tsexplain.scale._source import SeriesSource

__all__ = ["Backend", "LocalBackend", "RayBackend", "get_backend", "require_ray", "BACKENDS"]

BACKENDS = ("local", "ray")

#: (chunk index, start row, stop row)
Chunk = tuple[int, int, int]
#: A worker factory: (class, constructor kwargs); the class's instances are called as
#: work(x, target, extras) with one chunk's rows (:meth:`SeriesSource.chunk`)
WorkSpec = tuple[type, dict[str, Any]]
OnResult = Callable[[int, dict[str, np.ndarray]], None]


def require_ray() -> Any:
    """Import ray, or fail with the install command."""
    try:
        import ray
    except ModuleNotFoundError as err:
        if err.name != "ray":
            raise
        raise ModuleNotFoundError(
            "backend='ray' needs Ray, an optional dependency: pip install 'tsexplain[scale]' "
            "(or pip install 'ray[data]==2.60.0').",
            name="ray",
        ) from None
    return ray


class Backend(ABC):
    """Where chunks and tasks run.

    Examples
    --------
    A backend runs tasks (``map_tasks``) and chunks of a data set (``map_chunks``); the public
    functions of :mod:`tsexplain.scale` take one by name or as an instance:

    >>> backend = get_backend("local")
    >>> isinstance(backend, Backend), backend.name
    (True, 'local')
    >>> backend.map_tasks(lambda base, k: base + k, [{"k": 1}, {"k": 2}], {"base": 10})
    [11, 12]
    """

    name = ""

    @abstractmethod
    def map_chunks(self, work: WorkSpec, source: SeriesSource, chunks: Sequence[Chunk],
                   rows_out: Callable[[int, int], int], on_result: OnResult) -> None:
        """Run ``work`` on every chunk of ``source``; call ``on_result(i, arrays)`` per chunk.

        ``rows_out(start, stop)`` is how many result rows a chunk yields. ``on_result`` runs in
        the calling process, in completion order (not necessarily chunk order).
        """

    @abstractmethod
    def map_tasks(self, fn: Callable[..., Any], tasks: Sequence[dict[str, Any]],
                  shared: dict[str, Any], num_cpus: float = 1) -> list[Any]:
        """``[fn(**shared, **t) for t in tasks]``, in order; ``shared`` is sent once."""

    def chunk_threads(self) -> int | None:
        """Torch intra-op threads a chunk of :meth:`map_chunks` runs with (None: this process's)."""
        return None

    def chunks_on_gpus(self) -> bool:
        """Whether the chunks of :meth:`map_chunks` run on GPUs."""
        return False


class LocalBackend(Backend):
    """Everything in this process, chunk after chunk.

    Examples
    --------
    >>> import numpy as np, tempfile, torch
    >>> from tsexplain.scale import attribute_dataset
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 1))
    >>> x = np.zeros((6, 2, 8), dtype=np.float32)  # (N, C, T)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     run = attribute_dataset(model, x, "saliency", out=d, chunk_size=4,
    ...                             backend=LocalBackend())
    ...     print(run.backend, run.computed, run.values[:].shape)
    local [0, 1] (6, 2, 8)
    >>> LocalBackend().map_tasks(pow, [{"exp": 2}, {"exp": 3}], {"base": 2})
    [4, 8]
    """

    name = "local"

    def map_chunks(self, work: WorkSpec, source: SeriesSource, chunks: Sequence[Chunk],
                   rows_out: Callable[[int, int], int], on_result: OnResult) -> None:
        if not chunks:
            return
        cls, kwargs = work
        worker = cls(**kwargs)
        for i, start, stop in chunks:
            on_result(i, worker(*source.chunk(start, stop)))

    def map_tasks(self, fn: Callable[..., Any], tasks: Sequence[dict[str, Any]],
                  shared: dict[str, Any], num_cpus: float = 1) -> list[Any]:
        return [fn(**shared, **t) for t in tasks]


class _ChunkActor:
    """A ``map_batches`` callable class: one model load per actor, one chunk per call."""

    def __init__(self, work_ref: Any, source_ref: Any, threads: int) -> None:
        import ray
        import torch

        torch.set_num_threads(threads)
        cls, kwargs = ray.get(work_ref)  # the model bytes: fetched once per actor
        self.worker = cls(**kwargs)
        if ray.get_gpu_ids() and torch.cuda.is_available() and hasattr(self.worker, "to"):
            self.worker.to("cuda")  # attribution follows the device of the model's parameters
        self.source: SeriesSource = ray.get(source_ref)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outs: list[dict[str, np.ndarray]] = []
        for i, start, stop in zip(batch["chunk"], batch["start"], batch["stop"], strict=True):
            start, stop = int(start), int(stop)
            res = self.worker(*self.source.chunk(start, stop))
            n = len(next(iter(res.values())))
            outs.append({"chunk": np.full(n, int(i), dtype=np.int64),
                         "row": np.arange(n, dtype=np.int64), **res})
        return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}


class RayBackend(Backend):
    """Ray: ``ray.data`` ``map_batches`` over model actors; tasks for ensemble training.

    Parameters
    ----------
    address : str, optional
        Cluster to join: ``"auto"`` (the cluster this machine belongs to, as started by
        ``ray start``), ``"ray://host:10001"`` (Ray Client) or ``None`` (connect to the running
        ``ray.init`` of this process, or start a local instance).
    num_actors : int or (min, max), optional
        Size of the actor pool. Default: as many as the cluster's CPUs (or GPUs) allow.
    num_cpus, num_gpus : float
        Resources each actor (and each training task) declares. Torch in an actor uses
        ``max(1, int(num_cpus))`` intra-op threads.
    chunks_per_call : int
        Chunks handed to one actor call (``map_batches`` batch size): 1 keeps the results
        streaming at chunk granularity.
    progress : bool
        Show Ray Data's progress bars.
    init_kwargs
        Passed to ``ray.init`` when this backend starts Ray itself.

    Examples
    --------
    Constructing the backend imports Ray (``pip install 'tsexplain[scale]'``) but does not start
    it; Ray starts (or ``address`` is joined) at the first ``map_chunks`` / ``map_tasks``:

    >>> backend = RayBackend(num_actors=2, num_cpus=1)
    >>> backend.name, backend.num_actors, backend.ray.is_initialized()
    ('ray', 2, False)

    Running on it starts Ray (a local instance here), which takes seconds and spawns worker
    processes, so the doctest skips it:

    >>> import numpy as np, tempfile, torch
    >>> from tsexplain.scale import attribute_dataset
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 1))
    >>> with tempfile.TemporaryDirectory() as d:  # doctest: +SKIP
    ...     run = attribute_dataset(model, np.zeros((6, 2, 8), np.float32), "saliency", out=d,
    ...                             chunk_size=4, backend=backend)
    ...     print(run.backend, run.computed, run.values[:].shape)
    ray [0, 1] (6, 2, 8)
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, num_actors: int | tuple[int, int] | None = None,
                 num_cpus: float = 1, num_gpus: float = 0, chunks_per_call: int = 1,
                 progress: bool = False, **init_kwargs: Any) -> None:
        self.ray = require_ray()
        self.address = address
        self.num_actors = num_actors
        self.num_cpus, self.num_gpus = float(num_cpus), float(num_gpus)
        self.chunks_per_call = int(chunks_per_call)
        self.progress = bool(progress)
        self.init_kwargs = init_kwargs

    def _connect(self) -> None:
        ray = self.ray
        if not ray.is_initialized():
            kwargs = dict(self.init_kwargs)
            kwargs.setdefault("include_dashboard", False)
            kwargs.setdefault("log_to_driver", False)
            ray.init(address=self.address, **kwargs)

    def _pool_size(self) -> int | tuple[int, int]:
        if self.num_actors is not None:
            return self.num_actors
        res = self.ray.cluster_resources()
        if self.num_gpus > 0:
            return max(1, int(res.get("GPU", 0) // self.num_gpus))
        return max(1, int(res.get("CPU", 1) // max(self.num_cpus, 1e-9)))

    def chunk_threads(self) -> int:
        return max(1, int(self.num_cpus))

    def chunks_on_gpus(self) -> bool:
        return self.num_gpus > 0

    def map_chunks(self, work: WorkSpec, source: SeriesSource, chunks: Sequence[Chunk],
                   rows_out: Callable[[int, int], int], on_result: OnResult) -> None:
        if not chunks:
            return
        self._connect()
        ray = self.ray
        if not self.progress:
            import logging

            logging.getLogger("ray.data").setLevel(logging.WARNING)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = self.progress
        ctx.execution_options.verbose_progress = False
        _ship_user_code(ray, work)
        work_ref = ray.put(work)  # model bytes + spec: once into the object store
        source_ref = ray.put(source)  # a path (a few bytes) or the array (once)
        items = [{"chunk": i, "start": a, "stop": b} for i, a, b in chunks]
        expected = {i: rows_out(a, b) for i, a, b in chunks}
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        pool = self._pool_size()
        compute = (ray.data.ActorPoolStrategy(size=pool) if isinstance(pool, int)
                   else ray.data.ActorPoolStrategy(min_size=pool[0], max_size=pool[1]))
        ds = ds.map_batches(
            _ChunkActor,
            batch_size=self.chunks_per_call,
            batch_format="numpy",
            compute=compute,
            fn_constructor_kwargs={"work_ref": work_ref, "source_ref": source_ref,
                                   "threads": self.chunk_threads()},
            num_cpus=self.num_cpus,
            num_gpus=self.num_gpus or None,
        )
        pending: dict[int, list[dict[str, np.ndarray]]] = {}
        counts: dict[int, int] = {}
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            ids = batch["chunk"]
            for i in np.unique(ids):
                i = int(i)
                sel = ids == i
                part = {k: v[sel] for k, v in batch.items() if k != "chunk"}
                pending.setdefault(i, []).append(part)
                counts[i] = counts.get(i, 0) + int(sel.sum())
                if counts[i] == expected[i]:
                    parts = pending.pop(i)
                    order = np.argsort(np.concatenate([p["row"] for p in parts]), kind="stable")
                    arrays = {k: np.concatenate([p[k] for p in parts])[order]
                              for k in parts[0] if k != "row"}
                    on_result(i, arrays)
        if pending:
            raise RuntimeError(f"Ray returned incomplete chunks: {sorted(pending)}")

    def map_tasks(self, fn: Callable[..., Any], tasks: Sequence[dict[str, Any]],
                  shared: dict[str, Any], num_cpus: float = 1) -> list[Any]:
        self._connect()
        ray = self.ray
        shared_ref = ray.put(shared)
        remote = ray.remote(num_cpus=num_cpus, num_gpus=self.num_gpus or None)(_run_task)
        return ray.get([remote.remote(fn, shared_ref, t) for t in tasks])


def _ship_user_code(ray: Any, work: Any) -> None:
    """Have Ray pickle the user's model classes by value: workers cannot import code from a
    file the driver loaded by path (``path/to/model.py:factory``) or from its working folder."""
    from tsexplain.scale._payload import user_code_modules

    cls, kwargs = work
    payloads = kwargs.get("payloads", ()) if isinstance(kwargs, dict) else ()
    for module in user_code_modules(payloads):
        ray.cloudpickle.register_pickle_by_value(module)


def _run_task(fn: Callable[..., Any], shared: dict[str, Any], task: dict[str, Any]) -> Any:
    # Ray resolves a top-level ObjectRef argument before the call: `shared` is the dict here
    return fn(**shared, **task)


def get_backend(backend: str | Backend | None = "local", address: str | None = None,
                **options: Any) -> Backend:
    """A backend by name (``"local"`` or ``"ray"``) or the instance given.

    ``address`` and ``options`` (``num_actors``, ``num_cpus``, ``num_gpus``, ...) go to
    :class:`RayBackend`; the environment variable ``TSEXPLAIN_BACKEND`` sets the default name.

    Examples
    --------
    >>> type(get_backend("local")).__name__
    'LocalBackend'
    >>> ray_backend = get_backend("ray", num_actors=2)  # imports Ray, does not start it
    >>> ray_backend.name, get_backend(ray_backend) is ray_backend
    ('ray', True)
    >>> get_backend("dask")
    Traceback (most recent call last):
    ...
    tsexplain.exceptions.ParameterError: backend must be one of local, ray, got 'dask'.
    """
    if isinstance(backend, Backend):
        return backend
    name = backend or os.environ.get("TSEXPLAIN_BACKEND", "local")
    if name == "local":
        if address is not None:
            raise ParameterError("address is only used with backend='ray'.")
        return LocalBackend()
    if name == "ray":
        return RayBackend(address, **options)
    raise ParameterError(f"backend must be one of {', '.join(BACKENDS)}, got {name!r}.")
