"""Every command on every kind of source: files, ``BUNDLE!/MEMBER``, whole bundles, and the
bad inputs (missing file, folder, non-model, damaged or missing member), one line each.

A member's output is compared with the same command on the member's bytes extracted with
``zipfile`` (the oracle for what a member holds); a missing file's message with the OS's own
``strerror``.
"""

from __future__ import annotations

import errno
import html
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from bundles import make_bundle
from conftest import FIXTURES
from pagecheck import scan

import tflparse
from tflparse.cli import main

MNIST = (FIXTURES / "mnist_int8.tflite").read_bytes()
DEMO = (FIXTURES / "report_demo.tflite").read_bytes()
GOLDEN = Path(__file__).parent / "metadata_golden"
WITH_METADATA = (GOLDEN / "quantized_identity.tflite").read_bytes()
DAMAGED = b"xxxxTFL3" + bytes(20)  # a model's identifier, a root offset past the end
COMMANDS = ("inspect", "details", "audit", "report", "weights", "metadata")


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working folder: a bundle with models (one with metadata) and a damaged member,
    the same members extracted, a text file and an empty folder."""
    monkeypatch.chdir(tmp_path)
    members = [("demo.tflite", DEMO), ("meta.tflite", WITH_METADATA),
               ("bad.tflite", DAMAGED), ("labels.txt", b"a\nb\n")]
    (tmp_path / "b.task").write_bytes(make_bundle(members))
    (tmp_path / "good.task").write_bytes(make_bundle(members[:2]))
    with zipfile.ZipFile(tmp_path / "b.task") as z:  # the oracle's copy of each member
        for name in ("demo.tflite", "meta.tflite", "bad.tflite"):
            (tmp_path / name).write_bytes(z.read(name))
    (tmp_path / "text.tflite").write_text("hello\n")
    (tmp_path / "empty").mkdir()
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, captured.out, captured.err


def _extra(command: str) -> list[str]:
    return ["-o", "page.html"] if command == "report" else []


# what each bad input is, and the start of the one line every command prints for it
_BAD = {
    "missing file": ("missing.tflite", f"missing.tflite: {os.strerror(errno.ENOENT)}"),
    "folder": ("empty", "empty: is a directory"),
    "not a model": ("text.tflite", "text.tflite: not a TFLite model or bundle"),
    "damaged file": ("bad.tflite", "bad.tflite: root offset"),
    "damaged member": ("b.task!/bad.tflite", "b.task!/bad.tflite: root offset"),
    "missing member": ("b.task!/nope.tflite",
                       "b.task!/nope.tflite: b.task has no member 'nope.tflite'"),
    "member of a missing bundle": ("none.task!/m.tflite",
                                   f"none.task!/m.tflite: {os.strerror(errno.ENOENT)}"),
    "member of a non-bundle": ("text.tflite!/m.tflite",
                               "text.tflite!/m.tflite: not a TFLite model or bundle"),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", sorted(_BAD))
def test_bad_input_is_one_line_naming_it(folder: Path, capsys: pytest.CaptureFixture[str],
                                         command: str, case: str) -> None:
    path, expected = _BAD[case]
    status, _, err = _run(capsys, command, path, *_extra(command))
    assert status == 2
    lines = err.splitlines()
    if command == "audit" and case == "folder":  # audit searches folders
        assert lines == ["tflparse: error: no model found in empty (folders are searched for "
                         "*.tflite *.bin *.task)"]
        return
    assert len(lines) == 1 and lines[0].startswith(f"tflparse: error: {expected}"), lines
    assert not (folder / "page.html").exists()


@pytest.mark.parametrize("case", sorted(_BAD))
def test_bad_input_line_is_the_same_in_every_command(
        folder: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    path = _BAD[case][0]
    lines = {command: _run(capsys, command, path, *_extra(command))[2] for command in COMMANDS
             if not (command == "audit" and case == "folder")}
    assert len(set(lines.values())) == 1, lines


@pytest.mark.parametrize("command", COMMANDS)
def test_a_bundle_with_a_damaged_member_does_the_rest_and_exits_2(
        folder: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    if command == "report":
        pytest.importorskip("matplotlib")  # the page's plots
    status, out, err = _run(capsys, command, "b.task", *_extra(command))
    assert status == 2
    errors = [line for line in err.splitlines() if line.startswith("tflparse: error:")]
    assert errors == [errors[0]] and errors[0].startswith(
        "tflparse: error: b.task!/bad.tflite: root offset"), err
    if command == "report":
        page = (folder / "page.html").read_text(encoding="utf-8")
        assert "b.task!/demo.tflite" in page and "b.task!/meta.tflite" in page
        assert "unreadable: root offset" in page
    elif command != "details":  # details leaves what fails out of its JSON
        assert "b.task!/demo.tflite" in out or command == "metadata"
    # without the damaged member, the same command succeeds
    assert _run(capsys, command, "good.task", *_extra(command))[0] in (0, 1)


@pytest.mark.parametrize("command", ("inspect", "details", "weights", "metadata"))
def test_a_member_reads_as_the_extracted_file(
        folder: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    for member in ("demo.tflite", "meta.tflite"):
        if command == "metadata" and member == "demo.tflite":
            continue
        inside = _run(capsys, command, f"b.task!/{member}")
        outside = _run(capsys, command, member)
        assert inside[0] == outside[0] == 0
        # the member's name stands where the file's name stood
        assert inside[1] == outside[1].replace(member, f"b.task!/{member}"), command


def test_metadata_of_a_whole_bundle(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "metadata", "--json", "good.task")
    assert status == 0
    alone = json.loads(_run(capsys, "metadata", "--json", "meta.tflite")[1])
    assert json.loads(out) == {"good.task!/demo.tflite": None, "good.task!/meta.tflite": alone}
    status, out, _ = _run(capsys, "metadata", "good.task")
    assert status == 0 and "good.task!/meta.tflite" in out
    assert "file:          good.task!/demo.tflite\nmetadata:      none" in out
    for option in ("--displayer-json", "--extract"):
        args = [option, "x"] if option == "--extract" else [option]
        status, out, err = _run(capsys, "metadata", *args, "good.task")
        assert status == 2 and out == "" and not (folder / "x").exists()
        assert err == (f"tflparse: error: {option} needs one model: name a member of the "
                       "bundle as good.task!/MEMBER\n")
    assert _run(capsys, "metadata", "--displayer-json", "good.task!/meta.tflite")[1] == \
        _run(capsys, "metadata", "--displayer-json", "meta.tflite")[1]


def test_audit_takes_a_member(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inside = _run(capsys, "audit", "--json", "b.task!/demo.tflite")
    outside = _run(capsys, "audit", "--json", "demo.tflite")
    assert inside[0] == outside[0] == 1
    record = json.loads(inside[1])
    assert record["path"] == "b.task!/demo.tflite"
    assert record["findings"] == json.loads(outside[1])["findings"] != []


def test_model_explorer_overlay_of_a_member(folder: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "audit", "b.task!/demo.tflite", "--model-explorer", "in.json")
    _run(capsys, "audit", "demo.tflite", "--model-explorer", "out.json")
    inside = sorted(p.name for p in folder.glob("in*.json"))
    assert len(inside) == 4 and inside == [p.name.replace("out", "in", 1)
                                           for p in sorted(folder.glob("out*.json"))]
    for name in inside:
        assert json.loads((folder / name).read_text()) == \
            json.loads((folder / name.replace("in", "out", 1)).read_text())
    for command in ("audit", "report"):
        status, out, err = _run(capsys, command, "good.task", "--model-explorer", "w.json")
        assert status == 2 and out == "" and not list(folder.glob("w*.json"))
        assert err == ("tflparse: error: --model-explorer needs one model: name a member of "
                       "the bundle as good.task!/MEMBER\n")


def _quantized_sections(page: str, prefix: str) -> set[tuple[int, int]]:
    """(subgraph, tensor) of the quantized constants shown: a plot, or a row of the table of
    int32/int64 ones."""
    return {(int(m.group(1)), int(m.group(2))) for m in re.finditer(
        rf' id="{prefix}w(\d+)-(\d+)"', page)}


def test_report_of_a_member_and_of_a_bundle(folder: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    from test_report import quantized_constants

    assert _run(capsys, "report", "b.task!/demo.tflite")[0] == 0
    member = (folder / "demo.report.html").read_text(encoding="utf-8")
    assert "<title>tflparse report: b.task!/demo.tflite</title>" in member
    assert _quantized_sections(member, "") == quantized_constants(DEMO)
    pre = re.search(r"<pre>(.*?)</pre>", member, re.S)  # inspect of the member
    assert pre is not None
    assert html.unescape(pre.group(1)) == _run(capsys, "inspect", "b.task!/demo.tflite")[1]

    status, out, _ = _run(capsys, "report", "good.task")
    assert status == 0 and "good.report.html" in out
    page = (folder / "good.report.html").read_text(encoding="utf-8")
    scanned = scan(page)
    assert scanned.found == [] and scanned.scripts == 1
    ids = re.findall(r' id="([^"]+)"', page)
    ids = [i for i in ids if not re.fullmatch(r"[a-z]+[0-9a-f]{10}", i)]  # SVG clip paths
    assert len(ids) == len(set(ids)), "ids repeat"
    for target in set(re.findall(r'href="#([^"]+)"', page)):
        assert target in scanned.ids, target  # every link stays on the page and lands
    # one section per member, each plotting every quantized constant of that member
    for n, data in enumerate((DEMO, WITH_METADATA)):
        assert f'id="m{n}-model"' in page
        assert _quantized_sections(page, f"m{n}-") == quantized_constants(data)
    table = re.search(r'<section id="members">.*?</section>', page, re.S)
    assert table is not None
    assert '<a href="#m0-model">good.task!/demo.tflite</a>' in table.group(0)


def test_the_weight_pass_runs_once_per_report(folder: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Each quantized constant's values are read once per report (the audit's context
    measures them; the page reuses that), counted where every pass reads a tensor."""
    pytest.importorskip("matplotlib")
    from tflparse import weights
    from tflparse.report import analyse

    read: list[tuple[int, int]] = []
    real = weights.tensor_stats

    def counted(tensor: Any, *args: Any, **kwargs: Any) -> Any:
        read.append((tensor.subgraph_index, tensor.index))
        return real(tensor, *args, **kwargs)

    with mock.patch.object(weights, "tensor_stats", counted):
        assert _run(capsys, "report", "demo.tflite")[0] == 0
        by_command = list(read)
        read.clear()
        model = tflparse.load(folder / "demo.tflite")
        analysis = analyse(model)
    shown = [(s.subgraph, s.tensor) for s in analysis.stats]
    assert sorted(read) == sorted(by_command) == sorted(shown) != []  # each one once
    # what the report shows is what a pass of its own finds
    alone = weights.model_weight_stats(model, skip_invalid=True)
    assert [(s.subgraph, s.tensor) for s in alone] == shown
    for ours, theirs in zip(analysis.stats, alone):
        assert ours.levels.tolist() == theirs.levels.tolist()
        assert ours.real_max.tolist() == theirs.real_max.tolist()


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    listed = re.findall(r"^    (\w+) ", out, re.M)
    assert listed == list(COMMANDS)
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    block = re.search(r"\$ tflparse --help\n(.*?)```", readme, re.S)
    assert block is not None and re.findall(r"^    (\w+) ", block.group(1), re.M) == listed
    assert "six\nsubcommands" in readme or "six subcommands" in readme
    for command in COMMANDS:
        assert f"### `tflparse {command} " in readme
