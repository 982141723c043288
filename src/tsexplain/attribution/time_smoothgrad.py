"""Time-SmoothGrad: per-time-step gradients of a sequence regressor, smoothed over time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from tsexplain._allocator import MMAP_THRESHOLD
from tsexplain._targets import Selection, resolve_target
from tsexplain._typing import Target
from tsexplain._validation import check_bool, check_int
from tsexplain.attribution._engine import Engine, model_mean
from tsexplain.attribution._memory import activation_bytes
from tsexplain.attribution._sequence import SequenceAttribution
from tsexplain.exceptions import ModelOutputError, ParameterError, TargetError


def trailing_mean(g: np.ndarray | torch.Tensor, window: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Trailing moving average over the last axis: ``out[..., t] = mean(g[..., t-k+1 : t+1])``.

    Fewer terms at the start (``t < k - 1``); NaN entries are skipped, and a window holding only
    NaN gives NaN.

    Parameters
    ----------
    g : array of shape (..., T)
    window : int
        k >= 1.
    dtype : torch.dtype
        Of the result (the sums are taken in float64 either way).
    """
    g = torch.as_tensor(g)
    out = torch.empty(g.shape, dtype=dtype, device=g.device)
    t_len = g.shape[-1]
    for start in range(0, t_len, _MEAN_BLOCK):  # blocks: temporaries do not grow with T
        stop = min(t_len, start + _MEAN_BLOCK)
        first = max(0, start - window + 1)  # the block's left context
        out[..., start:stop] = _trailing_mean_block(g[..., first:stop].double(), window)[..., start - first :]
    return out


#: Time steps per block of :func:`trailing_mean`.
_MEAN_BLOCK = 1 << 16

#: Steps beyond a claimed ``receptive_field`` on either side that its check looks at (the check's
#: input is ``2 * (R - 1 + RECEPTIVE_FIELD_MARGIN) + 1`` steps long).
RECEPTIVE_FIELD_MARGIN = 16


def _step(offset: int) -> str:
    """``t``, ``t-2``, ``t+1``: an input step relative to output step t."""
    return "t" if offset == 0 else f"t{offset:+d}"


def _trailing_mean_block(g: torch.Tensor, window: int) -> torch.Tensor:
    """:func:`trailing_mean` of one float64 block (its first ``window - 1`` steps are context)."""
    valid = torch.isfinite(g)
    vals = torch.where(valid, g, torch.zeros_like(g))
    zero = torch.zeros((*g.shape[:-1], 1), dtype=torch.float64, device=g.device)
    csum = torch.cat([zero, vals.cumsum(-1)], dim=-1)
    ccnt = torch.cat([zero, valid.to(torch.float64).cumsum(-1)], dim=-1)
    t = torch.arange(g.shape[-1], device=g.device)
    lo = (t + 1 - window).clamp(min=0)
    sums = csum[..., t + 1] - csum[..., lo]
    counts = ccnt[..., t + 1] - ccnt[..., lo]
    return torch.where(counts > 0, sums / counts.clamp(min=1), torch.full_like(sums, float("nan")))


