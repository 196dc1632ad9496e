"""The FlatBuffers verifier LiteRT runs before it builds an interpreter, done in bulk.

It walks every table of the schema (``_schema.LAYOUTS``) from the root, one pass per table
type and field for all the rows of that type at once, and applies the verifier's rules:
every offset non-zero, below 2**31 and inside the file; tables and vectors 4-byte aligned,
vtables 2-byte aligned with an even size inside the file; each scalar field aligned to its
size and inside the file; vectors no longer than the format allows and inside the file;
strings NUL-terminated; union values checked as the table their type tag names (an unknown
tag passes); at most 64 tables deep and a million tables in all.

Each pass runs on numpy arrays when it has many rows, and on Python lists with
``struct.unpack_from`` when it has few (``_flatbuf.SCALAR_ROWS`` or fewer): numpy's per-call
cost would be the whole cost of a small model. Both do the same checks in the same order and
raise the same message for the same first bad row; ``tests/test_verify.py`` runs them side
by side.

``verify`` raises :class:`InvalidModelError` naming the first part found wrong. The model view
does not use this: ``load()`` stays lenient and reads what it can.
"""

from __future__ import annotations

import struct
from typing import Callable, Union

import numpy as np

from . import _flatbuf
from ._errors import InvalidModelError
from ._flatbuf import FlatBuffer, distinct
from ._schema import FILE_IDENTIFIER, LAYOUTS, UNION_MEMBERS

__all__ = ["verify"]

_MAX_BUFFER = (1 << 31) - 1  # FlatBuffers' largest buffer
_MAX_DEPTH = 64
_MAX_TABLES = 1_000_000

Path = Callable[[int], str]
Rows = Union[np.ndarray, list[int]]

_U16 = struct.Struct("<H").unpack_from
_U32 = struct.Struct("<I").unpack_from
_I32 = struct.Struct("<i").unpack_from


def verify(fb: FlatBuffer, scalar_rows: int | None = None) -> None:
    """Raise ``InvalidModelError`` where LiteRT's verifier would refuse the file.

    ``scalar_rows`` overrides ``_flatbuf.SCALAR_ROWS`` (which way each pass runs, not what it
    finds).
    """
    walk = _Walk(fb, _flatbuf.SCALAR_ROWS if scalar_rows is None else scalar_rows)
    if fb.size < 8 or bytes(fb.data[4:8]) != FILE_IDENTIFIER:
        raise InvalidModelError.at("model", "no TFL3 file identifier", offset=4)
    root = walk.offsets([0], lambda i: "model", "root offset")
    walk.tables("Model", root, lambda i: "model", 1)


