"""Rows per engine chunk, fixed for a whole data-set run (reproducible to the last bit).

On the CPU the attribution engine times a few chunk sizes on the first rows of a large call and
keeps the fastest (``tsexplain.attribution._engine.ChunkTuner``). That choice depends on timing,
so it differs between processes, and some layers (recurrent layers in particular) give results
that differ in the last bits with the number of rows they run at once. A data-set run therefore
fixes the rows per engine chunk once, when its store is created, records it in the store's
manifest, and every chunk of the run (in this process, a resumed one or a Ray actor) uses it
with no timing: the results no longer depend on which process computed which chunk.

The engine has no option for a fixed row count yet; :func:`fixed_engine_rows` supplies the size
through the engine's cache of chosen sizes, which it reads before timing anything.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["ENGINE_ROWS", "fixed_engine_rows"]

#: Rows per engine chunk of a new data-set run (at most what the memory budget allows): a middle
#: one of the sizes the engine's tuner tries. A data-set run gives up the timed choice for
#: results that do not depend on the process.
ENGINE_ROWS = 512

_lock = threading.RLock()


class _FixedSizes(dict[tuple[object, ...], int]):
    """Stands in for the engine's cache of fastest sizes: every model and shape on the CPU gets
    ``rows`` (capped by the memory budget's bound, the ``most`` of the cache key), so nothing is
    timed."""

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows

    def get(self, key: tuple[object, ...], default: Any = None) -> int | None:  # type: ignore[override]
        # _engine._structure_key: (layers, row shape, device, n_outputs, most, threads)
        device, most = key[2], key[4]
        if not isinstance(device, str) or not isinstance(most, int) or isinstance(most, bool):
            raise TypeError(f"the engine's chunk-size cache key changed: {key!r:.200}")
        if device != "cpu":  # not timed there: the engine's own size (the budget's bound)
            return None
        return max(1, min(self.rows, most))


@contextlib.contextmanager
def fixed_engine_rows(rows: int) -> Iterator[None]:
    """Within the block, every attribution call on the CPU runs chunks of ``rows`` rows (at most
    what its memory budget allows), untimed; the process's own chosen sizes are untouched. On
    other devices (CUDA: nothing is timed) the engine's own size is kept.

    Calls from other threads of the process during the block also get ``rows`` (the cache is
    one per process); the blocks of several threads are serialised.
    """
    from tsexplain.attribution import _engine

    with _lock:
        saved = _engine._TUNED
        _engine._TUNED = _FixedSizes(int(rows))
        try:
            yield
        finally:
            _engine._TUNED = saved
