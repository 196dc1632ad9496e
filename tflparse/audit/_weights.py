"""Audit rules on what the weights hold and how scales combine across an operator.

They read ``Context.weight_stats`` (:func:`tflparse.weights.model_weight_stats`: one chunked
pass over the quantized constants, skipped with ``weights=False``) and
``Context.operator_quantities`` (:func:`tflparse.weights.operator_quantities`).
"Weights" here are constants of an 8-bit-or-narrower or int16 type (int32/int64 constants are
biases) that are per-axis quantized or are the weights of a CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED or TRANSPOSE_CONV operator. Blockwise constants are measured but not judged.
Each threshold below names where it comes from.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .._schema import TensorType
from ..weights import OperatorQuant, WeightStats
from ._registry import Context, Hit, Location, rule
from ._rules import _channels

#: an all-zero channel's scale below this is the converter's trace of an all-zero float
#: channel (TOCO writes 0, the MLIR converter ~3.9e-9, ai-edge-quantizer ~7.9e-12):
#: tensorflow quantization_utils.cc ExpandVerySmallRange, ai-edge-quantizer
DEAD_SCALE_TRACE = 1e-8
#: the Hexagon delegate clamps per-channel scales normalised by their maximum at 1/1024
#: (tflite delegates/hexagon/builders/conv_2d_helpers.cc, kHexagonMinRelativeScale)
SCALE_SPREAD_MIN = 1 / 1024
#: judgement: a channel whose max |q - zp| is below 2**(bits - 1 - 3) (16 for int8) leaves
#: at least 3 bits of its type unused
LOW_RANGE_WASTED_BITS = 3
#: judgement after Sheng et al. 2018 (quantization-friendly separable convolution) and Nagel
#: et al. 2019 (data-free quantization, 3.1): under one scale, a channel below 16 levels ...
IMBALANCE_MIN_LEVELS = 16
#: ... while another channel reaches at least this share of the type's range
IMBALANCE_REACH = 0.5
#: judgement: more than 1 % of a channel's values at the type's extremes suggests a clipping
#: calibration (ai-edge-quantizer's MSE and OCTAV algorithms) or saturation
CLIPPING_SHARE = 0.01
#: judgement: min/max calibration puts one value (or a tie) at the extreme; 3 is a pile-up
CLIPPING_MIN_VALUES = 3
#: judgement: with 16 levels or fewer (int4, int2) many values sit at the extremes by design
CLIPPING_MIN_BITS = 8
#: the TFLite int8 quantization spec: int8 weights lie in [-127, 127]
INT8_WEIGHT_MIN = -127
#: the quantizer clamps int32 biases to +-INT32_MAX (quantization_utils.cc
#: SymmetricPerChannelBiasQuantize); tensorflow#33735
INT32_BIAS_CLAMP = (1 << 31) - 1
#: the 16x8 scheme's int64 bias must stay within +-2**39 (TF PRs #35946/#36131; Vela
#: allows 40 bits)
INT64_BIAS_LIMIT = 1 << 39
#: an int32 bias at or above 2**30 in magnitude has one bit left before it saturates
BIAS_HEADROOM = 1 << 30
#: below 2**-31 the requantization multiplier times any int32 accumulator rounds to 0 and
#: the runtime flushes it to zero (tflite kernels/internal/quantization_util.cc)
MULTIPLIER_FLUSH = 2.0 ** -31
#: XNNPACK refuses convolution and fully-connected operators with a multiplier >= 256
#: (src/operators/convolution-nhwc.c, fully-connected-nc.c)
MULTIPLIER_XNNPACK = 256.0

_WEIGHT_TYPES = frozenset({TensorType.INT8, TensorType.UINT8, TensorType.INT16,
                           TensorType.INT4, TensorType.UINT4, TensorType.INT2})


def _weight_stats(ctx: Context) -> Iterator[WeightStats]:
    """Statistics of the weights (see the module docstring), in file order."""
    for key, s in ctx.weight_stats.items():
        if s.type not in _WEIGHT_TYPES or s.blockwise:
            continue
        if s.per_tensor and s.channel_axis is None and key not in ctx.weights:
            continue
        yield s


def _at(s: WeightStats, operator: int | None = None) -> Location:
    return Location(s.subgraph, s.tensor, s.name, operator)


def _list(values: np.ndarray, mask: np.ndarray, fmt: str = "{:.3g}") -> str:
    shown = [fmt.format(v) for v in values[mask][:3].tolist()]
    return ", ".join(shown) + (", ..." if int(mask.sum()) > 3 else "")


def _what(s: WeightStats) -> str:
    return f"{s.type_name.lower()} {'per-tensor' if s.per_tensor else 'per-channel'} weights"


# --------------------------------------------------------------------------------------------
# Rules on the weights


@rule("dead-channel", "warning",
      "a per-channel weight channel holds only its zero point (all-zero output channel)")
def _dead_channel(ctx: Context) -> Iterator[Hit]:
    for s in _weight_stats(ctx):
        if s.per_tensor or not s.dead.any():
            continue
        dead = s.dead
        traces = dead & (s.scale < DEAD_SCALE_TRACE)
        trace = (f"; {int(traces.sum())} of them with a scale below {DEAD_SCALE_TRACE:g}, "
                 "the converter's mark of an all-zero float channel") if traces.any() else ""
        yield _at(s), (f"{_channels(dead, s.channels)} of these {_what(s)} hold only the zero "
                       f"point (scales {_list(s.scale, dead)}){trace}: the channel's output is "
                       "its bias alone. Hint: if the channels were pruned, remove them from "
                       "the float model; otherwise the training or export lost them")


@rule("scale-spread", "warning",
      "per-channel scales span more than 1024x (the Hexagon delegate clamps them)")
def _scale_spread(ctx: Context) -> Iterator[Hit]:
    for s in _weight_stats(ctx):
        live = ~s.dead & (s.scale > 0)
        if s.per_tensor or int(live.sum()) < 2:
            continue
        scales = s.scale[live]
        ratio = float(scales.min() / scales.max())
        if ratio < SCALE_SPREAD_MIN:
            small = live & (s.scale < SCALE_SPREAD_MIN * scales.max())
            yield _at(s), (f"live channel scales span {scales.min():.3g} to {scales.max():.3g} "
                           f"(ratio 1/{1 / ratio:.0f}, below 1/{1 / SCALE_SPREAD_MIN:.0f}); "
                           f"{_channels(small, s.channels)} fall below the Hexagon delegate's "
                           "relative-scale clamp and compute with a wrong scale there. Hint: "
                           "equalize channel ranges before quantizing (cross-layer "
                           "equalization) or retrain with weight regularization")


def _low_range_limit(s: WeightStats) -> int:
    bits = int(np.log2(s.type_max - s.type_min + 1))
    return 1 << max(bits - 1 - LOW_RANGE_WASTED_BITS, 0)


@rule("low-range-use", "warning",
      "a live weight channel uses under 1/8 of its type's range (max |q - zp| < 16 for int8)")
def _low_range_use(ctx: Context) -> Iterator[Hit]:
    for s in _weight_stats(ctx):
        limit = _low_range_limit(s)
        if s.per_tensor:
            widest = int(s.max_abs.max())
            if 0 < widest < limit:
                yield _at(s), (f"these {_what(s)} reach at most |q - zp| = {widest} "
                               f"({2 * widest + 1} levels, {np.log2(2 * widest + 1):.1f} "
                               f"bits) of a {s.type_name.lower()} range that allows "
                               f"{s.type_max}: the scale is far larger than the values need, "
                               "so rounding error is large. Hint: requantize with the scale "
                               "from the tensor's own min/max")
            continue
        low = ~s.dead & (s.max_abs < limit)
        if low.any():
            yield _at(s), (f"{_channels(low, s.channels)} of these {_what(s)} use max "
                           f"|q - zp| of {_list(s.max_abs, low, '{}')} (under {limit}, i.e. "
                           f"{LOW_RANGE_WASTED_BITS}+ bits of {s.type_name.lower()} unused): "
                           "their scale was not set from their own range. Hint: requantize "
                           "each channel with scale max|w| / type max")


@rule("channel-imbalance", "warning",
      "per-tensor weights: some channel uses under 16 levels while another reaches the range")
def _channel_imbalance(ctx: Context) -> Iterator[Hit]:
    for s in _weight_stats(ctx):
        if not s.per_tensor or s.channels < 2:
            continue
        zp = int(s.zero_point[0])
        half = max(s.type_max - zp, zp - s.type_min)
        live = ~s.dead
        narrow = live & (s.levels < IMBALANCE_MIN_LEVELS)
        widest = int(s.max_abs.max())
        if narrow.any() and widest >= IMBALANCE_REACH * half:
            dead = int(s.dead.sum())
            extra = f"; {dead} channel(s) are all zero point" if dead else ""
            yield _at(s), (f"under one scale, {_channels(narrow, s.channels)} along dimension "
                           f"{s.channel_axis} use fewer than {IMBALANCE_MIN_LEVELS} levels "
                           f"(as few as {int(s.levels[narrow].min())}) while another reaches "
                           f"|q - zp| = {widest} of {half}{extra}: those channels are "
                           "quantized with a few bits only (the depthwise-convolution "
                           "accuracy problem). Hint: quantize the weights per channel")


@rule("weight-clipping", "warning",
      "more than 1 % (and 3+) of an 8/16-bit weight channel's values at the type's min or max")
def _weight_clipping(ctx: Context) -> Iterator[Hit]:
    for s in _weight_stats(ctx):
        if s.type_max - s.type_min + 1 < 1 << CLIPPING_MIN_BITS:
            continue
        share = s.at_extremes / max(s.count, 1)
        clipped = (share > CLIPPING_SHARE) & (s.at_extremes >= CLIPPING_MIN_VALUES)
        if clipped.any():
            k = int(np.argmax(np.where(clipped, share, -1.0)))
            yield _at(s), (f"{_channels(clipped, s.channels)} of these {_what(s)} have more "
                           f"than {CLIPPING_SHARE:.0%} of their values at {s.type_min} or "
                           f"{s.type_max} (up to {share[k]:.1%}, {int(s.at_extremes[k])} of "
                           f"{s.count} in channel {k}): the weights were clipped by the "
                           "calibration or saturated. Hint: if the clipping is not intended "
                           "(MSE/percentile calibration), use min/max calibration")


@rule("int8-weight-range", "warning",
      "int8 weights hold -128 (the int8 spec keeps weights in [-127, 127])")
def _int8_weight_range(ctx: Context) -> Iterator[Hit]:
    for s in _weight_stats(ctx):
        if s.type != TensorType.INT8 or s.at_type_min is None:
            continue
        bad = s.q_min < INT8_WEIGHT_MIN
        if bad.any():
            count = int(s.at_type_min.sum())
            yield _at(s), (f"{count} value(s) equal -128 in {_channels(bad, s.channels)}: the "
                           "TFLite int8 spec keeps weights in [-127, 127] so that kernels may "
                           "negate them and sum pairs in 16 bits without overflow. Hint: "
                           "requantize with the range [-127, 127]")


# --------------------------------------------------------------------------------------------
# Rules on operators


def _in(mask: np.ndarray) -> str:
    """' in 3 of 64 channels (...)', or nothing for a single (per-tensor) entry."""
    return "" if len(mask) == 1 else f" in {_channels(mask, len(mask))}"


def _bias_at(op: OperatorQuant, ctx: Context) -> Location:
    found = ctx.tensor(op.subgraph, op.bias) if op.bias is not None else None
    name = found.name if found is not None else None
    return Location(op.subgraph, op.bias, name, op.operator)


def _tensor_at(op: OperatorQuant, ctx: Context, index: int) -> Location:
    found = ctx.tensor(op.subgraph, index)
    return Location(op.subgraph, index, found.name if found is not None else None, op.operator)


@rule("bias-saturated", "error",
      "an int32 bias at +-(2^31 - 1) (clamped by the quantizer) or an int64 bias beyond 2^39")
def _bias_saturated(ctx: Context) -> Iterator[Hit]:
    for op in ctx.operator_quantities:
        if op.bias_max_abs is None:
            continue
        limit = INT32_BIAS_CLAMP if op.bias_type == TensorType.INT32 else INT64_BIAS_LIMIT
        bad = op.bias_max_abs >= limit if op.bias_type == TensorType.INT32 \
            else op.bias_max_abs > limit
        if bad.any():
            largest = int(op.bias_max_abs.max())
            scales = op.input_scale * op.weight_scale
            yield _bias_at(op, ctx), (
                f"{op.op_name} bias reaches |q| = {largest}{_in(bad)} (limit {limit}): the "
                "quantizer clamped a bias larger than the bias scale can hold (largest "
                f"representable {limit * float(scales.min()):.3g} in real units), so these "
                "channels compute with a wrong bias. Hint: the weight scale of those "
                "channels is too small for their bias; widen it (as the old quantizer's "
                "AdjustWeightsForBiasScale does) or fix the float model's bias")


@rule("bias-headroom", "warning",
      "an int32 bias with |q| >= 2^30 (one bit from saturating) on a live channel")
def _bias_headroom(ctx: Context) -> Iterator[Hit]:
    for op in ctx.operator_quantities:
        if op.bias_max_abs is None or op.bias_type != TensorType.INT32:
            continue
        near = (op.bias_max_abs >= BIAS_HEADROOM) & (op.bias_max_abs < INT32_BIAS_CLAMP)
        if len(near) == len(op.multiplier):  # an all-zero channel adds nothing to its bias
            near &= ~_dead_weights(ctx, op, len(near))
        if near.any():
            yield _bias_at(op, ctx), (
                f"{op.op_name} int32 bias reaches |q| = {int(op.bias_max_abs[near].max())} "
                f"(>= 2^30){_in(near)}: the accumulator adds "
                "input x weight products on top and may overflow int32. Hint: the bias is "
                "huge relative to input scale x weight scale; check the float bias and the "
                "calibration range of the input")


def _dead_weights(ctx: Context, op: OperatorQuant, channels: int) -> np.ndarray:
    """bool [channels]: output channels whose weights are all zero point (False unknown)."""
    stats = ctx.weight_stats.get((op.subgraph, op.weights))
    if stats is None or stats.channels != channels:
        return np.zeros(channels, bool)
    return stats.dead


def _flushed(ctx: Context, op: OperatorQuant) -> np.ndarray:
    """Channels whose multiplier the runtime flushes to zero and where that changes the
    output: not an all-zero channel whose bias times M is under half an output step. That
    takes the weights' values: without the weight pass, no channel is reported."""
    m = op.multiplier
    if not ctx.read_weights:
        return np.zeros(len(m), bool)
    found: np.ndarray = ~(m >= MULTIPLIER_FLUSH)  # NaN counts as flushed
    if op.bias_max_abs is not None and len(op.bias_max_abs) in (1, len(m)):
        with np.errstate(invalid="ignore", over="ignore"):
            harmless = _dead_weights(ctx, op, len(m)) & (op.bias_max_abs * m < 0.5)
        found &= ~harmless
    return found


