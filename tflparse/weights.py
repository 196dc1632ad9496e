"""Statistics of quantized constants and the quantities their operators combine them into.

:func:`tensor_stats` reads one quantized constant (from the memory-mapped file, a bounded
chunk at a time) and gives, per channel, what its integer values are doing: min and max,
the largest distance from the zero point, the levels that distance spans, how many values sit
at the type's extremes, whether the channel is dead, and the real range. One pass, vectorised
per chunk; the chunk never holds more than :data:`CHUNK_ELEMENTS` values, so a 4 GB model
needs no more memory than a small one. :func:`model_weight_stats` does it for every quantized
constant of a model; :func:`operator_quantities` gives, per conv / fully-connected operator,
the requantization multiplier per channel, the bias headroom and the quantized clamp of the
fused activation.

What a "channel" is:

- per tensor (one scale): one channel holding every value (``axis`` None);
- per axis: index ``c`` along ``quantized_dimension``, reduced over every other axis;
- blockwise (``BlockwiseQuantization``): one block, i.e. one entry of the scale tensor, which
  covers ``block_size`` consecutive values along ``quantized_dimension``; channels are
  numbered in the C order of the scale tensor (``axis`` is the blocked dimension).

``levels`` is ``2 * max_abs + 1``: the number of integer levels of the symmetric range around
the zero point that the channel's values span, which is what a symmetric quantizer had to
spend on the channel (a channel with values in [0, 3] and zero point 0 has ``max_abs`` 3 and
7 levels, ``effective_bits`` log2(7) = 2.8). It is not the number of distinct values.

>>> import tflparse
>>> from tflparse.weights import tensor_stats
>>> s = tensor_stats(tflparse.load("fixtures/mnist_int8.tflite").subgraphs[0].tensors[1])
>>> s.name, s.axis, len(s.scale), int(s.max_abs.max())
('conv/weights', 0, 8, 127)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._dtypes import integer_range, type_info
from ._errors import InvalidModelError
from ._flatbuf import Table
from ._quant_kind import QuantKind, quant_kind
from ._schema import BuiltinOperator, Scalar, TensorType
from ._values import unpack_int
from .model import BlockwiseQuantization, Model, Operator, Tensor

__all__ = ["CHUNK_ELEMENTS", "WeightStats", "OperatorQuant", "tensor_stats",
           "model_weight_stats", "operator_quantities", "output_channel_axes",
           "WEIGHT_OPERATORS"]

#: values read and reduced at once: bounds the working set of a pass (1 Mi values: the
#: block, its comparison mask and the per-channel results take a few MB)
CHUNK_ELEMENTS = 1 << 20

#: integer types whose quantized constants are measured (uint32/uint64 cannot be held in int64)
_MEASURED = frozenset({TensorType.INT8, TensorType.UINT8, TensorType.INT16, TensorType.UINT16,
                       TensorType.INT32, TensorType.INT64, TensorType.INT4, TensorType.UINT4,
                       TensorType.INT2})
_I64_MAX = np.iinfo(np.int64).max

#: progress callback: (bytes of constants read so far, bytes to read in all)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class WeightStats:
    """Per-channel statistics of one quantized constant (arrays have one entry per channel)."""

    subgraph: int
    tensor: int
    name: str
    type: int  #: the TensorType value
    axis: int | None  #: the quantized (or blocked) dimension; None per tensor
    scale: np.ndarray  #: float64 [C]
    zero_point: np.ndarray  #: int64 [C]
    count: int  #: values per channel
    q_min: np.ndarray  #: int64 [C]
    q_max: np.ndarray  #: int64 [C]
    max_abs: np.ndarray  #: int64 [C], max |q - zero_point|
    levels: np.ndarray  #: int64 [C], 2 * max_abs + 1 (see the module docstring)
    at_extremes: np.ndarray  #: int64 [C], values equal to the type's min or max
    dead: np.ndarray  #: bool [C], every value equals the zero point
    real_min: np.ndarray  #: float64 [C], (q_min - zero_point) * scale
    real_max: np.ndarray  #: float64 [C], (q_max - zero_point) * scale
    type_min: int = 0  #: the smallest value of the type
    type_max: int = 0  #: the largest value of the type
    at_type_min: np.ndarray | None = None  #: int64 [C], values equal to the type's min
    at_type_max: np.ndarray | None = None  #: int64 [C], values equal to the type's max
    #: the dimension channels are counted along: ``axis``, or for a per-tensor weight of a
    #: conv / fully-connected operator its output-channel dimension (None: one channel)
    channel_axis: int | None = None
    blockwise: bool = False  #: channels are blocks (BlockwiseQuantization)
    shape: tuple[int, ...] = ()

    @property
    def per_tensor(self) -> bool:
        """One scale for the whole tensor (the channels, if several, share it)."""
        return self.axis is None

    @property
    def channels(self) -> int:
        return len(self.scale)

    @property
    def effective_bits(self) -> np.ndarray:
        """float64 [C]: log2(levels), the bits the channel's range really uses."""
        result: np.ndarray = np.log2(self.levels.astype(np.float64))
        return result

    @property
    def type_name(self) -> str:
        info = type_info(self.type)
        return info.name if info is not None else f"type {self.type}"


