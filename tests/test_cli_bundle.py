"""The command line on bundles, run as a person runs it (a subprocess at 80 columns):
``inspect``/``details`` of a bundle and of ``BUNDLE!/MEMBER``, ``audit`` records named
``bundle.task!/member.tflite``, exit codes. Members are extracted with ``zipfile`` (the oracle
for what a member holds) and LiteRT's details of the extracted bytes are the reference."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from bundles import make_bundle
from conftest import FIXTURES, SHARED_MODELS
from test_cli import _from_json, _same, build, expected_details, run, strict_json

pytestmark = pytest.mark.slow  # subprocesses

MNIST = (FIXTURES / "mnist_int8.tflite").read_bytes()
FEATURES = (FIXTURES / "features.tflite").read_bytes()


def extract(data: bytes, *names: str) -> bytes:
    """A (nested) member's bytes, read with zipfile."""
    for name in names:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            data = z.read(name)
    return data


@pytest.fixture
def gesture(tmp_path: Path) -> Path:
    hand = make_bundle([("hand_detector.tflite", MNIST),
                        ("hand_landmarks_detector.tflite", FEATURES, zipfile.ZIP_DEFLATED)])
    path = tmp_path / "g.task"
    path.write_bytes(make_bundle([("hand_landmarker.task", hand),
                                  ("hand_gesture_recognizer.tflite", MNIST),
                                  ("geometry.binarypb", b"\x08\x01\x12\x04abcd")]))
    return path


MODELS = [("hand_landmarker.task", "hand_detector.tflite"),
          ("hand_landmarker.task", "hand_landmarks_detector.tflite"),
          ("hand_gesture_recognizer.tflite",)]


def test_inspect_bundle_lists_members_then_each_model(gesture: Path) -> None:
    out = run("inspect", gesture).stdout
    lines = out.splitlines()
    assert max(map(len, lines)) <= 80
    assert lines[0].startswith("bundle:        ") and str(gesture).startswith(lines[0][15:])
    assert "members:       5" in lines
    listing = "\n".join(lines[:lines.index("=" * 80)])
    with zipfile.ZipFile(gesture) as z:
        for info in z.infolist():
            assert f"{info.file_size:>13,} stored   {info.filename}" in listing
    for info in zipfile.ZipFile(io.BytesIO(extract(gesture.read_bytes(),
                                                   "hand_landmarker.task"))).infolist():
        kind = "stored  " if info.compress_type == zipfile.ZIP_STORED else "deflated"
        assert f"{info.file_size:>13,} {kind} hand_landmarker.task!/" in listing
    files = [line[15:] for line in lines if line.startswith("file:")]
    assert files == [f"{gesture}!/{'!/'.join(m)}"[:65] for m in MODELS]  # folded at 80
    assert "other" in listing and "geometry.binarypb" in listing


def test_inspect_member_is_inspect_of_the_extracted_file(gesture: Path, tmp_path: Path
                                                         ) -> None:
    for member in MODELS:
        extracted = tmp_path / member[-1]
        extracted.write_bytes(extract(gesture.read_bytes(), *member))
        spec = f"{gesture}!/{'!/'.join(member)}"
        mine = run("inspect", spec).stdout.splitlines()
        reference = run("inspect", extracted).stdout.splitlines()
        # the same report; only the file line (and its fold) names the file differently
        assert without_file_line(mine) == without_file_line(reference)
        assert "".join(line.strip() for line in mine[:len(mine) - len(
            without_file_line(mine))]).replace(" ", "") == f"file:{spec}"


def without_file_line(lines: list[str]) -> list[str]:
    assert lines[0].startswith("file:")
    rest = 1
    while lines[rest].startswith(" " * 15):
        rest += 1
    return lines[rest:]


def litert_details(data: bytes) -> dict[str, object]:
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    return expected_details(litert.Interpreter(model_content=data))


@pytest.mark.litert
def test_details_of_members_equal_litert_on_the_extracted_member(gesture: Path) -> None:
    pytest.importorskip("ai_edge_litert.interpreter")
    data = gesture.read_bytes()
    every = strict_json(run("details", gesture, "--json").stdout)
    assert list(every) == [f"{gesture}!/{'!/'.join(m)}" for m in MODELS]
    for member in MODELS:
        reference = litert_details(extract(data, *member))
        found = strict_json(run("details", f"{gesture}!/{'!/'.join(member)}", "--json").stdout)
        assert _same(_from_json(found, reference), reference), member
        assert _same(_from_json(every[f"{gesture}!/{'!/'.join(member)}"], reference), reference)


SHARED = ("mlzoo_ds_cnn_s_int16x8.tflite", "litert_multi_signatures.bin",
          "litert_sparse_tensor.bin")


