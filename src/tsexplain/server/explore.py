"""What the routes compute, on top of the library: summaries, predictions, explanations, filters.

Each function takes the workspace, the settings and plain values and returns schema objects; the
routes stay thin. A computation borrows one model replica, once (:func:`borrowed`), and passes the
module down to every helper (``run_model``, filters, saliency): concurrent requests never share a
module's hooks and never wait for a second replica while holding one (see
:mod:`tsexplain.server.concurrency`). Results are cached by model, data, method and parameters;
heavy computations give their memory back to the OS when they finish.
"""

from __future__ import annotations

import math
import time
from typing import Any, Literal

import numpy as np

from tsexplain.server import schemas as s
from tsexplain.server.concurrency import borrowed, forward_ad_section, release_memory
from tsexplain.server.config import Settings
from tsexplain.server.errors import NotFoundError
from tsexplain.server.workspace import TASKS, DatasetEntry, ModelEntry, Workspace, params_key


# ---------------------------------------------------------------------------- models
def model_summary(ws: Workspace, name: str, wait: float = 30.0) -> s.ModelSummary:
    """Architecture, task, input shape and outputs of model ``name`` (computed once).

    Borrows a replica (at most ``wait`` seconds): never call it while holding one.
    """
    entry = ws.model(name)
    cached = entry.info.get("_summary")
    if isinstance(cached, s.ModelSummary):
        return cached
    import torch

    model = entry.first()
    info = entry.info
    architecture, config = None, {}
    try:
        from tsexplain.models import model_spec

        spec = model_spec(model)
        architecture, config = spec.get("architecture"), spec.get("config", {})
    except (ValueError, TypeError, AttributeError):
        architecture = type(model).__name__
    input_shape = info.get("input_shape")
    if input_shape is None and "n_channels" in config and "length" in config:
        input_shape = [int(config["n_channels"]), int(config["length"])]
    default_dataset = info.get("dataset")
    if input_shape is None:
        names = [default_dataset] if default_dataset else ws.dataset_names()
        for dname in names:
            try:
                _, c, t = ws.dataset(dname).shape
            except (ValueError, LookupError):
                continue
            input_shape = [c, t]
            break
    n_outputs = None
    if input_shape is not None:
        # the series alone, else with the further inputs of a data set's first series (its
        # own data set first): the first that runs is the model's probe
        names = [default_dataset] if default_dataset else []
        names += [n for n in ws.dataset_names() if n != default_dataset]
        with borrowed(entry, wait) as m, torch.no_grad():
            for dname in [None, *names[:_PROBED_DATASETS]]:
                additional = _first_row_inputs(ws, dname, input_shape)
                if dname is not None and not additional:
                    continue
                try:
                    out = m(torch.zeros(1, *input_shape), *map(torch.as_tensor, additional))
                except Exception:  # noqa: BLE001 - a model that does not run on its stated shape
                    continue
                n_outputs = int(out.reshape(1, -1).shape[1])
                entry.info["_probe_additional"] = additional
                default_dataset = default_dataset or dname
                break
    task = info.get("task") or getattr(model, "default_task", None)
    if task not in TASKS:
        from tsexplain._task import resolve_task

        labels = None
        if default_dataset is not None:
            try:
                labels = ws.dataset(default_dataset).y
            except (ValueError, LookupError):
                labels = None
        task = resolve_task(None, n_outputs or 1, labels=labels)
    output_names = list(info.get("output_names") or info.get("class_names") or [])
    if not output_names:
        output_names = [f"output {i}" for i in range(n_outputs or 1)]
    unit = info.get("output_unit") or ("logit" if task != "regression" else "value")
    if default_dataset is None:
        for dname in ws.dataset_names():
            try:
                _, c, t = ws.dataset(dname).shape
            except (ValueError, LookupError):
                continue
            if input_shape is None or [c, t] == list(input_shape):
                default_dataset = dname
                break
    kind: Any = entry.kind
    summary = s.ModelSummary(
        name=name, kind=kind, architecture=architecture, task=task, problem=None,
        input_shape=list(input_shape) if input_shape else None, n_outputs=n_outputs,
        output_names=output_names, output_unit=unit,
        description=str(info.get("description", "")), default_dataset=default_dataset,
        n_params=parameter_count(model),
    )
    entry.info["_summary"] = summary
    return summary


#: How many data sets the summary's probe of a model with further inputs tries.
_PROBED_DATASETS = 8


def _first_row_inputs(ws: Workspace, dataset: str | None, input_shape: list[int] | None
                     ) -> tuple[np.ndarray, ...]:
    """The further inputs of the first series of ``dataset``, each (1, ...), for a probe of a
    model on series of ``input_shape`` [C, T] (empty: no such data set, or it has none)."""
    if dataset is None:
        return ()
    try:
        data = ws.dataset(dataset)
    except (ValueError, LookupError):
        return ()
    if input_shape is not None and list(data.shape[1:]) != list(input_shape):
        return ()
    return data.additional_rows([0])


def parameter_count(model: Any) -> int:
    """Number of parameters of the model as the user saved it (a TorchScript model is loaded
    frozen, its weights inlined as constants: the loader kept the count it was saved with)."""
    saved = getattr(model, "saved_parameters", None)
    return int(saved) if saved is not None else int(sum(p.numel() for p in model.parameters()))


