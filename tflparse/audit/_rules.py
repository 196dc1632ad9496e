"""The audit's rules, in the order they run: loadability, buffers, quantization parameters,
weights and activations, operators, and what LiteRT's details calls report.

The quantization rules follow the TFLite 8-bit and 16x8 quantization specification
(https://ai.google.dev/edge/litert/models/quantization_spec): int8 weights are symmetric
(zero point 0), int16 activations are symmetric, bias scale = input scale x weight scale,
LOGISTIC/SOFTMAX outputs have a fixed scale and zero point.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Callable

import numpy as np

from .._construction import axis_in_range, bytes_required, scale_count_fits, zero_points_match
from .._dtypes import integer_range, type_info
from .._errors import InvalidModelError
from .._quant_kind import QuantKind
from .._schema import BuiltinOperator, TensorType
from ..interpreter import Interpreter
from ..model import BlockwiseQuantization
from ._registry import BOUNDARY_OPS, WEIGHT_OPS, Context, Hit, Location, TensorFacts, rule

_B = BuiltinOperator
#: quantized integer types whose zero points must fit the type
_ZP_RANGE: dict[int, tuple[int, int]] = {
    t: integer_range(t) for t in (TensorType.INT8, TensorType.UINT8, TensorType.INT16,
                                  TensorType.UINT16, TensorType.INT4, TensorType.UINT4,
                                  TensorType.INT2, TensorType.INT32)
}
_I8, _U8, _I16 = TensorType.INT8, TensorType.UINT8, TensorType.INT16
#: (scale, zero point) the spec and LiteRT's kernels fix for LOGISTIC and SOFTMAX outputs,
#: by (operator, input type, output type)
_FIXED_OUTPUT: dict[tuple[int, int, int], tuple[float, int]] = {
    (BuiltinOperator.LOGISTIC, _I8, _I8): (1 / 256, -128),
    (BuiltinOperator.LOGISTIC, _U8, _U8): (1 / 256, 0),
    (BuiltinOperator.LOGISTIC, _I16, _I16): (1 / 32768, 0),
    (BuiltinOperator.SOFTMAX, _I8, _I8): (1 / 256, -128),
    (BuiltinOperator.SOFTMAX, _U8, _U8): (1 / 256, 0),
    (BuiltinOperator.SOFTMAX, _I8, _I16): (1 / 65536, -32768),
    (BuiltinOperator.SOFTMAX, _I16, _I16): (1 / 32768, 0),
}
_BIAS_RTOL = 1e-3
_FIXED_RTOL = 1e-3
_F16_TINY = 2.0 ** -14
_F32_TINY = float(np.finfo(np.float32).tiny)


def _channels(mask: np.ndarray, total: int) -> str:
    """'channel 3' or '4 of 32 channels (0, 5, 9, ...)' for a boolean mask over scales."""
    where = np.flatnonzero(mask).tolist()
    if total == 1:
        return "the scale"
    shown = ", ".join(map(str, where[:5])) + (", ..." if len(where) > 5 else "")
    return f"{len(where)} of {total} channels ({shown})"


def _first(values: np.ndarray, mask: np.ndarray) -> str:
    return repr(float(values[np.flatnonzero(mask)[0]]))


# --------------------------------------------------------------------------------------------
# Rules, in the order they run


@rule("litert-refuses", "error", "LiteRT's Interpreter refuses to load the model")
def _litert_refuses(ctx: Context) -> Iterator[Hit]:
    result = ctx.construction
    if isinstance(result, InvalidModelError):
        message = str(result).strip().replace("\n", " ")
        yield Location(), (f"LiteRT 2.3.0 refuses to load this model: {message!r}. Hint: "
                           "fix the part the message names; other findings may point at it")


@rule("tensor-unreadable", "error", "a tensor table cannot be read (malformed flatbuffer)")
def _tensor_unreadable(ctx: Context) -> Iterator[Hit]:
    ctx.tensors  # noqa: B018  (fills ctx.unreadable)
    for si, ti, message in ctx.unreadable:
        yield Location(si, ti), (f"tensor cannot be read: {message}. Hint: the file is "
                                 "truncated or was written by a broken tool; reconvert it")


@rule("buffer-outside-file", "error", "a buffer's offset + size runs past the end of the file")
def _buffer_outside_file(ctx: Context) -> Iterator[Hit]:
    model = ctx.model
    columns = model.buffer_columns
    external = ~columns.has_data & (columns.offset > 1)
    ends = columns.offset.astype(np.float64) + columns.size.astype(np.float64)
    users: dict[int, TensorFacts] = {}
    for t in ctx.all_tensors():
        users.setdefault(t.tensor.buffer, t)
    for b in np.flatnonzero(external & (ends > model.size)).tolist():
        user = users.get(b)
        where = (Location(user.subgraph, user.index, user.name, buffer=b) if user is not None
                 else Location(buffer=b))
        yield where, (f"buffer {b} declares offset {int(columns.offset[b])} + size "
                      f"{int(columns.size[b])}, past the end of the file ({model.size} "
                      "bytes). Hint: the file is truncated, or its external data was not "
                      "appended; copy the complete file")


@rule("buffer-too-small", "error", "a constant's buffer holds fewer bytes than its shape needs")
def _buffer_too_small(ctx: Context) -> Iterator[Hit]:
    for t, size, required in _constant_sizes(ctx):
        if required is None:
            yield t.at(), (f"{t.type_name} constant of shape {list(t.shape)}: the element "
                           "count overflows (negative or huge dimension). Hint: fix the shape")
        elif size < required:
            yield t.at(), (f"{t.type_name} constant of shape {list(t.shape)} needs {required} "
                           f"bytes but its buffer {t.tensor.buffer} holds {size}. Hint: the "
                           "buffer is truncated or belongs to another tensor; reconvert")


@rule("packed-buffer-size", "warning",
      "an INT4/UINT4/INT2 constant's buffer is larger than its packed size")
def _packed_buffer_size(ctx: Context) -> Iterator[Hit]:
    for t, size, required in _constant_sizes(ctx):
        info = type_info(t.type)
        if info is None or info.bits >= 8 or required is None or size <= required:
            continue
        count = int(np.prod(t.shape, dtype=np.int64))
        per_byte = 8 // info.bits
        unpacked = " (one value per byte: stored unpacked?)" if size >= count > 0 else ""
        yield t.at(), (f"{info.name} constant of shape {list(t.shape)} packs {count} values "
                       f"into ceil({count}/{per_byte}) = {required} bytes, but its buffer "
                       f"holds {size}{unpacked}. Hint: pack {per_byte} values per byte, low "
                       "bits first")


def _constant_sizes(ctx: Context) -> Iterator[tuple[TensorFacts, int, int | None]]:
    """(tensor, buffer bytes, bytes required or None on overflow) of sized dense constants."""
    columns = ctx.model.buffer_columns
    for t in ctx.all_tensors():
        info = type_info(t.type)
        if not t.constant or info is None or not info.bits or t.tensor.sparsity is not None:
            continue
        size = int(columns.data_sizes(np.array([t.tensor.buffer]))[0])
        required, overflow = bytes_required(t.type, np.array(t.shape, np.int64))
        yield t, size, None if overflow else required


@rule("quant-length-mismatch", "error", "scale and zero_point have different lengths")
def _quant_length_mismatch(ctx: Context) -> Iterator[Hit]:
    for t in ctx.affine_tensors():
        assert t.scale is not None
        zp = t.zero_point
        if zero_points_match(len(t.scale), None if zp is None else len(zp)):
            continue
        if zp is None:
            yield t.at(), (f"{len(t.scale)} scale(s) but no zero_point vector. Hint: write "
                           "one zero point per scale (0 for symmetric)")
        else:
            yield t.at(), (f"{len(t.scale)} scale(s) but {len(zp)} zero point(s). Hint: write "
                           "one zero point per scale")


@rule("quant-dimension-range", "error", "quantized_dimension is not a dimension of the tensor")
def _quant_dimension_range(ctx: Context) -> Iterator[Hit]:
    for t in ctx.affine_tensors():
        axis = t.quantization.quantized_dimension if t.quantization is not None else 0
        rank = len(t.shape)
        if not axis_in_range(axis, rank):
            yield t.at(), (f"quantized_dimension {axis} is outside [0, {rank}) for shape "
                           f"{list(t.shape)}. Hint: use the output-channel axis (0 for "
                           "CONV_2D/FULLY_CONNECTED weights, 3 for DEPTHWISE_CONV_2D)")


@rule("per-axis-count", "error", "the number of scales is neither 1 nor the quantized dimension")
def _per_axis_count(ctx: Context) -> Iterator[Hit]:
    for t in ctx.affine_tensors():
        assert t.scale is not None and t.quantization is not None
        axis, count = t.quantization.quantized_dimension, len(t.scale)
        if not axis_in_range(axis, len(t.shape)):
            continue  # see quant-dimension-range
        if not scale_count_fits(count, axis, t.shape):
            yield t.at(), (f"{count} scales for dimension {axis} of size {t.shape[axis]} "
                           f"(shape {list(t.shape)}). Hint: one scale per channel of the "
                           "quantized dimension, or a single per-tensor scale")


def _bad_scales(ctx: Context, test: Callable[[np.ndarray], np.ndarray]
                ) -> Iterator[tuple[TensorFacts, str, str]]:
    """(tensor, which scales, the first one) where ``test`` flags any of a tensor's scales."""
    for t in ctx.affine_tensors():
        assert t.scale is not None
        bad = test(t.scale)
        if bad.any():
            yield t, _channels(bad, len(t.scale)), _first(t.scale, bad)


