"""Speed of tsexplain's SmoothGrad and Integrated Gradients against Captum and the bare limit.

Setting (issue "Foundation"): the FordA-tutorial CNN (3 x [Conv1d 64, k=3, BatchNorm, ReLU],
global average pooling, Linear), a batch of 64 series of length 500, on the CPU.

* bare limit: 50 x (one forward + input gradient of the batch of 64), plain autograd;
* Captum 0.9 with its default settings: NoiseTunnel(Saliency) smoothgrad, 50 samples (one batch
  of 3200 rows), and IntegratedGradients, 50 steps (one batch of 3200 rows);
* tsexplain: SmoothGrad(n_draws=50) and IntegratedGradients(steps=50), default budget.

Runs alternate (bare, captum SG, ours SG, captum IG, ours IG, repeat) and the medians are
printed with the ratios. Run on a quiet machine:

    .venv/bin/python benchmarks/bench_attribution.py [--repeats 5] [--threads 2]

By default the process raises glibc's mmap/trim thresholds first (as tsexplain does on its first
call), so every contender runs with the same allocator; ``--stock-allocator`` leaves glibc as it
is (tsexplain then also runs without the tuning).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def fordA_tutorial_cnn():
    import torch
    from torch import nn

    torch.manual_seed(0)
    layers = []
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
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--samples", type=int, default=50, help="SmoothGrad samples = IG steps")
    parser.add_argument("--stock-allocator", action="store_true")
    args = parser.parse_args()
    if args.stock_allocator:
        os.environ["TSEXPLAIN_TUNE_ALLOCATOR"] = "0"

    import numpy as np
    import torch
    from captum.attr import IntegratedGradients as CaptumIG
    from captum.attr import NoiseTunnel
    from captum.attr import Saliency as CaptumSaliency

    from tsexplain._allocator import tune_allocator
    from tsexplain.attribution import IntegratedGradients, SmoothGrad

    torch.set_num_threads(args.threads)
    tuned = tune_allocator()
    model = fordA_tutorial_cnn()
    x = torch.randn(64, 1, 500, generator=torch.Generator().manual_seed(1))
    target = 1
    s = args.samples

    def bare() -> None:
        for _ in range(s):
            xi = x.clone().requires_grad_(True)
            torch.autograd.grad(model(xi)[:, target].sum(), xi)

    def captum_sg() -> None:
        nt = NoiseTunnel(CaptumSaliency(model))
        nt.attribute(x, nt_type="smoothgrad", nt_samples=s, stdevs=0.15, target=target, abs=False)

    def ours_sg() -> None:
        SmoothGrad(model, n_draws=s, noise=0.15, progress=False).attribute(x, target=target)

    def captum_ig() -> None:
        CaptumIG(model).attribute(x, target=target, n_steps=s)

    def ours_ig() -> None:
        IntegratedGradients(model, steps=s, progress=False).attribute(x, target=target)

    contenders = {"bare": bare, "captum_sg": captum_sg, "ours_sg": ours_sg,
                  "captum_ig": captum_ig, "ours_ig": ours_ig}
    times: dict[str, list[float]] = {k: [] for k in contenders}
    import warnings

    warnings.filterwarnings("ignore")
    for fn in contenders.values():  # warm-up
        fn()
    for r in range(args.repeats):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
        print(f"repeat {r + 1}/{args.repeats}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()),
              file=sys.stderr)
    med = {k: statistics.median(v) for k, v in times.items()}

    # same numbers check (IG is deterministic: ours vs captum)
    a = IntegratedGradients(model, steps=s).attribute(x, target=target).values
    b = CaptumIG(model).attribute(x, target=target, n_steps=s).detach().numpy()
    err = float(np.abs(a - b).max() / np.abs(b).max())

    print(f"\nFordA-tutorial CNN, 64 series x 500 steps, {s} samples/steps, {args.threads} threads, "
          f"allocator {'tuned (mallopt)' if tuned else 'stock glibc'}, medians of {args.repeats}")
    print(f"{'':24s}{'seconds':>9s}{'captum/ours':>13s}{'ours/bare':>11s}")
    print(f"{'bare limit':24s}{med['bare']:9.3f}")
    for label, ours, theirs in (("SmoothGrad", "ours_sg", "captum_sg"), ("Integrated Gradients", "ours_ig", "captum_ig")):
        print(f"{'Captum ' + label:24s}{med[theirs]:9.3f}")
        print(f"{'tsexplain ' + label:24s}{med[ours]:9.3f}{med[theirs] / med[ours]:13.2f}{med[ours] / med['bare']:11.2f}")
    print(f"IG max |ours - captum| / max |captum| = {err:.1e}")
    print("floors: captum/ours >= 1.3, ours/bare <= 1.15")


if __name__ == "__main__":
    main()
