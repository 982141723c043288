"""The JSON architecture spec: ``model_spec(model)`` -> dict, ``build_model(spec)`` -> module."""

from __future__ import annotations

import json
from typing import Any

from torch import nn

from tsexplain.exceptions import ParameterError
from tsexplain.models._base import ARCHITECTURES, SequentialModel

__all__ = ["SPEC_FORMAT", "build_model", "model_spec", "available_architectures"]

#: Version of the spec layout, written into every spec.
SPEC_FORMAT = 1


def available_architectures() -> list[str]:
    """Names accepted by :func:`build_model` (``spec["architecture"]``).

    Examples
    --------
    >>> from tsexplain.models import available_architectures
    >>> available_architectures()
    ['AGRACNN', 'FordACNN', 'PointwiseMLP', 'TSVizAnomalyCNN', 'TSVizRegressionCNN']
    """
    return sorted(ARCHITECTURES)


def model_spec(model: nn.Module) -> dict[str, Any]:
    """Describe a reference model's architecture as a JSON-serialisable dict.

    Parameters
    ----------
    model : SequentialModel
        One of the models of :mod:`tsexplain.models`.

    Returns
    -------
    dict
        ``{"format": 1, "architecture": <class name>, "config": {<constructor arguments>}}``.

    Raises
    ------
    ParameterError
        ``model`` is not a registered architecture (a custom module has no spec: save its
        weights and rebuild it yourself, see ``tsexplain.training.load_model(model=...)``).

    Examples
    --------
    >>> from tsexplain.models import PointwiseMLP, model_spec
    >>> model_spec(PointwiseMLP(n_channels=3, hidden=(8,), lags=1))
    {'format': 1, 'architecture': 'PointwiseMLP', 'config': {'n_channels': 3, 'hidden': [8], 'lags': 1, 'activation': 'relu', 'dropout': 0.0}}
    """
    name = type(model).__name__
    if not isinstance(model, SequentialModel) or ARCHITECTURES.get(name) is not type(model):
        raise ParameterError(
            f"model_spec: {name} is not a registered tsexplain architecture "
            f"({', '.join(available_architectures())}); it has no JSON spec."
        )
    spec = {"format": SPEC_FORMAT, "architecture": name, "config": model.get_config()}
    json.dumps(spec)  # fails loudly here rather than at save time
    return spec


def build_model(spec: dict[str, Any]) -> SequentialModel:
    """Build an untrained model from a spec written by :func:`model_spec`.

    Parameters
    ----------
    spec : dict
        ``{"architecture": str, "config": dict}`` (``"format"`` optional, must be 1 if given).

    Returns
    -------
    SequentialModel

    Raises
    ------
    ParameterError
        Not a dict, unknown architecture, unknown format, or a config the constructor rejects.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.models import build_model, model_spec
    >>> model = build_model({"architecture": "FordACNN", "config": {"filters": 8, "n_layers": 2}})
    >>> model(torch.zeros(4, 1, 20)).shape
    torch.Size([4, 2])
    >>> build_model(model_spec(model)).get_config() == model.get_config()
    True
    """
    if not isinstance(spec, dict):
        raise ParameterError(f"spec must be a dict, got {type(spec).__name__}.")
    fmt = spec.get("format", SPEC_FORMAT)
    if fmt != SPEC_FORMAT:
        raise ParameterError(f"spec format {fmt!r} is not supported (this version reads {SPEC_FORMAT}).")
    name = spec.get("architecture")
    if name not in ARCHITECTURES:
        raise ParameterError(
            f"Unknown architecture {name!r}; known: {', '.join(available_architectures())}."
        )
    config = spec.get("config", {})
    if not isinstance(config, dict):
        raise ParameterError(f"spec['config'] must be a dict, got {type(config).__name__}.")
    try:
        return ARCHITECTURES[name](**config)
    except TypeError as exc:
        raise ParameterError(f"spec['config'] does not fit {name}: {exc}.") from None
