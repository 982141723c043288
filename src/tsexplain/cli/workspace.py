"""``tsexplain workspace``: build an explorer workspace from your own models and data.

``add-model`` takes every model form ``tsexplain explain`` takes, checks it with one forward
pass and writes it into ``WORKSPACE/models/``; ``add-data`` takes every data form, maps the
labels to class indices and writes ``WORKSPACE/datasets/NAME.npz``; ``list`` shows what is there.
The layout is described in the user documentation (workspace page).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from tsexplain.cli.explain import add_data_options, add_model_options, data_options

ADD_MODEL_EPILOG = """\
MODEL is one of (as for 'tsexplain explain'):
  path/to/net.py:make_net --weights net.pt   your code + weights: the file is copied into the
                                             workspace, the weights stored as safetensors; the
                                             explorer runs it only with 'serve --trust-code'
  mypkg.nets:make_net --weights net.pt       the same with an importable package (the server
                                             must be able to import it)
  model.pt2                                  a torch.export program (dynamic batch dimension)
  model.safetensors                          saved by tsexplain.training.save_model
  model.pt                                   TorchScript (attributions only: no network views)

The input shape for the check comes from --input-shape C,T, from --dataset (a data set of the
workspace), or from a save_model spec. A model with further inputs (forward(x, static)) gets
those of its data set: add the data with 'add-data ... --additional-input FILE' and pass
--dataset NAME here.

examples:
  tsexplain workspace add-model ws/ ecg nets.py:make_cnn --weights cnn.pt --dataset ecg_test \\
      --class-names normal,abnormal --description "1D CNN on ECG5000"
  tsexplain workspace add-model ws/ ecg_export model.pt2 --input-shape 1,140 --task multiclass
"""

ADD_DATA_EPILOG = """\
DATA is any file 'tsexplain explain' reads (.npz, .npy, CSV, Parquet, UCR/UEA files or folder).
Labels of any kind become class indices (0-based integers as they are; UCR's 1/2 or -1/1 and
strings in sorted order); the original labels are kept as label_values.

A model with further inputs (forward(x, static, ...)) gets them from its data set: give each
with --additional-input FILE[:KEY], in forward's order after x (.npy, .npz:KEY or a numeric
.csv, one row per series of DATA); they are stored as additional_0, additional_1, ...