@rule("requant-multiplier", "error",
      "requantization multiplier M = s_in*s_w/s_out below 2^-31 (flushed to 0: error) or "
      ">= 256 (XNNPACK refuses: warning)")
def _requant_multiplier(ctx: Context) -> Iterator[Hit]:
    for op in ctx.operator_quantities:
        m = op.multiplier
        where = _tensor_at(op, ctx, op.weights)
        tiny = _flushed(ctx, op)
        if tiny.any():
            k = int(np.flatnonzero(tiny)[0])
            yield where, (f"{op.op_name} requantization multiplier M = {op.input_scale:.3g} x "
                          f"{op.weight_scale[k]:.3g} / {op.output_scale:.3g} = {m[k]:.3g} "
                          f"{_in(tiny)} is below 2^-31: the runtime "
                          "flushes it to 0, so those output channels are constant. Hint: "
                          "the weight scale is (near) zero or the output scale is huge; "
                          "recalibrate"), "error"
        huge = m >= MULTIPLIER_XNNPACK
        if huge.any():
            k = int(np.flatnonzero(huge)[0])
            yield where, (f"{op.op_name} requantization multiplier M = {m[k]:.4g} "
                          f"(>= {MULTIPLIER_XNNPACK:g}){_in(huge)}: XNNPACK "
                          "refuses the operator (it runs on the slower reference kernels) and "
                          "older kernels require M < 1. Hint: the output scale is tiny "
                          "compared to input x weight scales; recalibrate the output range"), \
                "warning"


