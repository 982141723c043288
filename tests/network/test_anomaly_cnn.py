"""The issue's "Must show" on a small scale: TSViz's anomaly CNN trained on make_anomaly_sequences.

The full-size run is ``benchmarks/network_anomaly_demo.py``.
"""

import pytest
import torch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained():
    from tsexplain import datasets, models, training

    data = datasets.make_anomaly_sequences(n_train=4000, n_test=1000, seed=0)
    X = torch.as_tensor(data.X, dtype=torch.float32)
    y = torch.as_tensor(data.y)
    tr = torch.as_tensor(data.train_mask)
    torch.manual_seed(0)
    model = models.TSVizAnomalyCNN()
    training.fit(model, X[tr].numpy(), y[tr].numpy(), task="binary", seed=0, progress=False)
    model.eval()
    with torch.no_grad():
        p = torch.sigmoid(model(X[~tr])[:, 0])
    return model, X[tr], y[tr], X[~tr], y[~tr], p


def test_trained_well_enough(trained):
    model, _, _, x_test, y_test, p = trained
    assert float(((p > 0.5).long() == y_test).float().mean()) > 0.95


def test_inverse_optimisation_puts_spikes_in_temperature_and_torque(trained):
    from tsexplain.network import inverse_optimize

    model, _, _, x_test, y_test, p = trained
    start = torch.cat([
        0.1 * torch.randn(2, 3, 50, generator=torch.Generator().manual_seed(0)),
        x_test[(y_test == 0) & (p < 0.01)][:2],
    ])
    res = inverse_optimize(model, 1.0, x0=start, alpha=0.05, iterations=200, record_every=50)
    assert float(torch.sigmoid(res.output_after[:, 0]).min()) >= 0.99
    change = (res.x - res.start).abs()
    peak = change.amax(dim=2)  # (4, 3)
    assert bool((peak[:, 1:].amax(dim=1) > peak[:, 0]).all())
    share = change.sum(dim=2) / change.sum(dim=(1, 2))[:, None]
    assert float(share[:, 0].max()) < 0.2  # pressure barely touched


def test_iterative_fgsm_flips_a_detected_anomaly(trained):
    from tsexplain.network import iterative_fgsm

    model, _, _, x_test, y_test, p = trained
    # The full-size model of benchmarks/network_anomaly_demo.py flips 5 of 8 anomalies at
    # p = 0.93..0.99 (TSViz's example: 0.9576). This small model is less fragile and its training
    # varies between processes, so here: one flip among the detected anomalies below p = 0.99
    # (saturated ones, p ~ 1, do not flip with epsilon = 0.1).
    idx = torch.nonzero((y_test == 1) & (p > 0.5) & (p < 0.99)).ravel()[:60]
    if len(idx) == 0:
        pytest.skip("no anomaly detected with 0.5 < p < 0.99 in this small test set")
    res = iterative_fgsm(model, x_test[idx], 0.1, alpha=1e-3, steps=300)
    assert float(res.perturbation.abs().max()) <= 0.1 + 1e-6
    assert bool(res.flipped.any())


def test_removing_most_influential_filter_hurts_more(trained):
    from tsexplain.network import faithfulness_table

    model, x_train, _, x_test, y_test, _ = trained
    table = faithfulness_table(model, x_test, y_test.float(), x_importance=x_train[:2000])
    for row in table.rows:
        assert row.loss_without_most > row.loss_without_least, str(table)
