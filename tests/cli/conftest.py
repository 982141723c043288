"""Fixtures of the CLI tests: where ../shared/data is, if anywhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    env = os.environ.get("TSEXPLAIN_SHARED_DATA")
    path = Path(env) if env else (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()
    if not path.is_dir():
        pytest.skip(f"shared data folder {path} is absent (set TSEXPLAIN_SHARED_DATA to point at it)")
    return path
