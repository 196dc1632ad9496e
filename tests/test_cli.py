"""The installed ``tflparse`` console script, run in a subprocess."""

from __future__ import annotations

import concurrent.futures
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import FIXTURES, ROOT, SHARED_MODELS, shared_model_paths, shared_models_param

import tflparse
from tflparse.cli import dtype_name

MNIST = FIXTURES / "mnist_int8.tflite"
_SCRIPT = Path(sys.executable).parent / "tflparse"
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "tflparse"]


def run(*args: str | os.PathLike[str], code: int | None = 0, **env: str
        ) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "COLUMNS": "80", **env}
    done = subprocess.run([*COMMAND, *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", env=environment, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    if code is not None:
        assert done.returncode == code, (done.returncode, done.stdout[-2000:], done.stderr)
    return done


def build(name: bytes, scale: float = 0.5) -> bytes:
    from model_builder import one_subgraph_model, schema as s, tensor  # noqa: I001

    t = tensor(name, s.TensorType.INT8, [2], scale=[scale], zero_point=[0])
    return one_subgraph_model([t], inputs=[0], outputs=[0])


# --------------------------------------------------------------------------------------------
# Basics


def test_help_and_version() -> None:
    out = run("--help").stdout
    for command in ("inspect", "details", "audit"):
        assert command in out
    assert run("--version").stdout.strip() == f"tflparse {tflparse.__version__}"
    for command in ("inspect", "details", "audit"):
        assert "usage: tflparse " + command in run(command, "--help").stdout


def test_no_arguments_is_a_usage_error() -> None:
    assert "usage" in run(code=2).stderr


def test_module_entry_point() -> None:
    done = subprocess.run([sys.executable, "-m", "tflparse", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and tflparse.__version__ in done.stdout


# --------------------------------------------------------------------------------------------
# inspect


def test_inspect_fixture() -> None:
    out = run("inspect", MNIST).stdout
    for text in ("size:          56,336 bytes", "schema:        version 3",
                 "min runtime:   1.14.0", "LiteRT 2.3.0:  loads",
                 "'serving_default' -> subgraph 0: inputs [image=t0]",
                 "t0 'input' int8 [1,28,28,1] (signature [-1,28,28,1]) s=0.003922 zp=-128",
                 "CONV_2D", "axis=0 n=8", "tensors of subgraph 0: 10"):
        assert text in out, text
    assert run(MNIST).stdout == out  # `tflparse MODEL` is `tflparse inspect MODEL`


def test_inspect_conversion_metadata() -> None:
    for name, text in (("tflm_hello_world_int8.tflite", "full integer (PTQ_FULL_INTEGER)"),
                       ("mlzoo_ds_cnn_s_int16x8.tflite", "int16 activations (PTQ_INT16)")):
        path = SHARED_MODELS / name
        if not path.is_file():
            pytest.skip(f"{name} is absent")
        out = run(path).stdout
        assert text in out and "converter:     TensorFlow 2." in out


def test_inspect_rows_and_all() -> None:
    path = SHARED_MODELS / "tiny_vww96_int8.tflite"
    if not path.is_file():
        pytest.skip("tiny_vww96_int8.tflite is absent")
    count = len(tflparse.load(str(path)).subgraphs[0].tensors)
    short = run(path).stdout
    assert "(first 20; --all lists every one)" in short and f"... {count - 20} more" in short
    full = run(path, "--all").stdout
    assert "more" not in full.split("tensors of subgraph 0")[1]
    table = full.split("tensors of subgraph 0")[1].splitlines()[2:]
    assert len(table) == count
    for line in full.splitlines():
        assert len(line) <= 80, line


def test_inspect_escapes_and_ellipsizes_names(tmp_path: Path) -> None:
    path = tmp_path / "names.tflite"
    path.write_bytes(build(b"evil\x1b[31m\nname" + b"x" * 80))
    out = run(path).stdout
    assert "\x1b" not in out and "evil\\x1b[31m\\x0ana" in out
    assert "…" in out
    assert all(len(line) <= 80 for line in out.splitlines() if not line.startswith("file:"))


def test_inspect_subgraph_option() -> None:
    done = run(MNIST, "--subgraph", "3", code=2)
    assert "the model has 1 subgraph" in done.stderr and len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("args", [("missing.tflite",), ("inspect", "."),
                                  ("details", "missing.tflite", "--json")],
                         ids=["missing", "directory", "details-missing"])
def test_unreadable_paths_give_one_line(args: tuple[str, ...]) -> None:
    done = run(*args, code=2)
    assert done.stderr.startswith("tflparse: error:") and len(done.stderr.splitlines()) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "locked.tflite"
    path.write_bytes(MNIST.read_bytes())
    path.chmod(0)
    assert "Permission denied" in run(path, code=2).stderr
    assert "Permission denied" in run("audit", path, code=2).stderr


def test_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "pointer.tflite"
    path.write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:00\n")
    assert "git lfs pull" in run(path, code=2).stderr


# --------------------------------------------------------------------------------------------
# details --json


def _from_json(value: Any, reference: Any) -> Any:
    """Undo the documented JSON mapping, guided by the reference value's types."""
    if isinstance(reference, dict):
        return {k: _from_json(value[k], reference[k]) for k in reference}
    if isinstance(reference, np.ndarray):
        floats = [_float(v) for v in value] if reference.dtype.kind == "f" else value
        return np.array(floats, dtype=reference.dtype)
    if isinstance(reference, type):
        return np.dtype(value).type
    if isinstance(reference, tuple):
        return tuple(_from_json(v, r) for v, r in zip(value, reference))
    if isinstance(reference, list):
        return [_from_json(v, r) for v, r in zip(value, reference)]
    if isinstance(reference, float):
        return _float(value)
    return value


def _float(value: float | str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(
        value, value) if isinstance(value, str) else float(value)  # type: ignore[return-value]


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, dict):
        return isinstance(a, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in b)
    if isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=b.dtype.kind == "f"))
    if isinstance(b, float):
        return isinstance(a, float) and (a == b or (math.isnan(a) and math.isnan(b)))
    return type(a) is type(b) and a == b


def expected_details(interpreter: Any) -> dict[str, Any]:
    signatures = {}
    for key in interpreter.get_signature_list():
        runner = interpreter.get_signature_runner(key)
        signatures[key] = {"inputs": runner.get_input_details(),
                           "outputs": runner.get_output_details()}
    return {"inputs": interpreter.get_input_details(),
            "outputs": interpreter.get_output_details(),
            "tensors": [interpreter.get_tensor_details(i)
                        for i in range(interpreter.num_subgraphs())],
            "signatures": signatures}


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def check_details(path: Path) -> None:
    try:
        interpreter = tflparse.Interpreter(model_path=str(path))
    except tflparse.InvalidModelError:
        done = run("details", path, "--json", code=2)
        assert "LiteRT refuses" in done.stderr and done.stdout == ""
        return
    try:
        reference = expected_details(interpreter)
    except ValueError:
        pytest.skip("LiteRT raises for one of the calls; covered by the error objects")
    found = strict_json(run("details", path, "--json").stdout)
    assert list(found) == ["inputs", "outputs", "tensors", "signatures"]
    assert _same(_from_json(found, reference), reference)


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in sorted(
    FIXTURES.glob("*.tflite"))])
