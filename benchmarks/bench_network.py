"""Benchmark tsexplain.network against bare calls and Captum (issue 5).

1. Filter importance (TSViz Eq. 16) over 10,000 anomaly sequences (3 x 50), all three conv
   layers of the TSViz anomaly CNN, against a bare loop of forward + autograd.grad.
2. Clustering of 64 filter activations of length 500 against the bare dtaidistance + SciPy +
   scikit-learn calls (target: within 1.5x).
3. Per-filter saliency of all 64 filters of a FordA-CNN layer for 64 inputs of length 500,
   against a loop of Captum's NeuronGradient over the filters (same numbers; target >= 10x).

Runs alternate (A B A B ...) and report medians: the machine is shared, so treat the numbers as
provisional. Usage: ``python benchmarks/bench_network.py [--repeats 3] [--quick]``.
"""

# ruff: noqa: B023  (the timed closures run inside the loop iteration that defines them)
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

CPU_TIMES: list[str] = []


def _time(fn: Callable[[], object]) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def alternate(
    a: Callable[[], object], b: Callable[[], object], repeats: int, label: str = ""
) -> tuple[float, float]:
    """Median wall times of a and b, run as A B A B ...; CPU (process) times are noted too.

    On a shared machine the CPU time is the steadier figure: other processes inflate wall time.
    """
    ta, tb = [], []
    for _ in range(repeats):
        ta.append(_time(a))
        tb.append(_time(b))
    wa, wb = statistics.median(t[0] for t in ta), statistics.median(t[0] for t in tb)
    ca, cb = statistics.median(t[1] for t in ta), statistics.median(t[1] for t in tb)
    CPU_TIMES.append(f"  {label}: CPU time {ca:.3f} s vs {cb:.3f} s (ratio {ca / cb:.2f}, inverse {cb / ca:.1f}x)")
    print(CPU_TIMES[-1])
    return wa, wb


def bench_importance(repeats: int, n: int) -> None:
    from tsexplain.models import TSVizAnomalyCNN
    from tsexplain.network import filter_importance_stats

    torch.manual_seed(0)
    model = TSVizAnomalyCNN().eval()
    x = torch.randn(n, 3, 50)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    bs = 512

    def ours() -> None:
        filter_importance_stats(model, x, progress=False)  # chunks from the default memory budget

    def bare() -> None:
        for p in model.parameters():
            p.requires_grad_(False)
        acc = [torch.zeros(c.out_channels) for c in convs]
        for s in range(0, n, bs):
            store: list[torch.Tensor] = []
            hs = [c.register_forward_hook(lambda m, i, o: store.append(o)) for c in convs]
            out = model(x[s : s + bs].requires_grad_(True))
            for h in hs:
                h.remove()
            gs = torch.autograd.grad(out.sum(), store)
            for a, g in zip(acc, gs, strict=True):
                a += g.abs().sum(2).sum(0)
        for p in model.parameters():
            p.requires_grad_(True)

    t_ours, t_bare = alternate(ours, bare, repeats, "importance")
    print(
        f"[importance] {n} sequences (3 x 50), 3 conv layers (16/32/64 filters), min/mean/max: "
        f"tsexplain {t_ours:.3f} s, bare loop {t_bare:.3f} s, ratio {t_ours / t_bare:.2f}x, "
        f"{n / t_ours:,.0f} sequences/s"
    )


def bench_clustering(repeats: int) -> None:
    from dtaidistance import dtw
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    from sklearn.metrics import silhouette_score

    from tsexplain.network import cluster_filters

    rng = np.random.default_rng(0)
    # 64 activation-like vectors of length 500: ReLU'd smoothed noise in 8 families
    base = rng.normal(size=(8, 500)).cumsum(axis=1)
    acts = np.maximum(0, base[rng.integers(0, 8, 64)] + rng.normal(scale=2.0, size=(64, 500)))

    for window in (None, 50):
        kw = {} if window is None else {"window": window}

        def ours() -> None:
            cluster_filters(acts, window=window)

        def bare() -> None:
            d = dtw.distance_matrix_fast(np.ascontiguousarray(acts), compact=False, parallel=True, **kw)
            np.fill_diagonal(d, 0.0)
            z = linkage(squareform(d, checks=False), method="complete")
            for k in range(2, 64):
                lab = fcluster(z, t=k, criterion="maxclust")
                if len(np.unique(lab)) == k:
                    silhouette_score(d, lab, metric="precomputed")

        res = cluster_filters(acts, window=window)
        t_ours, t_bare = alternate(ours, bare, repeats, f"clustering window={window}")
        print(
            f"[clustering] 64 filters x 500 steps, window={window}: tsexplain {t_ours:.3f} s, "
            f"bare dtaidistance+SciPy+sklearn {t_bare:.3f} s, ratio {t_ours / t_bare:.2f}x "
            f"(target <= 1.5x); best k = {res.k}"
        )


def bench_saliency(repeats: int, n_inputs: int) -> None:
    from captum.attr import NeuronGradient

    from tsexplain.models import FordACNN
    from tsexplain.network import filter_saliency
    from tsexplain.network._hooks import conv1d_layer_names

    torch.manual_seed(0)
    model = FordACNN().eval()
    x = torch.randn(n_inputs, 1, 500)
    from tsexplain.network import _dependency

    for layer_name in reversed(conv1d_layer_names(model)):
        layer = dict(model.named_modules())[layer_name]
        n_filters = layer.out_channels

        def ours() -> torch.Tensor:
            return filter_saliency(model, x, layer_name, scale="none")

        def captum_loop() -> torch.Tensor:
            ng = NeuronGradient(model, layer)
            return torch.stack(
                [ng.attribute(x, neuron_selector=(f, slice(None))).abs() for f in range(n_filters)], 1
            )

        _dependency._CACHE.clear()
        first = _time(ours)[0]  # includes the one-off dependency probe (cached afterwards)
        a, b = ours(), captum_loop()
        diff = float((a - b).abs().max() / b.abs().max())
        t_vmap = _time(lambda: filter_saliency(model, x, layer_name, scale="none", method="vmap"))[0]
        print(
            f"  {layer_name}: first call (with dependency probe) {first:.3f} s; method='vmap' "
            f"(one batched backward per filter chunk) {t_vmap:.3f} s"
        )
        t_ours, t_captum = alternate(ours, captum_loop, repeats, f"saliency {layer_name}")
        print(
            f"[saliency] FordA CNN layer {layer_name!r} ({n_filters} filters), {n_inputs} inputs x 500: "
            f"tsexplain {t_ours:.3f} s, Captum NeuronGradient loop {t_captum:.3f} s, "
            f"speed-up {t_captum / t_ours:.1f}x (target >= 10x); max relative difference {diff:.1e}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    parser.add_argument("--only", choices=["importance", "clustering", "saliency"], default=None)
    args = parser.parse_args()
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning, module="captum")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; medians of {args.repeats} alternating runs")
    if hasattr(__import__("os"), "getloadavg"):
        print(f"load average at start: {__import__('os').getloadavg()[0]:.2f} (shared machine: provisional figures)")
    if args.only in (None, "importance"):
        bench_importance(args.repeats, 1000 if args.quick else 10_000)
    if args.only in (None, "clustering"):
        bench_clustering(args.repeats)
    if args.only in (None, "saliency"):
        bench_saliency(args.repeats, 8 if args.quick else 64)


if __name__ == "__main__":
    main()
