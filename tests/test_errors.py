"""InvalidModelError carries where it happened as attributes, and keeps its causes."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

import tflparse
from tflparse import InvalidModelError

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "mnist_int8.tflite"


def test_not_a_model_is_located_at_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "x.tflite"
    path.write_bytes(b"GGUF" + bytes(60))
    with pytest.raises(InvalidModelError) as caught:
        tflparse.load(path)
    error = caught.value
    assert error.location == "model"
    assert str(error) == f"{path}: {error.reason}"
    assert error.reason.startswith("not a TFLite model: ")


def test_message_starts_with_the_location_and_names_the_offset() -> None:
    data = bytearray(FIXTURE.read_bytes())
    # the root offset points past the end: the error is at the root, at byte 0
    struct.pack_into("<I", data, 0, len(data) + 8)
    with pytest.raises(InvalidModelError) as caught:
        tflparse.load(bytes(data)).subgraphs  # noqa: B018
    error = caught.value
    assert error.location == "root offset"
    assert error.offset == 0
    assert str(error) == f"{error.location}: {error.reason}"
    assert f"{len(data) + 8:#x}" in error.reason


def test_truncated_model_names_the_part_it_could_not_read() -> None:
    data = FIXTURE.read_bytes()
    with pytest.raises(InvalidModelError) as caught:
        model = tflparse.load(data[: len(data) // 2])
        for subgraph in model.subgraphs:
            for tensor in subgraph.tensors:
                tensor.shape  # noqa: B018
                tensor.name  # noqa: B018
    error = caught.value
    assert error.location == "subgraphs"  # the subgraph vector lies in the lost half
    assert str(error) == f"{error.location}: {error.reason}"
    assert error.offset is not None and 0 <= error.offset < len(data) // 2


def test_interpreter_refusal_keeps_the_location_and_the_cause() -> None:
    data = bytearray(FIXTURE.read_bytes())
    struct.pack_into("<I", data, 0, len(data) + 8)
    with pytest.raises(InvalidModelError) as caught:
        tflparse.Interpreter(model_content=bytes(data))
    error = caught.value
    assert str(error).startswith("The model is not a valid Flatbuffer buffer (")
    assert isinstance(error.__cause__, InvalidModelError)
    assert error.location == error.__cause__.location
    assert error.offset == error.__cause__.offset


def test_sparse_decoding_error_is_located_and_chains_its_cause() -> None:
    from types import SimpleNamespace

    import numpy as np

    from tflparse._values import densify_sparsity

    # one SPARSE_CSR dimension whose segment [0, 5) runs past its single index
    dim = SimpleNamespace(format=1, dense_size=0, array_segments=np.array([0, 5]),
                          array_indices=np.array([0]))
    sparsity = SimpleNamespace(traversal_order=np.array([0]), block_map=None,
                               dim_metadata=(dim,))
    where = "subgraphs[0].tensors[3].sparsity"
    with pytest.raises(InvalidModelError) as caught:
        densify_sparsity(np.zeros(1, np.int8), [2], sparsity, where, 100)  # type: ignore[arg-type]
    error = caught.value
    assert error.location == where
    assert str(error).startswith(f"{where}: sparsity: dimension 0 segment [0, 5)")
    assert isinstance(error.__cause__, InvalidModelError)


def test_broken_shape_vector_is_located_at_its_dotted_path_and_offset() -> None:
    from tflparse._schema import Tensor

    data = bytearray(FIXTURE.read_bytes())
    table = tflparse.load(bytes(data)).subgraphs[0].tensors[1]._table
    field_pos = table.pos + struct.unpack_from("<H", data, table.vt + Tensor.SHAPE.voffset)[0]
    target = field_pos + struct.unpack_from("<I", data, field_pos)[0]
    struct.pack_into("<I", data, target, 0x40000000)  # a shape of 2**30 dimensions
    tensors = tflparse.load(bytes(data)).subgraphs[0].tensors
    with pytest.raises(InvalidModelError) as caught:
        tensors[1]  # noqa: B018
    error = caught.value
    assert error.location == "subgraphs[0].tensors[1].shape"
    assert error.offset == target  # where the vector's length is stored
    assert tensors[0].path == "subgraphs[0].tensors[0]"
