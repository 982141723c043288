"""Keep renamed keyword arguments working for one release, with a ``DeprecationWarning``."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, cast

from tsexplain.exceptions import ParameterError

F = TypeVar("F", bound=Callable[..., Any])


def renamed_kwargs(**renames: str) -> Callable[[F], F]:
    """Decorator: accept each old keyword ``old=`` as ``renames[old]``, warning once per call.

    Passing both the old and the new name is a :class:`ParameterError`.

    Examples
    --------
    >>> import warnings
    >>> @renamed_kwargs(iterations="steps")
    ... def run(*, steps=10):
    ...     return steps
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     run(iterations=3), caught[0].category.__name__
    (3, 'DeprecationWarning')
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise ParameterError(
                            f"{fn.__name__}: pass {new}= only ({old}= is its former name)."
                        )
                    warnings.warn(
                        f"{fn.__name__}: the argument {old}= is renamed {new}=; the old name "
                        f"will be removed in the next release.",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return cast(F, wrapper)  # functools.wraps keeps fn's signature

    return decorate


__all__ = ["renamed_kwargs"]
