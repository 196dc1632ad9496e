"""tflparse.quant against the real LiteRT QUANTIZE and DEQUANTIZE kernels, bit for bit.

One-operator models run in ai-edge-litert with the reference kernels (BUILTIN_REF) and the
optimized ones (BUILTIN_WITHOUT_DEFAULT_DELEGATES). Inputs mix exact ties
(``(k + 0.5) * scale``), their float32 neighbours, ordinary values, values far out of range,
NaN and infinities, in tensors of every length modulo 8 (the optimized kernels treat the
last ``size % 8`` elements differently).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

litert = pytest.importorskip("ai_edge_litert.interpreter")
schema = pytest.importorskip("ai_edge_litert.schema_py_generated")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from model_builder import pack  # noqa: E402

from tflparse._values import pack_int  # noqa: E402
from tflparse.quant import dequantize, quantize  # noqa: E402

pytestmark = pytest.mark.litert
REF = litert.OpResolverType.BUILTIN_REF
OPT = litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
KERNELS = {"reference": REF, "optimized": OPT}
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# name -> (TensorType, min, max, numpy storage, bits): written out here, not read from tflparse
TYPES: dict[str, tuple[int, int, int, type, int]] = {
    "int8": (schema.TensorType.INT8, -128, 127, np.int8, 8),
    "uint8": (schema.TensorType.UINT8, 0, 255, np.uint8, 8),
    "int16": (schema.TensorType.INT16, -32768, 32767, np.int16, 16),
    "int4": (schema.TensorType.INT4, -8, 7, np.int8, 4),
    "uint4": (schema.TensorType.UINT4, 0, 15, np.uint8, 4),
    "int2": (schema.TensorType.INT2, -2, 1, np.int8, 2),
}


# -- models ----------------------------------------------------------------------------------


def one_op_model(op: int, in_type: int, out_type: int, shape: list[int], scale: Any,
                 zero_point: Any, axis: int, quantized_input: bool,
                 constant: bytes | None = None) -> bytes:
    """A model with one QUANTIZE or DEQUANTIZE operator; a ``constant`` input if given."""
    s = schema
    model = s.ModelT()
    model.version = 3
    code = s.OperatorCodeT()
    code.builtinCode = op
    code.deprecatedBuiltinCode = op
    code.version = 1
    model.operatorCodes = [code]
    quant = s.QuantizationParametersT()
    quant.scale = [float(v) for v in np.atleast_1d(scale)]
    quant.zeroPoint = [int(v) for v in np.atleast_1d(zero_point)]
    quant.quantizedDimension = axis
    tensors = []
    for name, tensor_type, buffer in ((b"in", in_type, 1), (b"out", out_type, 2)):
        tensor = s.TensorT()
        tensor.name, tensor.type, tensor.shape, tensor.buffer = name, tensor_type, shape, buffer
        tensors.append(tensor)
    tensors[0 if quantized_input else 1].quantization = quant
    operator = s.OperatorT()
    operator.opcodeIndex, operator.inputs, operator.outputs = 0, [0], [1]
    graph = s.SubGraphT()
    graph.tensors, graph.operators, graph.outputs = tensors, [operator], [1]
    graph.inputs = [] if constant is not None else [0]
    buffers = [s.BufferT() for _ in range(3)]
    if constant is not None:
        buffers[1].data = np.frombuffer(constant, np.uint8)
    model.subgraphs, model.buffers = [graph], buffers
    return pack(model)


def run(model: bytes, kernel: str, value: np.ndarray | None) -> np.ndarray:
    interpreter = litert.Interpreter(model_content=model,
                                     experimental_op_resolver_type=KERNELS[kernel])
    interpreter.allocate_tensors()
    if value is not None:
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], value)
    interpreter.invoke()
    out: np.ndarray = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    return out


def litert_quantize(x: np.ndarray, scale: Any, zero_point: Any, dtype: str, kernel: str,
                    axis: int = 0) -> np.ndarray:
    model = one_op_model(schema.BuiltinOperator.QUANTIZE, schema.TensorType.FLOAT32,
                         TYPES[dtype][0], list(x.shape), scale, zero_point, axis, False)
    return run(model, kernel, x)


def litert_dequantize(q: np.ndarray, scale: Any, zero_point: Any, dtype: str, kernel: str,
                      axis: int = 0) -> np.ndarray:
    tensor_type, _, _, _, bits = TYPES[dtype]
    constant = pack_int(q, bits) if bits < 8 else None  # no set_tensor for uint4/int2
    model = one_op_model(schema.BuiltinOperator.DEQUANTIZE, tensor_type,
                         schema.TensorType.FLOAT32, list(q.shape), scale, zero_point, axis,
                         True, constant)
    return run(model, kernel, None if constant is not None else q)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# -- inputs ----------------------------------------------------------------------------------


@st.composite
def scales(draw: st.DrawFn) -> np.float32:
    """Positive float32 scales from 2**-30 to 2**20; a power of two a quarter of the time
    (then the ties are exact in float64 too)."""
    exponent = draw(st.integers(-30, 20))
    if draw(st.integers(0, 3)) == 0:
        return np.float32(2.0**exponent)
    return np.float32(draw(st.floats(1.0, 2.0, exclude_max=True)) * 2.0**exponent)


def float_inputs(rng: np.random.Generator, shape: tuple[int, ...], scale: np.ndarray,
                 low: int, high: int) -> np.ndarray:
    """Ties, tie neighbours, ordinary, far and non-finite values for the given scale(s)."""
    size = int(np.prod(shape))
    k = rng.integers(2 * low - 4, 2 * high + 4, size)
    scale = np.broadcast_to(scale, shape).reshape(-1).astype(np.float64)
    ties = ((k + 0.5) * scale).astype(np.float32)
    kinds = rng.integers(0, 8, size)
    x = ties.copy()
    x[kinds == 1] = np.nextafter(ties, np.float32(np.inf))[kinds == 1]
    x[kinds == 2] = np.nextafter(ties, np.float32(-np.inf))[kinds == 2]
    wide = (rng.normal(0, high - low + 1, size) * scale).astype(np.float32)
    x[kinds == 3] = wide[kinds == 3]
    far = np.float32(10.0) ** rng.integers(3, 38, size) * rng.choice([-1, 1], size)
    x[kinds == 4] = far[kinds == 4]
    with np.errstate(over="ignore"):
        relative = (far.astype(np.float64) * 1e-3 * (high - low) * scale).astype(np.float32)
    x[kinds == 6] = relative[kinds == 6]
    special = rng.choice(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 3e9, -3e9], np.float32),
                         size)
    x[kinds == 5] = special[kinds == 5]
    return x.reshape(shape)


# -- QUANTIZE --------------------------------------------------------------------------------


@SETTINGS
@given(dtype=st.sampled_from(["int8", "uint8", "int16", "int4"]), scale=scales(),
       data=st.data(), size=st.integers(1, 41), seed=st.integers(0, 2**32 - 1))
def test_quantize_per_tensor_matches_litert_kernels(
        dtype: str, scale: np.float32, data: st.DataObject, size: int, seed: int) -> None:
    _, low, high, _, _ = TYPES[dtype]
    zp = data.draw(st.integers(low, high), label="zero_point")
    rng = np.random.default_rng(seed)
    x = float_inputs(rng, (size,), np.asarray(scale), low, high)
    ref = litert_quantize(x, scale, zp, dtype, "reference")
    opt = litert_quantize(x, scale, zp, dtype, "optimized")
    assert same_bits(quantize(x, scale, zp, dtype), ref)
    assert same_bits(quantize(x, scale, zp, dtype, rounding="litert_optimized"), opt)
    # the optimized kernel's vectorized part is exactly "half_to_even" (int4 has none)
    split = 0 if dtype == "int4" else size - size % 8
    even = quantize(x, scale, zp, dtype, rounding="half_to_even")
    assert same_bits(even[:split], opt[:split])


@SETTINGS
@given(dtype=st.sampled_from(["int8", "uint8", "int16"]), data=st.data(),
       shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       seed=st.integers(0, 2**32 - 1), kernel=st.sampled_from(["reference", "optimized"]))
def test_quantize_per_axis_matches_litert_kernels(
        dtype: str, data: st.DataObject, shape: list[int], seed: int, kernel: str) -> None:
    _, low, high, _, _ = TYPES[dtype]
    axis = data.draw(st.integers(0, len(shape) - 1), label="axis")
    shape[axis] = max(shape[axis], 2)  # one scale only would select the per-tensor kernel
    channels = shape[axis]
    scale = np.array(data.draw(st.lists(scales(), min_size=channels, max_size=channels)),
                     np.float32)
    # (LiteRT refuses to load a model with fewer zero points than scales)
    zp = np.array(data.draw(st.lists(st.integers(low, high), min_size=channels,
                                     max_size=channels)), np.int64)
    along = [1] * len(shape)
    along[axis] = channels
    x = float_inputs(np.random.default_rng(seed), tuple(shape), scale.reshape(along), low, high)
    got = litert_quantize(x, scale, zp, dtype, kernel, axis)
    # every kernel quantizes per axis with the reference arithmetic
    assert same_bits(quantize(x, scale, zp, dtype, axis=axis), got)
    assert same_bits(quantize(x, scale, zp, dtype, axis=axis, rounding="litert_optimized"), got)


# -- DEQUANTIZE ------------------------------------------------------------------------------


@SETTINGS
@given(dtype=st.sampled_from(sorted(TYPES)), scale=scales(), data=st.data(),
       size=st.integers(1, 41), seed=st.integers(0, 2**32 - 1))
def test_dequantize_per_tensor_matches_litert_kernels(
        dtype: str, scale: np.float32, data: st.DataObject, size: int, seed: int) -> None:
    _, low, high, storage, _ = TYPES[dtype]
    # LiteRT refuses int16 DEQUANTIZE with a zero point (see test_kernel_limits)
    zp = 0 if dtype == "int16" else data.draw(st.integers(low, high), label="zero_point")
    q = np.random.default_rng(seed).integers(low, high + 1, size).astype(storage)
    ref = litert_dequantize(q, scale, zp, dtype, "reference")
    opt = litert_dequantize(q, scale, zp, dtype, "optimized")
    assert same_bits(dequantize(q, scale, zp), ref)
    assert same_bits(dequantize(q, scale, zp, rounding="litert_optimized"), opt)


@SETTINGS
@given(dtype=st.sampled_from(["int8", "uint8", "int4", "uint4", "int2"]), data=st.data(),
       shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       seed=st.integers(0, 2**32 - 1), kernel=st.sampled_from(["reference", "optimized"]))
def test_dequantize_per_axis_matches_litert_kernels(
        dtype: str, data: st.DataObject, shape: list[int], seed: int, kernel: str) -> None:
    _, low, high, storage, _ = TYPES[dtype]
    axis = data.draw(st.integers(0, len(shape) - 1), label="axis")
    shape[axis] = max(shape[axis], 2)
    channels = shape[axis]
    scale = np.array(data.draw(st.lists(scales(), min_size=channels, max_size=channels)),
                     np.float32)
    zp = np.array(data.draw(st.lists(st.integers(low, high), min_size=channels,
                                     max_size=channels)), np.int64)
    q = np.random.default_rng(seed).integers(low, high + 1, shape).astype(storage)
    got = litert_dequantize(q, scale, zp, dtype, kernel, axis)
    assert same_bits(dequantize(q, scale, zp, axis=axis), got)
    assert same_bits(dequantize(q, scale, zp, axis=axis, rounding="litert_optimized"), got)


def test_dequantize_every_value_of_every_type_as_litert_kernels() -> None:
    """All values of each type, at a scale with many significant bits, both kernels."""
    scale = np.float32(0.1234567)
    for dtype, (_, low, high, storage, _) in TYPES.items():
        q = np.arange(low, high + 1).astype(storage)
        zp = 0 if dtype == "int16" else (low + high) // 2
        for kernel, rounding in (("reference", "exact"), ("optimized", "litert_optimized")):
            got = litert_dequantize(q, scale, zp, dtype, kernel)
            assert same_bits(dequantize(q, scale, zp, rounding=rounding), got), (dtype, kernel)


# -- what the kernels refuse (the README documents these) -------------------------------------


@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_litert_kernels_refuse_what_quant_refuses(kernel: str) -> None:
    q16 = np.zeros((2, 3), np.int16)
    with pytest.raises(RuntimeError, match="zero_point"):
        litert_dequantize(q16, 0.5, 3, "int16", kernel)  # int16 needs zero point 0
    with pytest.raises(RuntimeError, match="not supported for per-channel"):
        litert_dequantize(q16, [0.5, 0.25], [0, 0], "int16", kernel)
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(RuntimeError, match="not currently supported"):
        litert_quantize(x, [0.5, 0.25], [0, 0], "int4", kernel)  # int4 only per tensor
