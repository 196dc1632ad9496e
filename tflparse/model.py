"""The typed, read-only, lazy view of a ``.tflite`` model.

:func:`~tflparse.load` (in ``_loading``, re-exported here) maps the file (or wraps the bytes)
and checks the header; everything else is read when first asked for. Arrays are read-only
numpy views of the file, so opening a model reads no tensor data. The view is lenient: it
reads models that LiteRT refuses to load (wrong schema version, inconsistent quantization,
...), and raises :class:`InvalidModelError` only where bytes cannot be read at all. Bulk
column readers live in ``_columns``, value decoding in ``_values``.

>>> import tflparse
>>> model = tflparse.load("fixtures/mnist_int8.tflite")
>>> model.version
3
>>> t = model.subgraphs[0].tensors[0]
>>> t.name, t.type.name, t.shape.tolist()
('input', 'INT8', [1, 28, 28, 1])
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar, Union, overload

import numpy as np

from . import _schema as S
from ._columns import EMPTY_I32 as _EMPTY_I32
from ._columns import BufferColumns, OperatorColumns, TensorColumns
from ._conversion_metadata import ConversionMetadata, read_conversion_metadata
from ._dtypes import type_info, type_name
from ._errors import InvalidModelError
from ._flatbuf import FlatBuffer, Table, TableVector
from ._loading import Source, load, unmap  # load() is re-exported; it lives with the sniffing
from ._quant_kind import QuantKind, quant_kind
from ._schema import BUILTIN_OPERATOR_NAMES, QuantizationDetails, SparseIndexVector, TensorType
from ._values import decode_values, densify_sparsity
from .quant import dequantize, dequantize_blockwise

if TYPE_CHECKING:
    from ._metadata import ModelMetadata

__all__ = [
    "load", "Model", "Subgraph", "Tensor", "Quantization", "CustomQuantization",
    "BlockwiseQuantization", "MultiAxisQuantization", "Sparsity", "DimensionMetadata",
    "Buffer", "OperatorCode", "Operator", "SignatureDef", "TensorMap", "MetadataEntry",
    "Source",
]

T = TypeVar("T")


def _decode(raw: bytes | None) -> str:
    """Text of a name read from the file; bytes that are not UTF-8 stay visible as escapes."""
    return "" if raw is None else raw.decode("utf-8", "backslashreplace")


class LazySequence(Sequence[T], Generic[T]):
    """A read-only sequence whose items are built on first access and kept."""

    __slots__ = ("_make", "_items")

    def __init__(self, count: int, make: Callable[[int], T]) -> None:
        self._make = make
        self._items: list[T | None] = [None] * count

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self._items)
        if not 0 <= index < len(self._items):
            raise IndexError(f"index {index} out of range for {len(self._items)} items")
        item = self._items[index]
        if item is None:
            item = self._items[index] = self._make(index)
        return item

    def __iter__(self) -> Iterator[T]:
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"<{len(self)} items>"


def _tables(vector: TableVector | None, make: Callable[[int, Table], T]) -> LazySequence[T]:
    if vector is None:
        return LazySequence(0, lambda i: make(i, None))  # type: ignore[arg-type]
    return LazySequence(len(vector), lambda i: make(i, vector[i]))


# --------------------------------------------------------------------------------------------
# Quantization and sparsity


class CustomQuantization:
    """``QuantizationDetails.CustomQuantization``: opaque bytes for a custom scheme."""

    __slots__ = ("custom",)

    def __init__(self, table: Table) -> None:
        self.custom: memoryview | None = table.bytes_view(S.CustomQuantization.CUSTOM)

    def __repr__(self) -> str:
        size = None if self.custom is None else len(self.custom)
        return f"CustomQuantization(custom={size} bytes)"


class BlockwiseQuantization:
    """Block-wise quantization: ``scales``/``zero_points`` are tensor indices (-1: none)."""

    __slots__ = ("scales", "zero_points", "block_size", "block_shape")

    def __init__(self, table: Table) -> None:
        B = S.BlockwiseQuantization
        self.scales = table.integer(B.SCALES)
        self.zero_points = table.integer(B.ZERO_POINTS)
        self.block_size = table.integer(B.BLOCK_SIZE)
        self.block_shape: np.ndarray | None = table.array(B.BLOCK_SHAPE)

    def __repr__(self) -> str:
        return (f"BlockwiseQuantization(scales={self.scales}, zero_points={self.zero_points}, "
                f"block_size={self.block_size})")


class MultiAxisQuantization:
    """Quantization along several axes; ``scales``/``zero_points`` are tensor indices."""

    __slots__ = ("scales", "zero_points", "block_size", "quantized_dimensions")

    def __init__(self, table: Table) -> None:
        M = S.MultiAxisQuantization
        self.scales = table.integer(M.SCALES)
        self.zero_points = table.integer(M.ZERO_POINTS)
        self.block_size = table.integer(M.BLOCK_SIZE)
        self.quantized_dimensions: np.ndarray | None = table.array(M.QUANTIZED_DIMENSIONS)

    def __repr__(self) -> str:
        dims = None if self.quantized_dimensions is None else self.quantized_dimensions.tolist()
        return (f"MultiAxisQuantization(scales={self.scales}, zero_points={self.zero_points}, "
                f"block_size={self.block_size}, quantized_dimensions={dims})")


Details = Union[CustomQuantization, BlockwiseQuantization, MultiAxisQuantization]
_DETAILS: dict[int, Callable[[Table], Details]] = {
    QuantizationDetails.CustomQuantization: CustomQuantization,
    QuantizationDetails.BlockwiseQuantization: BlockwiseQuantization,
    QuantizationDetails.MultiAxisQuantization: MultiAxisQuantization,
}


class Quantization:
    """A tensor's ``QuantizationParameters`` exactly as stored.

    ``scale`` is float32 and ``zero_point`` int64, as in the file; ``None`` means the
    vector is absent (an empty array means present but empty).
    """

    __slots__ = ("_table",)

    def __init__(self, table: Table) -> None:
        self._table = table

    @property
    def scale(self) -> np.ndarray | None:
        return self._table.array(S.QuantizationParameters.SCALE)

    @property
    def zero_point(self) -> np.ndarray | None:
        return self._table.array(S.QuantizationParameters.ZERO_POINT)

    @property
    def min(self) -> np.ndarray | None:
        return self._table.array(S.QuantizationParameters.MIN)

    @property
    def max(self) -> np.ndarray | None:
        return self._table.array(S.QuantizationParameters.MAX)

    @property
    def quantized_dimension(self) -> int:
        return self._table.integer(S.QuantizationParameters.QUANTIZED_DIMENSION)

    @property
    def details_type(self) -> int:
        """The ``QuantizationDetails`` union tag (0 = none), as stored."""
        return self._table.integer(S.QuantizationParameters.DETAILS_TYPE)

    @property
    def details(self) -> Details | None:
        """The details table for a known union tag, or None (absent or unknown tag)."""
        make = _DETAILS.get(self.details_type)
        table = self._table.table(S.QuantizationParameters.DETAILS) if make else None
        return make(table) if make and table is not None else None

    @property
    def kind(self) -> QuantKind:
        """How LiteRT parses these parameters: none, affine, blockwise or multi-axis."""
        scale = self.scale
        return quant_kind(self.details_type, 0 if scale is None else len(scale))

    @property
    def is_per_axis(self) -> bool:
        scale = self.scale
        return scale is not None and len(scale) > 1

    def __repr__(self) -> str:
        scale, zp = self.scale, self.zero_point
        if scale is not None and len(scale) == 1 and zp is not None and len(zp) == 1:
            return f"Quantization(scale={float(scale[0])!r}, zero_point={int(zp[0])})"
        count = 0 if scale is None else len(scale)
        return (f"Quantization({count} scales, quantized_dimension={self.quantized_dimension}, "
                f"details_type={self.details_type})")


_INDEX_VECTORS: dict[int, S.Vector] = {
    SparseIndexVector.Int32Vector: S.Int32Vector.VALUES,
    SparseIndexVector.Uint16Vector: S.Uint16Vector.VALUES,
    SparseIndexVector.Uint8Vector: S.Uint8Vector.VALUES,
}


class DimensionMetadata:
    """One dimension of a sparse tensor: DENSE (``dense_size``) or SPARSE_CSR (two arrays).

    ``array_segments``/``array_indices`` keep their stored integer type; their ``*_type``
    is the ``SparseIndexVector`` union tag. A vector is None when the union is absent, of an
    unknown type, or has no ``values``.
    """

    __slots__ = ("format", "dense_size", "array_segments_type", "array_segments",
                 "array_indices_type", "array_indices")

    def __init__(self, table: Table) -> None:
        D = S.DimensionMetadata
        self.format = table.integer(D.FORMAT)
        self.dense_size = table.integer(D.DENSE_SIZE)
        self.array_segments_type = table.integer(D.ARRAY_SEGMENTS_TYPE)
        self.array_segments = self._indices(table, self.array_segments_type, D.ARRAY_SEGMENTS)
        self.array_indices_type = table.integer(D.ARRAY_INDICES_TYPE)
        self.array_indices = self._indices(table, self.array_indices_type, D.ARRAY_INDICES)

    @staticmethod
    def _indices(table: Table, tag: int, field: S.Ref) -> np.ndarray | None:
        values = _INDEX_VECTORS.get(tag)
        sub = table.table(field) if values is not None else None
        return sub.array(values) if sub is not None and values is not None else None

    def __repr__(self) -> str:
        if self.format == 0:
            return f"DimensionMetadata(DENSE, dense_size={self.dense_size})"
        return f"DimensionMetadata(format={self.format}, segments={self.array_segments_type})"


class Sparsity:
    """A tensor's ``SparsityParameters`` as stored (arrays None when absent)."""

    __slots__ = ("traversal_order", "block_map", "dim_metadata")

    def __init__(self, table: Table) -> None:
        P = S.SparsityParameters
        self.traversal_order: np.ndarray | None = table.array(P.TRAVERSAL_ORDER)
        self.block_map: np.ndarray | None = table.array(P.BLOCK_MAP)
        dims = table.tables(P.DIM_METADATA)
        self.dim_metadata: tuple[DimensionMetadata, ...] | None = (
            None if dims is None else tuple(DimensionMetadata(dims[i]) for i in range(len(dims)))
        )

    def __repr__(self) -> str:
        order = None if self.traversal_order is None else self.traversal_order.tolist()
        return f"Sparsity(traversal_order={order}, dims={self.dim_metadata!r})"


