"""Load a user's model from a file or a Python reference, never by unpickling arbitrary objects.

Accepted model references (``load_any_model``):

* a TorchScript file (``torch.jit.script(model).save("model.pt")``);
* ``model.safetensors`` with the architecture JSON written by
  :func:`tsexplain.training.save_model` (``model.json`` beside it, or in the file's header);
* ``package.module:factory`` or ``path/to/file.py:factory`` -- a callable returning an
  ``nn.Module`` -- plus ``weights``: a ``.safetensors`` file or a ``.pt``/``.pth`` state dict
  read with ``torch.load(weights_only=True)`` (plain tensors only);
* ``model.onnx`` only when the maintained converter ``onnx2torch`` is installed.

A file made by ``torch.save(model)`` (a pickle of the whole module) is refused: unpickling runs
arbitrary code.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsexplain.exceptions import DataFormatError, ParameterError

__all__ = ["LoadedModel", "load_any_model", "PickleRefusedError"]

_FACTORY_HINT = (
    "save it as TorchScript (torch.jit.script(model).save('model.pt')), with "
    "tsexplain.training.save_model, or pass 'package.module:factory' with --weights "
    "(a state_dict saved with torch.save(model.state_dict(), ...) or safetensors)"
)


class PickleRefusedError(DataFormatError):
    """The file is a pickle (e.g. ``torch.save(model)``); tsexplain never unpickles.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "whole_model.pt")
    ...     torch.save(torch.nn.Conv1d(2, 4, 3), path)  # a pickle of the module, not weights
    ...     try:
    ...         load_any_model(path)
    ...     except PickleRefusedError as exc:
    ...         print("never unpickles" in str(exc))
    True
    """


@dataclass
class LoadedModel:
    """A model ready to explain (eval mode) and how it was loaded (for the results' metadata).

    Examples
    --------
    >>> import torch
    >>> loaded = load_any_model("tsexplain.models:AGRACNN", factory_kwargs={"length": 32})
    >>> loaded.kind, loaded.source, loaded.module.training
    ('factory', 'tsexplain.models:AGRACNN', False)
    >>> loaded.details["factory_kwargs"], loaded.details["weights"]
    ({'length': 32}, None)
    >>> loaded.module(torch.zeros(3, 2, 32)).shape  # (N, C, T) -> (N, 1)
    torch.Size([3, 1])
    """

    module: Any
    kind: str
    source: str
    details: dict[str, Any] = field(default_factory=dict)


def _zip_names(path: Path) -> list[str] | None:
    if not zipfile.is_zipfile(path):
        return None
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.namelist()
    except zipfile.BadZipFile:
        return None


def _is_torchscript(names: list[str]) -> bool:
    """A TorchScript archive holds compiled code (``<root>/code/...``) and ``constants.pkl``."""
    return any("/code/" in n for n in names) and any(n.endswith("constants.pkl") for n in names)


def _looks_like_pickle(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(2)
    return len(head) == 2 and head[0] == 0x80 and head[1] <= 5


def _refuse_pickle(path: Path, what: str) -> PickleRefusedError:
    return PickleRefusedError(
        f"{path} is {what}; tsexplain never unpickles model files (that can run arbitrary code): "
        + _FACTORY_HINT
    )


def _script_wrapper(script: Any) -> Any:
    """A plain ``nn.Module`` calling a ScriptModule that it hides from ``modules()``.

    The attribution engine measures activation sizes with forward hooks, which ScriptModules do
    not support; behind this wrapper the hooks see one leaf module (the model's output).
    """
    import torch

    class TorchScriptModel(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.__dict__["script"] = inner  # not registered as a submodule on purpose

        def forward(self, x: torch.Tensor) -> Any:
            return self.script(x)

        def train(self, mode: bool = True) -> TorchScriptModel:
            self.script.train(mode)
            return super().train(mode)

    return TorchScriptModel(script.eval())


def _load_torchscript(path: Path) -> LoadedModel:
    import torch

    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # torch raises RuntimeError with long C++ traces
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFormatError(f"{path} is not a loadable TorchScript file: {first}") from None
    return LoadedModel(_script_wrapper(module).eval(), "torchscript", str(path))


def _load_onnx(path: Path) -> LoadedModel:
    try:
        from onnx2torch import convert  # type: ignore[import-not-found]
    except ImportError:
        raise ParameterError(
            f"{path} is an ONNX model: tsexplain needs gradients, so it converts ONNX to PyTorch "
            f"with the onnx2torch package, which is not installed (pip install onnx2torch), or "
            f"export TorchScript from the original PyTorch model instead"
        ) from None
    try:
        module = convert(str(path))
    except Exception as exc:
        raise DataFormatError(f"onnx2torch could not convert {path}: {exc}") from None
    return LoadedModel(module.eval(), "onnx", str(path), {"converter": "onnx2torch"})


def _read_state_dict(weights: Path) -> dict[str, Any]:
    """A state dict from ``.safetensors`` or from a ``torch.save``'d dict of tensors (weights_only)."""
    import torch

    if not weights.is_file():
        raise FileNotFoundError(f"no weights file at {weights}")
    if weights.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(weights))
        except Exception as exc:
            raise DataFormatError(f"{weights} is not a readable safetensors file: {exc}") from None
    names = _zip_names(weights)
    if names is not None and _is_torchscript(names):
        raise ParameterError(
            f"{weights} is a TorchScript model, not weights: pass it as MODEL without --weights"
        )
    try:
        state = torch.load(str(weights), map_location="cpu", weights_only=True)
    except Exception:
        raise PickleRefusedError(
            f"{weights} holds pickled Python objects (e.g. a whole model saved with "
            f"torch.save(model)), which tsexplain never unpickles: save only the weights, "
            f"torch.save(model.state_dict(), '{weights.name}'), or use safetensors"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]  # a common checkpoint layout
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataFormatError(
            f"{weights} does not hold a state dict (a dict of tensors); got {type(state).__name__}"
        )
    return state


def _resolve_factory(ref: str) -> Any:
    """``package.module:attr`` or ``path/to/file.py:attr`` -> the attribute."""
    target, _, attr = ref.rpartition(":")
    if not target or not attr:
        raise ParameterError(f"a model factory is written 'package.module:factory', got {ref!r}")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise FileNotFoundError(f"no Python file at {path} (model factory {ref!r})")
        name = f"_tsexplain_user_model_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        sys.path.insert(0, str(path.resolve().parent))  # let it import its neighbours
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(path.resolve().parent))
    else:
        if os.getcwd() not in sys.path:  # as 'python -m' does: modules of the working folder
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            raise ParameterError(
                f"cannot import {target!r} for model factory {ref!r} ({exc}); run from the folder "
                f"that holds it, set PYTHONPATH, or write 'path/to/file.py:{attr}'"
            ) from None
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ParameterError(f"{target!r} has no attribute {attr!r} (model factory {ref!r})") from None
    if not callable(obj):
        raise ParameterError(f"model factory {ref!r} is not callable")
    return obj


