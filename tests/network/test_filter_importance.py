# ruff: noqa: F811  (fixtures imported from network_helpers are redefined as test arguments)
import numpy as np
import pytest
import torch
from network_helpers import assert_unchanged, cnn, make_cnn, snapshot, x  # noqa: F401  (pytest fixtures)

from tsexplain.exceptions import TargetError
from tsexplain.network import filter_importance, filter_importance_stats


def _fd_importance(model, x, layer_module, head, n_filters, eps=1e-6):
    """Central finite differences of the output w.r.t. every activation, 1-norm over time."""
    with torch.no_grad():
        a = None

        def grab(m, i, o):
            nonlocal a
            a = o.clone()

        h = layer_module.register_forward_hook(grab)
        model(x)
        h.remove()
        imp = torch.zeros(x.shape[0], n_filters, dtype=torch.float64)
        for f in range(n_filters):
            for t in range(a.shape[2]):
                up, down = a.clone(), a.clone()
                up[:, f, t] += eps
                down[:, f, t] -= eps
                d = (head(up) - head(down))[:, 0] / (2 * eps)
                imp[:, f] += d.abs()
    return imp


def test_matches_finite_differences():
    model = make_cnn(seed=4).double()
    x = torch.randn(3, 3, 50, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    got = filter_importance(model, x, "3")
    head = model[4:]
    ref = _fd_importance(model, x, model[3], head, 12)
    torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-9)


def test_matches_literal_gradient_per_sample(cnn, x):
    got = filter_importance(cnn, x, "0", batch_size=4)
    for n in range(x.shape[0]):
        a = cnn[0](x[n : n + 1]).detach().requires_grad_(True)
        (g,) = torch.autograd.grad(cnn[1:](a).sum(), a)
        torch.testing.assert_close(got[n], g.abs().sum(dim=2)[0])


def test_multiclass_targets():
    model = make_cnn(n_out=4)
    x = torch.randn(5, 3, 50, generator=torch.Generator().manual_seed(0))
    with pytest.raises(TargetError, match="4 outputs"):
        filter_importance(model, x, "3")
    per = filter_importance(model, x, "3", target=[0, 1, 2, 3, 0])
    for n, k in enumerate([0, 1, 2, 3, 0]):
        torch.testing.assert_close(per[n], filter_importance(model, x[n : n + 1], "3", target=k)[0])
    pred = model(x).argmax(1).tolist()
    torch.testing.assert_close(filter_importance(model, x, "3", target="predicted"), filter_importance(model, x, "3", target=pred))
    with pytest.raises(TargetError):
        filter_importance(model, x, "3", target=7)


def test_stats_chunking_and_model_untouched(cnn, x):
    cnn.train()
    before = snapshot(cnn)
    stats = filter_importance_stats(cnn, x, batch_size=4, progress=False)
    assert list(stats) == ["0", "3"]
    per = filter_importance(cnn, x, "3").double().numpy()
    np.testing.assert_allclose(stats["3"].mean, per.mean(0), rtol=1e-6)
    np.testing.assert_allclose(stats["3"].min, per.min(0), rtol=1e-6)
    np.testing.assert_allclose(stats["3"].max, per.max(0), rtol=1e-6)
    assert stats["3"].ranking()[0] == int(np.argmax(per.mean(0)))
    assert_unchanged(cnn, before)


def test_sigmoid_output_and_temperature(cnn, x):
    raw = filter_importance(cnn, x, "3")
    p = torch.sigmoid(cnn(x).detach())[:, 0]
    prob = filter_importance(cnn, x, "3", output="sigmoid")
    torch.testing.assert_close(prob, raw * (p * (1 - p))[:, None], rtol=1e-5, atol=1e-8)
    hot = filter_importance(cnn, x, "3", output="sigmoid", temperature=2.0)
    p2 = torch.sigmoid(cnn(x).detach() / 2)[:, 0]
    torch.testing.assert_close(hot, raw * (p2 * (1 - p2) / 2)[:, None], rtol=1e-5, atol=1e-8)
