"""Bundles (MediaPipe ``.task`` files, zips of models): members by name, lazily, zero-copy,
nested, with damaged and hostile members reported by name. Bundles are built in the tests
(``bundles.make_bundle``) from the fixtures and the shared models; ``zipfile`` is the oracle
for what a member holds."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from bundles import aligned_offsets, make_bundle
from conftest import FIXTURES, SHARED_MODELS

import tflparse
from tflparse import Bundle, InvalidModelError, Model, load_bundle
from tflparse._sources import expand, open_member
from tflparse.bundle import MAX_DEPTH, load_any

MNIST = (FIXTURES / "mnist_int8.tflite").read_bytes()
FEATURES = (FIXTURES / "features.tflite").read_bytes()
SHARED_MEMBERS = ("mp_face_detection_short_range_fp16.tflite", "mp_knift_float_minmax.tflite")


def shared(name: str) -> bytes:
    path = SHARED_MODELS / name
    if not path.exists():
        pytest.skip(f"shared model {name} absent")
    return path.read_bytes()


def hand_task() -> bytes:
    """Like MediaPipe's hand_landmarker.task: two stored models, 4-byte aligned."""
    return make_bundle([("hand_detector.tflite", MNIST),
                        ("hand_landmarks_detector.tflite", FEATURES)])


def gesture_task() -> bytes:
    """Like gesture_recognizer.task: a nested bundle beside a model and a non-model file."""
    return make_bundle([("hand_landmarker.task", hand_task()),
                        ("hand_gesture_recognizer.tflite", MNIST),
                        ("geometry.binarypb", b"\x08\x01\x12\x04abcd")])


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_docstring_examples() -> None:
    import doctest
    import os

    from conftest import ROOT

    import tflparse.bundle

    os.chdir(ROOT)
    assert doctest.testmod(tflparse.bundle, optionflags=doctest.ELLIPSIS).failed == 0


def test_members_by_name_as_models(tmp_path: Path) -> None:
    data = hand_task()
    assert all(offset % 4 == 0 for offset in aligned_offsets(data))
    path = tmp_path / "hand.task"
    path.write_bytes(data)
    expected = members_of(data)
    with load_bundle(path) as bundle:
        assert bundle.names == tuple(expected)
        assert [m.kind for m in bundle.members] == ["model", "model"]
        assert [m.display_name for m in bundle.members] == [
            f"{path}!/hand_detector.tflite", f"{path}!/hand_landmarks_detector.tflite"]
        for name, raw in expected.items():
            model = bundle[name]
            assert isinstance(model, Model)
            assert bytes(model.bytes) == raw
            reference = tflparse.load(raw)
            assert [t.name for t in model.subgraphs[0].tensors] == [
                t.name for t in reference.subgraphs[0].tensors]
        assert [name for name, _ in bundle.models()] == [m.display_name for m in bundle.members]


def test_stored_members_are_views_of_the_bundle() -> None:
    data = bytearray(hand_task())
    bundle = load_bundle(data)
    model = bundle["hand_detector.tflite"]
    assert isinstance(model, Model)
    whole = np.frombuffer(data, np.uint8)
    assert np.shares_memory(np.frombuffer(model.bytes, np.uint8), whole)
    offset = aligned_offsets(bytes(data))[0]
    data[offset + 100] ^= 0xFF  # the model sees the bundle's bytes, not a copy
    assert model.bytes[100] == data[offset + 100]


def test_members_open_lazily_and_once() -> None:
    bundle = load_bundle(gesture_task())
    assert bundle._opened == {}
    assert [m.kind for m in bundle.members] == ["bundle", "model", "other"]
    assert bundle._opened == {}  # classifying reads 8 bytes per member, opens nothing
    first = bundle["hand_gesture_recognizer.tflite"]
    assert bundle["hand_gesture_recognizer.tflite"] is first
    assert len(bundle._opened) == 1


