"""load_pamap2 on synthetic fixture files in the documented 54-column layout."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from tsexplain.datasets import PAMAP2_COLUMNS, load_pamap2
from tsexplain.exceptions import DataFormatError, ParameterError


def _fixture_rows(n, activity_pattern, seed):
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(n, 54)).round(4)
    data[:, 0] = np.arange(n) / 100.0
    data[:, 1] = np.resize(activity_pattern, n)
    data[:, 2] = np.where(
        np.arange(n) % 3 == 0, 100 + np.arange(n), np.nan
    )  # heart rate ~ 1/3 rows
    return data


def _write_dat(path, data, gz=False):
    text = "".join(
        " ".join("NaN" if np.isnan(v) else repr(float(v)) for v in row) + "\n" for row in data
    )
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


@pytest.fixture
def two_subjects(tmp_path):
    a = _fixture_rows(30, [0, 0, 1, 1, 1, 4], seed=0)
    b = _fixture_rows(20, [5, 5, 0, 24], seed=1)
    b[4, 20] = np.nan  # a dropped IMU sample (chest column)
    _write_dat(tmp_path / "subject101.dat", a)
    _write_dat(tmp_path / "subject102.dat.gz", b, gz=True)
    return tmp_path, a, b


def test_columns_are_named_in_file_order():
    assert len(PAMAP2_COLUMNS) == 54
    assert PAMAP2_COLUMNS[:3] == ("timestamp", "activity_id", "heart_rate")
    assert PAMAP2_COLUMNS[3] == "hand_temperature" and PAMAP2_COLUMNS[20] == "chest_temperature"
    assert PAMAP2_COLUMNS[30:33] == ("chest_mag_x", "chest_mag_y", "chest_mag_z")
    assert PAMAP2_COLUMNS[-1] == "ankle_orientation_3"


def test_folder_keeps_rows_columns_and_ids(two_subjects):
    folder, a, b = two_subjects
    r = load_pamap2(folder, nan="keep", drop_transient=False)
    assert r.values.shape == (50, 40)  # 52 sensors minus 12 orientation columns
    assert not any("orientation" in c for c in r.columns)
    np.testing.assert_array_equal(r.subject, [101] * 30 + [102] * 20)
    np.testing.assert_array_equal(r.activity, np.concatenate([a[:, 1], b[:, 1]]).astype(int))
    np.testing.assert_array_equal(r.column("chest_mag_x"), np.concatenate([a[:, 30], b[:, 30]]))
    assert r.X.shape == (1, 40, 50)
    assert np.isnan(r.column("heart_rate")).sum() == 20 + 13


def test_transient_rows_dropped_by_default(two_subjects):
    folder, a, b = two_subjects
    r = load_pamap2(folder, nan="keep")
    expected = np.concatenate([a[:, 1], b[:, 1]])
    assert (r.activity != 0).all() and len(r.activity) == int((expected != 0).sum())
    np.testing.assert_array_equal(r.timestamp, np.concatenate([a[:, 0], b[:, 0]])[expected != 0])


def test_nan_interpolate_and_drop(two_subjects):
    folder, a, b = two_subjects
    r = load_pamap2(folder, drop_transient=False, columns=["heart_rate", "chest_temperature"])
    hr = r.column("heart_rate")[:30]
    # heart rate known at rows 0, 3, 6, ... with value 100 + row: linear in between, flat at the end
    np.testing.assert_allclose(hr[:28], 100 + np.arange(28))
    np.testing.assert_allclose(hr[28:], 127)
    assert np.isfinite(r.values).all()
    assert r.column("chest_temperature")[30 + 4] == pytest.approx((b[3, 20] + b[5, 20]) / 2)
    d = load_pamap2(folder, drop_transient=False, nan="drop", columns=["chest_temperature"])
    assert len(d.activity) == 49 and np.isfinite(d.values).all()
    full = load_pamap2(folder / "subject101.dat", include_orientation=True, nan="keep")
    assert full.values.shape[1] == 52


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("1.0 1 " + " ".join(["0.5"] * 51) + "\n", r"subject9\.dat.*found 53 columns; expected 54"),
        (
            ("0.0 1 " + " ".join(["0.5"] * 52) + "\n") * 2
            + "0.0 1 "
            + " ".join(["0.5"] * 50)
            + "\n",
            r"subject9\.dat, line 3: .*expected 54 whitespace-separated",
        ),
        ("0.0 1 abc " + " ".join(["0.5"] * 51) + "\n", r"subject9\.dat, line 1: .*expected 54"),
        ("0.0 1.5 " + " ".join(["0.5"] * 52) + "\n", r"line 1: activity id 1.5 is not an integer"),
        ("", "holds no rows"),
    ],
)
def test_malformed_files(tmp_path, body, match):
    p = tmp_path / "subject9.dat"
    p.write_text(body)
    with pytest.raises(DataFormatError, match=match):
        load_pamap2(p)


def test_bad_options_and_paths(tmp_path, two_subjects):
    folder, _, _ = two_subjects
    with pytest.raises(ParameterError, match="columns must be one of"):
        load_pamap2(folder, columns=["chest_speed"])
    with pytest.raises(ParameterError, match="nan must be one of"):
        load_pamap2(folder, nan="zero")
    (tmp_path / "none").mkdir()
    with pytest.raises(DataFormatError, match="no .dat file"):
        load_pamap2(tmp_path / "none")
    with pytest.raises(FileNotFoundError):
        load_pamap2(tmp_path / "subject404.dat")
