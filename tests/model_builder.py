"""The one place tests turn models into bytes: packing, external buffers, string buffers, and
small one-subgraph models.

Models are the object API of the generated bindings that ai-edge-litert ships (``ModelT``
and friends, re-exported here as ``schema``); importing this module skips the importing test
module when they or ``flatbuffers`` are missing.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

flatbuffers = pytest.importorskip("flatbuffers")
schema = pytest.importorskip("ai_edge_litert.schema_py_generated")

__all__ = ["schema", "pack", "pack_with_external", "string_buffer", "buffer", "tensor",
           "one_subgraph_model"]


def pack(model: Any) -> bytes:
    """A ``ModelT`` as the bytes of a ``.tflite`` file (with the ``TFL3`` identifier)."""
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def pack_with_external(model: Any, external: dict[int, bytes] | None = None) -> bytes:
    """Pack ``model``; ``external`` maps buffer index to bytes stored after the flatbuffer
    (each 16-byte aligned) and referenced by ``Buffer.offset/size``."""
    if not external:
        return pack(model)
    for index, payload in external.items():  # placeholders: the fields must be present
        model.buffers[index].data = None
        model.buffers[index].offset = 1 << 40
        model.buffers[index].size = len(payload) or 1
    size = len(pack(model))
    # packing again with the final offsets can change the flatbuffer's length: repeat
    for _ in range(4):
        position = -(-size // 16) * 16
        tail = bytearray()
        for index, payload in external.items():
            model.buffers[index].offset = position + len(tail)
            model.buffers[index].size = len(payload)
            tail += payload + b"\0" * (-len(payload) % 16)
        data = pack(model)
        if len(data) == size:
            return data + b"\0" * (position - size) + bytes(tail)
        size = len(data)
    raise AssertionError("the flatbuffer size did not settle")


def string_buffer(items: Sequence[bytes]) -> bytes:
    """The TFLite string-tensor layout: int32 N, int32 offsets[N+1] from the buffer start,
    then the bytes."""
    offsets = [4 * (len(items) + 2)]
    for item in items:
        offsets.append(offsets[-1] + len(item))
    return struct.pack(f"<{len(items) + 2}i", len(items), *offsets) + b"".join(items)


def buffer(data: bytes | None = None) -> Any:
    """A ``BufferT`` holding ``data`` (None: no data field)."""
    entry = schema.BufferT()
    entry.data = None if data is None else np.frombuffer(data, np.uint8)
    return entry


def tensor(name: bytes | str | None, tensor_type: int, shape: list[int] | None,
           buffer: int = 0, *, scale: list[float] | None = None,
           zero_point: list[int] | None = None, axis: int = 0,
           blockwise: tuple[int, int, int] | None = None, **fields: Any) -> Any:
    """A ``TensorT``; ``blockwise`` = (scales tensor, zero_points tensor, block_size); other
    ``TensorT`` fields by their object-API names (``sparsity=...``, ``quantization=...``)."""
    t = schema.TensorT()
    t.name, t.type, t.shape, t.buffer = name, tensor_type, shape, buffer
    if scale is not None or zero_point is not None or blockwise is not None:
        q = schema.QuantizationParametersT()
        q.scale = scale
        q.zeroPoint = zero_point
        q.quantizedDimension = axis
        if blockwise is not None:
            details = schema.BlockwiseQuantizationT()
            details.scales, details.zeroPoints, details.blockSize = blockwise
            q.detailsType = schema.QuantizationDetails.BlockwiseQuantization
            q.details = details
        t.quantization = q
    for key, value in fields.items():
        setattr(t, key, value)
    return t


def one_subgraph_model(tensors: list[Any],
                       operators: Sequence[tuple[int, list[int], list[int]]] = (),
                       buffers: Sequence[bytes | None | Any] | None = None,
                       inputs: list[int] | None = None, outputs: list[int] | None = None,
                       version: int = 3, external: dict[int, tuple[int, int]] | None = None
                       ) -> bytes:
    """A model of one subgraph as bytes.

    ``operators`` are (builtin code, inputs, outputs), version 1; ``buffers[i]`` is buffer
    i+1 (buffer 0 is the empty one): its data, None, or a ready ``BufferT``; ``external``
    sets buffer index -> (offset, size) as given.
    """
    model = schema.ModelT()
    model.version = version
    codes: list[int] = []
    ops = []
    for builtin, op_inputs, op_outputs in operators:
        if builtin not in codes:
            codes.append(builtin)
        op = schema.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = codes.index(builtin), op_inputs, op_outputs
        ops.append(op)
    model.operatorCodes = []
    for builtin in codes:
        code = schema.OperatorCodeT()
        code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, min(builtin, 127), 1
        model.operatorCodes.append(code)
    graph = schema.SubGraphT()
    graph.tensors, graph.operators = tensors, ops
    graph.inputs = [] if inputs is None else inputs
    graph.outputs = [] if outputs is None else outputs
    model.subgraphs = [graph]
    model.buffers = [schema.BufferT()]
    for data in buffers or []:
        is_data = data is None or isinstance(data, (bytes, bytearray))
        model.buffers.append(buffer(data) if is_data else data)
    for index, (offset, size) in (external or {}).items():
        while len(model.buffers) <= index:
            model.buffers.append(schema.BufferT())
        model.buffers[index].offset, model.buffers[index].size = offset, size
    return pack(model)
