"""The few error and warning types of tsexplain, each subclassing a builtin."""

from __future__ import annotations


class ShapeError(ValueError):
    """An array does not have the expected shape, e.g. not ``(N, C, T)``."""


class TargetError(ValueError):
    """A target does not fit the model's output (out of range, wrong length, missing)."""


class ModelOutputError(ValueError):
    """The model's output cannot be explained as asked (wrong shape, non-finite, ...)."""


class ParameterError(ValueError):
    """An option has a value outside its allowed set or range."""


class DataFormatError(ValueError):
    """A data file is malformed or in an unexpected layout."""


class ZeroGradientWarning(UserWarning):
    """The explained output does not depend on the input (every gradient is exactly zero)."""


class SaturationWarning(UserWarning):
    """The model's output is saturated (sigmoid/softmax near 0 or 1): gradients vanish.

    TSViz (Siddiqui et al. 2019), Proposition 1: the influence of the input dies off when the
    output saturates. Explain the logits instead, or soften the output with a temperature.
    """
