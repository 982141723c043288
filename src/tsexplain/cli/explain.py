"""``tsexplain explain`` (your model on your data) and ``tsexplain report`` (rebuild the report)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tsexplain.io.pipeline import ExplainOptions

EXPLAIN_EPILOG = """\
MODEL is one of:
  mypkg.models:make_net           a factory returning an nn.Module, with --weights FILE
                                  (.safetensors, or .pt/.pth state dict; never a pickled model)
  path/to/net.py:make_net         the same, from a Python file
  model.safetensors               saved by tsexplain.training.save_model (model.json beside it)
  model.pt2                       a torch.export program (torch.export.save); exported with a
                                  dynamic batch dimension
  model.pt                        a TorchScript file (torch.jit.script(model).save("model.pt"));
                                  attributions only: no network analysis
  model.onnx                      only with the onnx2torch package installed

DATA is one of:
  data.npz        array X (N, C, T), optional y (N,) and channel_names (C,)
  data.npy        one array (N, C, T)
                  in both, a 2-D array (N, T) is N univariate series, read as (N, 1, T)
  data.csv        long: columns sample, channel, time, value (+ label); or wide: one row per
                  sample and channel, one column per time step, optional sample/channel/label
                  columns (--layout, --sample-col, --channel-col, --time-col, --value-col)
  data.parquet    as CSV (needs pyarrow)
  X_TRAIN.tsv     UCR/UEA archive files (.tsv .txt .ts .arff, or a folder of them)

--additional-input FILE[:KEY] gives a model's further inputs (forward(x, static, ...)), one
option per argument after x, in forward's order; each file has one row per series of DATA:
  static.npy      one array (N, ...), read without unpickling
  extras.npz:KEY  the array KEY of an .npz (KEY may be left out when the file holds one array)
  static.csv      a numeric table, one row per series (an optional header row names the columns)
--max-samples cuts them as it cuts DATA. --attribute-additional also attributes the floating
ones (saliency, gradient_x_input, smoothgrad, integrated_gradients): arrays
extra__additional__<i> in each attributions_<method>.npz, a table in the report.