def check_compatible(ws: Workspace, summary: s.ModelSummary, data: DatasetEntry,
                     wait: float = 30.0) -> None:
    """A clear 422 when the data set does not fit the model: its (C, T) is not what the model was
    built for, or it carries fewer or more further inputs (``additional_<i>``) than the model's
    forward takes after the series (one forward pass on its first series, once per pair).

    Borrows a replica (at most ``wait`` seconds): never call it while holding one.
    """
    from tsexplain.exceptions import ShapeError

    _, c, t = data.shape
    if summary.input_shape is not None and list(summary.input_shape) != [c, t]:
        raise ShapeError(
            f"model {summary.name!r} takes series of {summary.input_shape[0]} channels x "
            f"{summary.input_shape[1]} steps; data set {data.name!r} has {c} x {t}"
        )

    def probe() -> bool:
        with borrowed(ws.model(summary.name), wait) as m:
            run_model(m, summary.name, data.X[:1], data.additional_rows([0]), data.name)
        return True

    ws.cache.get_or_compute(("inputs", summary.name, data.name), probe)


def refuse_additional(data: DatasetEntry, view: str) -> None:
    """A clear 422 for ``view``, an analysis that runs the model on many series in chunks of
    its own and so cannot give each series its further inputs, when ``data`` carries some."""
    from tsexplain.exceptions import ParameterError

    if data.additional:
        raise ParameterError(
            f"{view} is not available for a model with further inputs (data set {data.name!r} "
            f"carries additional_0..{len(data.additional) - 1}): it runs the model on chunks of "
            f"series without them. Available for it: predictions, attributions, aggregates, "
            f"deletion/insertion curves, the network and layer views of one sample, inverse "
            f"optimisation, adversarial attacks and the benchmark")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))
    return out


def describe_outputs(summary: s.ModelSummary, outputs: np.ndarray, class_names: list[str] | None = None
                     ) -> list[s.Prediction]:
    """Predictions of each row of ``outputs`` (N, K), in words and with units."""
    out = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
    preds = []
    for row in out:
        if summary.task == "binary" and row.size == 1:
            z = float(row[0])
            already_prob = summary.output_unit == "probability"
            p = z if already_prob else float(_sigmoid(np.array(z)))
            names = class_names if class_names and len(class_names) == 2 else None
            positive = names[1] if names else (summary.output_names[0] if summary.output_names else "positive")
            label = int(p > 0.5)
            label_name = (names[label] if names else (positive if label else f"not {positive}"))
            text = (f"P({positive}) = {p:.3f}" + ("" if already_prob else f" (logit {z:+.2f})"))
            preds.append(s.Prediction(outputs=[z], output_unit=summary.output_unit,
                                      probabilities=[p], predicted=label, predicted_name=label_name,
                                      text=text))
        elif summary.task == "multiclass":
            e = np.exp(row - row.max())
            prob = e / e.sum()
            k = int(prob.argmax())
            names = class_names or summary.output_names
            name = names[k] if k < len(names) else f"class {k}"
            preds.append(s.Prediction(outputs=row.tolist(), output_unit=summary.output_unit,
                                      probabilities=prob.tolist(), predicted=k, predicted_name=name,
                                      text=f"{name} with p = {prob[k]:.3f} (softmax of logits)"))
        else:
            vals = ", ".join(f"{v:.4g}" for v in row[:4]) + (" ..." if row.size > 4 else "")
            preds.append(s.Prediction(outputs=row.tolist(), output_unit=summary.output_unit,
                                      text=f"{vals} {summary.output_unit}"))
    return preds


def run_model(m: Any, name: str, x: np.ndarray, additional: tuple[np.ndarray, ...] = (),
              dataset: str | None = None) -> np.ndarray:
    """Outputs (N, K) of the borrowed module ``m`` (model ``name``) for series x (N, C, T) and
    their further inputs ``additional`` (each (N, ...); ``model(x, *additional)``).

    Raises
    ------
    ModelInputsError
        The model's forward takes more or fewer inputs; the message says how a workspace data
        set (``dataset``, named in it) carries further inputs.
    ModelOutputError
        The model fails on the input, or does not return one row per series.
    """
    import torch

    from tsexplain.exceptions import ModelInputsError, ModelOutputError, model_inputs_problem
    from tsexplain.io.checks import model_inputs_refusal

    with torch.no_grad():
        try:
            out = m(torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32),
                    *(torch.as_tensor(a) for a in additional))
        except (TypeError, RuntimeError) as err:
            problem = model_inputs_problem(err, len(additional))
            if problem is not None:
                refusal = model_inputs_refusal(problem, takes_additional=False)
                pair = f"model {name!r}" + (f" with data set {dataset!r}" if dataset else "")
                raise ModelInputsError(f"{pair}: {refusal}", problem) from None
            if isinstance(err, TypeError):
                raise
            raise ModelOutputError(f"model {name!r} failed on input of shape {tuple(x.shape)}: "
                                   f"{str(err).splitlines()[0]}") from None
    if not isinstance(out, torch.Tensor) or out.ndim == 0 or out.shape[0] != x.shape[0]:
        raise ModelOutputError(f"model {name!r} did not return one row per input series")
    result: np.ndarray = out.reshape(x.shape[0], -1).numpy()
    return result