# --------------------------------------------------------------------------------------------
# Reading values chunk by chunk


class _Values:
    """Flat ranges of a constant's values, decoded without reading the rest of the buffer."""

    def __init__(self, tensor: Tensor, tensor_type: int, total: int) -> None:
        info = type_info(tensor_type)
        assert info is not None and info.numpy is not None
        self.bits = info.bits
        self.signed = info.numpy.kind == "i"
        self.dtype = info.numpy
        self.total = total
        self.dense: np.ndarray | None = None
        where = f"subgraphs[{tensor.subgraph_index}].tensors[{tensor.index}]"
        if tensor.sparsity is not None:  # densified once (bounded by the model view's checks)
            self.dense = np.asarray(tensor.to_array()).reshape(-1)
            self.data = memoryview(b"")
            return
        data = tensor.data
        if data is None:
            raise InvalidModelError(f"{where}: no constant data")
        needed = -(-total * self.bits // 8)
        if len(data) < needed:
            raise InvalidModelError(f"{where}: {len(data)} bytes hold fewer than {total} "
                                    f"{info.name} values")
        self.data = data

    @property
    def nbytes(self) -> int:
        return -(-self.total * self.bits // 8)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Values ``[start, stop)`` of the flattened constant (a view where possible)."""
        if self.dense is not None:
            return self.dense[start:stop]
        if self.bits >= 8:
            size = self.dtype.itemsize
            return np.frombuffer(self.data, self.dtype, stop - start, start * size)
        per_byte = 8 // self.bits
        first = start // per_byte
        last = -(-stop // per_byte)
        unpacked = unpack_int(self.data[first:last], self.bits, self.signed,
                              (last - first) * per_byte)
        skip = start - first * per_byte
        return unpacked[skip:skip + stop - start]


class _Accumulator:
    """Running per-channel min, max and counts at the type's extremes."""

    def __init__(self, channels: int, low: int, high: int) -> None:
        self.low, self.high = low, high
        self.q_min = np.full(channels, _I64_MAX, np.int64)
        self.q_max = np.full(channels, -_I64_MAX - 1, np.int64)
        self.at_low = np.zeros(channels, np.int64)
        self.at_high = np.zeros(channels, np.int64)

    def add(self, first: int, block: np.ndarray, axes: tuple[int, ...]) -> None:
        """Merge ``block`` reduced over ``axes`` (result reshaped to channels ``first...``)."""
        lo = block.min(axis=axes).reshape(-1)
        hi = block.max(axis=axes).reshape(-1)
        end = first + len(lo)
        np.minimum(self.q_min[first:end], lo, out=self.q_min[first:end])
        np.maximum(self.q_max[first:end], hi, out=self.q_max[first:end])
        # counting needs a pass of its own; only when some channel reaches an extreme
        for value, reached, counts in ((self.low, lo == self.low, self.at_low),
                                       (self.high, hi == self.high, self.at_high)):
            where = np.flatnonzero(reached)
            if not len(where):
                continue
            if 2 * len(where) < len(reached) and axes == (0, 2) and block.shape[0] == 1:
                # channels are rows: count in those that reach the value only
                counts[first + where] += _count_equal(block[:, where], value, axes)
            else:
                counts[first:end] += _count_equal(block, value, axes)


#: rows of 0/1 bytes added in uint8 before widening (no overflow: 255 * 1)
_FOLD = 255
#: (row length, width of the byte vectors it is folded into): wide vectors add fastest
_LANES = ((4096, 1024), (1024, 256))


def _count_equal(block: np.ndarray, value: int, axes: tuple[int, ...]) -> np.ndarray:
    """int64 per channel: how many values of ``block`` equal ``value`` (reduced over
    ``axes``). The usual layouts avoid ``count_nonzero(axis=...)``, several times slower: the
    0/1 bytes are added elementwise in uint8, at most 255 at a time, then widened."""
    equal = (block == value).view(np.uint8)
    if axes != (0, 2) or (block.shape[0] > 1 and block.shape[2] > 1):
        counted: np.ndarray = equal.sum(axis=axes, dtype=np.int64).reshape(-1)
        return counted
    if block.shape[2] == 1:  # channels last: add the rows elementwise
        rows = equal[:, :, 0]
        summed = np.zeros(rows.shape[1], np.int64)
        for i in range(0, rows.shape[0], _FOLD):
            summed += np.add.reduce(rows[i:i + _FOLD], axis=0, dtype=np.uint8)
        return summed
    rows = equal[0]  # channels first: each channel is a contiguous row, folded into lanes
    lane = next((w for length, w in _LANES if rows.shape[1] >= length), 0)
    if not lane:
        return np.asarray(rows.sum(axis=1, dtype=np.int64))
    width = rows.shape[1] // lane * lane
    lanes = rows[:, :width].reshape(rows.shape[0], -1, lane)
    total: np.ndarray = rows[:, width:].sum(axis=1, dtype=np.int64)
    for i in range(0, lanes.shape[1], _FOLD):
        total += np.add.reduce(lanes[:, i:i + _FOLD], axis=1, dtype=np.uint8).sum(
            axis=1, dtype=np.int64)
    return total


def _plan(pre: int, channels: int, post: int, limit: int
          ) -> Iterator[tuple[int, int, int, int, int, int]]:
    """Blocks of a (pre, channels, post) array, each a contiguous flat range of <= ``limit``
    values where possible: (p0, p1, c0, c1, k0, k1)."""
    row = channels * post
    if row <= limit:
        step = max(1, limit // max(row, 1))
        for p in range(0, pre, step):
            yield p, min(p + step, pre), 0, channels, 0, post
    elif post <= limit:
        step = max(1, limit // max(post, 1))
        for p in range(pre):
            for c in range(0, channels, step):
                yield p, p + 1, c, min(c + step, channels), 0, post
    else:
        for p in range(pre):
            for c in range(channels):
                for k in range(0, post, limit):
                    yield p, p + 1, c, c + 1, k, min(k + limit, post)


def _per_axis(values: _Values, acc: _Accumulator, pre: int, channels: int, post: int,
              limit: int, progress: Callable[[int], None] | None) -> None:
    for p0, p1, c0, c1, k0, k1 in _plan(pre, channels, post, limit):
        start = (p0 * channels + c0) * post + k0
        count = (p1 - p0) * (c1 - c0) * (k1 - k0)
        block = values.read(start, start + count).reshape(p1 - p0, c1 - c0, k1 - k0)
        acc.add(c0, block, (0, 2))
        if progress is not None:
            progress(count)


def _blockwise(values: _Values, acc: _Accumulator, pre: int, blocks: int, size: int,
               post: int, limit: int, progress: Callable[[int], None] | None) -> None:
    """Blocks of ``size`` values along the middle axis; a block's values are never split
    (the smallest chunk is one slab of ``size * post`` values)."""
    for p0, p1, b0, b1, _, _ in _plan(pre, blocks, size * post, max(limit, size * post)):
        start = (p0 * blocks + b0) * size * post
        count = (p1 - p0) * (b1 - b0) * size * post
        block = values.read(start, start + count).reshape((p1 - p0) * (b1 - b0), size, post)
        first = (p0 * blocks + b0) * post
        acc.add(first, block, (1,))
        if progress is not None:
            progress(count)


# --------------------------------------------------------------------------------------------
# Statistics of one tensor


def _saturating_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a - b`` in int64, saturated instead of wrapping (hostile int64 values)."""
    wide = a.astype(np.float64) - b.astype(np.float64)
    if np.all(np.abs(wide) < 2.0 ** 62):
        exact: np.ndarray = a - b
        return exact
    saturated: np.ndarray = np.clip(wide, -2.0 ** 63, 2.0 ** 63 - 1024).astype(np.int64)
    return saturated


def _parameters(tensor: Tensor
                ) -> tuple[int | None, np.ndarray, np.ndarray, int, BlockwiseQuantization | None
                           ] | None:
    """(axis, scale, zero point, channels, blockwise details) or None when not measured."""
    q = tensor.quantization
    if q is None:
        return None
    shape = tuple(max(int(d), 0) for d in tensor.shape.tolist())
    scale, zero_point = q.scale, q.zero_point
    kind = quant_kind(q.details_type, -1 if scale is None else len(scale))
    if kind == QuantKind.BLOCKWISE:
        details = q.details
        if not isinstance(details, BlockwiseQuantization):
            return None
        return _block_parameters(tensor, details, q.quantized_dimension, shape)
    if kind != QuantKind.AFFINE or scale is None:
        return None  # multi-axis quantization is not measured
    zps = np.zeros(1, np.int64) if zero_point is None or not len(zero_point) \
        else zero_point.astype(np.int64)
    if len(scale) == 1:
        if len(zps) != 1:
            return None
        return None, scale.astype(np.float64), zps, 1, None
    axis = q.quantized_dimension
    if not 0 <= axis < len(shape) or shape[axis] != len(scale) or len(zps) not in (1, len(scale)):
        return None  # parameters that do not fit the shape: other audit rules report it
    return axis, scale.astype(np.float64), np.broadcast_to(zps, (len(scale),)).copy(), \
        len(scale), None


def _block_parameters(tensor: Tensor, details: BlockwiseQuantization, axis: int,
                      shape: tuple[int, ...]
                      ) -> tuple[int | None, np.ndarray, np.ndarray, int,
                                 BlockwiseQuantization | None] | None:
    size = details.block_size
    if not 0 <= axis < len(shape) or size < 1 or shape[axis] % size:
        return None
    tensors = tensor._model.subgraphs[tensor.subgraph_index].tensors
    channels = math.prod(shape) // size if shape[axis] else 0

    def constant(index: int, kinds: tuple[int, ...]) -> np.ndarray | None:
        if not 0 <= index < len(tensors):
            return None
        found = tensors[index]
        if found.type not in kinds or not found.is_constant or found.sparsity is not None:
            return None
        data = found.data
        info = type_info(found.type)
        if data is None or info is None or info.numpy is None or info.bits < 8:
            return None
        if len(data) < channels * info.numpy.itemsize:
            return None
        return np.frombuffer(data, info.numpy, channels)

    scales = constant(details.scales, (TensorType.FLOAT16, TensorType.FLOAT32))
    if scales is None:
        return None
    if details.zero_points == -1:
        zps = np.zeros(channels, np.int64)
    else:
        found = constant(details.zero_points, (TensorType.INT8, TensorType.UINT8,
                                               TensorType.INT16, TensorType.INT32,
                                               TensorType.INT64))
        if found is None:
            return None
        zps = found.astype(np.int64)
    return axis, scales.astype(np.float64), zps, channels, details


def tensor_stats(tensor: Tensor, progress: Callable[[int], None] | None = None, *,
                 channel_axis: int | None = None) -> WeightStats | None:
    """Per-channel statistics of a quantized constant; None when ``tensor`` is not one.

    Measured: constants of an integer type (int8, uint8, int16, uint16, int32, int64, int4,
    uint4, int2) with affine quantization (one scale, one per index of
    ``quantized_dimension``, or blockwise scale and zero-point tensors). None also for
    empty tensors and parameters that do not fit the shape (other audit rules report those).
    ``channel_axis`` measures a per-tensor quantized constant per index of that dimension
    (its output channels; the scale and zero point are repeated). ``progress`` is called
    with the number of values of each chunk read. Raises
    ``InvalidModelError`` when the buffer is shorter than the shape needs.
    """
    if int(tensor.type) not in _MEASURED or not tensor.is_constant:
        return None
    found = _parameters(tensor)
    if found is None:
        return None
    axis, scale, zps, channels, details = found
    shape = tuple(int(d) for d in tensor.shape.tolist())
    if any(d < 0 for d in shape):
        raise InvalidModelError(f"subgraphs[{tensor.subgraph_index}].tensors[{tensor.index}]: "
                                f"negative dimension in shape {list(shape)}")
    measured_axis = axis
    if axis is None and channel_axis is not None and 0 <= channel_axis < len(shape) \
            and shape[channel_axis] > 1:
        measured_axis, channels = channel_axis, shape[channel_axis]
        scale, zps = np.repeat(scale, channels), np.repeat(zps, channels)
    total = math.prod(shape)
    if total == 0 or channels == 0:
        return None
    tensor_type = int(tensor.type)
    low, high = integer_range(tensor_type)
    values = _Values(tensor, tensor_type, total)
    acc = _Accumulator(channels, low, high)
    if details is not None:
        assert axis is not None
        pre, post = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
        size = details.block_size
        _blockwise(values, acc, pre, shape[axis] // size, size, post, CHUNK_ELEMENTS, progress)
    elif measured_axis is None:
        _per_axis(values, acc, 1, 1, total, CHUNK_ELEMENTS, progress)
    else:
        _per_axis(values, acc, math.prod(shape[:measured_axis]), shape[measured_axis],
                  math.prod(shape[measured_axis + 1:]), CHUNK_ELEMENTS, progress)
    max_abs = np.maximum(_saturating_diff(acc.q_max, zps), _saturating_diff(zps, acc.q_min))
    levels = np.where(max_abs >= _I64_MAX // 2, _I64_MAX, 2 * max_abs + 1)
    with np.errstate(over="ignore", invalid="ignore"):
        real_a = (acc.q_min.astype(np.float64) - zps) * scale
        real_b = (acc.q_max.astype(np.float64) - zps) * scale
    return WeightStats(
        subgraph=tensor.subgraph_index, tensor=tensor.index, name=tensor.name, type=tensor_type,
        axis=axis, scale=scale, zero_point=zps, count=total // channels, q_min=acc.q_min,
        q_max=acc.q_max, max_abs=max_abs, levels=levels, at_extremes=acc.at_low + acc.at_high,
        dead=(acc.q_min == zps) & (acc.q_max == zps), real_min=np.fmin(real_a, real_b),
        real_max=np.fmax(real_a, real_b), type_min=low, type_max=high, at_type_min=acc.at_low,
        at_type_max=acc.at_high, channel_axis=measured_axis, blockwise=details is not None,
        shape=shape)


def _candidates(model: Model) -> Iterator[Tensor]:
    """Every readable constant that may be a quantized one, in file order."""
    buffers = model.buffer_columns
    for subgraph in model.subgraphs:
        columns = subgraph.tensor_columns
        measured = np.isin(columns.type, list(_MEASURED)) & (columns.quant_row >= 0) \
            & ~columns.rows.broken & buffers.holds_data(columns.buffer)
        for index in np.flatnonzero(measured).tolist():
            yield subgraph.tensors[index]


def output_channel_axes(model: Model) -> dict[tuple[int, int], int]:
    """(subgraph, tensor) -> output-channel dimension of the weights of conv and
    fully-connected operators (3 for DEPTHWISE_CONV_2D, else 0)."""
    found: dict[tuple[int, int], int] = {}
    codes = model.operator_codes
    for si, subgraph in enumerate(model.subgraphs):
        count = len(subgraph.tensors)
        for op in subgraph.operators:
            if not 0 <= op.opcode_index < len(codes) or codes[op.opcode_index].is_custom:
                continue
            builtin = codes[op.opcode_index].builtin_code
            spec = WEIGHT_OPERATORS.get(builtin)
            inputs = op.inputs
            if spec is None or spec[1] >= len(inputs) or not 0 <= inputs[spec[1]] < count:
                continue
            found[si, int(inputs[spec[1]])] = 3 if builtin == _B.DEPTHWISE_CONV_2D else 0
    return found


def _size(tensor: Tensor) -> int:
    """Bytes of a constant's data, 0 when they cannot be read (for progress only)."""
    try:
        return len(tensor.data or b"")
    except InvalidModelError:
        return 0


class _Meter:
    """Turns values read per tensor into bytes read over the model for a progress callback."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress, self.total = progress, total
        self.done = self.size = self.read = 0
        self.elements = 1

    def start(self, size: int, elements: int) -> None:
        self.size, self.elements, self.read = size, elements, 0

    def __call__(self, count: int) -> None:
        self.read += count
        self.progress(min(self.done + self.size * self.read // self.elements, self.total),
                      self.total)

    def finish(self) -> None:
        self.done += self.size
        self.progress(min(self.done, self.total), self.total)


def model_weight_stats(model: Model, progress: Progress | None = None, *,
                       skip_invalid: bool = False) -> list[WeightStats]:
    """:func:`tensor_stats` of every quantized constant of ``model``, in file order.

    Per-tensor weights of conv and fully-connected operators are measured per output
    channel (``channel_axis``). ``progress(done, total)`` is called after each chunk with
    bytes of constant data read. A tensor whose buffer is too short for its shape raises
    ``InvalidModelError``, or is left out with ``skip_invalid``.
    """
    axes = output_channel_axes(model)
    tensors = list(_candidates(model))
    sizes = [_size(t) if progress is not None else 0 for t in tensors]
    meter = _Meter(progress, sum(sizes)) if progress is not None else None
    result = []
    for tensor, size in zip(tensors, sizes):
        if meter is not None:
            meter.start(size, max(tensor.num_elements, 1))
        try:
            stats = tensor_stats(tensor, meter, channel_axis=axes.get((tensor.subgraph_index,
                                                                       tensor.index)))
        except InvalidModelError:
            if not skip_invalid:
                raise
            stats = None
        if meter is not None:
            meter.finish()
        if stats is not None:
            result.append(stats)
    return result


# --------------------------------------------------------------------------------------------
# Operator-level quantities

_B = BuiltinOperator
#: operator -> (input, weights, bias) operand positions and the vtable offset of
#: ``fused_activation_function`` in its options table (schema.fbs field order)
WEIGHT_OPERATORS: dict[int, tuple[int, int, int, int]] = {
    _B.CONV_2D: (0, 1, 2, 10),            # Conv2DOptions: padding, stride_w, stride_h, act
    _B.DEPTHWISE_CONV_2D: (0, 1, 2, 12),  # DepthwiseConv2DOptions: ..., depth_multiplier, act
    _B.FULLY_CONNECTED: (0, 1, 2, 4),     # FullyConnectedOptions: act first
    _B.TRANSPOSE_CONV: (2, 1, 3, 10),     # (output_shape, weights, input, bias); as Conv2D
}
#: ActivationFunctionType -> the real interval the runtime clamps to (None: unbounded side)
_ACTIVATIONS: dict[int, tuple[str, float | None, float | None]] = {
    0: ("NONE", None, None), 1: ("RELU", 0.0, None), 2: ("RELU_N1_TO_1", -1.0, 1.0),
    3: ("RELU6", 0.0, 6.0), 4: ("TANH", None, None), 5: ("SIGN_BIT", None, None),
}


@dataclass(frozen=True)
class OperatorQuant:
    """The quantities a quantized conv / fully-connected operator combines its scales into."""

    subgraph: int
    operator: int
    op_name: str
    input: int  #: tensor indices
    weights: int
    bias: int | None
    output: int
    input_type: int
    weights_type: int
    output_type: int
    bias_type: int | None
    input_scale: float
    output_scale: float
    output_zero_point: int
    weight_scale: np.ndarray  #: float64 [C]
    multiplier: np.ndarray  #: float64 [C], input_scale * weight_scale[c] / output_scale
    #: int64 [C] max |q| of a constant bias per channel; None without a constant bias
    bias_max_abs: np.ndarray | None
    #: float64 [C] bits left before the bias saturates its type: log2(type max / max|q|)
    bias_headroom_bits: np.ndarray | None
    activation: str  #: the fused activation's name (NONE, RELU, RELU6, ...)
    #: the clamp bounds before the zero point, round(bound / output_scale) in float32 as the
    #: runtime computes them (None: that side is unbounded)
    clamp_steps: tuple[float | None, float | None]
    #: whether a clamp step falls outside the int32 range (the kernel's prepare fails)
    clamp_overflow: bool
    #: the runtime's activation range in the quantized domain; None when prepare fails
    clamp: tuple[int, int] | None

    @property
    def sixteen_by_eight(self) -> bool:
        """int16 activations with int8 weights (the 16x8 scheme)."""
        return self.input_type == TensorType.INT16 and self.weights_type == TensorType.INT8

    @property
    def channels(self) -> int:
        return len(self.multiplier)


def _round_away(value: np.float32) -> float:
    """C's ``round`` of a float32 (ties away from zero), as a float (NaN/inf kept)."""
    v = float(value)
    if not math.isfinite(v):
        return v
    return float(math.floor(abs(v) + 0.5) * (1 if v >= 0 else -1))


def _clamp(activation: int, scale: float, zero_point: int, tensor_type: int
           ) -> tuple[str, tuple[float | None, float | None], bool, tuple[int, int] | None]:
    """The runtime's quantized activation range: quantize(bound) = zp + round(bound / scale),
    computed in float32, refused when the rounded value is outside int32."""
    name, low, high = _ACTIVATIONS.get(activation, (f"ACTIVATION({activation})", None, None))
    q_low, q_high = integer_range(tensor_type)
    steps: list[float | None] = []
    overflow = False
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        for bound in (low, high):
            if bound is None:
                steps.append(None)
                continue
            step = _round_away(np.float32(bound) / np.float32(scale))
            steps.append(step)
            overflow |= not (-2.0 ** 31 <= step <= 2.0 ** 31)  # NaN fails as well
    if overflow:
        return name, (steps[0], steps[1]), True, None
    lo = q_low if steps[0] is None else max(q_low, zero_point + int(steps[0]))
    hi = q_high if steps[1] is None else min(q_high, zero_point + int(steps[1]))
    return name, (steps[0], steps[1]), False, (lo, hi)


def _activation(options: Table | None, voffset: int) -> int:
    if options is None:
        return 0
    return options.integer(Scalar("fused_activation_function", voffset, "<b", 1, 0))


def _single(values: np.ndarray | None) -> float | None:
    return float(values[0]) if values is not None and len(values) else None


def operator_quantities(model: Model, stats: dict[tuple[int, int], WeightStats] | None = None
                        ) -> list[OperatorQuant]:
    """The quantities of every quantized CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and
    TRANSPOSE_CONV operator (int8/uint8 and 16x8), in file order.

    An operator is listed when its input and output have one scale each and its weights have
    per-tensor or per-axis scales. Bias statistics come from ``stats`` (``(subgraph,
    tensor) -> WeightStats``, as :func:`model_weight_stats` gives) or are read here.
    """
    codes = model.operator_codes
    result = []
    for si, subgraph in enumerate(model.subgraphs):
        tensors = subgraph.tensors
        for op in subgraph.operators:
            if not 0 <= op.opcode_index < len(codes):
                continue
            code = codes[op.opcode_index]
            spec = WEIGHT_OPERATORS.get(code.builtin_code) if not code.is_custom else None
            if spec is None:
                continue
            found = _operator(si, tensors, op, code.name, spec, stats)
            if found is not None:
                result.append(found)
    return result


def _operator(si: int, tensors: Sequence[Tensor], op: Operator, name: str,
              spec: tuple[int, int, int, int], stats: dict[tuple[int, int], WeightStats] | None
              ) -> OperatorQuant | None:
    at_input, at_weights, at_bias, act_field = spec
    inputs = op.inputs.tolist()
    outputs = op.outputs.tolist()
    count = len(tensors)

    def index(position: int, indices: list[int]) -> int | None:
        if position >= len(indices) or not 0 <= indices[position] < count:
            return None
        return int(indices[position])

    x, w, b, y = (index(at_input, inputs), index(at_weights, inputs), index(at_bias, inputs),
                  index(0, outputs))
    if x is None or w is None or y is None:
        return None
    try:
        tx, tw, ty = (tensors[x], tensors[w], tensors[y])
        qx, qw, qy = tx.quantization, tw.quantization, ty.quantization
    except InvalidModelError:
        return None
    if qx is None or qw is None or qy is None or not all(
            quant_kind(q.details_type, 0 if q.scale is None else len(q.scale))
            == QuantKind.AFFINE for q in (qx, qw, qy)):
        return None
    x_scale, y_scale, w_scale = qx.scale, qy.scale, qw.scale
    if x_scale is None or y_scale is None or w_scale is None or not len(w_scale):
        return None
    if len(x_scale) != 1 or len(y_scale) != 1:
        return None
    s_in, s_out, zp_out = float(x_scale[0]), float(y_scale[0]), _single(qy.zero_point)
    if int(ty.type) not in (TensorType.INT8, TensorType.UINT8, TensorType.INT16):
        return None
    w64 = w_scale.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        multiplier = s_in * w64 / s_out
    bias_type = bias_max = headroom = None
    if b is not None:
        tb = tensors[b]
        bias_type = int(tb.type)
        found = stats.get((si, b)) if stats is not None else None
        if found is None and stats is None:
            found = tensor_stats(tb)
        if found is not None and bias_type in (TensorType.INT32, TensorType.INT64):
            bias_max = np.maximum(np.abs(found.q_min), np.abs(found.q_max))
            bias_max = np.where(found.q_min == -_I64_MAX - 1, _I64_MAX, bias_max)
            with np.errstate(divide="ignore"):
                headroom = np.log2(float(found.type_max) / np.maximum(bias_max, 1)
                                   .astype(np.float64))
    activation = _activation(op.builtin_options(), act_field)
    act_name, steps, overflow, clamp = _clamp(activation, s_out, int(zp_out or 0), int(ty.type))
    return OperatorQuant(
        subgraph=si, operator=op.index, op_name=name, input=x, weights=w, bias=b,
        output=y, input_type=int(tx.type), weights_type=int(tw.type), output_type=int(ty.type),
        bias_type=bias_type, input_scale=s_in, output_scale=s_out,
        output_zero_point=int(zp_out or 0), weight_scale=w64, multiplier=multiplier,
        bias_max_abs=bias_max, bias_headroom_bits=headroom, activation=act_name,
        clamp_steps=steps, clamp_overflow=overflow, clamp=clamp)

