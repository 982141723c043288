"""Turn a ``seed=`` argument into a numpy random generator."""

from __future__ import annotations

import numpy as np

from tsexplain.exceptions import ParameterError

#: What ``seed=`` accepts: an int, a numpy Generator (used as is) or None (fresh entropy).
Seed = int | np.integer | np.random.Generator | None


def as_generator(seed: Seed, name: str = "seed") -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for ``seed``."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ParameterError(
            f"{name} must be a non-negative int, a numpy.random.Generator or None; got {seed!r}."
        )
    return np.random.default_rng(int(seed))
