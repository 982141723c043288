"""End to end in a real headless Chromium (Debian package) via Playwright.

The test creates a small demo workspace, starts ``tsexplain serve`` on 127.0.0.1 on a free port
(the CLI reuses the workspace), clicks overview -> sample -> layer -> cluster -> adversarial
(plus compare, inverse, aggregates), checks what is drawn (Plotly traces, numbers, URL state) and
saves screenshots to ``test-artifacts/``. Skipped when ``/usr/bin/chromium`` is missing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)"),
    pytest.mark.slow,
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """``tsexplain serve ARGS`` on 127.0.0.1 on a free port: (its base URL, the process), once it
    answers /health; stopped on exit."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsexplain.cli.main", "serve", *args, "--port", str(port), "--no-browser"],
        env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v1/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"server did not start: {proc.stdout.read() if proc.stdout else ''}") from None
                time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tsexplain.server.demo_workspace import ensure_demo_workspace

    ws = tmp_path_factory.mktemp("demo") / "demo-workspace"
    ensure_demo_workspace(ws, n_train=1500, say=lambda s: None)
    with serving(env={"TSEXPLAIN_DEMO_WORKSPACE": str(ws)}) as (base, proc):
        yield base, proc


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def rendered(page, view: str, timeout: float = 60_000) -> None:
    page.wait_for_function(f"document.body.dataset.rendered === '{view}'", timeout=timeout)


def watched(page) -> tuple[list[str], list[str]]:
    """(problems, 4xx answers) of ``page`` from now on, filled as it runs: page errors, console
    errors and 5xx answers are problems; a 4xx answer, which the browser also logs as "Failed to
    load resource", is listed with its request body for the test to judge."""
    problems: list[str] = []
    answered_4xx: list[str] = []

    def on_response(r) -> None:
        if r.status >= 500:
            problems.append(f"{r.status} {r.url}")
        elif r.status >= 400:
            answered_4xx.append(f"{r.status} {r.url} {r.request.post_data or ''}")

    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}")
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("response", on_response)
    return problems, answered_4xx


#: The button and the result plot of each view that runs a job.
JOB_VIEWS = {"inverse": ("#inverse-run", "#inverse-overlay"), "adversarial": ("#adversarial-run", "#adv-overlay")}


def run_view_job(page, view: str) -> None:
    """On the inverse or adversarial view, run its job and wait for its plot (else nothing)."""
    if view in JOB_VIEWS:
        button, plot = JOB_VIEWS[view]
        page.click(button)
        page.wait_for_selector(f"{plot} .main-svg", timeout=120_000)


def traces(page, div: str) -> list:
    return page.evaluate(f"() => (document.getElementById('{div}').data || []).map(t => ({{type: t.type || 'scatter', n: (t.x || t.z || t.y || []).length, name: t.name || ''}}))")


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_cli_prints_the_url(server):
    base, proc = server
    line = proc.stdout.readline()
    assert f"tsexplain explorer on {base}/" in line


