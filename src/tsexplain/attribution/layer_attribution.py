"""Layer attribution: Grad-CAM for 1D convolutions and layer Integrated Gradients.

Both explain the output through the activations of one named layer, shaped (N, F, T')
(F filters or units over T' time positions). To keep the protocol's (N, C, T) -> (N, C, T)
contract, ``values`` is the layer map summed over filters, resampled from T' to T and repeated
over the C channels (a time profile: a layer's units mix channels, so there is no per-channel
information to give). The raw layer values, filters x T', are in ``result.extras``:
``"layer_values"`` of shape (N, F, T') (or (N, K, F, T') for ``target="all"``) and
``"layer_map"`` (the filter sum before resampling) of shape (N, T') (or (N, K, T')).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from tsexplain._targets import Selection, flatten_output
from tsexplain._typing import Baseline, Target
from tsexplain._validation import check_bool, check_choice, check_int
from tsexplain.attribution._base import Attribution
from tsexplain.attribution._engine import Engine, model_mean
from tsexplain.attribution._perturbation import (
    describe_array,
    forward_rows_per_pass,
    make_baseline,
    row_extras,
)
from tsexplain.attribution._quadrature import RULES, quadrature
from tsexplain.exceptions import ParameterError

UPSAMPLING = ("linear", "nearest")


def find_layer(model: nn.Module, layer: str | None, method: str) -> tuple[str, nn.Module]:
    """The module called ``layer`` in ``model.named_modules()`` (None: the last Conv1d)."""
    from tsexplain.network._hooks import NO_MODULE_TREE, require_module_tree

    try:
        require_module_tree(model)
    except ParameterError:
        raise ParameterError(f"{method}: {NO_MODULE_TREE}") from None
    modules = dict(model.named_modules())
    if layer is None:
        convs = [n for n, m in modules.items() if isinstance(m, nn.Conv1d)]
        if not convs:
            raise ParameterError(
                f"{method}: the model has no Conv1d layer; pass layer= a name from "
                f"model.named_modules(): {', '.join(n for n in modules if n) or '(none)'}"
            )
        return convs[-1], modules[convs[-1]]
    if not isinstance(layer, str) or layer not in modules or layer == "":
        names = [n for n in modules if n]
        shown = ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")
        raise ParameterError(
            f"{method}: no layer named {layer!r} in the model; layer must be a name from "
            f"model.named_modules(): {shown}"
        )
    return layer, modules[layer]


def _output_position(module: nn.Module, out: Any) -> int | None:
    """Where a layer's activation is in its output ``out``: None when ``out`` is the tensor.

    In a tuple or list, the first tensor (a recurrent layer's ``(output, state)``, attention's
    ``(output, weights)``), except in a module unflattened from a ``torch.export`` program: its
    outputs are the values the rest of the graph uses, in the order they are computed (sizes
    read from an inner layer first, the module's own result last), so the last tensor.
    """
    if isinstance(out, torch.Tensor) or not isinstance(out, tuple | list):
        return None
    positions = [i for i, v in enumerate(out) if isinstance(v, torch.Tensor)]
    if not positions:
        return None
    from torch.export.unflatten import InterpreterModule

    return positions[-1] if isinstance(module, InterpreterModule) else positions[0]


def _with_output(out: Any, position: int | None, value: torch.Tensor) -> Any:
    """``out`` with its activation (at ``position``, see :func:`_output_position`) replaced."""
    if position is None:
        return value
    items = list(out)
    items[position] = value
    return tuple(items) if isinstance(out, tuple) else items


def layer_time_axis(module: nn.Module, time_axis: int | None) -> int:
    """Axis of time in ``module``'s output: ``time_axis`` when given; else 1 for a recurrent or
    attention layer (``network._hooks.SEQUENCE_LAYERS``: batch-first output (N, T', F)), 2 for
    any other (a convolution's (N, F, T')).

    Examples
    --------
    >>> from torch import nn
    >>> layer_time_axis(nn.LSTM(3, 8, batch_first=True), None), layer_time_axis(nn.Conv1d(3, 8, 3), None)
    (1, 2)
    """
    from tsexplain.network._hooks import SEQUENCE_LAYERS

    if time_axis is not None:
        return check_choice(time_axis, "time_axis", (1, 2))
    return 1 if type(module).__name__ in SEQUENCE_LAYERS else 2


def declares_sequence_first(module: nn.Module) -> bool:
    """Whether ``module`` says it is sequence-first: its output puts time before the series.

    True for a recurrent layer (``nn.RNN``, ``nn.LSTM``, ``nn.GRU``), ``nn.MultiheadAttention``
    or ``nn.Transformer`` built with ``batch_first=False`` (any module with a ``batch_first``
    attribute that is False), and for a Transformer encoder or decoder (layer), which has no
    such attribute, whose attention is built that way.

    Parameters
    ----------
    module : torch.nn.Module
        The explained layer.

    Returns
    -------
    bool
        True when the layer's output is (T', N, F) by construction, whatever N and T' are.

    Examples
    --------
    >>> from torch import nn
    >>> declares_sequence_first(nn.GRU(3, 5)), declares_sequence_first(nn.GRU(3, 5, batch_first=True))
    (True, False)
    >>> declares_sequence_first(nn.TransformerEncoderLayer(8, 2)), declares_sequence_first(nn.Conv1d(3, 8, 3))
    (True, False)
    """
    batch_first = getattr(module, "batch_first", None)
    if isinstance(batch_first, bool):
        return not batch_first
    transformer_parts = (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer, nn.TransformerEncoder,
                         nn.TransformerDecoder)
    if isinstance(module, transformer_parts):
        attention = next((m for m in module.modules() if isinstance(m, nn.MultiheadAttention)), None)
        return attention is not None and not attention.batch_first
    return False


def _sequence_first_error(act: torch.Tensor, name: str, method: str, rows: int, why: str) -> ParameterError:
    return ParameterError(
        f"{method}: layer '{name}' gives activations of shape {tuple(act.shape)} for {rows} "
        f"series: the series are not its first axis (a sequence-first layer, (T', N, F){why}); "
        f"build the layer with batch_first=True or explain a batch-first layer"
    )


def _as_filters_time(
    act: torch.Tensor, module: nn.Module, time_axis: int, name: str, method: str, rows: int
) -> torch.Tensor:
    """A layer's output as (N, F, T'); ``rows`` is N.

    A sequence-first output is refused: always for a layer that declares it (see
    :func:`declares_sequence_first`), else when its first axis is not N (a layer that cannot
    say, with as many time steps as series, is left to :func:`_check_series_first`).
    """
    if act.ndim != 3:
        raise ParameterError(
            f"{method}: layer '{name}' gives activations of shape {tuple(act.shape)}; a layer map "
            f"needs (N, filters, T') activations (a Conv1d, or a recurrent layer with time_axis=1)"
        )
    if declares_sequence_first(module):
        raise _sequence_first_error(act, name, method, rows, f": the {type(module).__name__} has batch_first=False")
    if act.shape[0] != rows:
        raise _sequence_first_error(act, name, method, rows, "")
    return act if time_axis == 2 else act.transpose(1, 2)


def upsample_profile(layer_map: torch.Tensor, n_channels: int, n_timesteps: int, mode: str) -> torch.Tensor:
    """Layer maps (..., T') resampled to T and repeated over C: (..., C, T)."""
    lead = layer_map.shape[:-1]
    flat = layer_map.reshape(-1, 1, layer_map.shape[-1])
    kw = {"align_corners": False} if mode == "linear" else {}
    up = F.interpolate(flat, size=n_timesteps, mode=mode, **kw)
    return up.reshape(*lead, 1, n_timesteps).expand(*lead, n_channels, n_timesteps)


class _Capture:
    """Forward hook that records a layer's output, or replaces it."""

    def __init__(self, module: nn.Module, name: str) -> None:
        self.name = name
        self.value: torch.Tensor | None = None
        self.replace: torch.Tensor | None = None
        self.time_axis = 2
        #: Make the recorded output a leaf that requires grad (the layers before it then keep no
        #: graph when neither the input nor the parameters require grad).
        self.require_grad = False
        self.handle = module.register_forward_hook(self._hook)

    def _hook(self, module: nn.Module, _i: Any, out: Any) -> Any:
        position = _output_position(module, out)
        if self.replace is not None:
            new = self.replace if self.time_axis == 2 else self.replace.transpose(1, 2)
            return _with_output(out, position, new)
        value = out if position is None else out[position]
        if not isinstance(value, torch.Tensor):
            raise ParameterError(
                f"the layer {type(module).__name__} returned {type(out).__name__} holding no "
                f"tensor; a layer method needs a layer whose output holds its activations"
            )
        if self.require_grad and not value.requires_grad:
            value = value.detach().requires_grad_(True)
            self.value = value
            return _with_output(out, position, value)
        self.value = value
        return None

    def captured(self, method: str) -> torch.Tensor:
        """The recorded output; an error if the forward pass never called the layer."""
        if self.value is None:
            raise ParameterError(
                f"{method}: the layer '{self.name}' was not called in the model's forward pass, so it "
                f"has no activations (a module made by ExportedProgram.module() keeps the layer "
                f"names but runs one flat graph: pass the ExportedProgram itself, torch.export.load(path), or "
                f"tsexplain.io.load_any_model(path))"
            )
        return self.value

    def remove(self) -> None:
        self.handle.remove()


def _check_series_first(
    model: nn.Module,
    capture: _Capture,
    act: torch.Tensor,
    name: str,
    method: str,
    rows: torch.Tensor,
    extras: tuple[torch.Tensor, ...],
) -> None:
    """Refuse a sequence-first layer whose output's first two axes are both N long.

    ``act`` is the layer's output for ``rows`` (n, C, T), already known to be n long on its
    first axis. When its second axis is n long too (and n > 1), the shape cannot tell (N, T', F)
    from (T', N, F): one pass over the first series alone (``extras`` its further inputs) must
    give an output 1 long on its first axis. A model that fails on one series is not checked
    (the layers that declare their layout, :func:`declares_sequence_first`, need no probe).
    """
    n = rows.shape[0]
    if n < 2 or act.shape[1] != n:
        return
    first = capture.value
    try:
        with torch.no_grad():
            _quiet(model)(rows[:1], *extras)
        one = capture.value
    except Exception:  # noqa: BLE001 - a model that runs on n series only cannot be probed
        return
    finally:
        capture.value = first
    if one is not None and one.ndim == 3 and one.shape[0] != 1 and one.shape[1] == 1:
        raise _sequence_first_error(act, name, method, n, f": with one series it gives {tuple(one.shape)}")


def _quiet(model: nn.Module) -> Callable[..., Any]:
    """``model`` as a callable for a probe pass that may fail.

    A ``torch.fx.GraphModule`` (what BatchNorm folding makes of a model) prints the traceback of
    any error in its generated forward to stderr before raising it again, from the ``__call__``
    its class gets (``torch.fx.graph_module._WrappedCall``). When that class defines no
    ``__call__`` of its own, the wrapper only adds the printing around ``nn.Module.__call__``,
    which runs the same forward and hooks and raises the same error in silence.
    """
    if isinstance(model, fx.GraphModule):
        wrapped = getattr(type(model), "_wrapped_call", None)
        if wrapped is None or getattr(wrapped, "cls_call", None) is None:
            return partial(nn.Module.__call__, model)
    return model


def _sees_only_the_layer(
    model: nn.Module,
    capture: _Capture,
    rows: torch.Tensor,
    acts: torch.Tensor,
    outputs: torch.Tensor,
    extras: tuple[torch.Tensor, ...],
) -> bool:
    """Whether the model's layers after the captured one depend on the input only through its
    output, so that one pass over the n series can carry any number of replacement outputs.

    The test: a forward pass over ``rows`` (n, C, T) whose captured output is replaced by
    ``acts`` (n, F, T') with each series twice (2n rows, ``extras`` their further inputs, each
    series' twice) must give each series' ``outputs`` (n, K) twice. A model that mixes the layer's output with
    earlier activations (a skip connection), reads the batch size of its input, or otherwise
    fails that pass does not take the shortcut.
    """
    n = rows.shape[0]
    capture.replace = acts.repeat_interleave(2, dim=0)
    try:
        with torch.no_grad():
            out = flatten_output(_quiet(model)(rows, *extras), 2 * n)
    except Exception:  # noqa: BLE001 - any failure of the probe means: no shortcut
        return False
    finally:
        capture.replace = None
    want = outputs.repeat_interleave(2, dim=0)
    if out.shape != want.shape:
        return False
    scale = float(want.abs().max()) if want.numel() else 0.0
    return bool(torch.allclose(out, want, rtol=1e-4, atol=1e-5 * max(scale, 1e-12)))


def _selected_sum(out: torch.Tensor, sel: Selection, k: int | None) -> torch.Tensor:
    if k is not None:
        return out[:, k].sum()
    if sel.mode == "single" or sel.index is None:
        return out[:, 0].sum()
    return out.gather(1, sel.index[:, None].to(out.device)).sum()


class _LayerMethod(Attribution):
    kind = "layer"
    upsample: str
    layer_names: list[str]

    def params(self) -> dict[str, Any]:
        """The parameters as used, ``layer`` the layer the method resolved.

        With ``layer=None`` the method explains the last Conv1d; its name is recorded, so that a
        result's parameters name the explained layer and rebuild the same method. Models (AGRA)
        whose resolved layers have different names keep None (each model's layer is in
        ``extras["layer"]``).
        """
        p = super().params()
        if p.get("layer") is None and len(set(self.layer_names)) == 1:
            p["layer"] = self.layer_names[0]
        return p

    def _targets(self, sel: Selection) -> list[int | None]:
        return list(range(sel.n_outputs)) if sel.mode == "all" else [None]

    def _finish(
        self, raw: torch.Tensor, x: torch.Tensor, sel: Selection, layer_map: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """raw (N, K', F, T') -> values (N, C, T) or (N, K, C, T) and the extras.

        ``layer_map`` (N, K', T') defaults to the sum of ``raw`` over filters."""
        if layer_map is None:
            layer_map = raw.sum(dim=2)  # (N, K', T')
        values = upsample_profile(layer_map, x.shape[1], x.shape[2], self.upsample)
        if sel.mode != "all":
            values, raw, layer_map = values[:, 0], raw[:, 0], layer_map[:, 0]
        extras = {
            "layer": self.layer_names,
            "layer_values": raw.detach().cpu().numpy(),
            "layer_map": layer_map.detach().cpu().numpy(),
        }
        return values.contiguous(), extras

    def _fold_keep(self, index: int) -> frozenset[str]:
        # BatchNorm folds everywhere except into the explained layer, whose output stays the model's
        return frozenset({self.layer_names[index]})

    def _average(self, per_model: list[torch.Tensor]) -> torch.Tensor:
        shapes = {tuple(r.shape) for r in per_model}
        if len(shapes) > 1:
            raise ParameterError(
                f"{self.name}: the models' layers give different shapes {sorted(shapes)}; AGRA "
                f"over layer maps needs models with the same layer shapes"
            )
        return model_mean(per_model)


def _cat(parts: list[torch.Tensor]) -> torch.Tensor:
    return parts[0] if len(parts) == 1 else torch.cat(parts)


class LayerGradCam(_LayerMethod):
    """Grad-CAM: a convolution's activations weighted by their time-averaged gradients.

    For the activations ``A`` (F filters x T') of ``layer``, ``w_f = mean_t dy/dA[f, t]`` and the
    map is ``L[t] = sum_f w_f A[f, t]`` (with ``relu=True``, ``max(L, 0)``: the positive evidence,
    as in the paper). ``values`` is ``L`` resampled from T' to T (linear interpolation by default)
    and repeated over the C channels: one time profile, the same for every channel (see the module
    notes); ``result.extras["layer_values"]`` holds ``w_f A[f, t]`` per filter (N, F, T') and
    ``extras["layer_map"]`` the map ``L`` (N, T') before resampling (after the ReLU).

    Parameters
    ----------
    model : torch.nn.Module or list of torch.nn.Module
        Model(s) mapping (N, C, T) to (N,) or (N, K); a list averages the maps (same layer
        shapes needed).
    layer : str or None
        Name of the layer in ``model.named_modules()`` (e.g. ``"features.6"``); None takes the
        last Conv1d. Its output must be (N, F, T').
    relu : bool
        Keep only positive evidence (Selvaraju et al.); False gives the signed map.
    upsample : {"linear", "nearest"}
        Resampling from T' to T.
    time_axis : {1, 2} or None
        Axis of time in the layer's output: 2 for convolutions (N, F, T'), 1 for batch-first
        recurrent and attention layers (N, T', F); None (default) takes 1 for ``nn.LSTM``,
        ``nn.GRU``, ``nn.RNN``, attention and Transformer layers and 2 for any other layer.
        A sequence-first layer ((T', N, F) outputs) is refused.

    Notes
    -----
    Cost: one forward and one backward pass per series. The map's resolution is the layer's
    (coarse after pooling). BatchNorm folds into the layers before the explained one (with
    ``fold_batchnorm``, the default), never into it: its activations are the model's.

    References
    ----------
    Selvaraju et al. (2017), Grad-CAM: visual explanations from deep networks via gradient-based
    localization. ICCV.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.attribution import LayerGradCam
    >>> model = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool1d(1),
    ...                       nn.Flatten(), nn.Linear(4, 1))
    >>> res = LayerGradCam(model, layer="0").attribute(torch.randn(3, 2, 8))
    >>> res.shape, res.extras["layer_values"].shape
    ((3, 2, 8), (3, 4, 8))
    """

    name = "grad_cam"
    #: With the default ``relu=True`` the map is non-negative; ``relu=False`` gives signed values.
    signed = False
    #: ``w_f A[f, t]``: a gradient per unit of activation times the activation, in units of the
    #: output whatever the unit of the input (as for layer integrated gradients)
    unit = "output"

    def __init__(
        self,
        model: nn.Module | Sequence[nn.Module],
        layer: str | None = None,
        relu: bool = True,
        upsample: str = "linear",
        time_axis: int | None = None,
        **engine: Any,
    ) -> None:
        super().__init__(model, **engine)
        self.layer = layer
        self.relu = check_bool(relu, "relu")
        self.upsample = check_choice(upsample, "upsample", UPSAMPLING)
        self.time_axis = None if time_axis is None else check_choice(time_axis, "time_axis", (1, 2))
        self.layer_names = [find_layer(m, layer, self.name)[0] for m in self.models]

    def _result_signed(self) -> bool:
        # the registry's ``signed`` describes the default (relu=True); relu=False is signed
        return self.signed or not self.relu

    def _check_gradients(self, values: Any) -> None:
        # with the ReLU an all-zero map means "no positive evidence in this layer", not a
        # detached output: only the signed map warns
        if not self.relu:
            super()._check_gradients(values)

    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine
    ) -> tuple[torch.Tensor, Selection, torch.Tensor, dict[str, Any]]:
        from tsexplain.attribution.deeplift import _gathered, _picker

        pick, pre_sel, _ = _picker(self, target, x, engine)  # resolved in the same forward pass
        n_out = pre_sel.n_outputs if pre_sel is not None and pre_sel.mode == "all" else 1
        # one forward and one backward pass per chunk: chunks whose activations stay in the CPU
        # caches (as forward-only passes) are faster per row than the budget's largest
        step = min(engine.chunk(n_out), forward_rows_per_pass(engine))
        per_model, per_model_out, per_model_map = [], [], []
        sels: list[Selection] = []
        for m_i, (model, name) in enumerate(zip(engine.models, self.layer_names, strict=True)):
            module = dict(model.named_modules())[name]
            time_axis = layer_time_axis(module, self.time_axis)
            capture = _Capture(module, name)
            capture.require_grad = True
            # written chunk by chunk (no list of parts to join): the weighted activations
            # (N, K', F, T'), their sum over filters (N, K', T') and the outputs (N, K)
            raw_m = map_m = out_m = None
            try:
                for start in range(0, x.shape[0], step):
                    stop = min(x.shape[0], start + step)
                    idx = torch.arange(start, stop)
                    with torch.enable_grad():
                        out = flatten_output(model(x[start:stop], *row_extras(engine, idx, 1)), len(idx))
                        psel = pick(out.detach(), idx)
                        if m_i == 0:
                            sels.append(psel)
                        leaf = capture.captured(self.name)
                        act = _as_filters_time(leaf, module, time_axis, name, self.name, stop - start)
                        if start == 0:
                            _check_series_first(model, capture, leaf, name, self.name, x[start:stop],
                                                row_extras(engine, idx[:1], 1))
                        targets = self._targets(psel)
                        if raw_m is None:
                            raw_m = act.new_empty((x.shape[0], len(targets), *act.shape[1:]))
                            map_m = act.new_empty((x.shape[0], len(targets), act.shape[2]))
                            out_m = out.new_empty((x.shape[0], out.shape[1]))
                        assert map_m is not None and out_m is not None
                        for j, k in enumerate(targets):
                            (g,) = torch.autograd.grad(
                                _selected_sum(out, psel, k), leaf, retain_graph=j < len(targets) - 1
                            )
                            g = g if time_axis == 2 else g.transpose(1, 2)
                            torch.mul(g.mean(dim=2, keepdim=True), act.detach(), out=raw_m[start:stop, j])
                            torch.sum(raw_m[start:stop, j], dim=1, out=map_m[start:stop, j])
                    out_m[start:stop] = out.detach()
            finally:
                capture.remove()
            assert raw_m is not None and map_m is not None and out_m is not None
            per_model.append(raw_m)
            per_model_out.append(out_m)
            # the ReLU applies to each model's map (AGRA averages the models' Grad-CAM maps)
            per_model_map.append(torch.relu_(map_m) if self.relu else map_m)
        outputs = model_mean(per_model_out)
        sel = _gathered(self, sels, outputs)
        raw = self._average(per_model)
        values, extras = self._finish(raw, x, sel, model_mean(per_model_map))
        return values, sel, outputs, extras


class LayerIntegratedGradients(_LayerMethod):
    """Integrated Gradients on the activations of a named layer.

    With ``a(x)`` the layer's activations (F x T'), the layer attribution is
    ``(a(x) - a(b)) * integral_0^1 dy/da at a(b) + s (a(x) - a(b)) ds``: the path runs in the
    layer's activation space (the layer's output is replaced by the path point), as in Captum.
    The layer values sum to ``f(x) - f(b)`` up to the integration error
    (``result.extras["completeness_gap"]``). ``values`` is their sum over filters resampled from
    T' to T and repeated over C (a time profile; see the module notes); the raw (N, F, T') values
    are ``extras["layer_values"]``.

    Parameters
    ----------
    model : torch.nn.Module or list of torch.nn.Module
        Model(s) mapping (N, C, T) to (N,) or (N, K); a list averages the values.
    layer : str or None
        Name in ``model.named_modules()``; None takes the last Conv1d.
    steps : int
        Integration points.
    baseline : "zeros", "mean", float or array
        The reference input whose activations start the path.
    rule : str
        Quadrature rule (as :class:`IntegratedGradients`).
    upsample : {"linear", "nearest"}
        Resampling from T' to T.
    time_axis : {1, 2} or None
        Axis of time in the layer's output; None infers it as :class:`LayerGradCam` does.

    Notes
    -----
    Cost: ``steps`` forward and backward passes per series through the layers after the
    explained one. The layers before it run once per series when the later layers see the input
    only through the layer's output (checked on each call by one pass that carries every series
    twice); a model with a skip connection around the layer, or one that reads its input's batch
    size, runs them at every step, as Captum does. BatchNorm folds as for :class:`LayerGradCam`,
    never into the explained layer.

    References
    ----------
    Sundararajan, Taly, Yan (2017), Axiomatic attribution for deep networks. ICML; Captum's
    ``LayerIntegratedGradients``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.attribution import LayerIntegratedGradients
    >>> model = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.Tanh(), nn.AdaptiveAvgPool1d(1),
    ...                       nn.Flatten(), nn.Linear(4, 1))
    >>> res = LayerIntegratedGradients(model, layer="1", steps=32).attribute(torch.randn(3, 2, 8))
    >>> res.shape, bool(abs(res.extras["completeness_gap"]).max() < 1e-4)
    ((3, 2, 8), True)
    """

    name = "layer_integrated_gradients"
    unit = "output"
    uses_baseline = True
    cost_params = ("steps",)

    def __init__(
        self,
        model: nn.Module | Sequence[nn.Module],
        layer: str | None = None,
        steps: int = 50,
        baseline: Baseline = "zeros",
        rule: str = "gausslegendre",
        upsample: str = "linear",
        time_axis: int | None = None,
        **engine: Any,
    ) -> None:
        super().__init__(model, **engine)
        self.layer = layer
        self.steps = check_int(steps, "steps", minimum=1)
        self.baseline = baseline
        self.rule = check_choice(rule, "rule", RULES)
        quadrature(self.steps, self.rule)
        self.upsample = check_choice(upsample, "upsample", UPSAMPLING)
        self.time_axis = None if time_axis is None else check_choice(time_axis, "time_axis", (1, 2))
        self.layer_names = [find_layer(m, layer, self.name)[0] for m in self.models]

    def params(self) -> dict[str, Any]:
        p = super().params()
        p["baseline"] = describe_array(p["baseline"])
        return p

    def _activations(self, model: nn.Module, capture: _Capture, rows: torch.Tensor, extras: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            out = model(rows, *extras)
        return capture.captured(self.name).detach(), flatten_output(out, rows.shape[0])

    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine
    ) -> tuple[torch.Tensor, Selection, torch.Tensor, dict[str, Any]]:
        sel, outputs = self._select(x, target, engine)
        base = make_baseline(self.baseline, x)
        alphas_np, weights_np = quadrature(self.steps, self.rule)
        alphas = torch.as_tensor(alphas_np, dtype=x.dtype, device=x.device)
        weights = torch.as_tensor(weights_np, dtype=x.dtype, device=x.device)
        s = self.steps
        per_chunk = max(1, engine.chunk(sel.n_outputs if sel.mode == "all" else 1) // s)
        per_model, base_outs = [], []
        for model, name in zip(engine.models, self.layer_names, strict=True):
            module = dict(model.named_modules())[name]
            capture = _Capture(module, name)
            capture.time_axis = time_axis = layer_time_axis(module, self.time_axis)
            parts, outs_b = [], []
            suffix_only: bool | None = None
            try:
                for start in range(0, x.shape[0], per_chunk):
                    idx = torch.arange(start, min(x.shape[0], start + per_chunk))
                    n = len(idx)
                    own = row_extras(engine, idx, 1)
                    a_x, out_x = self._activations(model, capture, x[idx], own)
                    a_b, out_b = self._activations(model, capture, base[idx], own)
                    outs_b.append(out_b)
                    filters_x = _as_filters_time(a_x, module, time_axis, name, self.name, n)
                    if start == 0:
                        _check_series_first(model, capture, a_x, name, self.name, x[idx],
                                            row_extras(engine, idx[:1], 1))
                    a_x = filters_x
                    a_b = _as_filters_time(a_b, module, time_axis, name, self.name, n)
                    if suffix_only is None:
                        suffix_only = _sees_only_the_layer(model, capture, x[idx], a_x, out_x,
                                                           row_extras(engine, idx, 2))
                    delta = a_x - a_b
                    path = (a_b[:, None] + alphas[None, :, None, None] * delta[:, None]).reshape(n * s, *a_x.shape[1:])
                    path = path.detach().requires_grad_(True)
                    capture.replace = path
                    # every path point shares the series' layers before the explained one: when
                    # the later layers see only its output, those run once per series, not s times
                    rows = x[idx] if suffix_only else x[idx].repeat_interleave(s, dim=0)
                    psel = sel.for_samples(idx).repeat(s)
                    try:
                        with torch.enable_grad():
                            out = flatten_output(model(rows, *row_extras(engine, idx, s)), n * s)
                            grads = []
                            targets = self._targets(sel)
                            for j, k in enumerate(targets):
                                (g,) = torch.autograd.grad(
                                    _selected_sum(out, psel, k), path, retain_graph=j < len(targets) - 1
                                )
                                g = g.reshape(n, s, *g.shape[1:])
                                grads.append((g * weights[None, :, None, None]).sum(dim=1) * delta)
                    finally:
                        capture.replace = None
                    parts.append(torch.stack(grads, dim=1).detach())  # (n, K', F, T')
            finally:
                capture.remove()
            per_model.append(torch.cat(parts))
            base_outs.append(torch.cat(outs_b))
        raw = self._average(per_model)
        out_base = model_mean(base_outs)
        values, extras = self._finish(raw, x, sel)
        if sel.mode == "all":
            diff = outputs - out_base
            total = raw.sum(dim=(-2, -1))
        else:
            col = sel.index[:, None] if sel.index is not None else torch.zeros(len(x), 1, dtype=torch.long)
            diff = (outputs.gather(1, col) - out_base.gather(1, col))[:, 0]
            total = raw[:, 0].sum(dim=(-2, -1)) if raw.ndim == 4 else raw.sum(dim=(-2, -1))
        extras["completeness_gap"] = (total - diff).detach().cpu().numpy()
        extras["output_difference"] = diff.detach().cpu().numpy()
        return values, sel, outputs, extras
