"""A forecaster (a regression model with 4 outputs) in a real headless Chromium: the output picked in
the header reaches the network views and the jobs, and each view's caption names it.

The views used to explain "predicted", the forecaster's largest output (an arbitrary step), and
said nothing about it. Skipped without ``/usr/bin/chromium`` or Playwright.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from .test_browser import (  # noqa: F401
    browser,  # noqa: F401 - the shared Chromium fixture
    pytestmark,  # noqa: F401 - skip without chromium/playwright; slow
    rendered,
    serving,
    shot,
)
from .test_forecaster import make_forecast_workspace


@pytest.fixture(scope="module")
def forecast_server(tmp_path_factory):
    ws = make_forecast_workspace(tmp_path_factory.mktemp("forecast_browser"))
    with serving("--workspace", str(ws), env={"OMP_NUM_THREADS": "1"}) as (base, _):
        yield base


def test_the_output_picked_reaches_the_network_views_and_is_named(forecast_server, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    problems: list[str] = []
    network_requests: list[tuple[str, str | None]] = []  # (path, target) of the network views

    def on_request(r) -> None:
        url = urlparse(r.url)
        if url.path.startswith("/api/v1/models/forecaster/") and url.path != "/api/v1/models/forecaster":
            network_requests.append((url.path, (parse_qs(url.query).get("target") or [None])[0]))

    page.on("request", on_request)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)

    page.goto(f"{forecast_server}/#/overview?model=forecaster&dataset=forecast&index=2")
    rendered(page, "overview")
    assert page.is_visible("#output-select")
    assert "explained output 0 (step 1)" in page.inner_text("#view")  # the default, named
    network_requests.clear()
    page.select_option("#output-select", "3")
    rendered(page, "overview")
    assert "output=3" in page.url
    page.wait_for_selector("#overview-3d .main-svg", timeout=60_000)
    assert "explained output 3 (step 4)" in page.inner_text("#view")
    assert ("/api/v1/models/forecaster/network", "3") in network_requests
    shot(page, "forecaster-overview-output-3")

    network_requests.clear()
    page.click("#nav a[data-view=layer]")
    rendered(page, "layer")
    assert "explained output 3 (step 4)" in page.inner_text("#layer-explained")
    paths = {path for path, _ in network_requests}
    assert "/api/v1/models/forecaster/network" in paths and "/api/v1/models/forecaster/layers/0" in paths
    assert all(target == "3" for _, target in network_requests), network_requests
    shot(page, "forecaster-layer-output-3")

    page.click("#nav a[data-view=filters]")
    rendered(page, "filters")
    page.wait_for_function("document.getElementById('filters-meta').textContent.includes('explained output 3')",
                           timeout=60_000)

    page.click("#nav a[data-view=saturation]")  # a classifiers' view: says so, asks nothing
    rendered(page, "saturation")
    assert page.locator("#no-saturation").count() == 1

    # the adversarial view of a regression model: no class to flip, the output moved instead
    page.click("#nav a[data-view=adversarial]")
    rendered(page, "adversarial")
    assert page.locator("#adv-stop").count() == 0
    assert "explained output 3 (step 4)" in page.inner_text("#view")
    page.fill("#adv-steps", "20")
    page.click("#adversarial-run")
    page.wait_for_selector("#adv-overlay .main-svg", timeout=120_000)
    summary = page.inner_text("#adv-summary")
    assert summary.startswith("Moved explained output 3 (step 4) from ") and "flipped" not in summary
    shot(page, "forecaster-adversarial-output-3")
    page.close()
    assert all(target == "3" for _, target in network_requests), network_requests
    assert problems == []