def test_click_through_the_explorer(server, browser):
    base, _ = server
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # overview: model card, layer table, 3D filter stack
    page.goto(f"{base}/")
    rendered(page, "overview")
    assert "112 in 3 conv layers" in page.inner_text("#n-filters")
    (t3d,) = traces(page, "overview-3d")
    assert t3d["type"] == "scatter3d" and t3d["n"] == 112
    assert page.locator("#layer-table tbody tr").count() == 8
    assert "model=anomaly_cnn" in page.url and "dataset=anomaly_test" in page.url
    shot(page, "01-overview")

    # sample: series coloured by attribution, heatmap, prediction with units
    page.click("#nav a[data-view=sample]")
    rendered(page, "sample")
    page.wait_for_function("document.querySelector('#attr-meta').textContent.includes('ms')")
    assert "P(anomalous) = " in page.inner_text("#prediction")
    assert "rings: true anomalies" in page.inner_text("#view")  # the data set has a mask
    assert "integrated_gradients(steps=50" in page.inner_text("#attr-meta")
    assert "logit of the target" in page.inner_text("#attr-meta")
    series = traces(page, "sample-series")
    assert sum(t["n"] == 50 for t in series) >= 6
    (hm,) = traces(page, "sample-heatmap")
    assert hm["type"] == "heatmap" and hm["n"] == 50  # 50 time steps (z: 3 channels)
    page.select_option("#sample-method-select", "saliency")
    page.wait_for_function("document.querySelector('#attr-meta').textContent.startsWith('saliency(')")
    assert "method=saliency" in page.url
    page.click("#next-sample")
    rendered(page, "sample")
    page.wait_for_function("document.querySelector('#attr-meta').textContent.startsWith('saliency(')")
    assert "index=1" in page.url
    shot(page, "02-sample")

    # layer: importance bars shaded by cluster, percentile slider
    page.click("#nav a[data-view=layer]")
    rendered(page, "layer")
    (bars,) = traces(page, "layer-importance")
    assert bars["type"] == "bar" and bars["n"] == 16
    page.locator("#percentile").fill("50")
    page.wait_for_function("document.querySelector('#percentile-label').textContent.includes('8 of 16 filters shown')")
    assert "pct=50" in page.url
    assert len(traces(page, "layer-activations")) == 8
    assert traces(page, "layer-saliency")[0]["type"] == "heatmap"
    shot(page, "03-layer")

    # clusters: silhouette curve and dendrogram cut at k
    page.click("#nav a[data-view=clusters]")
    rendered(page, "clusters")
    sil = traces(page, "cluster-silhouette")
    assert sil[0]["n"] == 30  # k = 2..31 for the 32 filters of net.2
    assert any(t["name"].startswith("cut at k=") for t in traces(page, "cluster-dendrogram"))
    page.evaluate("() => { const s = document.getElementById('cluster-k'); s.value = 4; s.dispatchEvent(new Event('change')); }")
    page.wait_for_function("document.querySelector('#cluster-summary').textContent.includes(': 4 clusters')")
    assert "k=4" in page.url
    assert any(t["name"] == "cut at k=4" for t in traces(page, "cluster-dendrogram"))
    shot(page, "04-clusters")
    shared = page.url

    # adversarial: a job with a progress bar, before/after overlay
    page.click("#nav a[data-view=adversarial]")
    rendered(page, "adversarial")
    page.click("#adversarial-run")
    page.wait_for_selector("#adv-overlay .main-svg", timeout=90_000)
    assert len(traces(page, "adv-overlay")) == 6
    assert float(page.get_attribute("#adversarial-progress", "value") or page.evaluate("document.getElementById('adversarial-progress').value")) == 1.0
    assert "Original: " in page.inner_text("#adv-before") and "Adversarial: " in page.inner_text("#adv-after")
    assert "max |perturbation|" in page.inner_text("#adv-summary")
    assert "job=" in page.url
    shot(page, "05-adversarial")

    # the shared URL restores the cluster view with k = 4
    other = browser.new_page(viewport={"width": 1300, "height": 1000})
    other.goto(shared)
    rendered(other, "clusters")
    other.wait_for_function("document.querySelector('#cluster-summary').textContent.includes(': 4 clusters')")
    other.close()
    assert errors == []


def test_a_page_load_leaves_the_console_clean(server, browser):
    """No console message of level error and no 4xx/5xx answer while the explorer loads, the
    browser's own request for the site icon included (it was a 404)."""
    base, _ = server
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    console: list[str] = []
    failed: list[str] = []
    icons: list[int] = []

    def on_response(r) -> None:
        if "favicon" in r.url:
            icons.append(r.status)
        if r.status >= 400:
            failed.append(f"{r.status} {r.url}")

    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("response", on_response)
    page.goto(f"{base}/")
    rendered(page, "overview")
    for _ in range(50):  # the browser asks for the icon after the page has loaded
        if icons:
            break
        page.wait_for_timeout(100)
    page.close()
    assert icons and all(status == 200 for status in icons), icons
    assert failed == [] and console == []


