"""load_any_data: every format gives the same (N, C, T) array, labels and channel names."""

from __future__ import annotations

import csv
import importlib.util

import numpy as np
import pytest

from tsexplain.exceptions import DataFormatError, ParameterError, ShapeError
from tsexplain.io import load_any_data

RNG = np.random.default_rng(3)
X = RNG.standard_normal((4, 2, 6)).astype(np.float32)
Y = np.array([0, 1, 1, 2])
NAMES = ["acc", "gyro"]


def write_long(path, x, y, names, shuffle=False, cols=("sample", "channel", "time", "value")):
    rows = [(f"s{n}", names[c], t, repr(float(x[n, c, t])), int(y[n]))
            for n in range(x.shape[0]) for c in range(x.shape[1]) for t in range(x.shape[2])]
    if shuffle:  # samples must keep first-appearance order: shuffle within each sample
        rows = [r for n in range(x.shape[0])
                for r in np.random.default_rng(n).permutation(
                    np.array([r for r in rows if r[0] == f"s{n}"], dtype=object)).tolist()]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*cols, "label"])
        w.writerows(rows)


def write_wide(path, x, y, names):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample", "channel", "label", *[f"t{t}" for t in range(x.shape[2])]])
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                w.writerow([f"s{n}", names[c], int(y[n]), *[repr(float(v)) for v in x[n, c]]])


def check(ds, x=X, y=Y, names=NAMES):
    np.testing.assert_array_equal(np.asarray(ds.X, dtype=np.float32), x)
    assert ds.channel_names == names
    if y is None:
        assert ds.y is None
    else:
        np.testing.assert_array_equal(ds.y, y)


def test_npz_with_labels_and_channel_names(tmp_path):
    np.savez(tmp_path / "d.npz", X=X, y=Y, channel_names=np.array(NAMES))
    ds = load_any_data(tmp_path / "d.npz")
    check(ds)
    assert ds.fmt == "npz"


def test_npz_single_unnamed_array_and_keys(tmp_path):
    np.savez(tmp_path / "d.npz", series=X)
    check(load_any_data(tmp_path / "d.npz"), y=None, names=["ch0", "ch1"])
    np.savez(tmp_path / "e.npz", a=X, b=Y)
    with pytest.raises(DataFormatError, match="--x-key"):
        load_any_data(tmp_path / "e.npz")
    check(load_any_data(tmp_path / "e.npz", x_key="a", y_key="b"), names=["ch0", "ch1"])


def test_npz_with_pickled_objects_is_refused(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.array([X, "x"], dtype=object))
    with pytest.raises(DataFormatError, match="pickled"):
        load_any_data(tmp_path / "d.npz")


def test_npy_3d_and_2d_univariate(tmp_path):
    np.save(tmp_path / "d.npy", X)
    check(load_any_data(tmp_path / "d.npy"), y=None, names=["ch0", "ch1"])
    np.save(tmp_path / "u.npy", X[:, 0])
    ds = load_any_data(tmp_path / "u.npy")
    assert ds.X.shape == (4, 1, 6)
    np.save(tmp_path / "bad.npy", X[0, 0])
    with pytest.raises(ShapeError, match=r"\(N, C, T\)"):
        load_any_data(tmp_path / "bad.npy")


def test_2d_arrays_follow_one_rule_in_npy_and_npz(tmp_path):
    from tsexplain.io.data import read_series_npy, stored_2d_shape, two_d_note

    np.save(tmp_path / "u.npy", X[:, 0])
    np.savez(tmp_path / "u.npz", X=X[:, 0], y=Y)
    np.savez(tmp_path / "named.npz", series=X[:, 1])
    for name in ("u.npy", "u.npz"):
        np.testing.assert_array_equal(load_any_data(tmp_path / name).X, X[:, :1])
    mapped = read_series_npy(tmp_path / "u.npy")  # memory-mapped, as explain-dataset reads it
    assert isinstance(mapped, np.memmap) and mapped.shape == (4, 1, 6)
    np.testing.assert_array_equal(mapped, X[:, :1])
    assert stored_2d_shape(tmp_path / "u.npy") == (4, 6)
    assert stored_2d_shape(tmp_path / "u.npz") == (4, 6)
    assert stored_2d_shape(tmp_path / "named.npz") == (4, 6)  # the only array: the series
    assert stored_2d_shape(tmp_path / "named.npz", "absent") is None
    np.save(tmp_path / "d.npy", X)
    np.savez(tmp_path / "d.npz", X=X, y=Y)
    assert stored_2d_shape(tmp_path / "d.npy") is None and stored_2d_shape(tmp_path / "d.npz") is None
    assert two_d_note(tmp_path / "u.npz") == (
        f"{tmp_path / 'u.npz'} holds a 2-D array (4, 6): 2-D arrays are read as (N, T) univariate "
        f"series; save one multichannel series as (1, C, T)")


