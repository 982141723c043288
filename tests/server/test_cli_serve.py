"""``tsexplain serve``: arguments, the URL printed, the warning when exposed, the demo workspace."""

from __future__ import annotations

import json

import pytest

from tsexplain.cli import serve
from tsexplain.cli.main import build_parser, main


def test_serve_is_registered_with_loopback_default():
    args = build_parser().parse_args(["serve", "--no-browser"])
    assert args.host == "127.0.0.1" and args.port == 8050 and args.workspace is None and args.no_browser


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                            ("0.0.0.0", False), ("192.168.1.4", False), ("example.org", False)])
def test_is_loopback(host, loopback):
    assert serve.is_loopback(host) is loopback


def test_missing_workspace_is_an_error(tmp_path, capsys):
    assert main(["serve", "--workspace", str(tmp_path / "nope"), "--no-browser"]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_bad_port(tmp_path, capsys):
    assert main(["serve", "--workspace", str(tmp_path), "--port", "70000", "--no-browser"]) == 2
    assert "--port must be 1..65535" in capsys.readouterr().err


def test_prints_url_and_warns_when_exposed(tmp_path, monkeypatch, capsys):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    assert main(["serve", "--workspace", str(tmp_path), "--host", "0.0.0.0", "--port", "8123", "--no-browser"]) == 0
    out, err = capsys.readouterr()
    assert "tsexplain explorer on http://127.0.0.1:8123/" in out
    assert "WARNING: binding to 0.0.0.0 exposes the explorer" in err
    assert calls == [{"host": "0.0.0.0", "port": 8123, "log_level": "warning"}]
    assert main(["serve", "--workspace", str(tmp_path), "--port", "8124", "--no-browser"]) == 0
    assert "WARNING" not in capsys.readouterr().err


def test_demo_workspace_created_once_then_reused(tmp_path, monkeypatch, capsys):
    import uvicorn

    from tsexplain.server.demo_workspace import MODEL, ensure_demo_workspace

    monkeypatch.setenv("TSEXPLAIN_DEMO_WORKSPACE", str(tmp_path / "demo"))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    root = ensure_demo_workspace(tmp_path / "demo", n_train=300, say=lambda s: None)
    weights = root / "models" / f"{MODEL}.safetensors"
    stamp = weights.stat().st_mtime_ns
    info = json.loads((root / "models" / f"{MODEL}.info.json").read_text())
    assert info["task"] == "binary" and info["dataset"] == "anomaly_test"
    assert main(["serve", "--no-browser"]) == 0  # reuses it: no retraining
    assert weights.stat().st_mtime_ns == stamp
    assert f"workspace {root}" in capsys.readouterr().out


def test_allow_host_flag_is_repeatable():
    import argparse

    from tsexplain.cli import serve

    parser = argparse.ArgumentParser()
    serve.register(parser.add_subparsers())
    args = parser.parse_args(["serve", "--allow-host", "lab-server", "--allow-host", "lab.local"])
    assert args.allow_host == ["lab-server", "lab.local"]
    assert parser.parse_args(["serve"]).allow_host == []