def test_nested_bundle_names() -> None:
    bundle = load_bundle(gesture_task(), name="g.task")
    names = [name for name, _ in bundle.models()]
    assert names == ["g.task!/hand_landmarker.task!/hand_detector.tflite",
                     "g.task!/hand_landmarker.task!/hand_landmarks_detector.tflite",
                     "g.task!/hand_gesture_recognizer.tflite"]
    inner = bundle["hand_landmarker.task"]
    assert isinstance(inner, Bundle)
    assert inner.name == "g.task!/hand_landmarker.task"
    model = inner["hand_detector.tflite"]
    assert isinstance(model, Model) and bytes(model.bytes) == MNIST


def test_non_model_member_listed_not_loaded() -> None:
    bundle = load_bundle(gesture_task(), name="g.task")
    other = bundle.member("geometry.binarypb")
    assert (other.kind, other.size) == ("other", 8)
    assert bytes(bundle.read("geometry.binarypb")) == members_of(gesture_task())[
        "geometry.binarypb"]
    with pytest.raises(InvalidModelError, match=r"g.task!/geometry.binarypb: not a model"):
        bundle.open("geometry.binarypb")
    assert all(not name.endswith("binarypb") for name, _ in bundle.models())


def test_deflated_members() -> None:
    data = make_bundle([("a.tflite", MNIST, zipfile.ZIP_DEFLATED),
                        ("inner.task", hand_task(), zipfile.ZIP_DEFLATED)])
    bundle = load_bundle(data, name="d.task")
    assert not bundle.member("a.tflite").stored
    items = dict(bundle.models())
    assert bytes(items["d.task!/a.tflite"].bytes) == MNIST  # type: ignore[union-attr]
    inner = members_of(members_of(data)["inner.task"])
    assert bytes(items["d.task!/inner.task!/hand_detector.tflite"].bytes  # type: ignore[union-attr]
                 ) == inner["hand_detector.tflite"]


def test_inflate_limit_is_shared_with_nested_bundles() -> None:
    data = make_bundle([("inner.task", make_bundle([("a.tflite", MNIST, zipfile.ZIP_DEFLATED)]),
                         zipfile.ZIP_DEFLATED)])
    inner_size = len(members_of(data)["inner.task"])
    bundle = load_bundle(data, name="d.task", inflate_limit=inner_size + len(MNIST) - 1)
    items = list(bundle.models())
    assert len(items) == 1
    name, error = items[0]
    assert name == "d.task!/inner.task!/a.tflite"
    assert isinstance(error, InvalidModelError) and "limit" in str(error)
    roomy = load_bundle(data, inflate_limit=inner_size + len(MNIST))
    assert isinstance(list(roomy.models())[0][1], Model)


def test_corrupt_members_named() -> None:
    good = make_bundle([("ok.tflite", MNIST), ("bad.tflite", b"not a model at all"),
                        ("z.tflite", MNIST, zipfile.ZIP_DEFLATED)])
    data = bytearray(good)
    # damage the deflated member's stream: its CRC or inflation fails when it is opened
    offset = aligned_offsets(good)[2]
    data[offset + 40:offset + 48] = bytes(8)
    bundle = load_bundle(bytes(data), name="c.task")
    items = dict(bundle.models())
    assert isinstance(items["c.task!/ok.tflite"], Model)
    for name in ("c.task!/bad.tflite", "c.task!/z.tflite"):
        error = items[name]
        assert isinstance(error, InvalidModelError), name
        assert str(error).startswith(name if name.endswith("bad.tflite") else "c.task: zip "
                                     "member 'z.tflite'"), str(error)
    with pytest.raises((zipfile.BadZipFile, zlib.error)):  # the oracle agrees
        members_of(bytes(data))


@pytest.mark.parametrize("name", ["../evil.tflite", "/abs.tflite", "a/../../b.tflite",
                                  "C:\\x.tflite"])
def test_hostile_member_names(name: str) -> None:
    bundle = load_bundle(make_bundle([(name, MNIST), ("fine.tflite", MNIST)]), name="h.task")
    items = list(bundle.models())
    assert [n for n, _ in items] == [f"h.task!/{name}", "h.task!/fine.tflite"]
    error = items[0][1]
    assert isinstance(error, InvalidModelError)
    assert str(error).startswith(f"h.task: zip member {name!r}")
    assert isinstance(items[1][1], Model)


