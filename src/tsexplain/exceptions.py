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


class ModelInputsError(ModelOutputError):
    """The model's forward takes more or fewer inputs than it was given (``forward(x, static)``
    called with the series alone, or with too many additional inputs).

    ``problem`` is that fact in words (:func:`model_inputs_problem`), without the advice of the
    door that raised it, so that another door can give its own.
    """

    def __init__(self, message: str, problem: str | None = None) -> None:
        super().__init__(message)
        self.problem = problem or message


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
    "must be equal to input_size",  # a recurrent layer given another number of channels
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


_DTYPE_MISMATCH = (
    "same dtype",
    "expected scalar type",
    "should be the same",
    "found dtype",
    "must have the type",
    "does not match weight dtype",
    "not implemented for 'long'",
    "not implemented for 'int'",
    "not implemented for 'bool'",
)


def is_dtype_mismatch(err: BaseException) -> bool:
    """Whether a ``RuntimeError`` (``ValueError`` for a recurrent layer) raised by a model says
    an input had the wrong dtype (e.g. an integer tensor where a layer's float weights need
    floats).

    Examples
    --------
    >>> is_dtype_mismatch(RuntimeError("mat1 and mat2 must have the same dtype, but got Long and Float"))
    True
    >>> is_dtype_mismatch(RuntimeError("index 7 is out of bounds for dimension 0 with size 4"))
    False
    """
    if not isinstance(err, RuntimeError | ValueError) or is_out_of_memory(err):
        return False
    text = str(err).lower()
    return any(pattern in text for pattern in _DTYPE_MISMATCH)


_MISSING_INPUTS = re.compile(r"forward\(\) missing \d+ required positional arguments?: (.+)$")
_EXTRA_INPUTS = re.compile(r"forward\(\) takes (\d+) positional arguments? but (\d+) (?:were|was) given")
# the same two facts in a TorchScript model's words (a RuntimeError; the counts include self)
_SCRIPT_MISSING = re.compile(r"forward\(\) is missing value for argument '([^']+)'")
_SCRIPT_EXTRA = re.compile(r"forward\(\) expected at most (\d+) argument\(s\) but received (\d+)")
#: how :func:`model_inputs_problem` begins when the model was given fewer inputs than it takes
_TOO_FEW_INPUTS = "the model's forward takes more inputs than the series"


def model_inputs_problem(err: BaseException, n_additional: int) -> str | None:
    """What a ``TypeError`` from calling a model (a ``RuntimeError`` from a TorchScript model)
    says about its inputs, in words for the user (None: some other error, a bug of the model's
    or ours, or a mismatch of sizes).

    Examples
    --------
    >>> model_inputs_problem(TypeError("Net.forward() missing 1 required positional argument: 'static'"), 0)
    "the model's forward takes more inputs than the series (missing: 'static')"
    >>> model_inputs_problem(TypeError("Net.forward() takes 2 positional arguments but 3 were given"), 1)
    "the model's forward takes 1 input, not the series and 1 additional input(s)"
    >>> model_inputs_problem(RuntimeError("forward() is missing value for argument 'static'. "
    ...                                   "Declaration: forward(Net self, Tensor x, Tensor static)"), 0)
    "the model's forward takes more inputs than the series (missing: 'static')"
    >>> model_inputs_problem(TypeError("unsupported operand"), 0) is None
    True
    """
    if isinstance(err, TypeError):
        missing, extra = _MISSING_INPUTS, _EXTRA_INPUTS
    elif isinstance(err, RuntimeError):
        missing, extra = _SCRIPT_MISSING, _SCRIPT_EXTRA
    else:
        return None
    text = str(err).strip()
    found = missing.search(text)
    if found:
        names = found.group(1) if isinstance(err, TypeError) else f"'{found.group(1)}'"
        return f"{_TOO_FEW_INPUTS} (missing: {names})"
    extra_found = extra.search(text)
    if extra_found:
        takes = int(extra_found.group(1)) - 1
        return (f"the model's forward takes {takes} input{'s' if takes != 1 else ''}, not the "
                f"series and {n_additional} additional input(s)")
    return None


def model_inputs_error(err: BaseException, n_additional: int, where: str,
                       x_shape: tuple[int, ...]) -> ModelInputsError | None:
    """The error to raise in Python when calling a model failed for its number of inputs (None:
    ``err`` says something else): the problem and the keyword that passes further inputs.

    Parameters
    ----------
    err : BaseException
        What calling ``model(x, *additional_inputs)`` raised.
    n_additional : int
        How many additional inputs were given.
    where : str
        The public function or method, named first in the message.
    x_shape : tuple of int
        Shape (N, C, T) of the series.

    Examples
    --------
    >>> err = TypeError("Net.forward() missing 1 required positional argument: 'static'")
    >>> print(model_inputs_error(err, 0, "saliency", (4, 2, 8)))  # doctest: +NORMALIZE_WHITESPACE
    saliency: the model's forward takes more inputs than the series (missing: 'static'). Pass a
    model's further inputs as additional_inputs= (one row per series of x (4, 2, 8), in the order
    of forward's arguments)
    """
    problem = model_inputs_problem(err, n_additional)
    if problem is None:
        return None
    if too_many_inputs(problem):
        return ModelInputsError(
            f"{where}: {problem}. Give additional_inputs= only the inputs forward takes after x "
            f"(none for a model of the series alone)", problem)
    return ModelInputsError(
        f"{where}: {problem}. Pass a model's further inputs as additional_inputs= (one row per "
        f"series of x {tuple(x_shape)}, in the order of forward's arguments)", problem)


def too_many_inputs(problem: str) -> bool:
    """Whether a :func:`model_inputs_problem` text says the model was given more inputs than its
    forward takes (else fewer)."""
    return not problem.startswith(_TOO_FEW_INPUTS)
