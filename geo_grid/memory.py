"""Handing memory back to the system after a large transient allocation (one API process's memory at city
scale, issue 15: README "Scaling")."""

from __future__ import annotations

import contextlib
import ctypes
import gc


def release_freed_memory() -> None:
    """Collect cyclic garbage and hand the heap glibc's malloc keeps after large frees back to the system
    (`malloc_trim`; a no-op where there is no glibc)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
