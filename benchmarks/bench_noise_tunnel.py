"""Speed of tsexplain's NoiseTunnel against Captum's NoiseTunnel, over saliency and IG.

Setting: the FordA-tutorial CNN (3 x [Conv1d 64, k=3, BatchNorm, ReLU], global average pooling,
Linear) on the CPU; a batch of N series of length 500.

* Captum 0.9: ``NoiseTunnel(Saliency)`` and ``NoiseTunnel(IntegratedGradients)`` (VarGrad over
  saliency, SmoothGrad over IG), ``nt_samples_batch_size`` left at its default (all draws at once).
* tsexplain: ``NoiseTunnel("saliency", strategy="vargrad")`` and
  ``NoiseTunnel("integrated_gradients")`` at the same draws and steps, default memory budget.

Runs alternate (captum, ours, captum, ours, ...) in one process and the medians and ratios are
printed, with the peak resident memory of the process at the end. Run on a quiet machine:

    .venv/bin/python benchmarks/bench_noise_tunnel.py            # 64 series, 16 draws, IG 16 steps
    .venv/bin/python benchmarks/bench_noise_tunnel.py --quick    # 16 series, 8 draws, IG 8 steps
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="16 series, 8 draws, 8 IG steps, 3 repeats")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    n, draws, steps, repeats = (16, 8, 8, 3) if args.quick else (64, 16, 16, args.repeats)

    import numpy as np
    import torch
    from captum.attr import IntegratedGradients as CaptumIG
    from captum.attr import NoiseTunnel as CaptumNT
    from captum.attr import Saliency as CaptumSaliency

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_attribution import fordA_tutorial_cnn

    from tsexplain.attribution import NoiseTunnel

    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    model = fordA_tutorial_cnn()
    x = torch.randn(n, 1, 500, generator=torch.Generator().manual_seed(1))
    # range 1 per series: our noise fraction equals Captum's absolute standard deviation
    x = (x - x.amin(dim=(1, 2), keepdim=True)) / (x.amax(dim=(1, 2), keepdim=True) - x.amin(dim=(1, 2), keepdim=True))
    target = 1

    def captum_vg() -> np.ndarray:
        return CaptumNT(CaptumSaliency(model)).attribute(
            x, nt_type="vargrad", nt_samples=draws, stdevs=0.15, target=target, abs=False).detach().numpy()

    def ours_vg() -> np.ndarray:
        return NoiseTunnel("saliency", model, n_draws=draws, noise=0.15, strategy="vargrad",
                           progress=False).attribute(x, target=target).values

    def captum_ig() -> np.ndarray:
        return CaptumNT(CaptumIG(model)).attribute(
            x, nt_type="smoothgrad", nt_samples=draws, stdevs=0.15, target=target, n_steps=steps,
            internal_batch_size=n * steps).detach().numpy()

    def ours_ig() -> np.ndarray:
        return NoiseTunnel("integrated_gradients", model, n_draws=draws, noise=0.15, steps=steps,
                           progress=False).attribute(x, target=target).values

    contenders = {"captum_vg": captum_vg, "ours_vg": ours_vg, "captum_ig": captum_ig, "ours_ig": ours_ig}
    times: dict[str, list[float]] = {k: [] for k in contenders}
    results = {k: fn() for k, fn in contenders.items()}  # warm-up, and the numbers to compare
    for r in range(repeats):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
        print(f"repeat {r + 1}/{repeats}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()),
              file=sys.stderr)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\nFordA-tutorial CNN, {n} series x 500 steps, {draws} draws, IG {steps} steps, "
          f"{args.threads} threads, medians of {repeats}")
    print(f"{'':32s}{'seconds':>9s}{'captum/ours':>13s}{'corr':>7s}")
    for label, ours, theirs in (("VarGrad over saliency", "ours_vg", "captum_vg"),
                                ("SmoothGrad over IG", "ours_ig", "captum_ig")):
        corr = np.mean([np.corrcoef(a.ravel(), b.ravel())[0, 1]
                        for a, b in zip(results[ours], results[theirs], strict=True)])
        print(f"{'Captum ' + label:32s}{med[theirs]:9.3f}")
        print(f"{'tsexplain ' + label:32s}{med[ours]:9.3f}{med[theirs] / med[ours]:13.2f}{corr:7.2f}")
    print(f"peak RSS of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print("corr: mean per-series correlation of the two maps (different noise draws; it grows "
          "with the number of draws)")


if __name__ == "__main__":
    main()