# --------------------------------------------------------------------------------------------
# Buffers, tensors, operators


class Buffer:
    """An entry of ``Model.buffers``: inline ``data``, or ``offset``/``size`` into the file."""

    __slots__ = ("index", "_table", "_fb")

    def __init__(self, index: int, table: Table | None, fb: FlatBuffer) -> None:
        self.index = index
        self._table = table
        self._fb = fb

    @property
    def has_data_field(self) -> bool:
        """Whether the inline ``data`` vector is present (possibly empty)."""
        return self._table is not None and self._table.has(S.Buffer.DATA)

    @property
    def offset(self) -> int:
        return 0 if self._table is None else self._table.integer(S.Buffer.OFFSET)

    @property
    def size(self) -> int:
        return 0 if self._table is None else self._table.integer(S.Buffer.SIZE)

    @property
    def is_external(self) -> bool:
        """Data stored in the file at ``offset`` (> 1) rather than inline (no data vector)."""
        return not self.has_data_field and self.offset > 1

    @property
    def data(self) -> memoryview | None:
        """The buffer's bytes, zero-copy: inline data, else ``file[offset:offset+size]``.

        None when the buffer holds nothing (no data vector and offset 0 or 1).
        """
        span = self.span
        if span is None:
            return None
        start, size = span
        self._fb.need(start, size)
        return self._fb.data[start:start + size]

    @property
    def span(self) -> tuple[int, int] | None:
        """(position in the file, byte count) of the buffer's bytes, or None; reads none."""
        if self._table is None:
            return None
        start, count = self._table._vector(S.Buffer.DATA, 1, "bytes")
        if count >= 0:
            return start, count
        offset, size = self.offset, self.size
        if offset <= 1:
            return None
        where = f"buffers[{self.index}]"
        self._fb.check(offset, size, where, f"data of {size} bytes")
        return offset, size

    def __repr__(self) -> str:
        if self.is_external:
            return f"Buffer({self.index}, offset={self.offset}, size={self.size})"
        data = self.data
        return f"Buffer({self.index}, {0 if data is None else len(data)} bytes)"


