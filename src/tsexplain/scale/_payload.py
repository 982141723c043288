"""Models on the wire: safetensors bytes plus the JSON spec, rebuilt once per worker."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from torch import nn

__all__ = ["ModelPayload", "pack_models", "unpack_models", "user_code_modules"]


@dataclass(frozen=True)
class ModelPayload:
    """One model as shipped to a worker.

    ``weights`` are the safetensors bytes of the state dict; ``spec`` the JSON architecture spec
    of a tsexplain reference model. A TorchScript model travels as its serialized program
    (``script``), a model loaded from a ``.pt2`` file as its ``torch.export`` program
    (``exported``); any other custom module as ``module`` (pickled by Ray once per actor, like any
    constructor argument; see :func:`user_code_modules` for classes defined in a user's files).
    """

    weights: bytes | None
    spec: dict[str, Any] | None
    module: nn.Module | None = None
    script: bytes | None = None
    exported: bytes | None = None

    @property
    def nbytes(self) -> int:
        return len(self.weights) if self.weights is not None else 0

    def build(self) -> nn.Module:
        """The model, in eval mode."""
        if self.module is not None:
            return self.module.eval()
        if self.script is not None:
            from tsexplain.io.models import script_from_bytes

            return script_from_bytes(self.script)
        if self.exported is not None:
            from tsexplain.io.models import exported_from_bytes

            return exported_from_bytes(self.exported)
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
    from tsexplain.io.models import exported_program, exported_to_bytes, script_to_bytes
    from tsexplain.models import model_spec

    out = []
    for m in as_model_list(models):
        if getattr(m, "_tsexplain_torchscript", False):
            out.append(ModelPayload(None, None, script=script_to_bytes(m)))
            continue
        if exported_program(m) is not None:
            out.append(ModelPayload(None, None, exported=exported_to_bytes(m)))
            continue
        try:
            spec = model_spec(m)
        except ParameterError:
            out.append(ModelPayload(None, None, module=m))
            continue
        tensors = {k: v.detach().cpu().contiguous() for k, v in m.state_dict().items()}
        out.append(ModelPayload(save_bytes(tensors), spec))
    return out


def user_code_modules(payloads: Sequence[ModelPayload]) -> list[ModuleType]:
    """The Python modules defining the payloads' custom layer classes that workers may not be
    able to import: files loaded by a factory reference (``path/to/file.py:factory``) and any
    module outside the installed packages (the user's own code). Ray pickles them by value."""
    import sysconfig

    installed = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("purelib", "platlib", "stdlib")}
    found: dict[str, ModuleType] = {}
    for p in payloads:
        if p.module is None:
            continue
        for sub in p.module.modules():
            name = type(sub).__module__
            mod = sys.modules.get(name)
            if mod is None or name in found or name.split(".")[0] in ("torch", "tsexplain"):
                continue
            file = getattr(mod, "__file__", None)
            if file is None:
                continue
            real = os.path.realpath(file)
            if not any(real.startswith(root + os.sep) for root in installed):
                found[name] = mod
    return list(found.values())


def unpack_models(payloads: Sequence[ModelPayload]) -> list[nn.Module]:
    return [p.build() for p in payloads]


def fingerprint(payloads: Sequence[ModelPayload]) -> str:
    """A short hash of the models (weights and spec), stored in the manifest to guard resumes."""
    h = hashlib.blake2b(digest_size=10)
    for p in payloads:
        if p.weights is not None:
            h.update(json.dumps(p.spec, sort_keys=True).encode())
            h.update(p.weights)
        elif p.script is not None or p.exported is not None:
            h.update(p.script or p.exported or b"")
        else:
            assert p.module is not None
            h.update(type(p.module).__qualname__.encode())
            for k, v in p.module.state_dict().items():
                h.update(k.encode())
                h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
