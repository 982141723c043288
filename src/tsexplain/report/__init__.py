"""Standalone HTML reports (figures embedded as base64 PNG).

- :class:`HtmlReport` -- a small page builder (headings, paragraphs, tables, matplotlib figures)
  for any report of the project;
- :func:`write_explanation_report` -- the report of a ``tsexplain explain`` results folder
  (saliency-coloured curves, heatmaps, method comparison, aggregates, faithfulness);
- :func:`faithfulness_scores` -- deletion/insertion AUC per method and for a random ranking.
"""

from tsexplain.report.explanation import (
    HOW_TO_READ_FAITHFULNESS,
    faithfulness_scores,
    write_explanation_report,
)
from tsexplain.report.html import HtmlReport, figure_png

__all__ = [
    "HOW_TO_READ_FAITHFULNESS",
    "HtmlReport",
    "faithfulness_scores",
    "figure_png",
    "write_explanation_report",
]