class Tensor:
    """One tensor of a subgraph, read from the file on access."""

    __slots__ = ("index", "subgraph_index", "_columns", "_model")

    def __init__(self, index: int, subgraph_index: int, columns: TensorColumns,
                 model: Model) -> None:
        error = columns.error(index)
        if error is not None:
            raise error
        self.index = index
        self.subgraph_index = subgraph_index
        self._columns = columns
        self._model = model

    @property
    def _table(self) -> Table:
        return self._columns.table(self.index)

    @property
    def name_bytes(self) -> bytes | None:
        """The stored name, undecoded (None when absent)."""
        return self._columns.names[self.index]

    @property
    def name(self) -> str:
        """The name as text ('' when absent; invalid UTF-8 shown as backslash escapes)."""
        return _decode(self.name_bytes)

    @property
    def shape(self) -> np.ndarray:
        """int32 dimensions (empty for a scalar or an absent shape)."""
        return self._columns.shape(self.index)

    @property
    def shape_signature(self) -> np.ndarray | None:
        """int32 dimensions with -1 for unknown ones; None when absent."""
        c = self._columns
        return c.array(int(c.sig_start[self.index]), int(c.sig_count[self.index]), "i4")

    @property
    def type(self) -> TensorType | int:
        """The ``TensorType``; a value the schema does not define stays a plain int."""
        value = int(self._columns.type[self.index])
        return TensorType(value) if value in TensorType._value2member_map_ else value

    @property
    def buffer(self) -> int:
        """Index into ``Model.buffers`` (0: no data)."""
        return int(self._columns.buffer[self.index])

    @property
    def is_variable(self) -> bool:
        return bool(self._columns.is_variable[self.index])

    @property
    def has_rank(self) -> bool:
        return bool(self._columns.has_rank[self.index])

    @property
    def external_buffer(self) -> int:
        return int(self._columns.external_buffer[self.index])

    @property
    def quantization(self) -> Quantization | None:
        if self._columns.quant_row[self.index] < 0:
            return None
        table = self._table.table(S.Tensor.QUANTIZATION)
        return None if table is None else Quantization(table)

    @property
    def sparsity(self) -> Sparsity | None:
        if not self._columns.has_sparsity[self.index]:
            return None
        table = self._table.table(S.Tensor.SPARSITY)
        return None if table is None else Sparsity(table)

    @property
    def buffer_entry(self) -> Buffer | None:
        """The ``Buffer`` this tensor refers to; None for buffer 0 or an index out of range."""
        index = self.buffer
        buffers = self._model.buffers
        return buffers[index] if 0 < index < len(buffers) else None

    @property
    def is_constant(self) -> bool:
        """Whether the tensor has data in the file (the runtime's rule).

        True when ``buffer != 0`` and that buffer has a data vector (even an empty one) or
        an ``offset`` > 1.
        """
        return self._model.buffer_columns.holds(self.buffer)

    @property
    def data(self) -> memoryview | None:
        """The raw bytes of a constant tensor (zero-copy), or None."""
        entry = self.buffer_entry
        return entry.data if entry is not None else None

    def to_array(self, *, dense: bool = True) -> np.ndarray:
        """The values of a constant tensor as a read-only array of its shape.

        Ordinary types are zero-copy views of the file. INT4/UINT4/INT2 are unpacked (int8 /
        uint8 values); STRING, RESOURCE and VARIANT give an object array of ``bytes``;
        BFLOAT16 and FLOAT8 need the optional ``ml_dtypes`` package. A sparse tensor is
        densified unless ``dense=False``, which gives its stored values as a 1-D array. A
        string buffer counts its own entries, so sparsity never applies to those types (LiteRT
        reads them as dense too). Raises ``ValueError`` for a tensor without data.
        """
        data = self.data
        if data is None or not self.is_constant:
            raise ValueError(f"tensor {self.index} ({self.name!r}) has no constant data")
        sparsity = self.sparsity
        info = type_info(self.type)
        where = self.path
        shape = tuple(self.shape.tolist())
        size = self._model.size
        if sparsity is None or (info is not None and info.bits == 0):
            return decode_values(data, self.type, shape, self.index, where, size,
                                 stored_only=False)
        stored = decode_values(data, self.type, shape, self.index, where, size,
                               stored_only=True)
        if not dense:
            return stored
        return densify_sparsity(stored, list(shape), sparsity, f"{where}.sparsity", size)

    def dequantize(self) -> np.ndarray:
        """float32 values of a quantized constant, ``(q - zero_point) * scale``.

        Uses the tensor's own parameters: per tensor, per axis (``quantized_dimension``) or
        blockwise (reading its scale and zero-point tensors), with the arithmetic of LiteRT's
        DEQUANTIZE kernel. Raises ``ValueError`` for a tensor that is not a quantized constant.
        """
        q = self.quantization
        values = self.to_array()
        details = q.details if q is not None else None
        if q is not None and isinstance(details, BlockwiseQuantization):
            tensors = self._model.subgraphs[self.subgraph_index].tensors
            scales = tensors[details.scales].to_array().astype(np.float32)
            zero_points = (None if details.zero_points == -1
                           else tensors[details.zero_points].to_array())
            return dequantize_blockwise(values, scales, zero_points,
                                        block_size=details.block_size,
                                        axis=q.quantized_dimension)
        scale = q.scale if q is not None else None
        zero_point = q.zero_point if q is not None else None
        if scale is None or len(scale) == 0 or zero_point is None:
            raise ValueError(f"tensor {self.index} ({self.name!r}) has no affine quantization")
        if len(scale) == 1:
            return dequantize(values, scale[0], zero_point[0])
        return dequantize(values, scale, zero_point, axis=q.quantized_dimension)  # type: ignore[union-attr]

    @property
    def num_elements(self) -> int:
        """Product of ``shape`` (1 for a scalar)."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def type_name(self) -> str:
        """The type's schema name, ``UNKNOWN(n)`` for a value the schema does not define."""
        return type_name(self.type)

    @property
    def path(self) -> str:
        """Where the tensor is in the model, as errors name it: ``subgraphs[0].tensors[3]``."""
        return f"subgraphs[{self.subgraph_index}].tensors[{self.index}]"

    def __repr__(self) -> str:
        return (f"Tensor({self.index}, {self.name!r}, {self.type_name}, "
                f"shape={self.shape.tolist()})")