class _Walk:
    """The verifier's passes; each one picks numpy or Python by its number of rows."""

    def __init__(self, fb: FlatBuffer, scalar_rows: int) -> None:
        self.fb = fb
        self.data = fb.data
        self.size = fb.size
        self.count = 0
        self.scalar_rows = scalar_rows

    def small(self, rows: Rows) -> bool:
        return len(rows) <= self.scalar_rows

    # -- dispatch ------------------------------------------------------------------------------

    def offsets(self, at: Rows, path: Path, name: str) -> Rows:
        """Follow the offsets stored at ``at`` (each 4-byte aligned, non-zero, in the file)."""
        if self.small(at):
            return self._py_offsets(_as_list(at), path, name)
        return self._np_offsets(_as_array(at), path, name)

    def vectors(self, at: Rows, elem_size: int, path: Path) -> Rows:
        """Check the vectors at ``at``; return their lengths."""
        if self.small(at):
            return self._py_vectors(_as_list(at), elem_size, path)
        return self._np_vectors(_as_array(at), elem_size, path)

    def strings(self, at: Rows, path: Path) -> None:
        if self.small(at):
            self._py_strings(_as_list(at), path)
        else:
            self._np_strings(_as_array(at), path)

    def elements(self, at: Rows, count: Rows, path: Path) -> tuple[Rows, Path]:
        """Where the elements of vectors of offsets point, and each element's path."""
        if self.small(at) and sum(count) <= self.scalar_rows:
            return self._py_elements(_as_list(at), _as_list(count), path)
        return self._np_elements(_as_array(at), _as_array(count), path)

    def tables(self, name: str, pos: Rows, path: Path, depth: int) -> None:
        """Check every table of type ``name`` at ``pos`` and all they hold."""
        if not len(pos):
            return
        self.count += len(pos)
        if depth > _MAX_DEPTH or self.count > _MAX_TABLES:
            raise InvalidModelError.at(path(0), f"more than {_MAX_TABLES:,} tables or "
                                       f"{_MAX_DEPTH} levels")
        if self.small(pos):
            self._py_tables(name, _as_list(pos), path, depth)
        else:
            self._np_tables(name, _as_array(pos), path, depth)

    # -- numpy: many rows ----------------------------------------------------------------------

    def check(self, bad: np.ndarray, path: Path, what: Callable[[int], str]) -> None:
        """Raise for the first row where ``bad`` holds."""
        if np.count_nonzero(bad):
            row = int(bad.nonzero()[0][0])
            raise InvalidModelError.at(path(row), what(row))

    def inside(self, at: np.ndarray, length: np.ndarray | int) -> np.ndarray:
        """Where ``length`` bytes at ``at`` do not fit in the file (the verifier's Verify)."""
        found: np.ndarray = (at < 0) | (length >= self.size) | (at > self.size - length)
        return found

    def _np_offsets(self, at: np.ndarray, path: Path, name: str) -> np.ndarray:
        self.check((at % 4 != 0) | self.inside(at, 4), path,
                   lambda i: f"{name} at {int(at[i]):#x} is misaligned or past the end")
        value = self.fb.gather(at, "<u4").astype(np.int64)
        target = at + value
        self.check((value == 0) | (value >= 1 << 31) | self.inside(target, 1), path,
                   lambda i: f"{name} at {int(at[i]):#x} points to {int(target[i]):#x}, "
                             f"outside the file ({self.size} bytes)")
        return target

    def _np_vectors(self, at: np.ndarray, elem_size: int, path: Path) -> np.ndarray:
        self.check((at % 4 != 0) | self.inside(at, 4), path,
                   lambda i: f"vector at {int(at[i]):#x} is misaligned or past the end")
        count = self.fb.gather(at, "<u4").astype(np.int64)
        self.check((count >= _MAX_BUFFER // elem_size) | self.inside(at, 4 + elem_size * count),
                   path, lambda i: f"vector of {int(count[i])} elements at "
                                   f"{int(at[i]):#x} runs past the end of the file "
                                   f"({self.size} bytes)")
        return count

    def _np_strings(self, at: np.ndarray, path: Path) -> None:
        count = self._np_vectors(at, 1, path)
        end = at + 4 + count
        self.check(self.inside(end, 1), path, lambda i: f"string at {int(at[i]):#x} "
                                                        "has no terminating NUL")
        self.check(self.fb.gather(end, "u1") != 0, path,
                   lambda i: f"string at {int(at[i]):#x} is not NUL-terminated")

    def _np_elements(self, at: np.ndarray, count: np.ndarray, path: Path
                     ) -> tuple[np.ndarray, Path]:
        rows = np.repeat(np.arange(len(at)), count)
        first = np.cumsum(count) - count
        index = np.arange(len(rows)) - first[rows]
        slots = at[rows] + 4 + 4 * index
        targets = slots + self.fb.gather(slots, "<u4").astype(np.int64)

        def element_path(j: int) -> str:
            return f"{path(int(rows[j]))}[{int(index[j])}]"
        return targets, element_path

    def _np_tables(self, name: str, pos: np.ndarray, path: Path, depth: int) -> None:
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
            field_path = _field_path(path, present, field)
            if kind[1:].isdigit() and kind[0] == "s":
                size = int(kind[1:])
                self.check((at % size != 0) | self.inside(at, size), field_path,
                           _describe(at, f"{size}-byte field", "is misaligned or past the end"))
                if is_tag:
                    assert tags is not None
                    tags[present] = self.fb.gather(at, "u1")
                continue
            where = self.offsets(at, field_path, "offset")
            if kind in ("str", "tab") or kind[0] == "v":
                self.contents(kind, target, where, field_path, depth)
            else:  # a union value: the table its type tag names
                assert tags is not None
                tag = tags[present].tolist()
                self.union(target, _as_list(where), tag, field_path, depth)

    # -- Python: few rows ------------------------------------------------------------------------

    def _py_check(self, bad: list[bool], path: Path, what: Callable[[int], str]) -> None:
        if any(bad):
            row = bad.index(True)
            raise InvalidModelError.at(path(row), what(row))

    def _py_offsets(self, at: list[int], path: Path, name: str) -> list[int]:
        size, data = self.size, self.data
        self._py_check([a % 4 != 0 or a < 0 or size <= 4 or a > size - 4 for a in at], path,
                       lambda i: f"{name} at {at[i]:#x} is misaligned or past the end")
        value = [_U32(data, a)[0] for a in at]
        target = [a + v for a, v in zip(at, value)]
        self._py_check([v == 0 or v >= 1 << 31 or t < 0 or size <= 1 or t > size - 1
                        for v, t in zip(value, target)], path,
                       lambda i: f"{name} at {at[i]:#x} points to {target[i]:#x}, "
                                 f"outside the file ({size} bytes)")
        return target

    def _py_vectors(self, at: list[int], elem_size: int, path: Path) -> list[int]:
        size, data = self.size, self.data
        self._py_check([a % 4 != 0 or a < 0 or size <= 4 or a > size - 4 for a in at], path,
                       lambda i: f"vector at {at[i]:#x} is misaligned or past the end")
        count = [_U32(data, a)[0] for a in at]
        limit = _MAX_BUFFER // elem_size
        self._py_check([n >= limit or 4 + elem_size * n >= size or a > size - 4 - elem_size * n
                        for a, n in zip(at, count)],
                       path, lambda i: f"vector of {count[i]} elements at "
                                       f"{at[i]:#x} runs past the end of the file "
                                       f"({size} bytes)")
        return count

    def _py_strings(self, at: list[int], path: Path) -> None:
        count = self._py_vectors(at, 1, path)
        size, data = self.size, self.data
        end = [a + 4 + n for a, n in zip(at, count)]
        self._py_check([e < 0 or size <= 1 or e > size - 1 for e in end], path,
                       lambda i: f"string at {at[i]:#x} has no terminating NUL")
        self._py_check([data[e] != 0 for e in end], path,
                       lambda i: f"string at {at[i]:#x} is not NUL-terminated")

    def _py_elements(self, at: list[int], count: list[int], path: Path
                     ) -> tuple[list[int], Path]:
        data = self.data
        rows = [r for r, n in enumerate(count) for _ in range(n)]
        index = [k for n in count for k in range(n)]
        slots = [at[r] + 4 + 4 * k for r, k in zip(rows, index)]
        targets = [s + _U32(data, s)[0] for s in slots]

        def element_path(j: int) -> str:
            return f"{path(rows[j])}[{index[j]}]"
        return targets, element_path

    def _py_tables(self, name: str, pos: list[int], path: Path, depth: int) -> None:
        size, data = self.size, self.data
        self._py_check([p % 4 != 0 or p < 0 or size <= 4 or p > size - 4 for p in pos], path,
                       lambda i: f"{name} table at {pos[i]:#x} is misaligned or past the end")
        vt = [p - _I32(data, p)[0] for p in pos]
        self._py_check([v % 2 != 0 or v < 0 or size <= 2 or v > size - 2 for v in vt], path,
                       lambda i: f"{name} table's vtable at {vt[i]:#x} is misaligned or "
                                 "outside the file")
        sizes = {v: _U16(data, v)[0] for v in vt}  # tables share vtables
        vt_size = [sizes[v] for v in vt]
        self._py_check([n % 2 != 0 or v < 0 or n >= size or v > size - n
                        for v, n in zip(vt, vt_size)], path,
                       lambda i: f"{name} table's vtable at {vt[i]:#x} claims {vt_size[i]} bytes")
        plan = _plan(name)
        fields = {v: [_U16(data, v + step[0])[0] if n > step[0] else 0 for step in plan]
                  for v, n in sizes.items()}
        offsets = [fields[v] for v in vt]
        used = [any(column) for column in zip(*fields.values())]
        tags: list[int] = []
        for column, (_, kind, target, field, is_tag, n) in enumerate(plan):
            if is_tag:  # a union's type tag: its value is the next field
                tags = [0] * len(pos)
            if not used[column]:  # no table of this type has the field
                continue
            present = [r for r, row in enumerate(offsets) if row[column]]
            at = [pos[r] + offsets[r][column] for r in present]
            field_path = _field_path(path, present, field)
            if n:  # a scalar of n bytes
                self._py_check([a % n != 0 or a < 0 or n >= size or a > size - n for a in at],
                               field_path, _describe(at, f"{n}-byte field",
                                                     "is misaligned or past the end"))
                if is_tag:
                    for r, a in zip(present, at):
                        tags[r] = data[a]
                continue
            where = self.offsets(at, field_path, "offset")
            if kind in ("str", "tab") or kind[0] == "v":
                self.contents(kind, target, where, field_path, depth)
            else:  # a union value: the table its type tag names
                self.union(target, _as_list(where), [tags[r] for r in present], field_path,
                           depth)

    # -- shared by both ------------------------------------------------------------------------

    def contents(self, kind: str, target: str, where: Rows, path: Path, depth: int) -> None:
        """Check what the offsets of one field lead to: a string, a vector or a table."""
        if kind == "str":
            self.strings(where, path)
        elif kind[0] == "v":
            elem_size = int(kind[1:]) if kind[1:].isdigit() else 4
            count = self.vectors(where, elem_size, path)
            if kind in ("vstr", "vtab"):
                targets, element_path = self.elements(where, count, path)
                if kind == "vstr":
                    self.strings(targets, element_path)
                else:
                    self.tables(target, targets, element_path, depth + 1)
        else:  # "tab"
            self.tables(target, where, path, depth + 1)

    def union(self, target: str, where: list[int], tag: list[int], path: Path,
              depth: int) -> None:
        """Check union values as the tables their type tags name (an unknown tag passes)."""
        chosen: dict[int, list[int]] = {}
        for j, number in enumerate(tag):
            chosen.setdefault(number, []).append(j)
        members = UNION_MEMBERS[target]
        for number in sorted(chosen):
            if 1 <= number <= len(members):
                rows = chosen[number]
                self.tables(members[number - 1], [where[j] for j in rows],
                            _subset(path, rows), depth + 1)


_PLANS: dict[str, list[tuple[int, str, str, str, bool, int]]] = {}


def _plan(name: str) -> list[tuple[int, str, str, str, bool, int]]:
    """``LAYOUTS[name]`` with, per field, whether it is a union's type tag and its size if
    it is a scalar (else 0), worked out once."""
    plan = _PLANS.get(name)
    if plan is None:
        plan = _PLANS[name] = [
            (slot, kind, target, field, kind == "s1" and field.endswith("_type"),
             int(kind[1:]) if kind[0] == "s" and kind[1:].isdigit() else 0)
            for slot, kind, target, field in LAYOUTS[name]]
    return plan


def _as_list(rows: Rows) -> list[int]:
    found: list[int] = rows.tolist() if isinstance(rows, np.ndarray) else rows
    return found


def _as_array(rows: Rows) -> np.ndarray:
    return rows if isinstance(rows, np.ndarray) else np.array(rows, np.int64)


def _join(parent: str, field: str) -> str:
    """``subgraphs[0].tensors[3].name``: fields of the root table go without ``model.``."""
    return field if parent == "model" else f"{parent}.{field}"


def _field_path(path: Path, rows: Rows, field: str) -> Path:
    def field_path(j: int) -> str:
        return _join(path(int(rows[j])), field)
    return field_path


def _describe(at: Rows, what: str, problem: str) -> Callable[[int], str]:
    def describe(i: int) -> str:
        return f"{what} at {int(at[i]):#x} {problem}"
    return describe


def _subset(path: Path, rows: list[int]) -> Path:
    def subset_path(j: int) -> str:
        return path(rows[j])
    return subset_path
