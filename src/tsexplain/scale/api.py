"""Data-set-wide attribution, filter importance and ensemble training on a chosen backend."""

from __future__ import annotations

import functools
import json
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch import nn

from tsexplain._deprecation import renamed_kwargs
from tsexplain._validation import check_bool, check_int
from tsexplain.exceptions import InputTypeError, ModelInputsError, ParameterError
from tsexplain.scale._payload import fingerprint, pack_models, unpack_models
from tsexplain.scale._source import as_source
from tsexplain.scale._work import AttributionWork, FilterImportanceWork
from tsexplain.scale.backends import Backend, get_backend
from tsexplain.scale.store import ChunkStore

__all__ = [
    "DatasetRun",
    "attribute_dataset",
    "dataset_filter_importance",
    "train_ensemble_distributed",
]

_ENGINE_OPTIONS = {"memory_budget", "fold_batchnorm", "rows_per_chunk"}

#: Rows per engine chunk (the engine option ``rows_per_chunk``) where a new data-set run cannot
#: time sizes (its chunks run on GPUs, or the method runs no chunks of rows), and of a store
#: created before the rows were recorded.
ROWS_PER_CHUNK = 512
#: A new data-set run times the engine's chunk sizes once, in the driver, on the first series
#: of the data whose rows reach this many (at most its first chunk).
TIMING_ROWS = 4096


@dataclass
class DatasetRun:
    """The outcome of :func:`attribute_dataset`.

    Attributes
    ----------
    store : ChunkStore
        The results on disk: ``store["values"][a:b]``, ``store.read_chunk(i)``, ``store.to_npy``.
    computed : list of int
        Chunks computed by this call.
    skipped : list of int
        Chunks already finished by an earlier call (resumed, not recomputed).
    backend : str
    seconds : float

    Examples
    --------
    >>> import numpy as np, tempfile, torch
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 4, 1))
    >>> x = np.random.default_rng(0).standard_normal((10, 2, 4)).astype("float32")  # (N, C, T)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     run = attribute_dataset(model, x, "saliency", out=d, chunk_size=4)
    ...     print(run.values[:].shape, run.computed, run.skipped, run.backend)
    ...     again = attribute_dataset(model, x, "saliency", out=d, chunk_size=4)  # resumed
    ...     print(again.computed, again.skipped)
    (10, 2, 4) [0, 1, 2] [] local
    [] [0, 1, 2]
    """

    store: ChunkStore
    computed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    backend: str = "local"
    seconds: float = 0.0

    @property
    def values(self) -> Any:
        """Row-sliceable view of the attributions (``run.values[0:100]``)."""
        return self.store["values"]

    @property
    def series_per_second(self) -> float:
        n = sum(b - a for a, b in (self.store.bounds(i) for i in self.computed))
        return n / self.seconds if self.seconds > 0 else float("nan")


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist") else repr(o)))


def _backend(backend: str | Backend | None, address: str | None, num_actors: Any, num_cpus: float,
             num_gpus: float, ray_options: dict[str, Any] | None) -> Backend:
    name = backend.name if isinstance(backend, Backend) else (backend or os.environ.get("TSEXPLAIN_BACKEND", "local"))
    if name == "ray" and not isinstance(backend, Backend):
        return get_backend("ray", address, num_actors=num_actors, num_cpus=num_cpus,
                           num_gpus=num_gpus, **(ray_options or {}))
    return get_backend(backend, address)


