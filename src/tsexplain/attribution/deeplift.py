"""DeepLIFT with the rescale rule (Shrikumar et al. 2017) and DeepLiftSHAP over a baseline
distribution."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from tsexplain._targets import Selection, flatten_output, resolve_target
from tsexplain._typing import Baseline, Target
from tsexplain.attribution._base import Attribution
from tsexplain.attribution._engine import Engine, model_mean
from tsexplain.attribution._ops import op_name
from tsexplain.attribution._perturbation import describe_array, make_baseline, row_extras
from tsexplain.attribution.gradient_shap import baseline_distribution
from tsexplain.exceptions import ModelOutputError

#: Element-wise non-linearities: the rescale rule (multiplier = delta out / delta in).
RESCALE_MODULES: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.Sigmoid, nn.Tanh, nn.Softplus,
    nn.GELU, nn.SiLU, nn.Mish, nn.Hardtanh, nn.Hardsigmoid, nn.Hardswish,
)
#: Max pooling: Captum's rule (the multiplier of the maximum of input and reference).
MAXPOOL_MODULES: tuple[type[nn.Module], ...] = (nn.MaxPool1d,)
#: Linear (affine) layers: the ordinary chain rule is exact, no rule needed.
LINEAR_MODULES: tuple[type[nn.Module], ...] = (
    nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d,
    nn.Identity, nn.Flatten, nn.Unflatten, nn.Dropout, nn.Dropout1d, nn.AvgPool1d,
    nn.AdaptiveAvgPool1d, nn.ConstantPad1d, nn.ZeroPad1d, nn.ReflectionPad1d, nn.ReplicationPad1d,
    nn.Upsample,
)
#: Functions a model's own forward may call between layers without breaking the rules.
_LINEAR_FUNCTIONS = frozenset({
    "conv1d", "conv2d", "conv_transpose1d", "linear", "batch_norm", "add", "__add__", "__radd__",
    "__iadd__", "sub", "__sub__", "__rsub__", "__isub__", "neg", "__neg__", "mean", "sum",
    "reshape", "view", "flatten", "unflatten", "permute", "transpose", "contiguous", "cat",
    "concat", "stack", "__getitem__", "squeeze", "unsqueeze", "expand", "expand_as", "repeat",
    "repeat_interleave", "avg_pool1d", "adaptive_avg_pool1d", "dropout", "pad", "chunk",
    "split", "narrow", "select", "to", "float", "double", "type", "clone", "detach", "t",
    "movedim", "swapaxes", "unbind", "flip", "roll", "__get__", "zeros_like", "ones_like",
    "new_zeros", "new_ones", "interpolate", "upsample", "slice", "alias", "_unsafe_view",
})
#: Products are linear only when at most one factor depends on the input.
_PRODUCTS = frozenset({
    "mul", "__mul__", "__rmul__", "__imul__", "div", "__truediv__", "__itruediv__", "matmul",
    "__matmul__", "mm", "bmm", "einsum",
})
#: Layers with sub-layers of their own whose forward is not their sub-layers' composition: the
#: check names them rather than a sub-layer with a rule (an attention's ``out_proj`` is linear).
#: Keyed by class name, so that a module unflattened from a ``torch.export`` program (a class of
#: the same name that is no ``nn.MultiheadAttention``) is named alike.
_NO_RULE_CONTAINERS = frozenset({"MultiheadAttention"})
#: Fused attention operations (the TransformerEncoderLayer's inference fast path among them).
_ATTENTION_OPS = frozenset({
    "_transformer_encoder_layer_fwd", "_native_multi_head_attention", "multi_head_attention_forward",
    "scaled_dot_product_attention", "_scaled_dot_product_attention_math",
    "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_efficient_attention",
})
_ATTENTION = "attention multiplies two functions of the input (queries x keys, weights x values), which no rescale rule covers"
#: Why a kind of layer (by class name) has no rule.
_REASONS = {
    "MultiheadAttention": _ATTENTION,
    "LSTM": "a recurrence whose gates multiply functions of the input",
    "GRU": "a recurrence whose gates multiply functions of the input",
    "RNN": "a recurrence: each step feeds the next through a non-linearity",
    "LayerNorm": "normalisation divides by a statistic of the input",
    "GroupNorm": "normalisation divides by a statistic of the input",
    "InstanceNorm1d": "normalisation divides by a statistic of the input",
    "Softmax": "softmax mixes all of its inputs, not element-wise",
    "LogSoftmax": "softmax mixes all of its inputs, not element-wise",
}
EPS = 1e-10


def _reason(module: nn.Module | None = None, op: str | None = None) -> str:
    """``": <why>"`` for a layer or operation whose lack of a rule has a known reason, else ``""``."""
    kind = type(module).__name__ if module is not None else ""
    if op in _ATTENTION_OPS or (op in _PRODUCTS and kind in _NO_RULE_CONTAINERS):
        return f": {_ATTENTION}"
    if op in _PRODUCTS:
        return ": a product of two functions of the input has no rescale rule"
    if op is None and kind in _REASONS:
        return f": {_REASONS[kind]}"
    return ""


def _describe(path: str, module: nn.Module) -> str:
    """``'enc.layers.0' (TransformerEncoderLayer)``, or ``the model (Net)`` for the root."""
    return f"'{path}' ({type(module).__name__})" if path else f"the model ({type(module).__name__})"


def _depends_on_input(t: Any, params: set[int]) -> bool:
    return isinstance(t, torch.Tensor) and t.grad_fn is not None and id(t) not in params


class _OpAudit(TorchFunctionMode):
    """Records tensor operations a model's own code runs outside layers with a rule."""

    def __init__(self, params: set[int]) -> None:
        super().__init__()
        self.params = params
        self.depth = 0
        self.where: list[str] = [""]
        self.found: list[tuple[str, str]] = []

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        result = func(*args, **(kwargs or {}))
        # an operation may return several tensors (an exported LSTM's aten.lstm: output and
        # states): it is audited like one that returns one
        returns_tensors = isinstance(result, torch.Tensor) or (
            isinstance(result, tuple | list) and any(isinstance(r, torch.Tensor) for r in result))
        if self.depth == 0 and returns_tensors:
            name = op_name(func)
            tensors = [a for a in (*args, *(kwargs or {}).values()) if isinstance(a, torch.Tensor)]
            if isinstance(args, tuple) and args and isinstance(args[0], list | tuple):
                tensors += [a for a in args[0] if isinstance(a, torch.Tensor)]
            if name in _PRODUCTS:
                if sum(_depends_on_input(a, self.params) for a in tensors) > 1:
                    self.found.append((name, self.where[-1]))
            elif name not in _LINEAR_FUNCTIONS and any(_depends_on_input(a, self.params) for a in tensors):
                self.found.append((name, self.where[-1]))
        return result


