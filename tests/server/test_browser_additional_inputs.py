"""The explorer on a model of two inputs, ``forward(x, static)``, in a real headless Chromium.

The workspace is built with the command line (``add-data --additional-input``, the model as
factory + weights and as a ``torch.export`` program). The sample view shows the saliency map
and a table of the static inputs with their attributions, equal to the gradient of the explained
output, the predicted class (plain autograd); every view renders with no console error and no 5xx answer, and the
only refusals are the views over chunks of series, shown in place.
Skipped without ``/usr/bin/chromium`` or Playwright.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from .test_additional_inputs import F, SeriesAndStatic, write_two_input_workspace
from .test_browser import (  # noqa: F401
    browser,  # noqa: F401 - the shared Chromium fixture
    pytestmark,  # noqa: F401 - skip without chromium/playwright; slow
    rendered,
    run_view_job,
    serving,
    shot,
    traces,
    watched,
)

#: The views that run the model on chunks of series and refuse a model with further inputs.
REFUSED = ("/importance", "/saturation", '"kind":"pruning"', '"kind":"faithfulness"')


@pytest.fixture(scope="module")
def two_input_server(tmp_path_factory):
    rng = np.random.default_rng(0)
    data = {"X": rng.standard_normal((12, 3, 20)).astype(np.float32),
            "static": rng.standard_normal((12, F)).astype(np.float32),
            "y": rng.integers(0, 2, 12)}
    torch.manual_seed(0)
    model = SeriesAndStatic().eval()
    ws = write_two_input_workspace(tmp_path_factory.mktemp("two_input"), data, model)
    with serving("--workspace", str(ws), "--trust-code", env={"OMP_NUM_THREADS": "1"}) as (base, _):
        yield base, data, model


@pytest.mark.parametrize("name", ["two_factory", "two_export"])
def test_the_static_inputs_and_their_attributions_are_shown(two_input_server, browser, name):  # noqa: F811
    base, data, model = two_input_server
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    problems, answered_4xx = watched(page)

    page.goto(f"{base}/#/sample?model={name}&dataset=icu&index=4&method=saliency")
    rendered(page, "sample")
    page.wait_for_function("document.querySelectorAll('#additional-table tbody tr').length > 0")
    assert "further inputs: additional_0 (12 × 4)" in page.inner_text("#sample-info")
    assert page.inner_text("#dataset-select option[value=icu]") == "icu (12 × 3 × 20 + 1 further input)"
    (hm,) = traces(page, "sample-heatmap")
    assert hm["type"] == "heatmap" and hm["n"] == 20
    cells = page.evaluate("() => [...document.querySelectorAll('#additional-table tbody tr')]"
                          ".map(r => [...r.children].map(c => c.textContent))")
    x = torch.from_numpy(data["X"][4:5])
    static = torch.from_numpy(data["static"][4:5]).requires_grad_(True)
    out = model(x, static)
    out[0, int(out.argmax())].backward()  # the explained output: the predicted class
    assert [c[:2] for c in cells] == [["additional_0", str(j)] for j in range(F)]
    np.testing.assert_allclose([float(c[2]) for c in cells], data["static"][4], rtol=5e-3)
    shown = [float(c[3]) for c in cells]
    np.testing.assert_allclose(shown, static.grad[0].numpy(), rtol=2e-3, atol=1e-6)
    assert page.locator("#additional-table .bar").count() == F
    shot(page, f"additional-{name}-sample")

    views = page.evaluate("() => [...document.querySelectorAll('#nav a[data-view]')]"
                          ".map(a => a.dataset.view)")
    for view in views:
        page.click(f"#nav a[data-view={view}]")
        rendered(page, view)
        run_view_job(page, view)
        shot(page, f"additional-{name}-{view}")
    page.close()
    assert problems == []
    unexpected = [a for a in answered_4xx if not any(r in a for r in REFUSED)
                  and not ('"deeplift' in a and name == "two_export")]
    assert unexpected == []
