"""A univariate series from a CSV file, seen as sliding windows for forecasting.

TSViz's traffic model reads 50 steps and predicts the next one; its input has two channels: the
series and its first-order difference.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tsexplain._validation import check_float, check_int
from tsexplain.datasets._files import as_path, read_lines
from tsexplain.datasets.containers import SeriesDataset
from tsexplain.exceptions import DataFormatError, ParameterError

__all__ = ["load_csv_series", "ForecastingDataset"]


@dataclass(frozen=True, kw_only=True, repr=False)
class ForecastingDataset(SeriesDataset):
    """Sliding windows over one series, with the value ``horizon`` steps after each window.

    Attributes
    ----------
    X : numpy.ndarray of shape (N, C, window)
        Channel 0: the series; channel 1 (with ``difference=True``): ``s[t] - s[t-1]`` (0 at the
        series' first step).
    y : numpy.ndarray of shape (N,)
        ``s[i + window - 1 + horizon]`` for window ``i``.
    train_mask : numpy.ndarray of bool, shape (N,)
        True for windows whose target lies in the first ``train_fraction`` of the series.
    series : numpy.ndarray of shape (L,)
        The whole series as read.
    target_index : numpy.ndarray of int, shape (N,)
        Position in ``series`` of each target.
    times : tuple of str
        The time column's text per row, if the file has one (else empty).

    Examples
    --------
    :func:`~tsexplain.datasets.load_csv_series` returns one:

    >>> import pathlib, tempfile
    >>> from tsexplain.datasets import load_csv_series
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp) / "s.csv"
    ...     _ = p.write_text("t,v\\n" + "".join(f"{i},{10 * i}\\n" for i in range(6)))
    ...     d = load_csv_series(p, "v", window=2, train_fraction=0.5)
    >>> d.X.shape, d.y.tolist(), d.target_index.tolist(), d.times[:2]
    ((4, 1, 2), [20.0, 30.0, 40.0, 50.0], [2, 3, 4, 5], ('0', '1'))
    >>> d.train.y.tolist(), d.test.y.tolist()
    ([20.0], [30.0, 40.0, 50.0])
    """

    series: np.ndarray
    target_index: np.ndarray
    times: tuple[str, ...] = ()

    _per_sample: ClassVar[tuple[str, ...]] = (*SeriesDataset._per_sample, "target_index")


def _to_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def load_csv_series(
    path: Any,
    column: str | int | None = None,
    *,
    window: int = 50,
    horizon: int = 1,
    difference: bool = False,
    train_fraction: float = 0.8,
    delimiter: str = ",",
) -> ForecastingDataset:
    """Read one numeric column of a CSV file and cut it into forecasting windows.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file (optionally gzip). A header row is detected: the first row is a header when
        the chosen column does not hold a number there.
    column : str, int or None, default None
        The column to read: a header name, a 0-based index, or None for the last column.
    window : int, default 50
        Steps per input window (T).
    horizon : int, default 1
        How many steps after the window's last step the target lies.
    difference : bool, default False
        Add the first-difference channel (TSViz's traffic model), giving C = 2.
    train_fraction : float, default 0.8
        Windows whose target falls in the first ``train_fraction`` of the series are training
        windows; the rest are test windows (a chronological split, no shuffling).
    delimiter : str, default ","
        Field separator.

    Returns
    -------
    ForecastingDataset
        ``X (N, C, window)``, ``y (N,)``, ``train_mask (N,)``, ``series (L,)``,
        ``target_index (N,)``, ``times``; N = L - window - horizon + 1. The values are as read
        (not normalised).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    DataFormatError
        A value is not a number or missing (file and line named), a row lacks the column, the
        header lacks the named column, or the series is too short for one window.
    ParameterError
        A size or fraction is out of range.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = p.write_text("t,v\\n" + "".join(f"{i},{i * i}\\n" for i in range(6)))
    >>> d = load_csv_series(p, "v", window=3, difference=True)
    >>> d.X.shape, d.y.tolist()
    ((3, 2, 3), [9.0, 16.0, 25.0])
    >>> d.X[0].tolist()
    [[0.0, 1.0, 4.0], [0.0, 1.0, 3.0]]
    """
    file = as_path(path)
    window = check_int(window, "window", minimum=1)
    horizon = check_int(horizon, "horizon", minimum=1)
    train_fraction = check_float(train_fraction, "train_fraction", minimum=0.0)
    if train_fraction > 1.0:
        raise ParameterError(f"train_fraction must be in [0, 1], got {train_fraction}.")

    values: list[float] = []
    times: list[str] = []
    col_idx: int | None = None
    expected = "a number in every row of the chosen column"
    rows = csv.reader((line for _, line in read_lines(file)), delimiter=delimiter)
    for lineno, row in enumerate(rows, start=1):
        if not row or all(not f.strip() for f in row):
            continue
        if col_idx is None:
            col_idx = _resolve_column(column, row, file)
            if col_idx >= len(row):
                raise DataFormatError(
                    f"{file}, line {lineno}: column {column!r} does not exist (the row has "
                    f"{len(row)} fields)."
                )
            if _to_float(row[col_idx].strip()) is None:  # a header row
                continue
        if col_idx >= len(row):
            raise DataFormatError(
                f"{file}, line {lineno}: {len(row)} field(s), no column {col_idx}; expected "
                f"{expected}."
            )
        v = _to_float(row[col_idx].strip())
        if v is None or not np.isfinite(v):
            raise DataFormatError(
                f"{file}, line {lineno}: {row[col_idx].strip()[:40]!r} in column {col_idx} is not a "
                f"finite number; expected {expected}."
            )
        values.append(v)
        if col_idx != 0:
            times.append(row[0].strip())
    series = np.asarray(values, dtype=float)
    n_windows = series.size - window - horizon + 1
    if n_windows < 1:
        raise DataFormatError(
            f"{file}: {series.size} values, too few for one window of {window} plus horizon "
            f"{horizon}; expected at least {window + horizon}."
        )

    from numpy.lib.stride_tricks import sliding_window_view

    channels = [series]
    if difference:
        channels.append(np.concatenate([[0.0], np.diff(series)]))
    stacked = np.stack(channels)  # (C, L)
    x = sliding_window_view(stacked, window, axis=1)[:, :n_windows].transpose(1, 0, 2).copy()
    target_index = np.arange(n_windows) + window - 1 + horizon
    y = series[target_index]
    train_mask = target_index < int(round(train_fraction * series.size))
    names = ("value", "difference") if difference else ("value",)
    return ForecastingDataset(
        X=x,
        y=y,
        train_mask=train_mask,
        channel_names=names,
        series=series,
        target_index=target_index,
        times=tuple(times),
    )


def _resolve_column(column: str | int | None, first_row: list[str], file: Any) -> int:
    if column is None:
        return len(first_row) - 1
    if isinstance(column, bool) or not isinstance(column, int | str):
        raise ParameterError(f"column must be a name, an index or None, got {column!r}.")
    if isinstance(column, int):
        if column < 0:
            column += len(first_row)
        if column < 0:
            raise ParameterError(f"column index out of range for {len(first_row)} fields.")
        return column
    names = [f.strip().strip('"') for f in first_row]
    if column not in names:
        raise DataFormatError(
            f"{file}, line 1: no column named {column!r}; the header has {names}."
        )
    return names.index(column)
