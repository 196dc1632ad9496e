"""The bounds-checked reader on hand-built hostile bytes.

Every malformed input must raise InvalidModelError (a ValueError) whose message names the
field and the problem; nothing may raise IndexError or struct.error or allocate per claimed
element.
"""

from __future__ import annotations

import struct
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from conftest import fixture_paths
from hypothesis import given, settings
from hypothesis import strategies as st

import tflparse
from tflparse import InvalidModelError, _flatbuf
from tflparse._flatbuf import FlatBuffer
from tflparse._schema import Tensor


def table_bytes(fields: list[bytes], vtable_offsets: list[int]) -> bytes:
    """A root table preceded by its vtable: root offset, identifier, vtable, table."""
    table_body = b"".join(fields)
    vtable = struct.pack("<HH", 4 + 2 * len(vtable_offsets), 4 + len(table_body))
    vtable += b"".join(struct.pack("<H", o) for o in vtable_offsets)
    header = 8
    vt_pos = header
    table_pos = vt_pos + len(vtable)
    table_pos += (-table_pos) % 4
    padding = b"\x00" * (table_pos - vt_pos - len(vtable))
    soffset = struct.pack("<i", table_pos - vt_pos)
    return struct.pack("<I", table_pos) + b"TFL3" + vtable + padding + soffset + table_body


def test_error_is_a_value_error() -> None:
    assert issubclass(InvalidModelError, ValueError)


@pytest.mark.parametrize(("data", "expected"), [
    (b"", "empty"),
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n", "Git LFS"),
    (b"GGUF\x03\x00\x00\x00" + b"\x00" * 32, "GGUF"),
    (b"PK\x03\x04" + b"\x00" * 40, "zip"),
    (b"<!DOCTYPE html><html><body>Not found</body></html>", "HTML"),
    (b"\x08\x07\x12\x0bonnx-example" + b"\x00" * 20, "ONNX"),
    (b"\x08\x07\x12\x07pytorch\x1a\x052.0.0" + b"\x00" * 20, "ONNX"),  # torch.onnx.export
    (b"\x08\x08\x12\x07tf2onnx\x1a\x061.16.1" + b"\x00" * 20, "ONNX"),
    (b"\x00\x00\x00\x00TFL2" + b"\x00" * 20, "b'TFL2'"),
    (b"\x00\x01", "too short"),
], ids=["empty", "lfs", "gguf", "zip", "html", "onnx", "onnx-pytorch", "onnx-tf2onnx",
        "wrong-identifier", "two-bytes"])
def test_look_alikes_are_named(data: bytes, expected: str) -> None:
    with pytest.raises(InvalidModelError, match="not a TFLite model") as info:
        tflparse.load(data)
    assert expected in str(info.value)


def test_size_prefixed_buffer_is_recognised() -> None:
    inner = table_bytes([struct.pack("<I", 3)], [4])
    with pytest.raises(InvalidModelError, match="size-prefixed"):
        tflparse.load(struct.pack("<I", len(inner)) + inner)


def test_root_offset_past_end() -> None:
    with pytest.raises(InvalidModelError, match="past the end"):
        tflparse.load(struct.pack("<I", 1000) + b"TFL3")


def test_vtable_outside_file() -> None:
    data = struct.pack("<I", 8) + b"TFL3" + struct.pack("<i", -5000)
    with pytest.raises(InvalidModelError, match="vtable .* outside the file"):
        tflparse.load(data)


def test_vtable_size_too_large() -> None:
    good = bytearray(table_bytes([struct.pack("<I", 3)], [4]))
    struct.pack_into("<H", good, 8, 4000)
    with pytest.raises(InvalidModelError, match="vtable at 0x8 declares a bad size 4000"):
        tflparse.load(bytes(good))


def test_field_past_the_end_of_the_file() -> None:
    good = bytearray(table_bytes([struct.pack("<I", 3)], [4]))
    struct.pack_into("<H", good, 12, 200)  # the version field's offset points past the end
    model = tflparse.load(bytes(good))
    with pytest.raises(InvalidModelError,
                       match=r"^version: 4-byte field at offset 0xd8 runs past the end"):
        _ = model.version


def test_vtable_without_fields_reads_as_defaults() -> None:
    # A vtable of size 0 (as the verifier allows) holds no fields: every field is absent.
    good = bytearray(table_bytes([struct.pack("<I", 3)], [4]))
    struct.pack_into("<H", good, 8, 0)
    model = tflparse.load(bytes(good))
    assert model.version == 0 and len(model.subgraphs) == 0


