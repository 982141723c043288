"""Speed of tsexplain on every kind of model: CNN, LSTM, GRU, Transformer encoder, TCN.

For each model, on a batch of 64 series (CNN: FordA 1 x 500; the others 3 x 200), one process:

* bare limit: 50 x (one forward + input gradient of the batch), plain autograd;
* saliency: Captum 0.9 ``Saliency`` vs tsexplain ``Saliency``;
* SmoothGrad 50: Captum ``NoiseTunnel(Saliency)`` (its default: one batch of 3200 rows) vs
  tsexplain ``SmoothGrad(n_draws=50)``;
* IG 50: Captum ``IntegratedGradients`` (its default: one batch of 3200 rows) vs tsexplain
  ``IntegratedGradients(steps=50)``;

then the network rows (filter importance over 10,000 anomaly sequences vs a bare forward +
autograd loop; per-filter saliency of every FordA layer vs a Captum NeuronGradient loop; from
``bench_network.py``) and Time-SmoothGrad on a point-wise model at T = 1e6 (window 10) vs one
chunked backward and a cumulative-sum moving average, each in a fresh subprocess that reports
its time and peak RSS.

Runs alternate (A B A B ..., medians) in one process, with Captum on the same thread count as
tsexplain; ratios are printed per row. Usage (on a quiet machine; the figures of a shared
machine are provisional):

    .venv/bin/python benchmarks/bench_models.py [--repeats 3] [--threads 2] [--quick]
        [--only cnn lstm gru transformer tcn network tsg]
"""

# ruff: noqa: B023  (the timed closures run inside the loop iteration that defines them)
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
ROWS: list[str] = []
#: Median processor times (seconds) of the last :func:`alternate` call: steadier on a busy machine.
CPU: dict[str, float] = {}


# ------------------------------------------------------------------ models
class Recurrent(nn.Module):
    """(N, C, T) -> LSTM/GRU(64) over time -> last hidden state -> (N, 2)."""

    def __init__(self, cell: type[nn.RNNBase], c: int = 3, hidden: int = 64) -> None:
        super().__init__()
        self.rnn = cell(c, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x.transpose(1, 2))
        return self.fc(out[:, -1])


class Transformer(nn.Module):
    """(N, C, T) -> linear embedding (d 64) -> 2-layer Transformer encoder -> mean -> (N, 2)."""

    def __init__(self, c: int = 3, d: int = 64) -> None:
        super().__init__()
        self.inp = nn.Linear(c, d)
        layer = nn.TransformerEncoderLayer(d, 4, 128, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.fc = nn.Linear(d, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.enc(self.inp(x.transpose(1, 2))).mean(1))


def fordA_cnn() -> nn.Module:
    """3 x [Conv1d 64, k=3, BatchNorm, ReLU], global average pooling, Linear (FordA tutorial)."""
    layers: list[nn.Module] = []
    c_in = 1
    for _ in range(3):
        layers += [nn.Conv1d(c_in, 64, 3, padding=1), nn.BatchNorm1d(64), nn.ReLU()]
        c_in = 64
    model = nn.Sequential(*layers, nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(64, 2))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return model


def tcn(c: int = 3) -> nn.Module:
    """Dilated causal convolutions 32 wide (dilations 1, 2, 4, 8), pooling, Linear."""
    layers: list[nn.Module] = []
    c_in = c
    for d in (1, 2, 4, 8):
        layers += [nn.ConstantPad1d((2 * d, 0), 0.0), nn.Conv1d(c_in, 32, 3, dilation=d), nn.ReLU()]
        c_in = 32
    return nn.Sequential(*layers, nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(32, 2))


MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, int]]] = {
    "cnn": (fordA_cnn, (1, 500)),
    "lstm": (lambda: Recurrent(nn.LSTM), (3, 200)),
    "gru": (lambda: Recurrent(nn.GRU), (3, 200)),
    "transformer": (Transformer, (3, 200)),
    "tcn": (tcn, (3, 200)),
}