def attribute_dataset(
    model_or_models: nn.Module | Sequence[nn.Module],
    X_or_path: Any,
    method: str = "integrated_gradients",
    *,
    out: str | os.PathLike[str],
    target: Any = None,
    chunk_size: int = 1024,
    backend: str | Backend | None = "local",
    address: str | None = None,
    num_actors: int | tuple[int, int] | None = None,
    num_cpus: float = 1,
    num_gpus: float = 0,
    ray_options: dict[str, Any] | None = None,
    resume: bool = True,
    on_chunk: Callable[[int, int, int], None] | None = None,
    progress: bool = False,
    additional_inputs: Any = None,
    attribute_additional: bool = False,
    **params: Any,
) -> DatasetRun:
    """Attribute every series of a data set, chunk by chunk, into an on-disk chunk store.

    Parameters
    ----------
    model_or_models : torch.nn.Module or list of torch.nn.Module
        The model, or several (AGRA: gradients averaged over them).
    X_or_path : path to a ``.npy`` file, or array of shape (N, C, T)
        A path is read memory-mapped, one chunk at a time (by the driver for ``"local"``, by
        each actor for ``"ray"``: then the file must be readable at the same path on every node).
    method : str
        A method of :data:`tsexplain.attribution.METHODS`.
    out : path
        The store folder (see :mod:`tsexplain.scale.store`). If it holds a store of the same run
        (same input, models, method, parameters, target and chunk size) its finished chunks are
        kept and only the missing ones computed; a store of another run raises
        :class:`~tsexplain.scale.store.StoreMismatchError`.
    target : None, int, "predicted", "all" or one int per series
        As in :func:`tsexplain.explain`; a per-series target is sliced per chunk.
    chunk_size : int
        Series per chunk: the unit of work, of writing and of loss on a crash.
    backend : {"local", "ray"} or a Backend
        Default ``"local"`` (or the ``TSEXPLAIN_BACKEND`` environment variable).
    address : str, optional
        Ray cluster address (``"auto"``, ``"ray://head:10001"``); ``backend="ray"`` only.
    num_actors, num_cpus, num_gpus
        Ray: actor pool size (default: as many as the resources allow) and the resources each
        actor declares.
    ray_options : dict, optional
        More :class:`~tsexplain.scale.backends.RayBackend` options (``progress``, ``ray.init``
        keyword arguments).
    resume : bool
        False: refuse to reuse finished chunks of an existing store.
    on_chunk : callable, optional
        ``on_chunk(chunk, n_written, n_to_write)`` after each chunk is written; an exception it
        raises stops the run (the written chunks stay).
    progress : bool
        A progress bar over chunks.
    additional_inputs : array or sequence of arrays, each of shape (N, ...), optional
        The model's further inputs (``model(x, *additional_inputs)``, e.g. static covariates),
        held in memory and sent with the chunks: each chunk gets its series' rows. They are
        part of the run's identity (a store of other further inputs is not resumed).
    attribute_additional : bool
        Also attribute the floating further inputs (the gradient methods, as in
        :meth:`tsexplain.attribution.Attribution.attribute`): stored as ``additional_<i>``
        (one row per series, the input's shape).
    **params
        The method's parameters (the same for every chunk) and the engine options
        ``memory_budget``, ``fold_batchnorm`` and ``rows_per_chunk``: the rows per engine chunk
        of a new store, recorded in its manifest. Not given, they are timed once, in the driver,
        with the torch threads of the backend's chunks: the engine's fastest size
        (:func:`tsexplain.attribution.fastest_rows_per_chunk`) on the first series of the data
        (up to :data:`TIMING_ROWS` rows, at most the first chunk), whose values are discarded;
        :data:`ROWS_PER_CHUNK` where the chunks run on GPUs. A resumed store keeps the value it
        was created with (a different one given warns), so that every chunk, in any process or
        Ray actor, is computed alike, to the last bit.

    Returns
    -------
    DatasetRun
        The store and which chunks this call computed and skipped.

    Examples
    --------
    >>> import numpy as np, torch, tempfile
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 1))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     run = attribute_dataset(model, np.random.randn(10, 2, 4), "saliency",
    ...                             out=d + "/attr", chunk_size=4)
    ...     print((run.values[:].shape, run.computed))
    ((10, 2, 4), [0, 1, 2])
    """
    from tsexplain.attribution import check_method_params

    start_time = time.perf_counter()
    check_method_params(method, params, engine_options=_ENGINE_OPTIONS)
    asked = params.pop("rows_per_chunk", None)  # not part of the run's identity (meta)
    rows = None if asked is None else check_int(asked, "rows_per_chunk", minimum=1)
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    attribute_additional = check_bool(attribute_additional, "attribute_additional")
    source, shared_target = as_source(X_or_path, target, additional_inputs)
    if attribute_additional and not source.extras:
        raise ParameterError("attribute_additional=True needs additional_inputs")
    be = _backend(backend, address, num_actors, num_cpus, num_gpus, ray_options)
    payloads = pack_models(model_or_models)
    work_kwargs = {"payloads": payloads, "method": method, "target": shared_target,
                   "params": {**params, "rows_per_chunk": rows or ROWS_PER_CHUNK},
                   "attribute_additional": attribute_additional}
    work = AttributionWork(**work_kwargs)
    # one series in the driver: the shapes of the stored arrays (and an early, clear error)
    try:
        probe = work(*source.chunk(0, 1)) if len(source) else {}
    except ModelInputsError as err:  # named for the whole data set, not the probe's one series
        raise ModelInputsError(
            f"attribute_dataset: {err.problem}. Pass the model's further inputs as "
            f"additional_inputs= (one row per series of X {tuple(source.shape)}, in the order of "
            f"forward's arguments)", err.problem) from err
    arrays = {k: (tuple(v.shape[1:]), str(v.dtype)) for k, v in probe.items()} or {
        "values": (tuple(source.shape[1:]), "float32")}
    meta = _jsonable({
        "kind": "attribution", "method": method, "params": params, "target": shared_target,
        "per_series_target": source.target is not None, "n_models": len(payloads),
        "models": fingerprint(payloads), "input": source.fingerprint(chunk_size),
        "input_shape": list(source.shape),
        **({"additional_inputs": [{"shape": list(e.shape), "dtype": str(e.dtype)} for e in source.extras],
            "attribute_additional": attribute_additional} if source.extras else {}),
    })

    def new_engine() -> dict[str, Any]:  # a new store only: the given rows, or the fastest
        if rows is not None:
            return {"rows_per_chunk": rows}
        return {"rows_per_chunk": _fastest_rows(be, work, source, min(chunk_size, len(source)),
                                                params)}

    store = ChunkStore.open_or_create(out, len(source), chunk_size, arrays, meta, resume=resume,
                                      engine=new_engine)
    # every chunk, in any process, with the rows per engine chunk the store was created with
    # (a store made before they were recorded: the given rows, or ROWS_PER_CHUNK)
    recorded = int(store.engine.get("rows_per_chunk", ROWS_PER_CHUNK if rows is None else rows))
    if rows is not None and recorded != rows:
        warnings.warn(
            f"attribute_dataset: the store {str(out)!r} was created with rows_per_chunk={recorded}; "
            f"its remaining chunks use it too (not {rows}), so that they match its finished ones",
            UserWarning, stacklevel=2,
        )
    work_kwargs["params"] = {**params, "rows_per_chunk": recorded}
    with store.writing():
        todo = store.missing()
        skipped = store.finished()
        written: list[int] = []
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=store.n_chunks, initial=len(skipped), desc=f"{method} (chunks)")

        def on_result(i: int, res: dict[str, np.ndarray]) -> None:
            store.write_chunk(i, res)
            written.append(i)
            if bar is not None:
                bar.update(1)
            if on_chunk is not None:
                on_chunk(i, len(written), len(todo))

        try:
            be.map_chunks((AttributionWork, work_kwargs), source,
                          [(i, *store.bounds(i)) for i in todo], lambda a, b: b - a, on_result)
        finally:
            if bar is not None:
                bar.close()
    return DatasetRun(store, sorted(written), skipped, be.name, time.perf_counter() - start_time)