def predict(ws: Workspace, settings: Settings, model: str, x: np.ndarray,
            additional: tuple[np.ndarray, ...] = ()) -> np.ndarray:
    """Model outputs (N, K) for series x (N, C, T) and their further inputs (each (N, ...));
    borrows a replica (never call it holding one)."""
    entry = ws.model(model)
    with borrowed(entry, settings.model_wait_seconds) as m:
        return run_model(m, model, x, additional)


def label_name(data: DatasetEntry, label: float | None) -> str | None:
    if label is None:
        return None
    if data.class_names and float(label).is_integer() and 0 <= int(label) < len(data.class_names):
        return data.class_names[int(label)]
    return f"{label:g}"


def sample(ws: Workspace, settings: Settings, dataset: str, index: int, model: str | None
           ) -> s.SampleResponse:
    data = ws.dataset(dataset)
    x = data.sample(index)
    label = None if data.y is None or data.y.ndim != 1 else float(data.y[index])
    resp = s.SampleResponse(
        dataset=dataset, index=index, x=s.NDArray.of(x[0]), label=label,
        label_name=label_name(data, label),
        mask=None if data.mask is None else s.NDArray.of(data.mask[index].astype(np.float64)),
        time=None if data.time is None else data.time.tolist(),
        channel_names=data.channel_names, value_unit=data.value_unit, time_unit=data.time_unit,
    )
    if model is not None:
        summary = model_summary(ws, model, settings.model_wait_seconds)
        check_compatible(ws, summary, data, settings.model_wait_seconds)
        resp.model = model
        outputs = predict(ws, settings, model, x, data.additional_rows([index]))
        resp.prediction = describe_outputs(summary, outputs, data.class_names)[0]
    return resp


# ---------------------------------------------------------------------------- attributions
def method_infos() -> list[s.MethodInfo]:
    from tsexplain.attribution import all_methods

    return [
        s.MethodInfo(
            name=name, summary=cls.summary(),
            parameters={k: _jsonable(v) for k, v in cls.parameters().items()},
            signed=cls.signed, randomized=cls.randomized, uses_baseline=cls.uses_baseline,
            sequence_method=cls.sequence_method,
            unit_kind="contribution" if cls.unit == "output" else "gradient",
        )
        for name, cls in all_methods().items()
    ]


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, list | tuple):
        return [_jsonable(e) for e in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(e) for k, e in v.items()}
    return repr(v)


