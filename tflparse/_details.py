"""The tensor detail dictionary of LiteRT's ``Interpreter``, built in exactly one place.

Values, their Python and numpy types and the key order are those of
``ai_edge_litert.interpreter.Interpreter._get_tensor_details`` (LiteRT 2.3.0). Arrays are
fresh, writable copies, as the runtime returns them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypedDict

import numpy as np

from ._construction import SIZE_T, UNSIZED_TYPES, bytes_required
from ._dtypes import TYPES, bfloat16_type
from ._errors import NOT_RUN
from ._quant_kind import QuantKind, quant_kinds
from ._values import MAX_RANK, check_allocation
from .model import BlockwiseQuantization, Model, Sparsity, Tensor

__all__ = ["TensorDetails", "QuantizationParameters", "DetailSource", "tensor_details",
           "details_of", "listed_details", "tensor_dtype", "constant_value"]


class QuantizationParameters(TypedDict):
    """``quantization_parameters`` of a detail dictionary."""

    scales: np.ndarray  # float32 (float16 for blockwise quantization)
    zero_points: np.ndarray  # int32
    quantized_dimension: int
    block_size: int


class TensorDetails(TypedDict):
    """One entry of ``get_tensor_details()`` / ``get_input_details()``, keys in this order."""

    name: str
    index: int
    shape: np.ndarray  # int32
    shape_signature: np.ndarray  # int32
    dtype: type
    quantization: tuple[float, int]
    quantization_parameters: QuantizationParameters
    sparsity_parameters: dict[str, Any]


def invalid_index(index: int, count: int) -> ValueError:
    """The runtime's error for a tensor index outside ``[0, count)``."""
    return ValueError(f"Invalid tensor index {index} exceeds max tensor index {count}")


def tensor_dtype(tensor_type: int) -> type:
    """The numpy scalar type LiteRT reports for a TensorType (see ``_dtypes``)."""
    info = TYPES[tensor_type]
    if info.litert is not None:
        return info.litert
    found = bfloat16_type()
    if found is None:
        raise ValueError("Invalid data-type for array")
    return found


def _tensor_bytes(tensor: Tensor) -> tuple[memoryview | None, int]:
    """(constant data, byte size) as the runtime sees a tensor before allocation."""
    if tensor.is_constant:
        data = tensor.data
        return data, 0 if data is None else len(data)
    if tensor.type in UNSIZED_TYPES:
        return None, 0
    return None, bytes_required(tensor.type, tensor.shape)[0]