examples:
  tsexplain workspace add-data ws/ ecg_test ECG5000_TEST.tsv --class-names normal,r-on-t,pvc,sp,ub
  tsexplain workspace add-data ws/ icu vitals.npz --additional-input static.csv
  tsexplain workspace add-data ws/ plant recordings.npz --channels-last --value-unit bar \\
      --time-unit s --max-samples 2000
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "workspace",
        help="build an explorer workspace: add your models and data sets, list them",
        description="Write models and data sets into an explorer workspace folder "
        "(models/, datasets/) in the layout 'tsexplain serve --workspace' reads.",
    )
    wsub = p.add_subparsers(dest="workspace_command", metavar="ACTION")

    m = wsub.add_parser(
        "add-model", help="check a model with one forward pass and add it to the workspace",
        epilog=ADD_MODEL_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    m.add_argument("workspace", metavar="WORKSPACE", help="workspace folder (created if missing)")
    m.add_argument("name", metavar="NAME", help="model name in the explorer (letters, digits, _ . -)")
    m.add_argument("model", metavar="MODEL", help="model file or package.module:factory (below)")
    add_model_options(m)
    g = m.add_argument_group("what the explorer shows")
    g.add_argument("--input-shape", metavar="C,T", help="channels and time steps of one series")
    g.add_argument("--dataset", metavar="NAME", help="the workspace data set shown by default")
    g.add_argument("--task", choices=("binary", "multiclass", "regression"),
                   help="what the outputs are (default: guessed from the number of outputs)")
    g.add_argument("--class-names", metavar="A,B,..",
                   help="a name per class index (output); default: the class names of "
                   "--dataset when it has one per output")
    g.add_argument("--output-names", metavar="A,B,..",
                   help="a name per output (default: the class names)")
    g.add_argument("--output-unit", metavar="UNIT", help="unit of the outputs (default logit)")
    g.add_argument("--description", metavar="TEXT", help="one or two sentences about the model")
    m.add_argument("--force", action="store_true", help="replace a model of the same name")
    m.set_defaults(run=run_add_model)

    d = wsub.add_parser(
        "add-data", help="read a data file and add it to the workspace as NAME.npz",
        epilog=ADD_DATA_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("workspace", metavar="WORKSPACE", help="workspace folder (created if missing)")
    d.add_argument("name", metavar="NAME", help="data set name (letters, digits, _ . -)")
    d.add_argument("data", metavar="DATA", help="data file (below)")
    add_data_options(d)
    d.add_argument("--max-samples", type=int, metavar="N", help="keep only the first N samples")
    d.add_argument("--additional-input", action="append", metavar="FILE[:KEY]",
                   help="a further input of the models' forward, after x (repeatable, in "
                        "forward's order): .npy, .npz:KEY or a numeric .csv, one row per series")
    d.add_argument("--model", metavar="NAME",
                   help="a model of the workspace to check the data against (one forward pass)")
    d.add_argument("--force", action="store_true", help="replace a data set of the same name")
    d.set_defaults(run=run_add_data)

    ls = wsub.add_parser("list", help="list the models and data sets of a workspace")
    ls.add_argument("workspace", metavar="WORKSPACE", help="workspace folder")
    ls.set_defaults(run=run_list)
    p.set_defaults(run=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _root(path: str, create: bool) -> Path:
    from tsexplain.exceptions import ParameterError

    root = Path(path).expanduser()
    if root.exists() and not root.is_dir():
        raise ParameterError(f"workspace {root} is a file, not a folder")
    if not root.exists():
        if not create:
            raise FileNotFoundError(f"no workspace folder at {root}")
        root.mkdir(parents=True)
    return root


def _name(name: str, what: str) -> str:
    from tsexplain.exceptions import ParameterError
    from tsexplain.server.workspace import check_name

    try:
        return check_name(name, what)
    except ValueError as err:
        raise ParameterError(str(err)) from None


def _shape(text: str) -> list[int]:
    from tsexplain.exceptions import ParameterError

    try:
        c, t = (int(v) for v in text.split(","))
    except ValueError:
        raise ParameterError(f"--input-shape takes C,T (e.g. 1,140), got {text!r}") from None
    if c < 1 or t < 1:
        raise ParameterError(f"--input-shape must be positive, got {text!r}")
    return [c, t]


def _existing_model_files(models: Path, name: str) -> list[Path]:
    from tsexplain.server.workspace import MODEL_SUFFIXES

    found = [models / (name + s) for s in (*MODEL_SUFFIXES, ".json", ".info.json")]
    return [p for p in [*found, models / name] if p.exists()]


def _input_for_check(root: Path, args: argparse.Namespace, module: Any
                     ) -> tuple[Any, tuple[Any, ...], list[int], list[str] | None]:
    """Two series to run the model on, their further inputs (those of the data set given by
    ``--dataset``, each (2, ...); none without one), the input shape [C, T] and the data set's
    class names (``None`` without one, or when it names no classes)."""
    import numpy as np

    from tsexplain.exceptions import ParameterError

    if args.dataset:
        path = root / "datasets" / f"{_name(args.dataset, 'data set')}.npz"
        if not path.is_file():
            raise ParameterError(f"--dataset {args.dataset}: no {path}; add it first with "
                                 f"'tsexplain workspace add-data'")
        from tsexplain.server.workspace import load_dataset_file

        data = load_dataset_file(path, args.dataset)
        X = data.X[:2]
        shape = [int(X.shape[1]), int(X.shape[2])]
        if args.input_shape and _shape(args.input_shape) != shape:
            raise ParameterError(f"--input-shape {args.input_shape} differs from data set "
                                 f"{args.dataset!r}, whose series are {shape[0]},{shape[1]}")
        return X, data.additional_rows(slice(0, 2)), shape, data.class_names
    if args.input_shape:
        shape = _shape(args.input_shape)
    else:
        try:
            from tsexplain.models import model_spec

            config = model_spec(module).get("config", {})
            shape = [int(config["n_channels"]), int(config["length"])]
        except (ValueError, TypeError, KeyError):
            raise ParameterError(
                "the model's input shape is unknown: pass --input-shape C,T or --dataset NAME"
            ) from None
    X = np.random.default_rng(0).standard_normal((2, *shape)).astype(np.float32)
    return X, (), shape, None


def _forward_check(module: Any, X: Any, additional: tuple[Any, ...] = ()) -> int:
    """One forward pass on two series and their further inputs (each (2, ...)); the number of
    outputs per series. A model given more or fewer inputs than its forward takes is refused
    with the workspace's advice (further inputs are arrays of the data set)."""
    from tsexplain.exceptions import ModelInputsError
    from tsexplain.io.checks import check_model_data, model_inputs_refusal

    try:
        return check_model_data(module, X, target="all",
                                additional_inputs=list(additional) or None).n_outputs
    except ModelInputsError as err:
        raise model_inputs_refusal(err.problem, takes_additional=False) from None


def _write_factory(folder: Path, ref: str, weights: str | None, kwargs: dict[str, Any],
                   module: Any) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    target, _, attr = ref.rpartition(":")
    spec: dict[str, Any] = {"factory": ref, "factory_kwargs": kwargs}
    if target.endswith(".py"):
        shutil.copy2(target, folder / Path(target).name)
        spec["factory"] = f"{Path(target).name}:{attr}"
    if weights is not None:
        tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
        save_file(tensors, str(folder / "weights.safetensors"))
        spec["weights"] = "weights.safetensors"
    (folder / "factory.json").write_text(json.dumps(spec, indent=2) + "\n")


def run_add_model(args: argparse.Namespace) -> int:
    from tsexplain.exceptions import ParameterError
    from tsexplain.io.models import is_factory_reference, load_any_model
    from tsexplain.io.pipeline import parse_names, parse_params

    root = _root(args.workspace, create=True)
    name = _name(args.name, "model")
    model_args = parse_params(args.model_arg, "--model-arg")
    loaded = load_any_model(args.model, args.weights, model_args)
    if loaded.kind == "onnx":
        raise ParameterError("an ONNX model cannot be stored in a workspace: convert it once "
                             "and save a torch.export program (.pt2) instead")
    X, additional, shape, data_class_names = _input_for_check(root, args, loaded.module)
    n_outputs = _forward_check(loaded.module, X, additional)
    class_names = parse_names(args.class_names, "--class-names")
    if class_names is None and data_class_names and len(data_class_names) == n_outputs:
        class_names = data_class_names  # one output per class of the --dataset: its names
    output_names = parse_names(args.output_names, "--output-names") or class_names
    if output_names is not None and len(output_names) != n_outputs and not (
            n_outputs == 1 and len(output_names) == 2):
        raise ParameterError(f"{len(output_names)} class/output names for a model with "
                             f"{n_outputs} outputs")
    models = root / "models"
    models.mkdir(exist_ok=True)
    existing = _existing_model_files(models, name)
    if existing and not args.force:
        raise ParameterError(f"model {name!r} exists already in {root} ({existing[0].name}); "
                             f"pass --force to replace it")
    for path in existing:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    if is_factory_reference(args.model):
        _write_factory(models / name, args.model, args.weights, model_args, loaded.module)
    elif loaded.kind == "safetensors":
        source = Path(args.model)
        shutil.copy2(source, models / f"{name}.safetensors")
        sidecar = source.with_suffix(".json")
        if sidecar.is_file():
            shutil.copy2(sidecar, models / f"{name}.json")
    elif loaded.kind == "export":
        shutil.copy2(args.model, models / f"{name}.pt2")
    elif loaded.kind == "torchscript":
        shutil.copy2(args.model, models / f"{name}.pt")
    info: dict[str, Any] = {"input_shape": shape, "source": loaded.source}
    if args.task:
        info["task"] = args.task
    if class_names:
        info["class_names"] = class_names
    if output_names and len(output_names) == n_outputs:
        info["output_names"] = output_names
    for key in ("output_unit", "description", "dataset"):
        if getattr(args, key):
            info[key] = getattr(args, key)
    (models / f"{name}.info.json").write_text(json.dumps(info, indent=2) + "\n")
    note = ("; the explorer runs its code only with 'tsexplain serve --trust-code'"
            if loaded.kind == "factory" else
            "; attributions only (no module tree for network views)"
            if loaded.kind == "torchscript" else "")
    if args.task:
        task = f"task {args.task}"
    else:
        from tsexplain._task import resolve_task

        guessed = resolve_task(None, n_outputs, model=loaded.module)
        other = "regression" if guessed != "regression" else ("binary" if n_outputs == 1 else "multiclass")
        task = f"task {guessed}, guessed from {n_outputs} output(s): pass --task {other} if it is one"
    print(f"model {name!r} ({loaded.kind}, input {shape[0]}x{shape[1]}, {n_outputs} outputs; {task}) "
          f"-> {models}{note}")
    return 0


def run_add_data(args: argparse.Namespace) -> int:
    import numpy as np

    from tsexplain._validation import check_series_array
    from tsexplain.exceptions import ParameterError
    from tsexplain.io.data import load_any_data
    from tsexplain.io.pipeline import parse_names
    from tsexplain.server.additional_inputs import ARRAY_NAME, check_additional_arrays

    root = _root(args.workspace, create=True)
    name = _name(args.name, "data set")
    if args.max_samples is not None and args.max_samples < 1:
        raise ParameterError(f"--max-samples must be at least 1, got {args.max_samples}")
    ds = load_any_data(args.data, **{k: v for k, v in data_options(args).items() if v is not None})
    additional: tuple[Any, ...] = ()
    if args.additional_input:
        from tsexplain.io.data import load_additional_inputs

        shape = tuple(ds.X.shape)
        read = load_additional_inputs(args.additional_input, (shape[0], shape[1], shape[2]))
        additional = tuple(e.values for e in read)
    if args.max_samples is not None and ds.X.shape[0] > args.max_samples:
        ds = ds.head(args.max_samples)
        additional = tuple(a[: args.max_samples] for a in additional)
    X = np.asarray(ds.X)
    names = list(ds.channel_names)
    if args.channels_last:
        X = np.swapaxes(X, 1, 2)
        names = [f"ch{i}" for i in range(X.shape[1])] if len(names) != X.shape[1] else names
    X = check_series_array(X, f"data set {name!r}").astype(np.float32)
    additional = check_additional_arrays(additional, X.shape, f"data set {name!r}")
    channel_names = parse_names(args.channel_names, "--channel-names") or names
    if len(channel_names) != X.shape[1]:
        raise ParameterError(f"--channel-names gives {len(channel_names)} names for "
                             f"{X.shape[1]} channels")
    class_names = parse_names(args.class_names, "--class-names") or ds.class_labels()
    if class_names is not None and ds.classes is not None and len(class_names) < len(ds.classes):
        raise ParameterError(f"--class-names gives {len(class_names)} names for "
                             f"{len(ds.classes)} classes in the labels")
    if args.model:
        from tsexplain.server.workspace import Workspace

        entry = Workspace(root, trust_code=True).model(_name(args.model, "model"))
        _forward_check(entry.first(), X[:2], tuple(a[:2] for a in additional))
    target = root / "datasets" / f"{name}.npz"
    if target.exists():
        if not args.force:
            raise ParameterError(f"data set {name!r} exists already in {root}; pass --force to "
                                 f"replace it")
        target.unlink()
    arrays: dict[str, Any] = {"X": X, "channel_names": np.asarray(channel_names, dtype=str)}
    if ds.y is not None:
        arrays["y"] = np.asarray(ds.y)
    if ds.classes is not None:
        arrays["label_values"] = np.asarray([str(c) for c in ds.classes], dtype=str)
    if class_names is not None:
        arrays["class_names"] = np.asarray(class_names, dtype=str)
    if args.value_unit:
        arrays["value_unit"] = np.asarray(args.value_unit)
    if args.time_unit:
        arrays["time_unit"] = np.asarray(args.time_unit)
    arrays.update({ARRAY_NAME.format(i): a for i, a in enumerate(additional)})
    target.parent.mkdir(exist_ok=True)
    tmp = target.with_name(f".{name}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(target)
    n, c, t = X.shape
    labels = "" if ds.y is None else f", labels -> {len(ds.classes or [])} classes"
    further = "".join(f", {ARRAY_NAME.format(i)} {tuple(a.shape)}" for i, a in enumerate(additional))
    print(f"data set {name!r} ({n} series x {c} channels x {t} steps{labels}{further}) -> {target}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from tsexplain.server.workspace import Workspace

    ws = Workspace(_root(args.workspace, create=False))
    print(f"workspace {ws.root}")
    for name in ws.model_names():
        entry = ws.model(name)
        extra = "  (runs code: needs 'serve --trust-code')" if entry.kind == "factory" else ""
        print(f"  model    {name:<24} {entry.kind}{extra}")
    for name in ws.dataset_names():
        data = ws.dataset(name)
        n, c, t = data.shape
        further = "".join(f", additional_{i} {tuple(a.shape)}" for i, a in enumerate(data.additional))
        print(f"  data set {name:<24} {n} x {c} x {t}{further}")
    return 0