def test_details_json_equals_interpreter_fixtures(path: Path) -> None:
    check_details(path)


@pytest.mark.parametrize("path", shared_models_param())
def test_details_json_equals_interpreter_shared(path: Path) -> None:
    check_details(path)


@pytest.mark.litert
def test_details_json_equals_litert() -> None:
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    paths = [MNIST, *(p for p in shared_model_paths()
                      if p.name in ("mlzoo_ds_cnn_s_int16x8.tflite",
                                    "litert_multi_signatures.bin",
                                    "litert_sparse_tensor.bin"))]
    for path in paths:
        reference = expected_details(litert.Interpreter(model_path=str(path)))
        found = strict_json(run("details", path, "--json").stdout)
        assert _same(_from_json(found, reference), reference), path.name


def test_details_json_nan_and_dtype_names(tmp_path: Path) -> None:
    path = tmp_path / "nan.tflite"
    path.write_bytes(build(b"x", scale=math.nan))
    found = strict_json(run("details", path, "--json").stdout)
    detail = found["inputs"][0]
    assert detail["quantization"] == ["NaN", 0] and detail["dtype"] == "int8"
    assert detail["quantization_parameters"]["scales"] == ["NaN"]
    assert dtype_name(np.bytes_) == "bytes" and dtype_name(np.object_) == "object"
    for scalar in (np.bytes_, np.object_, np.bool_, np.int8, np.float16, np.complex128):
        assert np.dtype(dtype_name(scalar)).type is scalar


