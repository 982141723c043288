"""How requests share models, forward-mode autograd and memory (the server's concurrency design).

Rules every computation of the server follows:

1. **One replica per request, borrowed once.** A request borrows one model replica with
   :func:`borrowed` at the top of its computation and passes that module down to every helper
   (prediction, filters, saliency). Nothing called while a replica is held borrows another one, so
   a pool of R replicas serves R requests at once and can never deadlock. Borrowing twice in one
   thread is a bug and raises at once instead of waiting for itself.
2. **Bounded waits.** A request waits at most ``Settings.model_wait_seconds`` for a replica, then
   gets 503 with ``Retry-After``; the event loop itself never waits on a model (health, job
   status and cancel answer while every replica is busy).
3. **Forward-mode AD is process-global** in PyTorch (one stack of dual levels for all threads), so
   every library call that may enter it (filter saliency's JVP path) runs inside
   :func:`forward_ad_section`: one at a time, bounded wait, then 503.
4. **Memory is returned.** The server does not raise glibc's mmap threshold (a long-running
   process would keep every freed activation), and :func:`release_memory` hands free heap pages
   back to the OS after each heavy computation (``malloc_trim``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import os
import threading
from collections.abc import Iterator
from typing import Any

from tsexplain.server.errors import ServerBusyError

_held = threading.local()
_forward_ad = threading.Lock()


def disable_allocator_tuning() -> None:
    """Keep glibc's dynamic mmap/trim thresholds in this process (a server runs for days).

    The tuning in :mod:`tsexplain._allocator` trades memory for speed in batch runs: freed blocks
    below 32 MB stay in the heap. A server would keep its peak forever; without the tuning large
    activations are mmapped and returned when freed. A user's explicit ``TSEXPLAIN_TUNE_ALLOCATOR``
    wins.
    """
    os.environ.setdefault("TSEXPLAIN_TUNE_ALLOCATOR", "0")


def release_memory() -> bool:
    """Collect garbage and give free heap pages back to the OS (glibc ``malloc_trim``)."""
    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return bool(trim(0))


def rss_bytes() -> int:
    """Resident set size of this process in bytes (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


@contextlib.contextmanager
def borrowed(entry: Any, timeout: float) -> Iterator[Any]:
    """One replica of ``entry``'s model for this request alone, waiting at most ``timeout`` s.

    Raises
    ------
    ServerBusyError
        No replica became free in time (answered 503 with ``Retry-After``).
    RuntimeError
        This thread holds a replica of the same model already (a bug: it would wait for itself).
    """
    held: set[int] = getattr(_held, "ids", set())
    _held.ids = held
    if id(entry) in held:
        raise RuntimeError(f"model {entry.name!r}: a request borrowed a second replica while "
                           "holding one; pass the borrowed module down instead")
    held.add(id(entry))
    try:
        with entry.borrow(timeout=timeout) as model:
            yield model
    finally:
        held.discard(id(entry))


@contextlib.contextmanager
def forward_ad_section(timeout: float) -> Iterator[None]:
    """Run a block that may use forward-mode autograd, one thread at a time (bounded wait)."""
    if not _forward_ad.acquire(timeout=timeout):
        raise ServerBusyError(f"the server is busy computing filter saliency for other requests "
                              f"(waited {timeout:g} s); retry in a few seconds",
                              retry_after=max(1, int(timeout)))
    try:
        yield
    finally:
        _forward_ad.release()