def test_version_reads_from_minimal_table() -> None:
    model = tflparse.load(table_bytes([struct.pack("<I", 3)], [4]))
    assert model.version == 3
    assert len(model.subgraphs) == 0 and len(model.buffers) == 0
    assert model.description is None


def test_vector_claiming_huge_length_fails_before_allocating() -> None:
    # Model.subgraphs (slot 2) points at a vector that claims 2**31 elements.
    fields = [struct.pack("<I", 3), struct.pack("<I", 4), struct.pack("<I", 0x80000000)]
    data = table_bytes(fields, [4, 0, 8])
    expected = (r"^subgraphs: vector of 2147483648 table offsets at offset 0x20 runs past the end "
                r"of the file \(36 bytes\)$")
    with pytest.raises(InvalidModelError, match=expected):
        tflparse.load(data)


def test_offset_pointing_past_end_names_the_field() -> None:
    data = table_bytes([struct.pack("<I", 3), struct.pack("<I", 0x7FFFFFF0)], [4, 0, 0, 8])
    model = tflparse.load(data)
    with pytest.raises(InvalidModelError, match=r"description: offset .* past the end"):
        _ = model.description


def test_string_length_past_end() -> None:
    data = table_bytes([struct.pack("<I", 3), struct.pack("<I", 4), struct.pack("<I", 999)],
                       [4, 0, 0, 8])
    model = tflparse.load(data)
    with pytest.raises(InvalidModelError, match=r"description: vector of 999 bytes"):
        _ = model.description


def test_every_truncation_of_a_real_model_is_an_error_or_a_model() -> None:
    paths = fixture_paths()
    if not paths:
        pytest.skip("fixtures not built")
    data = paths[0].read_bytes()
    for cut in range(0, len(data), 97):
        try:
            model = tflparse.load(data[:cut])
            for subgraph in model.subgraphs:
                for tensor in subgraph.tensors:
                    _ = (tensor.name, tensor.shape, tensor.quantization, tensor.type)
        except InvalidModelError:
            pass


def test_table_reader_rejects_negative_positions() -> None:
    fb = FlatBuffer(b"\x00" * 16)
    with pytest.raises(InvalidModelError):
        fb.u32(-4, "x")
    with pytest.raises(InvalidModelError):
        fb.u32(14, "x")


def test_message_names_tensor_path(tmp_path: Path) -> None:
    paths = fixture_paths()
    if not paths:
        pytest.skip("fixtures not built")
    data = bytearray(paths[0].read_bytes())
    model = tflparse.load(bytes(data))
    tensor = model.subgraphs[0].tensors[1]
    table = tensor._table
    field_pos = table.pos + struct.unpack_from("<H", data, table.vt + Tensor.SHAPE.voffset)[0]
    target = field_pos + struct.unpack_from("<I", data, field_pos)[0]
    struct.pack_into("<I", data, target, 0x40000000)
    tensors = tflparse.load(bytes(data)).subgraphs[0].tensors
    with pytest.raises(InvalidModelError) as info:
        _ = tensors[1]
    assert tensors[0].name == model.subgraphs[0].tensors[0].name  # the others stay readable
    message = str(info.value)
    assert message.startswith("subgraphs[0].tensors[1].shape: vector of 1073741824 int32 at ")
    assert message.endswith(f"runs past the end of the file ({len(data)} bytes)")


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        tflparse.load(tmp_path / "absent.tflite")


