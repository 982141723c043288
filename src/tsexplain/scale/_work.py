"""What one worker does with one chunk; the same code runs in-process and in a Ray actor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tsexplain.scale._payload import ModelPayload, unpack_models

__all__ = ["AttributionWork", "FilterImportanceWork"]


class AttributionWork:
    """Builds the models once; ``work(x, target)`` returns the chunk's arrays.

    Arrays: ``values`` (n, C, T) or (n, K, C, T) float32, ``predictions`` (n, K) float32 (the
    model outputs, averaged over the models for AGRA), ``target`` (n,) int64 when a target
    was resolved per series, and with ``attribute_additional`` ``additional_<i>`` float32 (the
    shape of further input i, one row per series) for each floating further input.

    ``params`` are the method's and the engine's options, ``rows_per_chunk`` among them for a
    data-set run (the same in every process: results to the last bit).
    """

    def __init__(self, payloads: Sequence[ModelPayload], method: str, target: Any,
                 params: dict[str, Any], attribute_additional: bool = False) -> None:
        from tsexplain.attribution import get_method

        self.models = unpack_models(payloads)
        self.cls = get_method(method)
        self.method, self.target, self.params = method, target, dict(params)
        self.params.setdefault("progress", False)
        self.attribute_additional = bool(attribute_additional)

    def to(self, device: str) -> AttributionWork:
        """Move the models (a Ray actor with a GPU moves them to ``cuda``)."""
        self.models = [m.to(device) for m in self.models]
        return self

    def __call__(self, x: np.ndarray, target: Any = None,
                 extras: Sequence[np.ndarray] = ()) -> dict[str, np.ndarray]:
        t = self.target if target is None else target
        more: dict[str, Any] = {}
        if extras:
            more = {"additional_inputs": list(extras),
                    "attribute_additional": self.attribute_additional}
        method = self.cls(self.models if len(self.models) > 1 else self.models[0], **self.params)
        res = method.attribute(x, target=t, **more)
        out = {"values": np.asarray(res.values, dtype=np.float32)}
        for i, v in enumerate(res.extras.get("additional") or []):
            if v is not None:  # None: a non-floating input (e.g. indices), not attributed
                out[f"additional_{i}"] = np.asarray(v, dtype=np.float32)
        if res.predictions is not None:
            out["predictions"] = np.asarray(res.predictions, dtype=np.float32)
        if res.target is not None and np.ndim(res.target) == 1 and len(res.target) == len(x):
            out["target"] = np.asarray(res.target, dtype=np.int64)
        return out


class FilterImportanceWork:
    """Per chunk: each layer's filter-importance min, max and sum (float64) over the chunk's series."""

    def __init__(self, payloads: Sequence[ModelPayload], layers: Any, target: Any,
                 options: dict[str, Any]) -> None:
        (self.model,) = unpack_models(payloads)
        self.layers, self.target, self.options = layers, target, dict(options)

    def __call__(self, x: np.ndarray, target: Any = None,
                 extras: Sequence[np.ndarray] = ()) -> dict[str, np.ndarray]:
        from tsexplain.network.filter_importance import filter_importance_stats

        assert not extras, "dataset_filter_importance takes no further model inputs"
        t = self.target if target is None else target
        stats = filter_importance_stats(self.model, x, self.layers, t, progress=False,
                                        **self.options)
        out: dict[str, np.ndarray] = {}
        for name, s in stats.items():
            # mean * n recovers the float64 sum the function accumulated (to the last bit or one
            # rounding; identical on every backend since every backend sees the same chunks)
            out[f"{name}|min"] = s.min[None]
            out[f"{name}|max"] = s.max[None]
            out[f"{name}|sum"] = (s.mean * s.n_samples)[None]
        return out