class OperatorCode:
    """An entry of ``Model.operator_codes``."""

    __slots__ = ("index", "deprecated_builtin_code", "builtin_code_field", "custom_code_bytes",
                 "version")

    def __init__(self, index: int, table: Table) -> None:
        C = S.OperatorCode
        self.index = index
        self.deprecated_builtin_code = table.integer(C.DEPRECATED_BUILTIN_CODE)
        self.builtin_code_field = table.integer(C.BUILTIN_CODE)
        self.custom_code_bytes = table.string(C.CUSTOM_CODE)
        self.version = table.integer(C.VERSION)

    @property
    def builtin_code(self) -> int:
        """The operator code, resolved from both code fields (the larger one wins)."""
        return max(self.builtin_code_field, self.deprecated_builtin_code)

    @property
    def custom_code(self) -> str | None:
        raw = self.custom_code_bytes
        return None if raw is None else _decode(raw)

    @property
    def is_custom(self) -> bool:
        return self.builtin_code == S.BuiltinOperator.CUSTOM

    @property
    def name(self) -> str:
        """The builtin operator's name, or the custom code for CUSTOM operators."""
        if self.is_custom:
            return self.custom_code or ""
        return BUILTIN_OPERATOR_NAMES.get(self.builtin_code, f"UNKNOWN({self.builtin_code})")

    def __repr__(self) -> str:
        return f"OperatorCode({self.name!r}, version={self.version})"


