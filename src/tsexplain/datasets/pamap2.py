"""Loader for PAMAP2 protocol files (UCI Physical Activity Monitoring, Reiss & Stricker 2012).

Each ``subjectNNN.dat`` has 54 whitespace-separated columns: timestamp (s), activity id, heart
rate (bpm), then three IMUs (hand, chest, ankle) of 17 columns each: temperature (degC), 3-D
acceleration (+-16 g), 3-D acceleration (+-6 g), 3-D gyroscope (rad/s), 3-D magnetometer (uT) and
4 orientation columns (invalid in this data collection). Missing values are NaN; activity 0 marks
transient periods.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tsexplain._validation import check_choice
from tsexplain.datasets._files import as_path, open_text
from tsexplain.exceptions import DataFormatError

__all__ = ["load_pamap2", "PAMAP2_COLUMNS", "PAMAP2_ACTIVITIES", "Pamap2Recording"]

_IMU_FIELDS = (
    "temperature",
    "acc16_x", "acc16_y", "acc16_z",
    "acc6_x", "acc6_y", "acc6_z",
    "gyro_x", "gyro_y", "gyro_z",
    "mag_x", "mag_y", "mag_z",
    "orientation_0", "orientation_1", "orientation_2", "orientation_3",
)  # fmt: skip

#: The 54 column names of a PAMAP2 protocol file, in file order.
PAMAP2_COLUMNS: tuple[str, ...] = (
    "timestamp",
    "activity_id",
    "heart_rate",
    *(f"{imu}_{field}" for imu in ("hand", "chest", "ankle") for field in _IMU_FIELDS),
)

#: Activity ids of the PAMAP2 protocol (0 = transient).
PAMAP2_ACTIVITIES: dict[int, str] = {
    0: "transient", 1: "lying", 2: "sitting", 3: "standing", 4: "walking", 5: "running",
    6: "cycling", 7: "Nordic walking", 9: "watching TV", 10: "computer work",
    11: "car driving", 12: "ascending stairs", 13: "descending stairs", 16: "vacuum cleaning",
    17: "ironing", 18: "folding laundry", 19: "house cleaning", 20: "playing soccer",
    24: "rope jumping",
}  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Pamap2Recording:
    """PAMAP2 rows of one or more subjects, in file order.

    Attributes
    ----------
    values : numpy.ndarray of shape (T, K)
        The selected sensor columns (everything but timestamp and activity id).
    columns : tuple of str, length K
        Names of the columns of ``values`` (see :data:`PAMAP2_COLUMNS`).
    timestamp : numpy.ndarray of shape (T,)
        Seconds since the start of each subject's recording.
    activity : numpy.ndarray of int, shape (T,)
        Activity id per row (:data:`PAMAP2_ACTIVITIES`).
    subject : numpy.ndarray of int, shape (T,)
        Subject id per row (from ``subjectNNN`` in the file name, else the file's position).

    Examples
    --------
    :func:`load_pamap2` returns one; here from a two-row file:

    >>> import pathlib, tempfile
    >>> from tsexplain.datasets import load_pamap2
    >>> rows = [[0.01 * t, 4, 100 + t] + [t + k for k in range(51)] for t in range(2)]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp) / "subject105.dat"
    ...     _ = p.write_text("".join(" ".join(map(str, r)) + "\\n" for r in rows))
    ...     rec = load_pamap2(p, columns=["heart_rate", "hand_acc16_x"])
    >>> rec.values.shape, rec.X.shape, rec.subject.tolist(), rec.activity.tolist()
    ((2, 2), (1, 2, 2), [105, 105], [4, 4])
    >>> rec.column("heart_rate").tolist(), rec.timestamp.tolist()
    ([100.0, 101.0], [0.0, 0.01])
    """

    values: np.ndarray
    columns: tuple[str, ...]
    timestamp: np.ndarray
    activity: np.ndarray
    subject: np.ndarray

    @property
    def X(self) -> np.ndarray:  # noqa: N802 - the project's name for a (N, C, T) batch
        """The recording as one series, shape (1, K, T)."""
        return self.values.T[None, :, :]

    def column(self, name: str) -> np.ndarray:
        """One column by name, shape (T,)."""
        check_choice(name, "name", self.columns)
        return self.values[:, self.columns.index(name)]


def _read_one(path: Path) -> np.ndarray:
    expected = f"{len(PAMAP2_COLUMNS)} whitespace-separated numbers per line (PAMAP2 protocol .dat)"
    try:
        with open_text(path) as fh, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # empty file: reported below
            data = np.loadtxt(fh, dtype=float, ndmin=2)
    except ValueError as err:
        msg = str(err)
        m = re.search(r"row (\d+)", msg)
        where = ""
        if m:
            # numpy counts rows from 0 in conversion errors, from 1 in column-count errors
            line = int(m.group(1)) + (1 if "could not convert" in msg else 0)
            where = f", line {line}"
        raise DataFormatError(f"{path}{where}: {msg}; expected {expected}.") from None
    except UnicodeDecodeError:
        raise DataFormatError(f"{path}: not a text file; expected {expected}.") from None
    if data.size == 0:
        raise DataFormatError(f"{path}: holds no rows; expected {expected}.")
    if data.shape[1] != len(PAMAP2_COLUMNS):
        raise DataFormatError(
            f"{path}, line 1: found {data.shape[1]} columns; expected {expected}."
        )
    act = data[:, 1]
    bad = ~np.isfinite(act) | (act != np.round(act))
    if bad.any():
        line = int(np.flatnonzero(bad)[0]) + 1
        raise DataFormatError(
            f"{path}, line {line}: activity id {float(act[line - 1])} is not an integer; expected an "
            f"integer activity id in column 2."
        )
    if not np.isfinite(data[:, 0]).all():
        line = int(np.flatnonzero(~np.isfinite(data[:, 0]))[0]) + 1
        raise DataFormatError(
            f"{path}, line {line}: missing timestamp; expected seconds in column 1."
        )
    return data


def _interpolate(values: np.ndarray) -> np.ndarray:
    """Linear interpolation over rows per column; edges take the nearest valid value."""
    out = values.copy()
    rows = np.arange(values.shape[0])
    for j in range(values.shape[1]):
        col = out[:, j]
        ok = np.isfinite(col)
        if ok.all() or not ok.any():
            continue
        col[~ok] = np.interp(rows[~ok], rows[ok], col[ok])
    return out


def load_pamap2(
    path_or_paths: Any,
    *,
    columns: Sequence[str] | None = None,
    include_orientation: bool = False,
    drop_transient: bool = True,
    nan: str = "interpolate",
) -> Pamap2Recording:
    """Load PAMAP2 protocol ``.dat`` files (one per subject) with named columns.

    Parameters
    ----------
    path_or_paths : str, os.PathLike, or a sequence of them
        One ``subjectNNN.dat`` file (optionally gzip), a folder (all ``*.dat`` and ``*.dat.gz``
        in it, sorted), or a list of files. Rows of several files are concatenated in order.
    columns : sequence of str, optional
        Sensor columns to keep (names from :data:`PAMAP2_COLUMNS`, not timestamp or activity id).
        Default: heart rate and every IMU column, without the invalid orientation columns unless
        ``include_orientation``.
    include_orientation : bool, default False
        Keep the 12 orientation columns in the default selection.
    drop_transient : bool, default True
        Drop the rows of activity 0 (transient periods).
    nan : {"interpolate", "drop", "keep"}, default "interpolate"
        Missing values: linear interpolation in time within each subject (edges take the nearest
        value; a column with no value at all stays NaN), drop every row with a NaN in the selected
        columns, or keep them.

    Returns
    -------
    Pamap2Recording
        ``values (T, K)``, ``columns``, ``timestamp (T,)``, ``activity (T,)``, ``subject (T,)``;
        ``.X`` gives the ``(1, K, T)`` view.

    Raises
    ------
    FileNotFoundError
        A file or folder does not exist.
    DataFormatError
        A file does not have 54 numeric columns, a non-integer activity id or a missing timestamp
        (the message names the file and the line), or a folder holds no ``.dat`` file.
    ParameterError
        Unknown column name or option.

    Examples
    --------
    A three-row file (54 columns) whose first row is transient (activity 0):

    >>> import pathlib, tempfile
    >>> rows = [[0.01 * t, 4 if t else 0, 100] + [t + k for k in range(51)] for t in range(3)]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp) / "subject101.dat"
    ...     _ = p.write_text("".join(" ".join(map(str, r)) + "\\n" for r in rows))
    ...     rec = load_pamap2(p)
    ...     raw = load_pamap2(p, columns=["hand_acc16_x"], drop_transient=False)
    >>> rec.values.shape, rec.X.shape, rec.activity.tolist(), rec.columns[:2]
    ((2, 40), (1, 40, 2), [4, 4], ('heart_rate', 'hand_temperature'))
    >>> raw.X.tolist()
    [[[1.0, 2.0, 3.0]]]
    """
    nan = check_choice(nan, "nan", ("interpolate", "drop", "keep"))
    if isinstance(path_or_paths, str | Path) or hasattr(path_or_paths, "__fspath__"):
        p = as_path(path_or_paths, "path_or_paths")
        if p.is_dir():
            files = sorted(
                q for q in p.iterdir() if q.name.endswith(".dat") or q.name.endswith(".dat.gz")
            )
            if not files:
                raise DataFormatError(f"{p}: no .dat file; expected PAMAP2 subjectNNN.dat files.")
        else:
            files = [p]
    else:
        files = [as_path(q, "path_or_paths") for q in path_or_paths]
        if not files:
            raise DataFormatError("path_or_paths is empty; expected at least one .dat file.")

    sensor_names = PAMAP2_COLUMNS[2:]
    if columns is None:
        selected = [c for c in sensor_names if include_orientation or "orientation" not in c]
    else:
        selected = [check_choice(c, "columns", sensor_names) for c in columns]
        if not selected:
            raise DataFormatError("columns is empty; expected at least one sensor column.")
    idx = [PAMAP2_COLUMNS.index(c) for c in selected]

    parts_v, parts_t, parts_a, parts_s = [], [], [], []
    for k, f in enumerate(files):
        data = _read_one(f)
        m = re.search(r"subject(\d+)", f.name)
        subject = int(m.group(1)) if m else k
        values = data[:, idx]
        if nan == "interpolate":
            values = _interpolate(values)
        keep = np.ones(data.shape[0], dtype=bool)
        if drop_transient:
            keep &= data[:, 1] != 0
        if nan == "drop":
            keep &= np.isfinite(values).all(axis=1)
        parts_v.append(values[keep])
        parts_t.append(data[keep, 0])
        parts_a.append(data[keep, 1].astype(np.int64))
        parts_s.append(np.full(int(keep.sum()), subject, dtype=np.int64))

    return Pamap2Recording(
        values=np.concatenate(parts_v),
        columns=tuple(selected),
        timestamp=np.concatenate(parts_t),
        activity=np.concatenate(parts_a),
        subject=np.concatenate(parts_s),
    )
