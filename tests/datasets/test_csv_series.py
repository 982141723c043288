"""load_csv_series: the sliding-window forecasting view."""

from __future__ import annotations

import numpy as np
import pytest

from tsexplain.datasets import load_csv_series
from tsexplain.exceptions import DataFormatError, ParameterError

TRAFFIC = "InternetTraffic_B5M/datamark-internettrafficdata.csv"


@pytest.mark.shared_data
def test_internet_traffic_windows(shared_data):
    d = load_csv_series(shared_data / TRAFFIC, "Internet-Traffic", window=50, difference=True)
    assert d.series.shape == (19888,)
    assert d.series[0] == pytest.approx(4838.665) and d.series[-1] == pytest.approx(6511.014)
    assert d.X.shape == (19888 - 50, 2, 50) and d.channel_names == ("value", "difference")
    np.testing.assert_array_equal(d.X[10, 0], d.series[10:60])
    np.testing.assert_allclose(d.X[10, 1], d.series[10:60] - d.series[9:59])
    np.testing.assert_array_equal(d.y, d.series[50:])
    assert d.times[0] == "2004-11-19 09:30:00"
    # chronological split: every train target precedes every test target
    assert d.target_index[d.train_mask].max() < d.target_index[~d.train_mask].min()
    assert abs(d.train_mask.mean() - 0.8) < 0.01


def test_horizon_column_index_and_no_header(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("".join(f"{i};{10 * i}\r\n" for i in range(10)))
    d = load_csv_series(p, 1, window=4, horizon=3, delimiter=";")
    assert d.X.shape == (4, 1, 4)
    np.testing.assert_array_equal(d.X[0, 0], [0, 10, 20, 30])
    np.testing.assert_array_equal(d.y, [60, 70, 80, 90])
    assert d.train.X.shape[0] + d.test.X.shape[0] == 4


@pytest.mark.parametrize(
    ("text", "kwargs", "match"),
    [
        (
            "t,v\n1,2\n2,x\n3,4\n",
            {"column": "v"},
            r"s\.csv, line 3: 'x' in column 1 is not a finite number",
        ),
        ("t,v\n1,2\n2,\n", {"column": "v"}, r"line 3: '' in column 1"),
        ("t,v\n1,2\n2\n", {"column": "v"}, r"line 3: 1 field\(s\), no column 1"),
        ("t,v\n1,2\n", {"column": "w"}, r"line 1: no column named 'w'"),
        ("t,v\n1,2\n2,3\n", {"column": "v", "window": 5}, r"2 values, too few for one window of 5"),
    ],
)
def test_malformed_csv(tmp_path, text, kwargs, match):
    p = tmp_path / "s.csv"
    p.write_text(text)
    with pytest.raises(DataFormatError, match=match):
        load_csv_series(p, **kwargs)


def test_bad_parameters(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("1\n2\n3\n")
    with pytest.raises(ParameterError, match="window"):
        load_csv_series(p, window=0)
    with pytest.raises(ParameterError, match="train_fraction"):
        load_csv_series(p, window=1, train_fraction=2)