def _raw_values(model: Model, subgraph: int, index: int, count: int, dtype: str) -> np.ndarray:
    """A tensor's bytes reinterpreted as ``dtype``, as blockwise parameters are read."""
    if not 0 <= index < count:
        raise invalid_index(index, count)
    tensors = model.subgraphs[subgraph].tensors
    if index >= len(tensors):
        return np.zeros(0, dtype)
    data, size = _tensor_bytes(tensors[index])
    itemsize = np.dtype(dtype).itemsize
    if data is None:
        check_allocation(size, model.size, f"subgraphs[{subgraph}].tensors[{index}]")
        return np.zeros(size // itemsize, dtype)
    values: np.ndarray = np.frombuffer(data, dtype, size // itemsize).copy()
    return values


def _blockwise(model: Model, tensor: Tensor, count: int) -> QuantizationParameters:
    q = tensor.quantization
    assert q is not None
    details = q.details
    assert isinstance(details, BlockwiseQuantization)
    scales = _raw_values(model, tensor.subgraph_index, details.scales, count, "<f2")
    if details.zero_points == -1:
        zero_points = np.zeros(0, np.int32)
    else:
        zero_points = _raw_values(model, tensor.subgraph_index, details.zero_points, count, "<i4")
    return {"scales": scales.astype(np.float16), "zero_points": zero_points.astype(np.int32),
            "quantized_dimension": q.quantized_dimension, "block_size": details.block_size}


def _sparsity(sparsity: Sparsity) -> dict[str, Any]:
    assert sparsity.traversal_order is not None and sparsity.dim_metadata is not None
    result: dict[str, Any] = {"traversal_order": sparsity.traversal_order.astype(np.int32)}
    if sparsity.block_map is not None:
        result["block_map"] = sparsity.block_map.astype(np.int32)
    dims: list[dict[str, Any]] = []
    for dim in sparsity.dim_metadata:
        if dim.format == 0:
            dims.append({"format": 0, "dense_size": dim.dense_size % SIZE_T})
        else:
            assert dim.array_segments is not None and dim.array_indices is not None
            dims.append({"format": dim.format,
                         "array_segments": dim.array_segments.astype(np.int32),
                         "array_indices": dim.array_indices.astype(np.int32)})
    result["dim_metadata"] = dims
    return result


class DetailSource:
    """Where one subgraph's detail values are in the file, located in bulk once.

    ``count`` is the subgraph's tensor count in the constructed interpreter, which includes
    scratch tensors that kernels add at construction.
    """

    def __init__(self, model: Model, subgraph: int, count: int,
                 compress_zero_points: bool = False) -> None:
        self.model = model
        self.subgraph = subgraph
        self.count = count
        self.compress = compress_zero_points
        self.columns = c = model.subgraphs[subgraph].tensor_columns
        self.file_count = c.count
        self.broken = c.rows.broken.tolist()
        self.readable = np.flatnonzero(~c.rows.broken).tolist()  # what is read from the file
        self.names = c.fb.c_strings(c.name_start, c.name_count)
        constant = model.buffer_columns.holds_data(c.buffer)
        own = (c.sig_count > 0) & ~constant
        self.shape_start, self.shape_count = c.shape_start, np.maximum(c.shape_count, 0)
        self.sig_start = np.where(own, c.sig_start, c.shape_start)
        self.sig_count = np.where(own, c.sig_count, self.shape_count)
        self.constant_sparse = (constant & c.has_sparsity).tolist()
        self.types = c.type.tolist()
        self.type_set = set(self.types)
        row = c.quant_row
        quantized = row >= 0
        qrow = np.where(quantized, row, 0)
        if len(c.details_type):
            details = np.where(quantized, c.details_type[qrow], 0)
            scale_count = np.where(quantized, c.scale_count[qrow], 0)
            self.scale_start, self.zp_start = c.scale_start[qrow], c.zp_start[qrow]
            dims = c.quantized_dimension[qrow]
        else:
            details = scale_count = dims = np.zeros(len(row), np.int64)
            self.scale_start = self.zp_start = dims
        kind = quant_kinds(details, scale_count)  # rows without a table: (0, 0) is NONE
        affine = kind == QuantKind.AFFINE
        self.blockwise = (kind == QuantKind.BLOCKWISE).tolist()
        # blockwise quantization or sparsity: read from the tensor's tables
        self.needs_table = (kind == QuantKind.BLOCKWISE) | (constant & c.has_sparsity)
        self.scale_count = np.where(affine, scale_count, 0)
        self.qdim = np.where(affine, dims, 0).tolist()

    def dtypes(self) -> dict[int, Any]:
        """Each tensor type's dtype, or the ValueError LiteRT raises for it, as of this call
        (BFLOAT16's depends on whether ml_dtypes has been imported)."""
        found: dict[int, Any] = {}
        for tensor_type in self.type_set:
            try:
                found[tensor_type] = tensor_dtype(tensor_type)
            except ValueError as error:
                found[tensor_type] = error
        return found


class _Batch:
    """Fresh arrays of the values of some tensors, one per tensor, gathered at once.

    Every call of the Interpreter gets its own batch, so the arrays it returns are fresh and
    independent of each other, as LiteRT's are.
    """

    def __init__(self, source: DetailSource, indices: list[int]) -> None:
        fb = source.columns.fb
        rows = np.array(indices, np.int64)
        self.shapes = fb.row_arrays(source.shape_start[rows], source.shape_count[rows], "<i4",
                                    np.int32)
        self.signatures = fb.row_arrays(source.sig_start[rows], source.sig_count[rows], "<i4",
                                        np.int32)
        counts = source.scale_count[rows]
        self.scale_counts = counts.tolist()
        self.scales = fb.row_arrays(source.scale_start[rows], counts, "<f4", np.float32)
        # int64 -> int32 keeps the low 32 bits, as the runtime does
        self.zero_points = fb.row_arrays(source.zp_start[rows], counts, "<i8", np.int32)
        # the legacy (scale, zero_point) pair, for tensors with exactly one scale
        single = np.flatnonzero(counts == 1)
        self.legacy = [_NO_LEGACY] * len(indices)
        if len(single):
            scales = fb.gather(source.scale_start[rows[single]], "<f4").tolist()
            # the zero points as row_arrays narrowed them: int64 -> int32 happens there only
            zero_points = np.concatenate([self.zero_points[k] for k in single.tolist()])
            for k, scale, zero_point in zip(single.tolist(), scales, zero_points.tolist()):
                self.legacy[k] = (scale, zero_point)


_NO_LEGACY = (0.0, 0)


def tensor_details(source: DetailSource, index: int) -> TensorDetails:
    """LiteRT's detail dictionary for tensor ``index`` of ``source``'s subgraph.

    Scratch tensors have no shape and raise, as in the runtime. Raises ``ValueError`` (or its
    subclass ``UnicodeDecodeError``) exactly where LiteRT does.
    """
    found = details_of(source, [index])[0]
    if isinstance(found, ValueError):
        raise found
    return found


def details_of(source: DetailSource, indices: list[int]
               ) -> list[TensorDetails | ValueError]:
    """The detail dictionaries of many tensors, or for each one the error LiteRT raises.

    This is the one place the dictionary is built: one comprehension builds every readable
    tensor's, then the few that need more (blockwise quantization, sparsity, compressed zero
    points, an undecodable name or dtype) are completed or replaced by their error.
    """
    indices = [int(i) for i in indices]
    file_count, broken = source.file_count, source.broken
    readable = [i for i in indices if 0 <= i < file_count and not broken[i]]
    with _collector_paused(len(readable) > _PAUSE_AT):
        built, _ = _build(source, readable)
    if len(readable) == len(indices):
        return built
    return _with_errors(source, indices, built)


def listed_details(source: DetailSource) -> list[TensorDetails]:
    """The dictionaries ``get_tensor_details()`` lists: every tensor's that LiteRT can build,
    in index order (the others are left out)."""
    readable = source.readable
    with _collector_paused(len(readable) > _PAUSE_AT):
        built, refused = _build(source, readable)
    return [d for d in built if not isinstance(d, ValueError)] if refused else built


# Building many dictionaries triggers the cyclic garbage collector over and over, and each
# full pass walks every object of the process. What is built here cannot form cycles, so for
# large batches the collector waits until the batch is done.
_PAUSE_AT = 2000


@contextmanager
def _collector_paused(pause: bool) -> Iterator[None]:
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _build(source: DetailSource, readable: list[int]) -> tuple[list[Any], bool]:
    """The dictionaries of readable tensors, an error in place of each one LiteRT refuses;
    and whether there is any such error."""
    batch = _Batch(source, readable)
    qdims = source.qdim
    dtypes = source.dtypes()
    if readable is source.readable and len(readable) == source.file_count:  # all, in order
        row_names: list[Any] = source.names
        row_dtypes = list(map(dtypes.__getitem__, source.types))
    else:
        row_names = list(map(source.names.__getitem__, readable))
        row_dtypes = [dtypes[source.types[i]] for i in readable]
    built: list[Any] = [
        {"name": name, "index": index, "shape": shape, "shape_signature": signature,
         "dtype": dtype, "quantization": legacy,
         "quantization_parameters": {"scales": scales, "zero_points": zero_points,
                                     "quantized_dimension": qdims[index], "block_size": 0},
         "sparsity_parameters": {}}
        for index, name, shape, signature, dtype, legacy, scales, zero_points in zip(
            readable, row_names, batch.shapes, batch.signatures, row_dtypes, batch.legacy,
            batch.scales, batch.zero_points)]
    refused = False
    for k in _unusual(source, readable, row_names, row_dtypes, batch.scale_counts):
        built[k] = _complete(source, built[k])
        refused = refused or isinstance(built[k], ValueError)
    return built, refused


def _with_errors(source: DetailSource, indices: list[int], built: list[Any]
                 ) -> list[TensorDetails | ValueError]:
    """``built`` (the readable tensors' entries) merged with the errors of the others."""
    count, file_count, broken = source.count, source.file_count, source.broken
    found: list[TensorDetails | ValueError] = []
    rows = iter(built)
    for index in indices:
        if not 0 <= index < count:
            found.append(invalid_index(index, count))
        elif index >= file_count:
            found.append(ValueError("Tensor with no shape found."))
        elif broken[index]:
            error = source.columns.error(index)
            assert error is not None
            found.append(error)
        else:
            found.append(next(rows))
    return found


def _unusual(source: DetailSource, readable: list[int], row_names: list[Any],
             row_dtypes: list[Any], scale_counts: list[int]) -> list[int]:
    """Batch rows whose dictionary the comprehension cannot finish alone."""
    rows = np.array(readable, np.int64)
    found = set(np.flatnonzero(source.needs_table[rows]).tolist())
    if set(map(type, row_names)) != {str}:
        found.update(k for k, name in enumerate(row_names) if name.__class__ is not str)
    if any(isinstance(d, ValueError) for d in set(row_dtypes)):
        found.update(k for k, d in enumerate(row_dtypes) if isinstance(d, ValueError))
    if source.compress:
        found.update(k for k, n in enumerate(scale_counts) if n > 1)
    return sorted(found)


def _complete(source: DetailSource, entry: dict[str, Any]) -> TensorDetails | ValueError:
    """Finish one unusual dictionary, or give the error LiteRT raises for the tensor."""
    name, dtype, index = entry["name"], entry["dtype"], entry["index"]
    if name is None:
        entry["name"] = ""
    elif not isinstance(name, str):
        return UnicodeDecodeError(*name.args)  # a fresh copy of its error
    if isinstance(dtype, ValueError):
        return ValueError(*dtype.args)
    params = entry["quantization_parameters"]
    if source.blockwise[index]:
        tensor = source.model.subgraphs[source.subgraph].tensors[index]
        try:
            entry["quantization_parameters"] = _blockwise(source.model, tensor, source.count)
        except ValueError as error:
            return error
    elif source.compress and len(params["zero_points"]) > 1:
        zero_points = params["zero_points"]
        if (zero_points == zero_points[0]).all():
            params["zero_points"] = zero_points[:1].copy()
    if source.constant_sparse[index]:
        sparsity = source.model.subgraphs[source.subgraph].tensors[index].sparsity
        assert sparsity is not None
        entry["sparsity_parameters"] = _sparsity(sparsity)
    result: TensorDetails = entry  # type: ignore[assignment]
    return result

_NOT_RUN = f"{NOT_RUN}: only constant tensors have values, and this one has none"


def constant_value(tensor: Tensor) -> Any:
    """LiteRT's ``get_tensor`` result for a tensor before ``allocate_tensors()``.

    The checks come in LiteRT's order: an empty buffer, then null data, then the dtype. A
    sparse constant (LiteRT keeps sparsity on constants only) gives its buffer as a 1-D
    array of ``bytes // itemsize`` values (for the packed types: the first ``bytes``
    unpacked values); string-like tensors are never read as sparse.
    """
    data, size = _tensor_bytes(tensor)
    if data is not None and size == 0:
        raise ValueError("Invalid tensor size.")
    info = TYPES[tensor.type]
    if data is None:
        if tensor.type in UNSIZED_TYPES:
            raise ValueError(f"{_NOT_RUN} (LiteRT crashes when asked for a {tensor.type_name} "
                             "tensor without data)")
        if size > 0:
            raise ValueError(f"Tensor data is null. Run allocate_tensors() first ({_NOT_RUN})")
        dtype = tensor_dtype(tensor.type)
        _check_rank(tensor)
        return np.zeros(tuple(tensor.shape.tolist()), dtype)
    dtype = tensor_dtype(tensor.type)
    sparse = tensor.sparsity is not None and info.bits != 0  # strings ignore sparsity
    if not sparse:
        _check_rank(tensor)
    if info.bits == 0:
        return _strings(tensor, data)
    if info.numpy is None and info.bits == 8:
        # FLOAT8: LiteRT hands out the stored bytes as int8, not the values they encode
        raw = np.frombuffer(data, np.int8, size if sparse else min(tensor.num_elements, size))
        result: np.ndarray = raw if sparse else raw.reshape(tuple(tensor.shape.tolist()))
    elif sparse and info.bits < 8:
        result = tensor.to_array(dense=False)[:size]  # one "element" per stored byte
    else:
        result = tensor.to_array(dense=False)
    result = np.array(result, dtype=dtype)
    return result[()] if result.ndim == 0 else result


def _check_rank(tensor: Tensor) -> None:
    """LiteRT's error for an array of more dimensions than numpy allows."""
    if len(tensor.shape) > MAX_RANK:
        raise ValueError(f"number of dimensions must be within [0, {MAX_RANK}]")


def _strings(tensor: Tensor, data: memoryview) -> np.ndarray:
    """A string-like constant: a fresh object array; a negative count leaves every entry None."""
    if len(data) >= 4 and int(np.frombuffer(data, "<i4", 1)[0]) < 0:
        shape = tuple(tensor.shape.tolist())
        where = tensor.path
        check_allocation(8 * int(np.prod(shape, dtype=object)), tensor._model.size, where)
        return np.full(shape, None, dtype=object)
    result: np.ndarray = tensor.to_array().copy()
    return result  # rank 0 included: strings stay a 0-d object array