@rule("activation-clamp-overflow", "error",
      "the fused activation's bound in the quantized domain does not fit int32 (prepare fails)")
def _activation_clamp_overflow(ctx: Context) -> Iterator[Hit]:
    for op in ctx.operator_quantities:
        if not op.clamp_overflow:
            continue
        low, high = op.clamp_steps
        step = high if high is not None and not -2.0 ** 31 <= high <= 2.0 ** 31 else low
        yield _tensor_at(op, ctx, op.output), (
            f"{op.op_name} with fused {op.activation}: round(bound / output scale "
            f"{op.output_scale:.3g}) = {step:.4g} does not fit int32, so LiteRT's builtin "
            "kernel fails to prepare (no_integer_overflow_from_quantization), as does the "
            "Edge TPU compiler that runs it. Hint: "
            "the output scale is (near) zero; recalibrate the output range")


@rule("int32-bias-16x8", "warning",
      "an int32 bias on a 16x8 operator (int16 activations): the accumulator may overflow")
def _int32_bias_16x8(ctx: Context) -> Iterator[Hit]:
    for op in ctx.operator_quantities:
        if op.sixteen_by_eight and op.bias_type == TensorType.INT32:
            yield _bias_at(op, ctx), (
                f"{op.op_name} takes int16 activations with an int32 bias: the 16x8 scheme "
                "specifies an int64 bias, and a 32-bit accumulation can overflow in the worst "
                "case beyond ~516 products per output (derived). Hint: convert with "
                "_experimental_full_integer_quantization_bias_type=tf.int64 (int64 bias)")