@rule("scale-zero", "error", "a quantization scale is 0")
def _scale_zero(ctx: Context) -> Iterator[Hit]:
    for t, which, _ in _bad_scales(ctx, lambda scale: scale == 0):
        yield t.at(), (f"{which} of this {t.type_name} tensor is 0: dequantized values are "
                       "all 0 and requantizing divides by zero. Hint: use a tiny positive "
                       "scale for all-zero channels")


@rule("scale-negative", "error", "a quantization scale is negative")
def _scale_negative(ctx: Context) -> Iterator[Hit]:
    for t, which, first in _bad_scales(ctx, lambda scale: scale < 0):
        yield t.at(), (f"{which} is negative ({first}). Hint: scales must be "
                       "positive; flip the sign of the stored values instead")


@rule("scale-nonfinite", "error", "a quantization scale is NaN or infinite")
def _scale_nonfinite(ctx: Context) -> Iterator[Hit]:
    for t, which, first in _bad_scales(ctx, lambda scale: ~np.isfinite(scale)):
        yield t.at(), (f"{which} is {first}. Hint: the calibration range was "
                       "empty or infinite; recalibrate")


@rule("scale-subnormal", "warning", "a quantization scale is a float32 subnormal")
def _scale_subnormal(ctx: Context) -> Iterator[Hit]:
    def subnormal(scale: np.ndarray) -> np.ndarray:
        magnitude = np.abs(scale)
        found: np.ndarray = (magnitude > 0) & (magnitude < _F32_TINY)
        return found

    for t, which, first in _bad_scales(ctx, subnormal):
        yield t.at(), (f"{which} is subnormal ({first}): its inverse "
                       "overflows and fixed-point multipliers lose precision. Hint: clamp "
                       "scales to >= 1.2e-38")


