"""Affine quantization with LiteRT's exact arithmetic: ``q = round(x / scale) + zero_point``.

:func:`quantize` and :func:`dequantize` give, bit for bit, what LiteRT's QUANTIZE and
DEQUANTIZE kernels give (ai-edge-litert 2.3.0 on x86-64, found by experiment; the README
states each formula). Parameters are per tensor (scalar ``scale``/``zero_point``) or per
axis (1-D, one entry per index of ``axis``); :func:`quantize_blockwise` and
:func:`dequantize_blockwise` take one scale per block of ``block_size`` elements.

``scale`` is used as float32 and the zero point as int32, as the runtime stores them.
``dtype`` is a numpy integer type or one of ``"int8"``, ``"uint8"``, ``"int16"``,
``"int32"``, ``"int4"``, ``"uint4"``, ``"int2"``; the sub-byte types are returned unpacked,
one value per int8 (uint8 for uint4) element.

>>> import numpy as np
>>> from tflparse.quant import quantize, dequantize
>>> quantize([0.25, 0.75, -0.25, 100.0], 0.5, -1, "int8").tolist()
[0, 1, -2, 127]
>>> dequantize(np.array([0, 1, -2], np.int8), 0.5, -1).tolist()
[0.5, 1.0, -0.5]
"""

from __future__ import annotations

from typing import Any, NamedTuple, Union

import numpy as np

from ._dtypes import TYPES, integer_range
from ._schema import TensorType

__all__ = ["quantize", "dequantize", "quantize_blockwise", "dequantize_blockwise"]

ArrayLike = Any
DTypeLike = Union[str, np.dtype, type]


class _Range(NamedTuple):
    """The values one quantized type holds and the numpy type results are stored in."""

    min: int
    max: int
    storage: np.dtype[Any]


def _range(tensor_type: int) -> tuple[str, _Range]:
    info = TYPES[tensor_type]
    assert info.numpy is not None
    low, high = integer_range(tensor_type)
    return info.name.lower(), _Range(low, high, info.numpy.newbyteorder("="))


#: The one table of quantized types: name -> (min, max, storage dtype), from ``_dtypes``.
_RANGES: dict[str, _Range] = dict(
    _range(t) for t in (TensorType.INT8, TensorType.UINT8, TensorType.INT16,
                        TensorType.INT32, TensorType.INT4, TensorType.UINT4, TensorType.INT2)
)
_FULL_WIDTH = ("int8", "uint8", "int16", "int32")  # the names a numpy dtype can stand for
#: the outputs LiteRT's optimized QUANTIZE vectorizes (its int4 QUANTIZE is the reference one)
_VECTORIZED = ("int8", "uint8", "int16")

_QUANTIZE_ROUNDINGS = ("half_away_from_zero", "half_to_even", "litert_optimized")
_DEQUANTIZE_ROUNDINGS = ("exact", "litert_optimized")
_INT32_MIN = -(1 << 31)
#: LiteRT's optimized x86-64 kernels work on blocks of this many elements of the flat tensor
#: and compute the last ``size % 8`` elements with the scalar formula.
_VECTOR = 8


# --------------------------------------------------------------------------------------------
# Arguments


def _resolve_dtype(dtype: DTypeLike) -> tuple[str, _Range]:
    if isinstance(dtype, str) and dtype.lower() in _RANGES:
        return dtype.lower(), _RANGES[dtype.lower()]
    try:
        wanted = np.dtype(dtype)
    except TypeError:
        wanted = None
    for name in _FULL_WIDTH:
        if wanted is not None and _RANGES[name].storage == wanted:
            return name, _RANGES[name]
    raise ValueError(f"unsupported quantized dtype {dtype!r}: expected a numpy int8, uint8, "
                     f"int16 or int32 type or one of {sorted(_RANGES)}")


def _check_rounding(rounding: str, allowed: tuple[str, ...]) -> None:
    if rounding not in allowed:
        raise ValueError(f"unknown rounding {rounding!r}: expected one of {list(allowed)}")


def _float_values(values: ArrayLike) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"values must be real numbers, not {array.dtype}")
    return array.astype(np.float32)


def _int_values(q: ArrayLike) -> np.ndarray:
    array = np.asarray(q)
    if array.dtype.kind not in "iu":
        raise ValueError(f"quantized values must be integers, not {array.dtype}")
    return array