@pytest.mark.litert
def test_details_of_shared_models_in_a_bundle_equal_litert(tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert.interpreter")
    present = [name for name in SHARED if (SHARED_MODELS / name).exists()]
    if not present:
        pytest.skip("no shared models")
    members = [(name, (SHARED_MODELS / name).read_bytes(),
                zipfile.ZIP_DEFLATED if i % 2 else zipfile.ZIP_STORED)
               for i, name in enumerate(present)]
    path = tmp_path / "shared.task"
    path.write_bytes(make_bundle(members))  # type: ignore[arg-type]
    every = strict_json(run("details", path, "--json").stdout)
    for name, _, _ in members:
        reference = litert_details(extract(path.read_bytes(), name))
        assert _same(_from_json(every[f"{path}!/{name}"], reference), reference), name


def test_details_of_a_non_model_member_or_missing_member(gesture: Path) -> None:
    done = run("details", f"{gesture}!/geometry.binarypb", code=2)
    assert done.stdout == ""
    assert "geometry.binarypb: not a model or a bundle" in done.stderr
    done = run("details", f"{gesture}!/nope.tflite", code=2)
    assert "no member 'nope.tflite'" in done.stderr


@pytest.mark.litert
def test_audit_names_bundle_and_member(tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert")
    inner = make_bundle([("zero.tflite", build(b"x", scale=0.0)), ("ok.tflite", MNIST)])
    path = tmp_path / "a.task"
    path.write_bytes(make_bundle([("inner.task", inner), ("labels.txt", b"a\nb\n")]))
    done = run("audit", path, code=1)
    assert done.stdout.splitlines()[0].startswith(
        f"{path}!/inner.task!/zero.tflite: error: scale-zero [subgraph 0, tensor 0 'x']: ")
    assert done.stdout.splitlines()[-1].startswith("audited 2 file(s), 1 with findings")
    records = [json.loads(line) for line in run("audit", "--json", path, code=1)
               .stdout.splitlines()]
    assert [r["path"] for r in records] == [f"{path}!/inner.task!/zero.tflite",
                                            f"{path}!/inner.task!/ok.tflite"]
    assert records[1] == {"path": f"{path}!/inner.task!/ok.tflite", "findings": [],
                          "error": None}


def test_audit_bundle_with_damaged_and_hostile_members(tmp_path: Path) -> None:
    path = tmp_path / "bad.task"
    path.write_bytes(make_bundle([("ok.tflite", MNIST), ("broken.tflite", b"garbage!" * 4),
                                  ("../escape.tflite", MNIST),
                                  ("red\x1b[31m.tflite", b"garbage!" * 4)]))
    done = run("audit", "--json", path, code=2)
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["path"] for r in records] == [f"{path}!/ok.tflite", f"{path}!/broken.tflite",
                                            f"{path}!/../escape.tflite",
                                            f"{path}!/red\x1b[31m.tflite"]
    assert records[0]["error"] is None
    assert records[1]["error"].startswith("named like a TFLite model, but its bytes are not")
    assert "would land outside" in records[2]["error"]
    text = run("audit", path, code=2)
    assert "\x1b" not in text.stderr + text.stdout
    assert f"tflparse: error: {path}!/red\\x1b[31m.tflite: " in text.stderr
    assert "audited 1 file(s), 0 with findings (0 error, 0 warning, 0 info), 3 unreadable" in (
        text.stdout)


def test_audit_damaged_zip_is_one_unreadable_record(tmp_path: Path) -> None:
    path = tmp_path / "cut.task"
    path.write_bytes(make_bundle([("ok.tflite", MNIST)])[:-10])
    done = run("audit", "--json", path, code=2)
    [record] = [json.loads(line) for line in done.stdout.splitlines()]
    assert record["path"] == str(path) and "zip" in record["error"]


def test_audit_folders_find_bundles_by_default(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "h.task").write_bytes(make_bundle([("m.tflite", MNIST)]))
    (tmp_path / "m.tflite").write_bytes(MNIST)
    records = [json.loads(line) for line in run("audit", "--json", tmp_path, "-j", "2")
               .stdout.splitlines()]
    assert [r["path"] for r in records] == [str(tmp_path / "m.tflite"),
                                            f"{tmp_path / 'sub' / 'h.task'}!/m.tflite"]


def test_audit_without_models_exits_2(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no models here")
    for args in ([tmp_path], ["--json", tmp_path]):
        done = run("audit", *args, code=2)
        assert done.stdout == ""
        assert done.stderr.startswith(f"tflparse: error: no model found in {tmp_path}")
    only_labels = tmp_path / "labels.task"
    only_labels.write_bytes(make_bundle([("labels.txt", b"a\n")]))
    assert "no model found" in run("audit", only_labels, code=2).stderr
