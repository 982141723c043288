"""Print the tables and write ``report.md`` and ``results.json``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from tsexplain.benchmark._common import fmt


def text_table(table: dict[str, Any]) -> str:
    """A table as aligned plain text."""
    cols = table["columns"]
    cells = [[fmt(v) for v in row] for row in table["rows"]]
    widths = [max(len(str(c)), *(len(r[i]) for r in cells)) if cells else len(str(c))
              for i, c in enumerate(cols)]
    lines = [table["title"]]
    lines.append("  ".join(str(c).ljust(w) for c, w in zip(cols, widths, strict=True)))
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    return "\n".join(lines)


def markdown_table(table: dict[str, Any]) -> str:
    cols = [str(c) if c else " " for c in table["columns"]]
    out = [f"**{table['title']}**", "", "| " + " | ".join(cols) + " |",
           "|" + "|".join("---" for _ in cols) + "|"]
    for row in table["rows"]:
        out.append("| " + " | ".join(fmt(v) for v in row) + " |")
    if table.get("note"):
        out += ["", f"_{table['note']}_"]
    return "\n".join(out)


def print_section(section: dict[str, Any], write: Any = print) -> None:
    write("")
    write(f"== {section['title']} ({section['seconds']:.1f} s)")
    for msg in section["skipped"]:
        write(msg)
    for t in section["tables"]:
        write("")
        write(text_table(t))
    if section["floors"]:
        write("")
        for f in section["floors"]:
            write(f"  [{'MET' if f['met'] else 'NOT MET'}] {f['name']}: {f['detail']}")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(results: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(_jsonable(results), indent=1, allow_nan=False))
    return path


def write_markdown(results: dict[str, Any], path: Path, discussion: dict[str, list[str]]) -> Path:
    meta = results["meta"]
    lines = [
        "# tsexplain benchmark: the papers' tables reproduced",
        "",
        f"Run: `{meta['command']}`, size **{meta['size']}**, seed {meta['seed']}, "
        f"{meta['seconds']:.0f} s in all ({meta['seconds'] / 60:.1f} min) on {meta['cpus']} CPU(s), "
        f"torch {meta['torch']}, {meta['when']}.",
        "",
        "Every table puts our figure beside the paper's where the paper has one; "
        "`ours - paper` is the difference. Where they differ, the discussion under each section "
        "says by how much and why we think so.",
        "",
        "## Floors",
        "",
        "| section | floor | met | measured |",
        "|---|---|---|---|",
    ]
    for name, sec in results["sections"].items():
        for f in sec["floors"]:
            lines.append(f"| {name} | {f['name']} | {'yes' if f['met'] else '**no**'} | {f['detail']} |")
    if meta["size"] != "full":
        lines += ["", f"_This is a `{meta['size']}` run: fewer models, epochs and samples than "
                  "the papers (each section's settings say which). The full run is `tsexplain "
                  "benchmark` without --quick._"]
    for name, sec in results["sections"].items():
        lines += ["", f"## {sec['title']}", "", f"_{sec['seconds']:.1f} s. Settings: "
                  f"`{json.dumps(_jsonable(sec['settings']))}`_", ""]
        for msg in sec["skipped"]:
            lines += [f"> {msg}", ""]
        for t in sec["tables"]:
            lines += [markdown_table(t), ""]
        if sec["floors"]:
            for f in sec["floors"]:
                lines.append(f"- **{'MET' if f['met'] else 'NOT MET'}**: {f['name']} ({f['detail']})")
            lines.append("")
        notes = list(sec["notes"]) + discussion.get(name, [])
        if notes:
            lines += ["**Discussion**", ""]
            lines += [f"- {n}" for n in notes]
            lines.append("")
        for fig in sec["figures"]:
            lines += [f"![{fig['caption']}]({fig['file']})", "", f"_{fig['caption']}_", ""]
    path.write_text("\n".join(lines) + "\n")
    return path


def merge_results(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One results dict from several runs of disjoint sections (same size and seed), in order.

    The meta of the first part is kept; ``seconds`` is the sum, ``command`` lists each part's.
    """
    if not parts:
        raise ValueError("merge_results needs at least one results dict")
    sizes = {p["meta"]["size"] for p in parts}
    seeds = {p["meta"]["seed"] for p in parts}
    if len(sizes) != 1 or len(seeds) != 1:
        raise ValueError(f"parts differ in size {sorted(sizes)} or seed {sorted(seeds)}")
    sections: dict[str, Any] = {}
    for p in parts:
        overlap = set(sections) & set(p["sections"])
        if overlap:
            raise ValueError(f"sections run twice: {sorted(overlap)}")
        sections.update(p["sections"])
    meta = dict(parts[0]["meta"])
    meta["seconds"] = round(sum(float(p["meta"]["seconds"]) for p in parts), 1)
    meta["command"] = " ; ".join(p["meta"]["command"] for p in parts)
    floors = [f for p in parts for f in p["floors"]]
    return {"meta": meta, "sections": sections, "floors": floors}
