"""Text helpers shared by the commands: escaping file text for terminals, cutting cells,
fixed-width tables, folding lines, the terminal's width, and the JSON mapping of details.

JSON mapping (see :func:`jsonable`): arrays become lists; ``dtype`` is
``numpy.dtype(t).name`` (``"int8"``, ``"float32"``, ``"bool"``), except ``"bytes"`` for
``numpy.bytes_`` and ``"object"`` for ``numpy.object_`` (``numpy.dtype(name).type`` maps every
name back); tuples become lists; floats are written with Python's shortest round-trip repr of
the exact value (a float32 widened to double, so ``numpy.float32(x)`` recovers it bit for bit);
NaN and infinities, which JSON cannot hold, become the strings ``"NaN"``, ``"Infinity"`` and
``"-Infinity"``.
"""

from __future__ import annotations

import math
import shutil
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

import numpy as np

__all__ = ["UsageError", "escape", "ellipsize", "write_table", "wrap", "terminal_width",
           "dtype_name", "jsonable", "ELLIPSIS"]

ELLIPSIS = "…"


class UsageError(Exception):
    """A command was called wrongly: printed as ``tflparse: error: ...``, exit status 2."""


def escape(text: str) -> str:
    """``text`` with control and other non-printable characters as ``\\xNN``/``\\uNNNN``."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch.isprintable():
            out.append(ch)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def ellipsize(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the last one an ellipsis when cut."""
    if len(text) <= width:
        return text
    return text[:max(width - 1, 0)] + ELLIPSIS if width > 0 else ""



def write_table(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[str]],
                 widths: Sequence[int], indent: str = "  ") -> None:
    """Left-aligned columns of fixed widths (the last one takes the rest); cells are cut."""
    def line(cells: Sequence[str]) -> str:
        parts = [ellipsize(c, w).ljust(w) for c, w in zip(cells[:-1], widths[:-1])]
        parts.append(ellipsize(cells[-1], widths[-1]))
        return (indent + " ".join(parts)).rstrip()
    out.write(line(header) + "\n")
    for row in rows:
        out.write(line(row) + "\n")



def wrap(first: str, text: str, width: int, indent: int) -> str:
    """``first`` then ``text``, folded at spaces (or anywhere, for long words) into lines of
    at most ``width`` characters, later lines indented by ``indent``; with a newline."""
    return textwrap.fill(text, width, initial_indent=first, subsequent_indent=" " * indent,
                         break_on_hyphens=False, drop_whitespace=True) + "\n"



def terminal_width() -> int:
    return max(80, shutil.get_terminal_size((80, 24)).columns)



_DTYPE_NAMES: dict[type, str] = {np.bytes_: "bytes", np.object_: "object"}


def dtype_name(scalar_type: type) -> str:
    """The JSON name of a detail's ``dtype``; ``numpy.dtype(name).type`` maps it back."""
    found = _DTYPE_NAMES.get(scalar_type)
    return found if found is not None else np.dtype(scalar_type).name


def _float(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def jsonable(value: Any) -> Any:
    """A detail value (dicts, arrays, numpy scalars, dtype types) as plain JSON data."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, type):
        return dtype_name(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _float(float(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return value

