"""``--param K=V`` of the command line: values read from text, boolean parameters checked.

:func:`tsexplain.io.pipeline.parse_value` reads ``true``/``yes``/``on`` and ``false``/``no``/``off``
as booleans and leaves any other word a string. A boolean parameter (one whose default is a
boolean, :func:`tsexplain.attribution._base.boolean_parameters`) takes only those words and
``1``/``0`` here, so ``absolute=maybe`` or the typo ``absolute=flase`` is refused with the words
the command line takes (the library would refuse the string too, naming True/False).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tsexplain._validation import is_bool
from tsexplain.exceptions import ParameterError

#: The words a boolean parameter takes, in the help and the error message.
BOOLEAN_WORDS = "true/false (also yes/no, on/off, 1/0)"


def _boolean_params(method: str) -> frozenset[str]:
    """Names of the constructor parameters of ``method`` (and of the engine options it takes)
    whose default is a boolean; empty for an unknown name (the pipeline refuses it)."""
    from tsexplain.attribution import all_methods
    from tsexplain.attribution._base import boolean_parameters

    cls = all_methods().get(method)
    return frozenset() if cls is None else boolean_parameters(cls)


def _as_boolean(name: str, value: Any) -> bool:
    """``value`` (as :func:`~tsexplain.io.pipeline.parse_value` read it) as a boolean, or the
    error naming the parameter and the words it takes."""
    if is_bool(value):
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    shown = "none" if value is None else value if isinstance(value, str) else str(value)
    raise ParameterError(f"{name} takes {BOOLEAN_WORDS}, got {shown!r}")


def parse_method_params(items: Sequence[str] | None, methods: Sequence[str]) -> dict[str, Any]:
    """``--param`` items as keyword values, each boolean parameter checked to be a boolean.

    Parameters
    ----------
    items : sequence of str, optional
        ``K=V`` (for every chosen method taking ``K``) or ``METHOD.K=V`` (for one method).
    methods : sequence of str
        The chosen methods. Which method takes which key is left to
        :func:`tsexplain.io.pipeline.split_params` (a key none takes is refused there); here a
        key is a boolean parameter when one method it goes to has a boolean default for it.

    Returns
    -------
    dict
        Key -> value: int, float, bool, None or str; ``1``/``0`` become True/False for a boolean
        parameter.

    Raises
    ------
    ParameterError
        An item without ``=``, or a boolean parameter given another word or number.

    Examples
    --------
    >>> parse_method_params(["absolute=yes", "steps=32"], ["saliency", "integrated_gradients"])
    {'absolute': True, 'steps': 32}
    >>> parse_method_params(["saliency.absolute=0"], ["saliency"])
    {'saliency.absolute': False}
    >>> parse_method_params(["absolute=flase"], ["saliency"])
    Traceback (most recent call last):
    ...
    tsexplain.exceptions.ParameterError: absolute takes true/false (also yes/no, on/off, 1/0), got 'flase'
    """
    from tsexplain.io.pipeline import parse_params

    params = parse_params(items)
    for key, value in params.items():
        scope, dot, name = key.rpartition(".")
        targets = [scope] if dot else list(methods)
        if any(name in _boolean_params(m) for m in targets):
            params[key] = _as_boolean(key, value)
    return params