class Operator:
    """One operator (node) of a subgraph."""

    __slots__ = ("index", "_table")

    def __init__(self, index: int, table: Table) -> None:
        self.index = index
        self._table = table

    @property
    def opcode_index(self) -> int:
        return self._table.integer(S.Operator.OPCODE_INDEX)

    @property
    def inputs(self) -> np.ndarray:
        """int32 tensor indices (-1: an omitted optional input)."""
        found = self._table.array(S.Operator.INPUTS)
        return _EMPTY_I32 if found is None else found

    @property
    def outputs(self) -> np.ndarray:
        found = self._table.array(S.Operator.OUTPUTS)
        return _EMPTY_I32 if found is None else found

    @property
    def intermediates(self) -> np.ndarray:
        found = self._table.array(S.Operator.INTERMEDIATES)
        return _EMPTY_I32 if found is None else found

    @property
    def builtin_options_type(self) -> int:
        return self._table.integer(S.Operator.BUILTIN_OPTIONS_TYPE)

    @property
    def builtin_options_2_type(self) -> int:
        return self._table.integer(S.Operator.BUILTIN_OPTIONS_2_TYPE)

    def builtin_options(self, second: bool = False) -> Table | None:
        """The raw options table (``builtin_options``, or ``builtin_options_2``) if present."""
        return self._table.table(S.Operator.BUILTIN_OPTIONS_2 if second
                                 else S.Operator.BUILTIN_OPTIONS)

    @property
    def custom_options(self) -> memoryview | None:
        return self._table.bytes_view(S.Operator.CUSTOM_OPTIONS)

    @property
    def has_builtin_options(self) -> bool:
        return self._table.has(S.Operator.BUILTIN_OPTIONS)

    def __repr__(self) -> str:
        return (f"Operator({self.index}, opcode_index={self.opcode_index}, "
                f"inputs={self.inputs.tolist()}, outputs={self.outputs.tolist()})")


