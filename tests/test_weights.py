"""Weight statistics against a straightforward numpy computation on the whole array.

Models are built with the generated bindings ai-edge-litert ships; the oracle reads the full
constant with ``Tensor.to_array()`` / ``Tensor.dequantize()`` and reduces it with plain numpy.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import numpy as np
import pytest
from conftest import shared_model_paths
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tflparse
from tflparse import weights
from tflparse._values import pack_int
from tflparse.weights import model_weight_stats, tensor_stats

s = pytest.importorskip("ai_edge_litert.schema_py_generated")
from test_audit import build, tensor  # noqa: E402  (needs the bindings)

T = s.TensorType
#: type -> (numpy storage, min, max, bits)
TYPES = {T.INT8: (np.int8, -128, 127, 8), T.UINT8: (np.uint8, 0, 255, 8),
         T.INT16: (np.int16, -32768, 32767, 16), T.INT4: (np.int8, -8, 7, 4),
         T.UINT4: (np.uint8, 0, 15, 4), T.INT2: (np.int8, -2, 1, 2)}


def encode(values: np.ndarray, tensor_type: int) -> bytes:
    storage, _, _, bits = TYPES[tensor_type]
    if bits < 8:
        return pack_int(values, bits)
    return values.astype(np.dtype(storage).newbyteorder("<")).tobytes()


def oracle(t: tflparse.model.Tensor, axis: int | None) -> dict[str, np.ndarray]:
    """Per-channel statistics by plain numpy on the whole array and its dequantized values."""
    q = t.quantization
    assert q is not None and q.scale is not None and q.zero_point is not None
    values = t.to_array().astype(np.int64)
    real = t.dequantize()
    if axis is None:
        flat, flat_real = values.reshape(1, -1), real.reshape(1, -1)
        zp = np.full(1, int(q.zero_point[0]))
    else:
        flat = np.moveaxis(values, axis, 0).reshape(values.shape[axis], -1)
        flat_real = np.moveaxis(real, axis, 0).reshape(values.shape[axis], -1)
        zp = np.broadcast_to(q.zero_point.astype(np.int64), (flat.shape[0],))
    _, low, high, _ = TYPES[int(t.type)]
    distance = np.abs(flat - zp[:, None]).max(axis=1)
    return {"q_min": flat.min(axis=1), "q_max": flat.max(axis=1), "max_abs": distance,
            "levels": 2 * distance + 1,
            "at_extremes": ((flat == low) | (flat == high)).sum(axis=1),
            "dead": (flat == zp[:, None]).all(axis=1),
            "real_min": flat_real.min(axis=1), "real_max": flat_real.max(axis=1)}


def check(stats: weights.WeightStats, expected: dict[str, np.ndarray]) -> None:
    for key, value in expected.items():
        found = getattr(stats, key)
        if key.startswith("real"):
            found = found.astype(np.float32)  # the dequantized array is float32
        np.testing.assert_array_equal(found, value, err_msg=key)
    np.testing.assert_allclose(stats.effective_bits, np.log2(expected["levels"]))


@st.composite
def quantized_constants(draw: Any) -> tuple[bytes, int | None]:
    tensor_type = draw(st.sampled_from(sorted(TYPES)))
    _, low, high, _ = TYPES[tensor_type]
    shape = draw(st.lists(st.integers(1, 6), min_size=1, max_size=4))
    axis = draw(st.none() | st.integers(0, len(shape) - 1))
    channels = 1 if axis is None else shape[axis]
    if axis is not None and channels == 1:
        axis = None  # one scale is per-tensor quantization
    zps = draw(st.lists(st.integers(low, high), min_size=channels, max_size=channels))
    scales = draw(st.lists(st.floats(2.0 ** -20, 10.0, width=32), min_size=channels,
                           max_size=channels))
    special = st.sampled_from([low, high, *zps])
    count = int(np.prod(shape))
    values = np.array(draw(st.lists(st.integers(low, high) | special, min_size=count,
                                    max_size=count)), np.int64).reshape(shape)
    if draw(st.booleans()) and axis is not None:  # a dead channel
        index = [slice(None)] * len(shape)
        index[axis] = 0
        values[tuple(index)] = zps[0]
    t = tensor(b"w", tensor_type, shape, 1, scale=scales, zero_point=zps,
               axis=0 if axis is None else axis)
    return build([t], buffers=[encode(values, tensor_type)]), axis


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=quantized_constants(), chunk=st.sampled_from([1, 2, 3, 7, 64, 1 << 22]),
       channel_axis=st.none() | st.integers(0, 3))
def test_statistics_equal_numpy_on_the_whole_array(case: tuple[bytes, int | None], chunk: int,
                                                   channel_axis: int | None) -> None:
    """Per axis, per tensor, and per tensor counted along a channel axis of its own."""
    data, axis = case
    t = tflparse.load(data).subgraphs[0].tensors[0]
    rank = len(t.shape)
    if channel_axis is not None and (channel_axis >= rank or t.shape[channel_axis] == 1):
        channel_axis = None
    old = weights.CHUNK_ELEMENTS
    weights.CHUNK_ELEMENTS = chunk  # small chunks: every split of the plan is exercised
    try:
        stats = tensor_stats(t, channel_axis=channel_axis)
    finally:
        weights.CHUNK_ELEMENTS = old
    assert stats is not None
    assert stats.axis == axis
    measured = axis if axis is not None else channel_axis
    assert stats.channel_axis == measured
    assert stats.count * len(stats.scale) == t.num_elements
    check(stats, oracle(t, measured))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_blockwise_statistics_are_per_block(data: Any) -> None:
    tensor_type = data.draw(st.sampled_from([T.INT8, T.INT4]))
    _, low, high, _ = TYPES[tensor_type]
    block = data.draw(st.sampled_from([1, 2, 4]))
    shape = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    axis = data.draw(st.integers(0, len(shape) - 1))
    shape[axis] *= block
    blocks_shape = list(shape)
    blocks_shape[axis] //= block
    nblocks = int(np.prod(blocks_shape))
    scales = np.array(data.draw(st.lists(st.floats(0.0625, 4.0, width=16), min_size=nblocks,
                                         max_size=nblocks)), np.float16)
    zps = np.array(data.draw(st.lists(st.integers(low, high), min_size=nblocks,
                                      max_size=nblocks)), np.int32)
    count = int(np.prod(shape))
    values = np.array(data.draw(st.lists(st.integers(low, high), min_size=count,
                                         max_size=count)), np.int64).reshape(shape)
    model = build([tensor(b"w", tensor_type, shape, 1, blockwise=(1, 2, block), axis=axis),
                   tensor(b"scales", T.FLOAT16, blocks_shape, 2),
                   tensor(b"zps", T.INT32, blocks_shape, 3)],
                  buffers=[encode(values, tensor_type), scales.tobytes(), zps.tobytes()])
    weights.CHUNK_ELEMENTS, old = data.draw(st.sampled_from([1, 3, 1 << 22])), \
        weights.CHUNK_ELEMENTS
    try:
        stats = tensor_stats(tflparse.load(model).subgraphs[0].tensors[0])
    finally:
        weights.CHUNK_ELEMENTS = old
    assert stats is not None and stats.blockwise and stats.axis == axis
    # oracle: split the axis into (blocks, block) and reduce over the block
    split = values.reshape(shape[:axis] + [shape[axis] // block, block] + shape[axis + 1:])
    moved = np.moveaxis(split, axis + 1, -1).reshape(nblocks, block)
    zp = zps.astype(np.int64)
    np.testing.assert_array_equal(stats.q_min, moved.min(axis=1))
    np.testing.assert_array_equal(stats.q_max, moved.max(axis=1))
    np.testing.assert_array_equal(stats.max_abs, np.abs(moved - zp[:, None]).max(axis=1))
    np.testing.assert_array_equal(stats.dead, (moved == zp[:, None]).all(axis=1))
    np.testing.assert_array_equal(stats.at_extremes,
                                  ((moved == low) | (moved == high)).sum(axis=1))
    real = (moved - zp[:, None]) * scales.astype(np.float64)[:, None]
    np.testing.assert_array_equal(stats.real_min, real.min(axis=1))
    np.testing.assert_array_equal(stats.scale, scales.astype(np.float64))


def test_what_is_not_measured() -> None:
    float_constant = build([tensor(b"f", T.FLOAT32, [2], 1)], buffers=[b"\0" * 8])
    arena = build([tensor(b"a", T.INT8, [2], 0, scale=[1.0], zero_point=[0])])
    mismatched = build([tensor(b"m", T.INT8, [2, 3], 1, scale=[1.0] * 3, zero_point=[0],
                               axis=0)], buffers=[b"\0" * 6])
    empty = build([tensor(b"e", T.INT8, [0, 3], 1, scale=[1.0], zero_point=[0])],
                  buffers=[b""])
    for data in (float_constant, arena, mismatched, empty):
        model = tflparse.load(data)
        assert tensor_stats(model.subgraphs[0].tensors[0]) is None
        assert model_weight_stats(model) == []


def test_short_buffer_is_an_invalid_model_error() -> None:
    data = build([tensor(b"w", T.INT8, [4, 4], 1, scale=[1.0], zero_point=[0])],
                 buffers=[b"\1" * 10])
    with pytest.raises(tflparse.InvalidModelError, match="10 bytes hold fewer than 16"):
        model_weight_stats(tflparse.load(data))


def test_working_set_is_bounded_by_the_chunk() -> None:
    """16 MiB of int8 weights per channel are reduced with a few MB of memory."""
    channels, per_channel = 4, 1 << 22
    values = np.zeros((channels, per_channel), np.int8)
    values[:, ::3] = 127
    values[1, 5] = -128
    data = build([tensor(b"w", T.INT8, [channels, per_channel], 1, scale=[0.5] * channels,
                         zero_point=[0] * channels, axis=0)], buffers=[values.tobytes()])
    model = tflparse.load(data)
    t = model.subgraphs[0].tensors[0]
    old = weights.CHUNK_ELEMENTS
    weights.CHUNK_ELEMENTS = 1 << 18
    tracemalloc.start()
    try:
        stats = tensor_stats(t)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        weights.CHUNK_ELEMENTS = old
    assert stats is not None
    assert peak < 4 << 20, peak  # the tensor is 16 MiB; a chunk is 256 KiB
    expected_extremes = np.full(channels, (per_channel + 2) // 3)
    expected_extremes[1] += 1
    np.testing.assert_array_equal(stats.at_extremes, expected_extremes)
    np.testing.assert_array_equal(stats.q_min, [0, -128, 0, 0])


def test_progress_reaches_the_total() -> None:
    data = build([tensor(b"a", T.INT8, [3, 5], 1, scale=[1.0], zero_point=[0]),
                  tensor(b"b", T.INT4, [7], 2, scale=[1.0], zero_point=[0])],
                 buffers=[bytes(15), bytes(4)])
    calls: list[tuple[int, int]] = []
    found = model_weight_stats(tflparse.load(data), lambda done, total: calls.append((done,
                                                                                        total)))
    assert [f.name for f in found] == ["a", "b"]
    assert calls[-1] == (19, 19)
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))


@pytest.mark.skipif(not shared_model_paths(), reason="no shared models")
def test_shared_models_equal_numpy() -> None:
    """Every quantized constant of every shared model, against the whole-array oracle."""
    measured = 0
    for path in shared_model_paths():
        model = tflparse.load(str(path))
        for stats in model_weight_stats(model):
            t = model.subgraphs[stats.subgraph].tensors[stats.tensor]
            if int(t.type) not in TYPES:  # int32/int64 biases: compare the integers only
                values = t.to_array().astype(np.int64).reshape(len(stats.scale), -1) \
                    if stats.axis in (None, 0) else None
                if values is not None:
                    np.testing.assert_array_equal(stats.q_max, values.max(axis=1))
                continue
            check(stats, oracle(t, stats.channel_axis))
            measured += 1
    assert measured >= 200


def test_progress_pass_skips_a_buffer_outside_the_file() -> None:
    data = build([tensor(b"a", T.INT8, [4], 1, scale=[1.0], zero_point=[0]),
                  tensor(b"b", T.INT8, [4], 2, scale=[1.0], zero_point=[0])],
                 buffers=[bytes(4)], external={2: (1 << 20, 4)})
    model = tflparse.load(data)
    with pytest.raises(tflparse.InvalidModelError):
        model_weight_stats(model, lambda done, total: None)
    found = model_weight_stats(model, lambda done, total: None, skip_invalid=True)
    assert [s.name for s in found] == ["a"]
