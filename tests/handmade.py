"""Small models built by hand with the official bindings, for cases generators rarely reach."""

from __future__ import annotations

import numpy as np
from model_builder import buffer, pack
from model_builder import schema as s
from model_builder import tensor as named_tensor

__all__ = ["s", "buffer", "tensor", "build_model", "sparse_chain", "high_rank"]


def build_model(tensors: list[object], buffers: list[object]) -> bytes:
    """One subgraph whose input and output are tensor 0; ``buffers`` include buffer 0."""
    subgraph = s.SubGraphT()
    subgraph.tensors, subgraph.inputs, subgraph.outputs = tensors, [0], [0]
    model = s.ModelT()
    model.version, model.subgraphs, model.buffers = 3, [subgraph], buffers
    return pack(model)


def tensor(shape: list[int], tensor_type: int, buffer: int = 0, **fields: object) -> object:
    """A tensor named ``t``."""
    return named_tensor("t", tensor_type, shape, buffer, **fields)


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