class Subgraph:
    """One subgraph: tensors, inputs, outputs and operators."""

    __slots__ = ("index", "_table", "_model", "_tensor_vector", "_columns", "tensors",
                 "operators", "_operator_columns")

    def __init__(self, index: int, table: Table, model: Model) -> None:
        self.index = index
        self._table = table
        self._model = model
        self._tensor_vector = table.tables(S.SubGraph.TENSORS)
        self._columns: TensorColumns | None = None
        count = 0 if self._tensor_vector is None else len(self._tensor_vector)
        self.tensors: Sequence[Tensor] = LazySequence(
            count, lambda i: Tensor(i, index, self.tensor_columns, model))
        self.operators: Sequence[Operator] = _tables(table.tables(S.SubGraph.OPERATORS), Operator)
        self._operator_columns: OperatorColumns | None = None

    @property
    def tensor_columns(self) -> TensorColumns:
        """All tensors' fields in bulk (internal; read on first use)."""
        if self._columns is None:
            self._columns = TensorColumns(self._model._fb, self._tensor_vector)
        return self._columns

    @property
    def operator_columns(self) -> OperatorColumns:
        """All operators' fields in bulk (internal; read on first use)."""
        if self._operator_columns is None:
            self._operator_columns = OperatorColumns(
                self._model._fb, self._table.tables(S.SubGraph.OPERATORS))
        return self._operator_columns

    @property
    def has_tensors_field(self) -> bool:
        return self._table.has(S.SubGraph.TENSORS)

    @property
    def name(self) -> str:
        return _decode(self._table.string(S.SubGraph.NAME))

    @property
    def inputs(self) -> np.ndarray:
        """int32 tensor indices of the subgraph's inputs, in file order."""
        found = self._table.array(S.SubGraph.INPUTS)
        return _EMPTY_I32 if found is None else found

    @property
    def outputs(self) -> np.ndarray:
        found = self._table.array(S.SubGraph.OUTPUTS)
        return _EMPTY_I32 if found is None else found

    def __repr__(self) -> str:
        return (f"Subgraph({self.index}, {self.name!r}, {len(self.tensors)} tensors, "
                f"{len(self.operators)} operators)")


