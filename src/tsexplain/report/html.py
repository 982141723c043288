"""A standalone HTML page: headings, paragraphs, tables and matplotlib figures embedded as PNG.

The page needs no other file (figures are ``data:image/png;base64`` URIs) and no network, so it
can be mailed or attached to a ticket as it is.

>>> from tsexplain.report import HtmlReport
>>> page = HtmlReport("My report")
>>> page.paragraph("Plain text is escaped: <b> stays literal.")
>>> page.table(["method", "AUC"], [["saliency", 0.25]])
>>> "<table>" in page.render()
True
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["HtmlReport", "figure_png"]

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1150px;margin:auto;padding:0 1em;color:#222}"
    "img{max-width:100%;height:auto}figure{margin:1.2em 0}figcaption{color:#555;font-size:90%}"
    "table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
    "text-align:left}td.n{text-align:right}"
    ".note{background:#f5f5f0;border-left:4px solid #999;padding:.4em .8em}"
    "code{background:#f2f2f2;padding:0 .2em}"
)


def figure_png(fig: Any, *, dpi: int = 100, close: bool = True) -> bytes:
    """A matplotlib figure as PNG bytes (closed afterwards unless ``close=False``).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(2, 1))
    >>> _ = fig.add_subplot().plot([0, 1, 0])
    >>> png = figure_png(fig, dpi=50)
    >>> png[1:4], len(png) > 100
    (b'PNG', True)
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)  # figures use constrained layout: no "tight" pass
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return buf.getvalue()


def _cell(v: Any, digits: int) -> str:
    if isinstance(v, float):
        return "n/a" if v != v else f"{v:.{digits}g}"
    return html.escape(str(v))


class HtmlReport:
    """Build a standalone HTML page piece by piece, then :meth:`write` it.

    Parameters
    ----------
    title : str
        The page title and first heading.
    dpi : int
        Resolution of embedded figures (100 keeps a page of a dozen figures near 1 MB).

    Examples
    --------
    >>> import os, tempfile
    >>> from matplotlib.figure import Figure
    >>> page = HtmlReport("Run 3", dpi=50)
    >>> page.heading("Scores")
    >>> page.table(["method", "deletion AUC"], [["saliency", 0.123456]])
    >>> fig = Figure(figsize=(3, 2))
    >>> _ = fig.add_subplot().plot([0, 1, 0])
    >>> page.figure(fig, "a triangle")  # embedded as a base64 PNG
    >>> page.n_figures, "<td class='n'>0.1235</td>" in page.render()
    (1, True)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = page.write(os.path.join(d, "report.html"))
    ...     print(path.name, path.read_text().startswith("<!doctype html>"))
    report.html True
    """

    def __init__(self, title: str, *, dpi: int = 100) -> None:
        self.title = title
        self.dpi = dpi
        self.parts: list[str] = [f"<h1>{html.escape(title)}</h1>"]
        self.n_figures = 0

    def heading(self, text: str, level: int = 2) -> None:
        self.parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def paragraph(self, text: str, *, css_class: str | None = None, raw: bool = False) -> None:
        """A paragraph; ``raw=True`` inserts ``text`` as HTML (only for text you wrote)."""
        body = text if raw else html.escape(text)
        cls = f" class='{css_class}'" if css_class else ""
        self.parts.append(f"<p{cls}>{body}</p>")

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]], *, digits: int = 4) -> None:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td class='n'>{_cell(v, digits)}</td>" if isinstance(v, int | float)
                else f"<td>{_cell(v, digits)}</td>"
                for v in row
            )
            + "</tr>"
            for row in rows
        )
        self.parts.append(f"<table><tr>{head}</tr>{body}</table>")

    def figure(self, fig: Any, caption: str = "", *, png: bytes | None = None) -> None:
        """Embed a matplotlib figure (closed after rendering) or ready ``png`` bytes."""
        data = png if png is not None else figure_png(fig, dpi=self.dpi)
        b64 = base64.b64encode(data).decode("ascii")
        cap = html.escape(caption)
        self.parts.append(
            f"<figure><img alt='{cap}' src='data:image/png;base64,{b64}'>"
            f"<figcaption>{cap}</figcaption></figure>"
        )
        self.n_figures += 1

    def render(self) -> str:
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(self.parts)
            + "\n</body></html>\n"
        )

    def write(self, path: str | os.PathLike[str]) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.render(), encoding="utf-8")
        return p
