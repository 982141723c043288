"""SmoothGrad: the gradient averaged over noisy copies of the input (Smilkov et al. 2017).

The registered ``"smoothgrad"`` is :class:`~tsexplain.attribution.NoiseTunnel` over saliency.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from tsexplain._validation import check_bool
from tsexplain.attribution._base import Attribution, check_parameters
from tsexplain.attribution.gradient_x_input import times_input
from tsexplain.attribution.noise_tunnel import NoiseTunnel, pop_deprecated_draws, sample_generator
from tsexplain.attribution.saliency import Saliency

__all__ = ["SmoothGrad", "sample_generator"]


class SmoothGrad(NoiseTunnel):
    """Mean gradient over ``n_draws`` noisy copies of each series.

    ``A[n] = 1/S sum_s grad f(x_n + e_s)``, ``e_s ~ N(0, sigma_n^2)`` with
    ``sigma_n = noise * (max(x_n) - min(x_n))`` (the sample's value range, as Smilkov et al.
    scale noise to the input range; ``noise_scope="channel"`` uses each channel's own range).
    Signed; ``absolute=True`` returns ``|A|``; ``multiply_by_inputs=True`` multiplies the mean
    gradient by the input (SmoothGrad on gradient x input). ``strategy="smoothgrad_sq"`` gives
    the mean squared gradient and ``"vargrad"`` its variance over the draws. This is
    :class:`NoiseTunnel` over saliency; wrap any other method with ``NoiseTunnel``.

    Parameters
    ----------
    model : torch.nn.Module or list of torch.nn.Module
        Model(s) mapping (N, C, T) to (N,) or (N, K); a list gives AGRA.
    n_draws : int
        Noisy copies per series (``n_samples``, its former name, still works with a
        DeprecationWarning).
    noise : float
        Noise standard deviation as a fraction of each series' value range (>= 0; 0 gives
        plain saliency).
    seed : int
        Seed of the noise; each series draws from its own stream, derived from the seed and the
        series' values (see :func:`sample_generator`).
    noise_scope : {"sample", "channel"}
        Range used to scale the noise.
    absolute : bool
        Return the absolute value of the mean gradient.
    multiply_by_inputs : bool
        Multiply the mean gradient by the (noise-free) input.
    strategy : {"smoothgrad", "smoothgrad_sq", "vargrad"}
        Reduction over the draws: mean, mean of squares, variance.

    Notes
    -----
    Cost: ``n_draws`` forward and backward passes per series, batched and chunked.

    References
    ----------
    Smilkov et al. (2017), SmoothGrad: removing noise by adding noise. arXiv:1706.03825.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import SmoothGrad
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 1))
    >>> res = SmoothGrad(model, n_draws=8, noise=0.1, seed=0).attribute(torch.randn(3, 2, 3))
    >>> res.shape
    (3, 2, 3)
    """

    name = "smoothgrad"
    kind = "gradient"
    unit = "output per input unit"
    attributes_additional = True

    def __init__(
        self,
        model: nn.Module | Sequence[nn.Module],
        n_draws: int = 50,
        noise: float = 0.15,
        seed: int = 0,
        noise_scope: str = "sample",
        absolute: bool = False,
        multiply_by_inputs: bool = False,
        strategy: str = "smoothgrad",
        **engine: Any,
    ) -> None:
        n_draws = pop_deprecated_draws(n_draws, engine, "SmoothGrad")
        check_parameters(type(self), engine)  # named as SmoothGrad's, not the wrapped Saliency's
        super().__init__(
            Saliency, model, n_draws=n_draws, noise=noise, seed=seed, strategy=strategy,
            noise_scope=noise_scope, **engine,
        )
        self.absolute = check_bool(absolute, "absolute")
        self.multiply_by_inputs = check_bool(multiply_by_inputs, "multiply_by_inputs")

    def params(self) -> dict[str, Any]:
        return Attribution.params(self)

    def _result_signed(self) -> bool:
        return self.strategy == "smoothgrad" and not self.absolute

    def _finish(self, values: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        if self.multiply_by_inputs:
            values = times_input(values, xs)
        return values.abs() if self.absolute else values
