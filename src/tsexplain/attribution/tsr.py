"""Temporal Saliency Rescaling (Ismail et al. 2020), a wrapper over any registered method."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from tsexplain._targets import Selection
from tsexplain._typing import Baseline, Target
from tsexplain._validation import check_float
from tsexplain.attribution._base import Attribution
from tsexplain.attribution._engine import Engine, model_mean
from tsexplain.attribution._perturbation import describe_array, make_baseline, row_extras
from tsexplain.exceptions import ParameterError, SaturationWarning, ZeroGradientWarning

#: Rows of masked series handed to the inner method in one call.
_ROWS_PER_CALL = 4096


class TemporalSaliencyRescaling(Attribution):
    """Temporal saliency rescaling: time relevance, then feature relevance, of any method.

    Time relevance comes from masking each time step, feature relevance from masking each cell
    within the relevant steps. With ``R(.)`` the inner method (e.g. Integrated Gradients) and
    ``x`` one series (C, T), as in Ismail et al.'s Algorithm 1:

    1. time relevance: for every step ``t``, mask all channels at ``t`` (set them to the
       baseline) and score ``D_t = sum |R(x) - R(x masked at t)|``;
    2. the steps with ``D_t`` above the ``threshold_quantile`` quantile of the series' scores are
       relevant; for each relevant ``t`` and each channel ``c``, mask the one cell (c, t) and
       score ``F_{c,t} = sum |R(x) - R(x masked at (c, t))|``; ``F = 0`` at the other steps;
    3. ``A[c, t] = D_t * F_{c,t}``.

    Non-negative (a relevance, not a signed contribution). For a single channel ``F_{0,t}`` equals
    ``D_t`` (masking the cell masks the step), so ``A = D_t^2`` on the relevant steps without
    further calls. ``result.extras["time_relevance"]`` holds ``D`` (N, T).

    Parameters
    ----------
    model : torch.nn.Module or list of torch.nn.Module
        Model(s) mapping (N, C, T) to (N,) or (N, K); a list averages the rescaled maps of the
        single models (AGRA).
    base_method : str
        The inner method, a name from :data:`tsexplain.attribution.METHODS`.
    base_params : dict, optional
        Parameters of the inner method (e.g. ``{"steps": 16}``).
    baseline : "zeros", "mean", float or array
        Value of the masked cells (the paper masks with 0).
    threshold_quantile : float
        In [0, 1): the steps whose time relevance exceeds this quantile of the series' scores
        are relevant (the authors' code uses 0.55).

    Notes
    -----
    Cost: ``T + 1`` calls of the inner method per series, plus ``C`` per relevant step
    (``(1 - threshold_quantile) T C``) when C > 1; the masked series are batched into large calls
    of the inner method, which shares the memory budget.

    References
    ----------
    Ismail, Gunady, Corrada Bravo, Feizi (2020), Benchmarking deep learning interpretability in
    time series predictions. NeurIPS.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import TemporalSaliencyRescaling
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 8), torch.nn.Tanh(),
    ...                             torch.nn.Linear(8, 1))
    >>> res = TemporalSaliencyRescaling(model, base_method="saliency").attribute(torch.randn(2, 2, 6))
    >>> res.shape, res.extras["time_relevance"].shape
    ((2, 2, 6), (2, 6))
    """

    name = "tsr"
    kind = "perturbation"
    signed = False
    uses_baseline = True

    def __init__(
        self,
        model: nn.Module | Sequence[nn.Module],
        base_method: str = "saliency",
        base_params: Mapping[str, Any] | None = None,
        baseline: Baseline = "zeros",
        threshold_quantile: float = 0.55,
        **engine: Any,
    ) -> None:
        super().__init__(model, **engine)
        from tsexplain.attribution import METHODS, check_method_params

        if base_method not in METHODS or base_method == self.name:
            raise ParameterError(
                f"tsr: base_method must be one of "
                f"{', '.join(sorted(m for m in METHODS if m != self.name))}; got {base_method!r}"
            )
        self.base_method = base_method
        if base_params is not None and not isinstance(base_params, Mapping):
            raise ParameterError(
                f"tsr: base_params must be a mapping of {base_method}'s parameters "
                f"(e.g. {{'steps': 16}}) or None; got {type(base_params).__name__} {base_params!r}"
            )
        self.base_params = check_method_params(base_method, dict(base_params or {}), engine_options=())
        self.baseline = baseline
        q = check_float(threshold_quantile, "threshold_quantile", minimum=0.0)
        if q >= 1.0:
            raise ParameterError(f"threshold_quantile must be in [0, 1), got {threshold_quantile}")
        self.threshold_quantile = q
        self._inner_cls = METHODS[base_method]
        # fail early on parameters the inner method does not take
        self._inner(self.models[0])

    def params(self) -> dict[str, Any]:
        p = super().params()
        p["baseline"] = describe_array(p["baseline"])
        return p

    def _inner(self, model: nn.Module) -> Attribution:
        return self._inner_cls(
            model, **self.base_params, memory_budget=self.memory_budget, progress=False,
            fold_batchnorm=self.fold_batchnorm, rows_per_chunk=self.rows_per_chunk,
        )

    def _inner_values(
        self, inner: Attribution, rows: torch.Tensor, target: torch.Tensor | None,
        extras: tuple[torch.Tensor, ...],
    ) -> torch.Tensor:
        """The inner method on ``rows`` (R, C, T) in calls of bounded size: (R, C, T)."""
        out = []
        for i in range(0, rows.shape[0], _ROWS_PER_CALL):
            part = slice(i, i + _ROWS_PER_CALL)
            kw: dict[str, Any] = {"additional_inputs": tuple(e[part] for e in extras)} if extras else {}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ZeroGradientWarning)
                warnings.simplefilter("ignore", SaturationWarning)
                res = inner.attribute(rows[part], target=None if target is None else target[part], **kw)
            out.append(torch.as_tensor(res.values, device=rows.device, dtype=rows.dtype))
        return torch.cat(out)

    def _rescale(
        self, inner: Attribution, x: torch.Tensor, base: torch.Tensor, target: torch.Tensor | None,
        engine: Engine,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """TSR of every series of ``x`` with one inner model: (N, C, T) and time relevance (N, T)."""
        n, c, t = x.shape
        per_sample = t + 1
        step = max(1, _ROWS_PER_CALL // per_sample)
        values, relevance = [], []
        eye_t = torch.eye(t, dtype=torch.bool, device=x.device)
        for start in range(0, n, step):
            idx = torch.arange(start, min(n, start + step))
            xs, bs = x[idx], base[idx]
            # row 0: the series; row 1 + s: all channels masked at step s
            masked = torch.where(eye_t[:, None, :], bs[:, None], xs[:, None])  # (n, T, C, T)
            rows = torch.cat([xs[:, None], masked], dim=1).reshape(-1, c, t)
            tgt = None if target is None else target[idx].repeat_interleave(per_sample)
            r = self._inner_values(inner, rows, tgt, row_extras(engine, idx, per_sample))
            r = r.reshape(len(idx), per_sample, c, t)
            r0 = r[:, 0]
            d_time = (r0[:, None] - r[:, 1:]).abs().sum(dim=(2, 3))  # (n, T)
            alpha = torch.quantile(d_time.double(), self.threshold_quantile, dim=1).to(d_time)
            relevant = d_time > alpha[:, None]
            feature = torch.zeros(len(idx), c, t, dtype=x.dtype, device=x.device)
            if c == 1:
                feature[:, 0] = torch.where(relevant, d_time, torch.zeros_like(d_time))
            else:
                cells = relevant.nonzero()  # (m, 2): (sample in chunk, step)
                if len(cells):
                    which = cells[:, 0].repeat_interleave(c)
                    steps = cells[:, 1].repeat_interleave(c)
                    chans = torch.arange(c, device=x.device).repeat(len(cells))
                    rows_f = xs[which].clone()
                    rows_f[torch.arange(len(which)), chans, steps] = bs[which, chans, steps]
                    tgt_f = None if target is None else target[idx][which]
                    ex = tuple(e[which] for e in row_extras(engine, idx, 1))
                    rf = self._inner_values(inner, rows_f, tgt_f, ex)
                    scores = (r0[which] - rf).abs().sum(dim=(1, 2))
                    feature[which, chans, steps] = scores
            values.append(feature * d_time[:, None, :])
            relevance.append(d_time)
        return torch.cat(values), torch.cat(relevance)

    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine
    ) -> tuple[torch.Tensor, Selection, torch.Tensor, dict[str, Any]]:
        sel, outputs = self._select(x, target, engine)
        base = make_baseline(self.baseline, x)
        ks: list[int | None] = list(range(sel.n_outputs)) if sel.mode == "all" else [None]
        per_k_values, per_k_rel = [], []
        for k in ks:
            if k is not None:
                tgt: torch.Tensor | None = torch.full((x.shape[0],), k, dtype=torch.long)
            else:
                tgt = sel.index if sel.mode == "index" else None
            vals, rels = [], []
            for model in self.models:
                v, d = self._rescale(self._inner(model), x, base, tgt, engine)
                vals.append(v)
                rels.append(d)
            per_k_values.append(model_mean(vals))
            per_k_rel.append(model_mean(rels))
        if sel.mode == "all":
            values = torch.stack(per_k_values, dim=1)
            rel = torch.stack(per_k_rel, dim=1)
        else:
            values, rel = per_k_values[0], per_k_rel[0]
        return values, sel, outputs, {"time_relevance": rel.detach().cpu().numpy()}