def _scales(scale: ArrayLike, what: str = "scale") -> np.ndarray:
    """``scale`` as float32, each positive, finite and normal after rounding to float32."""
    raw = np.asarray(scale)
    if raw.dtype.kind not in "iuf":
        raise ValueError(f"{what} must be real numbers, not {raw.dtype}")
    with np.errstate(over="ignore"):
        as_f32 = raw.astype(np.float32)
    good = np.isfinite(as_f32) & (as_f32 >= np.finfo(np.float32).tiny)
    if not good.all():
        bad = raw.reshape(-1)[np.flatnonzero(~good.reshape(-1))[0]]
        raise ValueError(f"{what} must be positive, finite and normal as float32, got {bad!r}")
    return as_f32


def _zero_points(zero_point: ArrayLike, low: int, high: int, what: str = "zero_point"
                 ) -> np.ndarray:
    raw = np.asarray(zero_point)
    if raw.dtype.kind not in "iu":
        raise ValueError(f"{what} must be integers, not {raw.dtype}")
    as_i64 = raw.astype(np.int64)
    outside = (as_i64 < low) | (as_i64 > high)
    if outside.any():
        bad = as_i64.reshape(-1)[np.flatnonzero(outside.reshape(-1))[0]]
        raise ValueError(f"{what} {int(bad)} is outside [{low}, {high}]")
    return as_i64


def _normalize_axis(axis: int, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"axis must be an integer, not {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for an array of {ndim} dimensions")
    return int(axis) % ndim


def _affine_params(scale: ArrayLike, zero_point: ArrayLike, shape: tuple[int, ...],
                   axis: int | None, low: int, high: int
                   ) -> tuple[np.ndarray, np.ndarray, bool]:
    """Scale (float32) and zero point (int64) shaped to broadcast against ``shape``.

    The third value says whether the parameters are per axis (more than one scale), which is
    what selects LiteRT's per-channel kernels.
    """
    scales = _scales(scale)
    zps = _zero_points(zero_point, low, high)
    for name, array in (("scale", scales), ("zero_point", zps)):
        if array.ndim > 1:
            raise ValueError(f"{name} must be a scalar or 1-D, not of shape {array.shape}")
    if axis is None:
        if scales.size != 1 or zps.size != 1:
            raise ValueError(f"per-tensor quantization takes one scale and one zero point "
                             f"(got {scales.size} and {zps.size}); pass axis= for per-axis")
        return scales.reshape(()), zps.reshape(()), False
    ax = _normalize_axis(axis, len(shape))
    channels = shape[ax]
    if scales.size not in (1, channels):
        raise ValueError(f"{scales.size} scales for axis {axis} of size {channels}")
    if zps.size not in (1, scales.size):
        raise ValueError(f"{zps.size} zero points for {scales.size} scales "
                         f"(expected 1 or {scales.size})")
    if scales.size == 1:
        return scales.reshape(()), zps.reshape(-1)[:1].reshape(()), False
    along = [1] * len(shape)
    along[ax] = channels
    return (scales.reshape(along),
            np.broadcast_to(zps.reshape(-1), (channels,)).reshape(along), True)


