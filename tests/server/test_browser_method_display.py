"""The Sample and Data-set aggregates views on a user's own models, with the methods whose
values are not signed contributions and the requests the server refuses.

A CNN with BatchNorm (factory + weights, served with ``--trust-code``) and an LSTM exported
with ``torch.export``, added with ``tsexplain workspace``. In a real headless Chromium:

- a non-negative relevance (Grad-CAM, TSR) is drawn on a sequential scale from 0 in the sample
  heatmap and in the aggregates, and the captions do not speak of red and blue;
- the method picker offers only the methods the explorer serves (no sequence methods, which
  it refuses for every model);
- a refusal (DeepLIFT on an LSTM, a window longer than the series, an unknown layer) is one
  line in place, and the page logs no console error for it (a 4xx answer is the answer).

Skipped without ``/usr/bin/chromium`` or Playwright.
"""

from __future__ import annotations

import urllib.parse

import numpy as np
import pytest

from .test_browser import (  # noqa: F401
    browser,  # noqa: F401 - the shared Chromium fixture
    pytestmark,  # noqa: F401 - skip without chromium/playwright; slow
    rendered,
    serving,
    shot,
)

NETS = '''
import torch
from torch import nn


class BNCNN(nn.Module):
    def __init__(self, n_channels=3, n_classes=3):
        super().__init__()
        self.conv1 = nn.Conv1d(n_channels, 8, 7, padding=3)
        self.bn1 = nn.BatchNorm1d(8)
        self.conv2 = nn.Conv1d(8, 8, 5, padding=2)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.head = nn.Linear(8, n_classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        return self.head(self.pool(torch.relu(self.conv2(x))).flatten(1))


class LSTMNet(nn.Module):
    def __init__(self, n_channels=3, n_classes=3):
        super().__init__()
        self.lstm = nn.LSTM(n_channels, 12, batch_first=True)
        self.head = nn.Linear(12, n_classes)

    def forward(self, x):
        out, _ = self.lstm(x.transpose(1, 2))
        return self.head(out[:, -1])


def make_cnn(n_channels=3, n_classes=3):
    return BNCNN(n_channels, n_classes)
'''


@pytest.fixture(scope="module")
def user_server(tmp_path_factory):
    import importlib.util

    import torch

    from tsexplain.cli.main import main

    d = tmp_path_factory.mktemp("methods_ws")
    (d / "nets.py").write_text(NETS)
    spec = importlib.util.spec_from_file_location("_method_display_nets", d / "nets.py")
    nets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nets)
    torch.manual_seed(0)
    cnn = nets.make_cnn().eval()
    with torch.no_grad():  # BatchNorm statistics of its own, not the identity
        cnn.bn1.running_mean.uniform_(-0.2, 0.2)
        cnn.bn1.running_var.uniform_(0.5, 2.0)
    torch.save(cnn.state_dict(), d / "cnn.pt")
    lstm = nets.LSTMNet().eval()
    torch.export.save(torch.export.export(lstm, (torch.zeros(2, 3, 40),),
                                          dynamic_shapes=({0: torch.export.Dim("batch")},)), d / "lstm.pt2")
    rng = np.random.default_rng(0)
    y = np.arange(12) % 3
    x = rng.standard_normal((12, 3, 40)).astype("float32")
    x[np.arange(12), y, 15:25] += 2.0
    np.savez(d / "data.npz", X=x, y=y, channel_names=np.array(["ax", "ay", "az"]))
    ws = d / "ws"
    assert main(["workspace", "add-data", str(ws), "sensors", str(d / "data.npz"),
                 "--class-names", "up,side,down", "--value-unit", "g", "--time-unit", "s"]) == 0
    assert main(["workspace", "add-model", str(ws), "cnn", f"{d / 'nets.py'}:make_cnn",
                 "--weights", str(d / "cnn.pt"), "--dataset", "sensors"]) == 0
    assert main(["workspace", "add-model", str(ws), "lstm", str(d / "lstm.pt2"), "--dataset", "sensors"]) == 0
    with serving("--workspace", str(ws), "--trust-code", env={"OMP_NUM_THREADS": "1"}) as (base, _):
        yield base


def _watched(page) -> list[str]:
    """Page errors and console errors from now on; the browser's own 'Failed to load resource'
    line for a 4xx answer is not the page's doing."""
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}")
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    return problems


def _sample(page, base: str, model: str, method: str, **params: object) -> None:
    q = {"model": model, "dataset": "sensors", "index": "1", "method": method,
         **{f"p.{k}": str(v) for k, v in params.items()}}
    page.goto(f"{base}/#/sample?{urllib.parse.urlencode(q)}")
    rendered(page, "sample")
    page.wait_for_function("document.querySelector('#attr-meta').textContent.includes(' ms')"
                           " || document.querySelector('#sample-error .error-box')", timeout=120_000)


def _heatmap_scale(page, div: str) -> dict:
    return page.evaluate(f"() => {{ const t = document.getElementById('{div}').data[0]; "
                         "return {colorscale: t.colorscale, zmin: t.zmin, zmax: t.zmax, "
                         "low: Math.min(...t.z.flat())}; }")


@pytest.mark.parametrize(("method", "params"), [("grad_cam", {"layer": "conv2"}),
                                                ("tsr", {"base_method": "saliency"})])