def test_details_json_error_objects(tmp_path: Path) -> None:
    from model_builder import one_subgraph_model as build_model, tensor  # noqa: I001
    from ai_edge_litert import schema_py_generated as s

    path = tmp_path / "optional_input.tflite"
    path.write_bytes(build_model([tensor(b"a", s.TensorType.FLOAT32, [1])], inputs=[-1],
                                 outputs=[0]))
    found = strict_json(run("details", path, "--json").stdout)
    assert found["inputs"] == {"error": "Invalid tensor index -1 exceeds max tensor index 1"}
    assert found["outputs"][0]["name"] == "a"


def test_details_without_json_prints_the_dicts() -> None:
    out = run("details", MNIST).stdout
    assert "'name': 'input'" in out and "'dtype': 'int8'" in out


# --------------------------------------------------------------------------------------------
# audit


def test_audit_exit_codes(tmp_path: Path) -> None:
    assert "0 with findings" in run("audit", MNIST).stdout
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(build(b"x", scale=0.0))
    done = run("audit", bad, code=1)
    assert f"{bad}: error: scale-zero [subgraph 0, tensor 0 'x']:" in done.stdout
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\0" * 100)
    done = run("audit", MNIST, junk, bad, code=2)
    assert "junk.bin" in done.stderr and "scale-zero" in done.stdout
    done = run("audit", tmp_path / "missing", MNIST, code=2)
    assert done.stderr.count("\n") == 1 and "No such file or directory" in done.stderr


def test_audit_fail_on(tmp_path: Path) -> None:
    path = tmp_path / "subnormal.tflite"
    path.write_bytes(build(b"x", scale=1e-40))
    run("audit", path, code=0)
    run("audit", path, "--fail-on", "warning", code=1)
    run("audit", path, "--fail-on", "error", code=0)
    run("audit", path, "--fail-on", "nonsense", code=2)