# ------------------------------------------------------------------ timing
def alternate(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall times of every function, run in turn (A B C A B C ...) after one warm-up.

    The median processor times are left in :data:`CPU` (other processes inflate wall time).
    """
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    CPU.clear()
    CPU.update({k: statistics.median(v) for k, v in cpu.items()})
    return {k: statistics.median(v) for k, v in times.items()}


def row(
    work: str, ours: float, peer: float, peer_name: str, goal: str, bare: float | None = None,
    cpu: tuple[str, str, str | None] | None = None,
) -> None:
    """One table row (wall times); ``cpu`` names the entries of :data:`CPU` for the CPU-time ratios."""
    line = f"| {work} | {ours:.3f} s | {peer_name} {peer:.3f} s | {peer / ours:.2f}x"
    line += f" | {ours / bare:.2f}x bare ({bare:.3f} s)" if bare else " | "
    if cpu is not None:
        o, p, b = cpu
        line += f" | CPU: {CPU[p] / CPU[o]:.2f}x peer" + (f", {CPU[o] / CPU[b]:.2f}x bare" if b else "")
    else:
        line += " | "
    line += f" | {goal} |"
    ROWS.append(line)
    print(line, flush=True)


def bench_model(kind: str, n: int, s: int, repeats: int) -> None:
    from captum.attr import IntegratedGradients as CaptumIG
    from captum.attr import NoiseTunnel
    from captum.attr import Saliency as CaptumSaliency

    from tsexplain.attribution import IntegratedGradients, Saliency, SmoothGrad

    build, (c, t) = MODELS[kind]
    torch.manual_seed(0)
    model = build().eval()
    x = torch.randn(n, c, t, generator=torch.Generator().manual_seed(1))
    target = 1

    def bare() -> None:
        for _ in range(s):
            xi = x.clone().requires_grad_(True)
            torch.autograd.grad(model(xi)[:, target].sum(), xi)

    fns: dict[str, Callable[[], object]] = {
        "bare": bare,
        "captum_sal": lambda: CaptumSaliency(model).attribute(x, target=target, abs=False),
        "ours_sal": lambda: Saliency(model, progress=False).attribute(x, target=target),
        "captum_sg": lambda: NoiseTunnel(CaptumSaliency(model)).attribute(
            x, nt_type="smoothgrad", nt_samples=s, stdevs=0.15, target=target, abs=False
        ),
        "ours_sg": lambda: SmoothGrad(model, n_draws=s, noise=0.15, progress=False).attribute(x, target=target),
        "captum_ig": lambda: CaptumIG(model).attribute(x, target=target, n_steps=s),
        "ours_ig": lambda: IntegratedGradients(model, steps=s, progress=False).attribute(x, target=target),
    }
    med = alternate(fns, repeats)
    ours_ig = IntegratedGradients(model, steps=s, progress=False).attribute(x, target=target).values
    theirs_ig = CaptumIG(model).attribute(x, target=target, n_steps=s).detach().numpy()
    err = float(abs(ours_ig - theirs_ig).max() / abs(theirs_ig).max())
    shape = f"{kind} {n} x {c} x {t}"
    row(f"saliency, {shape}", med["ours_sal"], med["captum_sal"], "Captum", "never slower than Captum",
        cpu=("ours_sal", "captum_sal", None))
    row(f"SmoothGrad {s}, {shape}", med["ours_sg"], med["captum_sg"], "Captum", ">= 2x Captum, <= 1.0x bare",
        med["bare"], cpu=("ours_sg", "captum_sg", "bare"))
    row(f"IG {s}, {shape}", med["ours_ig"], med["captum_ig"], "Captum", ">= 2x Captum", med["bare"],
        cpu=("ours_ig", "captum_ig", "bare"))
    print(f"  {kind}: IG max |ours - captum| / max |captum| = {err:.1e}", flush=True)


# ------------------------------------------------------------------ network rows
def bench_network(repeats: int, quick: bool) -> None:
    sys.path.insert(0, str(HERE))
    import bench_network as bn

    bn.bench_importance(repeats, 1000 if quick else 10_000)
    bn.bench_saliency(repeats, 8 if quick else 64)


# ------------------------------------------------------------------ Time-SmoothGrad at 1e6
TSG_CHILD = r"""
import json, resource, sys, time, torch
from torch import nn
torch.set_num_threads(int(sys.argv[3]))
T, which = int(sys.argv[1]), sys.argv[2]
torch.manual_seed(0)
model = nn.Sequential(nn.Conv1d(10, 64, 1), nn.ReLU(), nn.Conv1d(64, 64, 1), nn.ReLU(),
                      nn.Conv1d(64, 1, 1), nn.Flatten(1)).eval()
for p in model.parameters():
    p.requires_grad_(False)
x = torch.randn(1, 10, T, generator=torch.Generator().manual_seed(1))
w, chunk = 10, 1 << 16
def hwm_gb():  # this process's own peak RSS (ru_maxrss would carry the parent's over fork + exec)
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) / 2**20
base_gb = hwm_gb()
t0 = time.perf_counter()
if which == "ours":
    from tsexplain.attribution import TimeSmoothGrad
    TimeSmoothGrad(model, window=w, receptive_field=1, progress=False).attribute(x)
