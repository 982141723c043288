"""SmoothGrad: the gradient averaged over noisy copies of the input (Smilkov et al. 2017)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from tsexplain._typing import Target
from tsexplain._validation import check_choice, check_float, check_int
from tsexplain.attribution._base import Attribution
from tsexplain.attribution._engine import Engine
from tsexplain.attribution._targets import Selection
from tsexplain.attribution.gradient_x_input import times_input


def sample_generator(seed: int, series: torch.Tensor) -> torch.Generator:
    """A noise generator that depends only on ``seed`` and the series' values (C, T).

    Each series gets its own noise stream, so a series' result does not depend on the batch it
    is in, on its position there, on the chunk size or on the number of workers.
    """
    digest = hashlib.blake2b(series.detach().cpu().numpy().tobytes(), digest_size=8).digest()
    state = np.random.SeedSequence([seed, int.from_bytes(digest, "little")])
    words = state.generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(words[0]) << 31 | int(words[1]) >> 1)


class SmoothGrad(Attribution):
    """Mean gradient over ``n_samples`` noisy copies of each series.

    ``A[n] = 1/S sum_s grad f(x_n + e_s)``, ``e_s ~ N(0, sigma_n^2)`` with
    ``sigma_n = noise * (max(x_n) - min(x_n))`` (the sample's value range, as Smilkov et al.
    scale noise to the input range; ``noise_scope="channel"`` uses each channel's own range).
    Signed; ``absolute=True`` returns ``|A|``; ``multiply_by_inputs=True`` multiplies the mean
    gradient by the input (SmoothGrad on gradient x input).

    Parameters
    ----------
    model : torch.nn.Module or list of torch.nn.Module
        Model(s) mapping (N, C, T) to (N,) or (N, K); a list gives AGRA.
    n_samples : int
        Noisy copies per series.
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

    Notes
    -----
    Cost: ``n_samples`` forward and backward passes per series, batched and chunked.

    References
    ----------
    Smilkov et al. (2017), SmoothGrad: removing noise by adding noise. arXiv:1706.03825.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.attribution import SmoothGrad
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 1))
    >>> res = SmoothGrad(model, n_samples=8, noise=0.1, seed=0).attribute(torch.randn(3, 2, 3))
    >>> res.shape
    (3, 2, 3)
    """

    name = "smoothgrad"
    randomized = True

    def __init__(
        self,
        model: nn.Module | Sequence[nn.Module],
        n_samples: int = 50,
        noise: float = 0.15,
        seed: int = 0,
        noise_scope: str = "sample",
        absolute: bool = False,
        multiply_by_inputs: bool = False,
        **engine: Any,
    ) -> None:
        super().__init__(model, **engine)
        self.n_samples = check_int(n_samples, "n_samples", minimum=1)
        self.noise = check_float(noise, "noise", minimum=0.0)
        self.seed = check_int(seed, "seed")
        self.noise_scope = check_choice(noise_scope, "noise_scope", ("sample", "channel"))
        self.absolute = bool(absolute)
        self.multiply_by_inputs = bool(multiply_by_inputs)

    def _noisy_rows(self, xs: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        dims = (1, 2) if self.noise_scope == "sample" else (2,)
        sigma = self.noise * (xs.amax(dim=dims, keepdim=True) - xs.amin(dim=dims, keepdim=True))
        rows = []
        for j in range(xs.shape[0]):
            eps = torch.randn(
                (self.n_samples, *xs.shape[1:]), generator=sample_generator(self.seed, xs[j])
            ).to(dtype=xs.dtype, device=xs.device)
            rows.append(xs[j] + sigma[j] * eps)
        return torch.cat(rows)

    def _attribute(
        self, x: torch.Tensor, target: Target, engine: Engine
    ) -> tuple[torch.Tensor, Selection, torch.Tensor, dict[str, Any]]:
        sel, outputs = self._select(x, target, engine)
        s = self.n_samples

        def reduce(g: torch.Tensor, xs: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            mean = g.reshape(xs.shape[0], s, *g.shape[1:]).mean(dim=1)
            if self.multiply_by_inputs:
                mean = times_input(mean, xs)
            return mean.abs() if self.absolute else mean

        values = engine.map_samples(x, sel, s, self._noisy_rows, reduce)
        return values, sel, outputs, {}
