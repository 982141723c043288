"""The input of a data-set-wide run: a memory-mapped ``.npy`` file or an in-memory array."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from tsexplain._targets import check_target_length
from tsexplain._validation import series_shape_problem
from tsexplain.exceptions import ParameterError, ShapeError

__all__ = ["SeriesSource", "as_source"]


class SeriesSource:
    """Rows ``[start, stop)`` of an (N, C, T) array, read on demand.

    A path is opened memory-mapped wherever the source is read (driver or worker): pickling a
    path source sends only the path (every node must see the file: a shared file system, or the
    same file copied to the same path). An in-memory array is kept as is; the Ray backend puts it
    in the object store once and the workers read slices of that shared copy.
    """

    def __init__(self, data: np.ndarray | None = None, path: str | None = None,
                 target: np.ndarray | None = None) -> None:
        self.path = path
        self._data = data
        self.target = target
        arr = self.array()
        problem = series_shape_problem(arr.shape, "X", arr.dtype)
        if problem:
            raise ShapeError(problem)
        self.shape = tuple(int(s) for s in arr.shape)
        self.dtype = str(arr.dtype)
        if target is not None:
            check_target_length(target, self.shape[0])

    def array(self) -> np.ndarray:
        if self._data is not None:
            return self._data
        assert self.path is not None
        return np.load(self.path, mmap_mode="r")

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) as an in-memory array."""
        return np.array(self.array()[start:stop])

    def target_slice(self, start: int, stop: int) -> Any:
        return None if self.target is None else self.target[start:stop]

    def fingerprint(self, chunk_size: int) -> str:
        """Shape, dtype and the bytes of the first row of every chunk, hashed (cheap to compute)."""
        h = hashlib.blake2b(digest_size=10)
        h.update(repr((self.shape, self.dtype, chunk_size)).encode())
        arr = self.array()
        for start in range(0, self.shape[0], chunk_size):
            h.update(np.ascontiguousarray(arr[start]).tobytes())
        if self.target is not None:
            h.update(np.ascontiguousarray(self.target).tobytes())
        return h.hexdigest()

    def __getstate__(self) -> dict[str, Any]:
        # a path source pickles as its path, never as its data
        state = dict(self.__dict__)
        if self.path is not None:
            state["_data"] = None
        return state


def as_source(x: Any, target: Any = None) -> tuple[SeriesSource, Any]:
    """The source for ``x`` (path to .npy, or array-like) and the target to pass per chunk.

    A per-series target (one int per series) travels with the source and is sliced per chunk;
    ``None``, an int, ``"predicted"`` and ``"all"`` are the same for every chunk.
    """
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
        return SeriesSource(path=str(p.resolve()), target=per_series), target
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
    return SeriesSource(data=arr, target=per_series), target
