"""tsexplain's warnings as one line during a command: ``tsexplain explain: warning: ...``.

The package warns at its caller's line (:func:`tsexplain._warnings.warn_caller`), which from the
command line is the launcher script: Python would print ``.../bin/tsexplain:6: UserWarning: ...``
followed by the launcher's ``sys.exit(main())``. While a command runs, :func:`one_line_warnings`
prints the package's own warnings in the form of the command's errors, text unchanged.

A warning raised by another library (PyTorch, NumPy, ...) keeps Python's format: its text is that
library's, not ours to present as tsexplain's, and its file and line say where it came from,
which is what a bug report about it needs.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TextIO

#: Modules whose frames are the warning machinery between the ``warn`` call and the display.
_MACHINERY = frozenset({"warnings", "_py_warnings", __name__})


def _from_tsexplain(filename: str, lineno: int) -> bool:
    """Whether the warning being shown was issued by tsexplain's code.

    The frame that called ``warnings.warn`` is the first one below the warning machinery. It is
    tsexplain's when it belongs to a ``tsexplain`` module and the warning was located elsewhere
    (a ``stacklevel`` above 1, as every warning of the package has: it points at its caller). A
    warning located at that very frame's line is one a C extension raised from that line (e.g.
    PyTorch's ``torch.from_numpy``), not tsexplain's own.
    """
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") in _MACHINERY:
        frame = frame.f_back
    if frame is None:
        return False
    module = str(frame.f_globals.get("__name__", ""))
    if module != "tsexplain" and not module.startswith("tsexplain."):
        return False
    return (frame.f_code.co_filename, frame.f_lineno) != (filename, lineno)


@contextmanager
def one_line_warnings(command: str) -> Iterator[None]:
    """Within the block, print tsexplain's warnings as ``tsexplain COMMAND: warning: TEXT``.

    ``warnings.showwarning`` is replaced for the block and restored afterwards; the warning
    filters (``-W``, ``PYTHONWARNINGS``) apply as before. Other libraries' warnings are shown
    by the previous ``showwarning``.

    Parameters
    ----------
    command : str
        The subcommand's name, as in its error lines (``explain``, ``explain-dataset``, ...).

    Examples
    --------
    >>> import contextlib, sys, warnings
    >>> from tsexplain._warnings import warn_caller
    >>> with warnings.catch_warnings(), contextlib.redirect_stderr(sys.stdout):
    ...     warnings.simplefilter("always")
    ...     with one_line_warnings("explain"):
    ...         warn_caller("the model is untrained; pass --weights")
    tsexplain explain: warning: the model is untrained; pass --weights
    """
    previous = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:
        if not _from_tsexplain(filename, lineno):
            previous(message, category, filename, lineno, file, line)
            return
        text = " ".join(str(message).split())  # one line, whatever the message's layout
        stream = sys.stderr if file is None else file
        try:
            print(f"tsexplain {command}: warning: {text}", file=stream)
        except OSError:  # stderr closed: as Python's own display, say nothing
            pass

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous
