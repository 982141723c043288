"""Model introspection: the layers of any ``nn.Module`` in forward order, and filter activations."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from tsexplain._typing import SeriesBatch
from tsexplain._validation import check_model, check_series_batch
from tsexplain.network._hooks import (
    LayerRef,
    check_filter_output,
    frozen_eval,
    require_module_tree,
    resolve_layers,
    run_until_captured,
)
from tsexplain.network._model_inputs import series_alone


def _shape_of(obj: Any) -> tuple[int, ...] | None:
    if isinstance(obj, torch.Tensor):
        return tuple(obj.shape)
    if isinstance(obj, tuple | list) and obj and isinstance(obj[0], torch.Tensor):
        return tuple(obj[0].shape)
    return None


@dataclass(frozen=True)
class LayerInfo:
    """One call of a leaf module during the forward pass.

    Attributes
    ----------
    name : str
        Dotted name in ``model.named_modules()``.
    kind : str
        The module's class name (``"Conv1d"``, ``"ReLU"``, ``"Linear"``, ...).
    input_shape, output_shape : tuple of int
        Shapes seen during the sample forward pass (first tensor for tuple inputs).
    n_filters : int or None
        Number of filters (output channels) for ``Conv1d``; ``None`` for other layers.
    kernel_size : int or None
        Kernel width for ``Conv1d``.
    n_params : int
        Number of parameters owned directly by the module.
    call_index : int
        0 for the first call of this module, 1 for a second call of a re-used module, ...

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import describe
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x = torch.randn(3, 2, 16)
    >>> info = describe(net, x).layers[2]  # the second Conv1d, named "2"
    >>> info.name, info.kind, info.input_shape, info.output_shape
    ('2', 'Conv1d', (3, 4, 16), (3, 3, 16))
    >>> info.n_filters, info.kernel_size, info.n_params, info.call_index  # 3*4*3 weights + 3 biases
    (3, 3, 39, 0)
    """

    name: str
    kind: str
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    n_filters: int | None
    kernel_size: int | None
    n_params: int
    call_index: int = 0


@dataclass
class NetworkSummary:
    """What :func:`describe` found: layers in forward order, and optionally conv activations.

    Attributes
    ----------
    layers : list of LayerInfo
        Leaf modules in the order they ran.
    input_shape, output_shape : tuple of int
        Shapes of the sample input and the model's output.
    activations : dict of str to torch.Tensor of shape (N, F, T')
        Output of every ``Conv1d`` layer, filled when ``activations=True``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import describe
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x = torch.randn(3, 2, 16)
    >>> summary = describe(net, x, activations=True)
    >>> summary.input_shape, summary.output_shape
    ((3, 2, 16), (3, 1))
    >>> [layer.name for layer in summary.conv_layers]
    ['0', '2']
    >>> {name: tuple(a.shape) for name, a in summary.activations.items()}  # (N, F, T')
    {'0': (3, 4, 16), '2': (3, 3, 16)}
    """

    layers: list[LayerInfo]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...] | None
    activations: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def conv_layers(self) -> list[LayerInfo]:
        """The ``Conv1d`` layers, in forward order."""
        return [layer for layer in self.layers if layer.kind == "Conv1d"]

    def __str__(self) -> str:
        rows = [f"{'layer':<24}{'kind':<20}{'output shape':<22}{'filters':>8}{'params':>10}"]
        for layer in self.layers:
            rows.append(
                f"{layer.name:<24}{layer.kind:<20}{str(layer.output_shape):<22}"
                f"{'' if layer.n_filters is None else layer.n_filters:>8}{layer.n_params:>10}"
            )
        return "\n".join(rows)


@series_alone
def describe(model: nn.Module, x: SeriesBatch, *, activations: bool = False) -> NetworkSummary:
    """List the layers of ``model`` in forward order, found with hooks on a sample input.

    Every leaf module (one without children) gets a forward hook; running ``x`` through the model
    records each call with its kind and shapes, whatever the model's class layout (``Sequential``,
    nested blocks, a custom ``forward``). Operations written as functions inside ``forward``
    (``F.relu``, ``torch.flatten``) are not modules and therefore do not appear.

    Parameters
    ----------
    model : torch.nn.Module
        Any model taking a batch of series.
    x : torch.Tensor or numpy.ndarray of shape (N, C, T)
        A sample input; one series is enough.
    activations : bool
        Also return the output of every ``Conv1d`` layer (detached).

    Returns
    -------
    NetworkSummary
        ``.layers`` (list of :class:`LayerInfo`), ``.conv_layers``, ``.activations``.

    Raises
    ------
    ShapeError
        ``x`` is not shaped (N, C, T).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import describe
    >>> net = nn.Sequential(nn.Conv1d(3, 4, 5, padding=2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 20, 1))
    >>> [(l.kind, l.output_shape, l.n_filters) for l in describe(net, torch.randn(2, 3, 20)).layers]
    [('Conv1d', (2, 4, 20), 4), ('ReLU', (2, 4, 20), None), ('Flatten', (2, 80), None), ('Linear', (2, 1), None)]
    """
    model = check_model(model)
    require_module_tree(model)
    xt = check_series_batch(x, "x")
    names = {m: n for n, m in model.named_modules()}
    leaves = [m for m in model.modules() if not any(True for _ in m.children()) and m is not model]
    records: list[LayerInfo] = []
    calls: dict[nn.Module, int] = {}
    acts: dict[str, torch.Tensor] = {}

    def hook(module: nn.Module, inp: Any, out: Any) -> None:
        idx = calls.get(module, 0)
        calls[module] = idx + 1
        conv = module if isinstance(module, nn.Conv1d) else None
        records.append(
            LayerInfo(
                name=names[module],
                kind=type(module).__name__,
                input_shape=_shape_of(inp),
                output_shape=_shape_of(out),
                n_filters=int(conv.out_channels) if conv is not None else None,
                kernel_size=int(conv.kernel_size[0]) if conv is not None else None,
                n_params=sum(p.numel() for p in module.parameters(recurse=False)),
                call_index=idx,
            )
        )
        if activations and conv is not None and isinstance(out, torch.Tensor) and idx == 0:
            acts[names[module]] = out.detach().clone()

    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with frozen_eval(model), torch.no_grad():
            out = model(xt)
    finally:
        for h in handles:
            h.remove()
    return NetworkSummary(
        layers=records, input_shape=tuple(xt.shape), output_shape=_shape_of(out), activations=acts
    )


@series_alone
def inspect(model: nn.Module, x: SeriesBatch, *, activations: bool = False) -> NetworkSummary:
    """Deprecated name of :func:`describe` (it shadowed the standard ``inspect`` module).

    Examples
    --------
    >>> import warnings
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network.layers import inspect
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     len(inspect(nn.Sequential(nn.Conv1d(1, 2, 3)), torch.zeros(1, 1, 8)).layers)
    1
    """
    warnings.warn(
        "tsexplain.network.inspect is renamed describe (it shadowed the standard inspect "
        "module); the old name will be removed in the next release.",
        DeprecationWarning,
        stacklevel=2,
    )
    return describe(model, x, activations=activations)


@series_alone
def conv_activations(
    model: nn.Module, x: SeriesBatch, layers: LayerRef | Sequence[LayerRef] | None = None
) -> dict[str, torch.Tensor]:
    """Activations of every filter of the chosen layers.

    Parameters
    ----------
    model : torch.nn.Module
    x : torch.Tensor or numpy.ndarray of shape (N, C, T)
    layers : str, nn.Module, sequence of them, or None
        Layers to record; default every ``Conv1d``. Any layer whose output is shaped
        ``(N, F, T')`` is accepted (e.g. the ``ReLU`` after a convolution).

    Returns
    -------
    dict of str to torch.Tensor of shape (N, F, T')
        Detached activations keyed by dotted layer name. The forward pass stops after the
        deepest requested layer.

    Raises
    ------
    ParameterError
        A layer name does not exist.
    ShapeError
        ``x`` is not (N, C, T), or a layer's output is not (N, F, T').

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import conv_activations
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x = torch.randn(3, 2, 16)
    >>> {name: tuple(a.shape) for name, a in conv_activations(net, x).items()}  # (N, F, T')
    {'0': (3, 4, 16), '2': (3, 3, 16)}
    >>> relu = conv_activations(net, x, layers="1")["1"]  # the ReLU after the first conv
    >>> tuple(relu.shape), bool((relu >= 0).all())
    ((3, 4, 16), True)
    """
    model = check_model(model)
    xt = check_series_batch(x, "x")
    resolved = resolve_layers(model, layers)
    with frozen_eval(model), torch.no_grad():
        store = run_until_captured(model, xt, [m for _, m in resolved])
    result = {}
    for name, module in resolved:
        out = store[module]
        check_filter_output(out, name, xt.shape[0], module)
        result[name] = out.detach()
    return result
