import numpy as np
import pytest
from dtaidistance import dtw

from tsexplain.exceptions import ShapeError
from tsexplain.network import cluster_filters, dtw_distances


def literal_dtw(a, b, window=None):
    """DTW written out: sqrt of the smallest sum of squared differences along a warping path."""
    n, m = len(a), len(b)
    w = max(n, m) if window is None else window - 1  # dtaidistance: |i - j| < window
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(max(1, i - w), min(m, i + w) + 1):
            acc[i, j] = (a[i - 1] - b[j - 1]) ** 2 + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
    return np.sqrt(acc[n, m])


@pytest.mark.parametrize("window", [None, 3])
def test_dtw_distances_equal_dtaidistance_and_literal(window):
    rng = np.random.default_rng(0)
    acts = rng.normal(size=(5, 25))
    d = dtw_distances(acts, window=window)
    for i in range(5):
        for j in range(5):
            if i == j:
                assert d[i, j] == 0.0
                continue
            kw = {} if window is None else {"window": window}
            assert d[i, j] == pytest.approx(dtw.distance(acts[i], acts[j], **kw), rel=1e-12)
            assert d[i, j] == pytest.approx(literal_dtw(acts[i], acts[j], window), rel=1e-9)


def test_finds_planted_groups_of_identical_filters():
    rng = np.random.default_rng(1)
    t = np.linspace(0, 1, 60)
    prototypes = [np.sin(8 * t), np.exp(-((t - 0.5) ** 2) / 0.005), np.maximum(0, t - 0.6) * 5]
    sizes = [4, 3, 5]
    rows, truth = [], []
    for g, (p, s) in enumerate(zip(prototypes, sizes, strict=True)):
        rows += [p] * s
        truth += [g] * s
    order = rng.permutation(len(rows))
    acts = np.asarray(rows)[order]
    truth = np.asarray(truth)[order]
    res = cluster_filters(acts)
    assert res.k == 3
    # same partition (labels may be permuted)
    for g in range(3):
        assert len(set(res.labels[truth == g])) == 1
    assert len(set(res.labels)) == 3
    assert res.silhouette[3] == pytest.approx(1.0)
    assert res.linkage.shape == (11, 4)
    assert len(set(res.cut(2))) == 2
    assert sorted(len(v) for v in res.members().values()) == [3, 4, 5]


def test_given_k_and_errors():
    acts = np.random.default_rng(2).normal(size=(6, 20))
    assert cluster_filters(acts, k=2).k == 2
    with pytest.raises(ShapeError, match="one vector per filter"):
        cluster_filters(acts[None, None])
    with pytest.raises(ShapeError, match="at least 3"):
        cluster_filters(acts[:2])
