"""The input of a data-set-wide run: a memory-mapped ``.npy`` file or an in-memory array."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from tsexplain._targets import check_target_length
from tsexplain._validation import additional_rows_problem, series_shape_problem
from tsexplain.exceptions import ParameterError, ShapeError
from tsexplain.io.data import read_series_npy

__all__ = ["SeriesSource", "as_source"]


class SeriesSource:
    """Rows ``[start, stop)`` of an (N, C, T) array, read on demand.

    A path is opened memory-mapped wherever the source is read (driver or worker): pickling a
    path source sends only the path (every node must see the file: a shared file system, or the
    same file copied to the same path). An in-memory array is kept as is; the Ray backend puts it
    in the object store once and the workers read slices of that shared copy. A model's further
    inputs (``extras``, each (N, ...), e.g. static covariates) are kept in memory and travel with
    the source; each chunk gets its rows of them.
    """

    def __init__(self, data: np.ndarray | None = None, path: str | None = None,
                 target: np.ndarray | None = None, extras: tuple[np.ndarray, ...] = ()) -> None:
        self.path = path
        self._data = data
        self.target = target
        self.extras = tuple(extras)
        arr = self.array()
        problem = series_shape_problem(arr.shape, "X", arr.dtype)
        if problem:
            raise ShapeError(problem)
        self.shape = tuple(int(s) for s in arr.shape)
        self.dtype = str(arr.dtype)
        if target is not None:
            check_target_length(target, self.shape[0])
        for i, e in enumerate(self.extras):
            problem = additional_rows_problem(e.shape, self.shape, f"additional_inputs[{i}]")
            if problem:
                raise ShapeError(problem)

    def array(self) -> np.ndarray:
        if self._data is not None:
            return self._data
        assert self.path is not None
        return read_series_npy(self.path)

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) as an in-memory array."""
        return np.array(self.array()[start:stop])

    def target_slice(self, start: int, stop: int) -> Any:
        return None if self.target is None else self.target[start:stop]

    def chunk(self, start: int, stop: int) -> tuple[np.ndarray, Any, tuple[np.ndarray, ...]]:
        """What a worker is called with for rows [start, stop): the series (n, C, T), their
        target (None: the run's shared target) and their further model inputs (each (n, ...))."""
        return (self.read(start, stop), self.target_slice(start, stop),
                tuple(e[start:stop] for e in self.extras))

    def fingerprint(self, chunk_size: int) -> str:
        """Shape, dtype and the bytes of the first row of every chunk, hashed (cheap to compute)."""
        h = hashlib.blake2b(digest_size=10)
        h.update(repr((self.shape, self.dtype, chunk_size)).encode())
        arr = self.array()
        for start in range(0, self.shape[0], chunk_size):
            h.update(np.ascontiguousarray(arr[start]).tobytes())
        if self.target is not None:
            h.update(np.ascontiguousarray(self.target).tobytes())
        for e in self.extras:  # in memory: hashed whole
            h.update(repr((e.shape, str(e.dtype))).encode())
            h.update(np.ascontiguousarray(e).tobytes())
        return h.hexdigest()

    def __getstate__(self) -> dict[str, Any]:
        # a path source pickles as its path, never as its data
        state = dict(self.__dict__)
        if self.path is not None:
            state["_data"] = None
        return state


def as_source(x: Any, target: Any = None, additional: Any = None) -> tuple[SeriesSource, Any]:
    """The source for ``x`` (path to .npy, or array-like) and the target to pass per chunk.

    A per-series target (one int per series) travels with the source and is sliced per chunk;
    ``None``, an int, ``"predicted"`` and ``"all"`` are the same for every chunk. ``additional``:
    the model's further inputs (an array or a sequence of arrays, each (N, ...)), sliced per
    chunk like a per-series target.
    """
    extras = _extras(additional)
    per_series = None
    if target is not None and not isinstance(target, str | int | np.integer):
        per_series = np.asarray(target.cpu() if hasattr(target, "cpu") else target)
        if per_series.ndim != 1:
            raise ParameterError(f"target: one int per series expected, got shape {per_series.shape}.")
        target = None
    if isinstance(x, str | os.PathLike):
        p = Path(x)
        if not p.is_file():
            raise FileNotFoundError(f"No input file at {p}.")
        if p.suffix != ".npy":
            raise ParameterError(
                f"{p}: data-set-wide runs read a .npy file (memory-mapped); convert other formats "
                f"once with numpy.save (see docs/scaling.md)."
            )
        return SeriesSource(path=str(p.resolve()), target=per_series, extras=extras), target
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
    return SeriesSource(data=arr, target=per_series, extras=extras), target


def _extras(additional: Any) -> tuple[np.ndarray, ...]:
    """Further model inputs as NumPy arrays (tensors are moved to the CPU)."""
    if additional is None:
        return ()
    items = [additional] if hasattr(additional, "shape") else list(additional)
    out = []
    for i, a in enumerate(items):
        if not hasattr(a, "shape"):
            raise ParameterError(
                f"additional_inputs[{i}] must be an array or tensor with one row per series, got "
                f"{type(a).__name__}")
        out.append(np.asarray(a.detach().cpu() if hasattr(a, "detach") else a))
    return tuple(out)
