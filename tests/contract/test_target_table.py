"""The target table of docs/concepts.md, run over every public entry point that takes a target.

Each cell asserts the documented behaviour: the same selected output per sample (checked
against the entry point run with the explicit list of indices the rules promise, and, where
the entry point reports it, against those indices themselves), or the same error type with the
same message fragment.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import tsexplain
from tsexplain.exceptions import TargetError

N, C, T, K = 4, 2, 8, 3
LABELS = [0, 2, 1, 2]


class Err:
    """An expected error: type and message fragment."""

    def __init__(self, fragment: str, kind: type[Exception] = TargetError) -> None:
        self.fragment, self.kind = fragment, kind

    def __repr__(self) -> str:
        return f"Err({self.fragment!r})"


ALL = "ALL"  # per-output results where supported, else Err("not supported")
PREDICTED = "PREDICTED"  # the argmax of each sample's outputs

AMBIGUOUS = Err("target=None is ambiguous")
NEGATIVE = Err("target index -1 is negative")
WHOLE = Err("target indices must be whole numbers")
OUT_OF_RANGE = Err("is out of range")
BOOL = Err("(a bool)")
LENGTH = Err("expected 4 entries")
UNSUPPORTED = Err("is not supported by")

#: (id, target, expected) for a model with K = 3 outputs: the columns of the table.
MULTI_CELLS: list[tuple[str, Any, Any]] = [
    ("none", None, AMBIGUOUS),
    ("int", 1, [1, 1, 1, 1]),
    ("numpy-int", np.int64(2), [2, 2, 2, 2]),
    ("negative", -1, NEGATIVE),
    ("list", LABELS, LABELS),
    ("whole-floats", [0.0, 2.0, 1.0, 2.0], LABELS),
    ("tensor", torch.tensor(LABELS), LABELS),
    ("fractional", [0.5, 2, 1, 2], WHOLE),
    ("bool", True, BOOL),
    ("predicted", "predicted", PREDICTED),
    ("all", "all", ALL),
    ("K", K, OUT_OF_RANGE),
    ("2**63", 2**63, OUT_OF_RANGE),
    ("10**20", 10**20, OUT_OF_RANGE),
    ("list-10**20", [0, 1, 10**20, 2], OUT_OF_RANGE),
    ("wrong-length", [0, 1], LENGTH),
    ("label", "label", Err("got the string 'label'")),
]

#: For a model with one output: None, 0 and "predicted" all explain it, 1 is out of range.
SINGLE_CELLS: list[tuple[str, Any, Any]] = [
    ("single-none", None, [0, 0, 0, 0]),
    ("single-0", 0, [0, 0, 0, 0]),
    ("single-predicted", "predicted", [0, 0, 0, 0]),
    ("single-1", 1, OUT_OF_RANGE),
    ("single-negative", -1, NEGATIVE),
]


def make_model(k: int) -> nn.Module:
    torch.manual_seed(7 + k)
    return nn.Sequential(
        nn.Conv1d(C, 4, 3, padding=1), nn.Tanh(), nn.Conv1d(4, 3, 3, padding=1), nn.Tanh(),
        nn.Flatten(), nn.Linear(3 * T, k),
    ).eval()


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return torch.randn(N, C, T, generator=torch.Generator().manual_seed(3))


@pytest.fixture(scope="module")
def models() -> dict[int, nn.Module]:
    return {K: make_model(K), 1: make_model(1)}


# ------------------------------------------------------------------ entry points
# Each runner: (model, x, target, tmp_path) -> a numpy array that depends on the selected
# output of every sample (the "fingerprint"), or raises. ``reported`` extracts the per-sample
# indices where the entry point returns them.

def _explain(model: nn.Module, x: torch.Tensor, target: Any, tmp: Path) -> Any:
    return tsexplain.explain(model, x, "saliency", target=target, progress=False)


def _attribute(model: nn.Module, x: torch.Tensor, target: Any, tmp: Path) -> Any:
    from tsexplain.attribution import Saliency

    return Saliency(model).attribute(x, target)


def _scale(model: nn.Module, x: torch.Tensor, target: Any, tmp: Path) -> Any:
    from tsexplain.scale import attribute_dataset

    out = tmp / f"store{len(list(tmp.iterdir()))}"
    run = attribute_dataset(model, x.numpy(), "saliency", out=out, target=target, chunk_size=3)
    return np.asarray(run.values[:])


def _deletion(model: nn.Module, x: torch.Tensor, target: Any, tmp: Path) -> Any:
    from tsexplain.metrics import deletion_curve

    return deletion_curve(model, x, x.abs(), target=target, steps=3, seed=0)


def _insertion(model: nn.Module, x: torch.Tensor, target: Any, tmp: Path) -> Any:
    from tsexplain.metrics import insertion_curve

    return insertion_curve(model, x, x.abs(), target=target, steps=3, seed=0, baseline="zeros")


def _sanity(model: nn.Module, x: torch.Tensor, target: Any, tmp: Path) -> Any:
    from tsexplain.metrics import model_randomization_check

    res = model_randomization_check(model, x, target=target, keep_explanations=True, seed=0)
    return res.explanations


def _agra(model: nn.Module, x: torch.Tensor, target: Any, tmp: Path) -> Any:
    from tsexplain.metrics import agra_reconstruct

    res = agra_reconstruct(model, x, ideal_score=1.0, target=target, max_iter=3, lr=0.05)
    return np.asarray(res.displacement) if hasattr(res, "displacement") else res


def _filter_importance(model: nn.Module, x: torch.Tensor, target: Any, tmp: Path) -> Any:
    from tsexplain.network import filter_importance

    return filter_importance(model, x, "2", target=target).numpy()


def _filter_importance_stats(model: nn.Module, x: torch.Tensor, target: Any, tmp: Path) -> Any:
    from tsexplain.network import filter_importance_stats

    stats = filter_importance_stats(model, x, ["0", "2"], target=target, progress=False)
    return np.concatenate([stats["0"].mean, stats["2"].mean])


def _y_test(model: nn.Module) -> torch.Tensor:
    return torch.tensor(LABELS) if model[-1].out_features > 1 else torch.tensor([0.0, 1.0, 1.0, 0.0])


def _pruning_curve(model: nn.Module, x: torch.Tensor, target: Any, tmp: Path) -> Any:
    from tsexplain.network import pruning_curve

    curve = pruning_curve(model, "2", x, _y_test(model), x_importance=x, target=target,
                          max_pruned=1)
    return np.concatenate([curve.importance, curve.loss])


def _faithfulness_table(model: nn.Module, x: torch.Tensor, target: Any, tmp: Path) -> Any:
    from tsexplain.network import faithfulness_table

    table = faithfulness_table(model, x, _y_test(model), target=target)
    return np.array([[r.most_filter, r.least_filter, r.loss_without_most, r.loss_without_least]
                     for r in table.rows])


def _all_result(model: nn.Module, x: torch.Tensor) -> Any:
    return tsexplain.explain(model, x, "saliency", target="all", progress=False)


def _channel_importance(model: nn.Module, x: torch.Tensor, target: Any, tmp: Path) -> Any:
    from tsexplain.plotting import channel_importance

    return channel_importance(_all_result(model, x), target=target)


def _time_importance(model: nn.Module, x: torch.Tensor, target: Any, tmp: Path) -> Any:
    from tsexplain.plotting import time_importance

    return time_importance(_all_result(model, x), target=target, absolute=False)


def _plot_heatmap(model: nn.Module, x: torch.Tensor, target: Any, tmp: Path) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tsexplain.plotting import plot_heatmap

    fig = plot_heatmap(_all_result(model, x), sample=2, target=target)
    data = np.asarray(fig.axes[0].images[0].get_array())
    plt.close(fig)
    return data


#: name -> (runner, supports "all", reported indices or None)
ENTRY_POINTS: dict[str, tuple[Callable[..., Any], bool, Callable[[Any], Any] | None]] = {
    "explain": (_explain, True, lambda r: r.target),
    "Attribution.attribute": (_attribute, True, lambda r: r.target),
    "scale.attribute_dataset": (_scale, True, None),
    "metrics.deletion_curve": (_deletion, False, lambda r: r.target),
    "metrics.insertion_curve": (_insertion, False, lambda r: r.target),
    "metrics.model_randomization_check": (_sanity, False, None),
    "metrics.agra_reconstruct": (_agra, False, None),
    "network.filter_importance": (_filter_importance, False, None),
    "network.filter_importance_stats": (_filter_importance_stats, False, None),
    "network.pruning_curve": (_pruning_curve, False, None),
    "network.faithfulness_table": (_faithfulness_table, False, None),
    "plotting.channel_importance": (_channel_importance, False, None),
    "plotting.time_importance": (_time_importance, False, None),
    "plotting.plot_heatmap": (_plot_heatmap, False, None),
}


def fingerprint(result: Any) -> np.ndarray:
    if hasattr(result, "values") and hasattr(result, "method"):
        return np.asarray(result.values)
    if hasattr(result, "scores") and hasattr(result, "fractions"):
        return np.asarray(result.scores)
    if isinstance(result, torch.Tensor):
        return result.detach().numpy()
    return np.asarray(result)


def expected_indices(model: nn.Module, x: torch.Tensor, expected: Any) -> list[int]:
    if expected == PREDICTED:
        with torch.no_grad():
            return model(x).argmax(dim=1).tolist()
    return list(expected)


def check_cell(entry: str, model: nn.Module, x: torch.Tensor, target: Any, expected: Any,
               tmp: Path) -> None:
    run, supports_all, reported = ENTRY_POINTS[entry]
    if expected == ALL:
        expected = ALL if supports_all else UNSUPPORTED
    if isinstance(expected, Err):
        with pytest.raises(expected.kind, match=re.escape(expected.fragment)):
            run(model, x, target, tmp)
        return
    if expected == ALL:
        res = run(model, x, target, tmp)
        values = fingerprint(res)
        assert values.shape == (N, K, C, T)
        for k in range(K):  # output k of "all" is the attribution of target=k
            np.testing.assert_allclose(values[:, k], fingerprint(run(model, x, k, tmp)),
                                       rtol=1e-5, atol=1e-7)
        return
    idx = expected_indices(model, x, expected)
    res = run(model, x, target, tmp)
    if reported is not None and reported(res) is not None:
        np.testing.assert_array_equal(np.asarray(reported(res)), idx)
    explicit = idx if model[-1].out_features > 1 else None
    np.testing.assert_allclose(fingerprint(res), fingerprint(run(model, x, explicit, tmp)),
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize(("target", "expected"), [c[1:] for c in MULTI_CELLS],
                         ids=[c[0] for c in MULTI_CELLS])
def test_target_table_multi_output(entry, target, expected, models, x, tmp_path):
    check_cell(entry, models[K], x, target, expected, tmp_path)


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize(("target", "expected"), [c[1:] for c in SINGLE_CELLS],
                         ids=[c[0] for c in SINGLE_CELLS])
def test_target_table_single_output(entry, target, expected, models, x, tmp_path):
    check_cell(entry, models[1], x, target, expected, tmp_path)


# ------------------------------------------------------------------ fgsm: y is a label
# y follows the index rules for a multiclass model; its default is the model's own prediction
# (an attack needs a class to move away from), which is the one documented difference.

FGSM_CELLS: list[tuple[str, Any, Any]] = [
    ("none", None, PREDICTED),
    ("int", 1, [1, 1, 1, 1]),
    ("negative", -1, NEGATIVE),
    ("list", LABELS, LABELS),
    ("whole-floats", [0.0, 2.0, 1.0, 2.0], LABELS),
    ("fractional", [0.5, 2, 1, 2], WHOLE),
    ("bool", True, BOOL),
    ("predicted", "predicted", PREDICTED),
    ("all", "all", UNSUPPORTED),
    ("K", K, OUT_OF_RANGE),
    ("2**63", 2**63, OUT_OF_RANGE),
    ("wrong-length", [0, 1], LENGTH),
]


@pytest.mark.parametrize("attack", ["fgsm", "iterative_fgsm"])
@pytest.mark.parametrize(("y", "expected"), [c[1:] for c in FGSM_CELLS],
                         ids=[c[0] for c in FGSM_CELLS])
def test_target_table_fgsm_labels(attack, y, expected, models, x):
    from tsexplain.network import fgsm, iterative_fgsm

    model = models[K]

    def run(label: Any) -> np.ndarray:
        if attack == "fgsm":
            return fgsm(model, x, 0.1, y=label, task="multiclass").perturbation.numpy()
        return iterative_fgsm(model, x, 0.1, alpha=0.02, steps=3, y=label,
                              task="multiclass").perturbation.numpy()

    if isinstance(expected, Err):
        with pytest.raises(expected.kind, match=re.escape(expected.fragment)):
            run(y)
        return
    np.testing.assert_array_equal(run(y), run(expected_indices(model, x, expected)))


# ------------------------------------------------------------------ command line: --target
CLI_CELLS: list[tuple[str, list[str], Any]] = [
    ("none", [], AMBIGUOUS),
    ("int", ["--target", "1"], [1, 1, 1, 1]),
    ("negative", ["--target", "-1"], NEGATIVE),
    ("label", ["--target", "label"], LABELS),  # per-sample indices: the labels of the data
    ("fractional", ["--target", "1.5"], Err("--target must be", Exception)),
    ("predicted", ["--target", "predicted"], PREDICTED),
    ("all", ["--target", "all"], ALL),
    ("K", ["--target", str(K)], OUT_OF_RANGE),
    ("2**63", ["--target", str(2**63)], OUT_OF_RANGE),
    ("10**20", ["--target", str(10**20)], OUT_OF_RANGE),
]


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory: pytest.TempPathFactory, models, x) -> Path:
    d = tmp_path_factory.mktemp("cli")
    torch.jit.trace(models[K], x[:1]).save(str(d / "model.pt"))
    np.savez(d / "data.npz", X=x.numpy(), y=np.asarray(LABELS))
    return d


@pytest.mark.parametrize(("args", "expected"), [c[1:] for c in CLI_CELLS],
                         ids=[c[0] for c in CLI_CELLS])
def test_target_table_cli(args, expected, cli_files, models, x, tmp_path, capsys):
    from tsexplain.cli.main import main
    from tsexplain.io import read_results

    out = tmp_path / "out"
    rc = main(["explain", str(cli_files / "model.pt"), str(cli_files / "data.npz"), "-m", "saliency",
               *args, "--out", str(out), "--no-report", "--no-faithfulness", "-q"])
    err = capsys.readouterr().err.strip()
    if isinstance(expected, Err):
        assert rc == 2, err
        assert len(err.splitlines()) == 1, err
        assert expected.fragment in err, err
        return
    assert rc == 0, err
    values = np.asarray(read_results(out).results["saliency"].values)
    model = models[K]
    if expected == ALL:
        ref = tsexplain.explain(model, x, "saliency", target="all", progress=False).values
    else:
        idx = expected_indices(model, x, expected)
        ref = tsexplain.explain(model, x, "saliency", target=idx, progress=False).values
    np.testing.assert_allclose(values, ref, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------ server: the target field
SERVER_CELLS: list[tuple[str, Any, Any]] = [
    ("none", None, AMBIGUOUS),
    ("int", 1, [1, 1, 1, 1]),
    ("negative", -1, NEGATIVE),
    ("predicted", "predicted", PREDICTED),
    ("all", "all", Err("")),  # refused (422): the explorer shows one output at a time
    ("K", K, OUT_OF_RANGE),
    ("2**63", 2**63, OUT_OF_RANGE),
]


@pytest.fixture(scope="module")
def server_client(tmp_path_factory: pytest.TempPathFactory, models, x):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from tsexplain.server.app import create_app
    from tsexplain.server.deps import get_workspace
    from tsexplain.server.workspace import Workspace

    root = tmp_path_factory.mktemp("ws")
    ws = Workspace(root)
    ws.add_model("mc", models[K], {"task": "multiclass", "input_shape": [C, T]})
    (root / "datasets").mkdir(exist_ok=True)
    ws.save_dataset("data", x.numpy())
    app = create_app(workspace=Workspace(root))
    app.dependency_overrides[get_workspace] = lambda: ws
    with TestClient(app, base_url="http://localhost") as client:
        yield client


@pytest.mark.parametrize(("target", "expected"), [c[1:] for c in SERVER_CELLS],
                         ids=[c[0] for c in SERVER_CELLS])
def test_target_table_server(target, expected, server_client, models, x):
    body = {"model": "mc", "dataset": "data", "indices": list(range(N)), "method": "saliency",
            "target": target}
    r = server_client.post("/api/v1/explain", json=body)
    if isinstance(expected, Err):
        assert r.status_code == 422, r.text
        assert expected.fragment in r.text, r.text
        return
    assert r.status_code == 200, r.text
    idx = expected_indices(models[K], x, expected)
    ref = tsexplain.explain(models[K], x, "saliency", target=idx, progress=False).values
    np.testing.assert_allclose(np.asarray(r.json()["values"]["data"]), ref, rtol=1e-4, atol=1e-6)
