"""The FlatBuffers verifier LiteRT runs before it builds an interpreter, done in bulk.

It walks every table of the schema (``_schema.LAYOUTS``) from the root, one numpy pass per
table type and field for all the rows of that type at once, and applies the verifier's rules:
every offset non-zero, below 2**31 and inside the file; tables and vectors 4-byte aligned,
vtables 2-byte aligned with an even size inside the file; each scalar field aligned to its
size and inside the file; vectors no longer than the format allows and inside the file;
strings NUL-terminated; union values checked as the table their type tag names (an unknown
tag passes); at most 64 tables deep and a million tables in all.

``verify`` raises :class:`InvalidModelError` naming the first part found wrong. The model view
does not use this: ``load()`` stays lenient and reads what it can.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._errors import InvalidModelError
from ._flatbuf import FlatBuffer, distinct
from ._schema import FILE_IDENTIFIER, LAYOUTS, UNION_MEMBERS

__all__ = ["verify"]

_MAX_BUFFER = (1 << 31) - 1  # FlatBuffers' largest buffer
_MAX_DEPTH = 64
_MAX_TABLES = 1_000_000

Path = Callable[[int], str]


def verify(fb: FlatBuffer) -> None:
    """Raise ``InvalidModelError`` where LiteRT's verifier would refuse the file."""
    walk = _Walk(fb)
    if fb.size < 8 or bytes(fb.data[4:8]) != FILE_IDENTIFIER:
        raise InvalidModelError.at("model", "no TFL3 file identifier", offset=4)
    root = walk.offsets(np.zeros(1, np.int64), lambda i: "model", "root offset")
    walk.tables("Model", root, lambda i: "model", 1)


