"""The papers' reference networks, as plain ``torch.nn.Module``s taking ``(N, C, T)``.

- :class:`PointwiseMLP` - Time-SmoothGrad's regressor, one prediction per step ``(N, T)``.
- :class:`TSVizRegressionCNN`, :class:`TSVizAnomalyCNN` - TSViz's forecaster and anomaly detector.
- :class:`AGRACNN` - AGRA's bias-free quality-score regressor.
- :class:`FordACNN` - the FordA classifier (conv-BatchNorm-ReLU x 3, global average pooling).

Classifiers return logits. :func:`model_spec` / :func:`build_model` write and read the
architecture as a small JSON-serialisable dict; :func:`pretrained` loads a shipped,
trained reference model by name (``"forda_cnn"``), its weight file checked against a sha256.
"""

from tsexplain.models._base import SequentialModel
from tsexplain.models._pretrained import PRETRAINED, pretrained
from tsexplain.models._spec import available_architectures, build_model, model_spec
from tsexplain.models.agra import AGRACNN
from tsexplain.models.forda import FordACNN
from tsexplain.models.pointwise import PointwiseMLP
from tsexplain.models.tsviz import TSVizAnomalyCNN, TSVizRegressionCNN

__all__ = [
    "AGRACNN",
    "FordACNN",
    "PRETRAINED",
    "PointwiseMLP",
    "SequentialModel",
    "TSVizAnomalyCNN",
    "TSVizRegressionCNN",
    "available_architectures",
    "build_model",
    "model_spec",
    "pretrained",
]
