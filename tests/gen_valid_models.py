"""Hypothesis strategies for TFLite models, built with the official generated bindings.

``models()`` draws small models covering every schema feature the detail dictionaries
depend on: every TensorType; no, empty, per-tensor, per-axis (any quantized dimension),
blockwise and multi-axis quantization, min/max only, custom details, int64 zero points beyond
int32, special float scales; sparsity with DENSE and SPARSE_CSR dimensions and every index
vector type; unnamed, empty, duplicate, non-ASCII, NUL-holding and non-UTF-8 names; scalar and
empty shapes; shape signatures absent, present, with -1; variable tensors; constants inline,
empty, at offset/size after the flatbuffer; several subgraphs; zero to three signatures;
optional (-1) and out-of-range inputs; a few operators. Most models are valid; a minority hit
the runtime's rejection rules on purpose.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from model_builder import pack_with_external, string_buffer
from model_builder import schema as s

BITS = {0: 32, 1: 16, 2: 32, 3: 8, 4: 64, 6: 8, 7: 16, 8: 64, 9: 8, 10: 64, 11: 128, 12: 64,
        15: 32, 16: 16, 17: 4, 18: 16, 19: 2, 20: 4, 21: 8, 22: 8}
STRINGLIKE = (5, 13, 14)
NAMES = st.sampled_from([None, "", "x", "y", "x", "é", "a\x00b", b"\xff\xfe", "conv/w:0"])
SIGNATURE_NAMES = st.sampled_from(["a", "b", "B", "_", "é", "x\x00y", "zz"])
FLOATS = st.one_of(
    st.floats(0.0009765625, 8.0, width=32),
    st.sampled_from([0.0, -0.0, -1.5, 1e-40, float("inf"), float("nan"), 0.1]),
)


def _rare(draw: Any, p: float = 0.1) -> bool:
    return draw(st.floats(0, 1)) < p


@st.composite
def shapes(draw: Any) -> list[int] | None:
    if _rare(draw, 0.15):
        return draw(st.sampled_from([None, []]))
    dims = draw(st.lists(st.integers(0, 4), min_size=1, max_size=4))
    if _rare(draw, 0.03):
        dims[0] = -1
    return dims


@st.composite
def quantization(draw: Any, shape: list[int] | None, n_tensors: int
                 ) -> s.QuantizationParametersT | None:
    kind = draw(st.sampled_from(["none", "absent", "empty", "tensor", "axis", "axis", "minmax",
                                 "blockwise", "multiaxis", "custom", "broken"]))
    if kind == "absent":
        return None
    q = s.QuantizationParametersT()
    rank = len(shape or [])
    if kind == "empty":
        q.scale, q.zeroPoint = [], draw(st.sampled_from([None, [], [0]]))
    elif kind in ("tensor", "custom"):
        q.scale = [draw(FLOATS)]
        q.zeroPoint = [draw(st.integers(-(2**40), 2**40) | st.integers(-128, 255))]
        q.quantizedDimension = draw(st.integers(0, max(rank - 1, 0)))
        if kind == "custom":
            q.detailsType = s.QuantizationDetails.CustomQuantization
            q.details = s.CustomQuantizationT()
            q.details.custom = list(draw(st.binary(max_size=6)))
    elif kind == "axis":
        axis = draw(st.integers(0, max(rank - 1, 0)))
        count = shape[axis] if rank and shape is not None else draw(st.integers(2, 3))
        q.scale = [draw(FLOATS) for _ in range(count)]
        q.zeroPoint = [draw(st.integers(-5, 5)) for _ in range(count)]
        q.quantizedDimension = axis
    elif kind == "minmax":
        q.min, q.max = [draw(FLOATS)], [draw(FLOATS)]
    elif kind == "blockwise":
        details = s.BlockwiseQuantizationT()
        details.scales = draw(st.integers(0, n_tensors - 1) | st.just(n_tensors + 3))
        details.zeroPoints = draw(st.sampled_from([-1, 0, n_tensors - 1]))
        details.blockSize = draw(st.integers(0, 64))
        details.blockShape = draw(st.sampled_from([None, [1, 32]]))
        q.detailsType, q.details = s.QuantizationDetails.BlockwiseQuantization, details
        q.scale, q.zeroPoint = draw(st.sampled_from([(None, None), ([0.5], [0])]))
        q.quantizedDimension = draw(st.integers(0, 3))
    elif kind == "multiaxis":
        details = s.MultiAxisQuantizationT()
        details.scales = draw(st.integers(0, n_tensors - 1))
        details.zeroPoints = draw(st.sampled_from([-1, 0]))
        details.blockSize = draw(st.integers(0, 8))
        details.quantizedDimensions = [draw(st.integers(0, max(rank - 1, 0)))]
        if _rare(draw, 0.2):
            details.quantizedDimensions = draw(st.sampled_from([None, [], [7], [-1]]))
        q.detailsType, q.details = s.QuantizationDetails.MultiAxisQuantization, details
    elif kind == "broken":
        choice = draw(st.integers(0, 3))
        q.scale = [0.5, 0.25]
        q.zeroPoint = [[0], None, [0, 0], [0, 0]][choice]
        q.quantizedDimension = [0, 0, -1, 9][choice]
    return q


@st.composite
def sparsity(draw: Any, shape: list[int] | None) -> tuple[s.SparsityParametersT, int]:
    """Sparsity parameters for a rank-2 style traversal and the number of stored values."""
    sp = s.SparsityParametersT()
    rows, cols = 2, 3
    sp.traversalOrder = [0, 1]
    dense = s.DimensionMetadataT()
    dense.format, dense.denseSize = s.DimensionType.DENSE, draw(st.sampled_from([rows, -1]))
    csr = s.DimensionMetadataT()
    csr.format = s.DimensionType.SPARSE_CSR
    vector_type = draw(st.sampled_from([1, 2, 3]))
    make = {1: s.Int32VectorT, 2: s.Uint16VectorT, 3: s.Uint8VectorT}[vector_type]
    segments, indices = make(), make()
    segments.values, indices.values = [0, 1, 3], [2, 0, 1]
    csr.arraySegmentsType, csr.arraySegments = vector_type, segments
    csr.arrayIndicesType, csr.arrayIndices = vector_type, indices
    sp.dimMetadata = [dense, csr]
    if _rare(draw, 0.2):
        sp.blockMap = [0]
    if _rare(draw, 0.1):
        broken = draw(st.integers(0, 2))
        if broken == 0:
            sp.traversalOrder = None
        elif broken == 1:
            dense.format = 2
        else:
            csr.arraySegmentsType = 0
    _ = (cols, shape)
    return sp, 3


@st.composite
def tensors(draw: Any, n_tensors: int, buffers: list[s.BufferT],
            external: list[tuple[s.BufferT, bytes]]) -> list[s.TensorT]:
    out = []
    for _ in range(n_tensors):
        t = s.TensorT()
        t.type = draw(st.integers(0, 22))
        if _rare(draw, 0.02):
            t.type = draw(st.sampled_from([23, -1]))
        t.shape = draw(shapes())
        t.name = draw(NAMES)
        t.shapeSignature = draw(st.sampled_from([None, [], "same", "dynamic", [5, 7]]))
        if t.shapeSignature == "same":
            t.shapeSignature = list(t.shape or [])
        elif t.shapeSignature == "dynamic":
            t.shapeSignature = [-1, *(t.shape or [])[1:]]
        t.isVariable = _rare(draw, 0.08)
        t.quantization = draw(quantization(t.shape, n_tensors))
        where = draw(st.sampled_from(["arena", "arena", "inline", "inline", "external", "empty",
                                      "buffer0", "sparse"]))
        count = int(np.prod(t.shape or [], dtype=np.int64)) if min(t.shape or [0]) >= 0 else 0
        bits = BITS.get(t.type, 8)
        if where in ("inline", "external", "empty", "sparse"):
            if where == "sparse":
                t.sparsity, stored = draw(sparsity(t.shape))
            if t.type in STRINGLIKE and _rare(draw, 0.05):  # a negative count: no entries
                data = np.array([draw(st.integers(-(2**31), -1)), 0], "<i4").tobytes()
            elif t.type in STRINGLIKE:  # a string buffer counts its entries, sparse or not
                data = string_buffer([draw(st.binary(max_size=3))
                                      for _ in range(draw(st.integers(0, max(count, 0))))])
            elif where == "sparse":  # random values, so a misplaced one shows
                size = max(bits // 8, 1) * stored
                data = draw(st.binary(min_size=size, max_size=size))
            elif where == "empty":
                data = b""
            else:
                size = (count * bits + 7) // 8
                size += draw(st.sampled_from([0, 0, 0, 3, -1])) if size else 0
                data = draw(st.binary(min_size=max(size, 0), max_size=max(size, 0)))
            buffer = s.BufferT()
            if where == "external":
                buffer.offset, buffer.size = 1 << 40, 1 << 40  # placed after packing
                external.append((buffer, data))
            else:
                buffer.data = np.frombuffer(data, np.uint8)
            buffers.append(buffer)
            t.buffer = len(buffers) - 1
        elif where == "buffer0":
            t.buffer = 0
        if _rare(draw, 0.02):
            t.buffer = len(buffers) + 5
        out.append(t)
    return out


@st.composite
def subgraph(draw: Any, buffers: list[s.BufferT], external: list[tuple[s.BufferT, bytes]]
             ) -> s.SubGraphT:
    n = draw(st.integers(1, 5))
    sg = s.SubGraphT()
    sg.tensors = draw(tensors(n, buffers, external))
    index = st.integers(0, n - 1)
    sg.inputs = draw(st.lists(index | st.just(-1) if _rare(draw, 0.1) else index, max_size=3))
    sg.outputs = draw(st.lists(index, max_size=2))
    if _rare(draw, 0.05):
        sg.inputs = [0, n + 3]
    sg.name = draw(st.sampled_from([None, "main"]))
    ops = []
    for _ in range(draw(st.integers(0, 2))):
        op = s.OperatorT()
        op.opcodeIndex = draw(st.integers(0, 1))
        op.inputs = draw(st.lists(index | st.just(-1), min_size=1, max_size=3))
        op.outputs = draw(st.lists(index, min_size=1, max_size=1))
        if _rare(draw, 0.05):
            op.inputs = [n + 7]
        if op.opcodeIndex == 0:
            op.builtinOptionsType = s.BuiltinOptions.AddOptions
            op.builtinOptions = s.AddOptionsT()
        ops.append(op)
    sg.operators = ops
    return sg


@st.composite
def signatures(draw: Any, subgraphs: list[s.SubGraphT]) -> list[s.SignatureDefT] | None:
    count = draw(st.integers(0, 3))
    if count == 0:
        return draw(st.sampled_from([None, []]))
    out = []
    for _ in range(count):
        sig = s.SignatureDefT()
        sig.signatureKey = draw(st.sampled_from(["serving_default", "a", "b", "", "a"]))
        sig.subgraphIndex = draw(st.integers(0, len(subgraphs) - 1))
        n = len(subgraphs[sig.subgraphIndex].tensors)
        maps = []
        for _ in range(draw(st.integers(0, 3))):
            m = s.TensorMapT()
            m.name = draw(SIGNATURE_NAMES | st.none())
            m.tensorIndex = draw(st.integers(0, n - 1))
            maps.append(m)
        sig.inputs = maps
        sig.outputs = [m for m in maps[:1]]
        out.append(sig)
    return out


@st.composite
def models(draw: Any) -> bytes:
    """A small model as bytes (constants at offset/size are appended after the flatbuffer)."""
    buffers: list[s.BufferT] = [s.BufferT()]
    external: list[tuple[s.BufferT, bytes]] = []
    model = s.ModelT()
    model.version = 3 if not _rare(draw, 0.02) else 2
    model.subgraphs = [draw(subgraph(buffers, external)) for _ in range(draw(st.integers(1, 3)))]
    model.buffers = buffers
    add = s.OperatorCodeT()
    add.builtinCode, add.deprecatedBuiltinCode, add.version = 0, 0, draw(st.sampled_from([1, 2]))
    custom = s.OperatorCodeT()
    custom.builtinCode, custom.deprecatedBuiltinCode, custom.customCode = 32, 32, "MyOp"
    model.operatorCodes = [add, custom]
    model.signatureDefs = draw(signatures(model.subgraphs))
    # the data after the flatbuffer, 16-byte aligned
    by_index = {next(i for i, b in enumerate(buffers) if b is buffer): data
                for buffer, data in external}
    return pack_with_external(model, by_index)
