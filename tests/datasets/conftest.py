"""Fixtures of the datasets tests: where ../shared/data is, if anywhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _shared_data_dir() -> Path:
    env = os.environ.get("TSEXPLAIN_SHARED_DATA")
    if env:
        return Path(env)
    # tests/datasets/conftest.py -> repo root is parents[2]; the data sits beside the repo.
    return (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.skip(
            f"shared data folder {path} is absent (set TSEXPLAIN_SHARED_DATA to point at it)"
        )
    return path
