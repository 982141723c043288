"""Warnings that point at the user's line: the one way the package warns about a call."""

from __future__ import annotations

import sys
import types
import warnings
from pathlib import Path

_PACKAGE = str(Path(__file__).resolve().parent)
#: Frames of these files are the machinery between a user's call and the package (context
#: managers, functools wrappers), not the user's line either.
_MACHINERY = ("contextlib.py", "functools.py")


def warn_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """Warn with the location of the first caller outside tsexplain (the user's line).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_caller("careful")
    >>> caught[0].filename.startswith("<doctest")  # this example's line, not the package's
    True
    """
    level = 2
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None:
        path = frame.f_code.co_filename
        if not (path.startswith(_PACKAGE) or path.endswith(_MACHINERY)):
            break
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