def _load_factory(ref: str, weights: Path | None, kwargs: dict[str, Any]) -> LoadedModel:
    import torch

    factory = _resolve_factory(ref)
    try:
        module = factory(**kwargs)
    except TypeError as exc:
        raise ParameterError(f"calling {ref}({', '.join(kwargs)}) failed: {exc}") from None
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"model factory {ref!r} returned {type(module).__name__}, not a torch.nn.Module")
    details: dict[str, Any] = {"factory": ref, "factory_kwargs": kwargs}
    if weights is None:
        details["weights"] = None
    else:
        state = _read_state_dict(weights)
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            msg = " ".join(str(exc).split())
            raise DataFormatError(
                f"the weights in {weights} do not fit {ref}(): {msg[:300]}"
            ) from None
        details["weights"] = str(weights)
    return LoadedModel(module.eval(), "factory", ref, details)


def load_any_model(
    spec: str | os.PathLike[str],
    weights: str | os.PathLike[str] | None = None,
    factory_kwargs: dict[str, Any] | None = None,
) -> LoadedModel:
    """Load a model for explanation from a file or a factory reference.

    Parameters
    ----------
    spec : str or path-like
        A TorchScript file, a ``.safetensors`` file saved by ``tsexplain.training.save_model``
        (architecture JSON beside it or in its header), an ``.onnx`` file (needs ``onnx2torch``),
        or ``package.module:factory`` / ``path/to/file.py:factory``.
    weights : str or path-like, optional
        With a factory: ``.safetensors``, or ``.pt``/``.pth`` holding a state dict (read with
        ``torch.load(weights_only=True)``). With a ``.safetensors`` spec that has no architecture
        JSON, pass the factory as ``spec`` and the file here instead.
    factory_kwargs : dict, optional
        Keyword arguments of the factory.

    Returns
    -------
    LoadedModel
        ``.module`` in eval mode, ``.kind`` ("torchscript", "safetensors", "factory", "onnx").

    Raises
    ------
    PickleRefusedError
        The file is a pickle (``torch.save(model)``).
    ParameterError, DataFormatError, FileNotFoundError
        With a message saying what to do.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> from tsexplain.models import AGRACNN
    >>> net = torch.nn.Sequential(torch.nn.Conv1d(2, 4, 3), torch.nn.AdaptiveAvgPool1d(1),
    ...                           torch.nn.Flatten(), torch.nn.Linear(4, 3))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "model.pt")
    ...     torch.jit.script(net).save(path)
    ...     scripted = load_any_model(path)  # TorchScript: the file carries the architecture
    ...     weights = os.path.join(d, "weights.pt")
    ...     torch.save(AGRACNN(length=32).state_dict(), weights)  # a state dict: plain tensors
    ...     built = load_any_model("tsexplain.models:AGRACNN", weights, {"length": 32})
    >>> scripted.kind, scripted.module(torch.zeros(5, 2, 16)).shape  # (N, C, T) -> (N, K)
    ('torchscript', torch.Size([5, 3]))
    >>> built.kind, built.details["weights"].endswith("weights.pt"), built.module.training
    ('factory', True, False)
    """
    factory_kwargs = dict(factory_kwargs or {})
    text = os.fspath(spec)
    path = Path(text)
    wpath = Path(os.fspath(weights)) if weights is not None else None
    if ":" in text and not path.exists():
        return _load_factory(text, wpath, factory_kwargs)
    if not path.exists():
        raise FileNotFoundError(
            f"no model file at {path} (a model is a TorchScript file, a .safetensors file, or "
            f"'package.module:factory')"
        )
    if path.is_dir():
        raise ParameterError(f"{path} is a folder; pass the model file itself")
    if wpath is not None:
        raise ParameterError(
            "--weights goes with a factory ('package.module:factory'); a model file carries its "
            "own weights"
        )
    if factory_kwargs:
        raise ParameterError("--model-arg goes with a factory ('package.module:factory')")
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return _load_onnx(path)
    if suffix == ".safetensors":
        from tsexplain.training import load_model

        try:
            module = load_model(path)
        except DataFormatError as exc:
            if "carries no architecture spec" in str(exc):
                raise DataFormatError(
                    f"{path} has no architecture JSON (it was not written by "
                    f"tsexplain.training.save_model): pass your model's factory as MODEL, "
                    f"'package.module:factory --weights {path}'"
                ) from None
            raise
        return LoadedModel(module, "safetensors", str(path))
    if suffix == ".json":
        raise ParameterError(
            f"{path} is the architecture JSON; pass the .safetensors weights file beside it"
        )
    names = _zip_names(path)
    if names is not None:
        if _is_torchscript(names):
            return _load_torchscript(path)
        if any(n.endswith("data.pkl") for n in names):
            try:
                _read_state_dict(path)
            except (PickleRefusedError, DataFormatError):
                raise _refuse_pickle(path, "a torch.save pickle, not TorchScript") from None
            raise ParameterError(
                f"{path} holds only weights (a state dict), not the architecture: pass the "
                f"model's factory as MODEL, 'package.module:factory --weights {path}'"
            )
        raise DataFormatError(f"{path} is a zip archive but not a TorchScript model")
    if _looks_like_pickle(path):
        raise _refuse_pickle(path, "a pickle")
    raise DataFormatError(
        f"{path} is not a model tsexplain reads: expected a TorchScript file, a .safetensors file "
        f"from tsexplain.training.save_model, an .onnx file, or 'package.module:factory'"
    )
