"""The HTML writer and the faithfulness scores behind the report."""

from __future__ import annotations

import numpy as np
import torch

import tsexplain
from tsexplain.report import HtmlReport, faithfulness_scores


def test_html_report_escapes_text_and_embeds_figures(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    page = HtmlReport("a <title>")
    page.paragraph("x < y & <script>")
    page.table(["name", "value"], [["<b>", 0.5], ["nan", float("nan")]])
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    page.figure(fig, "a figure")
    html = page.write(tmp_path / "r.html").read_text()
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert html.count("data:image/png;base64,") == 1 and "n/a" in html
    assert "<td class='n'>0.5</td>" in html


def test_faithfulness_scores_for_one_target_all_outputs_and_time_smoothgrad():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 12, 3)).eval()
    x = np.random.default_rng(0).standard_normal((8, 2, 12)).astype(np.float32)
    one = tsexplain.explain(model, x, "gradient_x_input", target="predicted")
    every = tsexplain.explain(model, x, "gradient_x_input", target="all")
    scores = faithfulness_scores(model, x, {"a": one, "b": every}, steps=6)
    # the (N, K, C, T) map read at the predicted class is the predicted-target map
    assert scores["methods"]["a"] == scores["methods"]["b"]
    assert scores["methods"]["a"]["deletion_auc"] < scores["random"]["deletion_auc"]
    assert scores["methods"]["a"]["insertion_auc"] > scores["random"]["insertion_auc"]
    skipped = faithfulness_scores(model, x, {"time_smoothgrad": one}, steps=6)
    assert "skipped" in skipped["methods"]["time_smoothgrad"] and "random" not in skipped
