"""Models on the wire: safetensors bytes plus the JSON spec, rebuilt once per worker."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

__all__ = ["ModelPayload", "pack_models", "unpack_models"]


@dataclass(frozen=True)
class ModelPayload:
    """One model as shipped to a worker.

    ``weights`` are the safetensors bytes of the state dict; ``spec`` the JSON architecture spec
    of a tsexplain reference model. A custom module without a spec travels as ``module`` instead
    (pickled by Ray once per actor, like any constructor argument).
    """

    weights: bytes | None
    spec: dict[str, Any] | None
    module: nn.Module | None = None

    @property
    def nbytes(self) -> int:
        return len(self.weights) if self.weights is not None else 0

    def build(self) -> nn.Module:
        """The model, in eval mode."""
        if self.module is not None:
            return self.module.eval()
        from safetensors.torch import load as load_bytes

        from tsexplain.models import build_model

        assert self.spec is not None and self.weights is not None
        model = build_model(self.spec)
        model.load_state_dict(load_bytes(self.weights), strict=True)
        return model.eval()


def pack_models(models: nn.Module | Sequence[nn.Module]) -> list[ModelPayload]:
    """One payload per model (a list: AGRA)."""
    from safetensors.torch import save as save_bytes

    from tsexplain.attribution._base import as_model_list
    from tsexplain.exceptions import ParameterError
    from tsexplain.models import model_spec

    out = []
    for m in as_model_list(models):
        try:
            spec = model_spec(m)
        except ParameterError:
            out.append(ModelPayload(None, None, module=m))
            continue
        tensors = {k: v.detach().cpu().contiguous() for k, v in m.state_dict().items()}
        out.append(ModelPayload(save_bytes(tensors), spec))
    return out


def unpack_models(payloads: Sequence[ModelPayload]) -> list[nn.Module]:
    return [p.build() for p in payloads]


def fingerprint(payloads: Sequence[ModelPayload]) -> str:
    """A short hash of the models (weights and spec), stored in the manifest to guard resumes."""
    h = hashlib.blake2b(digest_size=10)
    for p in payloads:
        if p.weights is not None:
            h.update(json.dumps(p.spec, sort_keys=True).encode())
            h.update(p.weights)
        else:
            assert p.module is not None
            h.update(type(p.module).__qualname__.encode())
            for k, v in p.module.state_dict().items():
                h.update(k.encode())
                h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