class TensorMap:
    """A named signature input or output."""

    __slots__ = ("name_bytes", "tensor_index")

    def __init__(self, table: Table) -> None:
        self.name_bytes = table.string(S.TensorMap.NAME)
        self.tensor_index = table.integer(S.TensorMap.TENSOR_INDEX)

    @property
    def name(self) -> str:
        return _decode(self.name_bytes)

    def __repr__(self) -> str:
        return f"TensorMap({self.name!r}, tensor_index={self.tensor_index})"


class SignatureDef:
    """A signature: a key, the subgraph it runs, and its named inputs and outputs.

    ``inputs``/``outputs`` keep file order; None when the vector is absent.
    """

    __slots__ = ("index", "key_bytes", "subgraph_index", "inputs", "outputs")

    def __init__(self, index: int, table: Table) -> None:
        D = S.SignatureDef
        self.index = index
        self.key_bytes = table.string(D.SIGNATURE_KEY)
        self.subgraph_index = table.integer(D.SUBGRAPH_INDEX)
        self.inputs = self._maps(table.tables(D.INPUTS))
        self.outputs = self._maps(table.tables(D.OUTPUTS))

    @staticmethod
    def _maps(vector: TableVector | None) -> tuple[TensorMap, ...] | None:
        return None if vector is None else tuple(TensorMap(vector[i]) for i in range(len(vector)))

    @property
    def key(self) -> str:
        return _decode(self.key_bytes)

    def __repr__(self) -> str:
        return f"SignatureDef({self.key!r}, subgraph_index={self.subgraph_index})"


class MetadataEntry:
    """A ``Model.metadata`` entry: a name and the index of the buffer holding its bytes."""

    __slots__ = ("name_bytes", "buffer")

    def __init__(self, table: Table) -> None:
        self.name_bytes = table.string(S.Metadata.NAME)
        self.buffer = table.integer(S.Metadata.BUFFER)

    @property
    def name(self) -> str:
        return _decode(self.name_bytes)

    def __repr__(self) -> str:
        return f"MetadataEntry({self.name!r}, buffer={self.buffer})"


# --------------------------------------------------------------------------------------------
# The model