@rule("zero-point-range", "error", "a zero point does not fit the tensor's integer type")
def _zero_point_range(ctx: Context) -> Iterator[Hit]:
    for t in ctx.affine_tensors():
        limits = _ZP_RANGE.get(t.type)
        zp = t.zero_point
        if limits is None or zp is None or not len(zp):
            continue
        lo, hi = limits
        bad = (zp < lo) | (zp > hi)
        if bad.any():
            value = int(zp[np.flatnonzero(bad)[0]])
            yield t.at(), (f"zero point {value} ({_channels(bad, len(zp))}) is outside the "
                           f"{t.type_name} range [{lo}, {hi}]. Hint: the tensor type or the "
                           "zero point is wrong (uint8 and int8 zero points differ by 128)")


@rule("int8-weight-zero-point", "warning",
      "int8 weights have a non-zero zero point (the int8 spec wants symmetric weights)")
def _int8_weight_zero_point(ctx: Context) -> Iterator[Hit]:
    for t in ctx.affine_tensors():
        if t.type != TensorType.INT8 or not t.constant or t.zero_point is None:
            continue
        if (t.subgraph, t.index) not in ctx.weights and len(t.zero_point) <= 1:
            continue  # a per-tensor constant that is not a weight may be asymmetric
        bad = t.zero_point != 0
        if bad.any():
            yield t.at(), (f"int8 weights with zero point {int(t.zero_point[bad][0])} "
                           f"({_channels(bad, len(t.zero_point))}): the TFLite int8 spec "
                           "requires symmetric weights and XNNPACK refuses such tensors. "
                           "Hint: requantize the weights symmetrically (zero point 0)")


