"""The benchmark at a tiny size: structure and sanity of the figures, the report, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tsexplain.benchmark as bench
from tsexplain.benchmark import report
from tsexplain.benchmark._common import Context, resolve_data_dir


def _ctx(tmp_path: Path | None = None, data_dir: Path | None = None) -> Context:
    return Context(size="tiny", seed=0, data_dir=data_dir, out=tmp_path, say=lambda *a: None)


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("bench")
    res = bench.run(size="tiny", out=out, progress=False,
                    only=["time_smoothgrad", "agra", "anomaly", "ismail"])
    return res, out


def test_run_structure(tiny_results: tuple[dict, Path]) -> None:
    res, out = tiny_results
    assert set(res) == {"meta", "sections", "floors"}
    assert res["meta"]["size"] == "tiny"
    for name, sec in res["sections"].items():
        assert sec["tables"], name
        for t in sec["tables"]:
            assert all(len(r) == len(t["columns"]) for r in t["rows"]), t["title"]
        for f in sec["floors"]:
            assert isinstance(f["met"], bool) and f["detail"]
    # every paper-comparison table carries ours, paper and the difference
    tsg = res["sections"]["time_smoothgrad"]["tables"][0]
    assert tsg["columns"] == ["", "ours", "paper", "ours - paper"]
    row = tsg["rows"][0]
    assert row[2] == 0.870 and row[3] == pytest.approx(row[1] - 0.870)
    # the report and the JSON exist and parse
    md = (out / "report.md").read_text()
    assert "Table 2" in md and "Floors" in md and "paper" in md
    data = json.loads((out / "results.json").read_text())
    assert data["sections"].keys() == res["sections"].keys()
    for sec in res["sections"].values():
        for fig in sec["figures"]:
            assert (out / fig["file"]).is_file()
            assert fig["file"] in md


def test_time_smoothgrad_figures(tiny_results: tuple[dict, Path]) -> None:
    m = tiny_results[0]["sections"]["time_smoothgrad"]["metrics"]
    assert len(m["ndcg_3_states"]["1"]) == 3 and len(m["ndcg_10_states"]["1"]) == 10
    for v in m["ndcg_3_states"].values():
        assert all(0 <= x <= 1 for x in v)
    for n in ("3", "10"):
        assert -1 <= m["table1"][n]["pearson"] <= 1 and m["table1"][n]["mse"] >= 0


def test_agra_figures(tiny_results: tuple[dict, Path]) -> None:
    sec = tiny_results[0]["sections"]["agra"]
    m = sec["metrics"]
    assert set(m["agra"]) == {"GRAD", "GRAD x Input", "SmoothGrad", "SmoothGrad (map)",
                              "Integrated Gradients", "GRAD (SmoothGrad subset)"}
    assert len(m["single"]["GRAD"]) == sec["settings"]["n_models"]
    curve = m["figure4"]
    assert curve["n_models"] == list(range(1, sec["settings"]["n_models"] + 1))
    # the curve's last point is AGRA over all models
    assert curve["mse"][-1] == pytest.approx(m["agra"]["GRAD"][2])
    assert curve["magnitude_pearson"][-1] == pytest.approx(m["agra"]["GRAD"][0])
    assert [f["name"] for f in sec["floors"]][:2] == [
        "single-model GRAD magnitude Pearson >= 0.75",
        "AGRA >= single-model GRAD + 0.10 on magnitude Pearson"]
    # the SmoothGrad map runs at the method's own defaults outside the tiny size
    assert sec["settings"]["smoothgrad"]["noise"] == 0.15


def test_agra_calibration_tiny(tmp_path: Path) -> None:
    sec = bench.run_one("agra", Context(size="tiny", seed=0, out=tmp_path, say=lambda *a: None,
                                        calibrate=True))
    cells = sec.metrics["cells"]
    assert len(cells) == len(sec.tables[0]["rows"]) >= 2
    best = sec.metrics["best"]
    # the chosen cell is the package's default (the one the AGRA section runs), named as such
    # beside the closest one when they differ
    from tsexplain.benchmark import agra

    assert tuple(cells[best]["world"]["score_range"]) == tuple(agra.DEFAULT_WORLD["score_range"])
    assert cells[best]["world"]["width"] == agra.DEFAULT_WORLD["width"]
    assert cells[best]["training"]["restore_best"] is agra.DEFAULT_TRAINING["restore_best"]
    closest = min(range(len(cells)), key=lambda i: cells[i]["distance"])
    assert sec.metrics["closest"] == closest
    assert (best == closest) != any("The closest cell" in n for n in sec.notes)
    assert sec.tables[0]["rows"][best][0].startswith("* ")
    assert (tmp_path / "agra_calibration.png").is_file()
    # each cell states its training, and the members were trained that way
    assert [c["training"] for c in cells] == [{"epochs": 1, "restore_best": True},
                                              {"epochs": 1, "restore_best": False}]
    assert sec.tables[0]["rows"][1][0].endswith("; 1 ep, last")


def test_agra_calibration_cells_are_complete() -> None:
    from tsexplain.benchmark import agra, agra_calibration

    cells = agra_calibration.grid("quick")
    for cell in cells:
        assert set(cell["world"]) == {"noise", "width", "amplitude", "score_range"}
        assert set(cell["training"]) == {"epochs", "restore_best"}
    # a cell means the same members whatever the defaults and the run size are
    ctx = Context(size="tiny", seed=0)
    cfg = agra.world_settings(ctx, agra_calibration.GENERATOR_WORLD,
                              {"epochs": 10, "restore_best": False})
    assert (cfg["epochs"], cfg["restore_best"]) == (10, False)
    assert cfg["world"] == agra_calibration.GENERATOR_WORLD
    cfg = agra.world_settings(ctx)
    assert (cfg["epochs"], cfg["restore_best"]) == (1, agra.DEFAULT_TRAINING["restore_best"])
    # the quick grid holds the package's default cell (60 epochs at the quick size)
    quick = Context(size="quick", seed=0)
    found = [{"world": agra_calibration.cell_settings(quick, c)["world"], "training": c["training"]}
             for c in cells]
    i = agra_calibration.default_cell(quick, found)
    assert i is not None and found[i]["training"] == {"epochs": 60, "restore_best": True}
    assert found[i]["world"] == {**agra.DEFAULT_WORLD}
    assert agra_calibration.default_cell(quick, found[:i] + found[i + 1:]) is None


def test_anomaly_truth_and_random_rows(tiny_results: tuple[dict, Path]) -> None:
    scores = tiny_results[0]["sections"]["anomaly"]["metrics"]["scores"]
    truth = scores["truth (the anomaly mask itself)"]
    assert truth["share_pressure"] == 0.0
    assert truth["mass_on_anomalies"] == pytest.approx(1.0)
    assert truth["pointing_game"] == pytest.approx(1.0)
    rand = scores["random attribution"]
    assert rand["share_pressure"] == pytest.approx(1 / 3, abs=0.05)
    assert len(tiny_results[0]["sections"]["anomaly"]["floors"]) == 4


def test_ismail_truth_scores_one(tiny_results: tuple[dict, Path]) -> None:
    scores = tiny_results[0]["sections"]["ismail"]["metrics"]["scores"]
    for layout in scores.values():
        t = layout["truth (mask)"]
        assert t["cell_precision"] == pytest.approx(1.0)
        assert t["time_precision"] == pytest.approx(1.0)
        assert t["feature_precision"] == pytest.approx(1.0)


def test_perfect_agra_displacement_scores_perfectly() -> None:
    from tsexplain.datasets import make_quality_signals
    from tsexplain.metrics import magnitude_pearson, reconstruction_mse, signed_pearson

    d = make_quality_signals(n_train=8, n_test=8, length=64, seed=1)
    x, ideal = d.X, d.ideal_gradient
    assert magnitude_pearson(ideal, ideal) == pytest.approx(1.0)
    assert signed_pearson(ideal, ideal) == pytest.approx(1.0)
    assert reconstruction_mse(None, x, d.clean, attribution=ideal) == pytest.approx(0.0, abs=1e-12)


def test_missing_data_dir_skips_clearly(tmp_path: Path) -> None:
    from tsexplain.benchmark import real_data

    missing = tmp_path / "nothing_here"
    ddir, tried = resolve_data_dir(missing)
    assert ddir is None and tried == [missing]
    sec = real_data.run(_ctx(data_dir=None), tried)
    assert len(sec.skipped) == 3
    assert all(s.startswith("SKIPPED") and "--data-dir" in s and str(missing) in s for s in sec.skipped)
    assert "FordA" in sec.skipped[0] and "PAMAP2" in sec.skipped[2]
    assert not sec.tables


def test_data_dir_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSEXPLAIN_SHARED_DATA", str(tmp_path))
    assert resolve_data_dir(None)[0] == tmp_path


def test_unknown_part_and_size() -> None:
    with pytest.raises(ValueError, match="unknown reproduction"):
        bench.run(only=["nope"], progress=False)
    with pytest.raises(ValueError, match="size"):
        bench.run(size="huge", progress=False)


def test_text_table_aligns() -> None:
    t = {"title": "T", "columns": ["", "ours", "paper"], "rows": [["a", 0.5, None], ["bb", float("nan"), 1]],
         "note": ""}
    lines = report.text_table(t).splitlines()
    assert lines[0] == "T" and "n/a" in lines[4] and "-" in lines[3]
    assert "| a | 0.500 | - |" in report.markdown_table(t)


def test_real_data_tiny_if_present(tmp_path: Path) -> None:
    ddir, _ = resolve_data_dir(None)
    if ddir is None or not (ddir / "FordA").is_dir():
        pytest.skip("shared data folder absent (../shared/data or $TSEXPLAIN_SHARED_DATA)")
    sec = bench.run_one("real_data", _ctx(tmp_path, ddir), [ddir])
    m = sec.metrics
    assert 0 <= m["forda"]["accuracy"] <= 1
    from tsexplain.attribution import METHODS
    from tsexplain.benchmark.real_data import FORDA_PROTOCOLS

    auc = m["forda"]["auc"]
    assert set(auc) == set(METHODS) | {"random"}  # every registered method against random
    for per in auc.values():
        assert set(per) == {p[0] for p in FORDA_PROTOCOLS}
        for v in per.values():
            assert 0 <= v["auc"] <= 1 and v["diff_low"] <= v["diff"] <= v["diff_high"]
    assert m["traffic"]["naive_mse"] >= 0
    assert any("PAMAP2" in s for s in sec.skipped)


def test_tsviz_table1_tiny_if_present(tmp_path: Path) -> None:
    ddir, _ = resolve_data_dir(None)
    if ddir is None or not (ddir / "InternetTraffic_B5M").is_dir():
        pytest.skip("shared data folder absent (../shared/data or $TSEXPLAIN_SHARED_DATA)")
    sec = bench.run_one("tsviz", _ctx(tmp_path, ddir))
    rows = sec.metrics["layers"]
    assert [r["layer"] for r in rows] == [t[0] for t in sec.tables[0]["rows"]]
    for r in rows:
        # dead filters are never the least influential one, and every MSE is a real number
        assert r["least_filter"] not in r["dead"] and r["most_filter"] not in r["dead"]
        lo, hi = r["random_interval"]
        assert lo <= r["random"] <= hi
        assert all(np.isfinite(r[k]) for k in ("most", "least", "random",
                                                "cluster representative"))


def test_cli_writes_report(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    proc = subprocess.run(
        [sys.executable, "-m", "tsexplain.cli.main", "benchmark", "--size", "tiny", "--only",
         "anomaly", "real_data", "--out", str(out), "--data-dir", str(tmp_path / "absent")],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (out / "report.md").is_file() and (out / "results.json").is_file()
    assert "SKIPPED FordA" in proc.stdout and "SKIPPED PAMAP2" in proc.stdout
    data = json.loads((out / "results.json").read_text())
    assert set(data["sections"]) == {"anomaly", "real_data"}
    assert np.isfinite(data["meta"]["seconds"])


def test_merge_results_of_two_parts() -> None:
    def part(name: str, seconds: float) -> dict:
        return {"meta": {"size": "quick", "seed": 0, "seconds": seconds,
                         "command": f"tsexplain benchmark --quick --only {name}"},
                "sections": {name: {"floors": [{"name": "f", "met": True, "detail": "d"}]}},
                "floors": [{"section": name, "name": "f", "met": True, "detail": "d"}]}

    merged = report.merge_results([part("agra", 10.0), part("anomaly", 5.5)])
    assert list(merged["sections"]) == ["agra", "anomaly"]
    assert merged["meta"]["seconds"] == 15.5 and len(merged["floors"]) == 2
    assert "--only agra" in merged["meta"]["command"] and "--only anomaly" in merged["meta"]["command"]
    with pytest.raises(ValueError, match="twice"):
        report.merge_results([part("agra", 1.0), part("agra", 1.0)])
