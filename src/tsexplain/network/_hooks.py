"""Forward hooks: find layers by name, capture their outputs, stop a forward pass early.

Everything in :mod:`tsexplain.network` reaches inside a model through these helpers, so no
class layout is ever assumed: a layer is any sub-module, named as in ``model.named_modules()``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from tsexplain._model_state import frozen_eval as _frozen_eval
from tsexplain.exceptions import InputTypeError, ParameterError, ShapeError

LayerRef = str | nn.Module

#: The one line every network function answers for a model without a module tree.
NO_MODULE_TREE = (
    "this TorchScript model has no module tree for hooks; save it with torch.export.save "
    "(a .pt2 file) or give the factory and weights"
)


def require_module_tree(model: nn.Module) -> None:
    """Raise :class:`~tsexplain.exceptions.ParameterError` unless ``model``'s layers can be hooked.

    TorchScript modules (loaded with ``torch.jit.load`` or wrapped by
    :func:`tsexplain.io.load_any_model`) refuse Python forward hooks, which every network
    analysis uses to reach a layer.

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv1d(1, 2, 3), nn.Flatten(), nn.Linear(12, 1))
    >>> require_module_tree(net)  # a plain module: nothing happens
    >>> try:
    ...     require_module_tree(torch.jit.script(net))
    ... except ParameterError as err:
    ...     print(str(err)[:41])
    this TorchScript model has no module tree
    """
    if not isinstance(model, nn.Module):
        raise InputTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if getattr(model, "_tsexplain_torchscript", False) or any(
        isinstance(m, torch.jit.ScriptModule) for m in model.modules()
    ):
        raise ParameterError(NO_MODULE_TREE)


class _StopForward(Exception):
    """Raised inside a hook once every wanted output is captured: the rest of the forward is skipped."""


def module_names(model: nn.Module) -> dict[nn.Module, str]:
    """Map each sub-module to its dotted name (the root is ``""``)."""
    return {m: n for n, m in model.named_modules()}


def resolve_layer(model: nn.Module, layer: LayerRef, name: str = "layer") -> tuple[str, nn.Module]:
    """Return ``(dotted_name, module)`` for a layer given by name or as a module of ``model``.

    Raises
    ------
    ParameterError
        The name does not exist in ``model`` or the module is not part of it; the message lists
        the convolutional layers that do exist.
    """
    require_module_tree(model)
    named = dict(model.named_modules())
    if isinstance(layer, str):
        if layer in named and layer != "":
            return layer, named[layer]
        convs = [n for n, m in named.items() if isinstance(m, nn.Conv1d)]
        leaves = [n for n, m in named.items() if n and not any(True for _ in m.children())]
        raise ParameterError(
            f"{name}={layer!r} is not a sub-module of the model. Conv1d layers: {convs}; "
            f"all leaf layers: {leaves}. Use the dotted names of model.named_modules()."
        )
    if isinstance(layer, nn.Module):
        for n, m in named.items():
            if m is layer and n:
                return n, m
        raise ParameterError(
            f"{name} is a {type(layer).__name__} that is not a sub-module of the model; pass one of "
            f"the model's own modules or its dotted name."
        )
    raise InputTypeError(f"{name} must be a layer name (str) or an nn.Module, got {type(layer).__name__}.")


def conv1d_layer_names(model: nn.Module) -> list[str]:
    """Dotted names of every ``nn.Conv1d`` in ``model`` (in registration order)."""
    require_module_tree(model)
    return [n for n, m in model.named_modules() if isinstance(m, nn.Conv1d)]


def resolve_layers(model: nn.Module, layers: Any) -> list[tuple[str, nn.Module]]:
    """``(dotted_name, module)`` for each layer of a ``layers`` argument.

    ``None`` means every ``nn.Conv1d`` of ``model`` (ValueError if it has none); a name or a
    module means that one layer; anything else is an iterable of names or modules.
    """
    if layers is None:
        refs: list[LayerRef] = list(conv1d_layer_names(model))
        if not refs:
            raise ParameterError("the model has no Conv1d layer; pass `layers` explicitly.")
    elif isinstance(layers, str | nn.Module):
        refs = [layers]
    else:
        refs = list(layers)
    return [resolve_layer(model, r, "layers") for r in refs]


@contextmanager
def frozen_eval(model: nn.Module) -> Iterator[nn.Module]:
    """:func:`tsexplain._model_state.frozen_eval` for a model whose layers must be hookable."""
    require_module_tree(model)
    with _frozen_eval(model):
        yield model


@contextmanager
def capture_outputs(
    modules: Sequence[nn.Module], *, stop_after: bool = False, inputs: bool = False
) -> Iterator[dict[nn.Module, torch.Tensor]]:
    """Record the output of each module during the forward passes inside the ``with`` block.

    With ``stop_after=True`` the forward pass is aborted (by :class:`_StopForward`) as soon as
    every module has produced its output, so work after the deepest wanted layer is skipped; wrap
    the call in :func:`run_until_captured`.
    """
    store: dict[nn.Module, torch.Tensor] = {}
    wanted = set(modules)

    def hook(module: nn.Module, inp: Any, out: Any) -> None:
        if not isinstance(out, torch.Tensor):
            raise ShapeError(
                f"layer {type(module).__name__} returned {type(out).__name__}, not a tensor; "
                f"filter analysis needs a layer whose output is a tensor of shape (N, filters, T)."
            )
        store[module] = out
        if stop_after and wanted.issubset(store):
            raise _StopForward

    def pre_hook(module: nn.Module, inp: Any) -> None:
        hook(module, inp, inp[0] if isinstance(inp, tuple) and inp else inp)

    if inputs:
        handles = [m.register_forward_pre_hook(pre_hook) for m in modules]
    else:
        handles = [m.register_forward_hook(hook) for m in modules]
    try:
        yield store
    finally:
        for h in handles:
            h.remove()


def run_until_captured(
    model: nn.Module, x: torch.Tensor, modules: Sequence[nn.Module], *, inputs: bool = False
) -> dict[nn.Module, torch.Tensor]:
    """Forward ``x`` only as far as needed to capture the outputs (or ``inputs``) of ``modules``."""
    require_module_tree(model)
    with capture_outputs(modules, stop_after=True, inputs=inputs) as store:
        try:
            model(x)
        except _StopForward:
            pass
    missing = [type(m).__name__ for m in modules if m not in store]
    if missing:
        raise ParameterError(
            f"layer(s) {missing} never ran in the model's forward pass, so they have no output to analyse."
        )
    return store


#: Layers whose batch-first output is (N, T', F) (time before features): recurrent and attention
#: layers, also as the like-named modules of an unflattened ``torch.export`` program
SEQUENCE_LAYERS = frozenset({"LSTM", "GRU", "RNN", "MultiheadAttention", "TransformerEncoderLayer",
                             "TransformerEncoder", "TransformerDecoderLayer", "TransformerDecoder"})


def check_filter_output(out: torch.Tensor, layer_name: str, n_samples: int,
                        module: nn.Module | None = None) -> None:
    """Raise a clear error unless ``out`` is shaped ``(N, filters, T')`` like a Conv1d output
    (a recurrent or attention ``module`` has none: its (N, T', F) output has time second)."""
    if module is not None and type(module).__name__ in SEQUENCE_LAYERS:
        raise ShapeError(
            f"layer {layer_name!r} ({type(module).__name__}) has no filters: its output "
            f"{tuple(out.shape)} is (N, T', features), time before features; the filter analysis "
            f"reads convolutions, (N, filters, T'). For this layer use grad_cam or "
            f"layer_integrated_gradients with layer={layer_name!r}."
        )
    if out.ndim != 3 or out.shape[0] != n_samples:
        raise ShapeError(
            f"layer {layer_name!r} has no filters: its output has shape {tuple(out.shape)}, "
            f"expected (N, filters, T') = ({n_samples}, F, T') as from a Conv1d (or the "
            f"activation/pooling right after one)."
        )
