"""Bounds-checked, zero-copy access to a FlatBuffer.

Every read of the file goes through this module. Each one checks its offsets against the
size of the buffer before ``struct.unpack_from`` or ``numpy.frombuffer`` runs, so malformed
input raises :class:`InvalidModelError` naming the field and the offset, never ``IndexError``
or ``struct.error``. Vectors come back as read-only numpy views of the file; nothing is copied
except strings.

Layout facts (FlatBuffers binary format): a table starts with an ``int32`` that, subtracted
from the table's position, gives its vtable; the vtable holds ``uint16`` vtable size, table
size, then one ``uint16`` offset per field (0 = absent, so the schema default applies).
Offsets to strings, vectors and tables are ``uint32`` relative to where they are stored.
Vectors and strings start with a ``uint32`` element count; strings end in a NUL byte.
"""

from __future__ import annotations

import struct
from typing import Callable, Union

import numpy as np

from ._errors import InvalidModelError
from ._schema import Ref, Scalar, Vector

__all__ = ["FlatBuffer", "Table", "TableVector", "Columns", "distinct"]

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")

_NUMPY = {
    "<b": np.dtype("i1"), "<B": np.dtype("u1"), "<?": np.dtype("?"), "<h": np.dtype("<i2"),
    "<H": np.dtype("<u2"), "<i": np.dtype("<i4"), "<I": np.dtype("<u4"), "<q": np.dtype("<i8"),
    "<Q": np.dtype("<u8"), "<f": np.dtype("<f4"), "<d": np.dtype("<f8"),
}
_TYPE_NAMES = {
    "<b": "int8", "<B": "uint8", "<?": "bool", "<h": "int16", "<H": "uint16", "<i": "int32",
    "<I": "uint32", "<q": "int64", "<Q": "uint64", "<f": "float32", "<d": "float64",
}

Bytes = Union[bytes, bytearray, memoryview]

#: bulk reads of at most this many rows run in plain Python, larger ones in numpy, whose
#: per-call cost (about a microsecond) is the whole cost of a small model. Both ways give
#: identical results; tests set this to 0 or to a huge number to force one of them.
SCALAR_ROWS = 24
_SHIFT = {2: 1, 4: 2, 8: 3}  # log2 of an item size