class _Walk:
    def __init__(self, fb: FlatBuffer) -> None:
        self.fb = fb
        self.size = fb.size
        self.count = 0

    def check(self, bad: np.ndarray, path: Path, what: Callable[[int], str]) -> None:
        """Raise for the first row where ``bad`` holds."""
        if np.count_nonzero(bad):
            row = int(bad.nonzero()[0][0])
            raise InvalidModelError.at(path(row), what(row))

    def inside(self, at: np.ndarray, length: np.ndarray | int) -> np.ndarray:
        """Where ``length`` bytes at ``at`` do not fit in the file (the verifier's Verify)."""
        found: np.ndarray = (at < 0) | (length >= self.size) | (at > self.size - length)
        return found

    def offsets(self, at: np.ndarray, path: Path, name: str) -> np.ndarray:
        """Follow the offsets stored at ``at`` (each 4-byte aligned, non-zero, in the file)."""
        self.check((at % 4 != 0) | self.inside(at, 4), path,
                   lambda i: f"{name} at {int(at[i]):#x} is misaligned or past the end")
        value = self.fb.gather(at, "<u4").astype(np.int64)
        target = at + value
        self.check((value == 0) | (value >= 1 << 31) | self.inside(target, 1), path,
                   lambda i: f"{name} at {int(at[i]):#x} points to {int(target[i]):#x}, "
                             f"outside the file ({self.size} bytes)")
        return target

    def vectors(self, at: np.ndarray, elem_size: int, path: Path) -> np.ndarray:
        """Check the vectors at ``at``; return their lengths."""
        self.check((at % 4 != 0) | self.inside(at, 4), path,
                   lambda i: f"vector at {int(at[i]):#x} is misaligned or past the end")
        count = self.fb.gather(at, "<u4").astype(np.int64)
        self.check((count >= _MAX_BUFFER // elem_size) | self.inside(at, 4 + elem_size * count),
                   path, lambda i: f"vector of {int(count[i])} elements at "
                                   f"{int(at[i]):#x} runs past the end of the file "
                                   f"({self.size} bytes)")
        return count

    def strings(self, at: np.ndarray, path: Path) -> None:
        count = self.vectors(at, 1, path)
        end = at + 4 + count
        self.check(self.inside(end, 1), path, lambda i: f"string at {int(at[i]):#x} "
                                                        "has no terminating NUL")
        self.check(self.fb.gather(end, "u1") != 0, path,
                   lambda i: f"string at {int(at[i]):#x} is not NUL-terminated")

    def elements(self, at: np.ndarray, count: np.ndarray, path: Path
                 ) -> tuple[np.ndarray, Path]:
        """Where the elements of vectors of offsets point, and each element's path."""
        rows = np.repeat(np.arange(len(at)), count)
        first = np.cumsum(count) - count
        index = np.arange(len(rows)) - first[rows]
        slots = at[rows] + 4 + 4 * index
        targets = slots + self.fb.gather(slots, "<u4").astype(np.int64)

        def element_path(j: int) -> str:
            return f"{path(int(rows[j]))}[{int(index[j])}]"
        return targets, element_path

    def tables(self, name: str, pos: np.ndarray, path: Path, depth: int) -> None:
        """Check every table of type ``name`` at ``pos`` and all they hold."""
        if not len(pos):
            return
        self.count += len(pos)
        if depth > _MAX_DEPTH or self.count > _MAX_TABLES:
            raise InvalidModelError.at(path(0), f"more than {_MAX_TABLES:,} tables or "
                                    f"{_MAX_DEPTH} levels")
        self.check((pos % 4 != 0) | self.inside(pos, 4), path,
                   lambda i: f"{name} table at {int(pos[i]):#x} is misaligned or past the end")
        vt = pos - self.fb.gather(pos, "<i4").astype(np.int64)
        self.check((vt % 2 != 0) | self.inside(vt, 2), path,
                   lambda i: f"{name} table's vtable at {int(vt[i]):#x} is misaligned or "
                             "outside the file")
        # tables share vtables: each distinct one is read once
        vtables, which = distinct(vt)
        vt_size = self.fb.gather(vtables, "<u2").astype(np.int64)
        self.check(((vt_size % 2 != 0) | self.inside(vtables, vt_size))[which], path,
                   lambda i: f"{name} table's vtable at {int(vt[i]):#x} claims "
                             f"{int(vt_size[which[i]])} bytes")
        # every field's offset in every distinct vtable at once (0: absent)
        layout = LAYOUTS[name]
        slots = np.array([entry[0] for entry in layout], np.int64)
        has = vt_size[:, None] > slots[None, :]
        offsets = np.zeros(has.shape, np.int64)
        offsets[has] = self.fb.gather((vtables[:, None] + slots[None, :])[has], "<u2")
        used = np.any(offsets, axis=0)
        tags: np.ndarray | None = None
        for column, (_, kind, target, field) in enumerate(layout):
            is_tag = kind == "s1" and field.endswith("_type")  # a union's type tag, next
            if is_tag:
                tags = np.zeros(len(pos), np.int64)
            if not used[column]:  # no table of this type has the field
                continue
            at = offsets[which, column]
            present = at.nonzero()[0]
            at = pos[present] + at[present]

            def field_path(j: int, rows: np.ndarray = present, field: str = field) -> str:
                return _join(path(int(rows[j])), field)

            if kind[1:].isdigit() and kind[0] == "s":
                size = int(kind[1:])
                self.check((at % size != 0) | self.inside(at, size), field_path,
                           _describe(at, f"{size}-byte field", "is misaligned or past the end"))
                if is_tag:
                    assert tags is not None
                    tags[present] = self.fb.gather(at, "u1")
                continue
            where = self.offsets(at, field_path, "offset")
            if kind == "str":
                self.strings(where, field_path)
            elif kind[0] == "v":
                elem_size = int(kind[1:]) if kind[1:].isdigit() else 4
                count = self.vectors(where, elem_size, field_path)
                if kind in ("vstr", "vtab"):
                    targets, element_path = self.elements(where, count, field_path)
                    if kind == "vstr":
                        self.strings(targets, element_path)
                    else:
                        self.tables(target, targets, element_path, depth + 1)
            elif kind == "tab":
                self.tables(target, where, field_path, depth + 1)
            else:  # a union value: the table its type tag names
                assert tags is not None
                tag = tags[present]
                for number, member in enumerate(UNION_MEMBERS[target], 1):
                    chosen = (tag == number).nonzero()[0]
                    if len(chosen):
                        self.tables(member, where[chosen], _subset(field_path, chosen),
                                    depth + 1)


def _join(parent: str, field: str) -> str:
    """``subgraphs[0].tensors[3].name``: fields of the root table go without ``model.``."""
    return field if parent == "model" else f"{parent}.{field}"


def _describe(at: np.ndarray, what: str, problem: str) -> Callable[[int], str]:
    def describe(i: int) -> str:
        return f"{what} at {int(at[i]):#x} {problem}"
    return describe


def _subset(path: Path, rows: np.ndarray) -> Path:
    def subset_path(j: int) -> str:
        return path(int(rows[j]))
    return subset_path
