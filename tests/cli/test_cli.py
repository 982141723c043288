"""The command line, run as a user would (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tsexplain.attribution import METHODS, SEQUENCE_METHODS


def tsexplain(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tsexplain.cli.main", *args],
        capture_output=True, text=True, timeout=timeout,
    )


def test_methods_lists_every_registered_method_with_defaults():
    proc = tsexplain("methods")
    assert proc.returncode == 0, proc.stderr
    for name, cls in {**METHODS, **SEQUENCE_METHODS}.items():
        assert name in proc.stdout
        for param, default in cls.parameters().items():
            assert f"{param}={default!r}" in proc.stdout
        assert f"unit: {cls.unit}" in proc.stdout


def test_no_command_prints_help_and_fails():
    proc = tsexplain()
    assert proc.returncode == 2
    assert "COMMAND" in proc.stdout


@pytest.mark.slow
def test_demo_writes_a_report_with_every_method(tmp_path):
    out = tmp_path / "demo"
    proc = tsexplain("demo", "--out", str(out), "--n-explain", "50", "--quiet")
    assert proc.returncode == 0, proc.stderr[-2000:]
    # every figure is closed once written (matplotlib warns past 20 open figures)
    assert "figures have been opened" not in proc.stderr
    # KernelSHAP and LIME run with enough coalitions to identify every group
    assert "coalitions do not separate" not in proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["accuracy"] > 0.95
    # Time-SmoothGrad recovers the switching coefficients (per-step Pearson with the truth)
    assert summary["methods"]["time_smoothgrad"]["per_step_correlation_with_truth"] > 0.9
    for name in ("saliency", "gradient_x_input", "smoothgrad", "integrated_gradients"):
        assert summary["methods"][name]["share_pressure"] < 0.05, name  # a channel never needed
    assert set(summary["methods"]) == set(METHODS) | set(SEQUENCE_METHODS)
    for name in ("saliency", "gradient_x_input", "smoothgrad", "integrated_gradients"):
        assert (out / f"heatmap_{name}.png").stat().st_size > 10_000
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(list(out.glob("*.png")))
    assert (out / "anomaly_cnn.safetensors").exists()