def _fastest_rows(be: Backend, work: AttributionWork, source: Any, n_series: int,
                  params: dict[str, Any]) -> int:
    """Rows per engine chunk of a new data-set run: the engine's timed choice
    (:func:`tsexplain.attribution.fastest_rows_per_chunk`) on the first ``n_series`` series, with
    the torch threads the backend's chunks run with; :data:`ROWS_PER_CHUNK` where the chunks run
    on GPUs or nothing is chunked."""
    import torch

    from tsexplain.attribution import fastest_rows_per_chunk

    if be.chunks_on_gpus() or n_series == 0:
        return ROWS_PER_CHUNK
    x, target, extras = source.chunk(0, n_series)
    threads, previous = be.chunk_threads(), torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        rows = fastest_rows_per_chunk(
            work.method, work.models, x, work.target if target is None else target,
            additional_inputs=list(extras) or None, attribute_additional=work.attribute_additional,
            max_rows=TIMING_ROWS, **params)
    finally:
        torch.set_num_threads(previous)
    return ROWS_PER_CHUNK if rows is None else rows


@renamed_kwargs(output="output_transform")
def dataset_filter_importance(
    model: nn.Module,
    X_or_path: Any,
    layers: Any = None,
    target: Any = None,
    *,
    chunk_size: int = 4096,
    backend: str | Backend | None = "local",
    address: str | None = None,
    num_actors: int | tuple[int, int] | None = None,
    num_cpus: float = 1,
    num_gpus: float = 0,
    ray_options: dict[str, Any] | None = None,
    output_transform: str = "raw",
    temperature: float = 1.0,
    memory_budget: int | str | None = None,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """Filter importance min / mean / max over a whole data set, computed per chunk on workers.

    Each chunk yields, per layer, the minimum, maximum and float64 sum of the per-series
    importance (TSViz Eq. 16, see :func:`tsexplain.network.filter_importance_stats`); the
    driver reduces these few numbers per chunk in chunk order, so the result does not depend on
    the backend, the number of workers or the order in which chunks finish.

    Parameters
    ----------
    model : torch.nn.Module
    X_or_path : path to a ``.npy`` file or array (N, C, T)
    layers, target, output_transform, temperature, memory_budget
        As in :func:`tsexplain.network.filter_importance_stats` (``output_transform`` was
        ``output``, still accepted with a DeprecationWarning), per worker.
    batch_size : int, optional
        Former rows-per-chunk knob, replaced by ``memory_budget`` (passed on, with its
        DeprecationWarning, only when given).
    chunk_size, backend, address, num_actors, num_cpus, num_gpus, ray_options
        As in :func:`attribute_dataset`.

    Returns
    -------
    dict of str to FilterImportanceStats

    Examples
    --------
    >>> import numpy as np, torch
    >>> model = torch.nn.Sequential(torch.nn.Conv1d(2, 3, 3), torch.nn.ReLU(),
    ...                             torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(),
    ...                             torch.nn.Linear(3, 1))
    >>> x = np.random.default_rng(0).standard_normal((10, 2, 16)).astype("float32")  # (N, C, T)
    >>> stats = dataset_filter_importance(model, x, chunk_size=4)  # 3 chunks, one per task
    >>> s = stats["0"]  # the Conv1d, by its dotted name
    >>> s.mean.shape, s.n_samples, bool((s.min <= s.mean).all() and (s.mean <= s.max).all())
    ((3,), 10, True)
    """
    from tsexplain.network.filter_importance import FilterImportanceStats

    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    source, shared_target = as_source(X_or_path, target)
    if len(source) == 0:
        raise ParameterError("dataset_filter_importance: the data set is empty.")
    be = _backend(backend, address, num_actors, num_cpus, num_gpus, ray_options)
    payloads = pack_models(model)
    if len(payloads) != 1:
        raise ParameterError("dataset_filter_importance takes one model.")
    work_kwargs = {"payloads": payloads, "layers": layers, "target": shared_target,
                   "options": {"output_transform": output_transform, "temperature": temperature,
                               "memory_budget": memory_budget,
                               **({} if batch_size is None else {"batch_size": batch_size})}}
    n = len(source)
    chunks = [(i, a, min(n, a + chunk_size)) for i, a in enumerate(range(0, n, chunk_size))]
    parts: dict[int, dict[str, np.ndarray]] = {}
    be.map_chunks((FilterImportanceWork, work_kwargs), source, chunks, lambda a, b: 1,
                  lambda i, res: parts.__setitem__(i, res))
    names = [k[: -len("|min")] for k in parts[0] if k.endswith("|min")]
    result = {}
    ordered = [parts[i] for i in sorted(parts)]
    for name in names:
        lo = functools.reduce(np.minimum, [p[f"{name}|min"][0] for p in ordered])
        hi = functools.reduce(np.maximum, [p[f"{name}|max"][0] for p in ordered])
        total = functools.reduce(np.add, [p[f"{name}|sum"][0] for p in ordered])
        result[name] = FilterImportanceStats(layer=name, min=lo, mean=total / n, max=hi, n_samples=n)
    return result


# --------------------------------------------------------------------------- ensembles
def _group_seed(seed: int, first: int) -> int:
    """Seed of a group's shared random stream (dropout): from (seed, first member) only."""
    return int(np.random.SeedSequence([int(seed), int(first), 0x5CA1E]).generate_state(1)[0])


def _train_members(model_factory: Callable[[], nn.Module], X: Any, y: Any, indices: list[int],
                   seed: int, threads: int, options: dict[str, Any]) -> dict[str, Any]:
    """Train members ``indices`` of an ensemble as one vectorized group (runs on a worker).

    Member i is initialised, split and shuffled from ``member_seed(seed, i)`` exactly as in
    :func:`tsexplain.training.train_ensemble`; the group's dropout stream is seeded by
    ``_group_seed(seed, indices[0])``.
    """
    import torch

    from tsexplain.training import ensemble as E
    from tsexplain.training._data import member_seed, prepare_training_data, resolve_task
    from tsexplain.training.fit import resolve_settings

    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, int(threads)))
    try:
        opts = dict(options)
        method = opts.pop("method", "auto")
        task = opts.pop("task", None)
        val_fraction = opts.pop("val_fraction", 0.1)
        restore_best = opts.pop("restore_best", True)
        seeds = [member_seed(seed, i) for i in indices]
        members = [E.init_member(model_factory, s) for s in seeds]
        E._check_same_architecture(members)
        task = resolve_task(task, members[0], X, y)
        s = resolve_settings(members[0], seed=_group_seed(seed, indices[0]), **opts)
        s.update(task=task, val_fraction=val_fraction, restore_best=check_bool(restore_best, "restore_best"))
        data = prepare_training_data(members[0], X, y, task, s["window"])
        chosen, reason = E._choose_method(method, members[0])
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if chosen == "loop":
                result = E._train_loop(members, seeds, data, s, False)
            else:
                engine = E._WideEngine if chosen == "wide" else E._VmapEngine
                result = E._train_vectorized(engine, members, seeds, data, s, False, 1)
        return {"indices": indices, "seeds": seeds, "models": pack_models(list(result)),
                "histories": result.histories, "method": chosen, "reason": reason,
                "seconds": time.perf_counter() - t0}
    finally:
        torch.set_num_threads(previous)