class FlatBuffer:
    """A read-only byte buffer with checked primitive reads."""

    __slots__ = ("data", "size", "_views", "need")

    def __init__(self, data: Bytes) -> None:
        view = memoryview(data)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        self.data = view.toreadonly()
        self.size = len(self.data)
        self._views: dict[str, np.ndarray] = {}
        # called with (start, length) before the contents of a buffer are read: a remote
        # source fetches them, a mapped file hints the kernel to read ahead (see _source)
        self.need: Callable[[int, int], None] = _nothing

    def _view(self, kind: str) -> np.ndarray:
        """The whole buffer as an array of ``kind`` (little-endian), made once."""
        view = self._views.get(kind)
        if view is None:
            dtype = np.dtype(kind).newbyteorder("<")
            view = self._views[kind] = np.frombuffer(self.data, dtype, self.size // dtype.itemsize)
        return view

    def gather(self, positions: np.ndarray, kind: str) -> np.ndarray:
        """Little-endian values of numpy ``kind`` at many byte positions (checked by caller)."""
        view = self._views.get(kind)
        if view is None:
            view = self._view(kind)
        size = view.itemsize
        found: np.ndarray
        if size == 1:
            found = view[positions]
            return found
        if not np.count_nonzero(positions & (size - 1)):
            found = view[positions >> _SHIFT[size]]
            return found
        offsets = positions[:, None] + np.arange(size)
        raw: np.ndarray = self._view("u1")[offsets].copy()
        found = raw.view(np.dtype(kind).newbyteorder("<")).reshape(-1)
        return found

    def rows(self, starts: np.ndarray, width: int) -> np.ndarray:
        """``width`` bytes at each of many byte positions, as a fresh ``(n, width)`` uint8 block.

        Each row is one memory copy (a gather of ``width``-byte void items). Rows that would
        run past the end of the file read zeros there; callers look only at bytes they have
        checked to be inside it.
        """
        n = len(starts)
        starts = np.minimum(starts, self.size)
        if width == 0 or n == 0:
            return np.zeros((n, width), np.uint8)
        if _descending(starts):
            # FlatBuffers are written back to front: reading forwards is much faster
            return self.rows(starts[::-1], width)[::-1]
        item = np.dtype((np.void, width))
        data = self._view("u1")
        last = self.size - width  # the last position a whole row fits at
        block = np.empty(n, item)
        inside = starts <= last
        if last >= 0:
            whole = np.ndarray((last + 1,), item, data, 0, (1,))
            if inside.all():
                block = whole[starts]
            else:
                block[inside] = whole[starts[inside]]
        if not inside.all():  # rows near the end: from a zero-padded copy of the tail
            tail_start = max(self.size - width, 0)
            tail = np.zeros(self.size - tail_start + width, np.uint8)
            tail[:self.size - tail_start] = data[tail_start:]
            padded = np.ndarray((len(tail) - width + 1,), item, tail, 0, (1,))
            block[~inside] = padded[starts[~inside] - tail_start]
        found: np.ndarray = block.view(np.uint8).reshape(n, width)
        return found

    def ragged(self, starts: np.ndarray, counts: np.ndarray, kind: str
               ) -> tuple[np.ndarray, np.ndarray]:
        """Many vectors read at once: (all values concatenated, where each one begins).

        Row ``r``'s values are ``values[first[r]:first[r] + max(counts[r], 0)]``; the caller
        has checked that every vector lies inside the file.
        """
        counts = np.maximum(counts, 0)
        first = np.cumsum(counts) - counts
        dtype = np.dtype(kind).newbyteorder("<")
        size = dtype.itemsize
        if len(counts) <= SCALAR_ROWS:  # few rows: their bytes joined in Python
            spans = [(start, start + count * size)
                     for start, count in zip(starts.tolist(), counts.tolist())]
            if all(end <= self.size for _, end in spans):
                data = self.data
                joined = bytearray(b"".join([data[start:end] for start, end in spans]))
                return np.frombuffer(joined, dtype), first
        total = int(first[-1] + counts[-1]) if len(counts) else 0
        width = int(counts.max()) * size if len(counts) else 0
        if total and len(counts) * width <= 4 * total * size + 4096:
            # little padding: copy fixed-width rows, then keep each row's own bytes
            block = self.rows(starts, width)
            keep = np.arange(width) < (counts * size)[:, None]
            return block[keep].view(dtype), first
        offsets = np.repeat(starts - size * first, counts)
        offsets += size * np.arange(len(offsets))
        return self.gather(offsets, kind), first

    def row_arrays(self, starts: np.ndarray, counts: np.ndarray, kind: str, dtype: type
                   ) -> list[np.ndarray]:
        """Many vectors as fresh arrays of ``dtype``, one per row (count -1: empty).

        Rows are grouped by length; each group is copied out of the file in one numpy
        operation (a gather of whole rows where they are aligned) and split into row views.
        int64 values wanted as int32 keep their low 32 bits, read as such.
        """
        counts = np.maximum(counts, 0)
        low_words = kind == "<i8" and np.dtype(dtype) == np.int32
        stored = np.dtype(kind).newbyteorder("<")
        if len(counts) <= SCALAR_ROWS:
            found = self._few_row_arrays(starts.tolist(), counts.tolist(), stored, dtype,
                                         low_words)
            if found is not None:
                return found
        if len(counts) and counts.min() == counts.max():  # one length: no grouping needed
            return list(self._row_block(starts, int(counts[0]), stored, dtype, low_words))
        order = np.argsort(counts, kind="stable")
        sorted_counts, sorted_starts = counts[order], starts[order]
        lengths, group_starts = np.unique(sorted_counts, return_index=True)
        bounds = [*group_starts.tolist(), len(counts)]
        pieces: list[np.ndarray] = []
        for length, lo, hi in zip(lengths.tolist(), bounds, bounds[1:]):
            pieces.extend(self._row_block(sorted_starts[lo:hi], length, stored, dtype,
                                          low_words))
        return list(map(pieces.__getitem__, np.argsort(order).tolist()))

    def _few_row_arrays(self, starts: list[int], counts: list[int], stored: np.dtype,
                        dtype: type, low_words: bool) -> list[np.ndarray] | None:
        """``row_arrays`` for a few rows, one ``frombuffer`` each (None: a row runs past the
        end of the file, where ``rows`` reads zeros)."""
        size = stored.itemsize
        if any(start + count * size > self.size for start, count in zip(starts, counts)):
            return None
        data = self.data
        if low_words:  # int64 -> int32 keeps the low 32 bits (little-endian: the first word)
            return [np.frombuffer(data, _LOW_WORD, 2 * count, start)[::2].astype(np.int32)
                    for start, count in zip(starts, counts)]
        return [np.frombuffer(data, stored, count, start).astype(dtype)
                for start, count in zip(starts, counts)]

    def _row_block(self, starts: np.ndarray, length: int, stored: np.dtype, dtype: type,
                   low_words: bool) -> np.ndarray:
        """Vectors of one length as the rows of a fresh 2-D array of ``dtype``."""
        width = length * stored.itemsize
        backwards = _descending(starts)  # read in file order, then turned round
        if backwards:
            starts = starts[::-1]
        if low_words:  # int64 -> int32 keeps the low 32 bits (little-endian: the first word)
            block = np.empty((len(starts), length), np.int32)
            step = max(1, _CHUNK // max(width, 1))  # the int64 rows pass through in chunks
            for lo in range(0, len(starts), step):
                raw = self.rows(starts[lo:lo + step], width)
                block[lo:lo + step] = raw.view("<i4")[:, ::2]
        else:
            block = self.rows(starts, width).view(stored).astype(dtype, copy=False)
        return block[::-1] if backwards else block

    def c_strings(self, starts: np.ndarray, counts: np.ndarray
                  ) -> list[str | UnicodeDecodeError | None]:
        """Many strings as C reads them: up to the first NUL, decoded as UTF-8.

        Absent strings (count -1) are None; one that is not UTF-8 is its decoding error.
        FlatBuffers ends every string with a NUL, so when no string of many holds one of its
        own, all are gathered with their terminators, decoded at once and split at the NULs.
        """
        found: list[str | UnicodeDecodeError | None] = [None] * len(counts)
        rows = (counts >= 0).nonzero()[0]
        if not len(rows):
            return found
        at, lengths = starts[rows], counts[rows] + 1
        if len(rows) > SCALAR_ROWS and int((at + lengths).max()) <= self.size:
            values, first = self.ragged(at, lengths, "u1")
            zeros = values == 0
            if int(zeros.sum()) == len(rows) and zeros[first + lengths - 1].all():
                try:
                    texts = values.tobytes().decode("utf-8").split("\x00")
                except UnicodeDecodeError:
                    pass
                else:
                    texts.pop()  # what follows the last terminator
                    if len(rows) == len(counts):
                        return list(texts)
                    for row, text in zip(rows.tolist(), texts):
                        found[row] = text
                    return found
        data = self.data
        for row, start, count in zip(rows.tolist(), at.tolist(), (lengths - 1).tolist()):
            raw = bytes(data[start:start + count]).split(b"\x00", 1)[0]
            try:
                found[row] = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                found[row] = error
        return found

    def fail(self, where: str, what: str, offset: int | None = None) -> InvalidModelError:
        """Build the error for a malformed ``where`` (found at byte ``offset``, if known)."""
        return InvalidModelError.at(where, what, offset)

    def past_end(self, where: str, what: str, pos: int) -> InvalidModelError:
        return self.fail(where, f"{what} at offset {pos:#x} runs past the end of the file "
                                f"({self.size} bytes)", pos)

    def check(self, pos: int, length: int, where: str, what: str) -> None:
        """Raise unless ``[pos, pos + length)`` lies inside the buffer."""
        if pos < 0 or length < 0 or pos + length > self.size:
            raise self.past_end(where, what, pos)

    def u16(self, pos: int, where: str) -> int:
        self.check(pos, 2, where, "uint16")
        value: int = _U16.unpack_from(self.data, pos)[0]
        return value

    def u32(self, pos: int, where: str) -> int:
        self.check(pos, 4, where, "uint32")
        value: int = _U32.unpack_from(self.data, pos)[0]
        return value

    def i32(self, pos: int, where: str) -> int:
        self.check(pos, 4, where, "int32")
        value: int = _I32.unpack_from(self.data, pos)[0]
        return value

    def follow(self, pos: int, where: str) -> int:
        """Return the position a ``uint32`` relative offset stored at ``pos`` points to."""
        target = pos + self.u32(pos, where)
        if target >= self.size:
            raise self.fail(where, f"offset at {pos:#x} points to {target:#x}, past the end of "
                                   f"the file ({self.size} bytes)", pos)
        return target

    def root(self, where: str = "") -> Table:
        """The root table (the buffer must start with its offset)."""
        return Table(self, self.follow(0, "root offset"), where)


class Table:
    """One table of the buffer, with its vtable located and checked."""

    __slots__ = ("fb", "pos", "vt", "vt_size", "where")

    def __init__(self, fb: FlatBuffer, pos: int, where: str) -> None:
        self.fb = fb
        self.pos = pos
        self.where = where
        vt = pos - fb.i32(pos, where or "root table")
        if vt < 0 or vt + 2 > fb.size:
            raise fb.fail(where or "root table",
                          f"table at {pos:#x} has its vtable at {vt:#x}, outside the file "
                          f"({fb.size} bytes)", pos)
        self.vt = vt
        self.vt_size = fb.u16(vt, where or "root table")  # < 4: a table without fields
        if self.vt_size % 2 or vt + self.vt_size > fb.size:
            raise fb.fail(where or "root table",
                          f"vtable at {vt:#x} declares a bad size {self.vt_size}", vt)

    def _field(self, voffset: int, size: int, name: str) -> int:
        """Position of a field's bytes, or 0 when the field is absent."""
        if voffset >= self.vt_size:
            return 0
        offset: int = _U16.unpack_from(self.fb.data, self.vt + voffset)[0]
        if offset == 0:
            return 0
        if self.pos + offset + size > self.fb.size:
            raise self.fb.past_end(self.path(name), f"{size}-byte field", self.pos + offset)
        return self.pos + offset

    def path(self, name: str) -> str:
        """Where a field of this table is, for messages: ``subgraphs[0].tensors[3].shape``."""
        return f"{self.where}.{name}" if self.where else name

    def has(self, field: Scalar | Vector | Ref) -> bool:
        """Whether the field is present in the file."""
        return self._field(field.voffset, 1, field.name) != 0

    def scalar(self, field: Scalar) -> int | float | bool:
        """The field's value, or its schema default when absent."""
        pos = self._field(field.voffset, field.size, field.name)
        if not pos:
            return field.default
        value: int | float | bool = struct.unpack_from(field.fmt, self.fb.data, pos)[0]
        return value

    def integer(self, field: Scalar) -> int:
        """An integer field (``bool`` fields come back as 0/1)."""
        return int(self.scalar(field))

    def _target(self, field: Vector | Ref) -> int:
        pos = self._field(field.voffset, 4, field.name)
        return self.fb.follow(pos, self.path(field.name)) if pos else 0

    def _vector(self, field: Vector, elem_size: int, what: str) -> tuple[int, int]:
        """(start of elements, count) of a vector field, or (0, -1) when absent."""
        target = self._target(field)
        if not target:
            return 0, -1
        where = self.path(field.name)
        self.fb.check(target, 4, where, "vector length")
        count: int = _U32.unpack_from(self.fb.data, target)[0]
        if target + 4 + count * elem_size > self.fb.size:
            raise self.fb.past_end(where, f"vector of {count} {what}", target)
        return target + 4, count

    def array(self, field: Vector) -> np.ndarray | None:
        """A scalar vector as a read-only numpy view, or None when absent."""
        start, count = self._vector(field, field.elem_size, _TYPE_NAMES[field.elem])
        if count < 0:
            return None
        return np.frombuffer(self.fb.data, _NUMPY[field.elem], count, start)

    def bytes_view(self, field: Vector) -> memoryview | None:
        """A ``[ubyte]`` vector as a zero-copy memoryview, or None when absent."""
        start, count = self._vector(field, 1, "bytes")
        return None if count < 0 else self.fb.data[start:start + count]

    def string(self, field: Ref) -> bytes | None:
        """A string field's raw bytes (without the NUL terminator), or None when absent."""
        start, count = self._vector(field, 1, "bytes")  # type: ignore[arg-type]
        return None if count < 0 else bytes(self.fb.data[start:start + count])

    def table(self, field: Ref) -> Table | None:
        """A sub-table, or None when absent."""
        target = self._target(field)
        return Table(self.fb, target, self.path(field.name)) if target else None

    def tables(self, field: Vector) -> TableVector | None:
        """A vector of tables, or None when absent."""
        start, count = self._vector(field, 4, "table offsets")
        if count < 0:
            return None
        return TableVector(self.fb, start, count, self.path(field.name))


class TableVector:
    """A vector of tables; elements are located on access."""

    __slots__ = ("fb", "start", "count", "where")

    def __init__(self, fb: FlatBuffer, start: int, count: int, where: str) -> None:
        self.fb = fb
        self.start = start
        self.count = count
        self.where = where

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> Table:
        if not 0 <= index < self.count:
            raise IndexError(index)
        where = f"{self.where}[{index}]"
        return Table(self.fb, self.fb.follow(self.start + 4 * index, where), where)

    def strings(self) -> list[bytes]:
        """Read the vector as a vector of strings."""
        out = []
        for index in range(self.count):
            where = f"{self.where}[{index}]"
            target = self.fb.follow(self.start + 4 * index, where)
            length = self.fb.u32(target, where)
            self.fb.check(target + 4, length, where, f"string of {length} bytes")
            out.append(bytes(self.fb.data[target + 4:target + 4 + length]))
        return out


_KINDS = {
    "<b": "i1", "<B": "u1", "<?": "?", "<h": "i2", "<H": "u2", "<i": "i4", "<I": "u4",
    "<q": "i8", "<Q": "u8", "<f": "f4", "<d": "f8",
}


class Columns:
    """One table type read for many rows at once, with numpy.

    Each method does for every row what the same-named :class:`Table` method does for one,
    with the same checks vectorised. A row that fails a check is read again through
    :class:`Table` to get the precise error, which is kept in ``errors``; the row is then
    ``broken`` and reads as if the field were absent, so the other rows stay readable.
    """

    __slots__ = ("fb", "pos", "rows", "where", "vt", "broken", "errors", "_slow_table",
                 "_vtables", "_vtable_sizes", "_which", "_few")

    def __init__(self, fb: FlatBuffer, pos: np.ndarray, rows: np.ndarray, where: str,
                 slow_table: Callable[[int], Table],
                 broken: np.ndarray | None = None) -> None:
        self.fb = fb
        self.rows = rows
        self.where = where
        self._slow_table = slow_table
        self.errors: dict[int, InvalidModelError] = {}
        self.broken = np.zeros(len(pos), bool) if broken is None else broken.copy()
        #: few rows: read in Python, element by element (the same values and errors)
        self._few = len(pos) <= SCALAR_ROWS
        if self._few:
            self._py_init(pos.tolist())
            return
        size = fb.size
        pos = np.where(pos >= size, 0, pos)
        self.pos = pos = np.where(self.broken, 0, pos)
        self._fail(pos + 4 > size, None)
        pos = np.where(self.broken, 0, pos)
        vt = pos - fb.gather(pos, "i4").astype(np.int64)
        self._fail((vt < 0) | (vt + 2 > size), None)
        self.vt = vt = np.where(self.broken, 0, vt)
        vt_size = fb.gather(vt, "u2").astype(np.int64)  # < 4: no fields
        self._fail((vt_size % 2 == 1) | (vt + vt_size > size), None)
        vt_size[self.broken] = 0  # a broken row has no fields
        # tables share vtables: field offsets are read once per distinct vtable (-1: none)
        self._vtables, self._which = distinct(np.where(self.broken, -1, vt))
        self._vtable_sizes = np.zeros(len(self._vtables), np.int64)
        self._vtable_sizes[self._which] = vt_size  # the same for every row of a vtable

    def _py_init(self, pos: list[int]) -> None:
        """``__init__``'s checks and reads for a few rows, in plain Python."""
        size, data = self.fb.size, self.fb.data
        broken = self.broken.tolist()
        pos = [0 if b or p >= size else p for p, b in zip(pos, broken)]
        self.pos = np.array(pos, np.int64)
        self._py_fail([p + 4 > size for p in pos], None)
        broken = self.broken.tolist()
        pos = [0 if b else p for p, b in zip(pos, broken)]
        vt = [p - (_I32.unpack_from(data, p)[0] if p + 4 <= size else 0) for p in pos]
        self._py_fail([v < 0 or v + 2 > size for v in vt], None)
        broken = self.broken.tolist()
        vt = [0 if b else v for v, b in zip(vt, broken)]
        self.vt = np.array(vt, np.int64)
        vt_size = [_U16.unpack_from(data, v)[0] if v + 2 <= size else 0 for v in vt]
        self._py_fail([n % 2 == 1 or v + n > size for v, n in zip(vt, vt_size)], None)
        broken = self.broken.tolist()
        keys = [-1 if b else v for v, b in zip(vt, broken)]
        vtables = sorted(set(keys))
        number = {v: k for k, v in enumerate(vtables)}
        sizes = [0] * len(vtables)
        for v, n, b in zip(keys, vt_size, broken):
            sizes[number[v]] = 0 if b else n  # a broken row has no fields
        self._vtables = np.array(vtables, np.int64)
        self._which = np.array([number[v] for v in keys], np.intp)
        self._vtable_sizes = np.array(sizes, np.int64)

    @classmethod
    def of_vector(cls, vector: TableVector) -> Columns:
        """Every table of a vector of tables."""
        fb = vector.fb
        rows = np.arange(vector.count, dtype=np.int64)
        if vector.count <= SCALAR_ROWS:
            pos = np.array([vector.start + 4 * row + _U32.unpack_from(fb.data,
                                                                      vector.start + 4 * row)[0]
                            for row in range(vector.count)], np.int64)
        else:
            slots = vector.start + 4 * rows
            pos = slots + fb.gather(slots, "u4").astype(np.int64)
        columns = cls(fb, pos, rows, vector.where + "[{}]", vector.__getitem__, pos >= fb.size)
        for i in (pos >= fb.size).nonzero()[0].tolist():
            columns._record(i, None)  # the slow read of the element raises its error
        return columns

    def __len__(self) -> int:
        return len(self.pos)

    def table(self, i: int) -> Table:
        """Row ``i`` as a :class:`Table` (raises the row's error if it is broken)."""
        if self.broken[i]:
            raise self.errors[int(self.rows[i])]
        return Table(self.fb, int(self.pos[i]), self.where.format(int(self.rows[i])))

    def _record(self, i: int, read: Callable[[Table], object] | None) -> None:
        row = int(self.rows[i])
        try:
            table = self._slow_table(row)
            if read is not None:
                read(table)
            error = InvalidModelError.at(self.where.format(row), "malformed table")
        except InvalidModelError as found:
            error = found
        self.errors.setdefault(row, error)
        self.broken[i] = True

    def _fail(self, bad: np.ndarray, read: Callable[[Table], object] | None) -> None:
        """Mark the rows where ``bad`` holds as broken, keeping each one's precise error."""
        for i in (bad & ~self.broken).nonzero()[0].tolist():
            self._record(i, read)

    def _py_fail(self, bad: list[bool], read: Callable[[Table], object] | None) -> None:
        """``_fail`` for a list."""
        if any(bad):
            broken = self.broken.tolist()
            for i, (b, was) in enumerate(zip(bad, broken)):
                if b and not was:
                    self._record(i, read)

    def field(self, voffset: int, size: int, name: str) -> np.ndarray:
        """Positions of a field in every row; 0 where the field is absent."""
        if self._few:
            return np.array(self._py_field(voffset, size, name), np.int64)
        vtables = self._vtables
        in_table = np.zeros(len(vtables), np.int64)
        has = (self._vtable_sizes > voffset).nonzero()[0]
        in_table[has] = self.fb.gather(vtables[has] + voffset, "u2")
        offsets = in_table[self._which]
        if np.count_nonzero(self.broken):
            offsets[self.broken] = 0  # a broken row has no fields
        bad = (offsets != 0) & (self.pos + offsets + size > self.fb.size)
        if np.count_nonzero(bad):
            self._fail(bad, lambda t: t._field(voffset, size, name))
            offsets[self.broken] = 0
        return np.where(offsets != 0, self.pos + offsets, 0)

    def _py_field(self, voffset: int, size: int, name: str) -> list[int]:
        """``field`` for a few rows, as a list."""
        data, end = self.fb.data, self.fb.size
        in_table = [_U16.unpack_from(data, v + voffset)[0] if n > voffset else 0
                    for v, n in zip(self._vtables.tolist(), self._vtable_sizes.tolist())]
        broken = self.broken.tolist()
        offsets = [0 if b else in_table[k] for k, b in zip(self._which.tolist(), broken)]
        pos = self.pos.tolist()
        bad = [o != 0 and p + o + size > end for p, o in zip(pos, offsets)]
        if any(bad):
            self._py_fail(bad, lambda t: t._field(voffset, size, name))
            broken = self.broken.tolist()
            offsets = [0 if b else o for o, b in zip(offsets, broken)]
        return [p + o if o else 0 for p, o in zip(pos, offsets)]

    def scalar(self, field: Scalar) -> np.ndarray:
        """A scalar field of every row, the schema default where absent."""
        if self._few:
            spots = self._py_field(field.voffset, field.size, field.name)
            data = self.fb.data
            if field.fmt == "<?":  # the stored byte, as numpy's bool view holds it
                raw = [data[a] if a else int(field.default) for a in spots]
                found: np.ndarray = np.array(raw, np.uint8).view(np.bool_)
                return found
            read = struct.Struct(field.fmt).unpack_from
            return np.array([read(data, a)[0] if a else field.default for a in spots],
                            _KINDS[field.fmt])
        at = self.field(field.voffset, field.size, field.name)
        kind = _KINDS[field.fmt]
        values = np.full(len(at), field.default, dtype=kind)
        present = at.nonzero()[0]
        values[present] = self.fb.gather(at[present], kind)
        return values

    def _targets(self, field: Vector | Ref) -> tuple[np.ndarray, np.ndarray]:
        """(rows where the field is present, positions it points to)."""
        if self._few:
            rows, targets = self._py_targets(field)
            return np.array(rows, np.int64), np.array(targets, np.int64)
        at = self.field(field.voffset, 4, field.name)
        present = at.nonzero()[0]
        target = at[present] + self.fb.gather(at[present], "u4").astype(np.int64)
        bad = target >= self.fb.size
        if np.count_nonzero(bad):
            self._fail(_mark(len(at), present[bad]), lambda t: t._target(field))
            present, target = present[~bad], target[~bad]
        return present, target

    def _py_targets(self, field: Vector | Ref) -> tuple[list[int], list[int]]:
        """``_targets`` for a few rows, as lists."""
        data, size = self.fb.data, self.fb.size
        at = self._py_field(field.voffset, 4, field.name)
        present = [i for i, a in enumerate(at) if a]
        target = [at[i] + _U32.unpack_from(data, at[i])[0] for i in present]
        bad = [t >= size for t in target]
        if any(bad):
            marks = [False] * len(at)
            for i, b in zip(present, bad):
                marks[i] = b
            self._py_fail(marks, lambda t: t._target(field))
            kept = [k for k, b in enumerate(bad) if not b]
            present, target = [present[k] for k in kept], [target[k] for k in kept]
        return present, target

    def _py_vectors(self, field: Vector) -> tuple[np.ndarray, np.ndarray]:
        """``vectors`` for a few rows."""
        data, size = self.fb.data, self.fb.size
        present, target = self._py_targets(field)
        count = [_U32.unpack_from(data, t)[0] if t + 4 <= size else 0 for t in target]
        bad = [t + 4 > size or t + 4 + n * field.elem_size > size
               for t, n in zip(target, count)]
        if any(bad):
            marks = [False] * len(self.pos)
            for i, b in zip(present, bad):
                marks[i] = b
            self._py_fail(marks, lambda t: t._vector(field, field.elem_size, _describe(field)))
            kept = [k for k, b in enumerate(bad) if not b]
            present = [present[k] for k in kept]
            target, count = [target[k] for k in kept], [count[k] for k in kept]
        starts, counts = [0] * len(self.pos), [-1] * len(self.pos)
        for i, t, n in zip(present, target, count):
            starts[i], counts[i] = t + 4, n
        return np.array(starts, np.int64), np.array(counts, np.int64)

    def vectors(self, field: Vector) -> tuple[np.ndarray, np.ndarray]:
        """(element starts, counts) of a vector field in every row; count -1 where absent."""
        if self._few:
            return self._py_vectors(field)
        present, target = self._targets(field)
        short = target + 4 > self.fb.size
        count = np.zeros(len(target), np.int64)
        count[~short] = self.fb.gather(target[~short], "u4")
        bad = short | (target + 4 + count * field.elem_size > self.fb.size)
        if np.count_nonzero(bad):
            self._fail(_mark(len(self.pos), present[bad]),
                       lambda t: t._vector(field, field.elem_size, _describe(field)))
            present, target, count = present[~bad], target[~bad], count[~bad]
        starts = np.zeros(len(self.pos), np.int64)
        counts = np.full(len(self.pos), -1, np.int64)
        starts[present] = target + 4
        counts[present] = count
        return starts, counts

    def strings(self, field: Ref) -> tuple[np.ndarray, np.ndarray]:
        """(byte starts, lengths) of a string field in every row; length -1 where absent."""
        return self.vectors(Vector(field.name, field.voffset, "<B", 1))

    def tables(self, field: Ref) -> tuple[np.ndarray, Columns]:
        """(rows that have the sub-table, the sub-tables of those rows).

        A row whose sub-table is malformed becomes broken here, with the sub-table's error.
        """
        present, target = self._targets(field)
        parent = self

        def position(row: int) -> int:  # rows ascend
            return int(np.searchsorted(parent.rows, row))

        def slow_table(row: int) -> Table:
            found = parent.table(position(row)).table(field)
            assert found is not None
            return found

        sub = Columns(self.fb, target, self.rows[present], f"{self.where}.{field.name}",
                      slow_table)
        for i in sub.broken.nonzero()[0].tolist():
            row = int(sub.rows[i])
            self.errors.setdefault(row, sub.errors[row])
            self.broken[position(row)] = True
        return present, sub


_CHUNK = 1 << 20  # bytes of temporary rows at a time
_LOW_WORD = np.dtype("<i4")


def _nothing(start: int, length: int) -> None:
    """The ``need`` hook of bytes already in memory."""


def _descending(starts: np.ndarray) -> bool:
    """Whether positions strictly descend (FlatBuffers are written back to front)."""
    return len(starts) > 1 and starts[0] > starts[-1] and bool((np.diff(starts) < 0).all())


def distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct values, which of them each value is): ``np.unique`` with its inverse,
    quick when all are the same (tables of one type usually share one vtable)."""
    if len(values) and values.min() == values.max():
        return values[:1], np.zeros(len(values), np.intp)
    # np.unique(values, return_inverse=True), in fewer numpy calls
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.empty(len(values), bool)
    starts[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    which = np.empty(len(values), np.intp)
    which[order] = np.cumsum(starts) - 1
    return ordered[starts], which


def _describe(field: Vector) -> str:
    if field.elem == "<B":
        return "bytes"
    return _TYPE_NAMES.get(field.elem, "table offsets")


def _mark(n: int, rows: np.ndarray) -> np.ndarray:
    marks = np.zeros(n, bool)
    marks[rows] = True
    return marks