else:  # one backward per chunk of the series, then a cumulative-sum moving average
    g = torch.empty(10, T)
    for s in range(0, T, chunk):
        xi = x[:, :, s:s + chunk].clone().requires_grad_(True)
        (gi,) = torch.autograd.grad(model(xi).sum(), xi)
        g[:, s:s + chunk] = gi[0]
    c = torch.nn.functional.pad(g.double().cumsum(1), (1, 0))
    lo = (torch.arange(T) + 1 - w).clamp(min=0)
    out = ((c[:, 1:] - c[:, lo]) / (torch.arange(T) + 1 - lo)).float()
seconds = time.perf_counter() - t0
peak_gb = hwm_gb()
print(json.dumps({"seconds": seconds, "peak_gb": peak_gb, "added_gb": peak_gb - base_gb}))
"""


def bench_tsg(repeats: int, t_len: int, threads: int) -> None:
    results: dict[str, list[dict[str, float]]] = {"ours": [], "bare": []}
    for _ in range(repeats):
        for which in ("bare", "ours"):
            out = subprocess.run(
                [sys.executable, "-c", TSG_CHILD, str(t_len), which, str(threads)],
                capture_output=True, text=True, check=True,
            )
            results[which].append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in results.items()}
    peak = {k: max(r["peak_gb"] for r in v) for k, v in results.items()}
    added = {k: max(r["added_gb"] for r in v) for k, v in results.items()}
    row(
        f"Time-SmoothGrad, point-wise 10 -> 64 -> 64 -> 1, T = {t_len:.0e}, window 10 (peak RSS "
        f"ours {peak['ours']:.2f} GB / +{added['ours']:.2f} GB over the process after setup, "
        f"bare {peak['bare']:.2f} / +{added['bare']:.2f} GB)",
        med["ours"], med["bare"], "bare chunked backward + cumsum", "<= 1.2x bare, peak < 0.5 GB",
        bare=med["bare"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="16 series, T = 1e5 (smoke test)")
    parser.add_argument("--only", nargs="*", default=None,
                        choices=[*MODELS, "network", "tsg"], help="rows to run (default: all)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    from tsexplain._allocator import tune_allocator

    tuned = tune_allocator()  # the same allocator for every contender
    only = args.only or [*MODELS, "network", "tsg"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {args.threads} threads for tsexplain, Captum and bare; "
          f"allocator {'tuned' if tuned else 'stock'}; medians of {args.repeats} alternating runs; "
          f"load average at start {load:.2f}")
    print("| work | tsexplain | peer | peer / ours | ours / bare | processor-time ratios | goal |")
    print("|---|---|---|---|---|---|---|")
    n = 16 if args.quick else 64
    for kind in MODELS:
        if kind in only:
            bench_model(kind, n, 50, args.repeats)
    if "network" in only:
        bench_network(args.repeats, args.quick)
    if "tsg" in only:
        bench_tsg(args.repeats, 100_000 if args.quick else 1_000_000, args.threads)
    print("\n" + "\n".join(ROWS))


if __name__ == "__main__":
    main()