@rule("int16-activation-zero-point", "error",
      "int16 activations have a non-zero zero point (16x8 kernels require 0)")
def _int16_activation_zero_point(ctx: Context) -> Iterator[Hit]:
    exempt = ctx.int8_softmax_outputs
    for t in ctx.affine_tensors():
        if t.type != TensorType.INT16 or t.constant or t.zero_point is None:
            continue
        if (t.subgraph, t.index) in exempt:
            continue  # SOFTMAX int8 -> int16 is asymmetric by design (fixed-output-scale)
        bad = t.zero_point != 0
        if bad.any():
            yield t.at(), (f"int16 activation with zero point {int(t.zero_point[bad][0])}: "
                           "the 16x8 quantization scheme is symmetric and its kernels fail "
                           "to prepare. Hint: quantize int16 activations with zero point 0")


@rule("bias-scale", "warning",
      "bias scale differs from input scale x weight scale (conv and fully connected)")
def _bias_scale(ctx: Context) -> Iterator[Hit]:
    for si, ops in enumerate(ctx.operators):
        for op in ops:
            if op.builtin not in WEIGHT_OPS:
                continue
            at_input, at_weights, at_bias = WEIGHT_OPS[op.builtin]
            x = ctx.operand(si, op, at_input)
            w = ctx.operand(si, op, at_weights)
            bias = ctx.operand(si, op, at_bias)
            if x is None or w is None or bias is None:
                continue
            if x.scale is None or w.scale is None or bias.scale is None or len(x.scale) != 1:
                continue
            message = _bias_mismatch(x.scale, w.scale, bias.scale)
            if message is not None:
                yield bias.at(op.index), (f"{op.name} bias {message}. Hint: the bias must be "
                                          "quantized with scale input_scale * weight_scale, "
                                          "zero point 0; LiteRT fails to prepare when they "
                                          "differ by more than 2% of the output scale")


def _bias_mismatch(x: np.ndarray, w: np.ndarray, bias: np.ndarray) -> str | None:
    if len(bias) != len(w) and 1 not in (len(bias), len(w)):
        return f"has {len(bias)} scales for {len(w)} weight scales"
    expected = x.astype(np.float64)[0] * w.astype(np.float64)
    found = bias.astype(np.float64)
    expected, found = np.broadcast_arrays(expected, found)
    with np.errstate(invalid="ignore"):
        bad = ~np.isclose(found, expected, rtol=_BIAS_RTOL, atol=0.0)
    if not bad.any():
        return None
    k = int(np.flatnonzero(bad)[0])
    where = f" in {_channels(bad, len(bad))}" if len(bad) > 1 else ""
    return (f"scale {found[k]!r} != input scale x weight scale = {expected[k]!r}{where} "
            f"(relative tolerance {_BIAS_RTOL:g})")


@rule("fixed-output-scale", "error",
      "LOGISTIC/SOFTMAX output is not at the spec's fixed scale and zero point")
