"""Properties of tflparse.quant, checked against arithmetic (never against stored outputs)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tflparse.quant import dequantize, dequantize_blockwise, quantize, quantize_blockwise

# name -> (min, max, storage): the integer ranges, written out independently of tflparse
RANGES: dict[str, tuple[int, int, type]] = {
    "int8": (-128, 127, np.int8),
    "uint8": (0, 255, np.uint8),
    "int16": (-32768, 32767, np.int16),
    "int32": (-(2**31), 2**31 - 1, np.int32),
    "int4": (-8, 7, np.int8),
    "uint4": (0, 15, np.uint8),
    "int2": (-2, 1, np.int8),
}
SMALL = [name for name in RANGES if name != "int32"]  # every value is exact in float32
PURE = ["half_away_from_zero", "half_to_even"]
EPS32 = 2.0**-23

# Scales whose products with any int16 value stay normal float32 numbers.
scales = st.floats(2.0**-100, 2.0**100, width=32, allow_subnormal=False)


@st.composite
def params(draw: st.DrawFn, names: list[str] = SMALL) -> tuple[str, float, int]:
    name = draw(st.sampled_from(names))
    low, high, _ = RANGES[name]
    return name, draw(scales), draw(st.integers(low, high))


def inward(bound: float, direction: int) -> float:
    """The float32 nearest ``bound`` on the side ``direction`` points to (+1 up, -1 down)."""
    near = np.float32(bound)
    if (near - bound) * direction < 0:
        near = np.nextafter(near, np.float32(direction * np.inf))
    return float(near)


def half_away(value: Fraction) -> int:
    whole = int(abs(value) + Fraction(1, 2))  # floor of |v| + 1/2
    return whole if value >= 0 else -whole


# -- rounding and saturation -----------------------------------------------------------------


@given(params(), st.data(), st.sampled_from(PURE))
def test_round_trip_error_within_half_a_step(p: tuple[str, float, int], data: st.DataObject,
                                             rounding: str) -> None:
    name, scale, zp = p
    low, high, _ = RANGES[name]
    x = data.draw(hnp.arrays(np.float32, st.integers(1, 20), elements=st.floats(
        inward((low - zp) * scale, 1), inward((high - zp) * scale, -1), width=32)))
    back = dequantize(quantize(x, scale, zp, name, rounding=rounding), scale, zp)
    assert back.dtype == np.float32
    magnitude = np.abs(x.astype(np.float64)) + scale * (abs(low) + abs(high))
    tolerance = scale / 2 + 4 * EPS32 * magnitude
    assert np.all(np.abs(back.astype(np.float64) - x) <= tolerance)


@given(params(), st.data(), st.sampled_from(PURE))
def test_saturates_outside_the_range(p: tuple[str, float, int], data: st.DataObject,
                                     rounding: str) -> None:
    name, scale, zp = p
    low, high, _ = RANGES[name]
    # |x / scale| stays below 2**30 and x stays finite
    most = min(2.0**30 - 2**17, 3e38 / scale - 2**17)
    steps = 1 + data.draw(st.floats(0, 1)) * (most - 1)
    above = np.float32((high - zp + 1 + steps) * scale)
    below = np.float32((low - zp - 1 - steps) * scale)
    q = quantize(np.array([above, below]), scale, zp, name, rounding=rounding)
    assert q.tolist() == [high, low]


@given(params(), st.data(), st.sampled_from(PURE))
def test_every_value_survives_dequantize_then_quantize(p: tuple[str, float, int],
                                                       data: st.DataObject,
                                                       rounding: str) -> None:
    name, scale, zp = p
    low, high, storage = RANGES[name]
    q = np.arange(low, high + 1).astype(storage)
    again = quantize(dequantize(q, scale, zp), scale, zp, name, rounding=rounding)
    assert again.dtype == np.dtype(storage)
    assert np.array_equal(again, q)


@given(params(), st.sampled_from(PURE),
       hnp.arrays(np.float32, st.integers(1, 40), elements=st.floats(-1e6, 1e6, width=32)))
def test_quantize_is_monotone(p: tuple[str, float, int], rounding: str, x: np.ndarray) -> None:
    name, scale, zp = p
    x = np.sort(x[np.abs(x.astype(np.float64) / scale) < 2.0**30])
    q = quantize(x, scale, zp, name, rounding=rounding).astype(np.int64)
    assert np.all(np.diff(q) >= 0)


@given(st.sampled_from(SMALL), st.integers(-30, 30), st.data())
def test_ties_against_exact_arithmetic(name: str, exponent: int, data: st.DataObject) -> None:
    """With a power-of-two scale x / scale is exact, so each rounding rule shows plainly."""
    low, high, _ = RANGES[name]
    zp = data.draw(st.integers(low, high))
    scale = 2.0**exponent
    halves = data.draw(st.lists(st.integers(2 * (low - zp) - 3, 2 * (high - zp) + 3),
                                min_size=1, max_size=20))
    x = np.array([h / 2 * scale for h in halves], np.float32)
    away = quantize(x, scale, zp, name).tolist()
    even = quantize(x, scale, zp, name, rounding="half_to_even").tolist()
    for h, got_away, got_even in zip(halves, away, even):
        exact = Fraction(h, 2)
        assert got_away == min(max(half_away(exact) + zp, low), high)
        assert got_even == min(max(round(exact) + zp, low), high)  # Python rounds to even


@given(params(), st.data())
def test_dequantize_is_the_correctly_rounded_product(p: tuple[str, float, int],
                                                     data: st.DataObject) -> None:
    name, scale, zp = p
    low, high, storage = RANGES[name]
    q = data.draw(hnp.arrays(storage, st.integers(1, 30), elements=st.integers(low, high)))
    got = dequantize(q, scale, zp)
    # the product needs at most 17 + 24 bits, so float() of it is exact and
    # float32() rounds it once
    want = np.array([np.float32(float((int(v) - zp) * Fraction(scale))) for v in q])
    assert got.tobytes() == want.tobytes()


@given(params(["int8", "uint8", "int16"]), st.data())
def test_litert_optimized_dequantize_head_and_tail(p: tuple[str, float, int],
                                                   data: st.DataObject) -> None:
    name, scale, zp = p
    low, high, storage = RANGES[name]
    q = data.draw(hnp.arrays(storage, st.integers(1, 30), elements=st.integers(low, high)))
    got = dequantize(q, scale, zp, rounding="litert_optimized")
    split = q.size - q.size % 8
    s = np.float32(scale)
    head = q[:split].astype(np.float32) * s - np.float32(zp) * s  # two rounded products
    assert got[:split].tobytes() == head.tobytes()
    assert got[split:].tobytes() == dequantize(q[split:], scale, zp).tobytes()


def test_non_finite_and_huge_values_go_through_int32() -> None:
    """NaN, infinities and |x / scale| >= 2**31 become INT32_MIN before the zero point is
    added with 32-bit wrap-around: the minimum for zp >= 0, the maximum for zp < 0."""
    x = np.array([np.nan, np.inf, -np.inf, 2.0**31, -(2.0**32), 1e30], np.float32)
    for name in ("int8", "uint8", "int16", "int4"):
        low, high, _ = RANGES[name]
        for zp in {low, 0, high} & set(range(low, high + 1)):
            want = low if zp >= 0 else high
            for rounding in ("half_away_from_zero", "half_to_even", "litert_optimized"):
                assert quantize(x, 1.0, zp, name, rounding=rounding).tolist() == [want] * 6


# -- per-axis and blockwise against per-tensor -----------------------------------------------


@st.composite
def per_axis_case(draw: st.DrawFn) -> tuple[str, np.ndarray, int, np.ndarray, np.ndarray]:
    name = draw(st.sampled_from(SMALL))
    low, high, _ = RANGES[name]
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=5))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    channels = shape[axis]
    scale = np.array(draw(st.lists(scales, min_size=channels, max_size=channels)), np.float32)
    zp = np.array(draw(st.lists(st.integers(low, high), min_size=channels,
                                max_size=channels)), np.int64)
    x = draw(hnp.arrays(np.float32, shape, elements=st.floats(-1e6, 1e6, width=32)))
    return name, x, axis, scale, zp


@given(per_axis_case(), st.sampled_from([*PURE, "litert_optimized"]))
def test_per_axis_is_per_tensor_slice_by_slice(
        case: tuple[str, np.ndarray, int, np.ndarray, np.ndarray], rounding: str) -> None:
    name, x, axis, scale, zp = case
    q = quantize(x, scale, zp, name, axis=axis, rounding=rounding)
    back = dequantize(q, scale, zp, axis=axis)
    one = "half_away_from_zero" if rounding == "litert_optimized" else rounding
    for c in range(x.shape[axis]):
        part = np.take(x, c, axis=axis)
        q_c = quantize(part, scale[c], zp[c], name, rounding=one)
        assert np.array_equal(np.take(q, c, axis=axis), q_c)
        assert np.take(back, c, axis=axis).tobytes() == dequantize(q_c, scale[c], zp[c]).tobytes()


@st.composite
def blockwise_case(draw: st.DrawFn
                   ) -> tuple[str, np.ndarray, int, int, np.ndarray, np.ndarray | None]:
    name = draw(st.sampled_from(SMALL))
    low, high, _ = RANGES[name]
    block_shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
    axis = draw(st.integers(-len(block_shape), len(block_shape) - 1))
    block = draw(st.integers(1, 4))
    shape = list(block_shape)
    shape[axis] *= block
    scale = draw(hnp.arrays(np.float32, block_shape, elements=scales))
    zp = draw(st.none() | hnp.arrays(np.int64, block_shape, elements=st.integers(low, high)))
    x = draw(hnp.arrays(np.float32, tuple(shape), elements=st.floats(-1e6, 1e6, width=32)))
    return name, x, axis, block, scale, zp


@given(blockwise_case(), st.sampled_from(PURE))
def test_blockwise_is_per_tensor_block_by_block(
        case: tuple[str, np.ndarray, int, int, np.ndarray, np.ndarray | None],
        rounding: str) -> None:
    name, x, axis, block, scale, zp = case
    q = quantize_blockwise(x, scale, zp, name, block_size=block, axis=axis, rounding=rounding)
    back = dequantize_blockwise(q, scale, zp, block_size=block, axis=axis)
    ax = axis % x.ndim
    for index in np.ndindex(*scale.shape):
        zero = 0 if zp is None else int(zp[index])
        where = list(index)
        where[ax] = slice(index[ax] * block, (index[ax] + 1) * block)
        part = x[tuple(where)]
        q_block = quantize(part, scale[index], zero, name, rounding=rounding)
        assert np.array_equal(q[tuple(where)], q_block)
        assert back[tuple(where)].tobytes() == dequantize(q_block, scale[index], zero).tobytes()


# -- types -----------------------------------------------------------------------------------


@settings(max_examples=20)
@given(st.floats(-1e4, 1e4, width=32))
def test_dtype_spellings_and_storage(x: float) -> None:
    for name, (low, high, storage) in RANGES.items():
        q = quantize(np.array([x, 1e4, -1e4], np.float32), 0.01, 0, name)
        assert q.dtype == np.dtype(storage)
        assert low <= q.min() and q.max() <= high
        assert q[1] == min(high, 10**6) and q[2] == max(low, -(10**6))
    for spelling in (np.int8, np.dtype(np.int8), "int8", "i1", "INT8"):
        assert np.array_equal(quantize([x], 0.5, 3, spelling), quantize([x], 0.5, 3, "int8"))
    for spelling in (np.uint8, np.int16, np.int32):
        assert quantize([x], 0.5, 0, spelling).dtype == np.dtype(spelling)


def test_shapes_are_kept() -> None:
    assert quantize(1.25, 0.5, 0, "int8").shape == ()
    assert quantize(np.zeros((2, 0, 3)), 0.5, 0, "int8").shape == (2, 0, 3)
    assert dequantize(np.zeros((4, 2), np.int8), [1.0, 2.0], 0, axis=1).shape == (4, 2)
    assert quantize([[1.0]], [0.5], [0], "int8", axis=0).tolist() == [[2]]  # one scale


# -- argument errors -------------------------------------------------------------------------


@pytest.mark.parametrize("call, message", [
    (lambda: quantize([1.0], 1.0, 0, "int8", rounding="nearest"), "unknown rounding"),
    (lambda: quantize([1.0], 1.0, 0, "int8", rounding="exact"), "unknown rounding"),
    (lambda: dequantize(np.int8(1), 1.0, 0, rounding="half_to_even"), "unknown rounding"),
    (lambda: quantize([1.0], 1.0, 0, "float32"), "unsupported quantized dtype"),
    (lambda: quantize([1.0], 1.0, 0, np.uint16), "unsupported quantized dtype"),
    (lambda: quantize([1.0], 1.0, 0, "int3"), "unsupported quantized dtype"),
    (lambda: quantize([1.0], 0.0, 0, "int8"), "positive, finite and normal"),
    (lambda: quantize([1.0], -1.0, 0, "int8"), "positive, finite and normal"),
    (lambda: quantize([1.0], np.inf, 0, "int8"), "positive, finite and normal"),
    (lambda: quantize([1.0], np.nan, 0, "int8"), "positive, finite and normal"),
    (lambda: quantize([1.0], 1e-40, 0, "int8"), "positive, finite and normal"),
    (lambda: quantize([1.0], 1e39, 0, "int8"), "positive, finite and normal"),
    (lambda: dequantize(np.int8(1), 0.0, 0), "positive, finite and normal"),
    (lambda: quantize([1.0], 1.0, 128, "int8"), "outside"),
    (lambda: quantize([1.0], 1.0, -1, "uint4"), "outside"),
    (lambda: quantize([1.0], 1.0, 0.5, "int8"), "must be integers"),
    (lambda: quantize(["a"], 1.0, 0, "int8"), "real numbers"),
    (lambda: dequantize(np.array([1.5]), 1.0, 0), "must be integers"),
    (lambda: quantize(np.zeros((2, 3)), [1.0, 2.0], 0, "int8"), "pass axis="),
    (lambda: quantize(np.zeros((2, 3)), [1.0, 2.0], [0, 0], "int8", axis=1), "2 scales for axis"),
    (lambda: quantize(np.zeros((2, 3)), [1.0, 2.0], [0, 0, 0], "int8", axis=0),
     "3 zero points for 2 scales"),
    (lambda: quantize(np.zeros((2, 3)), 1.0, 0, "int8", axis=2), "out of range"),
    (lambda: quantize(np.zeros((2, 3)), 1.0, 0, "int8", axis=1.0), "must be an integer"),
    (lambda: quantize(np.zeros((2, 3)), [[1.0]], 0, "int8", axis=0), "scalar or 1-D"),
    (lambda: quantize_blockwise(np.zeros((2, 6)), np.ones((2, 2)), None, "int4", block_size=4),
     "not a multiple"),
    (lambda: quantize_blockwise(np.zeros((2, 6)), np.ones((2, 2)), None, "int4", block_size=0),
     "at least 1"),
    (lambda: quantize_blockwise(np.zeros((2, 6)), np.ones((2, 3)), None, "int4", block_size=3),
     "expected \\(2, 2\\)"),
    (lambda: quantize_blockwise(np.zeros((2, 6)), np.ones((2, 2)), np.zeros((2, 3), int), "int4",
                                block_size=3), "zero_points of shape"),
    (lambda: quantize_blockwise(np.zeros((2, 6)), np.ones((2, 2)), None, "int4", block_size=3,
                                rounding="litert_optimized"), "unknown rounding"),
    (lambda: dequantize_blockwise(np.zeros((4, 2), np.int8), np.ones((2, 2)), None,
                                  block_size=4, axis=0), "scales of shape"),
])
def test_bad_arguments_raise_value_error_naming_the_problem(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
