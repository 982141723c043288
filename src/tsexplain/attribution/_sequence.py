"""The protocol of sequence methods: one long recording, one prediction per time step."""

from __future__ import annotations

from typing import ClassVar

from tsexplain.attribution._base import Attribution


class SequenceAttribution(Attribution):
    """Base class of the methods that explain per-time-step outputs of long recordings.

    A sequence method takes ``x`` of shape (N, C, T), N independent recordings (usually one,
    (1, C, T)), and a model that returns one prediction per time step, (1, T) or (1, K, T)
    for one recording (or, for some methods, a window model). ``attribute`` returns values of
    shape (N, C, T) and ``predictions`` of shape (N, T): the explained prediction at each step.
    ``target`` is None or one output index (``"all"`` and per-series targets do not apply).

    Sequence methods are registered in ``SEQUENCE_METHODS``, apart from the (N, C, T) -> (N, C, T)
    methods of ``METHODS`` whose contract is per series; ``get_method`` and ``explain`` find both.
    They take no ``additional_inputs``.
    """

    kind: ClassVar[str] = "sequence"
    sequence_method: ClassVar[bool] = True
    accepts_additional_inputs: ClassVar[bool] = False