def test_directory_is_a_directory_error(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        tflparse.load(tmp_path)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.tflite"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        tflparse.load(fifo)


def test_unreadable_file_is_permission_error(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Root reads every file, so refuse the open itself; load() must pass the error through.
    import builtins

    path = tmp_path / "secret.tflite"
    path.write_bytes(b"x" * 16)
    real_open = builtins.open

    def refuse(file: object, *args: object, **kwargs: object) -> object:
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", refuse)
    with pytest.raises(PermissionError):
        tflparse.load(path)


def test_empty_file_is_invalid_model(tmp_path: Path) -> None:
    path = tmp_path / "empty.tflite"
    path.write_bytes(b"")
    with pytest.raises(InvalidModelError, match="the file is empty"):
        tflparse.load(path)


def test_string_buffer_counts_offsets_and_missing_entries() -> None:
    from tflparse._values import decode_strings

    # count 2, offsets 16, 18, 21 from the buffer's start, then the bytes
    two = struct.pack("<4i", 2, 16, 18, 21) + b"abxyz"
    assert decode_strings(two, 3) == [b"ab", b"xyz", None]
    # a count of 0 needs nothing after it (LiteRT reads no offset then)
    assert decode_strings(struct.pack("<i", 0), 2) == [None, None]
    with pytest.raises(InvalidModelError, match="declares 1 strings, which do not fit in 4"):
        decode_strings(struct.pack("<i", 1), 1)
    with pytest.raises(InvalidModelError, match=r"string 1 spans \[18, 99\)"):
        decode_strings(struct.pack("<4i", 2, 16, 18, 99) + b"abxyz", 2)


# -- bulk reads: checked against one slice per row -------------------------------------------

_KINDS = {"<u1": 1, "<i4": 4, "<f4": 4, "<i8": 8}


@st.composite
def _vectors_in(draw: st.DrawFn) -> tuple[bytes, list[int], list[int], str]:
    """A buffer and vectors inside it, some ending at its very last byte."""
    data = draw(st.binary(min_size=0, max_size=300))
    kind = draw(st.sampled_from(sorted(_KINDS)))
    size = _KINDS[kind]
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        count = draw(st.integers(0, max(len(data) // size, 0)))
        last = len(data) - count * size
        start = draw(st.one_of(st.just(last), st.integers(0, last)))
        rows.append((start, count))
    return data, [r[0] for r in rows], [r[1] for r in rows], kind


def _slices(data: bytes, starts: list[int], counts: list[int], kind: str) -> list[np.ndarray]:
    return [np.frombuffer(data[s:s + n * _KINDS[kind]], kind) for s, n in zip(starts, counts)]


@settings(max_examples=300, deadline=None)
@given(_vectors_in())
def test_ragged_reads_each_vector(case: tuple[bytes, list[int], list[int], str]) -> None:
    data, starts, counts, kind = case
    values, first = FlatBuffer(data).ragged(np.array(starts, np.int64),
                                            np.array(counts, np.int64), kind)
    for expected, at, n in zip(_slices(data, starts, counts, kind), first.tolist(), counts):
        assert values[at:at + n].tobytes() == expected.tobytes()


@settings(max_examples=300, deadline=None)
@given(_vectors_in())
def test_row_arrays_are_fresh_copies_of_each_vector(
        case: tuple[bytes, list[int], list[int], str]) -> None:
    data, starts, counts, kind = case
    want = np.int32 if kind == "<i8" else np.dtype(kind).type
    chunk = 16 if len(data) % 2 else _flatbuf._CHUNK  # int64 rows also pass in small chunks
    with mock.patch.object(_flatbuf, "_CHUNK", chunk):
        found = FlatBuffer(data).row_arrays(np.array(starts, np.int64),
                                            np.array(counts, np.int64), kind, want)
    for array, expected in zip(found, _slices(data, starts, counts, kind)):
        if kind == "<i8":  # int64 read as int32: the low 32 bits
            expected = (expected & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
        assert array.dtype == want and array.flags.writeable and array.flags.c_contiguous
        assert array.tobytes() == expected.astype(want).tobytes()
    assert len(found) == len(starts)


def test_model_with_zip_of_associated_files_appended_still_loads() -> None:
    """Metadata-bearing models carry a zip after the flatbuffer; it is not the model's business."""
    import io
    import zipfile

    mnist = fixture_paths()[0].read_bytes()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("labels.txt", "0\n1\n")
    data = mnist + archive.getvalue()
    plain, with_zip = tflparse.load(mnist), tflparse.load(data)
    assert [t.name for t in with_zip.subgraphs[0].tensors] == \
        [t.name for t in plain.subgraphs[0].tensors]
    details = tflparse.Interpreter(model_content=data).get_tensor_details()
    assert len(details) == len(tflparse.Interpreter(model_content=mnist).get_tensor_details())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-(1 << 40), 1 << 40) | st.sampled_from([0, 4, 8]), max_size=40))
def test_distinct_is_numpys_unique_with_its_inverse(values: list[int]) -> None:
    array = np.array(values, np.int64)
    found, which = _flatbuf.distinct(array)
    expected, inverse = np.unique(array, return_inverse=True)
    assert found.tolist() == expected.tolist()
    assert which.tolist() == inverse.reshape(-1).tolist() and which.dtype == np.intp