def check_method_params(settings: Settings, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the method's own parameters, with integers bounded (no runaway requests)."""
    from tsexplain.attribution import check_method_params as check_names
    from tsexplain.attribution import get_method

    check_names(method, params, engine_options=())
    check_param_values(settings, method, params, get_method(method).parameters())
    return dict(params)


def check_param_values(settings: Settings, method: str, params: dict[str, Any],
                       defaults: dict[str, Any], where: str = "params") -> None:
    """Types and ranges of the method's parameters: an integer one takes an integer, every number
    is finite and within the server's limit. A boolean one takes JSON true/false only (``"false"``
    is not false): the library's check, run before this one, refuses anything else. An object
    holds another method's parameters (tsr's ``base_params`` of its ``base_method``) and is
    checked by the same rules against that method's defaults (``where`` names it in messages)."""
    from tsexplain.attribution import METHODS, SEQUENCE_METHODS
    from tsexplain.exceptions import ParameterError

    if method in SEQUENCE_METHODS:
        raise ParameterError(f"{method} explains sequence models (one output per time step); "
                             "the explorer serves (N, C, T) -> (N, K) methods")
    for k, v in params.items():
        default = defaults.get(k)
        if isinstance(v, dict):
            inner = params.get("base_method")
            check_param_values(settings, method, v,
                               METHODS[inner].parameters() if inner in METHODS else {}, f"{where}.{k}")
            continue
        if isinstance(v, bool) or v is None:
            continue
        if isinstance(default, int) and not isinstance(default, bool) and not (
                isinstance(v, int) or (isinstance(v, float) and v.is_integer())):
            raise ParameterError(f"{where}.{k} must be an integer, got {v!r}")
        if isinstance(default, int | float) and not isinstance(default, bool) and isinstance(v, str):
            raise ParameterError(f"{where}.{k} must be a number, got {v!r}")
        if isinstance(v, int | float) and not math.isfinite(float(v)):
            raise ParameterError(f"{where}.{k} must be finite, got {v}")
        if isinstance(v, int | float) and abs(v) > settings.max_method_int:
            raise ParameterError(f"{where}.{k}={v} exceeds this server's limit of "
                                 f"{settings.max_method_int}")
        if isinstance(default, int) and not isinstance(default, bool) and isinstance(v, float):
            params[k] = int(v)


def attribution_unit(summary: s.ModelSummary, data: DatasetEntry, method: str) -> str:
    out = summary.output_unit if summary.task == "regression" else f"{summary.output_unit} of the target"
    from tsexplain.attribution import get_method

    if get_method(method).unit == "output":
        return out
    return f"{out} per {data.value_unit}"


def check_target(summary: s.ModelSummary, target: s.Target) -> None:
    """The library's target rules against the model's outputs (one resolver): a clear 422 for an
    output index the model does not have, a negative one, or a missing choice on K > 1 outputs."""
    if summary.n_outputs is None:
        return  # the library checks it against the real outputs
    import torch

    from tsexplain._targets import resolve_target

    resolve_target(target, torch.zeros(1, summary.n_outputs), allow_all=False,
                   where="the explorer")


def _target_arg(summary: s.ModelSummary, target: s.TargetValue) -> s.TargetValue:
    """The attribution requests' target: the library's rules, None included (refused for a
    model with several outputs)."""
    check_target(summary, target)
    return target


def explained_target(summary: s.ModelSummary, target: s.TargetValue) -> s.TargetValue:
    """The output a network view or job explains: ``target`` checked against the model's
    outputs, or, when it is None, the model's default output
    (:data:`~tsexplain.server.schemas.Target`).

    The default is the only output of a single-output model, each sample's predicted class for
    a classifier, and output 0 for a regression model with several outputs (a forecaster): never
    its largest output, an arbitrary step. The explorer's output picker starts at output 0 too.
    """
    if target is None and (summary.n_outputs or 1) > 1:
        target = 0 if summary.task == "regression" else "predicted"
    check_target(summary, target)
    return target


def _explain_rows(ws: Workspace, settings: Settings, model: str, x: np.ndarray, method: str,
                  params: dict[str, Any], target: Any, additional: tuple[np.ndarray, ...] = ()
                  ) -> tuple[Any, np.ndarray]:
    """(AttributionResult, outputs (N, K)) with one borrowed replica, within the memory budget;
    ``additional`` are the series' further inputs (each (N, ...)), attributed too when the
    method attributes them and one is floating (``result.extras["additional"]``)."""
    import tsexplain
    from tsexplain.attribution import get_method

    entry = ws.model(model)
    attribute = get_method(method).attributes_additional and any(
        np.issubdtype(a.dtype, np.floating) for a in additional)
    try:
        with borrowed(entry, settings.model_wait_seconds) as m:
            res = tsexplain.explain(m, x, method, target=target, progress=False,
                                    memory_budget=settings.memory_budget,
                                    additional_inputs=additional or None,
                                    attribute_additional=attribute, **params)
            preds = (res.predictions if res.predictions is not None
                     else run_model(m, model, x, additional))
        return res, np.asarray(preds)
    finally:
        if _heavy(len(x), params):
            release_memory()


def _heavy(n: int, params: dict[str, Any]) -> bool:
    """Whether a computation on n series is large enough to hand its memory back afterwards."""
    repeats = [v for k, v in params.items() if k in ("n_draws", "n_samples", "steps")
               and isinstance(v, int | float) and not isinstance(v, bool)]
    return n >= 64 or n * max(repeats, default=1) >= 2048


def explain(ws: Workspace, settings: Settings, req: s.ExplainRequest) -> s.ExplainResponse:
    from tsexplain.exceptions import ParameterError

    if len(req.indices) > settings.max_explain_samples:
        raise ParameterError(f"indices: at most {settings.max_explain_samples} samples per request, "
                             f"got {len(req.indices)}")
    summary = model_summary(ws, req.model, settings.model_wait_seconds)
    data = ws.dataset(req.dataset)
    check_compatible(ws, summary, data, settings.model_wait_seconds)
    params = check_method_params(settings, req.method, req.params)
    x = data.samples(list(req.indices))
    additional = data.additional_rows(list(req.indices))
    target = _target_arg(summary, req.target)
    key = ("explain", req.model, req.dataset, req.method, params_key(params), str(target),
           tuple(req.indices))
    (res, preds), cached = ws.cache.get_or_compute(
        key, lambda: _explain_rows(ws, settings, req.model, x, req.method, params, target,
                                   additional))
    values = np.asarray(res.values)
    if values.ndim != 3:
        raise ParameterError("target='all' is not served; choose one output index or 'predicted'")
    extras = {k: np.asarray(v, dtype=np.float64).reshape(-1).tolist() for k, v in res.extras.items()
              if isinstance(v, np.ndarray | float | int) and np.asarray(v).size <= 4096}
    return s.ExplainResponse(
        model=req.model, dataset=req.dataset, indices=list(req.indices), method=res.method,
        params={k: _jsonable(v) for k, v in res.params.items()},
        target=None if res.target is None else [int(t) for t in res.target],
        signed=res.signed, unit=attribution_unit(summary, data, res.method),
        values=s.NDArray.of(values), x=s.NDArray.of(x), channel_names=data.channel_names,
        predictions=describe_outputs(summary, preds, data.class_names), extras=extras,
        additional=_additional_attributions(additional, res.extras.get("additional")),
        seconds=float(res.seconds), cached=cached,
    )


def _additional_attributions(additional: tuple[np.ndarray, ...], attributed: Any
                             ) -> list[s.AdditionalAttribution]:
    """Each further input (N, ...) of the explained series with its attribution (N, ...), or
    None where it was not attributed (``attributed``: the result's ``extras["additional"]``)."""
    from tsexplain.server.additional_inputs import ARRAY_NAME

    values = list(attributed) if isinstance(attributed, list | tuple) else [None] * len(additional)
    return [s.AdditionalAttribution(name=ARRAY_NAME.format(i), inputs=s.NDArray.of(a),
                                    values=None if v is None else s.NDArray.of(np.asarray(v)))
            for i, (a, v) in enumerate(zip(additional, values, strict=True))]


def aggregates(ws: Workspace, settings: Settings, req: s.AggregateRequest) -> s.AggregateResponse:
    """Mean attribution per group of the first ``max_samples`` samples: per class (label or
    prediction) for a classifier, per quartile of the explained output's value (its target in
    the data set, or its prediction) for a regression model."""
    from tsexplain.exceptions import ParameterError

    if req.max_samples is not None and req.max_samples > settings.max_aggregate_samples:
        raise ParameterError(f"max_samples: at most {settings.max_aggregate_samples}, got {req.max_samples}")
    max_samples = min(200, settings.max_aggregate_samples) if req.max_samples is None else req.max_samples
    summary = model_summary(ws, req.model, settings.model_wait_seconds)
    data = ws.dataset(req.dataset)
    check_compatible(ws, summary, data, settings.model_wait_seconds)
    params = check_method_params(settings, req.method, req.params)
    if req.group_by == "label" and (data.y is None or not (
            data.y.ndim == 1 or (summary.task == "regression" and data.y.ndim == 2
                                 and data.y.shape[1] == summary.n_outputs))):
        raise ParameterError(f"data set {req.dataset!r} has no per-sample labels y; use group_by='prediction'")
    n = min(max_samples, data.shape[0])
    x = data.X[:n]
    target = _target_arg(summary, req.target)
    key = ("aggregate", req.model, req.dataset, req.method, params_key(params), str(target), n)
    t0 = time.perf_counter()
    (res, preds), cached = ws.cache.get_or_compute(
        key, lambda: _explain_rows(ws, settings, req.model, x, req.method, params, target,
                                   data.additional_rows(slice(0, n))))
    values = np.asarray(res.values)
    keys, names, grouping = _aggregate_groups(summary, data, req.group_by, np.asarray(preds),
                                              res.target, target, n)
    groups = []
    for k in np.unique(keys)[:64]:
        sel = values[keys == k]
        mean_abs = np.abs(sel).mean(0)
        share = mean_abs.sum(1) / max(float(mean_abs.sum()), 1e-30)
        groups.append(s.AggregateGroup(
            key=float(k), name=names.get(float(k)) or label_name(data, float(k)) or f"{k:g}",
            count=int(len(sel)), mean=s.NDArray.of(sel.mean(0)), mean_abs=s.NDArray.of(mean_abs),
            channel_share=share.tolist()))
    return s.AggregateResponse(
        model=req.model, dataset=req.dataset, method=res.method,
        params={k: _jsonable(v) for k, v in res.params.items()}, group_by=req.group_by,
        grouping=grouping, target=target,
        n_samples=n, unit=attribution_unit(summary, data, res.method), signed=res.signed,
        channel_names=data.channel_names, groups=groups,
        seconds=time.perf_counter() - t0 if not cached else float(res.seconds), cached=cached)


def output_label(summary: s.ModelSummary, target: s.TargetValue) -> str:
    """The explained output in words: "output 3 (step 4)", "the predicted class", "the output"."""
    if target is None:
        return "the output"
    if target == "predicted":
        return "the predicted class" if summary.task != "regression" else "each sample's largest output"
    k = int(target)
    name = summary.output_names[k] if k < len(summary.output_names) else ""
    return f"output {k}" + (f" ({name})" if name and name != f"output {k}" else "")


def _aggregate_groups(summary: s.ModelSummary, data: DatasetEntry, group_by: str,
                      preds: np.ndarray, followed: Any, target: s.TargetValue, n: int
                      ) -> tuple[np.ndarray, dict[float, str], str]:
    """(group key per sample (n,), names of the keys, the grouping in words) for the aggregates.

    A classifier's samples are grouped by class: the label y or the predicted class. A
    regression model's are grouped by the quartile of the explained output's value (its column
    of y (N, K), or y (N,), or its prediction; :func:`~tsexplain.report.explanation.value_quartiles`),
    one group when the values take fewer than 4 distinct values. ``preds`` are the outputs
    (n, K); ``followed`` the output explained for each sample (n,), or None for the only one.
    """
    if summary.task != "regression":
        if group_by == "label":
            assert data.y is not None
            return np.asarray(data.y[:n], dtype=np.float64), {}, "grouped by label"
        described = describe_outputs(summary, preds, data.class_names)
        keys = [p.predicted if p.predicted is not None else 0 for p in described]
        return np.asarray(keys, dtype=np.float64), {}, "grouped by predicted class"
    from tsexplain.report.explanation import value_quartiles

    rows = np.arange(n)
    column = np.zeros(n, dtype=np.int64) if followed is None else np.asarray(followed, dtype=np.int64)
    of = f" of {output_label(summary, target)}"
    if group_by == "label":
        assert data.y is not None
        y = np.asarray(data.y[:n], dtype=np.float64)
        value, what = (y if y.ndim == 1 else y[rows, column]), "label"
        of = "" if y.ndim == 1 else of
    else:
        value, what = preds.reshape(n, -1)[rows, column], "prediction"
    quartiles = value_quartiles(value, what)
    if quartiles is None:
        return np.zeros(n), {0.0: "all samples"}, f"in one group (fewer than 4 distinct {what}s{of})"
    bins, names = quartiles
    return (bins.astype(np.float64), {float(b): v for b, v in names.items()},
            f"grouped by quartile of the {what}{of}")


# ---------------------------------------------------------------------------- network
def network_check(m: Any) -> None:
    """A clear 422 when the filter views cannot hook into the model (TorchScript has no module
    tree for forward hooks): the library's one-line message."""
    from tsexplain.network._hooks import require_module_tree

    require_module_tree(m)


def _conv_layers(ws: Workspace, settings: Settings, entry: ModelEntry, summary: s.ModelSummary
                 ) -> Any:
    from tsexplain.network import describe

    key = ("inspect", entry.name)

    def compute() -> Any:
        import torch

        if summary.input_shape is None:
            raise NotFoundError(f"model {entry.name!r}: input shape unknown (give input_shape in "
                                f"{entry.name}.info.json or add a data set)")
        from tsexplain.server.additional_inputs import with_additional_inputs

        additional = entry.info.get("_probe_additional", ())  # set by model_summary
        with borrowed(entry, settings.model_wait_seconds) as m:
            network_check(m)
            return describe(with_additional_inputs(m, additional),
                            torch.zeros(1, *summary.input_shape))

    return ws.cache.get_or_compute(key, compute)[0]


def _scaled(a: np.ndarray) -> np.ndarray:
    if a.size == 0:
        return a
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def network(ws: Workspace, settings: Settings, model: str, dataset: str | None, index: int | None,
            target: s.TargetValue = None) -> s.NetworkResponse:
    """Layers of the model; with a sample, every conv filter's importance for it (3D overview),
    for the explained output (:func:`explained_target`)."""
    entry = ws.model(model)
    summary = model_summary(ws, model, settings.model_wait_seconds)
    explained = explained_target(summary, target)
    net = _conv_layers(ws, settings, entry, summary)
    layers = [s.LayerSummary(name=li.name, kind=li.kind,
                             input_shape=list(li.input_shape) if li.input_shape else None,
                             output_shape=list(li.output_shape) if li.output_shape else None,
                             n_filters=li.n_filters, kernel_size=li.kernel_size, n_params=li.n_params)
              for li in net.layers]
    conv = [li.name for li in net.conv_layers]
    resp = s.NetworkResponse(
        model=model, input_shape=list(net.input_shape),
        output_shape=list(net.output_shape) if net.output_shape else None, layers=layers,
        conv_layers=conv, n_filters=sum(li.n_filters or 0 for li in net.conv_layers),
        n_params=summary.n_params)
    if dataset is not None:
        from tsexplain.network import filter_importance
        from tsexplain.server.additional_inputs import with_additional_inputs

        data = ws.dataset(dataset)
        check_compatible(ws, summary, data, settings.model_wait_seconds)
        idx = 0 if index is None else index
        x = data.sample(idx)

        def compute() -> list[np.ndarray]:
            with borrowed(entry, settings.model_wait_seconds) as m:
                one = with_additional_inputs(m, data.additional_rows([idx]))
                return [filter_importance(one, x, name, explained)[0].numpy() for name in conv]

        imps, _ = ws.cache.get_or_compute(("network", model, dataset, idx, str(explained)), compute)
        resp.dataset, resp.index, resp.target = dataset, idx, explained
        resp.importance = [s.LayerImportance(layer=name, importance=imp.tolist(),
                                             scaled=_scaled(imp).tolist())
                           for name, imp in zip(conv, imps, strict=True)]
    return resp


def _cut_height(heights: np.ndarray, k: int) -> float:
    h = np.sort(heights)
    f = len(h) + 1
    if k <= 1:
        return float(h[-1] * 1.05 + 1e-9)
    if k >= f:
        return float(h[0] / 2)
    return float((h[f - k - 1] + h[f - k]) / 2)


def filter_layer_names(ws: Workspace, settings: Settings, model: str, layer_name: str) -> Any:
    """The model's inspection, after checking ``layer_name`` has (N, F, T') output (404 else)."""
    entry = ws.model(model)
    summary = model_summary(ws, model, settings.model_wait_seconds)
    net = _conv_layers(ws, settings, entry, summary)
    from tsexplain.network._hooks import SEQUENCE_LAYERS

    # a recurrent or attention layer's (N, T', F) output has no filters
    names = [li.name for li in net.layers if li.output_shape is not None
             and len(li.output_shape) == 3 and li.kind not in SEQUENCE_LAYERS]
    if layer_name not in names:
        raise NotFoundError(f"model {model!r} has no layer {layer_name!r} with filters; "
                            f"layers with (N, F, T') output: {', '.join(names)}")
    return net


def layer(ws: Workspace, settings: Settings, model: str, layer_name: str, dataset: str, index: int,
          k: int | None, saliency: bool, target: s.TargetValue = None) -> s.LayerResponse:
    """One conv layer on one sample: importance for the explained output
    (:func:`explained_target`), activations, saliency and clusters cut at k."""
    from tsexplain.exceptions import ParameterError, ShapeError
    from tsexplain.network import (
        cluster_filters,
        conv_activations,
        filter_importance,
        filter_saliency,
    )
    from tsexplain.server.additional_inputs import with_additional_inputs

    entry = ws.model(model)
    summary = model_summary(ws, model, settings.model_wait_seconds)
    data = ws.dataset(dataset)
    check_compatible(ws, summary, data, settings.model_wait_seconds)
    explained = explained_target(summary, target)
    filter_layer_names(ws, settings, model, layer_name)
    x = data.sample(index)
    wait = settings.model_wait_seconds

    def compute() -> dict[str, Any]:
        with borrowed(entry, wait) as m:
            one = with_additional_inputs(m, data.additional_rows([index]))
            acts = conv_activations(one, x, layer_name)[layer_name][0].numpy()
            imp = filter_importance(one, x, layer_name, explained)[0].numpy()
            with forward_ad_section(wait):  # the JVP path uses process-global forward-mode AD
                sal = filter_saliency(one, x, layer_name)[0].numpy()
            preds = run_model(one, model, x)
        clusters, note = None, None
        try:
            clusters = cluster_filters(acts, parallel=False)
        except (ShapeError, ParameterError) as err:
            note = str(err)
        return {"acts": acts, "imp": imp, "sal": sal, "clusters": clusters, "note": note,
                "preds": preds}

    r, _ = ws.cache.get_or_compute(("layer", model, dataset, index, layer_name, str(explained)),
                                   compute)
    info = None
    fc = r["clusters"]
    if fc is not None:
        from scipy.cluster.hierarchy import dendrogram

        n_filters = fc.distances.shape[0]
        if k is not None and not 1 <= k <= n_filters:
            raise ParameterError(f"k must be between 1 and {n_filters} (the layer's filters), got {k}")
        kk = fc.k if k is None else k
        labels = fc.labels if k is None else fc.cut(k)
        d = dendrogram(fc.linkage, no_plot=True)
        info = s.ClusterInfo(
            k=int(kk), best_k=int(fc.k), labels=[int(v) for v in labels],
            silhouette=[s.SilhouettePoint(k=int(kv), score=float(sv)) for kv, sv in sorted(fc.silhouette.items())],
            dendrogram=s.Dendrogram(icoord=d["icoord"], dcoord=d["dcoord"],
                                    leaves=[int(v) for v in d["leaves"]],
                                    cut_height=_cut_height(fc.linkage[:, 2], int(kk))))
    sal = r["sal"]
    mx = sal.reshape(sal.shape[0], -1).max(1).reshape(-1, 1, 1)
    mn = sal.reshape(sal.shape[0], -1).min(1).reshape(-1, 1, 1)
    sal_scaled = np.where(mx > mn, (sal - mn) / np.where(mx > mn, mx - mn, 1), 0.0)
    return s.LayerResponse(
        model=model, layer=layer_name, dataset=dataset, index=index, target=explained,
        n_filters=int(len(r["imp"])),
        importance=r["imp"].tolist(), importance_scaled=_scaled(r["imp"]).tolist(),
        activations=s.NDArray.of(r["acts"]),
        saliency=s.NDArray.of(sal_scaled, decimals=4) if saliency else None,
        clusters=info, cluster_note=r["note"],
        prediction=describe_outputs(summary, r["preds"], data.class_names)[0])


# ---------------------------------------------------------------------------- TSViz extras
def curves(ws: Workspace, settings: Settings, req: s.CurvesRequest) -> s.CurvesResponse:
    """Deletion and insertion curves of the method's attribution and of a random ranking."""
    import tsexplain
    from tsexplain.exceptions import ParameterError
    from tsexplain.metrics import deletion_curve, insertion_curve

    if len(req.indices) > settings.max_explain_samples:
        raise ParameterError(f"indices: at most {settings.max_explain_samples} samples per request, "
                             f"got {len(req.indices)}")
    summary = model_summary(ws, req.model, settings.model_wait_seconds)
    data = ws.dataset(req.dataset)
    check_compatible(ws, summary, data, settings.model_wait_seconds)
    params = check_method_params(settings, req.method, req.params)
    x = data.samples(list(req.indices))
    additional = data.additional_rows(list(req.indices)) or None
    target = _target_arg(summary, req.target)
    entry = ws.model(req.model)
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    out: list[s.Curve] = []
    with borrowed(entry, settings.model_wait_seconds) as m:
        res = tsexplain.explain(m, x, req.method, target=target, progress=False,
                                memory_budget=settings.memory_budget,
                                additional_inputs=additional, **params)
        values = np.asarray(res.values)
        if values.ndim != 3:
            raise ParameterError("target='all' is not served; choose one output index or 'predicted'")
        followed = None if res.target is None else np.asarray(res.target)
        rankings: dict[Literal["attribution", "random"], np.ndarray] = {
            "attribution": values, "random": rng.random(values.shape)}
        curve_fns: tuple[tuple[Literal["deletion", "insertion"], Any], ...] = (
            ("deletion", deletion_curve), ("insertion", insertion_curve))
        for kind, fn in curve_fns:
            for name, attr in rankings.items():
                c = fn(m, x, attr, target=followed, steps=req.steps, progress=False,
                       additional_inputs=additional)
                scores = np.asarray(c.scores, dtype=np.float64)
                out.append(s.Curve(kind=kind, ranking=name,
                                   fractions=np.asarray(c.fractions).tolist(),
                                   mean=scores.mean(0).tolist(), scores=s.NDArray.of(scores),
                                   auc=float(c.auc())))
    return s.CurvesResponse(model=req.model, dataset=req.dataset, indices=list(req.indices),
                            method=res.method, target=target, unit=summary.output_unit, curves=out,
                            seconds=time.perf_counter() - t0)


def saturation(ws: Workspace, settings: Settings, model: str, dataset: str, max_samples: int,
               temperature: float, tol: float, target: s.TargetValue = None) -> s.SaturationResponse:
    """Share of saturated predictions at T = 1 and at ``temperature``, and the filter importance
    per conv layer at both (a saturated output silences the gradients; a temperature revives them).

    Both importances are taken on the same output, the probability of the explained class
    (:func:`explained_target`: by default the predicted class; ``with_temperature`` at T = 1 and
    at ``temperature``): the probability is where saturation
    makes the gradients vanish (TSViz Proposition 1), so the two bars compare, and they are
    equal when ``temperature`` is 1 (importance of the logits would show no saturation at all).
    """
    import torch

    from tsexplain.exceptions import ParameterError
    from tsexplain.network import detect_saturation, filter_importance, with_temperature

    summary = model_summary(ws, model, settings.model_wait_seconds)
    if summary.task == "regression":
        raise ParameterError(f"model {model!r} is a regression model: saturation concerns "
                             "sigmoid/softmax outputs of classifiers")
    if max_samples > settings.max_aggregate_samples:
        raise ParameterError(f"max_samples: at most {settings.max_aggregate_samples}, got {max_samples}")
    data = ws.dataset(dataset)
    check_compatible(ws, summary, data, settings.model_wait_seconds)
    refuse_additional(data, "the saturation view")
    target = explained_target(summary, target)
    net = _conv_layers(ws, settings, ws.model(model), summary)
    conv = [li.name for li in net.conv_layers]
    x = torch.as_tensor(data.X[: min(max_samples, data.shape[0])])
    activation: Literal["sigmoid", "softmax"] = "sigmoid" if summary.task == "binary" else "softmax"

    def compute() -> dict[str, Any]:
        with borrowed(ws.model(model), settings.model_wait_seconds) as m:
            before = detect_saturation(m, x, activation=activation, tol=tol, warn=False)
            soft = with_temperature(m, temperature, activation=activation)
            after = detect_saturation(soft, x, activation=activation, tol=tol, warn=False)
            modules = dict(m.named_modules())

            def importance(probability_model: Any) -> list[float]:
                return [float(filter_importance(probability_model, x, modules[n], target)
                              .sum(1).mean()) for n in conv]

            imp = importance(with_temperature(m, 1.0, activation=activation))
            imp_t = importance(soft)
        return {"before": before, "after": after, "imp": imp, "imp_t": imp_t}

    r, _ = ws.cache.get_or_compute(("saturation", model, dataset, len(x), temperature, tol,
                                    str(target)), compute)
    before, after = r["before"], r["after"]
    return s.SaturationResponse(
        model=model, dataset=dataset, target=target, n_samples=len(x),
        activation=before.activation, tol=tol,
        fraction=before.fraction, suggested_temperature=before.suggested_temperature,
        temperature=temperature, fraction_at_temperature=after.fraction,
        probability=before.probability.double().tolist(),
        probability_at_temperature=after.probability.double().tolist(),
        layers=conv, importance=r["imp"], importance_at_temperature=r["imp_t"])


def filter_stats(ws: Workspace, settings: Settings, model: str, layer_name: str, dataset: str,
                 max_samples: int, target: s.TargetValue = None) -> s.FilterStatsResponse:
    """Min, mean and max importance of each filter of ``layer_name`` over the data set, for the
    explained output (:func:`explained_target`)."""
    from tsexplain.exceptions import ParameterError
    from tsexplain.network import filter_importance_stats

    if max_samples > settings.max_aggregate_samples:
        raise ParameterError(f"max_samples: at most {settings.max_aggregate_samples}, got {max_samples}")
    summary = model_summary(ws, model, settings.model_wait_seconds)
    data = ws.dataset(dataset)
    check_compatible(ws, summary, data, settings.model_wait_seconds)
    refuse_additional(data, "the filter statistics over a data set")
    explained = explained_target(summary, target)
    filter_layer_names(ws, settings, model, layer_name)
    x = data.X[: min(max_samples, data.shape[0])]

    def compute() -> Any:
        with borrowed(ws.model(model), settings.model_wait_seconds) as m:
            return filter_importance_stats(m, x, layer_name, explained, progress=False)[layer_name]

    st, _ = ws.cache.get_or_compute(("filter_stats", model, layer_name, dataset, len(x),
                                     str(explained)), compute)
    mean = np.asarray(st.mean, dtype=np.float64)
    return s.FilterStatsResponse(
        model=model, layer=layer_name, dataset=dataset, target=explained, n_samples=int(len(x)),
        min=np.asarray(st.min, dtype=np.float64).tolist(), mean=mean.tolist(),
        max=np.asarray(st.max, dtype=np.float64).tolist(),
        ranking=[int(i) for i in np.argsort(-mean, kind="stable")])
