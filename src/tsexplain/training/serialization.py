"""Save and load models: safetensors weights plus a small JSON architecture spec (never pickle)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from torch import nn

from tsexplain.exceptions import DataFormatError, InputTypeError, ParameterError

__all__ = ["save_model", "load_model", "spec_path"]

_META_KEY = "tsexplain_spec"


def _weights_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return p if p.suffix == ".safetensors" else p.with_name(p.name + ".safetensors")


def spec_path(path: str | os.PathLike[str]) -> Path:
    """The JSON spec written next to the weights: ``model.safetensors`` -> ``model.json``."""
    return _weights_path(path).with_suffix(".json")


def save_model(model: nn.Module, path: str | os.PathLike[str]) -> Path:
    """Write ``model``'s weights (safetensors) and, for a tsexplain model, its architecture spec.

    Parameters
    ----------
    model : torch.nn.Module
        Any module. For a tsexplain reference model (:func:`tsexplain.models.model_spec` knows
        it) the architecture spec (JSON) is written too, so the file alone loads. For any other
        module only the weights are written (no JSON; the header records the module's class):
        load them with ``load_model(path, model=MyModel())``, or give your code to the CLI,
        ``tsexplain explain mypkg.nets:make_net DATA --weights name.safetensors``. To ship
        architecture and weights in one file, save a ``torch.export`` program instead
        (``torch.export.save``).
    path : str or path-like
        ``name.safetensors`` (``.safetensors`` is appended when missing). A spec goes to
        ``name.json`` and is also embedded in the safetensors header.

    Returns
    -------
    pathlib.Path
        The weights file written.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from tsexplain.models import PointwiseMLP
    >>> from tsexplain.training import save_model
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_model(PointwiseMLP(n_channels=3, hidden=(8,)), pathlib.Path(tmp) / "mlp")
    ...     files = sorted(p.name for p in path.parent.iterdir())
    >>> path.name, files
    ('mlp.safetensors', ['mlp.json', 'mlp.safetensors'])
    """
    from safetensors.torch import save_file

    from tsexplain.models import model_spec

    if not isinstance(model, nn.Module):
        raise InputTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    try:
        spec: dict[str, Any] | None = model_spec(model)
    except ParameterError:
        spec = None
    weights = _weights_path(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": "tsexplain-model-1",
                "module_class": f"{type(model).__module__}.{type(model).__qualname__}"}
    if spec is not None:
        metadata[_META_KEY] = json.dumps(spec)
    save_file(tensors, str(weights), metadata=metadata)
    if spec is not None:
        spec_path(weights).write_text(json.dumps(spec, indent=2) + "\n")
    return weights


def load_model(path: str | os.PathLike[str], model: nn.Module | None = None) -> nn.Module:
    """Load a model saved by :func:`save_model`.

    Parameters
    ----------
    path : str or path-like
        The weights file (``.safetensors`` appended when missing).
    model : torch.nn.Module, optional
        Load the weights into this module instead of building one from the spec (for custom
        architectures that have no spec).

    Returns
    -------
    torch.nn.Module
        In eval mode.

    Raises
    ------
    FileNotFoundError
        No such file.
    DataFormatError
        The file is not a valid safetensors file, its spec is unreadable, or the weights do not
        fit the architecture.
    ParameterError
        The spec names an architecture this version does not know.

    Examples
    --------
    >>> import pathlib, tempfile, torch
    >>> from tsexplain.models import PointwiseMLP
    >>> from tsexplain.training import load_model, save_model
    >>> model = PointwiseMLP(n_channels=3, hidden=(8,)).eval()
    >>> x = torch.randn(2, 3, 10)  # (N, C, T)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     loaded = load_model(save_model(model, pathlib.Path(tmp) / "mlp"))
    >>> type(loaded).__name__, loaded(x).shape, torch.equal(loaded(x), model(x))
    ('PointwiseMLP', torch.Size([2, 10]), True)

    A custom module has no spec: pass one to fill.

    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 1))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_model(net, pathlib.Path(tmp) / "custom")
    ...     back = load_model(path, model=torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 1)))
    >>> torch.equal(back[1].weight, net[1].weight)
    True
    """
    from safetensors import safe_open
    from safetensors.torch import load_file

    from tsexplain.models import build_model

    weights = _weights_path(path)
    if not weights.is_file():
        raise FileNotFoundError(f"No model weights at {weights}.")
    try:
        with safe_open(str(weights), framework="pt") as f:
            metadata = f.metadata() or {}
        state = load_file(str(weights))
    except Exception as exc:  # safetensors raises its own error types
        raise DataFormatError(
            f"{weights} is not a readable safetensors file ({type(exc).__name__}: {exc})."
        ) from None
    if model is None:
        sidecar = spec_path(weights)
        raw = sidecar.read_text() if sidecar.is_file() else metadata.get(_META_KEY)
        if raw is None:
            made_by = metadata.get("module_class")
            raise DataFormatError(
                f"{weights} carries no architecture spec (no {sidecar.name} next to it and none "
                f"in its header; it holds the weights of "
                f"{made_by or 'a module tsexplain does not know'}): pass the module to fill, "
                f"load_model(path, model=MyModel())."
            )
        try:
            spec = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"The architecture spec of {weights} is not JSON: {exc}.") from None
        model = build_model(spec)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise DataFormatError(
            f"The weights in {weights} do not fit {type(model).__name__}: {exc}"
        ) from None
    return model.eval()