def _block_params(scales: ArrayLike, zero_points: ArrayLike | None, shape: tuple[int, ...],
                  axis: int, block_size: int, low: int, high: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Blockwise scales and zero points repeated to the full ``shape``."""
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)):
        raise ValueError(f"block_size must be an integer, not {block_size!r}")
    if block_size < 1:
        raise ValueError(f"block_size must be at least 1, not {block_size}")
    ax = _normalize_axis(axis, len(shape))
    if shape[ax] % block_size:
        raise ValueError(f"axis {axis} of size {shape[ax]} is not a multiple of "
                         f"block_size {block_size}")
    expected = shape[:ax] + (shape[ax] // block_size,) + shape[ax + 1:]
    s32 = _scales(scales, "scales")
    zps = (np.zeros(expected, np.int64) if zero_points is None
           else _zero_points(zero_points, low, high, "zero_points"))
    for name, array in (("scales", s32), ("zero_points", zps)):
        if array.shape != expected:
            raise ValueError(f"{name} of shape {array.shape} do not match values of shape "
                             f"{shape} in blocks of {block_size} along axis {axis}: "
                             f"expected {expected}")
    return np.repeat(s32, block_size, axis=ax), np.repeat(zps, block_size, axis=ax)


# --------------------------------------------------------------------------------------------
# The arithmetic


def _round_half_away(v: np.ndarray) -> np.ndarray:
    """Round to the nearest integer, ties away from zero, exactly (C's ``round``)."""
    whole = np.trunc(v)
    with np.errstate(invalid="ignore"):
        step = np.abs(v - whole) >= 0.5  # v - trunc(v) is exact; inf - inf is NaN: no step
    rounded: np.ndarray = np.where(step, whole + np.copysign(np.ones_like(v), v), whole)
    return rounded


def _to_int32(r: np.ndarray) -> np.ndarray:
    """int64 of integral floats as x86-64 converts them to int32: NaN and out of range give
    INT32_MIN (C++ leaves that undefined; SSE/AVX return the "integer indefinite")."""
    r = np.asarray(r)
    inside = (r >= -2.0**31) & (r < 2.0**31)
    out = np.full(r.shape, _INT32_MIN, np.int64)
    out[inside] = r[inside].astype(np.int64)
    return out


def _finish(i: np.ndarray, zp: np.ndarray, target: _Range) -> np.ndarray:
    """Add the zero point in wrapping int32 arithmetic, clamp, store."""
    wrapped = (i + zp - _INT32_MIN) % (1 << 32) + _INT32_MIN
    return np.asarray(np.clip(wrapped, target.min, target.max).astype(target.storage))


def _quantize(x: np.ndarray, s32: np.ndarray, zp: np.ndarray, name: str, rounding: str,
              per_axis: bool) -> np.ndarray:
    target = _RANGES[name]
    if rounding == "litert_optimized" and (per_axis or name not in _VECTORIZED):
        rounding = "half_away_from_zero"
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        if rounding == "half_away_from_zero":
            rounded = _round_half_away(x / s32)  # float32 / float32
        elif rounding == "half_to_even":
            rounded = np.rint(x * (np.float32(1) / s32))  # float32 * float32 reciprocal
        else:  # the optimized per-tensor kernel: vector blocks, then a scalar tail
            flat = x.reshape(-1)
            split = flat.size - flat.size % _VECTOR
            head = _to_int32(np.rint(flat[:split] * (np.float32(1) / s32)))
            tail = _to_int32(_round_half_away(flat[split:].astype(np.float64)
                                              / np.float64(s32)))
            return _finish(np.concatenate([head, tail]).reshape(x.shape), zp, target)
    return _finish(_to_int32(rounded), zp, target)


def _dequantize_exact(q: np.ndarray, s32: np.ndarray, zp: np.ndarray) -> np.ndarray:
    """float32 of ``(q - zp) * scale`` rounded once (exact in float64 for |q - zp| < 2**29)."""
    with np.errstate(over="ignore"):
        product = (q.astype(np.int64) - zp).astype(np.float64) * s32.astype(np.float64)
        return np.asarray(product.astype(np.float32))


# --------------------------------------------------------------------------------------------
# The API


def quantize(values: ArrayLike, scale: ArrayLike, zero_point: ArrayLike, dtype: DTypeLike, *,
             axis: int | None = None, rounding: str = "half_away_from_zero") -> np.ndarray:
    """Quantize ``values`` (first rounded to float32) to ``dtype`` as LiteRT does.

    ``scale``/``zero_point`` are scalars (per tensor), or with ``axis`` 1-D arrays of one
    entry per index along ``axis`` (a single zero point is shared by all scales). Each value
    becomes ``clamp(round(x / scale) + zero_point)`` with the runtime's exact arithmetic:

    - ``"half_away_from_zero"`` (default): float32 ``x / scale``, ties away from zero; the
      reference QUANTIZE kernel, and every LiteRT kernel for per-axis parameters.
    - ``"half_to_even"``: float32 ``x * (1 / scale)``, ties to even; the vectorized loop of
      the optimized kernel.
    - ``"litert_optimized"``: the optimized kernel exactly: per tensor to int8, uint8 or
      int16, ``"half_to_even"`` for all but the last ``size % 8`` elements of the flattened
      array, which get float64 ``x / scale`` with ties away from zero; per axis and for
      the other types, ``"half_away_from_zero"``.

    The rounded value goes through int32 as in the runtime: NaN and ``|x / scale| >= 2**31``
    (infinities included) become ``-2**31`` before the zero point is added with 32-bit
    wrap-around, so they saturate to the minimum (or, for a negative zero point, the
    maximum). Raises ValueError for bad arguments.

    >>> quantize([0.5, 1.5, 2.5, 300.0], 1.0, 0, "int8").tolist()
    [1, 2, 3, 127]
    >>> quantize([0.5, 1.5, 2.5], 1.0, 0, "int8", rounding="half_to_even").tolist()
    [0, 2, 2]
    >>> quantize([[1.0, 1.0], [1.0, 1.0]], [0.5, 0.25], [0, 8], "uint4", axis=0).tolist()
    [[2, 2], [12, 12]]
    """
    _check_rounding(rounding, _QUANTIZE_ROUNDINGS)
    name, target = _resolve_dtype(dtype)
    x = _float_values(values)
    s32, zp, per_axis = _affine_params(scale, zero_point, x.shape, axis, target.min, target.max)
    return _quantize(x, s32, zp, name, rounding, per_axis)


def dequantize(q: ArrayLike, scale: ArrayLike, zero_point: ArrayLike, *,
               axis: int | None = None, rounding: str = "exact") -> np.ndarray:
    """The float32 values ``(q - zero_point) * scale`` of integer array ``q``, as LiteRT.

    ``scale``/``zero_point`` are per tensor or per ``axis`` as for :func:`quantize`.

    - ``"exact"`` (default): the product rounded once to float32; LiteRT's reference
      DEQUANTIZE kernel, and every LiteRT kernel for per-axis parameters or int16.
    - ``"litert_optimized"``: the optimized kernel exactly: per tensor, float32
      ``q * scale - zero_point * scale`` (two products, each rounded) for all but the last
      ``size % 8`` elements of the flattened array, which are ``"exact"``.

    >>> dequantize(np.array([-128, 0, 127], np.int8), 0.5, -128).tolist()
    [0.0, 64.0, 127.5]
    >>> dequantize(np.array([[1, 1], [1, 1]], np.int8), [0.5, 2.0], 0, axis=1).tolist()
    [[0.5, 2.0], [0.5, 2.0]]
    """
    _check_rounding(rounding, _DEQUANTIZE_ROUNDINGS)
    values = _int_values(q)
    s32, zp, per_axis = _affine_params(scale, zero_point, values.shape, axis,
                                       _INT32_MIN, -_INT32_MIN - 1)
    if rounding == "exact" or per_axis:
        return _dequantize_exact(values, s32, zp)
    flat = values.reshape(-1)
    split = flat.size - flat.size % _VECTOR
    with np.errstate(over="ignore", invalid="ignore"):
        head = flat[:split].astype(np.float32) * s32 - zp.astype(np.float32) * s32
    tail = _dequantize_exact(flat[split:], s32, zp)
    return np.concatenate([head.astype(np.float32), tail]).reshape(values.shape)


def quantize_blockwise(values: ArrayLike, scales: ArrayLike, zero_points: ArrayLike | None,
                       dtype: DTypeLike, *, block_size: int, axis: int = -1,
                       rounding: str = "half_away_from_zero") -> np.ndarray:
    """Quantize with one scale (and zero point) per block of ``block_size`` elements.

    Along ``axis`` the elements ``[k * block_size, (k + 1) * block_size)`` share the
    parameters at index ``k`` of that axis: ``scales`` has the shape of ``values`` with
    ``shape[axis]`` divided by ``block_size`` (which must divide it), and so has
    ``zero_points`` (None: all zero). Each block is quantized exactly as :func:`quantize`
    with its own scalar parameters; ``rounding`` is ``"half_away_from_zero"`` or
    ``"half_to_even"`` (no LiteRT kernel quantizes blockwise).

    >>> quantize_blockwise([[1.0, 1.0, 1.0, 1.0]], [[0.5, 0.25]], None, "int4",
    ...                    block_size=2).tolist()
    [[2, 2, 4, 4]]
    """
    _check_rounding(rounding, _QUANTIZE_ROUNDINGS[:2])
    name, target = _resolve_dtype(dtype)
    x = _float_values(values)
    s32, zp = _block_params(scales, zero_points, x.shape, axis, block_size,
                            target.min, target.max)
    return _quantize(x, s32, zp, name, rounding, True)


def dequantize_blockwise(q: ArrayLike, scales: ArrayLike, zero_points: ArrayLike | None, *,
                         block_size: int, axis: int = -1) -> np.ndarray:
    """The float32 values of blockwise-quantized ``q`` (parameters as :func:`quantize_blockwise`).

    Each element is ``(q - zero_point) * scale`` of its block, rounded once to float32.

    >>> dequantize_blockwise(np.array([[2, 2, 4, 4]], np.int8), [[0.5, 0.25]], None,
    ...                      block_size=2).tolist()
    [[1.0, 1.0, 1.0, 1.0]]
    """
    values = _int_values(q)
    s32, zp = _block_params(scales, zero_points, values.shape, axis, block_size,
                            _INT32_MIN, -_INT32_MIN - 1)
    return _dequantize_exact(values, s32, zp)
