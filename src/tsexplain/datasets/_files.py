"""Opening data files (plain or gzip) and turning read failures into clear errors."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tsexplain.exceptions import DataFormatError, InputTypeError

_GZIP_MAGIC = b"\x1f\x8b"


def as_path(path: Any, name: str = "path") -> Path:
    """Return ``path`` as a :class:`Path`, or raise a TypeError naming the argument."""
    if isinstance(path, str | Path):
        return Path(path)
    if hasattr(path, "__fspath__"):
        return Path(path)
    raise InputTypeError(f"{name} must be a str or os.PathLike, got {type(path).__name__}.")


def open_text(path: Path) -> io.TextIOBase:
    """Open ``path`` for reading text, decompressing gzip (by content, not by name)."""
    if not path.is_file():
        raise FileNotFoundError(f"No such data file: {path}")
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == _GZIP_MAGIC:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline=None)
    return open(path, encoding="utf-8", newline=None)  # noqa: SIM115


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, line without end-of-line)``, numbering from 1."""
    try:
        with open_text(path) as fh:
            for lineno, line in enumerate(fh, start=1):
                yield lineno, line.rstrip("\r\n")
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{path}: not a UTF-8 text file ({err.reason}).") from None
    except (OSError, EOFError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise DataFormatError(f"{path}: cannot be read as text or gzip ({err}).") from None


def strip_suffixes(path: Path) -> tuple[str, str]:
    """Return ``(stem, format)`` of a file name like ``FordA_TRAIN.tsv.gz`` -> ("FordA_TRAIN", "tsv")."""
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    stem, dot, ext = name.rpartition(".")
    if not dot:
        return name, ""
    return stem, ext.lower()
