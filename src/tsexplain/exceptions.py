"""The error and warning types of tsexplain.

Every user error raised by the library is a :class:`TsExplainError`; each one also subclasses
the builtin a caller would expect (``ValueError`` or ``TypeError``), so ``except ValueError``
keeps working. The command line and the server turn exactly these into a one-line message
(exit code 2 / HTTP 4xx); any other exception is a bug and is reported with its traceback.
"""

from __future__ import annotations

import re


class TsExplainError(Exception):
    """Base of every user error raised by tsexplain (bad input, bad option, bad model output)."""


class ShapeError(TsExplainError, ValueError):
    """An array does not have the expected shape, e.g. not ``(N, C, T)``."""


class InputTypeError(TsExplainError, TypeError):
    """An argument is not of an accepted type (e.g. a string where an array is expected)."""


class NonFiniteError(TsExplainError, ValueError):
    """An input holds NaN or Inf values where finite numbers are required."""


class TargetError(TsExplainError, ValueError):
    """A target does not fit the model's output (out of range, wrong length, missing)."""


class ModelOutputError(TsExplainError, ValueError):
    """The model's output cannot be explained as asked (wrong shape, non-finite, ...)."""


class ParameterError(TsExplainError, ValueError):
    """An option has a value outside its allowed set or range."""


class DataFormatError(TsExplainError, ValueError):
    """A data file is malformed or in an unexpected layout."""


class ZeroGradientWarning(UserWarning):
    """The explained output does not depend on the input (every gradient is exactly zero)."""


class SaturationWarning(UserWarning):
    """The model's output is saturated (sigmoid/softmax near 0 or 1): gradients vanish.

    TSViz (Siddiqui et al. 2019), Proposition 1: the influence of the input dies off when the
    output saturates. Explain the logits instead, or soften the output with a temperature.
    """


def is_out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is an out-of-memory error (host ``MemoryError`` or a torch device OOM)."""
    if isinstance(err, MemoryError):
        return True
    import torch

    if isinstance(err, torch.OutOfMemoryError):
        return True
    text = str(err).lower()
    return isinstance(err, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text or "not enough memory" in text
    )


_SHAPE_MISMATCH = (
    "shapes cannot be multiplied",
    "size mismatch",
    "must match the size of tensor",
    "expected input",
    "to have",
    "channels",
    "padded input size",
    "kernel size can't be greater",
    "input size",
    "dimension out of range",
    "shape '",
    "is invalid for input of size",
    "sizes of tensors must match",
)


def is_shape_mismatch(err: BaseException) -> bool:
    """Whether a ``RuntimeError`` raised by a model says its input had the wrong size or shape."""
    if not isinstance(err, RuntimeError) or is_out_of_memory(err):
        return False
    text = str(err).lower()
    return any(pattern in text for pattern in _SHAPE_MISMATCH)


_MISSING_INPUTS = re.compile(r"forward\(\) missing \d+ required positional arguments?: (.+)$")
_EXTRA_INPUTS = re.compile(r"forward\(\) takes (\d+) positional arguments? but (\d+) (?:were|was) given")


def model_inputs_problem(err: BaseException, n_additional: int) -> str | None:
    """What a ``TypeError`` from calling a model says about its inputs, in words for the user
    (None: some other ``TypeError``, a bug of the model's or ours).

    Examples
    --------
    >>> model_inputs_problem(TypeError("Net.forward() missing 1 required positional argument: 'static'"), 0)
    "the model's forward takes more inputs than the series (missing: 'static')"
    >>> model_inputs_problem(TypeError("Net.forward() takes 2 positional arguments but 3 were given"), 1)
    "the model's forward takes 1 input, not the series and 1 additional input(s)"
    >>> model_inputs_problem(TypeError("unsupported operand"), 0) is None
    True
    """
    if not isinstance(err, TypeError):
        return None
    text = str(err).strip()
    missing = _MISSING_INPUTS.search(text)
    if missing:
        return f"the model's forward takes more inputs than the series (missing: {missing.group(1)})"
    extra = _EXTRA_INPUTS.search(text)
    if extra:
        takes = int(extra.group(1)) - 1
        return (f"the model's forward takes {takes} input{'s' if takes != 1 else ''}, not the "
                f"series and {n_additional} additional input(s)")
    return None