def check_rules(model: nn.Module, probe: torch.Tensor, extras: tuple[torch.Tensor, ...], method: str) -> None:
    """Raise a :class:`ModelOutputError` naming the first layer or operation of ``model`` that
    DeepLIFT has no rule for (recurrent layers, attention, softmax, normalisation across
    features, products of activations, ...)."""
    covered = (*RESCALE_MODULES, *MAXPOOL_MODULES, *LINEAR_MODULES)
    hint = (f"{method} has rules for linear layers, element-wise activations ({', '.join(c.__name__ for c in RESCALE_MODULES[:6])}, ...) "
            f"and MaxPool1d; use integrated_gradients or gradient_shap for this model")
    for name, module in model.named_modules():
        if isinstance(module, torch.jit.ScriptModule):
            raise ModelOutputError(
                f"{method}: a TorchScript model cannot be inspected layer by layer; {hint}"
            )
        if type(module) is nn.Module:
            # a bare holder of parameters that another module's forward reads (the out_proj of
            # an attention unflattened from a torch.export program): not a layer
            continue
        no_rule = type(module).__name__ in _NO_RULE_CONTAINERS or (
            not list(module.children()) and not isinstance(module, covered)
            and type(module).__module__.startswith("torch.nn"))  # LSTM, Softmax, LayerNorm, ...
        if no_rule:
            raise ModelOutputError(
                f"{method}: no DeepLIFT rule for layer '{name}' ({type(module).__name__})"
                f"{_reason(module)}; {hint}"
            )
    params = {id(p) for p in model.parameters()} | {id(b) for b in model.buffers()}
    audit = _OpAudit(params)
    handles = []

    def enter(path: str, is_covered: bool) -> Callable[..., None]:
        def pre(_m: nn.Module, _i: Any) -> None:
            audit.where.append(path)
            audit.depth += int(is_covered)
        return pre

    def leave(is_covered: bool) -> Callable[..., None]:
        def post(_m: nn.Module, _i: Any, _o: Any) -> None:
            audit.where.pop()
            audit.depth -= int(is_covered)
        return post

    try:
        for name, module in model.named_modules():
            is_covered = isinstance(module, covered)
            handles.append(module.register_forward_pre_hook(enter(name, is_covered)))
            handles.append(module.register_forward_hook(leave(is_covered)))
        rows = probe.detach().clone().requires_grad_(True)
        with torch.enable_grad(), audit:
            model(rows, *extras)
    finally:
        for h in handles:
            h.remove()
    if audit.found:
        op, where = audit.found[0]
        module = dict(model.named_modules()).get(where, model)
        # an activation written as a function has a layer with a rule; a recurrence, attention
        # or normalisation has none
        has_layer = op.replace("_", "") in {c.__name__.lower() for c in RESCALE_MODULES} or op in {
            "max_pool1d", "max_pool1d_with_indices"}
        advice = ("write it as a layer with a rule (e.g. nn.ReLU() instead of torch.relu) or "
                  if has_layer else "")
        raise ModelOutputError(
            f"{method}: the forward of {_describe(where, module)} applies {op}, an operation "
            f"without a DeepLIFT rule{_reason(module, op)}; {advice}{hint.split('; ')[1]}"
        )


