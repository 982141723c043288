"""Which output of a model is explained: the one target resolver of the package.

Every public entry point that takes ``target=`` (attribution, metrics, network, plotting, the
command line, the server, scale) resolves it here, with one set of rules and one default:

============================  ===============================================================
``target``                    meaning
============================  ===============================================================
``None`` (the default)        the only output of a single-output model; an error naming the
                              choices for a model with several outputs
``k`` (an int)                output ``k`` for every sample, ``0 <= k < K``; negative indices
                              are rejected (write ``K - 1``, not ``-1``)
``[k_1, ..., k_N]``           one output index per sample (ints, or floats that are whole
                              numbers; ``True``/``False`` and ``2.5`` are rejected)
``"predicted"``               the argmax of each sample's outputs (for one output, that one)
``"all"``                     every output (per-output results of shape (N, K, ...)) where the
                              entry point can return them; a :class:`TargetError` elsewhere
============================  ===============================================================

Anything else (another string, an index ``>= K``, ``2**63``, a wrong length) raises the same
:class:`~tsexplain.exceptions.TargetError`. Class *labels* are mapped to indices before this
resolver (by the data layer); the resolver only sees indices.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from tsexplain._typing import Target
from tsexplain.exceptions import ModelOutputError, TargetError

#: The string targets and what they mean.
TARGET_WORDS = ("predicted", "all")

_CHOICES = "an output index, one index per sample, 'predicted' or 'all'"


@dataclass(frozen=True)
class Selection:
    """Which scalar of each sample's flattened output is explained.

    Attributes
    ----------
    mode : {"single", "index", "all"}
        "single": the only output (K = 1); "index": ``index[n]`` for sample n; "all": every output.
    n_outputs : int
        K, the size of each sample's flattened output.
    index : torch.LongTensor of shape (N,) or None
        Set for mode "index".
    """

    mode: Literal["single", "index", "all"]
    n_outputs: int
    index: torch.Tensor | None = None

    def for_samples(self, idx: torch.Tensor | slice) -> Selection:
        """The selection restricted to samples ``idx``."""
        if self.index is None:
            return self
        return Selection(self.mode, self.n_outputs, self.index[idx])

    def repeat(self, times: int) -> Selection:
        """Each sample's entry repeated ``times`` times (sample-major rows)."""
        if self.index is None:
            return self
        return Selection(self.mode, self.n_outputs, self.index.repeat_interleave(times))

    def indices(self, n: int, device: torch.device | str | None = None) -> torch.Tensor:
        """One output index per sample, shape (N,) (zeros for a single output).

        Raises :class:`TargetError` for mode "all", which has no single index per sample.
        """
        if self.mode == "all":
            raise TargetError("target='all' selects every output; there is no single index")
        if self.index is None:
            return torch.zeros(n, dtype=torch.long, device=device)
        return self.index.to(device) if device is not None else self.index

    def as_numpy(self) -> np.ndarray | None:
        """The per-sample indices as an int64 array (None for "single" and "all")."""
        return None if self.index is None else self.index.cpu().numpy().copy()


def flatten_output(out: object, n_rows: int) -> torch.Tensor:
    """Model output as (N, K); (N,) becomes (N, 1), (N, a, b) becomes (N, a * b).

    Raises :class:`ModelOutputError` when the output is not a tensor with one row per input.
    """
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


def _check_index(value: Any, k: int, what: str = "target index") -> int:
    """One index: an int (or whole float) in [0, K); the one message for each way to miss."""
    if isinstance(value, bool | np.bool_):
        raise TargetError(f"target must be an output index or one index per sample, got {value!r} "
                          f"(a bool); pass {_CHOICES}")
    if isinstance(value, numbers.Integral):
        i = int(value)
    elif isinstance(value, numbers.Real):
        f = float(value)
        if not np.isfinite(f) or f != np.floor(f):
            raise TargetError(
                f"target indices must be whole numbers, got {value!r}; output indices are never "
                f"rounded or truncated"
            )
        i = int(f)
    else:
        raise TargetError(f"target must be None, {_CHOICES}; got {value!r}")
    if i < 0:
        raise TargetError(
            f"{what} {i} is negative; negative indices are not accepted: valid indices are "
            f"0..{k - 1} (write {k - 1} for the last output)"
        )
    if i >= k:
        raise TargetError(
            f"{what} {i} is out of range: the model has {k} output(s) per sample, valid indices "
            f"are 0..{k - 1}"
        )
    return i


def _indices_from_array(arr: np.ndarray, k: int) -> np.ndarray:
    """Checked int64 indices from a 1-D numeric array (the same rules as :func:`_check_index`)."""
    if arr.dtype == object:
        return np.array([_check_index(v, k) for v in arr], dtype=np.int64)
    if arr.dtype == np.bool_:
        raise TargetError(f"target must hold output indices, got booleans; pass {_CHOICES}")
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr) | (arr != np.floor(arr))
        if bool(bad.any()):
            _check_index(float(arr[bad][0]), k)  # raises the whole-number message
    elif not np.issubdtype(arr.dtype, np.integer):
        raise TargetError(f"target indices must be integers, got dtype {arr.dtype}")
    if arr.size:
        low, high = arr.min(), arr.max()
        if low < 0:
            _check_index(int(low), k)
        if high >= k:
            _check_index(int(high), k)
    return arr.astype(np.int64)


