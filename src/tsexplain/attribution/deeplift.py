"""DeepLIFT with the rescale rule (Shrikumar et al. 2017) and DeepLiftSHAP over a baseline
distribution."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from tsexplain._typing import Baseline, Target
from tsexplain.attribution._base import Attribution
from tsexplain.attribution._engine import Engine
from tsexplain.attribution._perturbation import describe_array, make_baseline, row_extras
from tsexplain.attribution._targets import Selection, flatten_output
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
    "new_zeros", "new_ones", "interpolate", "upsample",
})
#: Products are linear only when at most one factor depends on the input.
_PRODUCTS = frozenset({
    "mul", "__mul__", "__rmul__", "__imul__", "div", "__truediv__", "__itruediv__", "matmul",
    "__matmul__", "mm", "bmm", "einsum",
})
EPS = 1e-10


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
        if self.depth == 0 and isinstance(result, torch.Tensor):
            name = getattr(func, "__name__", str(func))
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
        if list(module.children()) or isinstance(module, covered):
            continue
        if type(module).__module__.startswith("torch.nn"):  # LSTM, Softmax, LayerNorm, ...
            raise ModelOutputError(
                f"{method}: no DeepLIFT rule for layer '{name}' ({type(module).__name__}); {hint}"
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
            handles.append(module.register_forward_pre_hook(enter(name or "<model>", is_covered)))
            handles.append(module.register_forward_hook(leave(is_covered)))
        rows = probe.detach().clone().requires_grad_(True)
        with torch.enable_grad(), audit:
            model(rows, *extras)
    finally:
        for h in handles:
            h.remove()
    if audit.found:
        op, where = audit.found[0]
        module = dict(model.named_modules()).get(where if where != "<model>" else "", model)
        raise ModelOutputError(
            f"{method}: the forward of '{where}' ({type(module).__name__}) applies {op}, an "
            f"operation without a DeepLIFT rule; write it as a layer with a rule (e.g. nn.ReLU() "
            f"instead of torch.relu) or {hint.split('; ')[1]}"
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


def _rescale_rule(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    n = inp.shape[0] // 2
    d_in = inp[:n] - inp[n:]
    d_out = out[:n] - out[n:]
    small = d_in.abs() < EPS
    slope = d_out / torch.where(small, torch.ones_like(d_in), d_in)
    if bool(small.any()):
        with torch.enable_grad():
            at = inp[:n].detach().requires_grad_(True)
            (local,) = torch.autograd.grad(module.forward(at.clone()).sum(), at)
        slope = torch.where(small, local, slope)
    both = torch.cat([slope, slope]).detach()
    return lambda g: g * both


def _maxpool_rule(module: nn.MaxPool1d, inp: torch.Tensor, out: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    n = inp.shape[0] // 2
    x_in, r_in = inp[:n].detach(), inp[n:].detach()
    x_out, r_out = out[:n].detach(), out[n:].detach()
    d_in = x_in - r_in
    top = torch.max(x_out, r_out)
    _, idx = F.max_pool1d(inp.detach(), module.kernel_size, module.stride, module.padding,  # type: ignore[arg-type]
                          module.dilation, module.ceil_mode, True)
    x_idx, r_idx = idx[:n], idx[n:]
    size = list(x_in.shape)

    def unpool(v: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        return F.max_unpool1d(v, where, module.kernel_size, module.stride, module.padding, size)  # type: ignore[arg-type]

    def rule(g: torch.Tensor) -> torch.Tensor:
        gx = g[:n]
        moved = unpool(gx * (top - r_out), x_idx) + unpool(gx * (x_out - top), r_idx)
        small = d_in.abs() < EPS
        new = torch.where(small, unpool(gx, x_idx), moved / torch.where(small, torch.ones_like(d_in), d_in))
        return torch.cat([new, new])

    return rule


class _Rules:
    """Forward hooks that attach the DeepLIFT rules to a model for one call."""

    def __init__(self, model: nn.Module) -> None:
        self.handles: list[Any] = []
        self.inputs: dict[int, torch.Tensor] = {}
        for module in model.modules():
            if isinstance(module, RESCALE_MODULES + MAXPOOL_MODULES):
                self.handles.append(module.register_forward_pre_hook(self._pre))
                self.handles.append(module.register_forward_hook(self._post))

    def _pre(self, module: nn.Module, args: tuple[Any, ...]) -> Any:
        self.inputs[id(module)] = args[0]
        if getattr(module, "inplace", False):
            return (args[0].clone(), *args[1:])
        return None

    def _post(self, module: nn.Module, args: tuple[Any, ...], out: torch.Tensor) -> torch.Tensor:
        inp = self.inputs.pop(id(module))
        with torch.no_grad():
            if isinstance(module, MAXPOOL_MODULES):
                rule = _maxpool_rule(module, inp, out)  # type: ignore[arg-type]
            else:
                rule = _rescale_rule(module, inp.detach(), out.detach())
        return _Multiplier.apply(inp, out.detach(), rule)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def deeplift_pairs(
    engine: Engine,
    xs: torch.Tensor,
    bs: torch.Tensor,
    sel: Selection,
    idx: torch.Tensor,
    per: int,
) -> torch.Tensor:
    """DeepLIFT of rows ``xs`` against rows ``bs`` (R, C, T), averaged over the models:
    (R, C, T), or (R, K, C, T) for mode "all". Rows belong to series ``idx`` (``per`` rows each)."""
    r = xs.shape[0]
    extras = row_extras(engine, idx, per)
    extras2 = tuple(torch.cat([e, e]) for e in extras)
    total: torch.Tensor | None = None
    for model in engine.models:
        rules = _Rules(model)
        try:
            batch = torch.cat([xs, bs]).detach().requires_grad_(True)
            with torch.enable_grad():
                out = flatten_output(model(batch, *extras2), 2 * r)[:r]
                if sel.mode == "all":
                    k = out.shape[1]
                    grads = torch.stack([
                        torch.autograd.grad(out[:, j].sum(), batch, retain_graph=j < k - 1)[0][:r]
                        for j in range(k)
                    ], dim=1)
                else:
                    if sel.mode == "single":
                        picked = out[:, 0]
                    else:
                        assert sel.index is not None
                        picked = out.gather(1, sel.index[:, None].to(out.device))[:, 0]
                    grads = torch.autograd.grad(picked.sum(), batch)[0][:r]
        finally:
            rules.remove()
        delta = xs - bs
        contrib = grads * (delta[:, None] if grads.ndim == 4 else delta)
        total = contrib if total is None else total + contrib
    assert total is not None
    return total / len(engine.models)


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
        sel, outputs = self._select(x, target, engine)
        base = make_baseline(self.baseline, x)
        step = max(1, engine.chunk(sel.n_outputs if sel.mode == "all" else 1) // 2)
        parts = []
        for start in range(0, x.shape[0], step):
            idx = torch.arange(start, min(x.shape[0], start + step))
            parts.append(deeplift_pairs(engine, x[idx], base[idx], sel.for_samples(idx), idx, 1))
        values = torch.cat(parts)
        out_base = engine.outputs(base)
        return values, sel, outputs, _completeness(values, outputs, out_base, sel)


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
        sel, outputs = self._select(x, target, engine)
        dist = baseline_distribution(self.baselines, x)  # (N or 1, B, C, T)
        b = dist.shape[1]
        step = max(1, engine.chunk(sel.n_outputs if sel.mode == "all" else 1) // (2 * b))
        parts, base_out = [], []
        for start in range(0, x.shape[0], step):
            idx = torch.arange(start, min(x.shape[0], start + step))
            xs = x[idx].repeat_interleave(b, dim=0)
            bs = (dist[idx] if dist.shape[0] > 1 else dist.expand(len(idx), -1, -1, -1)).reshape(-1, *x.shape[1:])
            vals = deeplift_pairs(engine, xs, bs, sel.for_samples(idx).repeat(b), idx, b)
            parts.append(vals.reshape(len(idx), b, *vals.shape[1:]).mean(dim=1))
            out_b = engine.outputs(bs.contiguous(), idx=idx, rows_per_sample=b) if getattr(engine, "additional", None) else engine.outputs(bs.contiguous())
            base_out.append(out_b.reshape(len(idx), b, -1).mean(dim=1))
        values = torch.cat(parts)
        return values, sel, outputs, _completeness(values, outputs, torch.cat(base_out), sel)