def train_ensemble_distributed(
    model_factory: Callable[[], nn.Module],
    X: Any,
    y: Any = None,
    n_models: int = 20,
    *,
    group_size: int = 4,
    seed: int = 0,
    backend: str | Backend | None = "local",
    address: str | None = None,
    threads_per_group: int = 1,
    num_cpus_per_group: float | None = None,
    num_gpus: float = 0,
    ray_options: dict[str, Any] | None = None,
    **train_options: Any,
) -> Any:
    """Train an ensemble (AGRA) with its members spread over workers in groups.

    The members are cut into groups of ``group_size`` consecutive indices; each group is one
    task, trained vectorized (``train_ensemble``'s wide / vmap / loop strategies) on one worker
    with ``threads_per_group`` torch threads. Member i's initialisation, validation split and data
    order come from ``member_seed(seed, i)`` (as in :func:`tsexplain.training.train_ensemble`), a
    group's dropout stream from ``(seed, its first member)``. The groups and their arithmetic do
    not depend on the backend or on how many workers run them, so the trained weights do not
    either (bit for bit); they do depend on ``group_size`` when the model has dropout.

    Parameters
    ----------
    model_factory : callable
        ``model_factory() -> nn.Module``; with Ray it is pickled (cloudpickle: a lambda works).
    X, y
        As in :func:`tsexplain.training.fit`; sent to the object store once.
    n_models : int
    group_size : int
        Members per task (vectorized together).
    seed : int
    backend, address, ray_options
        As in :func:`attribute_dataset`; each Ray task declares ``threads_per_group`` CPUs and
        ``num_gpus`` GPUs.
    threads_per_group : int
        Torch intra-op threads of each group (on every backend: keeps the arithmetic the same).
    num_cpus_per_group : float, optional
        CPUs each Ray task declares (default ``threads_per_group``); declaring more limits how
        many groups run at once on a node without changing the arithmetic.
    **train_options
        ``task``, ``epochs``, ``lr``, ``batch_size``, ``val_fraction``, ``patience``,
        ``weight_decay``, ``activity_l2``, ``lr_schedule``, ``restore_best``, ``window``,
        ``method`` as in ``train_ensemble``.

    Returns
    -------
    tsexplain.training.EnsembleResult
        The members in index order with ``method``, ``histories``, ``seeds``, ``seconds`` and
        ``groups`` (the index lists trained together).

    Examples
    --------
    >>> import torch
    >>> from tsexplain.models import AGRACNN
    >>> X, y = torch.randn(32, 2, 16), torch.randn(32)  # X (N, C, T), y (N,)
    >>> members = train_ensemble_distributed(lambda: AGRACNN(length=16), X, y, n_models=2,
    ...                                      group_size=1, epochs=1)
    >>> len(members), members.groups, members.backend
    (2, [[0], [1]], 'local')
    >>> members[0](torch.zeros(3, 2, 16)).shape
    torch.Size([3, 1])
    """
    from tsexplain.training import EnsembleResult

    n_models = check_int(n_models, "n_models", minimum=1)
    group_size = check_int(group_size, "group_size", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    allowed = {"task", "epochs", "lr", "batch_size", "val_fraction", "patience", "weight_decay",
               "activity_l2", "lr_schedule", "restore_best", "window", "method"}
    unknown = sorted(set(train_options) - allowed)
    if unknown:
        raise ParameterError(f"train_ensemble_distributed does not take {', '.join(unknown)}.")
    if not callable(model_factory):
        raise InputTypeError(f"model_factory must be callable, got {type(model_factory).__name__}.")
    be = _backend(backend, address, None, threads_per_group, num_gpus, ray_options)
    groups = [list(range(a, min(n_models, a + group_size))) for a in range(0, n_models, group_size)]
    t0 = time.perf_counter()
    shared = {"model_factory": model_factory, "X": X, "y": y, "seed": seed,
              "threads": threads_per_group, "options": train_options}
    outs = be.map_tasks(_train_members, [{"indices": g} for g in groups], shared,
                        num_cpus=threads_per_group if num_cpus_per_group is None
                        else num_cpus_per_group)
    result = EnsembleResult()
    result.histories, result.seeds = [], []
    for o in outs:
        result.extend(unpack_models(o["models"]))
        result.histories.extend(o["histories"])
        result.seeds.extend(o["seeds"])
    result.method, result.reason = outs[0]["method"], outs[0]["reason"]
    if result.method == "loop" and result.reason:
        warnings.warn(f"train_ensemble_distributed falls back to a loop: {result.reason}.",
                      RuntimeWarning, stacklevel=2)
    result.interrupted = False
    result.seconds = time.perf_counter() - t0
    result.groups = groups
    result.backend = be.name
    return result