def _fixed_output_scale(ctx: Context) -> Iterator[Hit]:
    for si, ops in enumerate(ctx.operators):
        for op in ops:
            if op.builtin not in (_B.LOGISTIC, _B.SOFTMAX):
                continue
            x = ctx.operand(si, op, 0)
            out = ctx.operand(si, op, 0, outputs=True)
            if x is None or out is None or out.scale is None or out.zero_point is None:
                continue
            fixed = _FIXED_OUTPUT.get((op.builtin, x.type, out.type))
            if fixed is None or not len(out.zero_point):
                continue
            scale, zero_point = fixed
            found_scale, found_zp = float(out.scale[0]), int(out.zero_point[0])
            if (len(out.scale) == 1 and abs(found_scale - scale) <= _FIXED_RTOL * scale
                    and found_zp == zero_point):
                continue
            denominator = round(1 / scale)
            yield out.at(op.index), (
                f"{op.name} {out.type_name} output has scale {found_scale!r}, zero point "
                f"{found_zp}; the spec fixes 1/{denominator} and {zero_point}. Hint: set the "
                "output quantization to the fixed values (the kernel refuses others)")


@rule("mixed-int8-uint8", "warning", "one model holds both uint8 and int8 quantized tensors")
def _mixed_int8_uint8(ctx: Context) -> Iterator[Hit]:
    first: dict[int, TensorFacts] = {}
    counts: dict[int, int] = {TensorType.INT8: 0, TensorType.UINT8: 0}
    for t in ctx.affine_tensors():
        if t.type in counts:
            counts[t.type] += 1
            first.setdefault(t.type, t)
    if counts[TensorType.INT8] and counts[TensorType.UINT8]:
        u8 = first[TensorType.UINT8]
        yield u8.at(), (f"{counts[TensorType.UINT8]} uint8 and {counts[TensorType.INT8]} int8 "
                        "quantized tensors in one model (the first uint8 one is here): most "
                        "delegates support one scheme per model. Hint: convert with int8 "
                        "throughout (uint8 is the legacy scheme)")


@rule("float-op", "warning", "a float operator is left in an integer-quantized model")
def _float_op(ctx: Context) -> Iterator[Hit]:
    if not ctx.integer_model:
        return
    for si, ops in enumerate(ctx.operators):
        for op in ops:
            if op.builtin in BOUNDARY_OPS:
                continue
            floats = [t for t in ctx.operands(si, op)
                      if not t.constant and t.type == TensorType.FLOAT32]
            if floats:
                t = floats[0]
                yield t.at(op.index), (
                    f"{op.name} computes in float32 (tensor {t.index} {t.name!r}) in a model "
                    "that is otherwise integer-quantized: it runs slowly on CPU and is not "
                    "offloaded by integer-only accelerators. Hint: give the converter "
                    "representative data that reaches this op, or an int8 kernel for it")


@rule("float-io", "info", "an integer model has float32 inputs or outputs")
def _float_io(ctx: Context) -> Iterator[Hit]:
    if not ctx.integer_model:
        return
    subgraphs = {0} | {s.subgraph_index for s in ctx.model.signature_defs}
    for si in sorted(subgraphs):
        if not 0 <= si < len(ctx.model.subgraphs):
            continue
        subgraph = ctx.model.subgraphs[si]
        for kind, indices in (("input", subgraph.inputs), ("output", subgraph.outputs)):
            for index in indices.tolist():
                t = ctx.tensor(si, index) if index >= 0 else None
                if t is not None and t.type == TensorType.FLOAT32:
                    yield t.at(), (f"float32 {kind} of an integer model: the model "
                                   "converts it at run time, and callers cannot feed or read "
                                   "the integer values. Hint: convert with "
                                   "inference_input_type/"
                                   "inference_output_type=tf.int8 for integer I/O")


