"""Shared pieces of the reproductions: sizes, the context, tables, floors, data lookup."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Sizes a reproduction can run at: the full run, ``--quick`` (< 10 min on 2 CPUs for all of
#: them) and ``tiny`` (seconds; for the tests only, the figures mean nothing).
SIZES = ("full", "quick", "tiny")

#: Environment variable naming the folder with the real data sets.
DATA_ENV = "TSEXPLAIN_SHARED_DATA"


@dataclass
class Context:
    """What a reproduction gets: its size, seed, data folder, figure folder and printer."""

    size: str = "quick"
    seed: int = 0
    data_dir: Path | None = None
    out: Path | None = None
    say: Callable[[str], None] = print
    #: run the AGRA calibration grid instead of the AGRA section
    calibrate: bool = False

    def section(self, name: str, title: str) -> Section:
        """A new, empty :class:`Section` that saves its figures under ``out``."""
        sec = Section(name, title)
        sec.out = self.out
        return sec

    def pick(self, full: Any, quick: Any, tiny: Any) -> Any:
        """The value for this run's size."""
        return {"full": full, "quick": quick, "tiny": tiny}[self.size]


@dataclass
class Section:
    """What a reproduction returns (``as_dict`` is its part of ``results.json``)."""

    name: str
    title: str
    tables: list[dict[str, Any]] = field(default_factory=list)
    figures: list[dict[str, str]] = field(default_factory=list)
    floors: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
              note: str = "") -> dict[str, Any]:
        t = {"title": title, "columns": list(columns), "rows": [list(r) for r in rows], "note": note}
        self.tables.append(t)
        return t

    def compare(self, title: str, rows: Sequence[tuple[str, Any, Any]], note: str = "",
                lower_is_better: bool = False) -> dict[str, Any]:
        """A table of (what, ours, paper) with the difference ours - paper."""
        out = []
        for what, ours, paper in rows:
            diff = (ours - paper) if _is_num(ours) and _is_num(paper) else None
            out.append([what, ours, paper, diff])
        return self.table(title, ["", "ours", "paper", "ours - paper"], out, note)

    def floor(self, name: str, met: bool, detail: str) -> None:
        self.floors.append({"name": name, "met": bool(met), "detail": detail})

    def figure(self, fig: Any, file: str, caption: str) -> None:
        """Save a matplotlib figure under ``out`` (if any) and list it for the report."""
        import matplotlib.pyplot as plt

        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
            fig.savefig(self.out / file, dpi=110, bbox_inches="tight")
            self.figures.append({"file": file, "caption": caption})
        plt.close(fig)

    out: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "seconds": round(self.seconds, 2),
            "settings": self.settings,
            "skipped": self.skipped,
            "floors": self.floors,
            "tables": self.tables,
            "metrics": self.metrics,
            "notes": self.notes,
            "figures": self.figures,
        }


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float | np.floating | np.integer) and not isinstance(v, bool) \
        and math.isfinite(float(v))


def to_float(v: Any) -> float:
    """A plain float (NaN stays NaN) for JSON and tables."""
    return float(np.asarray(v, dtype=float))


class Timer:
    def __enter__(self) -> Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.t0


def default_data_dirs() -> list[Path]:
    """Where real data is looked for, in order: ``$TSEXPLAIN_SHARED_DATA``, ``../shared/data``
    relative to the repository (the folder holding ``src/``), then relative to the working
    directory."""
    dirs: list[Path] = []
    env = os.environ.get(DATA_ENV)
    if env:
        dirs.append(Path(env))
    repo = Path(__file__).resolve().parents[3]
    dirs.append(repo.parent / "shared" / "data")
    dirs.append(Path.cwd().parent / "shared" / "data")
    return dirs


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> tuple[Path | None, list[Path]]:
    """The data folder to use (None when none exists) and the folders that were tried."""
    tried = [Path(data_dir)] if data_dir is not None else default_data_dirs()
    for d in tried:
        if d.is_dir():
            return d, tried
    return None, tried


def find_file(data_dir: Path | None, *candidates: str) -> Path | None:
    """The first of ``candidates`` (paths relative to ``data_dir``) that exists."""
    if data_dir is None:
        return None
    for c in candidates:
        p = data_dir / c
        if p.is_file():
            return p
    return None


def skip_message(what: str, data_dir: Path | None, tried: Sequence[Path], looked_for: str) -> str:
    where = str(data_dir) if data_dir is not None else ", ".join(str(t) for t in tried)
    return (f"SKIPPED {what}: {looked_for} not found in {where}. Pass --data-dir DIR (or set "
            f"${DATA_ENV}) to a folder holding it.")


def fmt(v: Any, digits: int = 3) -> str:
    """One table cell."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        v = float(v)
        if not math.isfinite(v):
            return "n/a"
        if v != 0 and (abs(v) >= 1e4 or abs(v) < 10 ** -digits):
            return f"{v:.{digits}g}"
        return f"{v:.{digits}f}"
    return str(v)


def torch_float(x: Any) -> Any:
    import torch

    return torch.as_tensor(np.asarray(x), dtype=torch.float32)


def predict(model: Any, x: Any, batch: int = 1024) -> np.ndarray:
    """Model outputs on ``x`` (no gradients), batched, as numpy."""
    import torch

    xt = torch_float(x)
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(xt), batch):
            outs.append(model(xt[i : i + batch]).detach().cpu().numpy())
    return np.concatenate(outs) if outs else np.zeros((0,))
