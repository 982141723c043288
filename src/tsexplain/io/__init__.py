"""Bring your own model and data: loaders, pre-flight checks and labelled result files.

- :func:`load_any_model` -- TorchScript, safetensors + architecture JSON, ``package.module:factory``
  plus weights (``torch.load(weights_only=True)`` or safetensors), ONNX via ``onnx2torch`` if
  installed. Never unpickles.
- :func:`load_any_data` -- ``.npz``, ``.npy``, CSV (long or wide), Parquet (with pyarrow), and the
  UCR/UEA archive formats; returns ``X (N, C, T)``, labels and channel names.
  :func:`load_additional_inputs` reads a model's further inputs (one row per series).
- :func:`check_model_data`, :func:`check_memory` -- one forward pass on one sample and a memory
  estimate before any work, each failing with a message that says what to do.
- :func:`write_results`, :func:`read_results` -- one self-describing ``.npz`` per method (dims,
  coordinates, parameters) plus ``meta.json``.

This is what ``tsexplain explain`` and ``tsexplain report`` run.
"""

from tsexplain.io.checks import ModelProbe, available_memory, check_memory, check_model_data
from tsexplain.io.data import (
    DATA_FORMATS,
    AdditionalInput,
    LoadedData,
    load_additional_inputs,
    load_any_data,
)
from tsexplain.io.models import LoadedModel, PickleRefusedError, load_any_model
from tsexplain.io.results import (
    SavedResults,
    read_attribution,
    read_results,
    to_xarray,
    write_results,
)

__all__ = [
    "DATA_FORMATS",
    "AdditionalInput",
    "LoadedData",
    "LoadedModel",
    "ModelProbe",
    "PickleRefusedError",
    "SavedResults",
    "available_memory",
    "check_memory",
    "check_model_data",
    "load_additional_inputs",
    "load_any_data",
    "load_any_model",
    "read_attribution",
    "read_results",
    "to_xarray",
    "write_results",
]
