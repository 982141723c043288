"""Shared type aliases."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

#: A batch of series of shape (N, C, T), as a tensor or an array.
SeriesBatch = torch.Tensor | np.ndarray

#: What to explain: None (single output), a class/output index, one index per sample,
#: "predicted" (argmax of the output) or "all" (every output at once).
Target = None | int | str | Sequence[int] | np.ndarray | torch.Tensor

#: IG baseline: "zeros", a scalar, or an array broadcastable to (N, C, T).
Baseline = str | float | int | np.ndarray | torch.Tensor
