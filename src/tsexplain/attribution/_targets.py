"""Resolve the user's ``target`` against the model's outputs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tsexplain._typing import Target
from tsexplain.exceptions import ModelOutputError, TargetError


@dataclass(frozen=True)
class Selection:
    """Which scalar of each sample's flattened output is differentiated.

    mode : "single" (the only output), "index" (``index[n]`` per sample) or "all".
    index : torch.LongTensor of shape (N,) for mode "index".
    n_outputs : K, the size of each sample's flattened output.
    """

    mode: str
    n_outputs: int
    index: torch.Tensor | None = None

    def for_samples(self, idx: torch.Tensor) -> Selection:
        """The selection restricted to samples ``idx``."""
        if self.index is None:
            return self
        return Selection(self.mode, self.n_outputs, self.index[idx])

    def repeat(self, times: int) -> Selection:
        """Each sample's entry repeated ``times`` times (sample-major rows)."""
        if self.index is None:
            return self
        return Selection(self.mode, self.n_outputs, self.index.repeat_interleave(times))

    def as_numpy(self) -> np.ndarray | None:
        return None if self.index is None else self.index.numpy().copy()


def flatten_output(out: object, n_rows: int) -> torch.Tensor:
    """Model output as (n_rows, K); a clear error when it is not one row per input."""
    if not isinstance(out, torch.Tensor):
        raise ModelOutputError(
            f"the model returned {type(out).__name__}; expected one tensor with one row per "
            f"input series (shape (N,) or (N, K))"
        )
    if out.ndim == 0 or out.shape[0] != n_rows:
        raise ModelOutputError(
            f"the model returned shape {tuple(out.shape)} for {n_rows} input series; expected "
            f"the first dimension to be the {n_rows} samples, e.g. (N,) or (N, K)"
        )
    return out.reshape(n_rows, -1)


def resolve_target(target: Target, outputs: torch.Tensor) -> Selection:
    """Turn ``target`` into a :class:`Selection` for outputs of shape (N, K).

    Raises
    ------
    TargetError
        A missing target for a multi-output model, an index out of range, a wrong length.
    """
    n, k = outputs.shape
    if target is None:
        if k != 1:
            raise TargetError(
                f"the model has {k} outputs per sample; pass target= a class or output index "
                f"(0..{k - 1}), one index per sample, 'predicted', or 'all'"
            )
        return Selection("single", k)
    if isinstance(target, str):
        if target == "all":
            return Selection("all", k)
        if target == "predicted":
            if k == 1:
                return Selection("single", k)
            return Selection("index", k, outputs.argmax(dim=1))
        raise TargetError(
            f"target must be None, an int, one int per sample, 'predicted' or 'all'; got {target!r}"
        )
    if isinstance(target, bool):
        raise TargetError(f"target must be an output index, got {target!r}")
    if isinstance(target, int | np.integer):
        idx = torch.full((n,), int(target), dtype=torch.long)
    else:
        arr = target.detach().cpu().numpy() if isinstance(target, torch.Tensor) else np.asarray(target)
        if arr.ndim == 0:
            arr = np.full(n, arr.item())
        if arr.ndim != 1 or arr.shape[0] != n:
            raise TargetError(
                f"target must be one index per sample: expected shape ({n},), got {arr.shape}"
            )
        if not np.issubdtype(arr.dtype, np.integer):
            if np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0):
                arr = arr.astype(np.int64)
            else:
                raise TargetError(f"target indices must be integers, got dtype {arr.dtype}")
        idx = torch.from_numpy(arr.astype(np.int64))
    bad = (idx < 0) | (idx >= k)
    if bool(bad.any()):
        raise TargetError(
            f"target index {int(idx[bad][0])} is out of range: the model has {k} output(s) per "
            f"sample, valid indices are 0..{k - 1}"
        )
    return Selection("index", k, idx)
