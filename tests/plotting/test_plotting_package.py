"""The package: matplotlib is not imported at ``import tsexplain.plotting``; re-exports."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tsexplain.plotting as plotting


def test_import_does_not_load_matplotlib():
    code = (
        "import sys, tsexplain.plotting as p; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'; "
        "p.channel_importance; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported by the aggregates'; "
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_public_names():
    for name in plotting.__all__:
        assert callable(getattr(plotting, name)), name
    assert set(plotting.__all__) <= set(dir(plotting))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        plotting.nope  # noqa: B018


def test_filter_plots_are_reexported():
    from tsexplain.plotting import filters

    assert filters.__all__
    for name in filters.__all__:
        assert getattr(plotting, name) is getattr(filters, name)
        assert name in plotting.__all__ and name in dir(plotting)