def resolve_target(
    target: Target, outputs: torch.Tensor, *, allow_all: bool = True, where: str | None = None
) -> Selection:
    """Turn ``target`` into a :class:`Selection` for model outputs of shape (N, K).

    Parameters
    ----------
    target : None, int, sequence/array/tensor of N ints, "predicted" or "all"
        See the module docstring for the rules.
    outputs : torch.Tensor of shape (N, K) (or (N,), taken as K = 1)
        The model's outputs on the N samples ("predicted" takes their argmax).
    allow_all : bool
        Whether the caller can return per-output results; if not, ``"all"`` is a TargetError.
    where : str, optional
        The entry point's name, used in the "all" message.

    Returns
    -------
    Selection

    Raises
    ------
    TargetError
        A missing target for a multi-output model, a negative or out-of-range index, a
        non-whole or boolean index, a wrong length, an unknown string, "all" where unsupported.

    Examples
    --------
    >>> import torch
    >>> out = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1]])
    >>> resolve_target("predicted", out).index.tolist()
    [1, 0]
    >>> resolve_target([2, 2.0], out).index.tolist()
    [2, 2]
    >>> resolve_target(-1, out)
    Traceback (most recent call last):
    ...
    tsexplain.exceptions.TargetError: target index -1 is negative; negative indices are not accepted: valid indices are 0..2 (write 2 for the last output)
    """
    if outputs.ndim == 1:
        outputs = outputs[:, None]
    n, k = outputs.shape[0], int(np.prod(outputs.shape[1:], dtype=np.int64))
    if target is None:
        if k != 1:
            raise TargetError(
                f"the model has {k} outputs per sample, so target=None is ambiguous; pass "
                f"target= an output index (0..{k - 1}), a list of one index per sample, "
                f"'predicted' or 'all'"
            )
        return Selection("single", k)
    if isinstance(target, str):
        if target == "predicted":
            if k == 1:
                return Selection("single", k)
            return Selection("index", k, outputs.detach().reshape(n, k).argmax(dim=1).cpu())
        if target == "all":
            if not allow_all:
                raise TargetError(
                    f"target='all' is not supported by {where or 'this function'}: it returns "
                    f"one result per sample; pass an output index, one index per sample or "
                    f"'predicted' (and call it once per output)"
                )
            return Selection("all", k)
        raise TargetError(
            f"target must be None, {_CHOICES}; got the string {target!r}"
            + (" (class labels are mapped to indices by the data layer, e.g. the command "
               "line's --target label)" if target == "label" else "")
        )
    if isinstance(target, torch.Tensor):
        arr = target.detach().cpu().numpy()
    elif isinstance(target, np.ndarray):
        arr = target
    elif isinstance(target, list | tuple | range):
        arr = np.empty(len(target), dtype=object)
        arr[:] = list(target)
    else:
        idx = _check_index(target, k)
        return Selection("index", k, torch.full((n,), idx, dtype=torch.long))
    if arr.ndim == 0:
        idx = _check_index(arr.item(), k)
        return Selection("index", k, torch.full((n,), idx, dtype=torch.long))
    if arr.ndim != 1 or arr.shape[0] != n:
        raise TargetError(
            f"target must be one output index per sample: expected {n} entries (shape ({n},)), "
            f"got shape {arr.shape}"
        )
    return Selection("index", k, torch.from_numpy(_indices_from_array(arr, k)))


def select_outputs(outputs: torch.Tensor, selection: Selection) -> torch.Tensor:
    """The explained scalar of each sample, shape (N,) (differentiable; not for mode "all")."""
    out2 = outputs if outputs.ndim == 2 else outputs.reshape(outputs.shape[0], -1)
    idx = selection.indices(out2.shape[0], out2.device)
    return out2.gather(1, idx[:, None])[:, 0]


def target_indices(
    target: Target, outputs: torch.Tensor, *, where: str | None = None
) -> torch.Tensor:
    """One output index per sample, shape (N,), for entry points that explain one output.

    The rules of :func:`resolve_target` with ``"all"`` rejected.
    """
    sel = resolve_target(target, outputs, allow_all=False, where=where)
    return sel.indices(outputs.shape[0], outputs.device)


def slice_target(target: Target, start: int, stop: int) -> Target:
    """The part of ``target`` for samples ``start:stop`` (per-sample targets are sliced).

    Lets a caller that runs the model in chunks resolve each chunk with :func:`resolve_target`
    (``"predicted"`` is an argmax per sample, so resolving per chunk gives the same indices).
    Wrong lengths are left for the resolver to report against the whole batch.
    """
    if target is None or isinstance(target, str | int | numbers.Number | np.generic):
        return target
    if isinstance(target, torch.Tensor | np.ndarray) and target.ndim == 0:
        return target
    return target[start:stop]


def check_target_length(target: Target, n: int) -> None:
    """Raise the resolver's wrong-length error early (before chunked evaluation)."""
    if target is None or isinstance(target, str | numbers.Number | np.generic):
        return
    shape = tuple(np.shape(target.detach().cpu() if isinstance(target, torch.Tensor) else target))
    if shape and shape != (n,):
        raise TargetError(
            f"target must be one output index per sample: expected {n} entries (shape ({n},)), "
            f"got shape {shape}"
        )


__all__ = [
    "TARGET_WORDS",
    "Selection",
    "check_target_length",
    "flatten_output",
    "resolve_target",
    "select_outputs",
    "slice_target",
    "target_indices",
]
