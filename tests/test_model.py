"""The model view against the official generated bindings, field by field.

The object API of the bindings that ai-edge-litert ships unpacks a whole model into Python
objects; every field our lazy view exposes must equal it, on every real model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import fixture_paths, shared_models_param

import tflparse


def same_vector(ours: np.ndarray | None, theirs: Any) -> None:
    """A vector of ours (None = absent) equals the object API's (None or list/ndarray)."""
    if theirs is None:
        assert ours is None or len(ours) == 0  # the object API drops empty vectors sometimes
        return
    assert ours is not None
    expected = np.asarray(theirs)
    if ours.dtype.kind == "f":
        assert np.array_equal(ours, expected.astype(ours.dtype), equal_nan=True)
    else:
        assert ours.tolist() == expected.tolist()


def check_model(path: Path) -> None:
    # only the comparisons need the bindings: the other tests here run without them
    official = pytest.importorskip("ai_edge_litert.schema_py_generated")
    data = path.read_bytes()
    ref = official.ModelT.InitFromObj(official.Model.GetRootAs(data, 0))
    model = tflparse.load(path)
    assert model.version == ref.version
    assert (model.description.encode() if model.description is not None else None) == (
        ref.description)
    assert len(model.buffers) == len(ref.buffers or [])
    for ours, theirs in zip(model.buffers, ref.buffers or []):
        assert ours.offset == theirs.offset and ours.size == theirs.size
        if theirs.data is not None:
            assert bytes(ours.data or b"") == bytes(np.asarray(theirs.data, np.uint8))
    assert len(model.operator_codes) == len(ref.operatorCodes or [])
    for code, ref_code in zip(model.operator_codes, ref.operatorCodes or []):
        assert code.deprecated_builtin_code == ref_code.deprecatedBuiltinCode
        assert code.builtin_code_field == ref_code.builtinCode
        assert code.builtin_code == max(ref_code.builtinCode, ref_code.deprecatedBuiltinCode)
        assert code.custom_code_bytes == ref_code.customCode
        assert code.version == ref_code.version
    assert len(model.subgraphs) == len(ref.subgraphs or [])
    for subgraph, ref_sub in zip(model.subgraphs, ref.subgraphs or []):
        check_subgraph(subgraph, ref_sub)
    signatures = model.signature_defs
    assert len(signatures) == len(ref.signatureDefs or [])
    for sig, ref_sig in zip(signatures, ref.signatureDefs or []):
        assert sig.key_bytes == ref_sig.signatureKey
        assert sig.subgraph_index == ref_sig.subgraphIndex
        for ours_maps, ref_maps in ((sig.inputs, ref_sig.inputs), (sig.outputs, ref_sig.outputs)):
            assert [(m.name_bytes, m.tensor_index) for m in ours_maps or ()] == [
                (m.name, m.tensorIndex) for m in ref_maps or []]
    assert [(m.name_bytes, m.buffer) for m in model.metadata] == [
        (m.name, m.buffer) for m in ref.metadata or []]


def check_subgraph(subgraph: Any, ref_sub: Any) -> None:
    assert (subgraph.name.encode() if ref_sub.name is not None else None) == ref_sub.name
    same_vector(subgraph.inputs, ref_sub.inputs)
    same_vector(subgraph.outputs, ref_sub.outputs)
    assert len(subgraph.tensors) == len(ref_sub.tensors or [])
    for tensor, ref_t in zip(subgraph.tensors, ref_sub.tensors or []):
        assert tensor.name_bytes == ref_t.name
        same_vector(tensor.shape, ref_t.shape)
        same_vector(tensor.shape_signature, ref_t.shapeSignature)
        assert tensor.type == ref_t.type
        assert tensor.buffer == ref_t.buffer
        assert tensor.is_variable == ref_t.isVariable
        assert tensor.has_rank == ref_t.hasRank
        check_quantization(tensor.quantization, ref_t.quantization)
        check_sparsity(tensor.sparsity, ref_t.sparsity)
    assert len(subgraph.operators) == len(ref_sub.operators or [])
    for op, ref_op in zip(subgraph.operators, ref_sub.operators or []):
        assert op.opcode_index == ref_op.opcodeIndex
        same_vector(op.inputs, ref_op.inputs)
        same_vector(op.outputs, ref_op.outputs)
        same_vector(op.intermediates, ref_op.intermediates)
        assert op.builtin_options_type == ref_op.builtinOptionsType
        if ref_op.customOptions is not None:
            assert bytes(op.custom_options or b"") == bytes(np.asarray(ref_op.customOptions,
                                                                        np.uint8))


def check_quantization(q: Any, ref_q: Any) -> None:
    if ref_q is None:
        assert q is None
        return
    same_vector(q.scale, ref_q.scale)
    same_vector(q.zero_point, ref_q.zeroPoint)
    same_vector(q.min, ref_q.min)
    same_vector(q.max, ref_q.max)
    assert q.quantized_dimension == ref_q.quantizedDimension
    assert q.details_type == ref_q.detailsType
    details = q.details
    if ref_q.details is None:
        assert details is None
    elif ref_q.detailsType == tflparse.QuantizationDetails.BlockwiseQuantization:
        assert (details.scales, details.zero_points, details.block_size) == (
            ref_q.details.scales, ref_q.details.zeroPoints, ref_q.details.blockSize)
        same_vector(details.block_shape, ref_q.details.blockShape)


def check_sparsity(sp: Any, ref_sp: Any) -> None:
    if ref_sp is None:
        assert sp is None
        return
    same_vector(sp.traversal_order, ref_sp.traversalOrder)
    same_vector(sp.block_map, ref_sp.blockMap)
    assert len(sp.dim_metadata or ()) == len(ref_sp.dimMetadata or [])
    for dim, ref_dim in zip(sp.dim_metadata or (), ref_sp.dimMetadata or []):
        assert dim.format == ref_dim.format and dim.dense_size == ref_dim.denseSize
        assert dim.array_segments_type == ref_dim.arraySegmentsType
        assert dim.array_indices_type == ref_dim.arrayIndicesType
        if ref_dim.arraySegments is not None:
            same_vector(dim.array_segments, ref_dim.arraySegments.values)
        if ref_dim.arrayIndices is not None:
            same_vector(dim.array_indices, ref_dim.arrayIndices.values)


@pytest.mark.parametrize("path", shared_models_param())
def test_view_matches_official_bindings_on_shared_models(path: Path) -> None:
    check_model(path)


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in fixture_paths()])
def test_view_matches_official_bindings_on_fixtures(path: Path) -> None:
    check_model(path)


def test_load_accepts_every_source_kind(tmp_path: Path) -> None:
    paths = fixture_paths()
    if not paths:
        pytest.skip("fixtures not built")
    data = paths[0].read_bytes()
    for source in (paths[0], str(paths[0]), data, bytearray(data), memoryview(data)):
        model = tflparse.load(source)
        assert model.size == len(data)
        assert len(model.subgraphs) >= 1


def test_arrays_are_read_only_views() -> None:
    paths = fixture_paths()
    if not paths:
        pytest.skip("fixtures not built")
    tensor = tflparse.load(paths[0]).subgraphs[0].tensors[0]
    with pytest.raises(ValueError):
        tensor.shape[0] = 5