def test_a_non_negative_method_is_drawn_from_zero_with_its_own_caption(user_server, browser,  # noqa: F811
                                                                       method, params):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    problems = _watched(page)
    _sample(page, user_server, "cnn", method, **params)
    meta = page.inner_text("#attr-meta")
    assert meta.startswith(f"{method}(") and "· non-negative ·" in meta
    title = page.inner_text("#sample-series-title")
    assert "non-negative" in title and "red:" not in title and "blue" not in title
    scale = _heatmap_scale(page, "sample-heatmap")
    assert scale["colorscale"] == "Viridis" and scale["zmin"] == 0 and scale["low"] >= 0
    # the data set's time unit: "40 time steps of s", not "40 ss"
    assert "3 channels × 40 time steps of s, values in g" in page.inner_text("#sample-info")
    shot(page, f"method-display-sample-{method}")

    # the aggregates of the same method: non-negative means from 0, not around it
    page.goto(f"{user_server}/#/aggregates?model=cnn&dataset=sensors&method={method}&"
              + urllib.parse.urlencode({f"p.{k}": v for k, v in params.items()}))
    rendered(page, "aggregates")
    page.wait_for_selector("#agg-0 .main-svg", timeout=120_000)
    for i in range(3):
        agg = _heatmap_scale(page, f"agg-{i}")
        assert agg["colorscale"] == "Viridis" and agg["zmin"] == 0 and agg["low"] >= 0
    shot(page, f"method-display-aggregates-{method}")
    page.close()
    assert problems == []


def test_a_signed_method_keeps_the_diverging_scale(user_server, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    _sample(page, user_server, "cnn", "integrated_gradients", steps=8)
    assert "· signed ·" in page.inner_text("#attr-meta")
    assert "red: raises the explained output" in page.inner_text("#sample-series-title")
    scale = _heatmap_scale(page, "sample-heatmap")
    assert scale["colorscale"] == "RdBu" and scale["zmin"] == -scale["zmax"]
    page.goto(f"{user_server}/#/aggregates?model=cnn&dataset=sensors&method=integrated_gradients&p.steps=8")
    rendered(page, "aggregates")
    page.wait_for_selector("#agg-0 .main-svg", timeout=120_000)
    agg = _heatmap_scale(page, "agg-0")
    assert agg["colorscale"] == "RdBu" and agg["zmin"] == -agg["zmax"]
    page.close()


def test_the_picker_offers_the_methods_the_explorer_serves(user_server, browser):  # noqa: F811
    import json
    import urllib.request

    with urllib.request.urlopen(f"{user_server}/api/v1/methods") as r:
        listed = json.load(r)
    served = [m["name"] for m in listed if not m["sequence_method"]]
    assert len(served) < len(listed)  # time_smoothgrad is listed by the API, for what it is
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    _sample(page, user_server, "cnn", "saliency")
    offered = page.evaluate("() => [...document.querySelectorAll('#sample-method-select option')].map(o => o.value)")
    assert offered == served
    page.close()


@pytest.mark.parametrize(("model", "method", "params", "needle"), [
    ("lstm", "deeplift", {}, "deeplift: the forward of 'lstm' (LSTM) applies lstm"),
    ("cnn", "occlusion", {"window": 500}, "window must be at most T = 40 time steps, got 500"),
    ("cnn", "grad_cam", {"layer": "conv9"}, "grad_cam: no layer named 'conv9' in the model"),
    ("lstm", "grad_cam", {}, "grad_cam: the model has no Conv1d layer; pass layer="),
])
def test_a_refusal_is_one_line_in_place_and_no_console_error(user_server, browser,  # noqa: F811
                                                             model, method, params, needle):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    problems = _watched(page)
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if r.url.endswith("/api/v1/explain") else None)
    _sample(page, user_server, model, method, **params)
    box = page.inner_text("#sample-error .error-box")
    assert box.startswith("422: ") and needle in box and "\n" not in box.strip()
    assert page.inner_text("#attr-meta") == ""
    assert statuses == [422]
    page.close()
    assert problems == []


def test_tsr_takes_its_inner_methods_parameters_from_the_picker(user_server, browser):  # noqa: F811
    """base_params is typed as a JSON object; it travels in the URL and reaches the server as an
    object (it was sent as text, which the server answered with a 500)."""
    import json

    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    problems = _watched(page)
    bodies: list[dict] = []
    page.on("request", lambda r: bodies.append(json.loads(r.post_data)) if r.url.endswith("/api/v1/explain") else None)
    _sample(page, user_server, "cnn", "tsr", base_method="integrated_gradients")
    box = page.locator("#sample-method-params input[data-param=base_params]")
    box.fill('{"steps": 4}')
    box.dispatch_event("change")
    page.wait_for_function("document.querySelector('#attr-meta').textContent.includes('base_params={\"steps\":4}')",
                           timeout=120_000)
    assert bodies[-1]["params"] == {"base_method": "integrated_gradients", "base_params": {"steps": 4}}
    assert "p.base_params=" in page.url
    page.reload()  # the URL reproduces it
    rendered(page, "sample")
    page.wait_for_function("document.querySelector('#attr-meta').textContent.includes('base_params={\"steps\":4}')",
                           timeout=120_000)
    assert page.input_value("#sample-method-params input[data-param=base_params]") == '{"steps":4}'
    page.close()
    assert problems == []