class TimeSmoothGrad(SequenceAttribution):
    """Moving-window average of the per-time-step gradients of a sequence regressor.

    For one long series ``x`` of shape (1, C, T) and a model that returns one prediction per
    time step, shape (1, T), Time-SmoothGrad (Kiritoshi and Izumitani) is

    ``A[c, t] = 1/m sum_{i=0}^{m-1} d y(t-i) / d x_c(t-i)``,  ``m = min(k, t + 1)``,

    the gradient of each step's prediction with respect to that step's input, averaged over the
    last ``k = window`` steps (fewer terms at the start). Signed. Inputs with N > 1 are treated
    as N independent recordings.

    How the diagonal ``g[c, t] = d y(t) / d x_c(t)`` is computed:

    * ``receptive_field=1`` (a point-wise model, y(t) depends on x(t) only): one backward pass
      of ``sum_t y(t)``; exact.
    * ``receptive_field=R``: y(t) depends on x(s) only for ``|t - s| < R`` (``causal=True``:
      only for ``0 <= t - s < R``). Outputs spaced ``2R - 1`` (causal: ``R``) steps apart do not
      share inputs, so ``2R - 1`` (``R``) batched backward passes give the exact diagonal.
      The claim is checked first: the gradient of one output step over the first
      ``2 * (R - 1 + 16) + 1`` steps of the first series must be zero outside the claimed
      steps, else a :class:`~tsexplain.exceptions.ParameterError` names the steps found
      (``receptive_field=1`` on a causal convolution of kernel 3: ``t-2..t``).
    * ``receptive_field=None`` (default): exact for any sequence model, one vector-Jacobian
      product per time step, batched (cost grows with T^2: give R for long series).
    * ``input_window=W``, the common industrial case of a sliding-window model that maps the
      last W steps (n, C, W) to one value (n,) or (n, K): the model is applied to every window
      of the series; ``y(t)`` is the prediction from the window that ends at t, and
      ``g[c, t] = d y(t) / d x_c(t)`` is that prediction's sensitivity to its newest
      observation (the last position of its window). For ``t < W - 1`` there is no prediction
      and ``g`` is NaN; ``A`` averages the defined values (NaN where none is defined).
      ``extras["window_gradient_mean"]`` (C, W) gives the mean gradient per window position
      (lag profile) for the full picture.

    Parameters
    ----------
    model : torch.nn.Module or list of torch.nn.Module
        Sequence model (1, C, T) -> (1, T) or (1, K, T), or a window model (see above); a list
        gives AGRA.
    window : int
        Smoothing window k (k = 1 gives the per-step saliency, the paper's baseline).
    receptive_field : int, optional
        See above.
    causal : bool
        With ``receptive_field``: the model only looks back.
    input_window : int, optional
        W for a sliding-window model.

    References
    ----------
    Kiritoshi, Izumitani (NTT Communications), Time-Smoothgrad: a method extracting time-varying attribution for
    neural networks (see ``papers/000`` and the Japanese full version ``papers/002``).

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import TimeSmoothGrad
    >>> class PointWise(torch.nn.Module):
    ...     def forward(self, x):  # (N, C, T) -> (N, T)
    ...         return (x ** 2).sum(dim=1)
    >>> x = torch.ones(1, 2, 5)
    >>> TimeSmoothGrad(PointWise(), window=2, receptive_field=1).attribute(x).values[0, 0]
    array([2., 2., 2., 2., 2.], dtype=float32)
    """

    name = "time_smoothgrad"

    def __init__(
        self,
        model: nn.Module | Sequence[nn.Module],
        window: int = 10,
        receptive_field: int | None = None,
        causal: bool = False,
        input_window: int | None = None,
        **engine: Any,
    ) -> None:
        super().__init__(model, **engine)
        self.window = check_int(window, "window", minimum=1)
        self.receptive_field = (
            None if receptive_field is None else check_int(receptive_field, "receptive_field", minimum=1)
        )
        self.causal = check_bool(causal, "causal")
        self.input_window = None if input_window is None else check_int(input_window, "input_window", minimum=1)
        if self.input_window is not None and self.receptive_field is not None:
            raise ParameterError("give either input_window (a window model) or receptive_field, not both")

    def _probe(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_window is not None:
            return x[:1, :, : self.input_window]
        return x[:1]

    # ------------------------------------------------------------------ sequence model
    def _check_receptive_field(self, model: nn.Module, x: torch.Tensor, target: Target, which: str) -> None:
        """Refuse a ``receptive_field`` (and ``causal``) that ``model`` does not keep to.

        One backward pass of the middle output step over the first ``2 * (R - 1 +``
        :data:`RECEPTIVE_FIELD_MARGIN` ``) + 1`` steps of ``x`` (1, C, T): its gradient must be
        zero at every input step outside the claimed ones. The cost does not grow with T;
        dependence more than the margin beyond the claim, with none nearer, is not seen.
        """
        assert self.receptive_field is not None
        r_claim = self.receptive_field
        probe = x[:, :, : 2 * (r_claim - 1 + RECEPTIVE_FIELD_MARGIN) + 1].detach().requires_grad_(True)
        t0, t_len = probe.shape[2] // 2, probe.shape[2]
        with torch.enable_grad():
            y, _ = self._sequence_output(model, probe, target)
            (g,) = torch.autograd.grad(y[t0], probe, allow_unused=True)
        if g is None:
            return  # the output does not depend on x: the zero-gradient warning says so
        offsets = torch.nonzero(g[0].ne(0).any(0)).flatten() - t0
        claimed_hi = 0 if self.causal else r_claim - 1
        if not bool(((offsets < 1 - r_claim) | (offsets > claimed_hi)).any()):
            return
        lo, hi = min(int(offsets.min()), 0), max(int(offsets.max()), 0)
        if lo == -t0 or hi == t_len - 1 - t0:  # up to the edge of the probe: maybe further
            found = f"input steps {_step(lo)}..{_step(hi)} and possibly further"
            advice = "receptive_field=None (exact for any model)"
        else:
            r = max(-lo, hi) + 1
            found = f"input steps {_step(lo)}..{_step(hi)}"
            advice = f"receptive_field={r}{' with causal=True' if hi == 0 else ''}, or receptive_field=None"
        given = f"receptive_field={r_claim}{', causal=True' if self.causal else ''}"
        claim = ("its own input step only" if r_claim == 1 else
                 f"input steps {_step(1 - r_claim)}..{_step(claimed_hi)} only")
        raise ParameterError(
            f"time_smoothgrad: {given} says output step t depends on {claim}, but {which}output "
            f"step t depends on {found} (found from one output step's gradient on the first "
            f"{t_len} steps of the first series): pass {advice}"
        )

    def _sequence_output(self, model: nn.Module, x: torch.Tensor, target: Target) -> tuple[torch.Tensor, int | None]:
        """Model output on one series (1, C, T) as (T,), and the output index used."""
        out = model(x)
        t_len = x.shape[2]
        if not isinstance(out, torch.Tensor) or out.shape[0] != 1 or out.shape[-1] != t_len:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ModelOutputError(
                f"time_smoothgrad: the model returned {shape} for one series of shape "
                f"{tuple(x.shape)}; expected one prediction per time step, (1, {t_len}) or "
                f"(1, K, {t_len}). For a model that maps a window of W steps to one value, pass "
                f"input_window=W."
            )
        if out.ndim == 2:
            if target not in (None, 0):
                raise TargetError(f"the model has one output per step; target must be None, got {target!r}")
            return out[0], None
        if out.ndim == 3:
            k = out.shape[1]
            if k == 1 and target is None:
                return out[0, 0], None
            if not isinstance(target, int | np.integer) or isinstance(target, bool) or not 0 <= target < k:
                raise TargetError(
                    f"the model has {k} outputs per time step; pass target= an index in 0..{k - 1}"
                )
            return out[0, int(target)], int(target)
        raise ModelOutputError(f"time_smoothgrad: unexpected output shape {tuple(out.shape)}")

    def _diagonal_sequence(self, model: nn.Module, x: torch.Tensor, target: Target, pass_bytes: dict[int, int], budget: int) -> tuple[torch.Tensor, torch.Tensor, int | None]:
        """g[c, t] = d y(t) / d x_c(t) for one series x (1, C, T); returns (g (C, T), y (T,), k).

        ``pass_bytes`` caches the memory of one backward pass per model (all series of a call
        have one shape), so the sizing forward runs once per model, not once per series.
        """
        t_len = x.shape[2]
        segment = self._segment_steps(model, x, pass_bytes, budget)
        if segment < t_len:
            return self._diagonal_segments(model, x, target, pass_bytes, budget, segment)
        if self.receptive_field is None:
            period = t_len
        elif self.causal:
            period = self.receptive_field
        else:
            period = 2 * self.receptive_field - 1
        period = min(period, t_len)
        xg = x.detach().requires_grad_(True)
        with torch.enable_grad():
            y, k = self._sequence_output(model, xg, target)
            if period == 1:
                (g,) = torch.autograd.grad(y.sum(), xg)
                return g[0], y.detach(), k
            if id(model) not in pass_bytes:
                total, _ = activation_bytes(model, x)
                pass_bytes[id(model)] = 3 * total + 2 * x.numel() * x.element_size()
            per_pass = pass_bytes[id(model)]
            passes_per_chunk = max(1, min(period, budget // max(per_pass, 1)))
            phase = torch.arange(t_len, device=x.device) % period
            diag = torch.zeros_like(x[0])
            for r0 in range(0, period, passes_per_chunk):
                rs = torch.arange(r0, min(period, r0 + passes_per_chunk), device=x.device)
                cot = (phase[None, :] == rs[:, None]).to(y.dtype)  # (P, T)
                (g,) = torch.autograd.grad(y, xg, cot, is_grads_batched=True, retain_graph=True)
                # g: (P, 1, C, T); keep, at each t, the pass whose phase is t's
                hit = (phase >= r0) & (phase < r0 + len(rs))
                sel = g[(phase - r0).clamp(0, len(rs) - 1), 0, :, torch.arange(t_len)]  # (T, C)
                diag[:, hit] = sel.T[:, hit]
        return diag, y.detach(), k

    def _segment_steps(self, model: nn.Module, x: torch.Tensor, pass_bytes: dict[int, int], budget: int) -> int:
        """Steps per segment of a long series (models with a finite receptive field).

        A segment's activations, gradients and input fit in the budget; on the CPU its whole
        pass also stays below glibc's mmap threshold (memory reused from segment to segment).
        Models of unknown receptive field are not split (T).
        """
        t_len = x.shape[2]
        if self.receptive_field is None:
            return t_len
        key = -id(model)  # bytes per step, measured on a short slice (not the whole series)
        if key not in pass_bytes:
            probe_len = min(t_len, 1024)
            total, _ = activation_bytes(model, x[:, :, :probe_len])
            pass_bytes[key] = max(1, (3 * total) // probe_len)
        period = 1 if self.receptive_field == 1 else (
            self.receptive_field if self.causal else 2 * self.receptive_field - 1
        )
        steps = budget // (pass_bytes[key] * max(1, min(period, 16)))
        if x.device.type == "cpu":  # a segment's whole pass below the mmap threshold
            steps = min(steps, MMAP_THRESHOLD // pass_bytes[key])
        halo = self.receptive_field - 1
        return int(max(steps, 4 * halo + 1, 1024))

    def _diagonal_segments(
        self, model: nn.Module, x: torch.Tensor, target: Target, pass_bytes: dict[int, int],
        budget: int, segment: int,
    ) -> tuple[torch.Tensor, torch.Tensor, int | None]:
        """:meth:`_diagonal_sequence` on overlapping segments of x (1, C, T), kept at their centre.

        A step's output depends on at most ``receptive_field - 1`` steps on either side, so each
        segment is extended by that halo and only its own steps are kept: the same values as on
        the whole series, with memory that does not grow with T beyond the result.
        """
        assert self.receptive_field is not None
        halo, t_len = self.receptive_field - 1, x.shape[2]
        own = max(1, segment - 2 * halo)
        diag = torch.empty_like(x[0])
        y = torch.empty(t_len, dtype=x.dtype, device=x.device)
        k: int | None = None
        for start in range(0, t_len, own):
            stop = min(t_len, start + own)
            lo, hi = max(0, start - halo), min(t_len, stop + halo)
            g_seg, y_seg, k = self._diagonal_sequence(model, x[:, :, lo:hi], target, pass_bytes, budget)
            diag[:, start:stop] = g_seg[:, start - lo : stop - lo]
            y[start:stop] = y_seg[start - lo : stop - lo]
        return diag, y, k

    # ------------------------------------------------------------------ window model
    def _diagonal_windows(
        self, engine: Engine, x: torch.Tensor, target: Target
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, Selection]:
        """For a window model: g (C, T) with NaN before W-1, y (T,), lag profile (C, W)."""
        w = self.input_window
        assert w is not None
        c, t_len = x.shape[1], x.shape[2]
        if w > t_len:
            raise ParameterError(f"input_window={w} is longer than the series ({t_len} steps)")
        windows = x[0].unfold(1, w, 1).permute(1, 0, 2).contiguous()  # (T-W+1, C, W)
        outputs = engine.outputs(windows)
        sel = resolve_target(target, outputs)
        grads = engine.map_samples(windows, sel, 1, lambda xs, idx: xs, lambda g, xs, idx: g)
        if grads.ndim == 4:
            raise TargetError("time_smoothgrad explains one output at a time; target='all' is not supported")
        g = torch.full((c, t_len), float("nan"), dtype=x.dtype)
        g[:, w - 1 :] = grads[:, :, -1].T
        col = sel.index[:, None] if sel.index is not None else torch.zeros(len(outputs), 1, dtype=torch.long)
        y = torch.full((t_len,), float("nan"), dtype=x.dtype)
        y[w - 1 :] = outputs.gather(1, col)[:, 0]
        return g, y, grads.mean(dim=0), sel

    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine
    ) -> tuple[torch.Tensor, Selection | None, torch.Tensor | None, dict[str, Any]]:
        if isinstance(target, str):
            raise TargetError(
                f"time_smoothgrad explains one output series; target must be None or an output "
                f"index, got {target!r}"
            )
        if self.receptive_field is not None:
            for i, m in enumerate(engine.models):
                self._check_receptive_field(
                    m, x[:1], target, f"model[{i}]'s " if len(engine.models) > 1 else "the model's "
                )
        diags, preds, lags = [], [], []
        pass_bytes: dict[int, int] = {}
        sel: Selection | None = None
        for n in range(x.shape[0]):
            xn = x[n : n + 1]
            if self.input_window is not None:
                g, y, lag, sel = self._diagonal_windows(engine, xn, target)
                lags.append(lag)
            else:
                parts = [self._diagonal_sequence(m, xn, target, pass_bytes, engine.budget)
                         for m in engine.models]
                g = model_mean([p[0] for p in parts])
                y = model_mean([p[1] for p in parts])
            diags.append(g)
            preds.append(y)
        gradient = diags[0][None] if len(diags) == 1 else torch.stack(diags)  # one series: no copy
        values = trailing_mean(gradient, self.window, dtype=x.dtype)
        extras: dict[str, Any] = {"step_gradient": gradient.detach().cpu().numpy()}
        if lags:
            extras["window_gradient_mean"] = torch.stack(lags).mean(0).detach().cpu().numpy()
        return values, None, preds[0][None] if len(preds) == 1 else torch.stack(preds), extras
