"""``tflparse metadata``, inspect's metadata section and the metadata audit rules.

Expected values come from the oracles: the golden files (what tflite-support's displayer
said), Python's zipfile for packed files, and arithmetic done here by hand from the numbers
stored in the models.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, SHARED_MODELS
from test_cli import run

import tflparse
from tflparse.audit import audit_model

GOLDEN = ROOT / "tests" / "metadata_golden"
EXPECTED = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))
pytestmark = pytest.mark.slow  # subprocesses
MOBILENET = SHARED_MODELS / "tflsupport_mobilenet_v1_025_quant_uint8_metadata.tflite"


def _narrow(text: str) -> None:
    wide = [line for line in text.splitlines() if len(line) > 80]
    assert not wide, wide


@pytest.mark.parametrize("case", sorted(c for c in EXPECTED if "json" in EXPECTED[c]))
def test_displayer_json_is_tflite_supports_text(case: str) -> None:
    assert run("metadata", "--displayer-json", GOLDEN / f"{case}.tflite").stdout == \
        EXPECTED[case]["json"]


def test_json_is_strict() -> None:
    out = run("metadata", "--json", GOLDEN / "floats.tflite").stdout

    def refuse(name: str) -> None:
        raise AssertionError(f"bare {name} in --json output")

    found = json.loads(out, parse_constant=refuse)
    stats = found["metadata"]["subgraph_metadata"][0]["input_tensor_metadata"][0]["stats"]
    assert stats["max"][:4] == ["NaN", "NaN", "Infinity", "-Infinity"]
    assert stats["min"] == []
    assert found["required_parser_version"] == EXPECTED["floats"]["version"]


def test_json_names_enums_and_keeps_unknown_values() -> None:
    found = json.loads(run("metadata", "--json", GOLDEN / "unknown_enums.tflite").stdout)
    files = found["metadata"]["associated_files"]
    assert [f["type"] for f in files] == [42, -3]
    tensors = found["metadata"]["subgraph_metadata"][0]["input_tensor_metadata"]
    assert tensors[1]["content"]["content_properties"]["color_space"] == 5
    classifier = json.loads(run("metadata", "--json", GOLDEN / "classifier.tflite").stdout)
    output = classifier["metadata"]["subgraph_metadata"][0]["output_tensor_metadata"][0]
    assert output["associated_files"][0]["type"] == "TENSOR_AXIS_LABELS"


def test_summary_and_recipe_of_a_float_input() -> None:
    out = run("metadata", GOLDEN / "classifier.tflite").stdout
    _narrow(out)
    for text in ("name:          classifier", "normalize:   (x - 127.5) / 127.5",
                 "feed:        float32 (x - 127.5) / 127.5",
                 "labels:      labels.txt (TENSOR_AXIS_LABELS, 3 lines)",
                 "files:         labels.txt (TENSOR_AXIS_LABELS)"):
        assert text in out, text


def test_recipe_of_a_quantized_input_states_the_numbers() -> None:
    out = run("metadata", GOLDEN / "quantized_mobilenet_style.tflite").stdout
    _narrow(out)
    # q = round(((x - 127.5) / 127.5) / (1/128)) + 128 = round(x * 128/127.5 - 128) + 128
    gain = 128 / 127.5
    assert "quantized:   scale 0.0078125, zero point 128" in out
    flat = " ".join(out.split())
    assert (f"q = round(((x - 127.5) / 127.5) / 0.0078125) + 128 = round(x * {gain:.6g} - "
            f"128) + 128") in flat
    per_channel = " ".join(run("metadata", GOLDEN / "quantized_int8_per_channel.tflite")
                           .stdout.split())
    mean, std, scale = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375), 0.0186584
    gains = [1 / (float(_f32(s)) * float(_f32(scale))) for s in std]
    assert "round(x * [" + ", ".join(f"{g:.6g}" for g in gains) + "]" in per_channel
    assert f"(x - [{', '.join(f'{m:.6g}' for m in mean)}])" in per_channel


def _f32(value: float) -> float:
    import numpy as np

    return float(np.float32(value))


def test_model_without_metadata_is_one_line() -> None:
    done = run("metadata", GOLDEN / "no_metadata.tflite", code=2)
    assert done.stderr.count("\n") == 1 and "does not have metadata" in done.stderr


def test_extract_writes_the_packed_files(tmp_path: Path) -> None:
    model = GOLDEN / "everything_deflated.tflite"
    out = run("metadata", "--extract", tmp_path / "out", model).stdout
    with zipfile.ZipFile(model) as archive:
        names = archive.namelist()
        for name in names:
            assert (tmp_path / "out" / name).read_bytes() == archive.read(name)
    assert out.count("wrote ") == len(names) == 4


def test_extract_refuses_names_that_leave_the_folder(tmp_path: Path) -> None:
    done = run("metadata", "--extract", tmp_path / "out", GOLDEN / "hostile_member_name.tflite",
               code=1)
    assert not (tmp_path / "outside.txt").exists()
    assert (tmp_path / "out" / "ok.txt").read_bytes() == b"yes"
    assert "skipped ../outside.txt" in done.stdout


def test_inspect_shows_the_metadata_section() -> None:
    out = run("inspect", GOLDEN / "quantized_identity.tflite").stdout
    _narrow(out)
    assert "metadata (TFLITE_METADATA) for subgraph 0:" in out
    assert "feed:        q = round(((x - 0) / 1) / 1) + 0 = round(x * 1 + 0) + 0" in out
    assert "metadata (TFLITE_METADATA)" not in run("inspect", GOLDEN / "no_metadata.tflite").stdout


@pytest.mark.skipif(not MOBILENET.exists(), reason="shared model absent")
def test_inspect_of_a_real_model_with_metadata() -> None:
    out = run("inspect", MOBILENET).stdout
    _narrow(out)
    model = tflparse.load(MOBILENET)
    q = model.subgraphs[0].tensors[model.subgraphs[0].inputs[0]].quantization
    assert q is not None and q.scale is not None and q.zero_point is not None
    scale, zp = float(q.scale[0]), int(q.zero_point[0])
    gain = 1 / (127.5 * scale)
    flat = " ".join(out.split())
    assert f"q = round(((x - 127.5) / 127.5) / {scale:.6g}) + {zp}" in flat
    assert f"round(x * {gain:.6g} - {127.5 * gain:.6g}) + {zp}" in flat
    with zipfile.ZipFile(MOBILENET) as archive:
        lines = archive.read("labels.txt").decode().splitlines()
    assert f"labels: labels.txt (TENSOR_AXIS_LABELS, {len(lines)} lines)" in flat


# -- audit rules -----------------------------------------------------------------------------

def _findings(case: str, rule: str) -> list[str]:
    model = tflparse.load(GOLDEN / f"{case}.tflite")
    return [f.message for f in audit_model(model, [rule])]


def test_metadata_mismatch_counts_and_labels() -> None:
    found = _findings("everything", "metadata-mismatch")
    assert "3 input tensor metadata for 1 inputs of subgraph 0" in found[0]
    assert "5 output tensor metadata for 1 outputs" in found[1]
    # classifier: a [1,4] output, and labels.txt holds 3 lines
    (labels,) = _findings("classifier", "metadata-mismatch")
    assert "'labels.txt' holds 3 labels for a last dimension of 4" in labels
    assert not _findings("quantized_identity", "metadata-mismatch")


def test_metadata_files_missing_names_each_file() -> None:
    found = _findings("everything", "metadata-files-missing")
    with zipfile.ZipFile(GOLDEN / "everything.tflite") as archive:
        packed = set(archive.namelist())
    text = EXPECTED["everything"]["json"]
    referenced = {line.split('"')[3] for line in text.splitlines()
                  if line.strip().startswith('"name"') and "." in line.split('"')[3]}
    missing = sorted(referenced - packed)
    assert missing == sorted(m.split("'")[1] for m in found)
    assert all("Hint:" in m for m in found)


def test_normalization_quantization_states_the_mapping() -> None:
    (identity,) = _findings("quantized_identity", "normalization-quantization")
    assert "maps to q = x exactly" in identity
    (style,) = _findings("quantized_mobilenet_style", "normalization-quantization")
    # by hand: x = 128 gives round(128 * 128/127.5 - 128) + 128 = round(0.502) + 128 = 129
    assert "give or take up to 1" in style
    (int8,) = _findings("quantized_int8_per_channel", "normalization-quantization")
    assert "q = x - 128 give or take up to" in int8 and "Hint:" in int8


def test_metadata_parser_version() -> None:
    (found,) = _findings("parser_version_too_low", "metadata-parser-version")
    assert "'1.0.0'" in found and EXPECTED["parser_version_too_low"]["version"] == "1.2.0"
    assert "need 1.2.0" in found
    assert not _findings("everything", "metadata-parser-version")  # states 1.5.0


def test_damaged_metadata_is_one_finding_per_rule(tmp_path: Path) -> None:
    data = bytearray((GOLDEN / "classifier.tflite").read_bytes())
    at = bytes(data).index(b"M001") - 4
    data[at:at + 4] = b"\xff\xff\xff\x7f"
    path = tmp_path / "broken.tflite"
    path.write_bytes(bytes(data))
    findings = audit_model(tflparse.load(path), ["metadata-mismatch"])
    assert len(findings) == 1 and "TFLITE_METADATA" in findings[0].message
    assert math.isfinite(len(run("metadata", path, code=2).stderr))


@pytest.mark.skipif(not MOBILENET.exists(), reason="shared model absent")
def test_readme_inspect_example_is_true() -> None:
    """The README's `inspect` of the MobileNet with metadata is the command's real output."""
    import os
    import subprocess

    from test_cli import COMMAND

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = f"$ tflparse inspect {MOBILENET.name}\n"
    start = readme.index(command) + len(command)
    shown = readme[start:readme.index("...\n```", start)]
    done = subprocess.run([*COMMAND, "inspect", MOBILENET.name], capture_output=True,
                          text=True, cwd=MOBILENET.parent, timeout=300,
                          env={**os.environ, "COLUMNS": "80",
                               "PYTHONPATH": os.pathsep.join(filter(None, [
                                   str(ROOT), os.environ.get("PYTHONPATH")]))})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(shown)
    assert "feed:" in shown and "labels:" in shown
