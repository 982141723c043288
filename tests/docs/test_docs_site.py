"""The documentation: every tutorial runs in --quick mode, the site builds with --strict, no
internal link is broken, and three pages render in headless Chromium with their figures.

The site is built from a copy of mkdocs.yml and docs/ in a temporary folder, with the figures
the tutorials just wrote, so the test never depends on (or writes to) docs/tutorials/figures.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = ROOT / "docs" / "tutorials"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# figures each tutorial must write (the pages show them)
FIGURES = {
    "forda_integrated_gradients.py": ["forda_ig_signed.png", "forda_ig_absolute.png",
                                      "forda_ig_heatmap.png"],
    "time_smoothgrad_ar_states.py": ["tsg_maps.png", "tsg_window_scores.png"],
    "agra_how_many_models.py": ["agra_models_curve.png", "agra_signal.png"],
    "inside_the_anomaly_cnn.py": ["anomaly_inside.png"],
    "choose_a_method.py": ["choose_methods_side_by_side.png", "choose_deletion_curves.png"],
}

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")


def test_every_tutorial_is_listed():
    assert sorted(p.name for p in TUTORIALS.glob("*.py")) == sorted(FIGURES)


def _run_tutorial(script: str, out: Path) -> tuple[str, subprocess.CompletedProcess]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(TUTORIALS / script), "--quick", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    return script, proc


@pytest.fixture(scope="module")
def tutorial_runs(tmp_path_factory):
    """Run every tutorial with --quick (two at a time, one torch thread each)."""
    out = tmp_path_factory.mktemp("figures")
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = dict(pool.map(lambda s: _run_tutorial(s, out), sorted(FIGURES)))
    print(f"tutorials (--quick): {time.perf_counter() - t0:.1f} s")
    return out, runs


@pytest.mark.parametrize("script", sorted(FIGURES))
def test_tutorial_quick_runs_and_writes_figures(tutorial_runs, script):
    out, runs = tutorial_runs
    proc = runs[script]
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    for name in FIGURES[script]:
        fig = out / name
        assert fig.is_file() and fig.stat().st_size > 1000, f"{script} did not write {name}"
        assert fig.stat().st_size < 300_000, f"{name} is {fig.stat().st_size} bytes (> 300 KB)"


def test_forda_tutorial_says_which_data_it_used(tutorial_runs):
    proc = tutorial_runs[1]["forda_integrated_gradients.py"]
    assert re.search(r"^data: (UCR files|load_ucr|generated stand-in)", proc.stdout, re.M), proc.stdout


@pytest.fixture(scope="module")
def site(tutorial_runs, tmp_path_factory):
    """Build the site with --strict from a copy of the sources; return the built folder."""
    figures, runs = tutorial_runs
    if any(p.returncode for p in runs.values()):
        pytest.fail("a tutorial failed; the site needs every figure")
    src = tmp_path_factory.mktemp("docs-src")
    shutil.copy(ROOT / "mkdocs.yml", src / "mkdocs.yml")
    # tutorial figures come from the runs above; committed figures (reproduction reports) are kept
    shutil.copytree(ROOT / "docs", src / "docs", ignore=shutil.ignore_patterns("figures"))
    (src / "src").symlink_to(ROOT / "src")  # mkdocstrings reads the package from paths: [src]
    shutil.copytree(figures, src / "docs" / "tutorials" / "figures", dirs_exist_ok=True)
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
                          capture_output=True, text=True, cwd=src, env=env, timeout=300)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr[-6000:]}"
    return out


def test_site_has_every_page(site):
    for page in ["index.html", "getting-started.html", "concepts.html", "cli.html",
                 "explorer.html", "network.html", "scaling.html", "your_own_model.html",
                 "methods/integrated-gradients.html", "methods/time-smoothgrad.html",
                 "tutorials/forda_integrated_gradients.html", "api/attribution.html"]:
        assert (site / page).is_file(), page
    api = (site / "api" / "attribution.html").read_text()
    assert "IntegratedGradients" in api and "completeness" in api  # rendered from docstrings
    tut = (site / "tutorials" / "choose_a_method.html").read_text()
    assert "def main(argv" in re.sub(r"<[^>]+>", "", tut)  # the script is included in its page


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.fetched: list[str] = []  # loaded at view time: every src, and <link href>
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("href", "src") and v:
                self.links.append(v)
                if k == "src" or tag == "link":
                    self.fetched.append(v)
            if k in ("id", "name") and v:
                self.ids.add(v)


def _parse(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return p


def test_no_broken_internal_link(site):
    """Every relative href/src of every built page resolves to a file (and its #anchor exists)."""
    pages = {p: _parse(p) for p in site.rglob("*.html")}
    broken, external_runtime = [], []
    for page, parsed in pages.items():
        for link in parsed.links:
            parts = urlsplit(link)
            if parts.scheme in ("http", "https") or link.startswith("//"):
                # a link to another site is fine; anything fetched at view time is not (no CDN)
                if link in parsed.fetched:
                    external_runtime.append(f"{page.relative_to(site)}: {link}")
                continue
            if parts.scheme:  # mailto:, data:, javascript:
                continue
            if not parts.path:
                target = page
            elif parts.path.startswith("/"):  # site-absolute (404.html): served from the root
                target = (site / unquote(parts.path).lstrip("/")).resolve()
            else:
                target = (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {link}")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(site)}: {link} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(sorted(set(broken))[:50])
    assert not external_runtime, "assets from the network:\n" + "\n".join(external_runtime[:20])


# ----------------------------------------------------------------------------- browser
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _http_server(folder: Path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                             "127.0.0.1", "--directory", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_three_pages_render_in_chromium(site):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (CI installs Debian's chromium in .ci/run)")
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    pages = {
        "getting-started.html": "Getting started",
        "methods/integrated-gradients.html": "Integrated Gradients",
        "tutorials/forda_integrated_gradients.html": "FordA with Integrated Gradients",
    }
    with _http_server(site) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            failed: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: failed.append(r.url))
            for path, heading in pages.items():
                page.goto(f"{base}/{path}", wait_until="load")
                assert heading in page.locator("h1").first.inner_text(), path
                name = path.replace("/", "_").replace(".html", ".png")
                page.screenshot(path=str(ARTIFACTS / f"docs_{name}"), full_page=False)
                if path.startswith("tutorials/"):
                    widths = page.eval_on_selector_all(
                        "article img", "imgs => imgs.map(i => [i.getAttribute('src'), i.complete && i.naturalWidth])")
                    assert len(widths) == 3, widths
                    assert all(w and w > 0 for _, w in widths), f"figures not loaded: {widths}"
                    page.locator("article img").first.scroll_into_view_if_needed()
                    page.screenshot(path=str(ARTIFACTS / "docs_tutorial_figure.png"))
            assert not errors, f"JavaScript errors: {errors}"
            assert not failed, f"failed requests: {failed}"
        finally:
            browser.close()
