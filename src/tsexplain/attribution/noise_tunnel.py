"""NoiseTunnel: any attribution method averaged over noisy copies of the input.

SmoothGrad (Smilkov et al. 2017), SmoothGrad-squared and VarGrad (Adebayo et al. 2018) are one
wrapper around any registered method, as Captum's ``NoiseTunnel`` does.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from tsexplain._targets import Selection
from tsexplain._typing import Target
from tsexplain._validation import check_choice, check_float, check_int
from tsexplain.attribution._base import ENGINE_OPTIONS, Attribution
from tsexplain.attribution._engine import Engine, _cat_extras, series_bar
from tsexplain.exceptions import ParameterError

#: Reductions over the noise draws: mean, mean of squares, variance.
STRATEGIES = ("smoothgrad", "smoothgrad_sq", "vargrad")


def sample_generator(seed: int, series: torch.Tensor) -> torch.Generator:
    """A noise generator that depends only on ``seed`` and the series' values (C, T).

    Each series gets its own noise stream, so a series' result does not depend on the batch it
    is in, on its position there, on the chunk size or on the number of workers.
    """
    digest = hashlib.blake2b(series.detach().cpu().numpy().tobytes(), digest_size=8).digest()
    state = np.random.SeedSequence([seed, int.from_bytes(digest, "little")])
    words = state.generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(words[0]) << 31 | int(words[1]) >> 1)


def noisy_copies(
    xs: torch.Tensor, n_draws: int, noise: float, seed: int, noise_scope: str = "sample"
) -> torch.Tensor:
    """``n_draws`` noisy copies of each series of ``xs`` (n, C, T), sample-major: (n * S, C, T).

    Copy ``s`` of series ``j`` is ``xs[j] + sigma_j * e``, ``e ~ N(0, 1)`` drawn from
    :func:`sample_generator` (seed, series), ``sigma_j = noise * (max - min)`` of the series
    (``noise_scope="channel"``: of each channel).
    """
    dims = (1, 2) if noise_scope == "sample" else (2,)
    sigma = noise * (xs.amax(dim=dims, keepdim=True) - xs.amin(dim=dims, keepdim=True))
    rows = []
    for j in range(xs.shape[0]):
        eps = torch.randn((n_draws, *xs.shape[1:]), generator=sample_generator(seed, xs[j])).to(
            dtype=xs.dtype, device=xs.device
        )
        rows.append(xs[j] + sigma[j] * eps)
    return torch.cat(rows)


def reduce_draws(values: torch.Tensor, n_draws: int, strategy: str) -> torch.Tensor:
    """Reduce sample-major draws (n * S, ...) to (n, ...): mean, mean of squares or variance."""
    v = values.reshape(-1, n_draws, *values.shape[1:])
    if strategy == "smoothgrad":
        return v.mean(dim=1)
    square = (v * v).mean(dim=1)
    if strategy == "smoothgrad_sq":
        return square
    mean = v.mean(dim=1)
    return square - mean * mean  # VarGrad, as Captum computes it


def pop_deprecated_draws(n_draws: int, engine: dict[str, Any], owner: str) -> int:
    """Accept the old keyword ``n_samples`` for ``n_draws`` (with a DeprecationWarning)."""
    if "n_samples" in engine:
        old = engine.pop("n_samples")
        warnings.warn(
            f"{owner}: n_samples is renamed n_draws (the number of noise draws); n_samples will "
            f"be removed in the next release",
            DeprecationWarning,
            stacklevel=3,
        )
        return old  # checked by the constructor like n_draws
    return n_draws


class NoiseTunnel(Attribution):
    """Any attribution method averaged over ``n_draws`` noisy copies of each series.

    ``A[n] = R_s M(x_n + e_s)``, ``e_s ~ N(0, sigma_n^2)``, ``sigma_n = noise * (max(x_n) -
    min(x_n))`` (Smilkov et al. scale the noise to the input range; ``noise_scope="channel"``
    uses each channel's range), where ``M`` is the wrapped method and ``R`` the ``strategy``:

    * ``"smoothgrad"``: the mean (SmoothGrad); signed when ``M`` is.
    * ``"smoothgrad_sq"``: the mean of squares (SmoothGrad-squared); non-negative.
    * ``"vargrad"``: the variance, ``mean(M^2) - mean(M)^2`` (VarGrad); non-negative.

    The noisy copies of all series go through the engine together, in chunks of the memory
    budget; the wrapped method sees them as ``N * n_draws`` series (additional inputs and
    per-call arrays with one row per series are repeated with them).

    Parameters
    ----------
    method : str or Attribution subclass
        The wrapped method, a name of ``METHODS`` (e.g. ``"integrated_gradients"``) or a class.
    model : torch.nn.Module or list of torch.nn.Module
        Model(s) mapping (N, C, T) to (N,) or (N, K); a list gives AGRA.
    n_draws : int
        Noisy copies per series.
    noise : float
        Noise standard deviation as a fraction of each series' value range (>= 0).
    seed : int
        Seed of the noise; each series draws from its own stream, derived from the seed and the
        series' values (see :func:`sample_generator`).
    strategy : {"smoothgrad", "smoothgrad_sq", "vargrad"}
        Reduction over the draws.
    noise_scope : {"sample", "channel"}
        Range used to scale the noise.
    method_params : mapping, optional
        Parameters of the wrapped method whose names clash with the tunnel's own (e.g. the
        ``n_draws`` of GradientSHAP).
    **inner_params
        Parameters of the wrapped method (e.g. ``steps=32``) and the engine options.

    Notes
    -----
    Cost: ``n_draws`` times the wrapped method's.

    References
    ----------
    Smilkov et al. (2017), SmoothGrad: removing noise by adding noise. arXiv:1706.03825.
    Adebayo et al. (2018), Local explanation methods for deep neural networks lack
    sensitivity to parameter values. arXiv:1810.03307.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import NoiseTunnel
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 1), torch.nn.Tanh())
    >>> nt = NoiseTunnel("integrated_gradients", model, n_draws=8, strategy="vargrad", steps=16)
    >>> res = nt.attribute(torch.randn(3, 2, 3))
    >>> res.shape, res.params["method"], res.signed
    ((3, 2, 3), 'integrated_gradients', False)
    """

    name = "noise_tunnel"
    randomized = True
    cost_params = ("n_draws",)
    deprecated_params = {"n_samples": "n_draws"}

    def __init__(
        self,
        method: str | type[Attribution],
        model: nn.Module | Sequence[nn.Module],
        n_draws: int = 50,
        noise: float = 0.15,
        seed: int = 0,
        strategy: str = "smoothgrad",
        noise_scope: str = "sample",
        method_params: Mapping[str, Any] | None = None,
        **inner_params: Any,
    ) -> None:
        n_draws = pop_deprecated_draws(n_draws, inner_params, type(self).__name__)
        engine = {k: inner_params.pop(k) for k in ENGINE_OPTIONS if k in inner_params}
        inner_params = {**inner_params, **(method_params or {})}
        super().__init__(model, **engine)
        inner_cls = self._inner_class(method)
        self.inner = inner_cls(model, **engine, **inner_params)
        self.method = inner_cls.name
        self.n_draws = check_int(n_draws, "n_draws", minimum=1)
        self.noise = check_float(noise, "noise", minimum=0.0)
        self.seed = check_int(seed, "seed")
        self.strategy = check_choice(strategy, "strategy", STRATEGIES)
        self.noise_scope = check_choice(noise_scope, "noise_scope", ("sample", "channel"))

    @staticmethod
    def _inner_class(method: str | type[Attribution]) -> type[Attribution]:
        if isinstance(method, type) and issubclass(method, Attribution):
            cls = method
        elif isinstance(method, str):
            from tsexplain.attribution import METHODS, get_method

            cls = get_method(method)
            if method not in METHODS:
                raise ParameterError(f"NoiseTunnel wraps (N, C, T) methods; {method!r} is a sequence method")
        else:
            raise ParameterError(
                f"method must be a method name or an Attribution class, got {type(method).__name__}"
            )
        if cls.sequence_method:
            raise ParameterError(f"NoiseTunnel wraps (N, C, T) methods; {cls.name!r} is a sequence method")
        return cls

    def params(self) -> dict[str, Any]:
        own = {k: getattr(self, k) for k in self.parameters() if k not in ("method", "method_params")}
        return {"method": self.method, **own, **self.inner.params()}

    def _result_signed(self) -> bool:
        return self.strategy == "smoothgrad" and self.inner._result_signed()

    def _attributes_additional(self) -> bool:
        return self.inner._attributes_additional()

    def _fold_keep(self, index: int) -> frozenset[str]:
        return self.inner._fold_keep(index)

    def _check_call_params(self, call_params: dict[str, Any]) -> dict[str, Any]:
        return self.inner._check_call_params(call_params)

    # ----------------------------------------------------------------- computation
    def _noisy_rows(self, xs: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return noisy_copies(xs, self.n_draws, self.noise, self.seed, self.noise_scope)

    def _finish(self, values: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        """Post-processing of the reduced values of series ``xs`` (identity here)."""
        return values

    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine, **call: Any
    ) -> tuple[torch.Tensor, Selection, torch.Tensor, dict[str, Any]]:
        sel, outputs = self._select(x, target, engine)
        return self._tunnel(x, sel, engine, call), sel, outputs, {}

    def _attribute_selected(
        self, x: torch.Tensor, sel: Selection, engine: Engine, **call: Any
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        return self._tunnel(x, sel, engine, call), {}

    def _tunnel(self, x: torch.Tensor, sel: Selection, engine: Engine, call: dict[str, Any]) -> torch.Tensor:
        """Groups of series whose noisy copies fill about one chunk, through the inner method."""
        s, n = self.n_draws, x.shape[0]
        step = engine.chunk(sel.n_outputs if sel.mode == "all" else 1)
        per_group = max(1, step // s)
        total_rows = n * s * len(engine.models)
        progress = engine.progress
        additional, results = engine.additional, []
        extra_parts: list[tuple[torch.Tensor | None, ...]] = []
        engine.progress = False  # one bar, over the series, here
        try:
            with series_bar(n, self.name, progress, total_rows) as bar:
                for start in range(0, n, per_group):
                    idx = torch.arange(start, min(n, start + per_group))
                    xs = x[idx]
                    rows = self._noisy_rows(xs, idx)
                    engine.additional = tuple(a[idx].repeat_interleave(s, dim=0) for a in additional)
                    g, _ = self.inner._attribute_selected(
                        rows, sel.for_samples(idx).repeat(s), engine, **self._rows_call(call, idx, n)
                    )
                    results.append(self._finish(reduce_draws(g, s, self.strategy), xs))
                    if engine.attribute_additional:
                        extra_parts.append(tuple(
                            None if v is None else reduce_draws(v, s, self.strategy)
                            for v in engine.additional_values
                        ))
                    bar.update(len(idx))
        finally:
            engine.progress, engine.additional = progress, additional
        if engine.attribute_additional:
            engine.additional_values = _cat_extras(extra_parts)
        return torch.cat(results) if len(results) > 1 else results[0]

    def _rows_call(self, call: dict[str, Any], idx: torch.Tensor, n: int) -> dict[str, Any]:
        """Per-call arrays with one row per series (e.g. an (N, C, T) baseline), repeated per draw."""
        out = {}
        for k, v in call.items():
            if isinstance(v, np.ndarray | torch.Tensor) and v.ndim == 3 and v.shape[0] == n and n > 1:
                out[k] = torch.as_tensor(v)[idx].repeat_interleave(self.n_draws, dim=0)
            else:
                out[k] = v
        return out