def test_compare_inverse_and_aggregates(server, browser):
    base, _ = server
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/#/compare?index=3")
    rendered(page, "compare")
    page.wait_for_function("document.querySelectorAll('#compare-grid .main-svg').length >= 4")
    assert all(traces(page, f"compare-{m}")[0]["type"] == "heatmap"
               for m in ("saliency", "gradient_x_input", "smoothgrad", "integrated_gradients"))
    shot(page, "06-compare")

    page.goto(f"{base}/#/inverse?index=3")
    rendered(page, "inverse")
    page.click("#inverse-run")
    page.wait_for_selector("#inverse-overlay .main-svg", timeout=90_000)
    assert len(traces(page, "inverse-overlay")) == 6
    assert "P(anomalous)" in page.inner_text("#inverse-after")
    shot(page, "07-inverse")

    page.goto(f"{base}/#/aggregates?method=saliency")
    rendered(page, "aggregates")
    assert [t["type"] for t in traces(page, "agg-0")] == ["heatmap"]
    assert len(traces(page, "agg-share")) == 2
    assert "grouped by label" in page.inner_text("#agg-meta")
    shot(page, "08-aggregates")
    assert errors == []


# ------------------------------------------------------------------ failure paths, history, staleness
def text(page, sel: str) -> str:
    return page.inner_text(sel)


def test_errors_are_shown_in_the_view_that_caused_them(server, browser):
    base, _ = server
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # Sample: a parameter the server refuses -> the message in place, no "computing…", plots cleared
    page.goto(f"{base}/#/sample?method=smoothgrad&index=2")
    rendered(page, "sample")
    page.wait_for_function("document.querySelector('#attr-meta').textContent.startsWith('smoothgrad(')")
    page.fill("#sample-method-params input[data-param=n_draws]", "100000")
    page.dispatch_event("#sample-method-params input[data-param=n_draws]", "change")
    page.wait_for_selector("#sample-error .error-box")
    assert "exceeds this server's limit" in text(page, "#sample-error")
    assert "422" in text(page, "#sample-error")
    assert "computing" not in text(page, "#attr-meta")
    assert traces(page, "sample-heatmap") == []
    shot(page, "09-sample-error")
    # fixing the parameter clears the error and draws again
    page.fill("#sample-method-params input[data-param=n_draws]", "8")
    page.dispatch_event("#sample-method-params input[data-param=n_draws]", "change")
    page.wait_for_function("document.querySelector('#attr-meta').textContent.includes('n_draws=8')")
    assert page.locator("#sample-error .error-box").count() == 0
    assert traces(page, "sample-heatmap")[0]["type"] == "heatmap"

    # Aggregates: more samples than the server allows
    page.goto(f"{base}/#/aggregates?method=saliency")
    rendered(page, "aggregates")
    page.fill("#agg-n", "5000")
    page.dispatch_event("#agg-n", "change")
    page.wait_for_selector("#agg-error .error-box")
    assert "max_samples" in text(page, "#agg-error") and "computing" not in text(page, "#agg-meta")
    assert page.locator("#agg-grid .card").count() == 0

    # Clusters: a k the layer cannot have
    page.goto(f"{base}/#/clusters?layer=net.2&k=999")
    rendered(page, "clusters")
    page.wait_for_selector("#cluster-error .error-box")
    assert "k must be between 1 and 32" in text(page, "#cluster-error")
    assert "computing" not in text(page, "#cluster-summary")
    shot(page, "10-clusters-error")
    assert errors == []


def test_back_undoes_a_parameter_change(server, browser):
    base, _ = server
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(f"{base}/#/sample?index=4&method=saliency")
    rendered(page, "sample")
    page.wait_for_function("document.querySelector('#attr-meta').textContent.startsWith('saliency(')")
    page.select_option("#sample-method-select", "gradient_x_input")
    page.wait_for_function("document.querySelector('#attr-meta').textContent.startsWith('gradient_x_input(')")
    assert "method=gradient_x_input" in page.url
    page.go_back()
    page.wait_for_function("location.hash.includes('method=saliency')")
    rendered(page, "sample")
    page.wait_for_function("document.querySelector('#attr-meta').textContent.startsWith('saliency(')")
    assert page.eval_on_selector("#sample-method-select", "e => e.value") == "saliency"
    assert "#/sample" in page.url  # Back stayed in the view
    page.go_forward()
    page.wait_for_function("document.querySelector('#attr-meta').textContent.startsWith('gradient_x_input(')")


DELAY_IG = """() => {
  const orig = window.fetch;
  window.fetch = async (url, opts) => {
    if (opts && typeof opts.body === 'string' && opts.body.includes('integrated_gradients')) {
      await new Promise((r) => setTimeout(r, 2500));
    }
    return orig(url, opts);
  };
}"""


