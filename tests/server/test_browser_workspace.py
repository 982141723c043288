"""The explorer on a workspace a user builds with ``tsexplain workspace add-model`` / ``add-data``.

Two models of the user's own code: a factory + weights (served with ``--trust-code``) and the
same network as a ``torch.export`` program (``.pt2``). In a real headless Chromium every view
renders with no console error and no 5xx answer, and the inverse-optimisation and adversarial
jobs run to completion. Two more: an LSTM (no convolution) and the CNN as TorchScript (no module
tree), on which the filter views say why in place and every other view works.
Skipped without ``/usr/bin/chromium`` or Playwright.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .test_browser import (  # noqa: F401
    ARGS,
    CHROMIUM,
    browser,  # noqa: F401 - the shared Chromium fixture
    pytestmark,  # noqa: F401 - skip without chromium/playwright; slow
    rendered,
    run_view_job,
    serving,
    shot,
    traces,
    watched,
)

NETS = Path(__file__).resolve().parents[1] / "io" / "_user_nets.py"
MODELS = ("user_factory", "user_export")


@pytest.fixture(scope="module")
def workspace_server(tmp_path_factory):
    import torch

    from tsexplain.cli.main import main
    from tsexplain.datasets import make_anomaly_sequences

    d = tmp_path_factory.mktemp("userws")
    spec = __import__("importlib.util").util.spec_from_file_location("_ws_user_nets", NETS)
    nets = __import__("importlib.util").util.module_from_spec(spec)
    spec.loader.exec_module(nets)
    net = nets.make("cnn", n_channels=3).eval()
    torch.save(net.state_dict(), d / "cnn.pt")
    program = torch.export.export(net, (torch.zeros(2, 3, 50),),
                                  dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, d / "cnn.pt2")
    data = make_anomaly_sequences(n_train=40, n_test=40, seed=0).test
    np.savez(d / "sensors.npz", X=data.X[:40], y=np.where(data.y[:40] > 0.5, 2, 1),
             channel_names=np.array(["pressure", "temperature", "torque"]))
    ws = d / "ws"
    assert main(["workspace", "add-data", str(ws), "sensors", str(d / "sensors.npz"),
                 "--class-names", "normal,anomalous", "--value-unit", "bar", "--time-unit", "s"]) == 0
    assert main(["workspace", "add-model", str(ws), "user_factory", f"{NETS}:make", "--weights",
                 str(d / "cnn.pt"), "--model-arg", "kind=cnn", "--model-arg", "n_channels=3",
                 "--dataset", "sensors", "--class-names", "normal,anomalous"]) == 0
    assert main(["workspace", "add-model", str(ws), "user_export", str(d / "cnn.pt2"),
                 "--dataset", "sensors", "--class-names", "normal,anomalous"]) == 0
    lstm = nets.make("lstm", n_channels=3).eval()
    torch.save(lstm.state_dict(), d / "lstm.pt")
    assert main(["workspace", "add-model", str(ws), "user_lstm", f"{NETS}:make", "--weights",
                 str(d / "lstm.pt"), "--model-arg", "kind=lstm", "--model-arg", "n_channels=3",
                 "--dataset", "sensors", "--class-names", "normal,anomalous"]) == 0
    assert main(["workspace", "add-model", str(ws), "user_regressor", str(d / "cnn.pt2"),
                 "--dataset", "sensors", "--task", "regression", "--output-names", "step 1,step 2"]) == 0
    torch.jit.save(torch.jit.script(net), d / "cnn.ts")
    assert main(["workspace", "add-model", str(ws), "user_script", str(d / "cnn.ts"),
                 "--dataset", "sensors", "--class-names", "normal,anomalous"]) == 0
    with serving("--workspace", str(ws), "--trust-code", env={"OMP_NUM_THREADS": "1"}) as (base, _):
        yield base


def _views(page) -> list[str]:
    return page.evaluate("() => [...document.querySelectorAll('#nav a[data-view]')].map(a => a.dataset.view)")


@pytest.mark.parametrize("model", MODELS)
def test_every_view_renders_on_a_user_workspace(workspace_server, browser, model):  # noqa: F811
    base = workspace_server
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    problems, answered_4xx = watched(page)

    page.goto(f"{base}/#/overview?model={model}&dataset=sensors")
    rendered(page, "overview")
    assert page.locator("#layer-table tbody tr").count() >= 5  # conv, bn, relu, conv, relu, ...
    views = _views(page)
    assert {"overview", "layer", "clusters", "inverse", "adversarial"} <= set(views)
    for view in views:
        page.click(f"#nav a[data-view={view}]")
        rendered(page, view)
        if view == "layer":
            assert traces(page, "layer-importance")[0]["n"] in (6, 8)  # filters of a conv layer
        run_view_job(page, view)
        if view == "adversarial":
            assert "Adversarial: " in page.inner_text("#adv-after")
        shot(page, f"ws-{model}-{view}")
    page.close()
    assert problems == []
    # the only refusals: DeepLIFT's rule table on a reshape of the exported graph (shown in place)
    unexpected = [a for a in answered_4xx if not ('"deeplift' in a and model == "user_export")]
    assert unexpected == []


@pytest.mark.parametrize(("model", "note"), [("user_lstm", "#no-conv-layers"),
                                             ("user_script", "#no-module-tree")])
def test_filter_views_say_why_on_an_lstm_and_on_torchscript(workspace_server, browser, model, note):  # noqa: F811
    """No request fails: the filter views show a note instead (the LSTM's layer views asked for
    the layer '{layer}' and TorchScript's inverse optimisation and FGSM refused to run), and the
    attribution, inverse-optimisation and adversarial views work."""
    base = workspace_server
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    problems: list[str] = []

    def on_response(r) -> None:
        if r.status >= 400:
            problems.append(f"{r.status} {r.url}")

    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("response", on_response)
    page.goto(f"{base}/#/overview?model={model}&dataset=sensors")
    rendered(page, "overview")
    assert page.locator("#model-summary").count() == 1
    # the overview keeps its model card and says why in place of the filter plots; the
    # saturation view of the LSTM draws its probabilities and says why in the importance panel
    filter_views = {"overview", "layer", "clusters", "filters", "pruning", "saturation"}
    for view in _views(page):
        page.click(f"#nav a[data-view={view}]")
        rendered(page, view)
        assert page.locator(note).count() == (1 if view in filter_views else 0), view
        if view == "saturation" and model == "user_lstm":
            assert len(traces(page, "sat-prob")) == 2
            assert page.locator("#sat-importance").count() == 0
        if view == "sample":
            page.wait_for_selector("#sample-heatmap .main-svg", timeout=60_000)
            # the data set has no anomaly mask: the caption does not promise rings
            assert "Series coloured by attribution" in page.inner_text("#view")
            assert "rings" not in page.inner_text("#view")
        run_view_job(page, view)
        shot(page, f"ws-{model}-{view}")
    page.close()
    assert problems == []


def test_compare_names_the_method_of_a_refusal_once(workspace_server, browser):  # noqa: F811
    """DeepLIFT refuses the LSTM with a message that begins with its name: the panel shows the
    name once (it showed "deeplift: deeplift: no DeepLIFT rule ..."), and a working method
    beside it still draws."""
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(f"{workspace_server}/#/compare?model=user_lstm&dataset=sensors&index=0"
              "&methods=deeplift,saliency")
    rendered(page, "compare")
    page.wait_for_selector("#compare-meta-deeplift .error-box", timeout=60_000)
    page.wait_for_selector("#compare-saliency .main-svg", timeout=60_000)
    refusal = page.inner_text("#compare-meta-deeplift .error-box")
    page.close()
    assert refusal.startswith("deeplift: ") and refusal.count("deeplift:") == 1, refusal


def test_a_regressor_with_several_outputs_is_explained_at_the_output_picked(workspace_server, browser):  # noqa: F811
    """A forecaster's views explained "predicted", its largest output (an arbitrary step), and did
    not say which: a regressor with several outputs gets an output picker whose choice every
    attribution request carries and the Sample view names; a classifier gets none."""
    import json

    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    sent: list = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data)["target"])
            if r.url.endswith("/api/v1/explain") and r.method == "POST" else None)
    page.goto(f"{workspace_server}/#/sample?model=user_regressor&dataset=sensors&index=3")
    rendered(page, "sample")
    assert page.is_visible("#output-select")
    assert page.eval_on_selector_all("#output-select option", "os => os.map(o => o.textContent)") == [
        "0: step 1", "1: step 2"]
    page.wait_for_function("document.getElementById('attr-meta').textContent.includes('explained output 0')",
                           timeout=60_000)
    page.select_option("#output-select", "1")
    rendered(page, "sample")
    page.wait_for_function("document.getElementById('attr-meta').textContent.includes('explained output 1 (step 2)')",
                           timeout=60_000)
    assert "output=1" in page.url
    page.goto(f"{workspace_server}/#/sample?model=user_factory&dataset=sensors&index=3")
    rendered(page, "sample")
    page.wait_for_function("document.getElementById('attr-meta').textContent.includes('explained output')",
                           timeout=60_000)
    hidden = page.is_hidden("#output-select")
    url = page.url
    page.close()
    assert hidden and "output=" not in url
    assert sent[0] == 0 and sent[1] == 1 and sent[-1] == "predicted", sent