class Model:
    """A ``.tflite`` model. Create it with :func:`load`."""

    __slots__ = ("_fb", "_root", "_mmap", "path", "subgraphs", "buffers", "operator_codes",
                 "_signature_defs", "_metadata", "_buffer_columns", "_model_metadata")

    def __init__(self, fb: FlatBuffer, path: str | None = None,
                 mapping: mmap.mmap | None = None) -> None:
        self._fb = fb
        self._mmap = mapping
        self.path = path
        self._root = fb.root()
        M = S.Model
        self.subgraphs: Sequence[Subgraph] = _tables(
            self._root.tables(M.SUBGRAPHS), lambda i, t: Subgraph(i, t, self)
        )
        self.buffers: Sequence[Buffer] = _tables(
            self._root.tables(M.BUFFERS), lambda i, t: Buffer(i, t, fb)
        )
        self.operator_codes: Sequence[OperatorCode] = _tables(
            self._root.tables(M.OPERATOR_CODES), OperatorCode
        )
        self._signature_defs: tuple[SignatureDef, ...] | None = None
        self._metadata: tuple[MetadataEntry, ...] | None = None
        self._buffer_columns: BufferColumns | None = None
        self._model_metadata: list[Any] = []  # the TFLite Model Metadata view, once read

    @property
    def buffer_columns(self) -> BufferColumns:
        """All buffers' table fields in bulk (internal; read on first use)."""
        if self._buffer_columns is None:
            self._buffer_columns = BufferColumns(self._fb, self._root.tables(S.Model.BUFFERS))
        return self._buffer_columns

    @property
    def size(self) -> int:
        """Size of the file (or bytes) in bytes."""
        return self._fb.size

    @property
    def bytes(self) -> memoryview:
        """The whole file, read-only and zero-copy (a remote one is fetched whole)."""
        self._fb.need(0, self._fb.size)
        return self._fb.data

    @property
    def version(self) -> int:
        """The schema version (3 for every model the current runtime loads)."""
        return self._root.integer(S.Model.VERSION)

    @property
    def description(self) -> str | None:
        raw = self._root.string(S.Model.DESCRIPTION)
        return None if raw is None else _decode(raw)

    def has_field(self, name: str) -> bool:
        """Whether the root ``Model`` table stores the named field (``"subgraphs"``...)."""
        field = getattr(S.Model, name.upper())
        return self._root.has(field)

    @property
    def signature_defs(self) -> tuple[SignatureDef, ...]:
        if self._signature_defs is None:
            found = self._root.tables(S.Model.SIGNATURE_DEFS)
            count = 0 if found is None else len(found)
            self._signature_defs = tuple(
                SignatureDef(i, found[i]) for i in range(count)  # type: ignore[index]
            )
        return self._signature_defs

    @property
    def metadata(self) -> tuple[MetadataEntry, ...]:
        """The metadata entries in file order (names may repeat)."""
        if self._metadata is None:
            found = self._root.tables(S.Model.METADATA)
            count = 0 if found is None else len(found)
            self._metadata = tuple(MetadataEntry(found[i]) for i in range(count))  # type: ignore[index]
        return self._metadata

    @property
    def conversion_metadata(self) -> ConversionMetadata | None:
        """What the converter recorded (its ``CONVERSION_METADATA`` entry), or None without one.

        Decoded on each access; raises :class:`InvalidModelError` when the entry is malformed.
        """
        if not any(entry.name == "CONVERSION_METADATA" for entry in self.metadata):
            return None
        raw = self.metadata_bytes("CONVERSION_METADATA")
        return read_conversion_metadata(b"" if raw is None else raw)

    def metadata_bytes(self, name: str) -> memoryview | None:
        """The bytes of the first metadata entry called ``name``, or None."""
        for entry in self.metadata:
            if entry.name == name:
                if not 0 <= entry.buffer < len(self.buffers):
                    raise InvalidModelError(
                        f"metadata {name!r}: buffer {entry.buffer} out of range "
                        f"({len(self.buffers)} buffers)"
                    )
                return self.buffers[entry.buffer].data
        return None

    @property
    def model_metadata(self) -> ModelMetadata | None:
        """TFLite Model Metadata (the ``TFLITE_METADATA`` entry) as a typed view, or None."""
        if not self._model_metadata:
            from ._metadata import METADATA_NAME, model_metadata

            self._model_metadata.append(model_metadata(
                self.metadata_bytes(METADATA_NAME), lambda: self.bytes, self.path or "model"))
        found: ModelMetadata | None = self._model_metadata[0]
        return found

    @property
    def metadata_buffer(self) -> np.ndarray | None:
        """The legacy ``metadata_buffer`` list of buffer indices."""
        return self._root.array(S.Model.METADATA_BUFFER)

    def close(self) -> None:
        """Release the file mapping if no array view still uses it."""
        self._mmap = unmap(self._mmap)

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f"{self.path!r}, " if self.path else ""
        return (f"Model({where}{self.size} bytes, version {self.version}, "
                f"{len(self.subgraphs)} subgraphs)")