class _Multiplier(torch.autograd.Function):
    """Identity in the forward pass; the backward pass applies a DeepLIFT rule."""

    @staticmethod
    def forward(ctx: Any, inp: torch.Tensor, out: torch.Tensor, rule: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        ctx.rule = rule
        return out.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        return ctx.rule(grad), None, None


def _rescale_rule(
    module: nn.Module, inp: torch.Tensor, out: torch.Tensor, ref_in: torch.Tensor, ref_out: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor]:
    d_in = inp - ref_in
    small = d_in.abs() < EPS
    slope = (out - ref_out) / torch.where(small, torch.ones_like(d_in), d_in)
    if bool(small.any()):
        with torch.enable_grad():
            at = inp.detach().requires_grad_(True)
            (local,) = torch.autograd.grad(module.forward(at.clone()).sum(), at)
        slope = torch.where(small, local, slope)
    slope = slope.detach()
    return lambda g: g * slope


def _maxpool_rule(
    module: nn.MaxPool1d, inp: torch.Tensor, out: torch.Tensor, ref_in: torch.Tensor, ref_out: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor]:
    d_in = inp - ref_in
    small = d_in.abs() < EPS
    top = torch.max(out, ref_out)
    pool = cast(Any, F.max_pool1d)
    args = (module.kernel_size, module.stride, module.padding, module.dilation, module.ceil_mode, True)
    _, x_idx = pool(inp, *args)
    _, r_idx = pool(ref_in, *args)
    size = list(inp.shape)

    def unpool(v: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        return F.max_unpool1d(v, where, module.kernel_size, module.stride, module.padding, size)  # type: ignore[arg-type]

    def rule(g: torch.Tensor) -> torch.Tensor:
        moved = unpool(g * (top - ref_out), x_idx) + unpool(g * (out - top), r_idx)
        return torch.where(small, unpool(g, x_idx), moved / torch.where(small, torch.ones_like(d_in), d_in))

    return rule


class _Rules:
    """Hooks that attach the DeepLIFT rules to a model for one call.

    First the model runs on the baselines (``record``): every rule layer keeps its reference
    input and output. Then it runs on the inputs (``apply``): every rule layer's output is
    replaced by a tensor of the same value whose backward pass applies the rule against the
    recorded reference. Only the inputs' pass is differentiated.
    """

    def __init__(self, model: nn.Module) -> None:
        self.handles: list[Any] = []
        self.inputs: dict[int, torch.Tensor] = {}
        self.refs: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        self.recording = True
        for module in model.modules():
            if isinstance(module, RESCALE_MODULES + MAXPOOL_MODULES):
                self.handles.append(module.register_forward_pre_hook(self._pre))
                self.handles.append(module.register_forward_hook(self._post))

    def _pre(self, module: nn.Module, args: tuple[Any, ...]) -> Any:
        self.inputs[id(module)] = args[0]
        if getattr(module, "inplace", False):
            return (args[0].clone(), *args[1:])
        return None

    def _post(self, module: nn.Module, args: tuple[Any, ...], out: torch.Tensor) -> torch.Tensor | None:
        inp = self.inputs.pop(id(module))
        if self.recording:
            self.refs.setdefault(id(module), []).append((inp.detach(), out.detach()))
            return None
        ref_in, ref_out = self.refs[id(module)].pop(0)
        with torch.no_grad():
            if isinstance(module, MAXPOOL_MODULES):
                rule = _maxpool_rule(module, inp.detach(), out.detach(), ref_in, ref_out)  # type: ignore[arg-type]
            else:
                rule = _rescale_rule(module, inp.detach(), out.detach(), ref_in, ref_out)
        return _Multiplier.apply(inp, out.detach(), rule)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


#: ``pick(outputs of the chunk's rows (R, K), idx) -> Selection of those rows``.
Pick = Callable[[torch.Tensor, torch.Tensor], Selection]


def deeplift_rows(
    model: nn.Module,
    xs: torch.Tensor,
    bs: torch.Tensor,
    extras: tuple[torch.Tensor, ...],
    pick: Callable[[torch.Tensor], Selection],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """DeepLIFT of rows ``xs`` against rows ``bs`` (R, C, T) with one model.

    ``pick(outputs)`` chooses the explained outputs once the rows' outputs (R, K) are known.
    Returns the values (R, C, T) or (R, K, C, T) for mode "all", and the outputs on ``xs`` and
    on ``bs`` (R, K).
    """
    r = xs.shape[0]
    rules = _Rules(model)
    try:
        with torch.no_grad():
            out_b = flatten_output(model(bs, *extras), r)
        rules.recording = False
        rows = xs.detach().requires_grad_(True)
        with torch.enable_grad():
            out = flatten_output(model(rows, *extras), r)
            sel = pick(out.detach())
            if sel.mode == "all":
                k = out.shape[1]
                grads = torch.stack([
                    torch.autograd.grad(out[:, j].sum(), rows, retain_graph=j < k - 1)[0]
                    for j in range(k)
                ], dim=1)
            else:
                if sel.mode == "single":
                    picked = out[:, 0]
                else:
                    assert sel.index is not None
                    picked = out.gather(1, sel.index[:, None].to(out.device))[:, 0]
                (grads,) = torch.autograd.grad(picked.sum(), rows)
    finally:
        rules.remove()
    delta = xs - bs
    values = grads * (delta[:, None] if grads.ndim == 4 else delta)
    return values, out.detach(), out_b


def _picker(method: Attribution, target: Target, x: torch.Tensor, engine: Engine) -> tuple[Pick, Selection | None, torch.Tensor | None]:
    """How each chunk chooses its explained outputs.

    With several models (AGRA) the target is resolved once on the models' mean output (one
    extra forward pass); with one model it is resolved from each chunk's own forward pass."""
    if len(engine.models) > 1:
        sel, outputs = method._select(x, target, engine)
        return (lambda out, idx: sel.for_samples(idx)), sel, outputs
    state: dict[str, Selection] = {}

    def pick(out: torch.Tensor, idx: torch.Tensor) -> Selection:
        if isinstance(target, str) and target == "predicted" and out.shape[1] > 1:
            return Selection("index", out.shape[1], out.argmax(dim=1))
        if "sel" not in state:  # any other target is resolved from the output size alone
            state["sel"] = resolve_target(target, torch.zeros(x.shape[0], out.shape[1]))
        return state["sel"].for_samples(idx)

    return pick, None, None


def _gathered(method: Attribution, parts: list[Selection], outputs: torch.Tensor) -> Selection:
    """The selection of every sample from the chunks' selections; checks the outputs."""
    if not bool(torch.isfinite(outputs).all()):
        raise ModelOutputError(f"{method.name}: the model returned NaN or Inf")
    first = parts[0]
    if first.index is None:
        sel = first
    else:
        sel = Selection(first.mode, first.n_outputs, torch.cat([p.index for p in parts if p.index is not None]))
    method._check_saturation(outputs, sel)
    return sel


def _completeness(values: torch.Tensor, outputs: torch.Tensor, out_base: torch.Tensor, sel: Selection) -> dict[str, Any]:
    if sel.mode == "all":
        diff = outputs - out_base
        total = values.sum(dim=(-2, -1))
    else:
        col = sel.index[:, None] if sel.index is not None else torch.zeros(len(outputs), 1, dtype=torch.long)
        diff = (outputs.gather(1, col) - out_base.gather(1, col))[:, 0]
        total = values.sum(dim=(1, 2))
    return {
        "completeness_gap": (total - diff).detach().cpu().numpy(),
        "output_difference": diff.detach().cpu().numpy(),
    }


class DeepLift(Attribution):
    """DeepLIFT, rescale rule: contributions of ``x - baseline`` to ``f(x) - f(baseline)``.

    The model runs on the input and on the baseline together; at every element-wise
    non-linearity the gradient is replaced by the multiplier ``(out(x) - out(b)) / (in(x) -
    in(b))`` (the local gradient where the two inputs coincide), at max pooling by Captum's
    rule, and the chain rule carries these multipliers through the linear layers. The values are
    ``(x - b) * multiplier``; they sum to ``f(x) - f(b)`` (summation-to-delta), checked per sample
    in ``result.extras["completeness_gap"]``. Signed.

    The model must be built from layers DeepLIFT has a rule for: linear layers (Conv1d, Linear,
    BatchNorm in eval mode, pooling by averages, Flatten, Dropout), element-wise activations
    (ReLU, LeakyReLU, ELU, Sigmoid, Tanh, Softplus, GELU, SiLU, ...) and MaxPool1d. Anything else
    (recurrent layers, attention, softmax, normalisation across features, or such an operation
    written as a function in ``forward``) raises a :class:`~tsexplain.exceptions.ModelOutputError`
    naming the layer; there is no silent fallback to gradients.

    Parameters
    ----------
    model : torch.nn.Module or list of torch.nn.Module
        Model(s) mapping (N, C, T) to (N,) or (N, K); a list averages the values (AGRA).
    baseline : "zeros", "mean", float or array
        The reference input (broadcast to (N, C, T)).

    Notes
    -----
    Cost: one forward and one backward pass on 2N rows (input and baseline). Element-wise
    activations must be modules (``nn.ReLU()``), not calls of ``torch.relu`` in ``forward``.

    References
    ----------
    Shrikumar, Greenside, Kundaje (2017), Learning important features through propagating
    activation differences. ICML.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import DeepLift
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 4), torch.nn.ReLU(),
    ...                             torch.nn.Linear(4, 1))
    >>> res = DeepLift(model).attribute(torch.randn(3, 2, 3))
    >>> res.shape, bool(abs(res.extras["completeness_gap"]).max() < 1e-5)
    ((3, 2, 3), True)
    """

    name = "deeplift"
    unit = "output"
    uses_baseline = True

    def __init__(
        self,
        model: nn.Module | Sequence[nn.Module],
        baseline: Baseline = "zeros",
        **engine: Any,
    ) -> None:
        super().__init__(model, **engine)
        self.baseline = baseline

    def params(self) -> dict[str, Any]:
        p = super().params()
        p["baseline"] = describe_array(p["baseline"])
        return p

    def _check(self, x: torch.Tensor, engine: Engine) -> None:
        extras = row_extras(engine, torch.arange(1), 1)
        for model in engine.models:
            check_rules(model, x[:1], extras, self.name)

    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine
    ) -> tuple[torch.Tensor, Selection, torch.Tensor, dict[str, Any]]:
        self._check(x, engine)
        base = make_baseline(self.baseline, x)
        pick, _, _ = _picker(self, target, x, engine)
        step = max(1, engine.chunk() // 2)
        values, outs, outs_b, sels = [], [], [], []
        for start in range(0, x.shape[0], step):
            idx = torch.arange(start, min(x.shape[0], start + step))
            extras = row_extras(engine, idx, 1)
            chosen: list[Selection] = []

            def choose(out: torch.Tensor, idx: torch.Tensor = idx, chosen: list[Selection] = chosen) -> Selection:
                chosen.append(pick(out, idx))
                return chosen[0]

            parts = [deeplift_rows(m, x[idx], base[idx], extras, choose) for m in engine.models]
            values.append(model_mean([p[0] for p in parts]))
            outs.append(model_mean([p[1] for p in parts]))
            outs_b.append(model_mean([p[2] for p in parts]))
            sels.append(chosen[0])
        outputs = torch.cat(outs)
        sel = _gathered(self, sels, outputs)
        vals = torch.cat(values)
        return vals, sel, outputs, _completeness(vals, outputs, torch.cat(outs_b), sel)


class DeepLiftShap(Attribution):
    """DeepLIFT averaged over a distribution of baselines (DeepSHAP).

    ``A[n] = 1/B sum_b DeepLIFT(x_n; b)`` over the B baselines of the distribution (e.g. training
    series). The values sum to ``f(x) - mean_b f(b)``, reported per sample in
    ``result.extras["completeness_gap"]``. Signed. The same layers as :class:`DeepLift` are
    supported; other layers raise an error naming them.

    Parameters
    ----------
    model : torch.nn.Module or list of torch.nn.Module
        Model(s) mapping (N, C, T) to (N,) or (N, K); a list averages the values (AGRA).
    baselines : "zeros", "mean", float or array
        An array of shape (B, C, T) (or (B, 1, T)) of reference series, shared by every series;
        or one baseline per series ("zeros", "mean", a number: then equal to DeepLIFT).

    Notes
    -----
    Cost: one forward and backward pass on 2 B rows per series. Deterministic: every baseline is
    used (no sampling).

    References
    ----------
    Lundberg, Lee (2017), A unified approach to interpreting model predictions. NeurIPS.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import DeepLiftShap
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 4), torch.nn.ReLU(),
    ...                             torch.nn.Linear(4, 1))
    >>> DeepLiftShap(model, baselines=torch.randn(5, 2, 3)).attribute(torch.randn(3, 2, 3)).shape
    (3, 2, 3)
    """

    name = "deeplift_shap"
    unit = "output"
    uses_baseline = True

    def __init__(
        self,
        model: nn.Module | Sequence[nn.Module],
        baselines: Baseline = "zeros",
        **engine: Any,
    ) -> None:
        super().__init__(model, **engine)
        self.baselines = baselines

    def params(self) -> dict[str, Any]:
        p = super().params()
        p["baselines"] = describe_array(p["baselines"])
        return p

    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine
    ) -> tuple[torch.Tensor, Selection, torch.Tensor, dict[str, Any]]:
        extras = row_extras(engine, torch.arange(1), 1)
        for model in engine.models:
            check_rules(model, x[:1], extras, self.name)
        pick, _, _ = _picker(self, target, x, engine)
        dist = baseline_distribution(self.baselines, x)  # (N or 1, B, C, T)
        b = dist.shape[1]
        step = max(1, engine.chunk() // (2 * b))
        values, outs, outs_b, sels = [], [], [], []
        for start in range(0, x.shape[0], step):
            idx = torch.arange(start, min(x.shape[0], start + step))
            n = len(idx)
            xs = x[idx].repeat_interleave(b, dim=0)
            bs = (dist[idx] if dist.shape[0] > 1 else dist.expand(n, -1, -1, -1)).reshape(-1, *x.shape[1:])
            chosen: list[Selection] = []

            def choose(out: torch.Tensor, idx: torch.Tensor = idx, chosen: list[Selection] = chosen) -> Selection:
                chosen.append(pick(out[::b], idx))
                return chosen[0].repeat(b)

            row_ex = row_extras(engine, idx, b)
            parts = [deeplift_rows(m, xs, bs.contiguous(), row_ex, choose) for m in engine.models]
            vals = model_mean([p[0] for p in parts])
            values.append(vals.reshape(n, b, *vals.shape[1:]).mean(dim=1))
            outs.append(model_mean([p[1] for p in parts])[::b])
            outs_b.append(model_mean([p[2] for p in parts]).reshape(n, b, -1).mean(dim=1))
            sels.append(chosen[0])
        outputs = torch.cat(outs)
        sel = _gathered(self, sels, outputs)
        values_all = torch.cat(values)
        return values_all, sel, outputs, _completeness(values_all, outputs, torch.cat(outs_b), sel)
