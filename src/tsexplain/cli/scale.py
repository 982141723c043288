"""``tsexplain explain-dataset``: one method over a whole data set, chunked, resumable."""

from __future__ import annotations

import argparse
import time
from typing import Any

EPILOG = """\
MODEL is any form 'tsexplain explain' reads: a .safetensors file saved by
tsexplain.training.save_model, a torch.export program (.pt2), a TorchScript file, or
'package.module:factory' / 'path/to/net.py:factory' with --weights; repeat --model for AGRA
(gradients averaged over the models; --weights then goes with a single model only). DATA is any
file 'tsexplain explain' reads. A .npy file of shape (N, C, T), or (N, T) for univariate series,
is read memory-mapped, one chunk at a time (the form for data sets larger than memory); other
forms (.npz, CSV, Parquet, UCR/UEA files or folder) are read whole, with their labels: --target
label then explains each series' labelled class.

A model with further inputs (forward(x, static), e.g. static covariates) gets them with
--additional-input FILE[:KEY], one per argument after x in forward's order: .npy, .npz (KEY
names the array) or a numeric .csv table, one row per series of DATA; they are held in memory
and each chunk gets its rows. --attribute-additional also attributes them (gradient methods),
stored as OUT/additional_0/, ... beside the values.

OUT is a chunk store: OUT/manifest.json and OUT/values/NNNNNNNNN.npy (one file per chunk; also
predictions/ and target/). Run the same command again after a crash or Ctrl-C: finished chunks
are kept, only the missing ones are computed.

examples:
  tsexplain explain-dataset --model forda.safetensors plant.npy --method saliency \\
      --target predicted --out attributions/
  tsexplain explain-dataset --model m0.safetensors --model m1.safetensors plant.npy \\
      --method integrated_gradients --param steps=32 --target 1 --chunk-size 2048 \\
      --backend ray --address auto --out attributions/
  tsexplain explain-dataset --model forda.safetensors plant.npy --method smoothgrad \\
      --param n_draws=32 --backend ray --address auto --num-cpus 2 --out sg/ --npy sg.npy

With --backend ray and --address auto the command joins the Ray cluster this machine belongs to
(started with 'ray start'); without --address it starts a local Ray instance. DATA must be
readable at the same path on every node (see docs/scaling.md).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain-dataset",
        help="attribute a whole data set in chunks (resumable; local or Ray)",
        description="Compute one attribution method for every series of DATA, chunk by chunk,\n"
        "into an on-disk chunk store; in this process or on a Ray cluster.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", metavar="DATA",
                   help=".npy file of shape (N, C, T) or (N, T) (memory-mapped), or any data file "
                        "'explain' reads")
    p.add_argument("--model", action="append", required=True, metavar="MODEL",
                   help="model file or package.module:factory (repeat for AGRA)")
    p.add_argument("--weights", metavar="FILE",
                   help="weights for a factory MODEL: .safetensors or a .pt/.pth state dict")
    p.add_argument("--model-arg", action="append", metavar="K=V",
                   help="keyword argument of the factory (repeatable)")
    p.add_argument("--method", "-m", default="integrated_gradients", metavar="NAME",
                   help="attribution method (default integrated_gradients)")
    p.add_argument("--param", "-p", action="append", metavar="K=V",
                   help="method parameter, int/float/true/false/str (e.g. steps=32); a boolean "
                        "one takes true/false, yes/no, on/off or 1/0; repeatable")
    p.add_argument("--target", "-t", metavar="T",
                   help="output index, 'predicted', 'label', 'all' or 'none' (default: none)")
    p.add_argument("--out", "-o", required=True, help="chunk store folder (created or resumed)")
    p.add_argument("--chunk-size", type=int, default=1024, metavar="N",
                   help="series per chunk: unit of work, writing and crash loss (default 1024)")
    p.add_argument("--npy", metavar="FILE", help="also consolidate the values into one .npy file")
    p.add_argument("--additional-input", action="append", metavar="FILE[:KEY]",
                   help="a further model input (forward(x, static)): .npy, .npz[:KEY] or .csv, one "
                        "row per series; repeat in forward's order")
    p.add_argument("--attribute-additional", action="store_true",
                   help="also attribute the further inputs (gradient methods)")
    p.add_argument("--no-resume", action="store_true",
                   help="refuse to continue an existing store (default: resume it)")
    g = p.add_argument_group("backend")
    g.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="where to run (default local: this process)")
    g.add_argument("--address", metavar="ADDR",
                   help="Ray cluster: 'auto' or 'ray://host:10001' (default: a local Ray)")
    g.add_argument("--actors", type=int, metavar="N",
                   help="Ray actor pool size (default: as many as the resources allow)")
    g.add_argument("--num-cpus", type=float, default=1, metavar="X",
                   help="CPUs per Ray actor (default 1)")
    g.add_argument("--num-gpus", type=float, default=0, metavar="X",
                   help="GPUs per Ray actor (default 0)")
    from tsexplain.cli.explain import add_data_options

    add_data_options(p, describe=False, title="data (other forms than .npy)")
    p.set_defaults(run=run_explain_dataset)


def run_explain_dataset(args: argparse.Namespace) -> int:
    from tsexplain.cli._method_params import parse_method_params
    from tsexplain.exceptions import ModelInputsError, ModelOutputError, ParameterError, ShapeError
    from tsexplain.io.checks import model_inputs_refusal
    from tsexplain.io.data import two_d_note
    from tsexplain.io.models import load_any_model
    from tsexplain.io.pipeline import parse_params, parse_target
    from tsexplain.scale import attribute_dataset

    if args.backend != "ray" and (args.address or args.actors):
        raise ParameterError("--address and --actors need --backend ray")
    target = parse_target(args.target)
    params = parse_method_params(args.param, [args.method])  # a typo fails before any loading
    data, labels = _dataset(args)
    if target == "label":
        if labels is None:
            raise ParameterError(
                f"--target label: {args.data} has no labels (a .npy file never has; an .npz "
                f"needs a 'y' array, a table a label column); use an index or 'predicted'"
            )
        target = labels
    if len(args.model) > 1 and (args.weights or args.model_arg):
        raise ParameterError("--weights and --model-arg go with a single --model (a factory)")
    model_args = parse_params(args.model_arg, "--model-arg")
    models = [load_any_model(m, args.weights, model_args).module for m in args.model]
    extras = None
    if args.additional_input:
        from tsexplain.io.data import load_additional_inputs, read_series_npy

        shape = read_series_npy(data).shape if isinstance(data, str) else data.shape
        extras = [e.values for e in load_additional_inputs(args.additional_input, tuple(shape))]
    elif args.attribute_additional:
        raise ParameterError("--attribute-additional needs --additional-input FILE")
    t0 = time.perf_counter()
    try:
        run = attribute_dataset(
            models if len(models) > 1 else models[0], data, args.method, out=args.out,
            target=target, chunk_size=args.chunk_size, backend=args.backend, address=args.address,
            num_actors=args.actors, num_cpus=args.num_cpus, num_gpus=args.num_gpus,
            resume=not args.no_resume, progress=True, additional_inputs=extras,
            attribute_additional=args.attribute_additional, **params,
        )
    except ModelInputsError as err:  # more or fewer inputs than forward takes
        raise model_inputs_refusal(err.problem, takes_additional=True) from None
    except (ShapeError, ModelOutputError) as err:
        # the model's refusal of (N, 1, T) data: say it came from a 2-D array, as explain does
        note = None if args.channels_last else two_d_note(args.data, args.x_key)
        if note is None or not (isinstance(err, ShapeError) or "the model failed on x" in str(err)):
            raise
        raise type(err)(f"{str(err).rstrip('.')}. {note}") from None
    n = run.store.n_rows
    print(f"{args.method}: {n} series in {run.store.n_chunks} chunks -> {run.store.path} "
          f"({len(run.computed)} computed, {len(run.skipped)} already done; "
          f"{time.perf_counter() - t0:.1f} s on {run.backend})")
    if args.npy:
        print(f"values -> {run.store.to_npy(args.npy)}")
    return 0


def _dataset(args: argparse.Namespace) -> tuple[Any, Any]:
    """DATA as attribute_dataset takes it: a .npy path (read memory-mapped), else the array read
    with :func:`tsexplain.io.load_any_data`; and the labels (class indices) when the file has."""
    from pathlib import Path

    import numpy as np

    from tsexplain.cli.explain import data_options
    from tsexplain.exceptions import ParameterError
    from tsexplain.io import load_any_data

    path = Path(args.data)
    options = {k: v for k, v in data_options(args).items() if v is not None}
    given = [f"--{k.replace('_', '-')}" for k in ("label_col", "x_key", "y_key") if k in options]
    if path.suffix.lower() == ".npy" and given:
        raise ParameterError(f"{', '.join(given)}: a .npy file holds one array and no labels")
    if path.suffix.lower() == ".npy" and not args.channels_last:
        return args.data, None
    ds = load_any_data(path, **options)
    x = np.ascontiguousarray(ds.X.transpose(0, 2, 1)) if args.channels_last else ds.X
    labels = None
    if ds.y is not None and np.issubdtype(ds.y.dtype, np.integer):
        labels = ds.y
    return x, labels