def test_damaged_zip_is_named() -> None:
    data = bytearray(hand_task())
    data[-22 + 16:-22 + 20] = (10**6).to_bytes(4, "little")  # central directory offset
    with pytest.raises(InvalidModelError, match=r"^broken.task: central directory"):
        load_bundle(bytes(data), name="broken.task")
    with pytest.raises(InvalidModelError, match="without its end record"):
        load_bundle(hand_task()[:-30], name="cut.task")


def test_nesting_depth_is_bounded() -> None:
    data = make_bundle([("m.tflite", MNIST)])
    for _ in range(MAX_DEPTH + 2):
        data = make_bundle([("n.task", data)])
    items = list(load_bundle(data, name="deep").models())
    assert len(items) == 1
    assert isinstance(items[0][1], InvalidModelError)
    assert f"nested more than {MAX_DEPTH} deep" in str(items[0][1])


def test_a_model_is_not_a_bundle_and_junk_is_neither(tmp_path: Path) -> None:
    with pytest.raises(InvalidModelError, match="a TFLite model, not a bundle"):
        load_bundle(MNIST)
    with pytest.raises(InvalidModelError, match="not a TFLite model or bundle"):
        load_bundle(b"<html>nope</html>")
    assert isinstance(load_any(MNIST), Model)
    empty = tmp_path / "empty.task"
    empty.write_bytes(b"")
    with pytest.raises(InvalidModelError, match="empty"):
        load_bundle(empty)
    with pytest.raises(IsADirectoryError):
        load_bundle(tmp_path)


def test_shared_models_as_members() -> None:
    raws = [shared(name) for name in SHARED_MEMBERS]
    data = make_bundle([(n, r, zipfile.ZIP_DEFLATED) for n, r in zip(SHARED_MEMBERS[:1], raws)]
                       + list(zip(SHARED_MEMBERS[1:], raws[1:])))
    expected = members_of(data)
    bundle = load_bundle(data, name="s.task")
    for (name, model), member in zip(bundle.models(), SHARED_MEMBERS):
        assert name == f"s.task!/{member}"
        assert isinstance(model, Model), name
        assert bytes(model.bytes) == expected[member]
        assert len(model.subgraphs[0].tensors) == len(
            tflparse.load(expected[member]).subgraphs[0].tensors)


def test_expand_sources(tmp_path: Path) -> None:
    (tmp_path / "g.task").write_bytes(gesture_task())
    (tmp_path / "m.tflite").write_bytes(MNIST)
    (tmp_path / "notes.txt").write_text("not matched")
    (tmp_path / "junk.bin").write_bytes(b"junk")
    items = list(expand([str(tmp_path), str(tmp_path / "missing.task")]))
    names = [name for name, _ in items]
    g = str(tmp_path / "g.task")
    assert names == [f"{g}!/hand_landmarker.task!/hand_detector.tflite",
                     f"{g}!/hand_landmarker.task!/hand_landmarks_detector.tflite",
                     f"{g}!/hand_gesture_recognizer.tflite", str(tmp_path / "junk.bin"),
                     str(tmp_path / "m.tflite"), str(tmp_path / "missing.task")]
    kinds = [type(found).__name__ for _, found in items]
    assert kinds == ["Model", "Model", "Model", "InvalidModelError", "Model",
                     "FileNotFoundError"]


def test_open_member(tmp_path: Path) -> None:
    path = tmp_path / "g.task"
    path.write_bytes(gesture_task())
    name, found = open_member(f"{path}!/hand_landmarker.task!/hand_detector.tflite")
    assert name == f"{path}!/hand_landmarker.task!/hand_detector.tflite"
    assert isinstance(found, Model) and bytes(found.bytes) == MNIST
    with pytest.raises(InvalidModelError, match="no member 'nope'"):
        open_member(f"{path}!/nope")
    with pytest.raises(InvalidModelError, match="not a bundle"):
        open_member(f"{path}!/hand_gesture_recognizer.tflite!/x")
    odd = tmp_path / "a!"
    odd.mkdir()
    (odd / "m.tflite").write_bytes(MNIST)  # a path that exists as written is not split
    assert isinstance(open_member(str(odd / "m.tflite"))[1], Model)
