"""A chunked on-disk array store: one folder, one ``.npy`` file per chunk and array, a manifest.

Layout of a store folder ``out/``::

    out/manifest.json              what is stored (written atomically, see below)
    out/values/000000000.npy       chunk 0 of the array "values": rows [0, chunk_size)
    out/values/000000001.npy       chunk 1: rows [chunk_size, 2 * chunk_size)
    out/predictions/000000000.npy  chunk 0 of the array "predictions"
    ...

``manifest.json`` holds ``format``, ``n_rows``, ``chunk_size``, ``n_chunks``, the ``arrays``
(name -> per-row shape and dtype), ``meta`` (the method, its parameters, a fingerprint of the
input and of the models: what a resumed run must match) and ``engine`` (how the chunks are
computed, decided when the store is created and reused by a resumed run, e.g. the rows per
engine chunk of an attribution run). It is written once, when the store is created, via a
temporary file and ``os.replace`` (atomic on POSIX and Windows).

A chunk is *finished* when the files of all its arrays exist. Every chunk file is written to a
temporary name in the same folder, flushed and ``fsync``-ed, then renamed into place, so a file
under its final name is always complete; the ``values`` file is renamed last, so its presence
marks the chunk finished. A crash (even ``kill -9``) therefore loses at most the chunks being
written at that moment, and a resumed run recomputes only the chunks whose files are missing.

Reading: :meth:`ChunkStore.read_chunk`, slicing (``store["values"][1000:2000]``, chunks loaded
memory-mapped) or :meth:`ChunkStore.to_npy` to consolidate one array into a single ``.npy``
(written chunk by chunk into a memory-mapped file: constant memory). Any numpy program can read
the chunk files directly, no tsexplain needed.

Why not zarr: a plain folder of ``.npy`` needs no dependency, is readable from any language with
an ``.npy`` reader, and the finished/unfinished test is one ``os.path.exists``. Chunks are not
compressed (attributions of float series compress poorly anyway).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from tsexplain.exceptions import ParameterError

__all__ = ["ChunkStore", "StoreMismatchError", "STORE_FORMAT"]

#: Version of the store layout, written into every manifest.
STORE_FORMAT = 1
_MANIFEST = "manifest.json"
_PRIMARY = "values"
#: Held (an exclusive ``flock``) by the one process writing a store; it holds that process's id.
_WRITER_LOCK = ".writer.lock"


class StoreMismatchError(ParameterError):
    """An existing store was made for other data, another method or other parameters.

    Examples
    --------
    >>> import tempfile
    >>> arrays = {"values": ((2, 8), "float32")}  # per row: (C, T)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = ChunkStore.create(d, 10, 5, arrays, {"method": "saliency"})
    ...     try:
    ...         ChunkStore.open_or_create(d, 10, 5, arrays, {"method": "integrated_gradients"})
    ...     except StoreMismatchError as exc:
    ...         print("(meta differ)" in str(exc))
    True
    """


def _atomic_write(path: Path, prefix: str, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` through a synced temporary file in its folder, then rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    _atomic_write(path, f".{path.name}.", lambda f: f.write(data))


def _atomic_save_npy(path: Path, arr: np.ndarray) -> None:
    _atomic_write(
        path,
        f".{path.stem}.",
        lambda f: np.lib.format.write_array(f, np.ascontiguousarray(arr), allow_pickle=False),
    )


class ChunkStore:
    """A folder of per-chunk ``.npy`` files plus a manifest (see the module docstring).

    Use :meth:`create` (or :meth:`open_or_create`) to make one and :meth:`open` to read one.

    Attributes
    ----------
    path : pathlib.Path
    manifest : dict

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     store = ChunkStore.create(d, n_rows=5, chunk_size=2,
    ...                               arrays={"values": ((3, 4), "float32")})  # rows (C, T)
    ...     store.write_chunk(0, {"values": np.ones((2, 3, 4))})
    ...     print(store.n_chunks, store.finished(), store.missing())
    ...     for i in store.missing():
    ...         a, b = store.bounds(i)
    ...         store.write_chunk(i, {"values": np.zeros((b - a, 3, 4))})
    ...     print(store.complete, store["values"][1:3].shape, store["values"][1:3].sum())
    3 [0] [1, 2]
    True (2, 3, 4) 12.0
    """

    def __init__(self, path: str | os.PathLike[str], manifest: dict[str, Any]) -> None:
        self.path = Path(path)
        self.manifest = manifest

    # ------------------------------------------------------------------ creation
    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> ChunkStore:
        """Open an existing store (FileNotFoundError if there is none)."""
        p = Path(path)
        mf = p / _MANIFEST
        if not mf.is_file():
            raise FileNotFoundError(f"{p} is not a tsexplain chunk store (no {_MANIFEST}).")
        manifest = json.loads(mf.read_text())
        if manifest.get("format") != STORE_FORMAT:
            raise StoreMismatchError(
                f"{p}: store format {manifest.get('format')!r}, this version reads {STORE_FORMAT}."
            )
        return cls(p, manifest)

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        n_rows: int,
        chunk_size: int,
        arrays: dict[str, tuple[tuple[int, ...], str]],
        meta: dict[str, Any] | None = None,
        engine: dict[str, Any] | None = None,
    ) -> ChunkStore:
        """Create an empty store for ``n_rows`` rows in chunks of ``chunk_size``.

        ``arrays`` maps each array name to ``(shape of one row, dtype string)``; it must contain
        ``"values"`` (the array whose chunk file marks a chunk finished). ``engine``: how the
        chunks are computed (see :attr:`engine`).
        """
        if _PRIMARY not in arrays:
            raise ParameterError(f"arrays must contain {_PRIMARY!r}, got {sorted(arrays)}.")
        if n_rows < 0 or chunk_size < 1:
            raise ParameterError(f"need n_rows >= 0 and chunk_size >= 1, got {n_rows}, {chunk_size}.")
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        manifest = {
            "format": STORE_FORMAT,
            "n_rows": int(n_rows),
            "chunk_size": int(chunk_size),
            "n_chunks": -(-int(n_rows) // int(chunk_size)),
            "arrays": {k: {"row_shape": list(s), "dtype": str(np.dtype(d))} for k, (s, d) in arrays.items()},
            "meta": meta or {},
            "engine": engine or {},
        }
        for name in arrays:
            (p / name).mkdir(exist_ok=True)
        _atomic_write_bytes(p / _MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
        return cls(p, manifest)

    @classmethod
    def open_or_create(
        cls,
        path: str | os.PathLike[str],
        n_rows: int,
        chunk_size: int,
        arrays: dict[str, tuple[tuple[int, ...], str]],
        meta: dict[str, Any] | None = None,
        *,
        resume: bool = True,
        engine: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    ) -> ChunkStore:
        """Reopen a store made for the same run (resume), or create it.

        ``engine`` is written into a new store only: a reopened store keeps the settings it was
        created with (its :attr:`engine`), so that its remaining chunks are computed as its first.
        A callable is called only to create a store (its settings may take time to decide).

        Raises
        ------
        StoreMismatchError
            ``path`` holds a store for other rows, chunking, arrays or ``meta`` (another input,
            method, parameters or model), or holds finished chunks and ``resume`` is False.
        """
        p = Path(path)
        if not (p / _MANIFEST).is_file():
            if p.exists() and any(p.iterdir()):
                raise StoreMismatchError(f"{p} exists, is not empty and is not a chunk store.")
            return cls.create(p, n_rows, chunk_size, arrays, meta, engine() if callable(engine) else engine)
        store = cls.open(p)
        expect = {
            "n_rows": int(n_rows),
            "chunk_size": int(chunk_size),
            "arrays": {k: {"row_shape": list(s), "dtype": str(np.dtype(d))} for k, (s, d) in arrays.items()},
            "meta": json.loads(json.dumps(meta or {})),
        }
        diff = [k for k, v in expect.items() if store.manifest.get(k) != v]
        if diff:
            raise StoreMismatchError(
                f"{p} holds a store made for a different run ({', '.join(diff)} differ); "
                f"choose another output folder or delete it."
            )
        if not resume and store.finished():
            raise StoreMismatchError(
                f"{p} already holds {len(store.finished())} finished chunk(s) and resume=False; "
                f"delete the folder to start over."
            )
        return store

    # ------------------------------------------------------------------ geometry
    @property
    def n_rows(self) -> int:
        return int(self.manifest["n_rows"])

    @property
    def chunk_size(self) -> int:
        return int(self.manifest["chunk_size"])

    @property
    def n_chunks(self) -> int:
        return int(self.manifest["n_chunks"])

    @property
    def arrays(self) -> list[str]:
        return list(self.manifest["arrays"])

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.manifest.get("meta", {}))

    @property
    def engine(self) -> dict[str, Any]:
        """How the chunks are computed, fixed when the store was created (empty for stores made
        before it was recorded), e.g. ``{"rows_per_chunk": 512}`` for an attribution run."""
        return dict(self.manifest.get("engine", {}))

    def bounds(self, chunk: int) -> tuple[int, int]:
        """Rows ``[start, stop)`` of ``chunk``."""
        if not 0 <= chunk < self.n_chunks:
            raise IndexError(f"chunk {chunk} out of range [0, {self.n_chunks}).")
        start = chunk * self.chunk_size
        return start, min(self.n_rows, start + self.chunk_size)

    def chunk_path(self, name: str, chunk: int) -> Path:
        return self.path / name / f"{chunk:09d}.npy"

    # ------------------------------------------------------------------ state
    def finished(self) -> list[int]:
        """Indices of the finished chunks."""
        done = []
        for f in (self.path / _PRIMARY).glob("*.npy"):
            if f.stem.isdigit() and int(f.stem) < self.n_chunks:
                done.append(int(f.stem))
        return sorted(done)

    def missing(self) -> list[int]:
        """Indices of the chunks still to compute."""
        done = set(self.finished())
        return [i for i in range(self.n_chunks) if i not in done]

    @property
    def complete(self) -> bool:
        return not self.missing()

    # ------------------------------------------------------------------ I/O
    @contextlib.contextmanager
    def writing(self) -> Iterator[ChunkStore]:
        """Hold the store's writer lock for the block: a second process that runs into the same
        store meanwhile is refused (it would compute the same chunks again, each process at a
        fraction of the machine). The lock goes with the process (also on a crash).

        Raises
        ------
        ParameterError
            Another process is writing the store.
        """
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            yield self
            return
        path = self.path / _WRITER_LOCK
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise ParameterError(
                    f"{self.path} is being written by another process (pid {holder}); wait for it "
                    f"to finish (then run again to resume), or write to another folder"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            try:
                yield self
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def write_chunk(self, chunk: int, arrays: dict[str, np.ndarray]) -> None:
        """Write every array of ``chunk`` atomically; ``values`` last (it marks the chunk done)."""
        start, stop = self.bounds(chunk)
        if set(arrays) != set(self.arrays):
            raise ParameterError(f"chunk {chunk}: got arrays {sorted(arrays)}, store has {sorted(self.arrays)}.")
        for name in sorted(arrays, key=lambda n: n == _PRIMARY):
            spec = self.manifest["arrays"][name]
            arr = np.asarray(arrays[name], dtype=spec["dtype"])
            want = (stop - start, *spec["row_shape"])
            if arr.shape != want:
                raise ParameterError(f"chunk {chunk}, array {name!r}: shape {arr.shape}, expected {want}.")
            _atomic_save_npy(self.chunk_path(name, chunk), arr)

    def read_chunk(self, chunk: int, name: str = _PRIMARY, mmap: bool = True) -> np.ndarray:
        """One finished chunk of array ``name`` (memory-mapped by default)."""
        p = self.chunk_path(name, chunk)
        if not p.is_file():
            raise FileNotFoundError(f"chunk {chunk} of {name!r} is not written yet ({p}).")
        return np.load(p, mmap_mode="r" if mmap else None)

    def iter_chunks(self, name: str = _PRIMARY) -> Iterator[tuple[int, np.ndarray]]:
        """``(chunk index, array)`` of every finished chunk, in order, memory-mapped."""
        for i in self.finished():
            yield i, self.read_chunk(i, name)

    def __getitem__(self, name: str) -> _ArrayView:
        if name not in self.manifest["arrays"]:
            raise KeyError(f"no array {name!r}; arrays: {', '.join(self.arrays)}")
        return _ArrayView(self, name)

    def to_npy(self, path: str | os.PathLike[str], name: str = _PRIMARY) -> Path:
        """Consolidate array ``name`` into one ``.npy`` file, chunk by chunk (constant memory)."""
        if not self.complete:
            raise ParameterError(f"{self.path}: {len(self.missing())} chunk(s) missing; finish the run first.")
        spec = self.manifest["arrays"][name]
        out = np.lib.format.open_memmap(
            Path(path), mode="w+", dtype=spec["dtype"], shape=(self.n_rows, *spec["row_shape"])
        )
        for i in range(self.n_chunks):
            a, b = self.bounds(i)
            out[a:b] = self.read_chunk(i, name)
        out.flush()
        del out
        return Path(path)

    def to_numpy(self, name: str = _PRIMARY) -> np.ndarray:
        """Array ``name`` in memory (only for results that fit; see :meth:`to_npy`)."""
        return self[name][:]

    def __repr__(self) -> str:
        return (f"ChunkStore({str(self.path)!r}, rows={self.n_rows}, chunks={len(self.finished())}"
                f"/{self.n_chunks} finished, arrays={self.arrays})")


class _ArrayView:
    """Row slicing over the chunk files of one array: ``view[a:b]``, ``view[i]``, ``len(view)``."""

    def __init__(self, store: ChunkStore, name: str) -> None:
        self.store, self.name = store, name
        spec = store.manifest["arrays"][name]
        self.shape = (store.n_rows, *spec["row_shape"])
        self.dtype = np.dtype(spec["dtype"])

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, int | np.integer):
            i = int(key) + (self.shape[0] if key < 0 else 0)
            c = i // self.store.chunk_size
            return np.array(self.store.read_chunk(c, self.name)[i - c * self.store.chunk_size])
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("index a stored array with an int or a contiguous slice a:b.")
        start, stop, _ = key.indices(self.shape[0])
        out = np.empty((max(0, stop - start), *self.shape[1:]), dtype=self.dtype)
        if stop <= start:
            return out
        cs = self.store.chunk_size
        for c in range(start // cs, (stop - 1) // cs + 1):
            a, b = self.store.bounds(c)
            lo, hi = max(a, start), min(b, stop)
            out[lo - start : hi - start] = self.store.read_chunk(c, self.name)[lo - a : hi - a]
        return out