Labels of any kind (0-based integers, UCR's 1/2 or -1/1, whole-number floats, strings) become
class indices: 0-based integers as they are, other labels in sorted order; meta.json keeps the
original label of each class ("label_values") and the class names ("class_names").

examples:
  tsexplain explain model.pt data.npz --method integrated_gradients --target predicted
  tsexplain explain model.safetensors recordings.csv --method saliency --method smoothgrad \\
      --param smoothgrad.n_draws=32 --target predicted --out results/
  tsexplain explain mymodels:make_cnn data.npy --weights cnn.pt --model-arg n_channels=3 \\
      --method gradient_x_input --target 1 --max-samples 200
  tsexplain explain model.pt data.npy --channels-last --target all --memory-budget 512MB
  tsexplain explain nets.py:make_gru data.npz --weights gru.pt --additional-input static.csv \
      --attribute-additional --target predicted

Writes OUT/attributions_<method>.npz (values with dims sample, channel, time, coordinates and
parameters), OUT/inputs.npz, OUT/meta.json and OUT/report.html (standalone). List the methods
and their parameters with 'tsexplain methods'.
"""

REPORT_EPILOG = """\
examples:
  tsexplain report results/
  tsexplain report results/ --out shared/model-review.html --samples 6
"""


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """``--weights`` and ``--model-arg`` (a factory MODEL), shared by explain and workspace."""
    g = parser.add_argument_group("model")
    g.add_argument("--weights", metavar="FILE",
                   help="weights for a factory MODEL: .safetensors or a .pt/.pth state dict")
    g.add_argument("--model-arg", action="append", metavar="K=V",
                   help="keyword argument of the factory (repeatable)")


def add_data_options(parser: argparse.ArgumentParser, *, describe: bool = True,
                     title: str = "data") -> None:
    """How DATA is read (columns, keys, split, channels-last) and, with ``describe``, what it
    is (channel and class names, units, a labels file)."""
    g = parser.add_argument_group(title)
    g.add_argument("--layout", choices=("auto", "long", "wide"), default="auto",
                   help="CSV/Parquet layout (default auto: long if time and value columns exist)")
    g.add_argument("--sample-col", metavar="NAME", help="sample id column (default 'sample')")
    g.add_argument("--channel-col", metavar="NAME", help="channel column (default 'channel')")
    g.add_argument("--time-col", metavar="NAME", help="time column, long layout (default 'time')")
    g.add_argument("--value-col", metavar="NAME", help="value column, long layout (default 'value')")
    g.add_argument("--label-col", metavar="NAME", help="label column (default 'label')")
    g.add_argument("--x-key", metavar="NAME", help="array name in an .npz (default X)")
    g.add_argument("--y-key", metavar="NAME", help="label array name in an .npz (default y)")
    g.add_argument("--split", choices=("both", "train", "test"), default="both",
                   help="part of a UCR/UEA folder (default both)")
    g.add_argument("--channels-last", action="store_true",
                   help="the data are stored (N, T, C): transpose them to (N, C, T)")
    if not describe:
        return
    g.add_argument("--channel-names", metavar="A,B,..",
                   help="a name per channel (default: from the data file, else ch0, ch1, ...)")
    g.add_argument("--class-names", metavar="A,B,..",
                   help="a name per class index (default: the file's class_names, else its labels)")
    g.add_argument("--value-unit", metavar="UNIT", help="unit of the series values (e.g. mV)")
    g.add_argument("--time-unit", metavar="UNIT", help="unit of one time step (e.g. ms)")
    g.add_argument("--labels", metavar="FILE.npy",
                   help="labels of a DATA file that holds none (e.g. X.npy): an .npy of shape "
                        "(N,), integer classes, class names or real-valued targets")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="explain your own model on your own data; write arrays and a standalone report",
        description="Load MODEL and DATA, check that they fit (one forward pass on one sample),\n"
        "compute each --method's attribution, and write labelled arrays, faithfulness scores\n"
        "and report.html to --out.",
        epilog=EXPLAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="model file or package.module:factory (below)")
    p.add_argument("data", metavar="DATA", help="data file (below)")
    p.add_argument("--method", "-m", action="append", metavar="NAME",
                   help="attribution method (repeat for several; default integrated_gradients)")
    p.add_argument("--param", "-p", action="append", metavar="K=V",
                   help="method parameter, int/float/true/false/str (e.g. steps=32); a boolean "
                        "one takes true/false, yes/no, on/off or 1/0; METHOD.K=V for one method "
                        "only; a K no chosen method takes is an error; repeatable")
    p.add_argument("--target", "-t", metavar="T",
                   help="output to explain: an index, 'predicted' (argmax per sample), 'all', "
                        "'label' (the data file's labels) or 'none' (single-output models; default)")
    p.add_argument("--task", choices=("binary", "multiclass", "regression"),
                   help="what the outputs are (default: guessed: several outputs a classifier's "
                        "scores unless the labels are values, one output a regression); "
                        "'regression' for a forecaster or regressor")
    p.add_argument("--out", "-o", default="tsexplain-results",
                   help="results folder (default: tsexplain-results)")
    add_model_options(p)
    add_data_options(p)
    g = p.add_argument_group("further model inputs")
    g.add_argument("--additional-input", action="append", metavar="FILE[:KEY]",
                   help="a further input of the model's forward, after x (repeatable, in "
                        "forward's order): .npy, .npz:KEY or a numeric .csv, one row per series")
    g.add_argument("--attribute-additional", action="store_true",
                   help="also attribute the floating further inputs (gradient methods)")
    g = p.add_argument_group("resources and output")
    g.add_argument("--max-samples", type=int, metavar="N", help="explain only the first N samples")
    g.add_argument("--memory-budget", metavar="SIZE",
                   help="memory for one batch of gradient work, e.g. 512MB or 2GiB (default 1GiB)")
    g.add_argument("--no-report", action="store_true", help="write the arrays only")
    g.add_argument("--no-faithfulness", action="store_true",
                   help="skip the deletion/insertion scores (faster)")
    g.add_argument("--report-samples", type=int, default=3, metavar="N",
                   help="samples drawn one by one in the report (default 3)")
    g.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    p.set_defaults(run=run_explain)

    r = sub.add_parser(
        "report",
        help="rebuild report.html from a results folder written by 'tsexplain explain'",
        description="Read RESULTS (meta.json, inputs.npz, attributions_*.npz) and write the\n"
        "standalone HTML report again; the model is not needed.",
        epilog=REPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("results", metavar="RESULTS", help="results folder of 'tsexplain explain'")
    r.add_argument("--out", "-o", metavar="FILE", help="HTML file (default RESULTS/report.html)")
    r.add_argument("--samples", type=int, default=3, metavar="N",
                   help="samples drawn one by one (default 3)")
    r.set_defaults(run=run_report)


def explain_options(args: argparse.Namespace) -> ExplainOptions:
    """The :class:`~tsexplain.io.pipeline.ExplainOptions` of parsed ``explain`` arguments."""
    from tsexplain.cli._method_params import parse_method_params
    from tsexplain.io.pipeline import ExplainOptions, parse_names, parse_params, parse_target

    return ExplainOptions(
        out=args.out,
        params=parse_method_params(args.param, args.method or ["integrated_gradients"]),
        target=parse_target(args.target),
        task=args.task,
        weights=args.weights,
        model_args=parse_params(args.model_arg, "--model-arg"),
        data_options=data_options(args),
        channels_last=args.channels_last,
        channel_names=parse_names(args.channel_names, "--channel-names"),
        class_names=parse_names(args.class_names, "--class-names"),
        value_unit=args.value_unit,
        time_unit=args.time_unit,
        max_samples=args.max_samples,
        memory_budget=args.memory_budget,
        faithfulness=not args.no_faithfulness,
        report=not args.no_report,
        report_samples=args.report_samples,
        additional_inputs=list(args.additional_input or []),
        attribute_additional=args.attribute_additional,
    )


def data_options(args: argparse.Namespace) -> dict[str, Any]:
    """The :func:`tsexplain.io.load_any_data` keywords of the data options."""
    return {"layout": args.layout, "sample_col": args.sample_col, "channel_col": args.channel_col,
            "time_col": args.time_col, "value_col": args.value_col, "label_col": args.label_col,
            "x_key": args.x_key, "y_key": args.y_key, "split": args.split,
            "labels": getattr(args, "labels", None)}


def run_explain(args: argparse.Namespace) -> int:
    from tsexplain.exceptions import ShapeError
    from tsexplain.io.data import two_d_note
    from tsexplain.io.pipeline import explain_files

    log = None if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    try:
        out = explain_files(args.model, args.data, args.method or ["integrated_gradients"],
                            explain_options(args), log=log)
    except ShapeError as err:
        # the model's refusal of (N, 1, T) data: say it came from a 2-D array (.npy or .npz),
        # and how to save one multichannel series instead
        note = two_d_note(args.data, args.x_key)
        if note is not None and str(err).startswith("the model does not accept this data"):
            raise ShapeError(f"{err}. {note}") from None
        raise
    print(out)
    return 0


def run_report(args: argparse.Namespace) -> int:
    from tsexplain.report.explanation import write_explanation_report

    page = write_explanation_report(args.results, args.out, n_samples=args.samples)
    print(page)
    return 0
