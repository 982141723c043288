"""The workspace: models and data sets on disk, loaded lazily, and a cache of computed results.

Layout of a workspace folder (``tsexplain workspace add-model`` / ``add-data`` write it; the
user documentation describes it in full)::

    models/NAME.safetensors   weights saved by tsexplain.training.save_model (+ NAME.json spec)
    models/NAME.pt2           or a torch.export program (torch.export.save)
    models/NAME.pt            or a TorchScript file (torch.jit.save; attributions only)
    models/NAME/factory.json  or your code and weights: {"factory": "net.py:make_net",
                              "factory_kwargs": {...}, "weights": "weights.safetensors"}, with
                              net.py and weights.safetensors beside it; runs only when the
                              workspace trusts code (``tsexplain serve --trust-code``)
    models/NAME.info.json     optional: task, output_names, output_unit, class_names, dataset,
                              input_shape [C, T], description
    datasets/NAME.npz         X (N, C, T); optional y (N,) class indices, label_values (K,),
                              channel_names (C,), class_names (K,), time (T,), mask (N, C, T),
                              value_unit, time_unit, and the further inputs of a model
                              forward(x, *further): additional_0, additional_1, ... (N, ...)
                              in the order of forward's arguments after x

Every model file is read by :func:`tsexplain.io.load_any_model` (never unpickled).

Names are restricted to ``[A-Za-z0-9][A-Za-z0-9_.-]*`` and every path is checked to stay inside
the workspace, so no request can reach another file.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import queue
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tsexplain.server.errors import NotFoundError, WorkspaceError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MODEL_SUFFIXES = (".safetensors", ".pt2", ".pt", ".ts")
#: The file that makes ``models/NAME/`` a factory-and-weights model.
FACTORY_FILE = "factory.json"
_KINDS = {".safetensors": "safetensors", ".pt2": "export", ".pt": "torchscript", ".ts": "torchscript"}
TASKS = ("binary", "multiclass", "regression")


def check_name(name: str, what: str) -> str:
    """``name`` if it is a plain file stem (letters, digits, ``_ . -``; no path parts)."""
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise WorkspaceError(
            f"{what} name {name!r} is not allowed: use 1-64 letters, digits, '_', '.' or '-', "
            f"starting with a letter or digit"
        )
    return name


def confined(root: Path, *parts: str) -> Path:
    """``root / parts``, resolved, and guaranteed to lie inside ``root``."""
    base = root.resolve()
    path = base.joinpath(*parts).resolve()
    if path != base and base not in path.parents:
        raise WorkspaceError(f"path {'/'.join(parts)!r} leaves the workspace")
    return path


@dataclass
class DatasetEntry:
    """A data set loaded from ``datasets/NAME.npz``."""

    name: str
    X: np.ndarray
    y: np.ndarray | None
    channel_names: list[str]
    class_names: list[str] | None
    time: np.ndarray | None
    mask: np.ndarray | None
    value_unit: str
    time_unit: str
    #: The further inputs of a model ``forward(x, *further)``, each of shape (N, ...), in
    #: forward's order (the arrays ``additional_0``, ``additional_1``, ...); empty: none.
    additional: tuple[np.ndarray, ...] = ()

    @property
    def shape(self) -> tuple[int, int, int]:
        n, c, t = self.X.shape
        return int(n), int(c), int(t)

    def additional_rows(self, rows: list[int] | slice) -> tuple[np.ndarray, ...]:
        """The further inputs of series ``rows`` (indices or a slice), each (len(rows), ...)."""
        if isinstance(rows, slice):
            return tuple(a[rows] for a in self.additional)
        index = np.asarray(rows, dtype=np.int64)
        return tuple(a[index] for a in self.additional)

    def sample(self, index: int) -> np.ndarray:
        """Series ``index`` as (1, C, T)."""
        n = self.shape[0]
        if not 0 <= index < n:
            raise NotFoundError(f"data set {self.name!r} has {n} samples (0..{n - 1}); no sample {index}")
        return self.X[index : index + 1]

    def samples(self, indices: list[int]) -> np.ndarray:
        n = self.shape[0]
        bad = [i for i in indices if not 0 <= i < n]
        if bad:
            raise NotFoundError(f"data set {self.name!r} has {n} samples (0..{n - 1}); no sample {bad[0]}")
        return self.X[np.asarray(indices, dtype=np.int64)]


def _npz_str(z: Any, key: str, default: str) -> str:
    if key not in z.files:
        return default
    return str(np.asarray(z[key]).reshape(-1)[0]) if np.asarray(z[key]).size else default


def _npz_strs(z: Any, key: str) -> list[str] | None:
    if key not in z.files:
        return None
    return [str(s) for s in np.asarray(z[key]).reshape(-1)]


def validate_series(X: Any, what: str = "X", max_values: int | None = None) -> np.ndarray:
    """A finite float32 array of shape (N, C, T) from ``X`` (the library's one (N, C, T) check)."""
    from tsexplain._validation import check_series_array
    from tsexplain.exceptions import NonFiniteError, ShapeError

    arr = check_series_array(X, what)
    if max_values is not None and arr.size > max_values:
        raise ShapeError(f"{what} has {arr.size} values; the server accepts at most {max_values}")
    out = arr.astype(np.float32)
    if not np.isfinite(out).all():  # finite in float64, beyond float32's range
        raise NonFiniteError(f"{what} contains NaN or Inf after conversion to float32 "
                             f"({int((~np.isfinite(out)).sum())} values)")
    return out


def load_dataset_file(path: Path, name: str) -> DatasetEntry:
    """Read and validate one ``.npz`` data set (never unpickles)."""
    from tsexplain.exceptions import DataFormatError, TsExplainError
    from tsexplain.server.additional_inputs import additional_array_names, check_additional_arrays

    try:
        with np.load(path, allow_pickle=False) as z:
            if "X" not in z.files:
                raise DataFormatError(f"data set {name!r}: the .npz has no array 'X' (found {z.files})")
            X = validate_series(z["X"], f"data set {name!r}: X")
            y = np.asarray(z["y"]) if "y" in z.files else None
            mask = np.asarray(z["mask"]).astype(bool) if "mask" in z.files else None
            time = np.asarray(z["time"], dtype=np.float64) if "time" in z.files else None
            channel_names = _npz_strs(z, "channel_names")
            class_names = _npz_strs(z, "class_names")
            value_unit = _npz_str(z, "value_unit", "value")
            time_unit = _npz_str(z, "time_unit", "step")
            additional = check_additional_arrays(
                [z[k] for k in additional_array_names(z.files)], X.shape, f"data set {name!r}")
    except (OSError, ValueError, EOFError) as err:
        if isinstance(err, TsExplainError | WorkspaceError):
            raise
        raise DataFormatError(f"data set {name!r}: not a readable .npz file ({err})") from None
    n, c, t = X.shape
    if y is not None and (y.shape[:1] != (n,) or not np.issubdtype(y.dtype, np.number)):
        raise DataFormatError(f"data set {name!r}: y must be numeric with {n} rows, got {y.shape} {y.dtype}")
    if mask is not None and mask.shape != X.shape:
        mask = None
    if time is not None and time.shape != (t,):
        time = None
    if channel_names is None or len(channel_names) != c:
        channel_names = [f"channel {i}" for i in range(c)]
    return DatasetEntry(name, X, y, channel_names, class_names, time, mask, value_unit, time_unit,
                        additional)


@dataclass
class ModelEntry:
    """A model file and its lazily built replicas (each request borrows one exclusively)."""

    name: str
    path: Path
    kind: str
    info: dict[str, Any]
    loader: Callable[[], Any]
    max_replicas: int
    _pool: queue.Queue[Any] = field(default_factory=queue.Queue)
    _made: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _first: Any = None

    def first(self) -> Any:
        """A loaded model for metadata only (never run concurrently)."""
        with self._lock:
            if self._first is None:
                self._first = self.loader()
            return self._first

    @contextlib.contextmanager
    def borrow(self, timeout: float | None = None) -> Iterator[Any]:
        """One replica of the model, for this thread alone; waits at most ``timeout`` seconds
        (then :class:`~tsexplain.server.errors.ServerBusyError`). Use it through
        :func:`tsexplain.server.concurrency.borrowed` (one borrow per request)."""
        model = None
        try:
            model = self._pool.get_nowait()
        except queue.Empty:
            with self._lock:
                make = self._made < self.max_replicas
                if make:
                    self._made += 1
            if make:
                try:
                    model = self.copy()
                except Exception:
                    with self._lock:
                        self._made -= 1
                    raise
            else:
                try:
                    model = self._pool.get(timeout=timeout)
                except queue.Empty:
                    from tsexplain.server.errors import ServerBusyError

                    raise ServerBusyError(
                        f"all {self.max_replicas} replicas of model {self.name!r} are busy "
                        f"(waited {timeout:g} s); retry in a few seconds") from None
        try:
            yield model
        finally:
            self._pool.put(model)

    def copy(self) -> Any:
        """A private copy (replicas, long jobs). A file-backed model is loaded again: a deep copy
        of a TorchScript module has non-leaf parameters that autograd cannot freeze."""
        if self.kind != "memory":
            model = self.loader()
            model.eval()
            return model
        return copy.deepcopy(self.first())


class ResultCache:
    """A bounded LRU cache of computed results, keyed by model, data, method and parameters."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> tuple[Any, bool]:
        """``(value, was_cached)``; ``compute`` runs outside the lock."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key], True
            self.misses += 1
        value = compute()
        if self.max_entries > 0:
            with self._lock:
                self._data[key] = value
                self._data.move_to_end(key)
                while len(self._data) > self.max_entries:
                    self._data.popitem(last=False)
        return value, False

    def __len__(self) -> int:
        return len(self._data)


def params_key(params: dict[str, Any] | None) -> str:
    """A canonical string for a parameter dict (part of cache keys)."""
    return json.dumps(params or {}, sort_keys=True, default=str)


class Workspace:
    """Models and data sets of one folder, loaded on first use, plus the results cache."""

    def __init__(self, root: str | Path, *, model_replicas: int = 3, cache_entries: int = 512,
                 trust_code: bool = False) -> None:
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(f"workspace {self.root} is not a folder")
        self.model_replicas = model_replicas
        #: Whether factory models (``models/NAME/factory.json``) may import and run their code.
        self.trust_code = trust_code
        self.cache = ResultCache(cache_entries)
        self._models: dict[str, ModelEntry] = {}
        self._datasets: dict[str, DatasetEntry] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ models
    @property
    def models_dir(self) -> Path:
        return confined(self.root, "models")

    @property
    def datasets_dir(self) -> Path:
        return confined(self.root, "datasets")

    def model_names(self) -> list[str]:
        d = self.models_dir
        if not d.is_dir():
            return []
        names = {p.name[: -len(p.suffix)] for p in d.iterdir()
                 if p.suffix in MODEL_SUFFIXES and p.is_file() and _NAME.match(p.stem)}
        names |= {p.name for p in d.iterdir()
                  if p.is_dir() and _NAME.match(p.name) and (p / FACTORY_FILE).is_file()}
        return sorted(names | set(self._models))

    def add_model(self, name: str, model: Any, info: dict[str, Any] | None = None) -> ModelEntry:
        """Register an in-memory model (tests, ensembles); not written to disk."""
        check_name(name, "model")
        with self._lock:
            entry = ModelEntry(name, self.root, "memory", dict(info or {}), lambda: model,
                               self.model_replicas)
            self._models[name] = entry
            return entry

    def model(self, name: str) -> ModelEntry:
        """The entry of model ``name`` (404 when absent)."""
        check_name(name, "model")
        with self._lock:
            if name in self._models:
                return self._models[name]
            factory = confined(self.models_dir, name, FACTORY_FILE)
            for suffix in MODEL_SUFFIXES:
                path = confined(self.models_dir, name + suffix)
                if path.is_file():
                    kind = _KINDS[suffix]
                    break
            else:
                path, kind = factory, "factory"
            if not path.is_file():
                raise NotFoundError(f"no model {name!r} in the workspace; available: "
                                    f"{', '.join(self.model_names()) or 'none'}")
            info_path = confined(self.models_dir, name + ".info.json")
            info: dict[str, Any] = {}
            if info_path.is_file():
                try:
                    info = json.loads(info_path.read_text())
                except (OSError, ValueError) as err:
                    raise WorkspaceError(f"model {name!r}: unreadable {info_path.name}: {err}") from None
            entry = ModelEntry(name, path, kind, info,
                               functools.partial(_load_model, path, kind, self.trust_code),
                               self.model_replicas)
            self._models[name] = entry
            return entry

    # ------------------------------------------------------------------ data sets
    def dataset_names(self) -> list[str]:
        d = self.datasets_dir
        found = set()
        if d.is_dir():
            found = {p.stem for p in d.iterdir() if p.suffix == ".npz" and _NAME.match(p.stem)}
        return sorted(found | set(self._datasets))

    def dataset(self, name: str) -> DatasetEntry:
        """The data set ``name``, loaded and validated on first use (404 when absent)."""
        check_name(name, "data set")
        with self._lock:
            if name in self._datasets:
                return self._datasets[name]
            path = confined(self.datasets_dir, name + ".npz")
            if not path.is_file():
                raise NotFoundError(f"no data set {name!r} in the workspace; available: "
                                    f"{', '.join(self.dataset_names()) or 'none'}")
            entry = load_dataset_file(path, name)
            self._datasets[name] = entry
            return entry

    def save_dataset(self, name: str, X: np.ndarray, y: np.ndarray | None = None,
                     channel_names: list[str] | None = None,
                     additional: tuple[np.ndarray, ...] = (), **extra: Any) -> DatasetEntry:
        """Write ``datasets/NAME.npz`` (refuses to overwrite) and return its entry; ``additional``
        are a model's further inputs (checked, each (N, ...)), stored as ``additional_<i>``."""
        from tsexplain.server.additional_inputs import ARRAY_NAME, check_additional_arrays

        check_name(name, "data set")
        additional = check_additional_arrays(additional, X.shape, f"data set {name!r}")
        with self._lock:
            if name in self.dataset_names():
                raise WorkspaceError(f"data set {name!r} exists already; choose another name")
            self.datasets_dir.mkdir(parents=True, exist_ok=True)
            path = confined(self.datasets_dir, name + ".npz")
            arrays: dict[str, Any] = {"X": X}
            if y is not None:
                arrays["y"] = y
            if channel_names is not None:
                arrays["channel_names"] = np.asarray(channel_names, dtype=str)
            arrays.update({k: v for k, v in extra.items() if v is not None})
            arrays.update({ARRAY_NAME.format(i): a for i, a in enumerate(additional)})
            tmp = path.with_name(f".{name}.tmp.npz")
            np.savez_compressed(tmp, **arrays)
            tmp.replace(path)
            return self.dataset(name)


def read_factory_file(path: Path) -> tuple[str, dict[str, Any], Path | None]:
    """``(factory reference, keyword arguments, weights path)`` from ``models/NAME/factory.json``.

    A ``file.py:factory`` reference and the weights are resolved inside the model's folder.
    """
    folder = path.parent
    try:
        spec = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise WorkspaceError(f"model {folder.name!r}: unreadable {path.name}: {err}") from None
    ref = spec.get("factory") if isinstance(spec, dict) else None
    kwargs = spec.get("factory_kwargs") or {} if isinstance(spec, dict) else {}
    if not isinstance(ref, str) or ":" not in ref or not isinstance(kwargs, dict):
        raise WorkspaceError(
            f"model {folder.name!r}: {path.name} must hold {{\"factory\": \"net.py:make_net\", "
            f"\"factory_kwargs\": {{...}}, \"weights\": \"weights.safetensors\"}}"
        )
    target, _, attr = ref.rpartition(":")
    if target.endswith(".py"):
        ref = f"{confined(folder, target)}:{attr}"
    weights = spec.get("weights")
    wpath = confined(folder, str(weights)) if weights else None
    return ref, kwargs, wpath


def _load_model(path: Path, kind: str, trust_code: bool = False) -> Any:
    from tsexplain.io.models import load_any_model

    if kind == "factory":
        ref, kwargs, weights = read_factory_file(path)
        if not trust_code:
            raise WorkspaceError(
                f"model {path.parent.name!r} is Python code plus weights; it runs only when the "
                f"explorer trusts this workspace's code: restart it with "
                f"'tsexplain serve --trust-code'"
            )
        if weights is not None and not weights.is_file():
            raise WorkspaceError(f"model {path.parent.name!r}: no weights file {weights.name}")
        loaded = load_any_model(ref, weights, kwargs, allow_code=True)
    else:
        loaded = load_any_model(path)
    model = loaded.module
    model.eval()
    return model
