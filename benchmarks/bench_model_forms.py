"""Integrated Gradients on the same weights in every model form: time and peak memory.

The same trained-shape CNN (``tsexplain.models.FordACNN``, BatchNorm included) is saved as an
``nn.Module`` state dict used directly, a factory + weights, ``save_model`` safetensors + spec, a
``torch.export`` program (``.pt2``) and TorchScript. Each form is loaded through
``tsexplain.io.load_any_model`` and explained (IG, 50 steps, 300 series of 150 steps,
``memory_budget=256MB``). Peak RSS: each form in its own subprocess. Time: all forms loaded in
one process and timed in alternating rounds (A B C ... A B C ...), medians, so that the ratios
to the ``nn.Module`` hold on a busy machine too.

Pass: time ratio <= 1.1 and peak RSS growth (the process's peak during the attribution, the
peak counter reset when it starts, minus the RSS then) within the budget plus the model and the
data.

Run::

    .venv/bin/python benchmarks/bench_model_forms.py            # 5 timing rounds, 300 series
    .venv/bin/python benchmarks/bench_model_forms.py --quick    # 2 rounds, 100 series
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FORMS = ("module", "factory", "safetensors", "export", "torchscript")
BUDGET = "256MB"


def _status_mb(field: str) -> float:
    """A field of this process's /proc/self/status in MB: VmRSS now, VmHWM its own peak
    (``ru_maxrss`` would carry the parent's over fork + exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    """Start VmHWM afresh at the current RSS (Linux: ``echo 5 > /proc/self/clear_refs``), so
    the peak is the attribution's, not the loading's."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:  # not Linux, or not allowed: the peak then includes the loading
        pass


def make_files(folder: Path, n: int, length: int) -> None:
    import numpy as np
    import torch

    from tsexplain.models import FordACNN
    from tsexplain.training import save_model

    torch.manual_seed(0)
    net = FordACNN(n_channels=1, n_outputs=2).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, as after training
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    torch.save(net.state_dict(), folder / "weights.pt")
    save_model(net, folder / "model.safetensors")
    example = torch.zeros(2, 1, length)
    program = torch.export.export(net, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, folder / "model.pt2")
    torch.jit.trace(net, example).save(str(folder / "model.pt"))
    x = np.random.default_rng(0).standard_normal((n, 1, length)).astype(np.float32)
    np.save(folder / "x.npy", x)


def load_form(form: str, folder: Path):  # noqa: ANN201 - an nn.Module
    import torch

    from tsexplain.io import load_any_model

    if form == "module":
        from tsexplain.models import FordACNN

        net = FordACNN(n_channels=1, n_outputs=2)
        net.load_state_dict(torch.load(folder / "weights.pt", weights_only=True))
        model = load_any_model(net.eval()).module
    elif form == "factory":
        model = load_any_model("tsexplain.models:FordACNN", folder / "weights.pt",
                               {"n_channels": 1, "n_outputs": 2}).module
    elif form == "safetensors":
        model = load_any_model(folder / "model.safetensors").module
    elif form == "export":
        model = load_any_model(folder / "model.pt2").module
    else:
        model = load_any_model(folder / "model.pt").module
    return model


def child(form: str, folder: Path, steps: int) -> dict[str, float]:
    import numpy as np
    import torch

    torch.set_num_threads(1)
    import tsexplain

    model = load_form(form, folder)
    x = np.load(folder / "x.npy")
    tsexplain.explain(model, x[:4], "integrated_gradients", target=0, steps=steps,
                      memory_budget=BUDGET)  # warm-up (TorchScript profiling runs, allocator)
    _reset_peak()
    base = _status_mb("VmRSS")
    t0 = time.perf_counter()
    res = tsexplain.explain(model, x, "integrated_gradients", target=0, steps=steps,
                            memory_budget=BUDGET)
    seconds = time.perf_counter() - t0
    peak = _status_mb("VmHWM")
    np.save(folder / f"values_{form}.npy", np.asarray(res.values))
    return {"seconds": seconds, "base_mb": base, "peak_mb": peak}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2 rounds, 100 series")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--n", type=int, default=None, help="series (default 300, quick 100)")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--length", type=int, default=150)
    ap.add_argument("--child", choices=FORMS, help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, Path(args.dir), args.steps)))
        return 0
    n = args.n or (100 if args.quick else 300)
    rounds = args.rounds or (2 if args.quick else 5)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_files(folder, n, args.length)
        runs: dict[str, list[dict[str, float]]] = {f: [] for f in FORMS}
        for form in FORMS:  # peak RSS: one subprocess per form
            out = subprocess.run([sys.executable, __file__, "--child", form, "--dir", tmp,
                                  "--steps", str(args.steps)],
                                 capture_output=True, text=True, env=env)
            if out.returncode:
                raise SystemExit(f"{form} failed:\n{out.stderr[-3000:]}")
            runs[form].append(json.loads(out.stdout.strip().splitlines()[-1]))
        import numpy as np
        import torch

        import tsexplain

        torch.set_num_threads(1)
        models = {form: load_form(form, folder) for form in FORMS}
        x = np.load(folder / "x.npy")
        times: dict[str, list[float]] = {f: [] for f in FORMS}
        for form in FORMS:  # untimed warm-up: allocator, TorchScript profiling runs
            tsexplain.explain(models[form], x[:20], "integrated_gradients", target=0,
                              steps=args.steps, memory_budget=BUDGET)
        for r in range(rounds):  # time: alternating rounds in this one process
            order = FORMS[r % len(FORMS):] + FORMS[:r % len(FORMS)]
            for form in order:
                t0 = time.perf_counter()
                tsexplain.explain(models[form], x, "integrated_gradients", target=0,
                                  steps=args.steps, memory_budget=BUDGET)
                times[form].append(time.perf_counter() - t0)

        ref_values = np.load(folder / "values_module.npy")
        model_mb = (folder / "model.safetensors").stat().st_size / 2**20
        data_mb = (folder / "x.npy").stat().st_size / 2**20
        budget_mb = 256.0
        t_ref = statistics.median(times["module"])
        t_ref_min = min(times["module"])
        print(f"IG, {args.steps} steps, {n} series x 1 channel x {args.length} steps, "
              f"memory_budget={BUDGET}, {rounds} round(s), one thread; medians")
        print(f"{'form':<12} {'seconds':>8} {'time ratio':>10} {'ratio(min)':>10} {'peak RSS MB':>12} "
              f"{'growth MB':>10} {'max |diff|':>11}  verdict")
        ok = True
        for form in FORMS:
            sec = statistics.median(times[form])
            peak = statistics.median(r["peak_mb"] for r in runs[form])
            growth = statistics.median(r["peak_mb"] - r["base_mb"] for r in runs[form])
            diff = float(np.abs(np.load(folder / f"values_{form}.npy") - ref_values).max())
            fine = sec / t_ref <= 1.1 and growth <= budget_mb + model_mb + data_mb
            ok &= fine
            print(f"{form:<12} {sec:8.2f} {sec / t_ref:10.2f} {min(times[form]) / t_ref_min:10.2f} "
                  f"{peak:12.0f} {growth:10.0f} "
                  f"{diff:11.2e}  {'ok' if fine else 'OVER'}")
        print("time ratio: of medians (verdict); ratio(min): of the fastest rounds, steadier "
              "when other work shares the machine")
        print(f"limit: time ratio <= 1.10; growth <= budget {budget_mb:.0f} + model "
              f"{model_mb:.1f} + data {data_mb:.1f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
