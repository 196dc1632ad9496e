"""Kernel hints for a memory-mapped model: read the structure, not the weights.

A page fault in a file mapping normally pulls in a whole read-ahead window (often megabytes),
so touching one table near each weight buffer would read the weights too. The mapping is
marked random-access on open; when the contents of a buffer are read (``Buffer.data``: values,
``get_tensor``, metadata) that range gets a sequential, will-need hint so it streams. Where
``madvise`` or these options are missing (macOS without some options, Windows, old Pythons)
nothing is hinted and nothing changes but the bytes read.
"""

from __future__ import annotations

import mmap
from typing import Callable

__all__ = ["advise"]

STREAM = 256 * 1024  # buffers smaller than this are left to ordinary faults


def advise(mapping: mmap.mmap) -> Callable[[int, int], None] | None:
    """Mark ``mapping`` random-access; return the ``need`` hook for its buffers (or None)."""
    madvise = getattr(mapping, "madvise", None)
    random = getattr(mmap, "MADV_RANDOM", None)
    if madvise is None or random is None:
        return None
    try:
        madvise(random)
    except OSError:
        return None
    hints = [getattr(mmap, name) for name in ("MADV_SEQUENTIAL", "MADV_WILLNEED")
             if hasattr(mmap, name)]
    page = mmap.PAGESIZE
    size = len(mapping)

    def need(start: int, length: int) -> None:
        if length < STREAM or start < 0 or start + length > size:
            return
        first = start - start % page
        for hint in hints:
            try:
                madvise(hint, first, start + length - first)
            except (OSError, ValueError):
                return

    return need
