"""A model's further inputs in the explorer: ``forward(x, *further)`` with the series first.

A workspace data set carries them as the arrays ``additional_0``, ``additional_1``, ... of its
``.npz`` file, in the order of ``forward``'s arguments after x, each with one row per series
(floating or integer, any trailing shape). :func:`check_additional_arrays` is their one check (the
data set reader, the upload route and ``tsexplain workspace add-data``), and
:class:`OneSampleInputs` runs an analysis of one sample that calls the model with the series
alone (the network views, inverse optimisation, adversarial attacks).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

#: The name of further input ``i`` in a data set's ``.npz`` file.
ARRAY_NAME = "additional_{}"
_ARRAY = re.compile(r"^additional_(\d+)$")


def additional_array_names(files: Iterable[str]) -> list[str]:
    """The names ``additional_0``, ``additional_1``, ... among an ``.npz`` file's arrays, in order.

    Raises
    ------
    DataFormatError
        The numbers have a gap (``additional_1`` without ``additional_0``): the order of
        forward's arguments would be unknown.

    Examples
    --------
    >>> additional_array_names(["X", "additional_1", "y", "additional_0"])
    ['additional_0', 'additional_1']
    """
    from tsexplain.exceptions import DataFormatError

    numbers = sorted(int(m.group(1)) for f in files if (m := _ARRAY.match(f)))
    if numbers != list(range(len(numbers))):
        found = ", ".join(ARRAY_NAME.format(i) for i in numbers)
        raise DataFormatError(
            f"further inputs are the arrays additional_0, additional_1, ... without gaps, in "
            f"the order of forward's arguments after x; found {found}")
    return [ARRAY_NAME.format(i) for i in numbers]


def check_additional_arrays(arrays: Sequence[Any], x_shape: tuple[int, ...], where: str
                         ) -> tuple[np.ndarray, ...]:
    """The further inputs of series of ``x_shape``, checked: numbers, one row per series, finite.

    Parameters
    ----------
    arrays : sequence of array-likes, each of shape (N, ...)
        In the order of forward's arguments after x; item ``i`` is named ``additional_i``.
    x_shape : tuple (N, C, T)
        Shape of the series they go with.
    where : str
        What they belong to, first in messages (e.g. "data set 'ecg'").

    Returns
    -------
    tuple of numpy.ndarray, each of shape (N, ...)
        Floating arrays as float32 (the explorer's dtype), integer and boolean ones as they are.

    Raises
    ------
    DataFormatError
        An array holds no numbers (strings, objects).
    ShapeError
        An array does not have N rows.
    NonFiniteError
        A floating array holds NaN or Inf.

    Examples
    --------
    >>> [a.shape for a in check_additional_arrays([np.ones((4, 3))], (4, 2, 8), "data set 'd'")]
    [(4, 3)]
    >>> check_additional_arrays([np.ones((5, 3))], (4, 2, 8), "data set 'd'")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tsexplain.exceptions.ShapeError: data set 'd': additional_0 has shape (5, 3); expected a ...
    """
    from tsexplain._validation import _nonfinite_message, additional_rows_problem
    from tsexplain.exceptions import DataFormatError, NonFiniteError, ShapeError
    from tsexplain.io.data import _check_numbers

    out = []
    for i, a in enumerate(arrays):
        name = f"{where}: {ARRAY_NAME.format(i)}"
        try:
            arr = np.asarray(a)
        except (ValueError, TypeError):
            raise DataFormatError(f"{name} is not a rectangular array (rows of different "
                                  f"lengths); expected numbers of shape (N, ...)") from None
        _check_numbers(arr, name)
        problem = additional_rows_problem(arr.shape, tuple(x_shape), name)
        if problem:
            raise ShapeError(f"{problem}; give each further input of the model one row per "
                             f"series, in the order of forward's arguments after x")
        if np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float32)
            if not np.isfinite(arr).all():
                raise NonFiniteError(_nonfinite_message(name, int((~np.isfinite(arr)).sum())))
        out.append(arr)
    return tuple(out)


class OneSampleInputs(torch.nn.Module):
    """A model with the further inputs of one sample fixed: ``forward(x)`` is
    ``model(x, *further)``, each further input repeated to x's batch.

    For the analyses of one sample that call the model with series only: its replicas and
    perturbations (filter saliency, inverse optimisation, adversarial steps) all get the
    sample's further inputs. The wrapper shares the model's layers under their own names, so a
    layer is found by the name the model gives it.

    Parameters
    ----------
    model : torch.nn.Module
        Called as ``model.forward(x, *further)``.
    further : sequence of arrays or tensors, each of shape (1, ...)
        One sample's further inputs, in the order of forward's arguments after x.

    Examples
    --------
    >>> class Two(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.conv = torch.nn.Conv1d(1, 1, 3)
    ...     def forward(self, x, static):
    ...         return self.conv(x).mean(2) + static
    >>> one = OneSampleInputs(Two(), [np.ones((1, 1), dtype=np.float32)])
    >>> tuple(one(torch.zeros(5, 1, 8)).shape), [n for n, _ in one.named_modules()]
    ((5, 1), ['', 'conv'])
    """

    _model: torch.nn.Module
    _additional: list[torch.Tensor]

    def __init__(self, model: torch.nn.Module, further: Sequence[Any]) -> None:
        super().__init__()
        tensors = [torch.as_tensor(np.asarray(a)) if not isinstance(a, torch.Tensor) else a
                   for a in further]
        bad = [tuple(t.shape) for t in tensors if t.ndim == 0 or t.shape[0] != 1]
        if bad:
            raise ValueError(f"OneSampleInputs takes one sample's further inputs, shape (1, ...); "
                             f"got {bad}")
        # the model's layers are this module's own (same names); the model itself is kept out
        # of the module tree, or every layer name would gain a prefix
        self._modules = model._modules
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_additional", tensors)
        self.training = model.training

    def forward(self, x: torch.Tensor) -> Any:
        further = [(t.to(x.dtype) if t.is_floating_point() else t).expand(x.shape[0], *t.shape[1:])
                   for t in self._additional]
        return self._model.forward(x, *further)


def with_additional_inputs(model: Any, further: Sequence[Any]) -> Any:
    """``model`` itself for a model of the series alone (no ``further``), else
    :class:`OneSampleInputs` of ``model`` and the one sample's ``further`` inputs (1, ...)."""
    return OneSampleInputs(model, further) if len(further) else model
