"""Labels map to classes by one rule in every format; results come back exactly as written."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import torch

import tsexplain
from tsexplain.exceptions import ParameterError
from tsexplain.io import load_any_data, read_results, write_results
from tsexplain.io.data import encode_labels
from tsexplain.io.pipeline import explain_files


@pytest.mark.parametrize(
    ("labels", "indices", "classes"),
    [
        ([1, 2, 2, 1], [0, 1, 1, 0], [1, 2]),  # UCR binary
        ([-1, 1, 1, -1], [0, 1, 1, 0], [-1, 1]),  # FordA
        ([1.0, 3.0, 2.0], [0, 2, 1], [1, 2, 3]),  # whole-number floats
        (["b", "a", "b"], [1, 0, 1], ["a", "b"]),  # strings, sorted
        (["10", "9", "10"], [1, 0, 1], [9, 10]),  # numeric strings sort as numbers
        ([0, 2, 1, 2], [0, 2, 1, 2], [0, 1, 2]),  # 0-based indices stay as they are
        ([0, 2], [0, 2], [0, 1, 2]),  # ... even with a class absent
    ],
)
def test_encode_labels(labels, indices, classes):
    y, got = encode_labels(np.asarray(labels))
    assert y.dtype == np.int64 and y.tolist() == indices and got == classes
    numeric = not isinstance(classes[0], str)
    original = [str(int(float(v))) if numeric else v for v in labels]
    assert [str(got[i]) for i in y] == original  # classes[y] gives back the labels


def test_real_valued_labels_stay_values():
    y, classes = encode_labels(np.array([0.5, 1.25]))
    assert classes is None and y.tolist() == [0.5, 1.25]


def _write_ucr(path, X, labels):
    with gzip.open(path, "wt") as fh:
        for lab, row in zip(labels, X[:, 0], strict=True):
            fh.write("\t".join([str(lab)] + [f"{v:.6f}" for v in row]) + "\n")


@pytest.mark.parametrize("labels", [[1, 2, 1, 2, 2, 1], [-1, 1, -1, 1, 1, -1]])
def test_npz_and_ucr_tsv_map_labels_the_same_way(tmp_path, labels):
    rng = np.random.default_rng(0)
    X = np.round(rng.standard_normal((6, 1, 20)), 6).astype(np.float32)
    np.savez(tmp_path / "d.npz", X=X, y=np.asarray(labels))
    _write_ucr(tmp_path / "D_TRAIN.tsv.gz", X, labels)
    a, b = load_any_data(tmp_path / "d.npz"), load_any_data(tmp_path / "D_TRAIN.tsv.gz")
    assert a.y.tolist() == b.y.tolist() == [0 if v == min(labels) else 1 for v in labels]
    assert a.classes == b.classes == sorted(set(labels))


def _tiny_cnn(n_classes=2):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv1d(1, 3, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(),
                               torch.nn.Linear(3, n_classes)).eval()


@pytest.mark.parametrize("labels", [[1, 2, 2, 1, 1], [-1, 1, 1, -1, -1]])
def test_target_label_on_npz_with_ucr_labels(tmp_path, labels):
    X = np.random.default_rng(1).standard_normal((5, 1, 16)).astype(np.float32)
    np.savez(tmp_path / "d.npz", X=X, y=np.asarray(labels), class_names=np.array(["neg", "pos"]))
    model = _tiny_cnn()
    out = explain_files(model, tmp_path / "d.npz", ["saliency"], target="label",
                        out=tmp_path / "r", report=False, faithfulness=False)
    saved = read_results(out)
    expected = np.asarray([0 if v == min(labels) else 1 for v in labels])
    assert saved.y.tolist() == expected.tolist()
    np.testing.assert_array_equal(saved.results["saliency"].target, expected)
    ref = tsexplain.explain(model, X, "saliency", target=expected).values
    np.testing.assert_array_equal(saved.results["saliency"].values, np.asarray(ref))
    assert saved.meta["label_values"] == sorted(set(labels))
    assert saved.meta["class_names"] == ["neg", "pos"]


def test_class_names_option_wins_and_must_cover_the_classes(tmp_path):
    X = np.zeros((3, 1, 8), np.float32)
    np.savez(tmp_path / "d.npz", X=X, y=np.array([1, 2, 3]))
    with pytest.raises(ParameterError, match="2 names for 3 classes"):
        explain_files(_tiny_cnn(3), tmp_path / "d.npz", ["saliency"], target="label",
                      class_names=["a", "b"], out=tmp_path / "r", report=False, faithfulness=False)
    out = explain_files(_tiny_cnn(3), tmp_path / "d.npz", ["saliency"], target="label",
                        class_names=["a", "b", "c"], out=tmp_path / "r", report=False,
                        faithfulness=False)
    assert json.loads((out / "meta.json").read_text())["class_names"] == ["a", "b", "c"]


def test_target_label_refuses_real_valued_labels(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((2, 1, 8), np.float32), y=np.array([0.5, 1.5]))
    with pytest.raises(ParameterError, match="regression target"):
        explain_files(_tiny_cnn(), tmp_path / "d.npz", ["saliency"], target="label",
                      out=tmp_path / "r", report=False, faithfulness=False)


def test_read_results_gives_back_per_sample_extras(tmp_path):
    model = _tiny_cnn()
    x = np.random.default_rng(2).standard_normal((100, 1, 16)).astype(np.float32)  # > 64 values
    res = tsexplain.explain(model, x, "integrated_gradients", target="predicted", steps=4)
    gap = np.asarray(res.extras["completeness_gap"])
    assert gap.shape == (100,)
    back = read_results(write_results(tmp_path, {"ig": res}, x, channel_names=["a"])).results["ig"]
    np.testing.assert_array_equal(back.extras["completeness_gap"], gap)
    np.testing.assert_array_equal(back.extras["output_difference"],
                                  np.asarray(res.extras["output_difference"]))
    np.testing.assert_array_equal(back.values, np.asarray(res.values))
    assert back.params == json.loads(json.dumps(res.params, default=str))


def test_explain_files_options_are_checked_by_name(tmp_path):
    with pytest.raises(ParameterError, match="does not take batch_size"):
        explain_files(_tiny_cnn(), tmp_path / "none.npz", ["saliency"], batch_size=3)


class _RowCountingLSTM(torch.nn.Module):
    """LSTM classifier that counts the series its forward pass has seen."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lstm = torch.nn.LSTM(2, 4, batch_first=True)
        self.head = torch.nn.Linear(4, 2)
        self.rows = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.rows += x.shape[0]
        h, _ = self.lstm(x.transpose(1, 2))
        return self.head(h[:, -1])


def test_a_method_that_cannot_run_stops_the_command_before_the_others_work(tmp_path):
    """DeepLIFT has no rule for an LSTM: with ["integrated_gradients", "deeplift"] the command
    fails on DeepLIFT's one-sample check, before Integrated Gradients runs over the data (its
    full run alone would feed 20 series x 50 steps to the model), and nothing is written."""
    from tsexplain.exceptions import ModelOutputError

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(20, 2, 16)).astype(np.float32))
    model = _RowCountingLSTM().eval()
    with pytest.raises(ModelOutputError, match="no DeepLIFT rule for layer 'lstm'"):
        explain_files(model, tmp_path / "d.npz", ["integrated_gradients", "deeplift"],
                      target="predicted", out=tmp_path / "out")
    assert 0 < model.rows < 20 * 50
    assert not (tmp_path / "out").exists()
    out = explain_files(model, tmp_path / "d.npz", ["integrated_gradients", "saliency"],
                        target="predicted", out=tmp_path / "out", report=False)
    assert read_results(out).results.keys() >= {"integrated_gradients", "saliency"}
