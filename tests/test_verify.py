"""The verifier on hand-made hostile bytes: Interpreter refuses, saying what and where, as
LiteRT's verifier refuses; load() still reads what it can.

The corrupted-model differential test (tests/test_differential.py) checks the verdicts against
LiteRT on thousands of inputs; these pin down the messages.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from conftest import ROOT, fixture_paths, shared_model_paths
from fuzzing import fuzz_inputs
from hypothesis import HealthCheck, given, settings

import tflparse
from tflparse import InvalidModelError
from tflparse import _schema as S

MNIST = ROOT / "fixtures" / "mnist_int8.tflite"
EXAMPLES = int(os.environ.get("TFLPARSE_FUZZ_EXAMPLES", "300"))


def name_position(data: bytes, index: int) -> tuple[int, int]:
    """(byte start, length) of tensor ``index``'s name in subgraph 0."""
    columns = tflparse.load(data).subgraphs[0].tensor_columns
    return int(columns.name_start[index]), int(columns.name_count[index])


def litert_refuses(data: bytes) -> str | None:
    """LiteRT's message when it refuses to construct, None when it accepts (skip without it)."""
    interpreter = pytest.importorskip("ai_edge_litert.interpreter")
    try:
        interpreter.Interpreter(model_content=data)
    except ValueError as error:
        return str(error)
    return None


@pytest.mark.litert
def test_string_without_its_nul_is_refused_as_litert_does() -> None:
    data = bytearray(Path(MNIST).read_bytes())
    start, length = name_position(bytes(data), 1)
    data[start + length] = ord("X")  # the terminator FlatBuffers writes after every string
    data = bytes(data)
    with pytest.raises(InvalidModelError, match=(
            r"^The model is not a valid Flatbuffer buffer \(subgraphs\[0\]\.tensors\[1\]\.name: "
            r"string at 0x[0-9a-f]+ is not NUL-terminated\)$")):
        tflparse.Interpreter(model_content=data)
    assert tflparse.load(data).subgraphs[0].tensors[1].name  # the model view still reads it
    assert litert_refuses(data) == "The model is not a valid Flatbuffer buffer"


@pytest.mark.litert
def test_misaligned_field_is_refused_as_litert_does() -> None:
    data = bytearray(Path(MNIST).read_bytes())
    vtable = int(tflparse.load(bytes(data)).subgraphs[0].tensor_columns.rows.vt[0])
    (offset,) = struct.unpack_from("<H", data, vtable + S.Tensor.BUFFER.voffset)
    struct.pack_into("<H", data, vtable + S.Tensor.BUFFER.voffset, offset + 1)  # uint32 at odd
    data = bytes(data)
    with pytest.raises(InvalidModelError, match=(
            r"^The model is not a valid Flatbuffer buffer \(subgraphs\[0\]\.tensors\[0\]\."
            r"buffer: 4-byte field at 0x[0-9a-f]+ is misaligned or past the end\)$")):
        tflparse.Interpreter(model_content=data)
    tflparse.load(data).subgraphs[0].tensors[0].buffer  # noqa: B018 - the view reads it
    assert litert_refuses(data) == "The model is not a valid Flatbuffer buffer"


@pytest.mark.litert
def test_offset_outside_the_file_is_refused_as_litert_does() -> None:
    data = bytearray(Path(MNIST).read_bytes())
    start, _ = name_position(bytes(data), 0)
    # the name's offset slot: the name vector starts 4 bytes before its characters; find the
    # uoffset in the tensor table that points there and make it point past the end
    vector = start - 4
    for slot in range(0, len(data) - 4, 4):
        if slot + struct.unpack_from("<I", data, slot)[0] == vector:
            struct.pack_into("<I", data, slot, len(data) + 64 - slot)
            break
    else:
        pytest.fail("no offset points at the name")
    data = bytes(data)
    with pytest.raises(InvalidModelError, match=r"subgraphs\[0\]\.tensors\[0\]\.name: offset at "
                                                r"0x[0-9a-f]+ points to 0x[0-9a-f]+, outside the "
                                                r"file"):
        tflparse.Interpreter(model_content=data)
    assert litert_refuses(data) == "The model is not a valid Flatbuffer buffer"


# -- the verifier's two ways: numpy passes and Python passes ---------------------------------

def _verdicts(data: bytes) -> dict[str, tuple[str, object]]:
    from paths import each_way

    from tflparse._flatbuf import FlatBuffer
    from tflparse._verify import verify

    fb = FlatBuffer(data)
    return each_way(lambda: verify(fb))


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name)
                                  for p in fixture_paths() + shared_model_paths()])
def test_numpy_and_python_verifier_agree_on_models(path: Path) -> None:
    found = _verdicts(path.read_bytes())
    assert found["numpy"] == found["python"] == found["mixed"]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=fuzz_inputs([p.read_bytes() for p in fixture_paths() + shared_model_paths()
                         if p.stat().st_size <= 64_000]))
def test_numpy_and_python_verifier_agree_on_corrupted_models(data: bytes) -> None:
    """The same verdict and the same message, on generated and corrupted models."""
    found = _verdicts(data)
    assert found["numpy"] == found["python"] == found["mixed"]
