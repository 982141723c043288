import numpy as np
import pytest
import torch
from network_helpers import make_cnn

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from tsexplain.network import (  # noqa: E402
    cluster_filters,
    conv_activations,
    filter_importance,
    filter_saliency,
    inverse_optimize,
    iterative_fgsm,
    pruning_curve,
)
from tsexplain.plotting.filters import (  # noqa: E402
    plot_adversarial_result,
    plot_dendrogram,
    plot_filter_grid,
    plot_inverse_result,
    plot_pruning_curve,
    plot_silhouette,
)


def test_all_plots_draw(tmp_path):
    import matplotlib.pyplot as plt

    model = make_cnn()
    x = torch.randn(4, 3, 50, generator=torch.Generator().manual_seed(0))
    acts = conv_activations(model, x[:1], "3")["3"][0]
    clusters = cluster_filters(acts)
    imp = filter_importance(model, x[:1], "3")[0]
    sal = filter_saliency(model, x[:1], "3")[0]
    figs = [
        plot_filter_grid(acts, labels=clusters.labels, importance=imp, saliency=sal, n_cols=4),
        plot_silhouette(clusters),
        plot_dendrogram(clusters),
        plot_pruning_curve(pruning_curve(model, "3", x, np.ones(4), x_importance=x, max_pruned=3)),
        plot_inverse_result(inverse_optimize(model, 1.0, shape=(1, 3, 50), iterations=3), channel_names=["p", "t", "q"]),
        plot_adversarial_result(iterative_fgsm(model, x, 0.1, alpha=0.05, steps=3), x),
    ]
    for i, fig in enumerate(figs):
        fig.savefig(tmp_path / f"{i}.png")
        plt.close(fig)
    assert len(list(tmp_path.glob("*.png"))) == 6
