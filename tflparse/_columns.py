"""Bulk column readers: every tensor or operator of a subgraph, or every buffer, as columns.

One pass of vectorised reads over a vector of tables gives each row's scalar fields and where
its vectors start and how long they are. The model view, the details, LiteRT's construction
rules, the audit and the CLI read many tensors through these instead of table by table.
"""

from __future__ import annotations

import numpy as np

from . import _schema as S
from ._errors import InvalidModelError
from ._flatbuf import Columns, FlatBuffer, Table, TableVector

__all__ = ["TensorColumns", "BufferColumns", "OperatorColumns", "EMPTY_I32"]

#: the shared read-only empty int32 array (an absent shape or index list)
EMPTY_I32 = np.zeros(0, np.int32)
EMPTY_I32.flags.writeable = False


class TensorColumns:
    """Every tensor of one subgraph as numpy columns, read in bulk (internal).

    One pass of vectorised reads gives each tensor's scalar fields, where its vectors start
    and how long they are (-1: absent), and the same for its quantization table; the model
    view and the Interpreter facade read tensors from here instead of table by table.
    """

    __slots__ = ("fb", "rows", "count", "_names", "name_start", "name_count", "shape_start",
                 "shape_count", "sig_start", "sig_count", "type", "buffer", "is_variable",
                 "has_rank", "external_buffer",
                 "has_sparsity", "quant_row", "scale_start", "scale_count", "zp_start",
                 "zp_count", "quantized_dimension", "details_type")

    def __init__(self, fb: FlatBuffer, vector: TableVector | None) -> None:
        T, Q = S.Tensor, S.QuantizationParameters
        self.fb = fb
        if vector is None:
            vector = TableVector(fb, 0, 0, "tensors")
        rows = Columns.of_vector(vector)
        self.rows = rows
        self.count = len(rows)
        self._names: list[bytes | None] | None = None
        self.name_start, self.name_count = rows.strings(T.NAME)
        self.shape_start, self.shape_count = rows.vectors(T.SHAPE)
        self.sig_start, self.sig_count = rows.vectors(T.SHAPE_SIGNATURE)
        self.type = rows.scalar(T.TYPE).astype(np.int64)
        self.buffer = rows.scalar(T.BUFFER).astype(np.int64)
        self.is_variable = rows.scalar(T.IS_VARIABLE)
        self.has_rank = rows.scalar(T.HAS_RANK)
        self.external_buffer = rows.scalar(T.EXTERNAL_BUFFER).astype(np.int64)
        self.has_sparsity = rows.field(T.SPARSITY.voffset, 4, T.SPARSITY.name) != 0
        quantized, quant = rows.tables(T.QUANTIZATION)
        self.quant_row = np.full(self.count, -1, np.int64)
        self.quant_row[quantized] = np.arange(len(quantized))
        self.scale_start, self.scale_count = quant.vectors(Q.SCALE)
        self.zp_start, self.zp_count = quant.vectors(Q.ZERO_POINT)
        self.quantized_dimension = quant.scalar(Q.QUANTIZED_DIMENSION).astype(np.int64)
        self.details_type = quant.scalar(Q.DETAILS_TYPE).astype(np.int64)
        for row, error in quant.errors.items():  # a broken quantization breaks its tensor
            rows.errors.setdefault(row, error)
            rows.broken[row] = True

    @property
    def names(self) -> list[bytes | None]:
        """Every tensor's stored name (None where absent), read on first use."""
        if self._names is None:
            data = self.fb.data
            self._names = [None if n < 0 else bytes(data[s:s + n]) for s, n in
                           zip(self.name_start.tolist(), self.name_count.tolist())]
        return self._names

    def error(self, index: int) -> InvalidModelError | None:
        """Why tensor ``index`` cannot be read, or None."""
        return self.rows.errors.get(index) if self.rows.broken[index] else None

    def first_error(self) -> InvalidModelError | None:
        """The error of the first unreadable tensor, or None."""
        broken = np.flatnonzero(self.rows.broken)
        return self.rows.errors[int(broken[0])] if len(broken) else None

    def table(self, index: int) -> Table:
        return self.rows.table(index)

    def array(self, start: int, count: int, kind: str) -> np.ndarray | None:
        """A read-only view of ``count`` values of ``kind`` at ``start`` (None: count < 0)."""
        if count < 0:
            return None
        size = np.dtype(kind).itemsize
        if start % size == 0:
            found: np.ndarray = self.fb._view(kind)[start // size:start // size + count]
            return found
        return np.frombuffer(self.fb.data, np.dtype(kind).newbyteorder("<"), count, start)

    def shape(self, index: int) -> np.ndarray:
        found = self.array(int(self.shape_start[index]), int(self.shape_count[index]), "i4")
        return EMPTY_I32 if found is None else found


class BufferColumns:
    """Every entry of ``Model.buffers`` as numpy columns (internal).

    Whether a buffer holds data is decided from the Buffer tables alone: the presence of the
    ``data`` field and ``offset``; the data itself, its length prefix included, is not read.
    """

    __slots__ = ("rows", "count", "has_data", "offset", "size", "_data_at", "_holds",
                 "_data_counts")

    def __init__(self, fb: FlatBuffer, vector: TableVector | None) -> None:
        if vector is None:
            vector = TableVector(fb, 0, 0, "buffers")
        self.rows = rows = Columns.of_vector(vector)
        self.count = len(rows)
        self._data_at = rows.field(S.Buffer.DATA.voffset, 4, S.Buffer.DATA.name)
        self.has_data = self._data_at != 0
        self.offset = rows.scalar(S.Buffer.OFFSET)
        self.size = rows.scalar(S.Buffer.SIZE)
        self._holds: list[bool] | None = None
        self._data_counts: np.ndarray | None = None

    def at(self, column: np.ndarray, buffers: np.ndarray) -> np.ndarray:
        """``column`` for many buffer indices; 0 for index 0 and for out-of-range ones."""
        valid = (buffers > 0) & (buffers < self.count)
        found = np.zeros(len(buffers), column.dtype)
        found[valid] = column[buffers[valid]]
        return found

    def holds_data(self, buffers: np.ndarray) -> np.ndarray:
        """For buffer indices (0 and out-of-range allowed): whether each one has data."""
        holds: np.ndarray = self.at(self.has_data, buffers) | (self.at(self.offset, buffers) > 1)
        return holds

    def holds(self, buffer: int) -> bool:
        """``holds_data`` of one buffer index."""
        if self._holds is None:
            self._holds = self.holds_data(np.arange(self.count)).tolist()
        return 0 < buffer < self.count and self._holds[buffer]

    def data_sizes(self, buffers: np.ndarray) -> np.ndarray:
        """Byte sizes of the data of buffers that hold data (reads inline length prefixes)."""
        index = np.asarray(buffers, np.int64)
        inline = self.has_data[index]
        sizes = self.size[index].astype(np.int64)
        if inline.any():
            if self._data_counts is None:  # the length prefixes, read once
                self._data_counts = self.rows.vectors(S.Buffer.DATA)[1]
            sizes[inline] = self._data_counts[index[inline]]
        return sizes

    def sizes_or_zero(self, buffers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(whether each buffer index holds data, its byte size or 0), for any indices."""
        holds = self.holds_data(buffers)
        sizes = np.zeros(len(holds), np.int64)
        if holds.any():
            sizes[holds] = self.data_sizes(np.asarray(buffers)[holds])
        return holds, sizes


class OperatorColumns:
    """The fields of every operator that construction looks at, as columns."""

    __slots__ = ("fb", "rows", "count", "opcode_index", "input_start", "input_count",
                 "output_start", "output_count", "options_type", "options_2_type",
                 "has_options", "has_options_2", "has_custom_options")

    def __init__(self, fb: FlatBuffer, vector: TableVector | None) -> None:
        F = S.Operator
        self.fb = fb
        if vector is None:
            vector = TableVector(fb, 0, 0, "operators")
        self.rows = rows = Columns.of_vector(vector)
        self.count = len(rows)
        self.opcode_index = rows.scalar(F.OPCODE_INDEX).astype(np.int64)
        self.input_start, self.input_count = rows.vectors(F.INPUTS)
        self.output_start, self.output_count = rows.vectors(F.OUTPUTS)
        self.options_type = rows.scalar(F.BUILTIN_OPTIONS_TYPE).astype(np.int64)
        self.options_2_type = rows.scalar(F.BUILTIN_OPTIONS_2_TYPE).astype(np.int64)
        self.has_options = _present(rows, F.BUILTIN_OPTIONS)
        self.has_options_2 = _present(rows, F.BUILTIN_OPTIONS_2)
        self.has_custom_options = _present(rows, F.CUSTOM_OPTIONS)


def _present(rows: Columns, field: S.Ref | S.Vector) -> np.ndarray:
    found: np.ndarray = rows.field(field.voffset, 4, field.name) != 0
    return found
