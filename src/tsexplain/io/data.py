"""Load a user's series from a file as ``X (N, C, T)``, with labels and channel names if present.

Formats (``load_any_data``), chosen by the file's suffix:

``.npz``
    Array ``X`` (or ``x``, or the only array in the file) of shape (N, C, T); optional ``y``
    (N,) and ``channel_names`` (C,). Read with ``allow_pickle=False``.
``.npy``
    One array (N, C, T).

In both, a 2-D array (N, T) is N univariate series, read as (N, 1, T) (:data:`TWO_D_RULE`):
the rule of every command and of :func:`tsexplain.scale.attribute_dataset` given a path.
``.csv`` / ``.parquet`` (Parquet needs ``pyarrow``)
    *Long* layout: one row per value, with columns sample, channel, time, value (names set by
    options; the channel column may be left out for univariate data) and an optional label column
    (one label per sample). Samples and channels keep their order of first appearance, time steps
    are sorted.

    *Wide* layout: one row per sample and channel, one column per time step in column order.
    Optional columns ``sample`` (rows with the same id are the channels of one sample; without it
    every row is its own univariate sample), ``channel`` (the channel's name) and ``label``. Every
    other column is a time step. A header row is needed when any of those columns is present.

    ``layout="auto"`` picks long when the table has both the time and the value column.
UCR/UEA archive formats
    ``.tsv``, ``.txt``, ``.ts``, ``.arff`` (optionally ``.gz``) or a folder with ``*_TRAIN`` /
    ``*_TEST`` files, through :func:`tsexplain.datasets.load_ucr`.

Labels of a file that holds none (an ``.npy`` of series, a table without a label column) come
from a separate ``.npy`` of shape (N,): ``load_any_data(path, labels="y.npy")``.

A model's further inputs (``forward(x, static)``) are read by :func:`load_additional_inputs`
from ``.npy``, ``.npz`` (one named array) or a numeric ``.csv`` table, one row per series.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tsexplain._validation import series_shape_problem
from tsexplain.exceptions import DataFormatError, ParameterError, ShapeError

__all__ = ["encode_labels", "LoadedData", "load_any_data", "DATA_FORMATS", "AdditionalInput",
           "load_additional_inputs", "ADDITIONAL_INPUT_FORMATS"]

#: How a 2-D array in a file is read, and how to save one multichannel series instead.
TWO_D_RULE = ("2-D arrays are read as (N, T) univariate series; save one multichannel series "
              "as (1, C, T)")

#: Suffixes read by :func:`load_any_data` (``.gz`` allowed on the UCR formats).
DATA_FORMATS = (".npz", ".npy", ".csv", ".parquet", ".tsv", ".txt", ".ts", ".arff")
_UCR_SUFFIXES = (".tsv", ".txt", ".ts", ".arff")


@dataclass
class LoadedData:
    """Series read from a file.

    X : float array (N, C, T); y : class indices (N,) int64 (see :func:`encode_labels`), real
    values for non-integer numeric labels, or None; channel_names : C strings; sample_ids : an
    id per sample (its index or its ``sample`` column value); fmt, source; classes : the
    original label of each class index (``classes[y]`` gives back the file's labels), or None;
    class_names : names of the classes stored in the file (``class_names`` in an ``.npz``), or
    None.

    Examples
    --------
    >>> import numpy as np
    >>> data = LoadedData(np.zeros((4, 2, 10)), np.array([0, 1, 0, 1]), ["a", "b"],
    ...                   np.arange(4), "npz", "in memory")
    >>> first = data.head(2)
    >>> first.X.shape, first.y.tolist(), first.channel_names, first.details
    ((2, 2, 10), [0, 1], ['a', 'b'], {'n_samples_in_file': 4})
    """

    X: np.ndarray
    y: np.ndarray | None
    channel_names: list[str]
    sample_ids: np.ndarray
    fmt: str
    source: str
    details: dict[str, Any] = field(default_factory=dict)
    classes: list[Any] | None = None
    class_names: list[str] | None = None

    def head(self, n: int) -> LoadedData:
        """The first ``n`` samples."""
        return LoadedData(
            np.ascontiguousarray(self.X[:n]), None if self.y is None else self.y[:n],
            self.channel_names, self.sample_ids[:n], self.fmt, self.source,
            {**self.details, "n_samples_in_file": int(self.X.shape[0])},
            self.classes, self.class_names,
        )

    def class_labels(self) -> list[str] | None:
        """A name per class index: ``class_names`` from the file, else the original labels."""
        if self.class_names is not None:
            return list(self.class_names)
        return None if self.classes is None else [str(c) for c in self.classes]


def encode_labels(values: Any) -> tuple[np.ndarray | None, list[Any] | None]:
    """Class indices and the label of each class, the same rule for every data format.

    Integer labels (ints, whole-number floats, or strings holding them) that start at 0 are
    class indices already (``classes = [0, 1, ..., max]``). Any other labels -- UCR's ``1/2``
    or ``-1/1``, strings -- become ``0 .. K-1`` in sorted order (numeric order when every label
    is a number). Real-valued labels (regression targets) are returned unchanged with
    ``classes=None``.

    Parameters
    ----------
    values : array-like (N,) or None

    Returns
    -------
    y : int64 array (N,) of class indices (float array for real-valued labels), or None
    classes : list, the original label of each class index, or None

    Examples
    --------
    >>> encode_labels(np.array([1, 2, 2, 1]))
    (array([0, 1, 1, 0]), [1, 2])
    >>> encode_labels(np.array([-1.0, 1.0, 1.0]))
    (array([0, 1, 1]), [-1, 1])
    >>> encode_labels(np.array(["cat", "dog", "cat"]))
    (array([0, 1, 0]), ['cat', 'dog'])
    >>> encode_labels(np.array([0, 2, 1]))
    (array([0, 2, 1]), [0, 1, 2])
    """
    if values is None:
        return None, None
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ShapeError(f"labels must be one per sample (N,), got shape {arr.shape}")
    if arr.size == 0:
        return arr.astype(np.int64), []
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.number):
        text = np.asarray([str(v).strip() for v in arr.tolist()])
        try:
            num = text.astype(np.float64)
        except ValueError:
            uniq, inverse = np.unique(text, return_inverse=True)
            return inverse.astype(np.int64).reshape(-1), [str(u) for u in uniq]
        arr = num
    if not np.all(np.isfinite(arr)):
        raise DataFormatError("the labels hold NaN or Inf values")
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.mod(arr, 1) == 0):
        return arr, None
    ints = arr.astype(np.int64)
    if ints.min() == 0:
        return ints, list(range(int(ints.max()) + 1))
    uniq, inverse = np.unique(ints, return_inverse=True)
    return inverse.astype(np.int64).reshape(-1), [int(u) for u in uniq]


def _suffix(path: Path) -> str:
    s = path.suffixes
    if len(s) >= 2 and s[-1].lower() == ".gz":
        return s[-2].lower()
    return path.suffix.lower()


def _check_numbers(arr: np.ndarray, source: str) -> None:
    if arr.dtype == object:
        raise DataFormatError(f"{source}: the array holds Python objects; store numbers")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise DataFormatError(f"{source}: the array has dtype {arr.dtype}, expected numbers")


def _as_3d(arr: np.ndarray, source: str) -> np.ndarray:
    _check_numbers(arr, source)
    if arr.ndim == 2:
        arr = arr[:, None, :]
    problem = series_shape_problem(arr.shape, source, arr.dtype)
    if problem:
        raise ShapeError(problem)
    return arr


def _names(values: Any, c: int, source: str, last: int | None = None) -> list[str]:
    if values is None:
        return [f"ch{i}" for i in range(c)]
    names = [str(v) for v in np.asarray(values).ravel()]
    if len(names) != c and len(names) != last:  # == last: channels-last data, transposed later
        raise ShapeError(f"{source}: {len(names)} channel_names for {c} channels")
    return names


def _open_npz(path: Path) -> Any:
    """The ``np.load`` of an .npz (never unpickling), or a clear error for a file that is not one."""
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:
        raise DataFormatError(f"{path} is not a readable .npz file: {exc}") from None


def _pickle_refused(path: str | Path, exc: ValueError) -> DataFormatError | None:
    """The error for an array that needs unpickling (None: ``exc`` is about something else)."""
    if "allow_pickle" not in str(exc):
        return None
    return DataFormatError(
        f"{path} holds pickled objects, which tsexplain does not load (unpickling can run code): "
        f"store numbers and strings only"
    )


def read_npy(path: str | Path, *, mmap: bool = False) -> np.ndarray:
    """The array of an .npy file (memory-mapped with ``mmap``), never unpickling: the package's
    one .npy reader (a file it cannot read is a :class:`DataFormatError` naming it)."""
    try:
        return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except ValueError as exc:
        raise (_pickle_refused(path, exc)
               or DataFormatError(f"{path} is not a readable .npy file: {exc}")) from None
    except (OSError, EOFError) as exc:
        raise DataFormatError(f"{path} is not a readable .npy file: {exc}") from None


def read_series_npy(path: str | Path) -> np.ndarray:
    """The series of an .npy file as (N, C, T), memory-mapped: a 2-D array (N, T) as the
    view (N, 1, T) (:data:`TWO_D_RULE`); other shapes as stored (the caller checks them)."""
    arr = read_npy(path, mmap=True)
    return arr[:, None, :] if arr.ndim == 2 else arr


def _series_key(path: Path, keys: list[str], x_key: str | None) -> str:
    """The name of the series array of an .npz with arrays ``keys``."""
    if x_key is None:
        x_key = next((k for k in ("X", "x") if k in keys), None)
        if x_key is None:
            arrays = [k for k in keys if k not in ("y", "channel_names", "labels", "class_names")]
            if len(arrays) != 1:
                raise DataFormatError(
                    f"{path} has arrays {keys}; name the series 'X' or pass --x-key NAME"
                )
            x_key = arrays[0]
    if x_key not in keys:
        raise DataFormatError(f"{path} has no array {x_key!r} (it has {keys})")
    return x_key


def stored_2d_shape(path: str | Path, x_key: str | None = None) -> tuple[int, ...] | None:
    """The stored shape of the series array of an .npy or .npz file when it is 2-D (read as
    (N, 1, T) by :data:`TWO_D_RULE`), else None (also for other formats and unreadable files).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     np.savez(os.path.join(d, "a.npz"), X=np.zeros((4, 50)), y=np.zeros(4))
    ...     stored_2d_shape(os.path.join(d, "a.npz"))
    (4, 50)
    """
    p = Path(path)
    try:
        if _suffix(p) == ".npy":
            shape = tuple(read_npy(p, mmap=True).shape)
        elif _suffix(p) == ".npz":
            with _open_npz(p) as npz:
                shape = tuple(npz[_series_key(p, list(npz.files), x_key)].shape)
        else:
            return None
    except (DataFormatError, OSError, ValueError):
        return None
    return shape if len(shape) == 2 else None


def two_d_note(path: str | Path, x_key: str | None = None) -> str | None:
    """What a model's refusal of the data of ``path`` adds when the file stores a 2-D array
    (``"data.npz holds a 2-D array (6, 40): "`` + :data:`TWO_D_RULE`), else None."""
    shape = stored_2d_shape(path, x_key)
    return None if shape is None else f"{path} holds a 2-D array {shape}: {TWO_D_RULE}"


def _load_npz(path: Path, x_key: str | None, y_key: str | None) -> LoadedData:
    with _open_npz(path) as npz:
        keys = list(npz.files)
        x_key = _series_key(path, keys, x_key)
        try:
            X = _as_3d(npz[x_key], f"{path}[{x_key}]")
            if y_key is None:
                y_key = next((k for k in ("y", "labels") if k in keys), None)
            elif y_key not in keys:
                raise DataFormatError(f"{path} has no array {y_key!r} (it has {keys})")
            y = npz[y_key] if y_key else None
            names = npz["channel_names"] if "channel_names" in keys else None
            class_names = ([str(c) for c in npz["class_names"].reshape(-1)]
                           if "class_names" in keys else None)
        except ValueError as exc:
            refused = _pickle_refused(path, exc)
            if refused is not None:
                raise refused from None
            raise
    if y is not None and (y.ndim != 1 or y.shape[0] != X.shape[0]):
        raise ShapeError(f"{path}: y has shape {y.shape}, expected ({X.shape[0]},), one per sample")
    return LoadedData(X, y, _names(names, X.shape[1], str(path), X.shape[2]), np.arange(X.shape[0]), "npz",
                      str(path), {"x_key": x_key, "y_key": y_key}, class_names=class_names)


def _load_npy(path: Path) -> LoadedData:
    X = _as_3d(read_series_npy(path), str(path))
    return LoadedData(X, None, _names(None, X.shape[1], str(path)), np.arange(X.shape[0]), "npy",
                      str(path))


# ----------------------------------------------------------------- tables (CSV, Parquet)


def _read_csv(path: Path) -> tuple[list[str] | None, list[np.ndarray]]:
    """Header (or None) and the columns as string arrays."""
    with open(path, newline="") as fh:
        sample = fh.read(4096)
        fh.seek(0)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        rows = [r for r in csv.reader(fh, dialect) if r and any(cell.strip() for cell in r)]
    if not rows:
        raise DataFormatError(f"{path} is empty")
    header: list[str] | None = None
    if any(not _is_number(cell) for cell in rows[0]):
        header = [cell.strip() for cell in rows[0]]
        rows = rows[1:]
    width = len(header) if header else len(rows[0])
    for i, r in enumerate(rows):
        if len(r) != width:
            line = i + (2 if header else 1)
            raise DataFormatError(f"{path}, line {line}: {len(r)} fields, expected {width}")
    if not rows:
        raise DataFormatError(f"{path} has a header but no data rows")
    table = np.array(rows, dtype=str)
    return header, [np.char.strip(table[:, j]) for j in range(width)]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return cell.strip().lower() in ("", "nan")
    return True


def _read_parquet(path: Path) -> tuple[list[str], list[np.ndarray]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ParameterError(
            f"{path}: reading Parquet needs the pyarrow package (pip install pyarrow); or save "
            f"the table as CSV or the array as .npz"
        ) from None
    table = pq.read_table(path)
    return list(table.column_names), [np.asarray(col.to_numpy(zero_copy_only=False)) for col in table.columns]


def _numeric(col: np.ndarray, what: str, source: str) -> np.ndarray:
    if np.issubdtype(col.dtype, np.number):
        return col.astype(np.float64)
    try:
        return np.array([float(v) if str(v).strip() else np.nan for v in col], dtype=np.float64)
    except ValueError:
        bad = next(v for v in col if not _is_number(str(v)))
        raise DataFormatError(f"{source}: {what} holds {str(bad)!r}, not a number") from None


def _first_appearance(col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique values in order of first appearance, and each row's index into them."""
    uniq, first, inverse = np.unique(col, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return uniq[order], rank[inverse.ravel()]


def _labels(col: np.ndarray, sample_index: np.ndarray, n: int, source: str) -> np.ndarray:
    first = np.full(n, -1)
    for row, s in enumerate(sample_index):
        if first[s] < 0:
            first[s] = row
    y = col[first]
    if np.any(col != y[sample_index]):
        raise DataFormatError(f"{source}: the label column differs within one sample")
    if not np.issubdtype(y.dtype, np.number):
        try:
            num = y.astype(np.float64)
            y = num.astype(np.int64) if np.all(np.mod(num, 1) == 0) else num
        except ValueError:
            pass
    return y


def _column(header: list[str] | None, name: str | None, default: str, required: bool,
            source: str, option: str) -> int | None:
    want = name or default
    if header is None or want not in header:
        if required or name is not None:
            have = ", ".join(header) if header else "no header row"
            raise DataFormatError(f"{source}: no column {want!r} ({have}); name it with {option}")
        return None
    return header.index(want)


def _from_table(header: list[str] | None, cols: list[np.ndarray], source: str, fmt: str,
                layout: str, names: dict[str, str | None]) -> LoadedData:
    if layout == "auto":
        long_cols = (names["time"] or "time", names["value"] or "value")
        layout = "long" if header is not None and all(c in header for c in long_cols) else "wide"
    if layout == "long":
        return _long(header, cols, source, fmt, names)
    return _wide(header, cols, source, fmt, names)


def _long(header: list[str] | None, cols: list[np.ndarray], source: str, fmt: str,
          names: dict[str, str | None]) -> LoadedData:
    i_s = _column(header, names["sample"], "sample", True, source, "--sample-col")
    i_t = _column(header, names["time"], "time", True, source, "--time-col")
    i_v = _column(header, names["value"], "value", True, source, "--value-col")
    i_c = _column(header, names["channel"], "channel", False, source, "--channel-col")
    i_l = _column(header, names["label"], "label", False, source, "--label-col")
    assert i_s is not None and i_t is not None and i_v is not None
    sample_ids, s_idx = _first_appearance(cols[i_s])
    if i_c is None:
        channel_ids, c_idx = np.array(["ch0"]), np.zeros(len(s_idx), dtype=np.int64)
    else:
        channel_ids, c_idx = _first_appearance(cols[i_c])
    t_raw = cols[i_t]
    try:
        t_num = _numeric(t_raw, "the time column", source)
        times, t_idx = np.unique(t_num, return_inverse=True)
    except DataFormatError:  # timestamps as text: sorted as text (ISO 8601 sorts correctly)
        times, t_idx = np.unique(t_raw, return_inverse=True)
    values = _numeric(cols[i_v], "the value column", source)
    n, c, t = len(sample_ids), len(channel_ids), len(times)
    X = np.full((n, c, t), np.nan)
    seen = np.zeros((n, c, t), dtype=np.int32)
    np.add.at(seen, (s_idx, c_idx, t_idx.ravel()), 1)
    if seen.max() > 1:
        s, ch, tt = (int(v[0]) for v in np.nonzero(seen > 1))
        raise DataFormatError(
            f"{source}: sample {sample_ids[s]!r}, channel {channel_ids[ch]!r}, time {times[tt]!r} "
            f"appears more than once"
        )
    if seen.min() == 0:
        missing = int((seen == 0).sum())
        s, ch, tt = (int(v[0]) for v in np.nonzero(seen == 0))
        raise DataFormatError(
            f"{source}: {missing} of {n * c * t} (sample, channel, time) cells are missing, e.g. "
            f"sample {sample_ids[s]!r}, channel {channel_ids[ch]!r}, time {times[tt]!r}; every "
            f"sample needs every channel at every time step"
        )
    X[s_idx, c_idx, t_idx.ravel()] = values
    y = None if i_l is None else _labels(cols[i_l], s_idx, n, source)
    return LoadedData(X, y, [str(v) for v in channel_ids], sample_ids, fmt, source,
                      {"layout": "long", "times": times.tolist()[:5] + (["..."] if t > 5 else [])})


def _wide(header: list[str] | None, cols: list[np.ndarray], source: str, fmt: str,
          names: dict[str, str | None]) -> LoadedData:
    for key in ("time", "value"):
        if names[key] is not None:
            raise ParameterError(f"--{key}-col is for the long layout; this table is read as wide")
    i_s = _column(header, names["sample"], "sample", False, source, "--sample-col")
    i_c = _column(header, names["channel"], "channel", False, source, "--channel-col")
    i_l = _column(header, names["label"], "label", False, source, "--label-col")
    meta = {i for i in (i_s, i_c, i_l) if i is not None}
    steps = [j for j in range(len(cols)) if j not in meta]
    if not steps:
        raise DataFormatError(f"{source}: no time-step columns")
    values = np.stack([_numeric(cols[j], f"column {header[j] if header else j}", source)
                       for j in steps], axis=1)  # (rows, T)
    rows = values.shape[0]
    if i_s is None:
        if i_c is not None:
            raise DataFormatError(
                f"{source}: a channel column needs a sample column (rows with the same sample id "
                f"are the channels of one sample); name it with --sample-col"
            )
        sample_ids, s_idx = np.arange(rows), np.arange(rows)
        channel_names = ["ch0"]
        c_idx = np.zeros(rows, dtype=np.int64)
    else:
        sample_ids, s_idx = _first_appearance(cols[i_s])
        if i_c is not None:
            channels, c_idx = _first_appearance(cols[i_c])
            channel_names = [str(v) for v in channels]
        else:  # channels in row order within each sample
            c_idx = np.zeros(rows, dtype=np.int64)
            count: dict[int, int] = {}
            for r, s in enumerate(s_idx):
                c_idx[r] = count.get(int(s), 0)
                count[int(s)] = c_idx[r] + 1
            channel_names = [f"ch{i}" for i in range(int(c_idx.max()) + 1)]
    n, c = len(sample_ids), len(channel_names)
    seen = np.zeros((n, c), dtype=np.int32)
    np.add.at(seen, (s_idx, c_idx), 1)
    if seen.max() > 1 or seen.min() == 0:
        bad = int(np.nonzero((seen != 1).any(axis=1))[0][0])
        raise DataFormatError(
            f"{source}: sample {sample_ids[bad]!r} has {int((seen[bad] > 0).sum())} of {c} channels "
            f"(or one twice); in the wide layout every sample needs one row per channel"
        )
    X = np.empty((n, c, values.shape[1]))
    X[s_idx, c_idx] = values
    y = None if i_l is None else _labels(cols[i_l], s_idx, n, source)
    return LoadedData(X, y, channel_names, sample_ids, fmt, source, {"layout": "wide"})


def _load_ucr(path: Path, split: str) -> LoadedData:
    from tsexplain.datasets import load_ucr

    ds = load_ucr(path, split=split)
    names = list(getattr(ds, "channel_names", None) or [f"dim{i}" for i in range(ds.X.shape[1])])
    classes = getattr(ds, "classes", None)
    y = ds.y if classes is None or ds.y is None else np.asarray(classes)[ds.y]  # the file's labels
    return LoadedData(ds.X, y, names, np.arange(ds.X.shape[0]), "ucr", str(path), {"split": split})


def load_any_data(
    path: str | os.PathLike[str],
    *,
    layout: str = "auto",
    sample_col: str | None = None,
    channel_col: str | None = None,
    time_col: str | None = None,
    value_col: str | None = None,
    label_col: str | None = None,
    x_key: str | None = None,
    y_key: str | None = None,
    split: str = "both",
    labels: str | os.PathLike[str] | None = None,
) -> LoadedData:
    """Read series from a file; see the module docstring for the formats and layouts.

    Parameters
    ----------
    path : str or path-like
        The file (or a UCR/UEA folder).
    layout : {"auto", "long", "wide"}
        Layout of a CSV/Parquet table.
    sample_col, channel_col, time_col, value_col, label_col : str, optional
        Column names of a table (defaults "sample", "channel", "time", "value", "label").
    x_key, y_key : str, optional
        Array names in an ``.npz`` (defaults "X", "y").
    split : {"both", "train", "test"}
        Part of a UCR/UEA folder.
    labels : str or path-like, optional
        An ``.npy`` file of one label per series, shape (N,): integer classes, class names or
        real-valued targets, for a data file that holds no labels (an ``.npy``, a table without
        a label column). They are encoded as the labels of any file (:func:`encode_labels`).

    Returns
    -------
    LoadedData
        ``X`` of shape (N, C, T) (float64 unless the file stores float32), ``y``,
        ``channel_names``.

    Raises
    ------
    FileNotFoundError, DataFormatError, ShapeError, ParameterError
        ShapeError when ``labels`` is not of shape (N,); ParameterError when the data file has
        labels of its own.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as d:
    ...     np.save(os.path.join(d, "X.npy"), np.zeros((4, 2, 30)))
    ...     np.save(os.path.join(d, "y.npy"), np.array([1, 2, 2, 1]))
    ...     pair = load_any_data(os.path.join(d, "X.npy"), labels=os.path.join(d, "y.npy"))
    ...     npz = os.path.join(d, "series.npz")
    ...     np.savez(npz, X=np.zeros((5, 2, 30)), y=np.arange(5))
    ...     data = load_any_data(npz)
    ...     csv_path = os.path.join(d, "long.csv")
    ...     with open(csv_path, "w") as fh:
    ...         _ = fh.write("sample,time,value\\na,0,1\\na,1,2\\nb,0,3\\nb,1,4\\n")
    ...     table = load_any_data(csv_path)  # long layout: one row per value
    >>> data.X.shape, data.y.shape, data.channel_names, data.fmt
    ((5, 2, 30), (5,), ['ch0', 'ch1'], 'npz')
    >>> table.X.shape, table.sample_ids.tolist(), table.details["layout"]
    ((2, 1, 2), ['a', 'b'], 'long')
    >>> pair.y, pair.classes
    (array([0, 1, 1, 0]), [1, 2])
    >>> table.X[:, 0]
    array([[1., 2.],
           [3., 4.]])
    """
    data = _load_by_format(Path(os.fspath(path)), layout, split, x_key, y_key,
                           {"sample": sample_col, "channel": channel_col, "time": time_col,
                            "value": value_col, "label": label_col})
    if labels is not None:
        data.y = _labels_file(Path(os.fspath(labels)), data)
    y, classes = encode_labels(data.y)
    data.y, data.classes = y, classes
    if classes is not None:
        data.details["classes"] = [c if isinstance(c, int | str) else str(c) for c in classes]
    if data.class_names is not None and classes is not None and len(data.class_names) < len(classes):
        raise DataFormatError(
            f"{data.source}: class_names has {len(data.class_names)} names for {len(classes)} "
            f"classes"
        )
    return data


def _labels_file(path: Path, data: LoadedData) -> np.ndarray:
    """The labels of ``data`` read from the .npy file ``path``: shape (N,), N the number of
    series (a :class:`ShapeError` naming both shapes otherwise)."""
    if data.y is not None:
        raise ParameterError(
            f"{data.source} holds labels already; a labels file ({path}) is for data without them"
        )
    if _suffix(path) != ".npy":
        raise ParameterError(f"labels file {path}: expected an .npy file of shape (N,), one label "
                             f"per series")
    if not path.is_file():
        raise FileNotFoundError(f"no labels file at {path}")
    y = read_npy(path)
    n = data.X.shape[0]
    if y.shape != (n,):
        raise ShapeError(
            f"labels file {path} has shape {y.shape}, expected ({n},): one label per series of "
            f"{data.source}, whose series are {tuple(data.X.shape)}"
        )
    return y


def _load_by_format(p: Path, layout: str, split: str, x_key: str | None, y_key: str | None,
                    names: dict[str, str | None]) -> LoadedData:
    if not p.exists():
        raise FileNotFoundError(f"no data file at {p}")
    if layout not in ("auto", "long", "wide"):
        raise ParameterError(f"layout must be auto, long or wide, got {layout!r}")
    if p.is_dir():
        return _load_ucr(p, split)
    suffix = _suffix(p)
    if suffix == ".npz":
        return _load_npz(p, x_key, y_key)
    if suffix == ".npy":
        return _load_npy(p)
    if suffix == ".csv":
        header, cols = _read_csv(p)
        return _from_table(header, cols, str(p), "csv", layout, names)
    if suffix in (".parquet", ".pq"):
        header, cols = _read_parquet(p)
        return _from_table(header, cols, str(p), "parquet", layout, names)
    if suffix in _UCR_SUFFIXES:
        return _load_ucr(p, split)
    if suffix in (".pkl", ".pickle", ".pt", ".pth"):
        raise DataFormatError(f"{p}: pickled data is not loaded (it can run code); save an .npz")
    raise DataFormatError(
        f"{p}: unknown data format {suffix or '(no suffix)'}; use one of {', '.join(DATA_FORMATS)}"
    )


# ----------------------------------------------------------------- a model's further inputs

#: Suffixes read by :func:`load_additional_inputs`.
ADDITIONAL_INPUT_FORMATS = (".npy", ".npz", ".csv")
_ADDITIONAL_FORMS = ".npy, .npz (FILE:KEY names the array) or .csv (a numeric table, one row per series)"


@dataclass
class AdditionalInput:
    """A model's further input read from a file (``model(x, *additional_inputs)``).

    values : array (N, ...), one row per series (a CSV: (N, number of columns), float64);
    source : the file as given (``FILE`` or ``FILE:KEY``); key : the array's name in an
    ``.npz``, or None; columns : a name per column of a CSV with a header row, or None.

    Examples
    --------
    >>> extra = AdditionalInput(np.zeros((4, 3)), "static.npy")
    >>> extra.describe()
    {'file': 'static.npy', 'shape': [4, 3], 'dtype': 'float64'}
    """

    values: np.ndarray
    source: str
    key: str | None = None
    columns: list[str] | None = None

    def describe(self) -> dict[str, Any]:
        """File, shape, dtype (and key, columns when known): what ``meta.json`` records."""
        out: dict[str, Any] = {"file": self.source, "shape": list(self.values.shape),
                               "dtype": str(self.values.dtype)}
        if self.key is not None:
            out["key"] = self.key
        if self.columns is not None:
            out["columns"] = list(self.columns)
        return out


def _additional_path(spec: str) -> tuple[Path, str | None]:
    """``FILE`` or ``FILE:KEY`` -> (path, key); a file whose name holds ':' is taken whole."""
    whole = Path(spec)
    head, sep, key = spec.rpartition(":")
    if whole.exists() or not sep or not head or _suffix(Path(head)) not in ADDITIONAL_INPUT_FORMATS:
        return whole, None
    if _suffix(Path(head)) != ".npz":
        raise ParameterError(
            f"additional input {spec}: ':{key}' names an array of an .npz file; {head} is a "
            f"{_suffix(Path(head))} file, give it without ':{key}'"
        )
    return Path(head), key or None


def _read_additional(spec: str) -> AdditionalInput:
    path, key = _additional_path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"additional input {spec}: no file at {path}")
    suffix = _suffix(path)
    columns: list[str] | None = None
    if suffix == ".npy":
        values = np.asarray(read_npy(path))
    elif suffix == ".npz":
        with _open_npz(path) as npz:
            keys = list(npz.files)
            if key is None:
                if len(keys) != 1:
                    raise DataFormatError(
                        f"additional input {spec} holds {len(keys)} arrays ({', '.join(keys)}): "
                        f"name one, e.g. {path}:{keys[0] if keys else 'KEY'}"
                    )
                key = keys[0]
            if key not in keys:
                raise DataFormatError(
                    f"additional input {spec}: {path} has no array {key!r}; its arrays: "
                    f"{', '.join(keys)} (give FILE:KEY)"
                )
            try:
                values = npz[key]
            except ValueError as exc:
                raise (_pickle_refused(path, exc) or DataFormatError(
                    f"additional input {spec}: {path}[{key}] is not readable: {exc}")) from None
    elif suffix == ".csv":
        header, cols = _read_csv(path)
        names = header or [str(j) for j in range(len(cols))]
        where = f"additional input {spec} (a numeric table, one row per series)"
        values = np.stack([_numeric(col, f"column {name}", where)
                           for col, name in zip(cols, names, strict=True)], axis=1)
        columns = header
    else:
        raise DataFormatError(
            f"additional input {spec}: unknown format {suffix or '(no suffix)'}; use "
            f"{_ADDITIONAL_FORMS}"
        )
    _check_numbers(values, f"additional input {spec}")
    return AdditionalInput(values, spec, key, columns)


def load_additional_inputs(specs: Sequence[str | os.PathLike[str]],
                           series_shape: tuple[int, int, int]) -> list[AdditionalInput]:
    """Read a model's further inputs, each with one row per series of the data.

    Parameters
    ----------
    specs : sequence of str or path-like
        ``FILE`` or ``FILE:KEY``, in the order of the model's ``forward`` arguments after the
        series. ``.npy`` (one array, read with ``allow_pickle=False``), ``.npz`` (``KEY`` names
        the array; it may be left out when the file holds one), ``.csv`` (a numeric table with
        one row per series and an optional header row; read as float64 of shape (N, columns)).
    series_shape : tuple (N, C, T)
        Shape of the data the inputs go with (before any ``--max-samples`` cut: a file has one
        row per series of the data file).

    Returns
    -------
    list of AdditionalInput
        ``values`` of shape (N, ...) each.

    Raises
    ------
    FileNotFoundError
        A file is missing.
    DataFormatError
        An unknown KEY (the message lists the keys), several arrays and no KEY, values that are
        not numbers, NaN or Inf values, an unknown suffix.
    ShapeError
        A file's number of rows is not N.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     np.save(os.path.join(d, "static.npy"), np.ones((4, 3)))
    ...     with open(os.path.join(d, "static.csv"), "w") as fh:
    ...         _ = fh.write("age,weight\\n50,70\\n60,80\\n40,60\\n30,90\\n")
    ...     extras = load_additional_inputs([os.path.join(d, "static.npy"),
    ...                                      os.path.join(d, "static.csv")], (4, 2, 100))
    >>> [e.values.shape for e in extras], extras[1].columns
    ([(4, 3), (4, 2)], ['age', 'weight'])
    """
    n = series_shape[0]
    out = []
    for spec in specs:
        extra = _read_additional(os.fspath(spec))
        values = extra.values
        if values.ndim == 0 or values.shape[0] != n:
            rows = ("a single value, shape ()" if values.ndim == 0 else
                    f"{values.shape[0]} rows, shape {values.shape}")
            raise ShapeError(
                f"additional input {extra.source} has {rows}; the data have {n} series "
                f"(N, C, T) = {tuple(series_shape)}: one row per series"
            )
        if np.issubdtype(values.dtype, np.floating) and not np.all(np.isfinite(values)):
            bad = int((~np.isfinite(values)).sum())
            raise DataFormatError(
                f"additional input {extra.source} holds {bad} NaN/Inf values (empty cells?); "
                f"the model needs a number in every cell: fill or drop them"
            )
        out.append(extra)
    return out
