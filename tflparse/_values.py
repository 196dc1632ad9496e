"""Decoding tensor bytes into values: packed integers, TFLite string buffers, sparse tensors.

Functions on bytes, arrays and plain arguments; they never reach back into the model view
(which calls them from ``Tensor.to_array``). Packed types store
several values per byte, lowest bits first: INT4/UINT4 two per byte (low nibble first), INT2
four per byte (least significant pair first), as the runtime unpacks them.

>>> from tflparse._values import unpack_int
>>> unpack_int(bytes([0x8F, 0x07]), bits=4, signed=True, count=3).tolist()
[-1, -8, 7]
>>> unpack_int(bytes([0xE4, 0x01]), bits=2, signed=True, count=5).tolist()
[0, 1, -2, -1, 1]
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._dtypes import type_info, type_name
from ._errors import InvalidModelError

if TYPE_CHECKING:
    from .model import Sparsity

__all__ = ["unpack_int", "pack_int", "decode_strings", "densify", "check_allocation",
           "check_array_shape", "MAX_RANK", "element_type", "decode_values", "densify_sparsity"]

#: arrays built from a file's claims (not its bytes) may use at most this much, or 64 times
#: the file's size if that is larger, so a hostile file cannot exhaust memory
ALLOCATION_FLOOR = 1 << 28


def check_allocation(nbytes: int, file_size: int, where: str) -> None:
    """Raise InvalidModelError when an array the file asks for would be unreasonably large."""
    limit = max(ALLOCATION_FLOOR, 64 * file_size)
    if nbytes > limit:
        raise InvalidModelError.at(where, f"would need {nbytes} bytes of memory, more than the "
                                f"{limit} allowed for a {file_size}-byte file")


def unpack_int(raw: bytes | memoryview, bits: int, signed: bool, count: int) -> np.ndarray:
    """The first ``count`` ``bits``-wide integers packed in ``raw``, lowest bits first.

    Returns int8 (signed) or uint8 values, sign-extended for signed types.
    """
    if bits not in (1, 2, 4):
        raise ValueError(f"bits must be 1, 2 or 4, not {bits}")
    per_byte = 8 // bits
    needed = -(-count // per_byte)
    data = np.frombuffer(raw, np.uint8, min(needed, len(raw)))
    if len(data) < needed:
        raise ValueError(f"{count} values of {bits} bits need {needed} bytes, got {len(data)}")
    shifts = np.arange(0, 8, bits, dtype=np.uint8)
    values = ((data[:, None] >> shifts) & ((1 << bits) - 1)).reshape(-1)[:count]
    if not signed:
        return values.astype(np.uint8)
    as_signed = values.astype(np.int8)
    as_signed[values >= 1 << (bits - 1)] -= np.int8(1 << bits)
    return as_signed


def pack_int(values: np.ndarray, bits: int) -> bytes:
    """Pack integers into ``bits``-wide fields, lowest bits first (inverse of unpack_int)."""
    per_byte = 8 // bits
    flat = np.asarray(values).astype(np.int64).reshape(-1) & ((1 << bits) - 1)
    padded = np.zeros(-(-len(flat) // per_byte) * per_byte, np.uint8)
    padded[:len(flat)] = flat
    shifts = np.arange(0, 8, bits, dtype=np.uint8)
    packed: np.ndarray = (padded.reshape(-1, per_byte) << shifts).sum(axis=1).astype(np.uint8)
    return packed.tobytes()


def decode_strings(raw: bytes | memoryview, count: int, where: str = "string buffer"
                   ) -> list[bytes | None]:
    """The first ``count`` entries of a TFLite string buffer; missing entries are None.

    Layout: ``int32 n``, ``int32 offsets[n + 1]`` (from the start of the buffer), then the
    bytes. Offsets are checked against the buffer.
    """
    size = len(raw)
    if size < 4:
        if count == 0:
            return []
        raise InvalidModelError.at(where, f"{size} bytes cannot hold a string count")
    (n,) = struct.unpack_from("<i", raw, 0)
    if n == 0:  # nothing past the count is read
        return [None] * count
    if n < 0 or 4 * (n + 2) > size:
        raise InvalidModelError.at(where, f"declares {n} strings, which do not fit in {size} bytes")
    offsets = np.frombuffer(raw, "<i4", n + 1, 4).tolist()
    result: list[bytes | None] = []
    for i in range(min(n, count)):
        start, end = offsets[i], offsets[i + 1]
        if not 0 <= start <= end <= size:
            raise InvalidModelError.at(where, f"string {i} spans [{start}, {end}), outside "
                                    f"the {size}-byte buffer")
        result.append(bytes(raw[start:end]))
    result.extend([None] * (count - len(result)))
    return result


#: numpy's limit on an array's dimensions
MAX_RANK = 64
_MAX_ELEMENTS = 1 << 62


def check_array_shape(shape: Sequence[int], where: str) -> None:
    """Raise ``InvalidModelError`` unless a numpy array can have ``shape``."""
    if len(shape) > MAX_RANK:
        raise InvalidModelError.at(where, f"rank {len(shape)} is more than the {MAX_RANK} "
                                "dimensions a numpy array can have")
    if any(d < 0 for d in shape):
        raise InvalidModelError.at(where, f"negative dimension in shape {list(shape)}")
    nonzero = 1
    for d in shape:
        nonzero *= max(d, 1)
    if nonzero > _MAX_ELEMENTS:  # numpy refuses such a shape even when a dimension is 0
        raise InvalidModelError.at(where, f"shape {list(shape)} is too large for an array")


def densify(values: np.ndarray, dense_shape: Sequence[int], traversal_order: Sequence[int],
            block_map: Sequence[int], dims: Sequence[dict[str, Any]]) -> np.ndarray:
    """Expand a sparse tensor's stored ``values`` into its dense array.

    ``dims`` has one entry per traversal dimension: ``{"format": 0, "dense_size": n}`` or
    ``{"format": 1, "array_segments": [...], "array_indices": [...]}``. Traversal dimensions
    beyond the tensor's rank are block dimensions, mapped onto tensor axes by ``block_map``.
    """
    rank = len(dense_shape)
    order = list(traversal_order)
    if sorted(order) != list(range(len(order))) or len(order) != len(dims) or len(order) < rank:
        raise InvalidModelError.at("sparsity", f"traversal_order {order} does not fit "
                                f"{len(dims)} dimension entries and rank {rank}")
    blocks = list(block_map)
    if len(blocks) != len(order) - rank or any(not 0 <= b < rank for b in blocks):
        raise InvalidModelError.at("sparsity", f"block_map {blocks} does not fit rank {rank}")
    block_size = [1] * rank
    for k, axis in enumerate(blocks):
        dim = dims[order.index(rank + k)]
        block_size[axis] = _dim_size(dim)
    dense = np.zeros(tuple(dense_shape), dtype=values.dtype)
    flat_values = values.reshape(-1)
    position = [0]
    # a valid traversal visits each stored value once through at most one node per
    # dimension, plus inner nodes bounded by the segment arrays; a crafted one must not spin
    budget = [2 * (len(flat_values) + sum(len(d.get("array_segments", ())) for d in dims))
              * (len(dims) + 1) + 1024]

    def children(level: int, parent: int) -> Iterator[tuple[int, int]]:
        """(child node, coordinate) pairs under node ``parent`` of traversal level ``level``."""
        budget[0] -= 1
        if budget[0] < 0:
            raise InvalidModelError.at("sparsity", "the traversal does not match the stored values")
        dim = dims[level]
        if dim["format"] == 0:
            size = int(dim["dense_size"])
            if size > budget[0]:  # more children than a matching traversal can have
                raise InvalidModelError.at("sparsity", f"dimension {level} claims {size} dense "
                                        f"entries, more than the {len(flat_values)} stored "
                                        "values can fill")
            return ((parent * size + i, i) for i in range(max(size, 0)))
        segments, indices = dim["array_segments"], dim["array_indices"]
        if parent + 1 >= len(segments):
            raise InvalidModelError.at("sparsity", f"dimension {level} has too few segments")
        lo, hi = int(segments[parent]), int(segments[parent + 1])
        if not 0 <= lo <= hi <= len(indices):
            raise InvalidModelError.at("sparsity", f"dimension {level} segment [{lo}, {hi}) "
                                    f"outside its {len(indices)} indices")
        return iter([(j, int(indices[j])) for j in range(lo, hi)])

    if not dims:  # a scalar: no dimension to traverse, one value
        _place(dense, flat_values, position, [], order, blocks, block_size, rank)
        return dense
    # depth first, with a stack of its own: a file may declare thousands of dimensions
    coords: list[int] = []
    stack = [children(0, 0)]
    while stack:
        step = next(stack[-1], None)
        if step is None:
            stack.pop()
            if coords:
                coords.pop()
            continue
        child, coordinate = step
        coords.append(coordinate)
        if len(stack) < len(dims):
            stack.append(children(len(stack), child))
        else:
            _place(dense, flat_values, position, coords, order, blocks, block_size, rank)
            coords.pop()
    return dense


def _dim_size(dim: dict[str, Any]) -> int:
    if dim["format"] == 0:
        return int(dim["dense_size"])
    return int(max(dim["array_indices"], default=-1)) + 1


def _place(dense: np.ndarray, values: np.ndarray, position: list[int], coords: list[int],
           order: list[int], blocks: list[int], block_size: list[int], rank: int) -> None:
    if position[0] >= len(values):
        raise InvalidModelError.at("sparsity", f"the traversal needs more than the {len(values)} "
                                "stored values")
    index = [0] * rank
    for level, coordinate in enumerate(coords):
        axis = order[level]
        if axis < rank:
            index[axis] += coordinate * block_size[axis]
        else:
            index[blocks[axis - rank]] += coordinate
    if any(not 0 <= i < n for i, n in zip(index, dense.shape)):
        raise InvalidModelError.at("sparsity", f"element index {index} outside shape "
                                f"{list(dense.shape)}")
    dense[tuple(index)] = values[position[0]]
    position[0] += 1


def element_type(tensor_type: int, index: int, where: str) -> np.dtype[Any]:
    """The numpy dtype that holds one value of ``tensor_type`` (ml_dtypes where needed).

    ``index`` and ``where`` (the tensor's dotted path) name the tensor in errors.
    """
    info = type_info(tensor_type)
    if info is None:
        raise InvalidModelError.at(where, f"unknown type {type_name(tensor_type)}")
    if info.numpy is not None:
        return info.numpy
    if info.bits == 0:
        return np.dtype(object)
    try:
        import ml_dtypes  # optional: BFLOAT16 and FLOAT8 values
    except ImportError as error:
        raise ValueError(f"tensor {index}: {info.name} values need the ml_dtypes "
                         "package (pip install ml_dtypes); Tensor.data has the raw bytes"
                         ) from error
    names = {"BFLOAT16": "bfloat16", "FLOAT8_E4M3FN": "float8_e4m3fn",
             "FLOAT8_E5M2": "float8_e5m2"}
    found: np.dtype[Any] = np.dtype(getattr(ml_dtypes, names[info.name]))
    return found


def decode_values(data: memoryview, tensor_type: int, shape: tuple[int, ...], index: int,
                  where: str, file_size: int, *, stored_only: bool) -> np.ndarray:
    """Decode a constant's bytes: in ``shape``, or (``stored_only``) every stored value, 1-D.

    ``index`` and ``where`` name the tensor in errors; ``file_size`` bounds what a string
    buffer may make us allocate.
    """
    info = type_info(tensor_type)
    dtype = element_type(tensor_type, index, where)
    if not stored_only:
        check_array_shape(shape, where)
    elements = -1 if stored_only else int(np.prod(shape, dtype=object))
    if info is not None and info.bits == 0:
        check_allocation(8 * elements, file_size, where)
        found = decode_strings(data, elements, where)
        values = np.empty(len(found), dtype=object)
        values[:] = found
        return values.reshape(shape)
    if info is not None and info.bits < 8:
        per_byte = 8 // info.bits
        total = len(data) * per_byte if stored_only else elements
        if len(data) * per_byte < total:
            raise InvalidModelError.at(where, f"{len(data)} bytes hold fewer than {total} "
                                    f"{info.name} values")
        unpacked = unpack_int(data, info.bits, info.name != "UINT4", total)
        unpacked.flags.writeable = False
        return unpacked if stored_only else unpacked.reshape(shape)
    if stored_only:
        return np.frombuffer(data, dtype, len(data) // dtype.itemsize)
    if elements * dtype.itemsize > len(data):
        raise InvalidModelError.at(where, f"{len(data)} bytes hold fewer than {elements} "
                                f"values of {dtype.itemsize} bytes")
    return np.frombuffer(data, dtype, elements).reshape(shape)


def densify_sparsity(stored: np.ndarray, shape: list[int], sparsity: Sparsity, where: str,
                     file_size: int) -> np.ndarray:
    """The dense, read-only array of a sparse constant from its stored values.

    ``where`` is the sparsity's dotted path for errors; ``file_size`` bounds the allocation.
    """
    if sparsity.traversal_order is None or sparsity.dim_metadata is None:
        raise InvalidModelError.at(where, "traversal_order or dim_metadata is missing")
    dims: list[dict[str, Any]] = []
    for i, dim in enumerate(sparsity.dim_metadata):
        if dim.format == 0:
            dims.append({"format": 0, "dense_size": dim.dense_size})
        elif dim.format == 1 and dim.array_segments is not None and dim.array_indices is not None:
            dims.append({"format": 1, "array_segments": dim.array_segments.tolist(),
                         "array_indices": dim.array_indices.tolist()})
        else:
            raise InvalidModelError.at(f"{where}.dim_metadata[{i}]", f"unusable dimension {dim!r}")
    block_map = [] if sparsity.block_map is None else sparsity.block_map.tolist()
    check_array_shape(shape, where)
    check_allocation(int(np.prod(shape, dtype=object)) * stored.dtype.itemsize,
                     file_size, where)
    try:
        dense = densify(stored, shape, sparsity.traversal_order.tolist(), block_map, dims)
    except InvalidModelError as error:
        raise InvalidModelError.at(where, str(error)) from error
    dense.flags.writeable = False
    return dense
