"""Small models built by hand with the official bindings, for cases generators rarely reach."""

from __future__ import annotations

import flatbuffers
import numpy as np
import pytest

s = pytest.importorskip("ai_edge_litert.schema_py_generated")


def build_model(tensors: list[object], buffers: list[object]) -> bytes:
    subgraph = s.SubGraphT()
    subgraph.tensors, subgraph.inputs, subgraph.outputs = tensors, [0], [0]
    model = s.ModelT()
    model.version, model.subgraphs, model.buffers = 3, [subgraph], buffers
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def tensor(shape: list[int], tensor_type: int, buffer: int = 0, **fields: object) -> object:
    t = s.TensorT()
    t.shape, t.type, t.buffer, t.name = shape, tensor_type, buffer, "t"
    for key, value in fields.items():
        setattr(t, key, value)
    return t


def buffer(data: bytes | None = None) -> object:
    b = s.BufferT()
    b.data = None if data is None else np.frombuffer(data, np.uint8)
    return b


def sparse_chain(rank: int, block_dims: int) -> bytes:
    """A FLOAT32 constant of shape [1] * rank, sparse with ``block_dims`` block dimensions,
    every dimension DENSE of size 1: one stored value behind rank + block_dims levels."""
    sparsity = s.SparsityParametersT()
    sparsity.traversalOrder = list(range(rank + block_dims))
    sparsity.blockMap = [0] * block_dims
    dims = []
    for _ in range(rank + block_dims):
        dim = s.DimensionMetadataT()
        dim.format, dim.denseSize = s.DimensionType.DENSE, 1
        dims.append(dim)
    sparsity.dimMetadata = dims
    return build_model([tensor([1] * rank, s.TensorType.FLOAT32, 1, sparsity=sparsity)],
                  [buffer(), buffer(np.float32(2.5).tobytes())])


def high_rank(rank: int, constant: bool) -> bytes:
    """A FLOAT32 tensor of shape [1] * rank: a constant, or a non-constant of zero size."""
    if constant:
        return build_model([tensor([1] * rank, s.TensorType.FLOAT32, 1)],
                      [buffer(), buffer(np.float32(2.5).tobytes())])
    return build_model([tensor([0] + [1] * (rank - 1), s.TensorType.FLOAT32, 0)], [buffer()])
