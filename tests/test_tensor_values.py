"""Constant tensor values from the model view: dequantize() and densify.

``Tensor.dequantize()`` is checked against an independent float64 computation of
``(q - zero_point) * scale`` with its own parameters, on every quantized constant of the
real models. Densifying is checked against LiteRT's DENSIFY kernel: on the real sparse
MediaPipe model, and on one-operator DENSIFY models around generated CSR tensors.
(``Interpreter.get_tensor`` itself is compared with LiteRT's in test_differential.py.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import fixture_paths, shared_model_paths
from hypothesis import given, settings
from hypothesis import strategies as st

import tflparse
from tflparse import BuiltinOperator

MODELS = [p for p in fixture_paths() + shared_model_paths() if not p.name.startswith("FAIL_")]


def reference_dequantize(tensor: tflparse.model.Tensor) -> np.ndarray:
    """(q - zp) * scale in float64, rounded once to float32, from the raw parameters."""
    q = tensor.quantization
    assert q is not None and q.scale is not None and q.zero_point is not None
    values = tensor.to_array().astype(np.float64)
    scale = q.scale.astype(np.float64)
    zero_point = q.zero_point.astype(np.float64)
    if len(scale) > 1:
        shape = [1] * values.ndim
        shape[q.quantized_dimension] = len(scale)
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return ((values - zero_point) * scale).astype(np.float32)


def test_dequantize_matches_math() -> None:
    checked = 0
    for path in MODELS:
        model = tflparse.load(path)
        for subgraph in model.subgraphs:
            for tensor in subgraph.tensors:
                q = tensor.quantization
                if (not tensor.is_constant or q is None or q.scale is None or len(q.scale) == 0
                        or q.details_type != 0 or tensor.sparsity is not None
                        or tensor.to_array().dtype.kind not in "iu"):
                    continue
                if not (np.isfinite(q.scale).all() and (q.scale > 0).all()):
                    continue
                ours = tensor.dequantize()
                assert ours.dtype == np.float32
                np.testing.assert_array_equal(ours, reference_dequantize(tensor),
                                              err_msg=f"{path.name} tensor {tensor.index}")
                checked += 1
    assert checked >= (100 if shared_model_paths() else 2)


def test_blockwise_dequantize_uses_its_scale_tensor() -> None:
    model = tflparse.load(Path(__file__).parents[1] / "fixtures" / "features.tflite")
    tensors = model.subgraphs[0].tensors
    weights = next(t for t in tensors if t.name == "w_blockwise")
    scales = next(t for t in tensors if t.name == "w_blockwise/scales").to_array()
    expected = (weights.to_array().astype(np.float64)
                * np.repeat(scales.astype(np.float64), 4, axis=1)).astype(np.float32)
    np.testing.assert_array_equal(weights.dequantize(), expected)


def run_litert(data: bytes, outputs: list[int]) -> list[np.ndarray]:
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    Interpreter, OpResolverType = litert.Interpreter, litert.OpResolverType

    interpreter = Interpreter(
        model_content=data, experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    interpreter.invoke()
    return [interpreter.get_tensor(i) for i in outputs]


@pytest.mark.litert
def test_densify_matches_litert_on_real_sparse_model() -> None:
    paths = [p for p in shared_model_paths() if "sparse" in p.name and p.suffix == ".tflite"]
    if not paths:
        pytest.skip("no sparse shared model")
    for path in paths:
        model = tflparse.load(path)
        pairs = []
        for op in model.subgraphs[0].operators:
            if model.operator_codes[op.opcode_index].builtin_code == BuiltinOperator.DENSIFY:
                pairs.append((int(op.inputs[0]), int(op.outputs[0])))
        assert pairs, path.name
        theirs = run_litert(path.read_bytes(), [out for _, out in pairs])
        for (source, _), dense in zip(pairs, theirs):
            ours = model.subgraphs[0].tensors[source].to_array()
            assert ours.dtype == dense.dtype and ours.shape == dense.shape
            assert ours.tobytes() == dense.tobytes(), f"{path.name} tensor {source}"


def densify_model(rows: int, cols: int, segments: list[int], indices: list[int],
                  values: np.ndarray, vector_type: int) -> bytes:
    from model_builder import pack
    from model_builder import schema as s

    make = {1: s.Int32VectorT, 2: s.Uint16VectorT, 3: s.Uint8VectorT}[vector_type]
    sparsity = s.SparsityParametersT()
    sparsity.traversalOrder = [0, 1]
    dense = s.DimensionMetadataT()
    dense.format, dense.denseSize = s.DimensionType.DENSE, rows
    csr = s.DimensionMetadataT()
    csr.format = s.DimensionType.SPARSE_CSR
    seg, ind = make(), make()
    seg.values, ind.values = segments, indices
    csr.arraySegmentsType, csr.arraySegments = vector_type, seg
    csr.arrayIndicesType, csr.arrayIndices = vector_type, ind
    sparsity.dimMetadata = [dense, csr]
    weights = s.TensorT()
    weights.shape, weights.type, weights.buffer, weights.name = [rows, cols], 0, 1, "w"
    weights.sparsity = sparsity
    out = s.TensorT()
    out.shape, out.type, out.name = [rows, cols], 0, "dense"
    op = s.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = BuiltinOperator.DENSIFY
    subgraph = s.SubGraphT()
    subgraph.tensors, subgraph.inputs, subgraph.outputs = [weights, out], [], [1]
    subgraph.operators = [op]
    buffer = s.BufferT()
    buffer.data = np.frombuffer(values.astype(np.float32).tobytes(), np.uint8)
    model = s.ModelT()
    model.version, model.subgraphs, model.operatorCodes = 3, [subgraph], [code]
    model.buffers = [s.BufferT(), buffer, s.BufferT()]
    return pack(model)


@st.composite
def csr_tensors(draw: st.DrawFn) -> tuple[int, int, list[int], list[int], np.ndarray, int]:
    rows, cols = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    segments, indices = [0], []
    for r in range(rows):
        row = sorted(draw(st.sets(st.integers(0, cols - 1), min_size=int(r == 0),
                                  max_size=cols)))
        indices += row
        segments.append(len(indices))
    values = np.array(draw(st.lists(st.floats(-100, 100, width=32), min_size=len(indices),
                                    max_size=len(indices))), np.float32)
    return rows, cols, segments, indices, values, draw(st.sampled_from([1, 2, 3]))


@pytest.mark.litert
@settings(max_examples=40, deadline=None)
@given(csr_tensors())
def test_densify_matches_litert_densify_kernel(
        case: tuple[int, int, list[int], list[int], np.ndarray, int]) -> None:
    data = densify_model(*case)
    (theirs,) = run_litert(data, [1])
    ours = tflparse.load(data).subgraphs[0].tensors[0].to_array()
    assert ours.tobytes() == theirs.tobytes() and ours.shape == theirs.shape


def test_densify_scalar_is_its_one_stored_value() -> None:
    from tflparse._values import densify

    found = densify(np.array([7.5], np.float32), [], [], [], [])
    assert found.shape == () and found[()] == np.float32(7.5)
    with pytest.raises(tflparse.InvalidModelError):
        densify(np.zeros(0, np.float32), [], [], [], [])


def test_deep_sparsity_densifies_without_recursion() -> None:
    from handmade import sparse_chain

    tensor = tflparse.load(sparse_chain(1, 3000)).subgraphs[0].tensors[0]
    assert tensor.to_array().tolist() == [2.5]


@pytest.mark.parametrize("constant", [True, False])
def test_more_dimensions_than_numpy_allows_is_an_invalid_model(constant: bool) -> None:
    from handmade import high_rank, sparse_chain

    data = high_rank(70, constant=True) if constant else sparse_chain(70, 0)
    tensor = tflparse.load(data).subgraphs[0].tensors[0]
    with pytest.raises(tflparse.InvalidModelError, match="rank 70 is more than the 64"):
        tensor.to_array()


@st.composite
def sparse_encodings(draw: st.DrawFn) -> tuple[np.ndarray, list[int], list[int], list[dict],
                                                np.ndarray]:
    """A random matrix and its encoding in TFLite's sparsity format, written here from the
    format's definition: blocks or none, either traversal order, DENSE or CSR per level
    of the tensor's own dimensions."""
    block = draw(st.sampled_from([(1, 1), (2, 1), (1, 2), (2, 2)]))
    blocked = block != (1, 1)
    rows, cols = block[0] * draw(st.integers(1, 3)), block[1] * draw(st.integers(1, 3))
    matrix = np.array(draw(st.lists(st.sampled_from([0.0, 0.0, 1.5, -2.0, 3.25]),
                                    min_size=rows * cols, max_size=rows * cols)),
                      np.float32).reshape(rows, cols)
    order = draw(st.permutations([0, 1])) + ([2, 3] if blocked else [])
    # expanded dimension d has size sizes[d]; a leaf's expanded coordinates give its cell
    sizes = [rows // block[0], cols // block[1], *block] if blocked else [rows, cols]

    def cell(coords: dict[int, int]) -> tuple[int, int]:
        if not blocked:
            return coords[0], coords[1]
        return coords[0] * block[0] + coords[2], coords[1] * block[1] + coords[3]

    def nonzero_below(coords: dict[int, int], level: int) -> bool:
        if level == len(order):
            return bool(matrix[cell(coords)] != 0)
        d = order[level]
        return any(nonzero_below({**coords, d: i}, level + 1) for i in range(sizes[d]))

    # block dimensions are DENSE, as the converter writes them (LiteRT takes a block's size
    # from its dense_size)
    formats = [draw(st.sampled_from([0, 1])) if d < 2 else 0 for d in order]
    dims: list[dict] = [{"format": 0, "dense_size": sizes[d]} if f == 0 else
                        {"format": 1, "array_segments": [0], "array_indices": []}
                        for d, f in zip(order, formats)]
    values: list[float] = []

    def encode(coords: dict[int, int], level: int) -> None:
        if level == len(order):
            values.append(float(matrix[cell(coords)]))
            return
        d = order[level]
        for i in range(sizes[d]):
            child = {**coords, d: i}
            if formats[level] == 0 or nonzero_below(child, level + 1):
                if formats[level] == 1:
                    dims[level]["array_indices"].append(i)
                encode(child, level + 1)
        if formats[level] == 1:  # one segment per parent node, in traversal order
            dims[level]["array_segments"].append(len(dims[level]["array_indices"]))

    encode({}, 0)
    return matrix, order, [0, 1] if blocked else [], dims, np.array(values, np.float32)


@settings(max_examples=300, deadline=None)
@given(sparse_encodings())
def test_densify_inverts_an_independent_encoder(case: tuple) -> None:
    from tflparse._values import densify

    matrix, order, block_map, dims, values = case
    found = densify(values, list(matrix.shape), order, block_map, dims)
    assert found.tobytes() == matrix.tobytes()