def test_csv_long_equals_npz_even_with_rows_out_of_order(tmp_path):
    write_long(tmp_path / "long.csv", X, Y, NAMES)
    check(load_any_data(tmp_path / "long.csv"))
    write_long(tmp_path / "shuf.csv", X, Y, NAMES, shuffle=True)
    ds = load_any_data(tmp_path / "shuf.csv", layout="long")
    assert ds.channel_names in (NAMES, NAMES[::-1])
    order = [ds.channel_names.index(c) for c in NAMES]
    np.testing.assert_array_equal(ds.X[:, order].astype(np.float32), X)
    assert list(ds.sample_ids) == ["s0", "s1", "s2", "s3"]


def test_csv_long_with_own_column_names(tmp_path):
    write_long(tmp_path / "l.csv", X, Y, NAMES, cols=("id", "sensor", "t", "reading"))
    with pytest.raises(DataFormatError, match="--sample-col"):
        load_any_data(tmp_path / "l.csv", layout="long")
    ds = load_any_data(tmp_path / "l.csv", sample_col="id", channel_col="sensor", time_col="t",
                       value_col="reading")
    check(ds)


def test_csv_long_missing_and_duplicate_cells(tmp_path):
    write_long(tmp_path / "l.csv", X, Y, NAMES)
    lines = (tmp_path / "l.csv").read_text().splitlines()
    (tmp_path / "missing.csv").write_text("\n".join(lines[:5] + lines[6:]) + "\n")
    with pytest.raises(DataFormatError, match="missing"):
        load_any_data(tmp_path / "missing.csv")
    (tmp_path / "dup.csv").write_text("\n".join(lines + [lines[3]]) + "\n")
    with pytest.raises(DataFormatError, match="more than once"):
        load_any_data(tmp_path / "dup.csv")


def test_csv_wide_with_sample_channel_label_columns(tmp_path):
    write_wide(tmp_path / "w.csv", X, Y, NAMES)
    ds = load_any_data(tmp_path / "w.csv")
    check(ds)
    assert ds.details["layout"] == "wide"


def test_csv_wide_headerless_is_one_univariate_sample_per_row(tmp_path):
    np.savetxt(tmp_path / "w.csv", X[:, 0], delimiter=",", fmt="%.9g")
    ds = load_any_data(tmp_path / "w.csv")
    np.testing.assert_array_equal(ds.X[:, 0].astype(np.float32), X[:, 0])


def test_csv_wide_sample_missing_a_channel(tmp_path):
    write_wide(tmp_path / "w.csv", X, Y, NAMES)
    lines = (tmp_path / "w.csv").read_text().splitlines()
    (tmp_path / "bad.csv").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DataFormatError, match="one row per channel"):
        load_any_data(tmp_path / "bad.csv")


def test_csv_non_numeric_value(tmp_path):
    write_wide(tmp_path / "w.csv", X, Y, NAMES)
    text = (tmp_path / "w.csv").read_text().splitlines()
    text[1] = text[1].rsplit(",", 1)[0] + ",abc"
    (tmp_path / "bad.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(DataFormatError, match="'abc'"):
        load_any_data(tmp_path / "bad.csv")


def test_ucr_tsv_through_load_ucr(tmp_path):
    rows = ["\t".join([str(int(Y[n])), *[repr(float(v)) for v in X[n, 0]]]) for n in range(4)]
    (tmp_path / "Toy_TEST.tsv").write_text("\n".join(rows) + "\n")
    ds = load_any_data(tmp_path / "Toy_TEST.tsv")
    assert ds.fmt == "ucr"
    np.testing.assert_array_equal(ds.X[:, 0].astype(np.float32), X[:, 0])
    np.testing.assert_array_equal(ds.y, Y)


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is not None, reason="pyarrow installed")
def test_parquet_without_pyarrow_says_what_to_install(tmp_path):
    (tmp_path / "d.parquet").write_bytes(b"PAR1")
    with pytest.raises(ParameterError, match="pip install pyarrow"):
        load_any_data(tmp_path / "d.parquet")


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="pyarrow not installed")
def test_parquet_long_equals_csv(tmp_path):  # pragma: no cover - runs where pyarrow exists
    import pyarrow as pa
    import pyarrow.parquet as pq

    n, c, t = np.meshgrid(np.arange(4), np.arange(2), np.arange(6), indexing="ij")
    table = pa.table({"sample": n.ravel(), "channel": np.array(NAMES)[c.ravel()],
                      "time": t.ravel(), "value": X.ravel(), "label": Y[n.ravel()]})
    pq.write_table(table, tmp_path / "d.parquet")
    check(load_any_data(tmp_path / "d.parquet"))


def test_unknown_and_pickle_suffixes(tmp_path):
    (tmp_path / "d.xlsx").write_bytes(b"x")
    with pytest.raises(DataFormatError, match="unknown data format"):
        load_any_data(tmp_path / "d.xlsx")
    (tmp_path / "d.pkl").write_bytes(b"\x80\x04")
    with pytest.raises(DataFormatError, match="pickled"):
        load_any_data(tmp_path / "d.pkl")
    with pytest.raises(FileNotFoundError):
        load_any_data(tmp_path / "nope.npz")