def test_audit_json_lines(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.tflite").write_bytes(build(b"x", scale=0.0))
    (folder / "sub" / "a.bin").write_bytes(MNIST.read_bytes())
    (folder / "notes.txt").write_text("not a model")
    (folder / "c.tflite").write_bytes(b"garbage!")
    done = run("audit", folder, "--json", code=2)
    records = [strict_json(line) for line in done.stdout.splitlines()]
    assert [Path(r["path"]).name for r in records] == ["b.tflite", "c.tflite", "a.bin"]
    for record in records:
        assert list(record) == ["path", "findings", "error"]
    assert records[0]["error"] is None and records[2] == {
        "path": str(folder / "sub" / "a.bin"), "findings": [], "error": None}
    [finding] = records[0]["findings"]
    assert finding["rule"] == "scale-zero" and finding["severity"] == "error"
    assert finding["location"] == {"subgraph": 0, "tensor": 0, "tensor_name": "x",
                                   "operator": None, "buffer": None}
    assert "Hint:" in finding["message"]
    assert "not a TFLite model" in records[1]["error"]
    only_txt = run("audit", folder, "--json", "--pattern", "*.txt", code=2)
    assert [Path(strict_json(r)["path"]).name for r in only_txt.stdout.splitlines()] == [
        "notes.txt"]


@pytest.mark.skipif(not shared_model_paths(), reason=f"no shared models at {SHARED_MODELS}")
def test_audit_every_shared_model_and_jobs_keep_order() -> None:
    serial = run("audit", SHARED_MODELS, "--json", code=1)
    parallel = run("audit", SHARED_MODELS, "--json", "--jobs", "4", code=1)
    assert serial.stdout == parallel.stdout
    records = [strict_json(line) for line in serial.stdout.splitlines()]
    assert [Path(r["path"]) for r in records] == shared_model_paths()
    assert all(r["error"] is None for r in records)
    text = run("audit", SHARED_MODELS, "-j", "0", code=1).stdout
    assert f"audited {len(records)} file(s)" in text


def test_audit_list_rules() -> None:
    out = run("audit", "--list-rules").stdout
    from tflparse.audit import RULES

    for rule_id, entry in RULES.items():
        assert f"{rule_id}" in out and entry.summary in out


# --------------------------------------------------------------------------------------------
# Every command on every real model, without a traceback


@pytest.mark.skipif(not shared_model_paths(), reason=f"no shared models at {SHARED_MODELS}")
def test_inspect_every_subgraph_of_every_shared_model() -> None:
    """`details --json` and `audit` run on every shared model in the tests above."""
    calls = []
    for path in shared_model_paths():
        model = tflparse.load(str(path))
        calls += [(path, "--all", "--subgraph", str(k)) for k in range(len(model.subgraphs))]
        if not model.subgraphs:
            calls.append((path,))
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for args, done in zip(calls, pool.map(lambda args: run(*args), calls)):
            assert done.stdout.startswith("file:")
            wide = [line for line in done.stdout.splitlines() if len(line) > 80]
            assert not wide, (args[0].name, wide)  # readable in an 80-column terminal


@pytest.mark.parametrize("command", ["inspect", "details"])
def test_unreadable_paths_say_what_is_wrong(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing.tflite"
    done = run(command, missing, code=2)
    assert done.stderr == f"tflparse: error: {missing}: No such file or directory\n"
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"GGUF" + bytes(64))
    done = run(command, junk, code=2)
    assert done.stderr.count("\n") == 1 and "GGUF" in done.stderr
    assert "LiteRT" not in done.stderr  # not LiteRT's refusal: no model at all
    done = run(command, tmp_path, code=2)
    assert done.stderr.count("\n") == 1 and "directory" in done.stderr


def test_audit_refuses_negative_jobs() -> None:
    done = run("audit", "--jobs", "-1", MNIST, code=2)
    assert "--jobs" in done.stderr and "must be 0 or more" in done.stderr


# --------------------------------------------------------------------------------------------
# Each command imports what it uses


_OTHERS = ("tflparse.report", "tflparse.explorer", "tflparse.weights")  # other commands
_IMPORTS_AFTER = """
import sys
from tflparse.cli import main
main(sys.argv[1:])
sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n")
"""


@pytest.mark.parametrize("command, unused", [
    (["details", "--json"], {"tflparse.audit", "concurrent.futures", "pprint", *_OTHERS}),
    (["details"], {"tflparse.audit", "concurrent.futures", "json", *_OTHERS}),
    (["inspect"], {"tflparse.audit", "concurrent.futures", "json", "pprint", *_OTHERS}),
    (["audit"], {"concurrent.futures", "json", "pprint", "tflparse.report",
                 "tflparse.explorer"}),  # one file: no process pool
])
def test_a_command_imports_only_what_it_uses(command: list[str], unused: set[str]) -> None:
    result = subprocess.run([sys.executable, "-c", _IMPORTS_AFTER, *command,
                             str(FIXTURES / "mnist_int8.tflite")], capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    line = next(x for x in result.stderr.splitlines() if x.startswith("MODULES "))
    loaded = set(line.split()[1:])
    assert "tflparse.cli" in loaded
    assert not unused & loaded


def test_fail_on_lists_the_audit_severities() -> None:
    from tflparse.audit import SEVERITIES
    from tflparse.cli.audit import FAIL_ON_METAVAR

    assert "{" + ",".join(SEVERITIES[::-1]) + "}" == FAIL_ON_METAVAR
