"""``tsexplain.benchmark``: the papers' tables reproduced, every figure beside the paper's.

One module per reproduction, each ``run(ctx) -> Section``:

- ``time_smoothgrad``: AR(2)-states world, Tables 1-2, lift chart, window sweep, Figure 1;
- ``agra``: quality-signals world, Tables I-IV and Figure 4 (``train_ensemble``);
- ``anomaly``: TSViz anomaly world, share of attribution on pressure, localisation;
- ``real_data``: the shipped FordA CNN, every method's deletion / insertion against random,
  internet traffic, PAMAP2 (when present);
- ``tsviz``: TSViz Table 1 on the internet-traffic CNN (most / least / random / cluster
  representative filter removed per layer, with and without fine-tuning);
- ``ismail``: the Ismail et al. (NeurIPS 2020) layouts, precision of the top cells.
- ``methods``: every registered method ranked on the Ismail layouts, the anomaly world and
  the quality-signals world (localisation, deletion/insertion, cost per series).

:func:`run` runs them, prints the tables with progress and, with ``out``, writes ``report.md``
(with PNG figures) and ``results.json``. ``tsexplain benchmark`` is the same from the shell.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tsexplain.benchmark._common import SIZES, Context, Section, resolve_data_dir
from tsexplain.exceptions import ParameterError

#: Reproductions by name, in run order.
REPRODUCTIONS = ("time_smoothgrad", "agra", "anomaly", "real_data", "tsviz", "ismail", "methods")

__all__ = ["REPRODUCTIONS", "SIZES", "run", "run_one"]


def run_one(name: str, ctx: Context, tried: Sequence[Path] = ()) -> Section:
    """Run one reproduction (a name from :data:`REPRODUCTIONS`) and time it.

    Examples
    --------
    ``real_data`` without a data folder skips each part with a message, in milliseconds (the
    synthetic reproductions at ``size="tiny"`` take seconds with torch's default threads, which
    :func:`run` sets to 1):

    >>> from tsexplain.benchmark._common import Context
    >>> section = run_one("real_data", Context(size="tiny", data_dir=None, say=lambda msg: None))
    >>> section.name, section.tables, section.skipped[0].startswith("SKIPPED FordA")
    ('real_data', [], True)
    >>> sorted(section.as_dict())  # doctest: +NORMALIZE_WHITESPACE
    ['figures', 'floors', 'metrics', 'name', 'notes', 'seconds', 'settings', 'skipped',
     'tables', 'title']
    """
    if name not in REPRODUCTIONS:
        raise ParameterError(f"unknown reproduction {name!r}; available: {', '.join(REPRODUCTIONS)}")
    module_name = "agra_calibration" if name == "agra" and ctx.calibrate else name
    module = importlib.import_module(f"tsexplain.benchmark.{module_name}")
    t0 = time.perf_counter()
    section = module.run(ctx, list(tried)) if name == "real_data" else module.run(ctx)
    section.seconds = time.perf_counter() - t0
    return section


def run(
    quick: bool = True,
    data_dir: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    seed: int = 0,
    progress: bool = True,
    *,
    only: Sequence[str] | None = None,
    size: str | None = None,
    threads: int | None = 1,
    calibrate: bool = False,
) -> dict[str, Any]:
    """Run the reproductions and return every figure.

    Parameters
    ----------
    quick : bool
        Smaller models, fewer epochs and samples: all of it in under 10 minutes on 2 CPUs. The
        report says what was reduced.
    data_dir : path, optional
        Folder with the real data (``FordA/``, ``InternetTraffic_B5M/``, ``PAMAP2/``). Default:
        ``$TSEXPLAIN_SHARED_DATA``, else ``../shared/data`` next to the repository, else
        ``../shared/data`` from the working directory. Absent files skip their part with a
        message saying what was looked for, and where.
    out : path, optional
        Folder for ``report.md``, ``results.json`` and the PNG figures (created). None writes
        nothing.
    seed : int
        Seed of data generation and training.
    progress : bool
        Print progress and the tables.
    only : sequence of str, optional
        Names from :data:`REPRODUCTIONS` to run (default: all).
    size : {"full", "quick", "tiny"}, optional
        Overrides ``quick``; ``"tiny"`` runs in seconds for tests (the figures mean nothing).
    calibrate : bool
        Run the AGRA calibration grid (:mod:`tsexplain.benchmark.agra_calibration`) in place
        of the AGRA section.
    threads : int or None
        torch intra-op threads during the run (restored after). Default 1: multi-threaded torch
        slows down sharply when another process is busy on the same cores; None leaves
        torch's setting.

    Returns
    -------
    dict
        ``{"meta": {...}, "sections": {name: {"tables", "floors", "metrics", "notes",
        "figures", "skipped", "settings", "seconds"}}, "floors": [...]}``.

    Examples
    --------
    One section at the smallest size, nothing printed or written (about a second, mostly imports):

    >>> results = run(size="tiny", only=["ismail"], progress=False)
    >>> sorted(results), list(results["sections"]), results["meta"]["size"]
    (['floors', 'meta', 'sections'], ['ismail'], 'tiny')
    >>> sorted(results["sections"]["ismail"])  # doctest: +NORMALIZE_WHITESPACE
    ['figures', 'floors', 'metrics', 'name', 'notes', 'seconds', 'settings', 'skipped',
     'tables', 'title']
    """
    import torch

    size = size or ("quick" if quick else "full")
    if size not in SIZES:
        raise ParameterError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    names = list(REPRODUCTIONS) if not only else list(only)
    for n in names:
        if n not in REPRODUCTIONS:
            raise ParameterError(f"unknown reproduction {n!r}; available: {', '.join(REPRODUCTIONS)}")
    out_dir = Path(out) if out is not None else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    ddir, tried = resolve_data_dir(data_dir)

    from tqdm.auto import tqdm

    from tsexplain.benchmark import report

    bar = tqdm(names, desc="benchmark", unit="part", disable=not progress, file=sys.stderr)

    def say(msg: str = "") -> None:
        if progress:
            tqdm.write(msg, file=sys.stdout)

    ctx = Context(size=size, seed=seed, data_dir=ddir, out=out_dir, say=say, calibrate=calibrate)
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    t0 = time.perf_counter()
    sections: dict[str, dict[str, Any]] = {}
    try:
        for name in bar:
            bar.set_postfix_str(name)
            say(f"-- {name} ({size})")
            sec = _run_section(name, ctx, tried)
            sections[name] = sec.as_dict()
            if progress:
                report.print_section(sections[name], say)
    finally:
        torch.set_num_threads(old_threads)
        bar.close()
    seconds = time.perf_counter() - t0
    floors = [{"section": n, **f} for n, s in sections.items() for f in s["floors"]]
    results = {
        "meta": {
            "size": size, "seed": seed, "seconds": round(seconds, 1),
            "data_dir": str(ddir) if ddir else None,
            "command": "tsexplain benchmark" + (" --quick" if size == "quick" else "")
            + (f" --only {' '.join(names)}" if only else "")
            + (" --calibrate" if calibrate else ""),
            "cpus": os.cpu_count(), "torch_threads": threads or old_threads,
            "torch": torch.__version__, "python": platform.python_version(),
            "when": time.strftime("%Y-%m-%d %H:%M"),
        },
        "sections": sections,
        "floors": floors,
    }
    if progress:
        print(f"\nbenchmark ({size}) finished in {seconds:.0f} s ({seconds / 60:.1f} min); floors met: "
              f"{sum(f['met'] for f in floors)}/{len(floors)}")
        for f in floors:
            if not f["met"]:
                print(f"  NOT MET [{f['section']}] {f['name']}: {f['detail']}")
    if out_dir is not None:
        report.write_json(results, out_dir / "results.json")
        report.write_markdown(results, out_dir / "report.md", _discussion(sections))
        if progress:
            print(f"wrote {out_dir / 'report.md'} and {out_dir / 'results.json'}")
    return results


def _run_section(name: str, ctx: Context, tried: Sequence[Path]) -> Section:
    sec = run_one(name, Context(ctx.size, ctx.seed, ctx.data_dir, ctx.out, ctx.say, ctx.calibrate),
                  tried)
    return sec


def _discussion(sections: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Where we differ from the papers, by how much, and why we think so."""
    from tsexplain.benchmark import discussion

    return discussion.discuss(sections)
