"""The long computations behind ``POST /api/v1/jobs``, one function per job kind.

Each takes a :class:`~tsexplain.server.jobs.JobContext`, the workspace and the validated request,
works on a private copy of the model, reports progress between steps (where a cancel takes
effect) and returns a JSON-able dict. They call the library: inverse optimisation and adversarial
search are run in chunks of iterations so progress and cancel work between chunks.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from tsexplain.server import explore
from tsexplain.server import schemas as s
from tsexplain.server.config import Settings
from tsexplain.server.errors import NotFoundError, WorkspaceError
from tsexplain.server.jobs import JobContext
from tsexplain.server.workspace import Workspace

_CHUNKS = 20


def _arr(a: Any) -> dict[str, Any]:
    return s.NDArray.of(np.asarray(a)).model_dump()


def _pred(summary: s.ModelSummary, out: Any, class_names: list[str] | None) -> dict[str, Any]:
    return explore.describe_outputs(summary, np.asarray(out), class_names)[0].model_dump()


def _downsample(a: np.ndarray, n: int = 400) -> tuple[list[int], list[float]]:
    idx = np.unique(np.linspace(0, len(a) - 1, min(n, len(a))).astype(int))
    return idx.tolist(), np.asarray(a, dtype=np.float64)[idx].tolist()


def _one_output(summary: s.ModelSummary, model: Any, name: str, x: np.ndarray,
                explained: s.TargetValue) -> tuple[Any, int | None]:
    """(the model an attack or inverse optimisation runs on, the output index it moves).

    A regression model with several outputs (a forecaster) is restricted to its explained
    output (``"predicted"``: the largest output of ``x`` (1, C, T)), so the job moves that one
    step; a single-output regression model is run whole (index 0), a classifier too (index
    None: the job moves its class).
    """
    from tsexplain.network._output import OneOutput

    if summary.task != "regression":
        return model, None
    if (summary.n_outputs or 1) == 1:
        return model, 0
    k = (int(explore.run_model(model, name, x)[0].argmax()) if explained == "predicted"
         else int(explained or 0))
    return OneOutput(model, k), k


def _moved(out_before: np.ndarray, out_after: np.ndarray, k: int | None) -> dict[str, Any]:
    """The explained output of a regression model before and after a job moved it."""
    if k is None:
        return {"explained_output": None, "output_before": None, "output_after": None}
    return {"explained_output": k, "output_before": float(np.asarray(out_before)[0, k]),
            "output_after": float(np.asarray(out_after)[0, k])}


def run_inverse(ctx: JobContext, ws: Workspace, req: s.InverseJob) -> dict[str, Any]:
    """TSViz Eq. 25-26 from a sample or a random start, in chunks of iterations; a regression
    model with several outputs drives its explained output to ``target_value``."""
    from tsexplain.network import inverse_optimize
    from tsexplain.server.additional_inputs import with_additional_inputs

    summary = explore.model_summary(ws, req.model)
    class_names = None
    additional: tuple[np.ndarray, ...] = ()
    if req.dataset is not None:
        data = ws.dataset(req.dataset)
        explore.check_compatible(ws, summary, data)
        x = data.sample(req.index).astype(np.float32)
        additional = data.additional_rows([req.index])
        class_names = data.class_names
    else:
        if summary.input_shape is None:
            raise NotFoundError(f"model {req.model!r}: input shape unknown; give a dataset to start from")
        rng = np.random.default_rng(req.seed)
        x = rng.standard_normal((1, *summary.input_shape)).astype(np.float32)
    value: Any = int(req.target_value) if summary.task == "multiclass" else float(req.target_value)
    # the sample's further inputs stay fixed while its series is optimised
    model = with_additional_inputs(ws.model(req.model).copy(), additional)
    explained = explore.explained_target(summary, req.target)
    driven, k = _one_output(summary, model, req.model, x, explained)
    start, losses, done = x.copy(), [], 0
    chunk = max(1, -(-req.steps // _CHUNKS))
    while done < req.steps:
        n = min(chunk, req.steps - done)
        r = inverse_optimize(driven, value, x0=x, task=summary.task, alpha=req.alpha,
                             steps=n, optimizer=req.optimizer, smoothness=req.smoothness,
                             record_every=n, seed=req.seed)
        x = r.x.detach().numpy()
        losses.extend(np.asarray(r.losses)[:-1].tolist())
        done += n
        if done >= req.steps:
            losses.append(float(np.asarray(r.losses)[-1]))
        ctx.progress(done / req.steps, f"iteration {done}/{req.steps}, objective {r.losses[-1]:.4g}")
    steps, loss = _downsample(np.asarray(losses))
    before, after = explore.run_model(model, req.model, start), explore.run_model(model, req.model, x)
    return {
        "start": _arr(start[0]), "final": _arr(x[0]), "change": _arr(x[0] - start[0]),
        "prediction_before": _pred(summary, before, class_names),
        "prediction_after": _pred(summary, after, class_names),
        "objective": {"iteration": steps, "value": loss}, "target_value": value,
        "target": explained, **_moved(before, after, k),
        "channel_names": ws.dataset(req.dataset).channel_names if req.dataset else
        [f"channel {i}" for i in range(x.shape[1])],
    }


def _label(summary: s.ModelSummary, out: np.ndarray) -> float:
    out = np.asarray(out).reshape(-1)
    if summary.task == "binary":
        p = out[0] if summary.output_unit == "probability" else 1 / (1 + np.exp(-out[0]))
        return float(p > 0.5)
    if summary.task == "multiclass":
        return float(out.argmax())
    return float(out[0])


def run_adversarial(ctx: JobContext, ws: Workspace, req: s.AdversarialJob) -> dict[str, Any]:
    """FGSM, or iterative FGSM in chunks (each chunk projected back onto the epsilon box of x).

    A classifier's attack moves away from (or toward ``y``) its predicted class and says whether
    the prediction flipped; a regression model's moves its explained output up (or toward ``y``)
    and says how far it moved (``flipped`` is None: a value has no class to flip)."""
    import tsexplain
    from tsexplain.network import fgsm, iterative_fgsm
    from tsexplain.server.additional_inputs import with_additional_inputs

    summary = explore.model_summary(ws, req.model)
    data = ws.dataset(req.dataset)
    explore.check_compatible(ws, summary, data)
    x0 = data.sample(req.index).astype(np.float32)
    # the sample's further inputs stay fixed while its series is attacked
    model = with_additional_inputs(ws.model(req.model).copy(), data.additional_rows([req.index]))
    explained = explore.explained_target(summary, req.target)
    attacked, k = _one_output(summary, model, req.model, x0, explained)
    out0 = explore.run_model(model, req.model, x0)
    label0 = _label(summary, out0)
    y = req.y
    if y is None and summary.task != "regression":
        y = label0  # untargeted: move away from the original prediction throughout
    y_arg: Any = None if y is None else (int(y) if summary.task == "multiclass" else float(y))
    x, steps_run = x0.copy(), 0
    if req.method == "fgsm":
        r = fgsm(attacked, x0, req.epsilon, y=y_arg, targeted=req.targeted, task=summary.task)
        x = r.x_adv.detach().numpy()
        steps_run = 1
        ctx.progress(0.9, "FGSM step done")
    else:
        chunk = max(1, -(-req.steps // _CHUNKS))
        while steps_run < req.steps:
            n = min(chunk, req.steps - steps_run)
            r = iterative_fgsm(attacked, x, req.epsilon, alpha=req.alpha, steps=n, y=y_arg,
                               targeted=req.targeted, task=summary.task)
            x = np.clip(r.x_adv.detach().numpy(), x0 - req.epsilon, x0 + req.epsilon).astype(np.float32)
            steps_run += n
            ctx.progress(steps_run / req.steps, f"step {steps_run}/{req.steps}")
            if (req.stop_on_flip and summary.task != "regression"
                    and _label(summary, explore.run_model(model, req.model, x)) != label0):
                break
    out1 = explore.run_model(model, req.model, x)
    pert = x - x0
    mass = np.abs(pert[0]).sum(1)
    shown = explained if k is None else k  # a regression model: the output the attack moved
    sal0 = tsexplain.explain(model, x0, "saliency", target=shown, progress=False).values[0]
    sal1 = tsexplain.explain(model, x, "saliency", target=shown, progress=False).values[0]
    return {
        "x": _arr(x0[0]), "x_adv": _arr(x[0]), "perturbation": _arr(pert[0]),
        "prediction_before": _pred(summary, out0, data.class_names),
        "prediction_after": _pred(summary, out1, data.class_names),
        "flipped": None if summary.task == "regression" else bool(_label(summary, out1) != label0),
        "target": explained, **_moved(out0, out1, k),
        "steps": steps_run, "epsilon": req.epsilon,
        "max_abs_perturbation": float(np.abs(pert).max()),
        "channel_share": (mass / max(float(mass.sum()), 1e-30)).tolist(),
        "saliency_before": _arr(sal0), "saliency_after": _arr(sal1),
        "channel_names": data.channel_names, "value_unit": data.value_unit,
    }


def _labelled(ws: Workspace, dataset: str, max_samples: int, required: bool = True
              ) -> tuple[Any, np.ndarray, np.ndarray | None]:
    """(data set, its first ``max_samples`` series (n, C, T), their labels y or None); a clear
    422 when the labels are ``required`` and the data set has none."""
    from tsexplain.exceptions import ParameterError

    data = ws.dataset(dataset)
    if data.y is None and required:
        raise ParameterError(f"data set {dataset!r} has no labels y; this job needs them")
    n = min(max_samples, data.shape[0])
    return data, data.X[:n], None if data.y is None else data.y[:n]


def _needs_labels(summary: s.ModelSummary) -> bool:
    """Whether the pruning jobs need labels: a classifier's loss does; a regression model's
    criterion falls back to its own unpruned output (:func:`_criterion`)."""
    return summary.task != "regression"


def _criterion(summary: s.ModelSummary, model: Any, name: str, x: np.ndarray,
               y: np.ndarray | None, explained: s.TargetValue) -> tuple[Any, Any, str]:
    """``(y, loss, name)``: what the pruning jobs measure with ``evaluate_loss(model, x, y, loss=loss)``.

    A classifier: its task's loss (``"auto"``) against the labels y. A regression model: the
    squared error of the explained output, against the data set's targets for it when there are
    some (y (N,) of a single-output model, or column k of y (N, K)), else against the unpruned
    model's own output, so the curve shows how far removing filters moves the explained output.
    For a regression model the returned y is (N, 2): each sample's reference value and the index
    of its explained output.

    Parameters
    ----------
    x : numpy.ndarray of shape (N, C, T)
    y : numpy.ndarray of shape (N,) or (N, K), or None
    """
    import torch

    if _needs_labels(summary):
        return y, "auto", _LOSS_NAMES[_task_of(summary)]
    out = np.concatenate([explore.run_model(model, name, x[i:i + 256])
                          for i in range(0, len(x), 256)])
    n, n_outputs = out.shape
    rows = np.arange(n)
    column = (out.argmax(1) if explained == "predicted"
              else np.full(n, int(explained or 0), dtype=np.int64))
    if y is not None and ((y.ndim == 1 and n_outputs == 1)
                          or (y.ndim == 2 and y.shape[1] == n_outputs)):
        reference = np.asarray(y, dtype=np.float64).reshape(n, -1)[rows, column]
        against = "the data set's targets"
    else:
        reference, against = out[rows, column], "the unpruned model's output"
    pairs = torch.as_tensor(np.stack([reference, column], axis=1), dtype=torch.float64)
    label = explore.output_label(summary, explained)
    return pairs, _squared_error_of_output, f"squared error of {label} against {against}"


def _squared_error_of_output(out: Any, pairs: Any) -> Any:
    """Mean squared error of each sample's explained output: ``out`` (n, K) from the model,
    ``pairs`` (n, 2) its reference value and output index (:func:`_criterion`)."""
    import torch

    flat = out.reshape(out.shape[0], -1)
    chosen = flat[torch.arange(flat.shape[0]), pairs[:, 1].long()]
    return ((chosen - pairs[:, 0].to(chosen.dtype)) ** 2).mean()


def run_pruning(ctx: JobContext, ws: Workspace, req: s.PruningJob) -> dict[str, Any]:
    """Test loss as the layer's filters are zeroed one by one, least and/or most important first
    (a regression model: :func:`_criterion`)."""
    from tsexplain.network import evaluate_loss, filter_importance_stats, prune_filters

    summary = explore.model_summary(ws, req.model)
    data, x, labels = _labelled(ws, req.dataset, req.max_samples, _needs_labels(summary))
    explore.check_compatible(ws, summary, data)
    explore.refuse_additional(data, _REFUSED["pruning"])
    model = ws.model(req.model).copy()
    target = explore.explained_target(summary, req.target)
    ctx.progress(0.02, "ranking filters by mean importance")
    stats = filter_importance_stats(model, x, req.layer, target, progress=False)[req.layer]
    mean = np.asarray(stats.mean)
    f = len(mean)
    max_pruned = min(req.max_pruned or f - 1, f - 1)
    orders = ["least", "most"] if req.order == "both" else [req.order]
    y, loss, loss_name = _criterion(summary, model, req.model, x, labels, target)
    base = evaluate_loss(model, x, y, loss=loss, task=summary.task)
    curves: dict[str, Any] = {}
    total, done = max_pruned * len(orders), 0
    for order in orders:
        ranking = np.argsort(mean if order == "least" else -mean, kind="stable")
        losses = [base]
        for k in range(1, max_pruned + 1):
            pruned = prune_filters(model, req.layer, ranking[:k].tolist())
            losses.append(evaluate_loss(pruned, x, y, loss=loss, task=summary.task))
            done += 1
            ctx.progress(0.05 + 0.95 * done / total, f"{order} first: {k}/{max_pruned} filters removed")
        curves[order] = {"removal_order": ranking[:max_pruned].tolist(), "loss": losses}
    return {"layer": req.layer, "n_filters": f, "n_samples": int(len(x)),
            "n_pruned": list(range(max_pruned + 1)), "curves": curves,
            "importance_mean": mean.tolist(), "loss_name": loss_name, "target": target}


def _task_of(summary: s.ModelSummary) -> str:
    """The task of a usable model (a model listed with a problem has none and cannot run)."""
    if summary.task is None:
        raise WorkspaceError(summary.problem or f"model {summary.name!r} cannot be used")
    return summary.task


def run_ensemble(ctx: JobContext, ws: Workspace, req: s.EnsembleJob) -> dict[str, Any]:
    """AGRA: train ``n_models`` of the architecture, explain one sample with the averaged gradients."""
    import tsexplain
    from tsexplain.exceptions import ParameterError
    from tsexplain.models import build_model, model_spec
    from tsexplain.training import train_ensemble

    summary = explore.model_summary(ws, req.model)
    data, x, y = _labelled(ws, req.dataset, req.max_samples)
    assert y is not None  # _labelled requires them
    explore.check_compatible(ws, summary, data)
    explore.refuse_additional(data, _REFUSED["ensemble"])
    model = ws.model(req.model).copy()
    try:
        spec = model_spec(model)
    except (ValueError, TypeError) as err:
        raise ParameterError(f"AGRA retraining needs a tsexplain reference architecture: {err}") from None
    sample = data.sample(req.index)
    ctx.progress(0.05, f"training {req.n_models} models on {len(x)} samples, {req.epochs} epochs each")
    t0 = time.perf_counter()

    def on_step(fraction: float) -> None:
        if ctx.cancelled:
            raise KeyboardInterrupt  # the library's interruption: training stops and returns
        ctx.progress(0.05 + 0.8 * fraction, f"training {req.n_models} models: "
                     f"{100 * fraction:.0f}% ({time.perf_counter() - t0:.0f} s)")

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="train_ensemble interrupted")
        members = train_ensemble(lambda: build_model(spec), x, y, n_models=req.n_models,
                                 task=summary.task, epochs=req.epochs, seed=req.seed,
                                 progress=False, callback=on_step)
    ctx.check_cancelled()
    seconds = time.perf_counter() - t0
    ctx.progress(0.9, "explaining with the ensemble")
    target = explore.explained_target(summary, req.target)
    single = tsexplain.explain(model, sample, req.method, target=target, progress=False).values[0]
    agra = tsexplain.explain(list(members), sample, req.method, target=target, progress=False).values[0]
    each = [tsexplain.explain(m, sample, req.method, target=target, progress=False).values[0]
            for m in members]
    corr = [float(np.corrcoef(e.ravel(), agra.ravel())[0, 1]) for e in each]
    return {"method": req.method, "n_models": len(members), "strategy": members.method,
            "training_seconds": seconds, "single": _arr(single), "agra": _arr(agra),
            "member_correlation_with_agra": corr,
            "single_correlation_with_agra": float(np.corrcoef(single.ravel(), agra.ravel())[0, 1]),
            "target": target,
            "val_loss": [float(h.val_loss[-1]) if h.val_loss else None for h in members.histories],
            "channel_names": data.channel_names}


def run_benchmark(ctx: JobContext, ws: Workspace, req: s.BenchmarkJob) -> dict[str, Any]:
    """Seconds per method on the first ``n_samples`` samples."""
    import tsexplain
    from tsexplain.attribution import METHODS, get_method

    summary = explore.model_summary(ws, req.model)
    data = ws.dataset(req.dataset)
    explore.check_compatible(ws, summary, data)
    names = req.methods or list(METHODS)
    for n in names:
        get_method(n)
    x = data.X[: req.n_samples]
    additional = data.additional_rows(slice(0, len(x))) or None
    model = ws.model(req.model).copy()
    target = explore.explained_target(summary, req.target)
    rows = []
    for i, name in enumerate(names):
        res = tsexplain.explain(model, x, name, target=target, progress=False,
                                additional_inputs=additional)
        rows.append({"method": name, "seconds": res.seconds,
                     "ms_per_sample": 1000 * res.seconds / len(x),
                     "params": {k: explore._jsonable(v) for k, v in res.params.items()}})
        ctx.progress((i + 1) / len(names), f"{name}: {res.seconds:.3f} s")
    return {"n_samples": int(len(x)), "rows": rows, "target": target}


def _one_filter_removed(model: Any, layer: str, f: int, x: np.ndarray, y: Any, task: str,
                        loss: Any, fine_tune_epochs: int, train: tuple[np.ndarray, Any] | None,
                        seed: int) -> float:
    """Test loss with filter ``f`` of ``layer`` removed (and the copy fine-tuned if asked);
    ``y`` and ``loss`` as :func:`_criterion` gives them."""
    from tsexplain.network import pruning_curve

    n_filters = int(_filter_count(model, layer, x))
    ranking = np.zeros(n_filters)
    ranking[f] = -1.0  # removed first by order="least"
    curve = pruning_curve(model, layer, x, y, importance=ranking, order="least", max_pruned=1,
                          loss=loss, task=task, fine_tune_epochs=fine_tune_epochs, train=train,
                          seed=seed)
    return float(curve.loss[1])


def _filter_count(model: Any, layer: str, x: np.ndarray) -> int:
    from tsexplain.network import conv_activations

    return int(conv_activations(model, x[:1], layer)[layer].shape[1])


def run_faithfulness(ctx: JobContext, ws: Workspace, req: s.FaithfulnessJob) -> dict[str, Any]:
    """TSViz Table 1 for every conv layer: the loss without one filter chosen by each strategy."""
    from tsexplain.network import (
        cluster_filters,
        conv_activations,
        describe,
        evaluate_loss,
        filter_importance_stats,
    )

    summary = explore.model_summary(ws, req.model)
    required = _needs_labels(summary)
    data, x, labels = _labelled(ws, req.dataset, req.max_samples, required)
    explore.refuse_additional(data, _REFUSED["faithfulness"])
    model = ws.model(req.model).copy()
    target = explore.explained_target(summary, req.target)
    y, loss, loss_name = _criterion(summary, model, req.model, x, labels, target)
    train = None
    if req.fine_tune_epochs:
        assert req.train_dataset is not None
        _, xt, yt = _labelled(ws, req.train_dataset, 20_000, required)
        train = (xt, _criterion(summary, model, req.model, xt, yt, target)[0])
    conv = [li.name for li in describe(model, x[:1]).conv_layers]
    ctx.progress(0.02, "mean filter importance over the data set")
    stats = filter_importance_stats(model, x, conv, target, progress=False)
    base = evaluate_loss(model, x, y, loss=loss, task=summary.task)
    rng = np.random.default_rng(req.seed)
    rows, total, done = [], len(conv) * len(req.strategies), 0
    for name in conv:
        mean = np.asarray(stats[name].mean, dtype=np.float64)
        chosen: dict[str, int | None] = {}
        note = None
        strategy: str
        for strategy in req.strategies:
            if strategy == "most":
                chosen[strategy] = int(np.argmax(mean))
            elif strategy == "least":
                chosen[strategy] = int(np.argmin(mean))
            elif strategy == "random":
                chosen[strategy] = int(rng.integers(len(mean)))
            else:
                acts = conv_activations(model, x[: min(32, len(x))], name)[name].mean(0).numpy()
                try:
                    labels = np.asarray(cluster_filters(acts, parallel=False).labels)
                except ValueError as err:  # too few filters to cluster
                    chosen[strategy], note = None, str(err)
                    continue
                sizes = np.bincount(labels)
                members = np.flatnonzero(labels == int(np.argmax(sizes)))
                chosen[strategy] = int(members[np.argmin(mean[members])])
        losses: dict[str, float | None] = {}
        for strategy, f in chosen.items():
            losses[strategy] = None if f is None else _one_filter_removed(
                model, name, f, x, y, _task_of(summary), loss, req.fine_tune_epochs, train,
                req.seed)
            done += 1
            ctx.progress(0.05 + 0.95 * done / total, f"{name}: {strategy} filter removed")
        rows.append({"layer": name, "n_filters": int(len(mean)), "filters": chosen,
                     "loss": losses, "note": note})
    return {"baseline_loss": float(base), "rows": rows, "strategies": list(req.strategies),
            "fine_tune_epochs": req.fine_tune_epochs, "n_samples": int(len(x)),
            "loss_name": loss_name, "target": target}


#: The jobs that run the model on chunks of series of their own, and so take no further inputs
#: (:func:`tsexplain.server.explore.refuse_additional`), named for its message.
_REFUSED = {"pruning": "the pruning job", "faithfulness": "the faithfulness table",
            "ensemble": "AGRA retraining"}

_LOSS_NAMES = {"binary": "binary cross-entropy", "multiclass": "cross-entropy",
               "regression": "mean squared error"}


def validate_job(ws: Workspace, settings: Settings, req: Any) -> None:
    """Every check a job can make before it starts: the submit answers 404/422 instead of 202
    followed by a failed job."""
    from tsexplain.attribution import get_method
    from tsexplain.exceptions import ParameterError, TargetError

    summary = explore.model_summary(ws, req.model, settings.model_wait_seconds)
    dataset = getattr(req, "dataset", None)
    data = None
    if dataset is not None:
        data = ws.dataset(dataset)
        explore.check_compatible(ws, summary, data, settings.model_wait_seconds)
        if req.kind in _REFUSED:
            explore.refuse_additional(data, _REFUSED[req.kind])
        index = getattr(req, "index", None)
        if index is not None and not 0 <= index < data.shape[0]:
            raise ParameterError(f"index {index} is out of range: data set {dataset!r} has "
                                 f"{data.shape[0]} samples (0..{data.shape[0] - 1})")
    n_out = summary.n_outputs or 1
    explore.explained_target(summary, req.target)
    if isinstance(req, s.InverseJob):
        _check_output_value(summary, req.target_value, "target_value", n_out)
        if summary.task != "regression" and isinstance(req.target, int):
            raise TargetError(f"model {req.model!r} is a classifier: inverse optimisation moves "
                              "it toward the class target_value; target (an output index) picks "
                              "the output of a regression model with several outputs")
        if req.dataset is None and summary.input_shape is None:
            raise ParameterError(f"model {req.model!r}: input shape unknown; give a dataset to "
                                 "start from")
        if req.dataset is None:
            _check_series_alone(ws, settings, summary)
    elif isinstance(req, s.AdversarialJob):
        if req.targeted and req.y is None:
            raise TargetError("a targeted attack needs y, the label (or value) to move toward")
        if req.y is not None:
            _check_output_value(summary, req.y, "y", n_out)
    elif isinstance(req, s.PruningJob | s.FaithfulnessJob):
        assert data is not None
        if _needs_labels(summary):
            _check_class_labels(data, req.dataset)
        if isinstance(req, s.PruningJob):
            net = explore.filter_layer_names(ws, settings, req.model, req.layer)
            conv = [li.name for li in net.conv_layers]
            if req.layer not in conv:
                raise NotFoundError(f"model {req.model!r} has no conv layer {req.layer!r}; conv "
                                    f"layers: {', '.join(conv)}")
        else:
            explore._conv_layers(ws, settings, ws.model(req.model), summary)
            if req.fine_tune_epochs and req.train_dataset is None:
                raise ParameterError("fine_tune_epochs > 0 needs train_dataset, a labelled data "
                                     "set to fine-tune on")
            if req.train_dataset is not None:
                train = ws.dataset(req.train_dataset)
                explore.check_compatible(ws, summary, train, settings.model_wait_seconds)
                if _needs_labels(summary):
                    _check_class_labels(train, req.train_dataset)
    elif isinstance(req, s.EnsembleJob):
        assert data is not None
        if data.y is None:
            raise ParameterError(f"data set {req.dataset!r} has no labels y; this job needs them")
        from tsexplain.models import model_spec

        try:
            model_spec(ws.model(req.model).first())
        except (ValueError, TypeError) as err:
            raise ParameterError(f"AGRA retraining needs a tsexplain reference architecture: "
                                 f"{err}") from None
    elif isinstance(req, s.BenchmarkJob):
        for name in req.methods or []:
            explore.check_param_values(settings, name, {}, get_method(name).parameters())


def _check_series_alone(ws: Workspace, settings: Settings, summary: s.ModelSummary) -> None:
    """A random start gives the model a series and nothing else: a clear 422 for a model whose
    forward takes further inputs (a start from a data set's sample gives them)."""
    from tsexplain.exceptions import ModelInputsError

    assert summary.input_shape is not None
    try:
        explore.predict(ws, settings, summary.name,
                        np.zeros((1, *summary.input_shape), dtype=np.float32))
    except ModelInputsError as err:
        raise ModelInputsError(
            f"model {summary.name!r}: {err.problem}; inverse optimisation from a random start "
            f"gives it the series alone: start from a sample of a data set that carries its "
            f"further inputs (dataset and index)", err.problem) from None


def _check_class_labels(data: Any, name: str) -> None:
    """A classifier's loss needs one class label per sample: y of shape (N,)."""
    from tsexplain.exceptions import ParameterError

    if data.y is None:
        raise ParameterError(f"data set {name!r} has no labels y; this job needs them to measure "
                             "the classifier's loss")
    if data.y.ndim != 1:
        raise ParameterError(f"data set {name!r} has labels y of shape {tuple(data.y.shape)}; a "
                             "classifier's loss needs one class label per sample, shape (N,)")


def _check_output_value(summary: s.ModelSummary, value: float, what: str, n_out: int) -> None:
    """An output value fits the task: binary 0..1, multiclass a class index, regression any."""
    from tsexplain.exceptions import TargetError

    if summary.task == "binary" and not 0.0 <= value <= 1.0:
        raise TargetError(f"{what} {value:g} does not fit the binary model {summary.name!r}: give "
                          "a probability or label between 0 and 1")
    if summary.task == "multiclass" and not (float(value).is_integer() and 0 <= value < n_out):
        raise TargetError(f"{what} {value:g} is not a class of model {summary.name!r}: give a "
                          f"class index 0..{n_out - 1}")


#: The runner of each job kind; each takes the request model of its kind (JobRequest's member
#: with that ``kind``), which a plain dict type cannot express, hence ``Any``.
RUNNERS: dict[str, Callable[[JobContext, Workspace, Any], dict[str, Any]]] = {
    "inverse": run_inverse, "adversarial": run_adversarial, "pruning": run_pruning,
    "faithfulness": run_faithfulness, "ensemble": run_ensemble, "benchmark": run_benchmark}