def test_a_late_answer_never_replaces_the_current_one(server, browser):
    base, _ = server
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/#/sample?index=5&method=saliency")
    rendered(page, "sample")
    page.wait_for_function("document.querySelector('#attr-meta').textContent.startsWith('saliency(')")
    page.evaluate(DELAY_IG)
    page.select_option("#sample-method-select", "integrated_gradients")  # slow answer
    page.select_option("#sample-method-select", "gradient_x_input")      # fast answer
    page.wait_for_function("document.querySelector('#attr-meta').textContent.startsWith('gradient_x_input(')")
    page.wait_for_timeout(3500)  # the IG answer has arrived by now
    assert text(page, "#attr-meta").startswith("gradient_x_input(")

    # a late answer of a view the user left does not draw into the next view
    page.select_option("#sample-method-select", "integrated_gradients")
    page.click("#nav a[data-view=overview]")
    rendered(page, "overview")
    page.wait_for_timeout(3500)
    assert page.locator("#sample-series").count() == 0 and page.locator("#attr-meta").count() == 0
    assert page.evaluate("document.getElementById('view').dataset.view") == "overview"
    assert errors == []


def test_compare_shared_scale_shares_the_colour_range(server, browser):
    base, _ = server
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.post_data or "") if r.url.endswith("/api/v1/explain") else None)
    page.goto(f"{base}/#/compare?index=6&methods=saliency,gradient_x_input")
    rendered(page, "compare")
    page.wait_for_function("document.querySelectorAll('#compare-grid .main-svg').length >= 2")
    ranges = lambda: page.evaluate(  # noqa: E731
        "() => ['saliency', 'gradient_x_input'].map(m => document.getElementById('compare-' + m).data[0].zmax)")
    own = ranges()
    page.check("#shared-scale")
    page.wait_for_function("document.querySelector('#compare-scale').textContent.startsWith('one colour scale')")
    shared = ranges()
    assert shared[0] == shared[1] == max(own)
    assert "shared=1" in page.url
    assert not any('"method":"on"' in b.replace(" ", "") for b in sent)
    page.uncheck("#shared-scale")
    page.wait_for_function("document.querySelector('#compare-scale').textContent.startsWith('each panel')")
    assert ranges() == own


def test_tsviz_views(server, browser):
    base, _ = server
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{base}/#/filters?layer=net.2&n=50")
    rendered(page, "filters")
    (bars,) = traces(page, "filters-plot")
    assert bars["type"] == "bar" and bars["n"] == 32
    assert "most important filter" in text(page, "#filters-meta")

    page.goto(f"{base}/#/saturation?n=100&T=3")
    rendered(page, "saturation")
    assert "saturated" in text(page, "#sat-meta") and "T = 3" in text(page, "#sat-meta")
    assert len(traces(page, "sat-prob")) == 2 and len(traces(page, "sat-importance")) == 2

    page.goto(f"{base}/#/curves?index=0&n=4&method=saliency")
    rendered(page, "curves")
    assert "deletion area" in text(page, "#curves-meta")
    assert len(traces(page, "curves-deletion")) == 2 and len(traces(page, "curves-insertion")) == 2
    shot(page, "11-curves")

    page.goto(f"{base}/#/adversarial?index=7")
    rendered(page, "adversarial")
    page.check("#adv-targeted")
    page.fill("#adv-y", "7")
    page.click("#adversarial-run")
    page.wait_for_selector("#adversarial-result .error-box")
    assert "between 0 and 1" in text(page, "#adversarial-result")

    page.goto(f"{base}/#/pruning?n=100&strategies=most,least,random")
    rendered(page, "pruning")
    page.click("#faithfulness-run")
    page.wait_for_selector("#faithfulness-table", timeout=180_000)
    assert page.locator("#faithfulness-table tbody tr").count() == 3
    assert "unpruned model" in text(page, "#pruning-table-result")
    shot(page, "12-pruning-table")

    page.goto(f"{base}/api/v1/docs")
    page.wait_for_function("document.body.dataset.rendered === 'docs'")
    assert page.locator("section.card h2").count() > 15 and "ErrorBody" in page.content()
    assert errors == []
