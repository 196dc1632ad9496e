"""One table of facts per TensorType: storage width, numpy type, and what LiteRT reports."""

from __future__ import annotations

import sys
from typing import Any, NamedTuple

import numpy as np

from ._schema import TensorType

__all__ = ["TypeInfo", "TYPES", "type_info", "type_name", "bfloat16_type"]


class TypeInfo(NamedTuple):
    """How values of one ``TensorType`` are stored and reported."""

    name: str
    #: bits one element occupies in a buffer; 0 for STRING, RESOURCE and VARIANT.
    bits: int
    #: numpy dtype of one stored element (packed types: the unpacked value); None if none.
    numpy: np.dtype[Any] | None
    #: the scalar type LiteRT's ``Interpreter`` reports as ``dtype``; None for BFLOAT16,
    #: whose type depends on whether ``ml_dtypes`` has been imported.
    litert: type | None


TYPES: dict[int, TypeInfo] = {
    TensorType.FLOAT32: TypeInfo("FLOAT32", 32, np.dtype("<f4"), np.float32),
    TensorType.FLOAT16: TypeInfo("FLOAT16", 16, np.dtype("<f2"), np.float16),
    TensorType.INT32: TypeInfo("INT32", 32, np.dtype("<i4"), np.int32),
    TensorType.UINT8: TypeInfo("UINT8", 8, np.dtype("u1"), np.uint8),
    TensorType.INT64: TypeInfo("INT64", 64, np.dtype("<i8"), np.int64),
    TensorType.STRING: TypeInfo("STRING", 0, None, np.bytes_),
    TensorType.BOOL: TypeInfo("BOOL", 8, np.dtype("?"), np.bool_),
    TensorType.INT16: TypeInfo("INT16", 16, np.dtype("<i2"), np.int16),
    TensorType.COMPLEX64: TypeInfo("COMPLEX64", 64, np.dtype("<c8"), np.complex64),
    TensorType.INT8: TypeInfo("INT8", 8, np.dtype("i1"), np.int8),
    TensorType.FLOAT64: TypeInfo("FLOAT64", 64, np.dtype("<f8"), np.float64),
    TensorType.COMPLEX128: TypeInfo("COMPLEX128", 128, np.dtype("<c16"), np.complex128),
    TensorType.UINT64: TypeInfo("UINT64", 64, np.dtype("<u8"), np.uint64),
    TensorType.RESOURCE: TypeInfo("RESOURCE", 0, None, np.object_),
    TensorType.VARIANT: TypeInfo("VARIANT", 0, None, np.object_),
    TensorType.UINT32: TypeInfo("UINT32", 32, np.dtype("<u4"), np.uint32),
    TensorType.UINT16: TypeInfo("UINT16", 16, np.dtype("<u2"), np.uint16),
    TensorType.INT4: TypeInfo("INT4", 4, np.dtype("i1"), np.int8),
    TensorType.BFLOAT16: TypeInfo("BFLOAT16", 16, None, None),
    TensorType.INT2: TypeInfo("INT2", 2, np.dtype("i1"), np.int8),
    TensorType.UINT4: TypeInfo("UINT4", 4, np.dtype("u1"), np.uint8),
    TensorType.FLOAT8_E4M3FN: TypeInfo("FLOAT8_E4M3FN", 8, None, np.int8),
    TensorType.FLOAT8_E5M2: TypeInfo("FLOAT8_E5M2", 8, None, np.int8),
}


def integer_range(tensor_type: int) -> tuple[int, int]:
    """(smallest, largest) value of an integer TensorType, from its bit width."""
    info = TYPES[tensor_type]
    assert info.numpy is not None and info.numpy.kind in "iu"
    if info.numpy.kind == "i":
        return -(1 << (info.bits - 1)), (1 << (info.bits - 1)) - 1
    return 0, (1 << info.bits) - 1


def type_info(tensor_type: int) -> TypeInfo | None:
    """Facts of a TensorType value, or None for a value the schema does not define."""
    return TYPES.get(tensor_type)


def type_name(tensor_type: int) -> str:
    """The schema's name of a TensorType value; ``UNKNOWN(n)`` for one it does not define.

    >>> type_name(9), type_name(99)
    ('INT8', 'UNKNOWN(99)')
    """
    info = TYPES.get(tensor_type)
    return info.name if info is not None else f"UNKNOWN({tensor_type})"


def bfloat16_type() -> type | None:
    """``ml_dtypes.bfloat16`` if some code of this process imported ml_dtypes, else None.

    LiteRT reports BFLOAT16 as numpy's first user-registered dtype, which exists only once
    ``ml_dtypes`` is imported; tflparse never imports it itself.
    """
    module = sys.modules.get("ml_dtypes")
    found = getattr(module, "bfloat16", None) if module is not None else None
    return found if isinstance(found, type) else None
