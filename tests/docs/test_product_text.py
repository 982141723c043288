"""Product text speaks of the product: no development notes in src/ or docs/.

Measurements from development belong on the documentation's "Measured behaviour" page, and
nothing refers to files outside the repository or to the tracker's issue numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUFFIXES = {".py", ".md", ".html", ".js", ".css", ".yml", ".txt"}

# what development notes look like, each with why it does not belong in the product
PATTERNS = {
    r"\bFINDINGS\b": "a notes file outside the repository",
    r"\bour copy\b": "the developers' copy of a paper",
    r"\bissue \d+\b": "a tracker issue number",
    r"\bpilots?\b": "a development pilot run",
    r"while it does not exist": "scaffolding for code that now exists",
    r"another developer": "the story of development",
    r"/work/": "an absolute path of the development machine",
}


def _product_files() -> list[Path]:
    files = []
    for top in ("src", "docs"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and path.suffix in SUFFIXES and "figures" not in path.parts:
                files.append(path)
    return files


def test_there_is_product_text_to_check():
    names = {p.name for p in _product_files()}
    assert {"__init__.py", "index.md", "measurements.md"} <= names


@pytest.mark.parametrize(("pattern", "why"), sorted(PATTERNS.items()))
def test_no_development_notes(pattern, why):
    regex = re.compile(pattern, re.IGNORECASE)
    hits = [
        f"{path.relative_to(ROOT)}:{i}: {line.strip()[:100]}"
        for path in _product_files()
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if regex.search(line)
    ]
    assert not hits, f"{why} in product text:\n" + "\n".join(hits)


def test_the_patterns_find_what_they_describe():
    samples = {
        r"\bFINDINGS\b": "see FINDINGS.md",
        r"\bour copy\b": "lost in our copy of the paper",
        r"\bissue \d+\b": "the paper of issue 4",
        r"\bpilots?\b": "the benchmark's pilot",
        r"while it does not exist": "None while it does not exist",
        r"another developer": "another developer's settings",
        r"/work/": "/work/shared/data",
    }
    assert samples.keys() == PATTERNS.keys()
    for pattern, text in samples.items():
        assert re.search(pattern, text, re.IGNORECASE), pattern
    assert not re.search(r"\bissue \d+\b", "tissue 4", re.IGNORECASE)
