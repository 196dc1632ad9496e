"""The tensor detail dictionary of LiteRT's ``Interpreter``, built in exactly one place.

Values, their Python and numpy types and the key order are those of
``ai_edge_litert.interpreter.Interpreter._get_tensor_details`` (LiteRT 2.3.0). Arrays are
fresh, writable copies, as the runtime returns them.
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np

from ._dtypes import TYPES, bfloat16_type
from ._litert import UNSIZED_TYPES, QuantKind, bytes_required, quant_kind
from .model import BlockwiseQuantization, Model, Sparsity, Tensor

__all__ = ["TensorDetails", "QuantizationParameters", "tensor_details", "tensor_dtype",
           "constant_value"]

_EMPTY_F32 = np.zeros(0, np.float32)
_EMPTY_I32 = np.zeros(0, np.int32)
_SIZE_T = 1 << 64


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


def _name(tensor: Tensor) -> str:
    raw = tensor.name_bytes or b""
    return raw.split(b"\x00", 1)[0].decode("utf-8")


def _tensor_bytes(tensor: Tensor) -> tuple[memoryview | None, int]:
    """(constant data, byte size) as the runtime sees a tensor before allocation."""
    if tensor.is_constant:
        data = tensor.data
        return data, 0 if data is None else len(data)
    if tensor.type in UNSIZED_TYPES:
        return None, 0
    return None, bytes_required(tensor.type, tensor.shape) or 0


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
        zero_points = _EMPTY_I32.copy()
    else:
        zero_points = _raw_values(model, tensor.subgraph_index, details.zero_points, count, "<i4")
    return {"scales": scales.astype(np.float16), "zero_points": zero_points.astype(np.int32),
            "quantized_dimension": q.quantized_dimension, "block_size": details.block_size}


def _quantization(model: Model, tensor: Tensor, count: int, compress_zero_points: bool
                  ) -> tuple[tuple[float, int], QuantizationParameters]:
    q = tensor.quantization
    kind = quant_kind(q)
    if kind == QuantKind.BLOCKWISE:
        return (0.0, 0), _blockwise(model, tensor, count)
    if kind != QuantKind.AFFINE or q is None:
        return (0.0, 0), {"scales": _EMPTY_F32.copy(), "zero_points": _EMPTY_I32.copy(),
                          "quantized_dimension": 0, "block_size": 0}
    scale, zero_point = q.scale, q.zero_point
    assert scale is not None and zero_point is not None
    scales = np.array(scale, np.float32)
    zero_points = zero_point.astype(np.int32)  # keeps the low 32 bits, as the runtime does
    legacy = (float(scales[0]), int(zero_points[0])) if len(scales) == 1 else (0.0, 0)
    if compress_zero_points and len(zero_points) and (zero_points == zero_points[0]).all():
        zero_points = zero_points[:1].copy()
    return legacy, {"scales": scales, "zero_points": zero_points,
                    "quantized_dimension": q.quantized_dimension, "block_size": 0}


def _sparsity(sparsity: Sparsity) -> dict[str, Any]:
    assert sparsity.traversal_order is not None and sparsity.dim_metadata is not None
    result: dict[str, Any] = {"traversal_order": sparsity.traversal_order.astype(np.int32)}
    if sparsity.block_map is not None:
        result["block_map"] = sparsity.block_map.astype(np.int32)
    dims: list[dict[str, Any]] = []
    for dim in sparsity.dim_metadata:
        if dim.format == 0:
            dims.append({"format": 0, "dense_size": dim.dense_size % _SIZE_T})
        else:
            assert dim.array_segments is not None and dim.array_indices is not None
            dims.append({"format": dim.format,
                         "array_segments": dim.array_segments.astype(np.int32),
                         "array_indices": dim.array_indices.astype(np.int32)})
    result["dim_metadata"] = dims
    return result


def tensor_details(model: Model, subgraph: int, index: int, count: int,
                   compress_zero_points: bool = False) -> TensorDetails:
    """LiteRT's detail dictionary for tensor ``index`` of ``subgraph``.

    ``count`` is the subgraph's tensor count in the constructed interpreter, which includes
    scratch tensors that kernels add; those have no shape and raise, as in the runtime.
    Raises ``ValueError`` (or its subclass ``UnicodeDecodeError``) exactly where LiteRT does.
    """
    index = int(index)
    if not 0 <= index < count:
        raise invalid_index(index, count)
    tensors = model.subgraphs[subgraph].tensors
    if index >= len(tensors):
        raise ValueError("Tensor with no shape found.")
    tensor = tensors[index]
    name = _name(tensor)
    shape = np.array(tensor.shape, np.int32)
    signature = tensor.shape_signature
    if tensor.is_constant or signature is None or len(signature) == 0:
        shape_signature = shape.copy()
    else:
        shape_signature = np.array(signature, np.int32)
    dtype = tensor_dtype(tensor.type)
    legacy, params = _quantization(model, tensor, count, compress_zero_points)
    sparsity = tensor.sparsity if tensor.is_constant else None
    return {
        "name": name,
        "index": index,
        "shape": shape,
        "shape_signature": shape_signature,
        "dtype": dtype,
        "quantization": legacy,
        "quantization_parameters": params,
        "sparsity_parameters": {} if sparsity is None else _sparsity(sparsity),
    }


_NOT_RUN = ("tflparse does not run models: only constant tensors have values, and this one "
            "has none")


def constant_value(tensor: Tensor) -> Any:
    """LiteRT's ``get_tensor`` result for a tensor before ``allocate_tensors()``."""
    data, size = _tensor_bytes(tensor)
    if data is not None and size == 0:
        raise ValueError("Invalid tensor size.")
    dtype = tensor_dtype(tensor.type)
    if data is None:
        if tensor.type in UNSIZED_TYPES:
            raise ValueError(f"{_NOT_RUN} (LiteRT crashes when asked for a {tensor.type_name} "
                             "tensor without data)")
        if size > 0:
            raise ValueError(f"Tensor data is null. Run allocate_tensors() first ({_NOT_RUN})")
        return np.zeros(tuple(tensor.shape.tolist()), dtype)
    value = tensor.to_array(dense=False)  # a sparse constant: its stored values, as LiteRT
    if dtype is np.object_ or dtype is np.bytes_:
        result: np.ndarray = value.copy()
    else:
        result = np.array(value, dtype=dtype)
    return result[()] if result.ndim == 0 else result