@rule("blockwise-scale", "error", "a blockwise scale tensor holds zero or subnormal scales")
def _blockwise_scale(ctx: Context) -> Iterator[Hit]:
    for t in ctx.all_tensors():
        q = t.quantization
        if q is None or q.kind != QuantKind.BLOCKWISE:
            continue
        details = q.details
        if not isinstance(details, BlockwiseQuantization):
            continue
        scales = ctx.tensor(t.subgraph, details.scales)
        if scales is None:
            continue  # an index out of range: see details-omitted
        data = scales.tensor.data if scales.constant else None
        if data is None:
            yield t.at(), (f"blockwise scale tensor {details.scales} has no constant data: "
                           "LiteRT reads all-zero scales. Hint: store the scales as a "
                           "float16 constant")
            continue
        values = np.frombuffer(data, "<f2", len(data) // 2).astype(np.float32)
        magnitude = np.abs(values)
        bad = (magnitude < _F16_TINY) | ~np.isfinite(values)
        if bad.any():
            yield t.at(), (f"blockwise scale tensor {details.scales} (read as float16) has "
                           f"{int(bad.sum())} of {len(values)} scales that are zero, subnormal "
                           f"or not finite (first: {_first(values, bad)}). Hint: scales are "
                           "float16; clamp them to >= 6.1e-05")


@rule("details-omitted", "warning",
      "LiteRT's get_tensor_details() leaves a tensor out of its list")
def _details_omitted(ctx: Context) -> Iterator[Hit]:
    interpreter = _interpreter(ctx)
    if interpreter is None:
        return
    for si, subgraph in enumerate(ctx.model.subgraphs):
        listed = {d["index"] for d in interpreter.get_tensor_details(si)}
        for ti in range(len(subgraph.tensors)):
            if ti in listed:
                continue
            facts = ctx.tensor(si, ti)
            where = facts.at() if facts is not None else Location(si, ti)
            yield where, f"not listed by get_tensor_details({si}): {_why(interpreter, si, ti)}"


def _interpreter(ctx: Context) -> Interpreter | None:
    if isinstance(ctx.construction, InvalidModelError):
        return None  # reported by litert-refuses
    return ctx.interpreter


def _why(interpreter: Interpreter, subgraph: int, index: int) -> str:
    try:
        interpreter._get_tensor_details(index, subgraph)
    except UnicodeDecodeError as error:
        return (f"its name is not valid UTF-8 ({error}). Hint: rename the tensor with a "
                "UTF-8 name")
    except ValueError as error:
        text = str(error)
        if text == "Invalid data-type for array":
            return ("it is BFLOAT16, which LiteRT reports only once ml_dtypes is imported. "
                    "Hint: `import ml_dtypes` before creating the Interpreter")
        if text.startswith("Invalid tensor index"):
            return (f"its blockwise quantization refers to a tensor that does not exist "
                    f"({text}). Hint: fix the scales/zero_points tensor indices")
        return f"{text}."
    return "no reason found (please report)."


@rule("io-details-error", "error",
      "get_input_details()/get_output_details() raise, or LiteRT drops the I/O list")
def _io_details_error(ctx: Context) -> Iterator[Hit]:
    result = ctx.construction
    if isinstance(result, InvalidModelError) or not len(ctx.model.subgraphs):
        return
    subgraph = ctx.model.subgraphs[0]
    state = result.subgraphs[0]
    interpreter = _interpreter(ctx)
    assert interpreter is not None
    for kind, stored, kept, call in (
            ("inputs", subgraph.inputs, state.inputs, interpreter.get_input_details),
            ("outputs", subgraph.outputs, state.outputs, interpreter.get_output_details)):
        if len(stored) and not kept:
            bad = [i for i in stored.tolist() if not -1 <= i < len(subgraph.tensors)]
            yield Location(0), (f"subgraph 0 {kind} {stored.tolist()} name tensor {bad[0]}, "
                                f"which does not exist: LiteRT silently reports no {kind}. "
                                f"Hint: fix the {kind} list")
            continue
        try:
            call()
        except ValueError as error:
            yield Location(0), (f"get_{kind[:-1]}_details() raises {type(error).__name__}: "
                                f"{error}. Hint: an index of -1, a non-UTF-8 name or a "
                                "BFLOAT16 tensor in the list causes this")
