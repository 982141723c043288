"""Let glibc keep freed memory for reuse instead of handing it back to the OS on every pass.

Batched attribution and wide-ensemble training allocate and free tens of MB of activations on
every pass. With glibc's default (dynamic) thresholds the large blocks are mmapped, or trimmed
off the heap when freed, so every pass page-faults on fresh pages again. Raising the thresholds
once per process removes that.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks below this are served from the heap (32 MB is glibc's maximum, HEAP_MAX_SIZE / 2).
MMAP_THRESHOLD = 32 * 1024 * 1024
#: Free memory at the top of the heap kept for reuse instead of returned to the OS.
TRIM_THRESHOLD = 256 * 1024 * 1024

_done = False


def tune_allocator() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; True if they are set.

    Process-wide and permanent (glibc cannot go back to its dynamic thresholds); a no-op on
    other C libraries, when ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` is set
    in the environment (the user's choice wins) or when ``TSEXPLAIN_TUNE_ALLOCATOR=0``.
    """
    global _done
    if _done:
        return True
    if os.environ.get("TSEXPLAIN_TUNE_ALLOCATOR", "1") == "0" or any(
        k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
    ):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # glibc only  # noqa: B018
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # the trim threshold first: setting either one turns the dynamic adjustment off
    ok = mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and ok
    _done = ok
    return ok
