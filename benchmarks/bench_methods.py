"""Speed and memory of the perturbation, SHAP-family, DeepLIFT and layer methods against Captum 0.9.

Setting: the FordA CNN of ``tsexplain.models`` (3 x [Conv1d 64, k=3, BatchNorm, ReLU], global
average pooling, Linear; random weights), a batch of 64 series of length 500, on the CPU, the
same algorithm settings on both sides (Captum with its default batching):

=====================  ===================================================================
occlusion              window 10, stride 5 (Captum: sliding window (1, 10), strides (1, 5))
feature_ablation       50 time segments (Captum: the same feature_mask)
kernel_shap / lime     20 segments, 256 coalitions per series (Captum: n_samples=256)
gradient_shap          50 draws over 16 baseline series (Captum: n_samples=50)
deeplift               zero baseline
deeplift_shap          16 baseline series
grad_cam               the last Conv1d
layer_integrated_...   the last Conv1d, 50 steps, zero baseline
tsr                    inner saliency (Captum has no TSR: time only)
=====================  ===================================================================

For every method the runs alternate (Captum, ours, Captum, ours, ... ``--repeats`` times; one
run each by default) and the medians are printed with the ratio Captum / ours (above 1: ours is
faster) and the peak resident memory of each call above the memory before it (sampled every
5 ms). The floor is 1.5x for every method Captum has. Run it alone on a quiet machine:

    .venv/bin/python benchmarks/bench_methods.py [--repeats 3] [--threads 2] [--quick]

``--quick`` uses 16 series of length 200 and fewer coalitions and draws. For Grad-CAM the run
also times two bare baselines (the best of three each): one forward pass of the model without
autograd, and the least a Grad-CAM in plain PyTorch does (a forward hook that makes the layer's
output a leaf, one ``torch.autograd.grad``, the weighted sum over filters, ReLU, linear
upsampling). Captum's time over each is the most a method that does that work can gain.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

FLOOR = 1.5


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(fn: Callable[[], Any]) -> tuple[float, int]:
    """Wall-clock seconds of ``fn()`` and its peak RSS above the RSS before the call."""
    before = rss_bytes()
    peak = [before]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    try:
        fn()
    finally:
        seconds = time.perf_counter() - t0
        done.set()
        thread.join()
    peak[0] = max(peak[0], rss_bytes())
    return seconds, peak[0] - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="16 x 200, fewer coalitions and draws")
    parser.add_argument("--only", nargs="*", help="run only these methods")
    args = parser.parse_args()

    import torch
    from captum import attr as ca

    import tsexplain
    from tsexplain.models import FordACNN

    warnings.simplefilter("ignore")
    torch.set_num_threads(args.threads)
    n, length = (16, 200) if args.quick else (64, 500)
    coalitions, draws, steps = (64, 16, 16) if args.quick else (256, 50, 50)
    torch.manual_seed(0)
    model = FordACNN().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    x = torch.randn(n, 1, length, generator=torch.Generator().manual_seed(1))
    refs = torch.randn(16, 1, length, generator=torch.Generator().manual_seed(2))
    target = 1
    conv_name = [name for name, m in model.named_modules() if isinstance(m, torch.nn.Conv1d)][-1]
    conv = dict(model.named_modules())[conv_name]
    t = torch.arange(length)
    seg50 = (t * 50 // length)[None, None].expand_as(x)
    seg20 = (t * 20 // length)[None, None].expand_as(x)

    def ours(name: str, **params: Any) -> Callable[[], Any]:
        return lambda: tsexplain.explain(model, x, name, target=target, **params)

    def per_series(run: Callable[[torch.Tensor, torch.Tensor], Any]) -> Callable[[], Any]:
        return lambda: [run(x[i : i + 1], seg20[i : i + 1]) for i in range(n)]

    cases: dict[str, tuple[Callable[[], Any] | None, Callable[[], Any]]] = {
        "occlusion": (
            lambda: ca.Occlusion(model).attribute(x, sliding_window_shapes=(1, 10), strides=(1, 5),
                                                  baselines=0.0, target=target),
            ours("occlusion", window=10, stride=5),
        ),
        "feature_ablation": (
            lambda: ca.FeatureAblation(model).attribute(x, feature_mask=seg50, baselines=0.0, target=target),
            ours("feature_ablation", groups="segments", n_segments=50),
        ),
        "kernel_shap": (
            per_series(lambda xi, mi: ca.KernelShap(model).attribute(
                xi, baselines=0.0, target=target, feature_mask=mi, n_samples=coalitions)),
            ours("kernel_shap", groups="segments", n_segments=20, n_coalitions=coalitions),
        ),
        "lime": (
            per_series(lambda xi, mi: ca.Lime(model).attribute(
                xi, baselines=0.0, target=target, feature_mask=mi, n_samples=coalitions)),
            ours("lime", groups="segments", n_segments=20, n_coalitions=coalitions),
        ),
        "gradient_shap": (
            lambda: ca.GradientShap(model).attribute(x, baselines=refs, target=target, n_samples=draws),
            ours("gradient_shap", baselines=refs, n_draws=draws),
        ),
        "deeplift": (
            lambda: ca.DeepLift(model).attribute(x, baselines=torch.zeros_like(x), target=target),
            ours("deeplift"),
        ),
        "deeplift_shap": (
            lambda: ca.DeepLiftShap(model).attribute(x, baselines=refs, target=target),
            ours("deeplift_shap", baselines=refs),
        ),
        "grad_cam": (
            lambda: ca.LayerGradCam(model, conv).attribute(x, target=target, relu_attributions=True),
            ours("grad_cam", layer=conv_name),
        ),
        "layer_integrated_gradients": (
            lambda: ca.LayerIntegratedGradients(model, conv).attribute(
                x, baselines=torch.zeros_like(x), target=target, n_steps=steps),
            ours("layer_integrated_gradients", layer=conv_name, steps=steps),
        ),
        "tsr": (None, ours("tsr", base_method="saliency")),
    }
    # Grad-CAM is one forward pass and a backward pass through the layers after the captured
    # one: a forward pass alone bounds how far below Captum any implementation can go
    def forward_only() -> None:
        with torch.no_grad():
            model(x)

    leaf: dict[str, torch.Tensor] = {}

    def as_leaf(module: Any, inputs: Any, out: torch.Tensor) -> torch.Tensor:
        leaf["a"] = out.detach().requires_grad_(True)
        return leaf["a"]

    def bare_grad_cam() -> None:
        params = [p for p in model.parameters() if p.requires_grad]
        for p in params:  # no graph before the layer, as in tsexplain's frozen calls
            p.requires_grad_(False)
        handle = conv.register_forward_hook(as_leaf)
        try:
            out = model(x)
        finally:
            handle.remove()
            for p in params:
                p.requires_grad_(True)
        a = leaf.pop("a")
        (g,) = torch.autograd.grad(out[:, target].sum(), a)
        cam = torch.relu((g.mean(2, keepdim=True) * a.detach()).sum(1, keepdim=True))
        torch.nn.functional.interpolate(cam, size=length, mode="linear")

    bare: dict[str, dict[str, Callable[[], Any]]] = {
        "grad_cam": {"one forward pass without autograd": forward_only,
                     "bare Grad-CAM (hook, one autograd.grad)": bare_grad_cam},
    }
    names = [c for c in cases if not args.only or c in args.only]
    print(f"FordA CNN (random weights), x = {n} x 1 x {length}, {args.threads} thread(s), "
          f"{args.repeats} run(s) each, alternated Captum/ours")
    print(f"{'method':28s} {'captum s':>9s} {'ours s':>8s} {'ratio':>6s} {'captum MB':>10s} "
          f"{'ours MB':>8s}  floor {FLOOR}x")
    failures = []
    for name in names:
        theirs_fn, ours_fn = cases[name]
        ours_fn()  # warm up: allocator, first-call costs
        t_ours, t_theirs, m_ours, m_theirs = [], [], [], []
        t_bare: dict[str, list[float]] = {label: [] for label in bare.get(name, {})}
        for _ in range(args.repeats):
            for label, fn in bare.get(name, {}).items():
                t_bare[label].append(min(measure(fn)[0] for _ in range(3)))
            if theirs_fn is not None:
                s, m = measure(theirs_fn)
                t_theirs.append(s)
                m_theirs.append(m)
            s, m = measure(ours_fn)
            t_ours.append(s)
            m_ours.append(m)
        mo = statistics.median(t_ours)
        if t_theirs:
            mt = statistics.median(t_theirs)
            ratio = mt / mo
            ok = "ok" if ratio >= FLOOR else "BELOW"
            if ratio < FLOOR:
                failures.append(name)
            print(f"{name:28s} {mt:9.2f} {mo:8.2f} {ratio:6.2f} {max(m_theirs) / 2**20:10.0f} "
                  f"{max(m_ours) / 2**20:8.0f}  {ok}")
            for label, times in t_bare.items():
                mb = statistics.median(times)
                print(f"{'':28s} {label}: {mb:.3f} s; Captum / that = {mt / mb:.2f}x, "
                      f"ours / that = {mo / mb:.2f}")
        else:
            print(f"{name:28s} {'-':>9s} {mo:8.2f} {'-':>6s} {'-':>10s} {max(m_ours) / 2**20:8.0f}  "
                  f"(no Captum equivalent)")
    print(f"peak RSS of the process: {__import__('resource').getrusage(0).ru_maxrss / 1024:.0f} MB")
    if failures:
        print(f"below the {FLOOR}x floor: {', '.join(failures)}")


if __name__ == "__main__":
    main()
