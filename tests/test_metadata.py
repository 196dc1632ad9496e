"""tflparse.metadata against tflite-support's MetadataDisplayer (the oracle).

With tflite-support installed: random metadata trees and named edge cases written with its
own builders are rendered by both, byte for byte, with the same file lists, file bytes and
minimum parser version; the typed view is compared with tflite-support's object API; the
committed golden files are checked to be what tflite-support says. Without it, the same
named cases run against those golden files (tests/make_metadata_golden.py wrote them).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import struct
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ROOT, shared_models_param
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tflparse
from tflparse import InvalidModelError
from tflparse._metadata import read_tree, render_text, required_version
from tflparse.metadata import MetadataDisplayer

GOLDEN = ROOT / "tests" / "metadata_golden"
EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (GOLDEN / "expected.json").read_text(encoding="utf-8"))
EXAMPLES = int(os.environ.get("TFLPARSE_DIFFERENTIAL_EXAMPLES", "500"))


def ours(data: bytes) -> dict[str, Any]:
    """What tflparse reports, in the shape of make_metadata_golden.oracle()."""
    try:
        shown = MetadataDisplayer.with_model_buffer(data)
    except ValueError as error:
        return {"error": str(error)}
    names = shown.get_packed_associated_file_list()
    return {
        "json": shown.get_metadata_json(),
        "files": names,
        "contents": {name: shown.get_associated_file_buffer(name).hex() for name in names},
        "version": required_version(read_tree(shown.get_metadata_buffer())),
    }


# -- golden files (no tflite-support needed) -------------------------------------------------

@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_golden_case(case: str) -> None:
    data = (GOLDEN / f"{case}.tflite").read_bytes()
    assert ours(data) == EXPECTED[case]


def test_golden_cases_cover_the_edges() -> None:
    texts = "".join(e.get("json", "") for e in EXPECTED.values())
    for quirk in ("nan", "-nan", "inf", "-inf", "-0.0", "\\uD83D\\uDE00", "\\u007F", "[\n\n",
                  '"color_space": "UNKNOWN"', '"type": 42',
                  "339999995214436424907732413799364296704.0"):
        assert quirk in texts, quirk
    assert {e.get("version") for e in EXPECTED.values()} >= {
        "1.0.0", "1.0.1", "1.1.0", "1.2.0", "1.2.1", "1.3.0", "1.4.0", "1.4.1", "1.5.0"}
    assert EXPECTED["non_utf8"]["json"] == "" and EXPECTED["empty_root"]["json"] == "{\n}\n"


def test_model_metadata_view_of_a_golden_case() -> None:
    model = tflparse.load(GOLDEN / "classifier.tflite")
    view = model.model_metadata
    assert view is not None and view.name == "classifier"
    tensor = view.subgraph_metadata[0].input_tensor_metadata[0]  # type: ignore[index]
    assert tensor.normalization is not None and tensor.normalization.mean == (127.5,)
    assert view.packed_files == ("labels.txt",)
    assert view.read_file("labels.txt") == bytes.fromhex(
        EXPECTED["classifier"]["contents"]["labels.txt"])
    assert tflparse.load(GOLDEN / "no_metadata.tflite").model_metadata is None
    with pytest.raises(InvalidModelError, match="not packed"):
        view.read_file("missing.txt")


# -- errors as tflite-support raises them, damage as InvalidModelError ---------------------

def test_displayer_errors() -> None:
    with pytest.raises(ValueError, match="model_buffer cannot be empty"):
        MetadataDisplayer.with_model_buffer(b"")
    with pytest.raises(OSError, match="does not exist"):
        MetadataDisplayer.with_model_file(GOLDEN / "absent.tflite")
    shown = MetadataDisplayer.with_model_file(GOLDEN / "classifier.tflite")
    with pytest.raises(ValueError, match="The file, other.txt, does not exist in the model."):
        shown.get_associated_file_buffer("other.txt")


def test_damaged_metadata_names_where() -> None:
    data = bytearray((GOLDEN / "everything.tflite").read_bytes())
    shown = MetadataDisplayer.with_model_buffer(bytes(data))
    metadata = shown.get_metadata_buffer()
    at = bytes(data).index(metadata)
    # the root offset points past the end
    broken = bytes(data[:at]) + struct.pack("<I", 1 << 30) + metadata[4:] + bytes(data[
        at + len(metadata):])
    with pytest.raises(InvalidModelError, match="TFLITE_METADATA: root offset"):
        MetadataDisplayer.with_model_buffer(broken)
    with pytest.raises(InvalidModelError, match="TFLITE_METADATA: .*truncated|past the end"):
        read_tree(metadata[:len(metadata) // 2])
    with pytest.raises(ValueError, match="expected identifier"):
        MetadataDisplayer(bytes(data), b"\0\0\0\0M002", [])


def test_shared_tables_cannot_expand_without_bound() -> None:
    """Offsets that all point at one table: a 12 KB buffer naming 10^9 strings."""
    flatbuffers = pytest.importorskip("flatbuffers")
    n = 1000
    b = flatbuffers.Builder(0)

    def vector_of(target: int) -> int:
        b.StartVector(4, n, 4)
        for _ in range(n):
            b.PrependUOffsetTRelative(target)
        return int(b.EndVector())

    def table(slot: int, vector: int) -> int:
        b.StartObject(slot + 1)
        b.PrependUOffsetTRelativeSlot(slot, vector, 0)
        return int(b.EndObject())

    tensor = table(2, vector_of(b.CreateString("a")))  # TensorMetadata.dimension_names
    graph = table(2, vector_of(tensor))                # SubGraphMetadata.input_tensor_metadata
    root = table(3, vector_of(graph))                  # ModelMetadata.subgraph_metadata
    b.Finish(root, b"M001")
    with pytest.raises(InvalidModelError, match="so often"):
        read_tree(bytes(b.Output()))


# -- differential against tflite-support -----------------------------------------------------

def _oracle() -> Any:
    pytest.importorskip("tflite_support")
    import make_metadata_golden
    import metadatagen

    metadatagen.load_bindings()
    return make_metadata_golden


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_golden_files_are_what_tflite_support_says(case: str) -> None:
    oracle = _oracle()
    assert oracle.oracle((GOLDEN / f"{case}.tflite").read_bytes()) == EXPECTED[case]


def test_named_cases_match_tflite_support() -> None:
    oracle = _oracle()
    import metadatagen

    for name, (data, _) in metadatagen.cases().items():
        assert ours(data) == oracle.oracle(data), name


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_metadata_matches_tflite_support(data: st.DataObject) -> None:
    _oracle()
    import metadatagen
    from tensorflow_lite_support.metadata.cc.python import _pywrap_metadata_version
    from tensorflow_lite_support.metadata.python import metadata

    spec, force = data.draw(metadatagen.specs())
    buffer = metadatagen.write_metadata(spec, force)
    tree = read_tree(buffer)
    assert render_text(tree) == metadata.convert_to_json(buffer)
    assert required_version(tree) == _pywrap_metadata_version.GetMinimumMetadataParserVersion(
        buffer)


@pytest.mark.slow
@settings(max_examples=max(EXAMPLES // 5, 10), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_models_with_files_match_tflite_support(data: st.DataObject) -> None:
    oracle = _oracle()
    import metadatagen

    spec, force = data.draw(metadatagen.specs())
    names = st.text(st.sampled_from(list("ab./_é")), min_size=1, max_size=8).filter(
        lambda n: not n.endswith("/"))
    files = data.draw(st.dictionaries(names, st.binary(max_size=300), max_size=4))
    model = metadatagen.model_with_metadata(
        metadatagen.write_metadata(spec, force), files, deflate=data.draw(st.booleans()),
        subgraphs=data.draw(st.integers(1, 3)))
    assert ours(model) == oracle.oracle(model)


@pytest.mark.parametrize("path", shared_models_param())
def test_shared_models_match_tflite_support(path: Path) -> None:
    oracle = _oracle()
    data = path.read_bytes()
    try:
        theirs = oracle.oracle(data)
    except Exception as error:  # tflite-support cannot read the model at all  # noqa: BLE001
        pytest.skip(f"tflite-support fails: {error!r}")
    if "error" in theirs:
        if theirs["error"] != "The model does not have metadata.":
            pytest.skip(f"tflite-support refuses: {theirs['error']}")
        with contextlib.suppress(InvalidModelError):
            assert tflparse.load(data).model_metadata is None
    assert ours(data) == theirs


# -- the typed view against tflite-support's object API --------------------------------------

def _lower_camel(name: str) -> str:
    parts = name.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def _same(mine: Any, theirs: Any, where: str) -> None:
    if is_dataclass(mine):
        for f in fields(mine):
            if not f.name.startswith("_"):
                _same(getattr(mine, f.name), getattr(theirs, _lower_camel(f.name)),
                      f"{where}.{f.name}")
    elif mine is None:
        assert theirs is None, where
    elif isinstance(mine, str):
        assert mine == theirs.decode("utf-8", "backslashreplace"), where
    elif isinstance(mine, bytes):
        assert mine == bytes(np.asarray(theirs, np.uint8)), where
    elif isinstance(mine, tuple):
        assert len(mine) == len(theirs), where
        for i, (a, b) in enumerate(zip(mine, theirs)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(mine, float):
        assert (math.isnan(mine) and math.isnan(theirs)) or mine == theirs, where
        assert math.copysign(1, mine) == math.copysign(1, theirs), where
    else:
        assert int(mine) == int(theirs), where


@pytest.mark.slow
@settings(max_examples=max(EXAMPLES // 3, 10), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(st.data())
def test_typed_view_matches_object_api(data: st.DataObject) -> None:
    _oracle()
    import metadatagen

    g = metadatagen.g
    spec, force = data.draw(metadatagen.specs())
    buffer = metadatagen.write_metadata(spec, force)
    model = tflparse.load(metadatagen.model_with_metadata(buffer))
    view = model.model_metadata
    theirs = g.ModelMetadataT.InitFromObj(g.ModelMetadata.GetRootAs(buffer, 0))
    _same(view, theirs, "metadata")


def test_damaged_zip_is_named_in_the_view_and_empty_in_the_displayer() -> None:
    data = (GOLDEN / "everything_deflated.tflite").read_bytes()
    broken = data.replace(b"PK\x01\x02", b"PK\x01\x09", 1)  # the first directory entry
    view = tflparse.load(broken).model_metadata
    assert view is not None
    with pytest.raises(InvalidModelError, match="associated files"):
        view.packed_files  # noqa: B018
    assert MetadataDisplayer.with_model_buffer(broken).get_packed_associated_file_list() == []
    with contextlib.suppress(pytest.skip.Exception):
        assert _oracle().oracle(broken)["files"] == []  # tflite-support: zipfile.BadZipFile
