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
    from tsexplain.plotting import _filters_public, filters

    names = _filters_public(filters)
    assert names
    for name in names:
        assert getattr(plotting, name) is getattr(filters, name)
        assert name in dir(plotting)


def test_reexport_mechanism_with_a_stand_in_filters_module(monkeypatch):
    import types

    fake = types.ModuleType("tsexplain.plotting.filters")

    def plot_filter_stand_in():
        return "drawn"

    fake.__all__ = ["plot_filter_stand_in"]
    fake.plot_filter_stand_in = plot_filter_stand_in
    monkeypatch.setitem(sys.modules, "tsexplain.plotting.filters", fake)
    try:
        assert plotting.plot_filter_stand_in() == "drawn"
        assert "plot_filter_stand_in" in dir(plotting)
    finally:
        vars(plotting).pop("plot_filter_stand_in", None)  # the lazy lookup caches it
