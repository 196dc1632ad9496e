"""Models by URL: fsspec's real HTTP filesystem against a range-capable server on 127.0.0.1.

Every command must say over HTTP what it says of the local file, read only the structure of a
model with large weights, and give one-line errors for network faults while a batch goes on.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import FIXTURES, shared_model_paths
from handmade import build_model
from rangeserver import Content, Traffic, serving

pytest.importorskip("fsspec")
pytest.importorskip("aiohttp")
s = pytest.importorskip("ai_edge_litert.schema_py_generated")

import tflparse  # noqa: E402
from tflparse import _remote  # noqa: E402
from tflparse.cli import main  # noqa: E402

BIG_MB = 400
WEIGHT = 4 << 20  # bytes per weight buffer of the generated models


def weights_model(count: int, each: int, external: bool, size_only: bool = False) -> bytes:
    """``count`` int8 weights of ``each`` bytes: inline data vectors, or offset buffers
    after the flatbuffer (``size_only``: the flatbuffer alone, its buffers left to a sparse
    file)."""
    tensors, buffers = [], [s.BufferT()]
    rng = np.random.default_rng(count)
    for i in range(count):
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = f"w{i}", [each], s.TensorType.INT8, i + 1
        q = s.QuantizationParametersT()
        q.scale, q.zeroPoint = [0.01 * (i + 1)], [0]
        t.quantization = q
        tensors.append(t)
        b = s.BufferT()
        if external:
            b.offset, b.size = 1 << 40, each
        else:
            b.data = rng.integers(0, 255, each, dtype=np.uint8)
        buffers.append(b)
    flat = build_model(tensors, buffers)
    if not external:
        return flat
    position = (len(flat) + 4095) // 4096 * 4096
    for b in buffers[1:]:
        b.offset, position = position, position + each
    flat = build_model(tensors, buffers)
    if size_only:
        return flat
    data = bytearray(position)
    data[:len(flat)] = flat
    for b in buffers[1:]:
        data[b.offset:b.offset + each] = rng.integers(0, 255, each, dtype=np.uint8).tobytes()
    return bytes(data)


@pytest.fixture(scope="module")
def big_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sparse file of BIG_MB MiB: a flatbuffer, then 100 offset buffers of 4 MiB (holes)."""
    count = BIG_MB * (1 << 20) // WEIGHT
    path = tmp_path_factory.mktemp("big") / "big.tflite"
    flat = weights_model(count, WEIGHT, external=True, size_only=True)
    with open(path, "wb") as out:
        out.write(flat)
        out.truncate((len(flat) + 4095) // 4096 * 4096 + count * WEIGHT)
    return path


def local_models(folder: Path) -> dict[str, Path]:
    """The shared models, the fixtures and generated models (inline and offset weights)."""
    found = {f"shared/{p.name}": p for p in shared_model_paths()}
    found.update({f"fixtures/{p.name}": p for p in sorted(FIXTURES.glob("*.tflite"))})
    for name, data in (("inline.tflite", weights_model(12, 512 << 10, external=False)),
                       ("offset.tflite", weights_model(6, 1 << 20, external=True)),
                       ("tiny.tflite", weights_model(2, 16, external=False))):
        path = folder / name
        path.write_bytes(data)
        found[f"generated/{name}"] = path
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, big_model: Path
         ) -> Iterator[tuple[str, Traffic, dict[str, Path]]]:
    models = local_models(tmp_path_factory.mktemp("generated"))
    files: dict[str, Content] = dict(models)
    files["big/big.tflite"] = big_model
    files["broken/truncated.tflite"] = models["fixtures/mnist_int8.tflite"].read_bytes()[:5000]
    files["other/weights.bin"] = b"GGUF" + bytes(2 << 20)
    files["bundles/hand.task"] = bundle(models)
    with serving(files) as (base, traffic):
        yield base, traffic, models


def bundle(models: dict[str, Path]) -> bytes:
    """A ``.task`` bundle: two models (one stored, one deflated) and a nested bundle."""
    import io
    import zipfile

    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("inner.tflite", models["generated/tiny.tflite"].read_bytes())
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as archive:
        archive.writestr("stored.tflite", models["fixtures/mnist_int8.tflite"].read_bytes())
        archive.writestr("deflated.tflite", models["generated/inline.tflite"].read_bytes(),
                         compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("nested.task", inner.getvalue())
    return outer.getvalue()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_details_and_inspect_by_url_equal_the_local_file(
        site: tuple[str, Traffic, dict[str, Path]], capsys: pytest.CaptureFixture[str]) -> None:
    base, _, models = site
    for name, path in models.items():
        url = base + name
        local = run(capsys, "details", "--json", str(path))
        remote = run(capsys, "details", "--json", url)
        assert remote[0] == local[0], name
        assert remote[1] == local[1], name
        assert remote[2].replace(url, str(path)) == local[2], name
        if name.startswith("fixtures/"):  # every section, the path aside
            local = run(capsys, "inspect", "--all", str(path))
            remote = run(capsys, "inspect", "--all", url)
            assert remote[1].replace(url, str(path)) == local[1], name


def test_audit_of_urls_equals_the_local_audit(
        site: tuple[str, Traffic, dict[str, Path]], capsys: pytest.CaptureFixture[str]) -> None:
    base, _, models = site
    names = list(models)
    local = run(capsys, "audit", "--json", *map(str, models.values()))
    remote = run(capsys, "audit", "--json", *[base + n for n in names])
    assert remote[0] == local[0]

    def records(text: str) -> list[dict[str, Any]]:
        found = [json.loads(line) for line in text.splitlines()]
        for record in found:
            del record["path"]
        return found

    assert records(remote[1]) == records(local[1])
    assert len(records(local[1])) == len(names)


def test_a_url_folder_is_listed_like_a_local_folder(
        site: tuple[str, Traffic, dict[str, Path]], capsys: pytest.CaptureFixture[str]) -> None:
    base, _, models = site
    code, out, _ = run(capsys, "audit", "--json", base + "generated/")
    assert code == 0
    listed = [json.loads(line)["path"] for line in out.splitlines()]
    assert listed == sorted(base + n for n in models if n.startswith("generated/"))
    code, out, _ = run(capsys, "audit", "--json", "--pattern", "in*.tflite", base)
    assert [json.loads(line)["path"] for line in out.splitlines()] == [
        base + "generated/inline.tflite"]


def test_bundles_by_url_read_as_local_ones(
        site: tuple[str, Traffic, dict[str, Path]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    base, _, models = site
    local = tmp_path / "hand.task"
    local.write_bytes(bundle(models))
    url = base + "bundles/hand.task"
    for command in (("audit", "--json"), ("details", "--json")):
        mine = run(capsys, *command, url)
        theirs = run(capsys, *command, str(local))
        assert mine[0] == theirs[0] and mine[0] in (0, 1), command
        assert mine[1].replace(url, str(local)) == theirs[1], command
    code, out, _ = run(capsys, "inspect", url)
    assert code == 0 and all(n in out for n in ("stored.tflite", "deflated.tflite",
                                                 "nested.task"))
    member = "!/nested.task!/inner.tflite"
    assert run(capsys, "details", "--json", url + member)[1] == run(
        capsys, "details", "--json", str(local) + member)[1]
    code, out, _ = run(capsys, "audit", "--json", base + "bundles/")
    assert [json.loads(line)["path"] for line in out.splitlines()] == [
        f"{url}!/{name}" for name in ("stored.tflite", "deflated.tflite",
                                      "nested.task!/inner.tflite")]


def test_a_model_with_large_weights_costs_its_structure_only(
        site: tuple[str, Traffic, dict[str, Path]], big_model: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    base, traffic, _ = site
    url = base + "big/big.tflite"
    size = big_model.stat().st_size
    assert size >= BIG_MB << 20
    for command in (("inspect",), ("details", "--json"), ("audit", "--json", "--no-weights")):
        traffic.reset()
        local = run(capsys, *command, str(big_model))
        remote = run(capsys, *command, url)
        assert remote[1].replace(url, str(big_model)) == local[1]
        assert traffic.sent <= 0.02 * size, (command, traffic.sent)
        assert traffic.gets <= 150, (command, traffic.gets)
    # constant data only when asked: one weight costs about its own bytes
    model = tflparse.load(url)
    traffic.reset()
    values = model.subgraphs[0].tensors[7].to_array()
    assert np.array_equal(values, tflparse.load(big_model).subgraphs[0].tensors[7].to_array())
    assert WEIGHT - 2 * _remote.BLOCK <= traffic.sent <= WEIGHT + 2 * _remote.BLOCK


def test_a_large_file_that_is_no_model_costs_its_first_block(
        site: tuple[str, Traffic, dict[str, Path]]) -> None:
    base, traffic, _ = site
    traffic.reset()
    with pytest.raises(tflparse.InvalidModelError, match="GGUF"):
        tflparse.load(base + "other/weights.bin")
    assert traffic.sent <= _remote.BLOCK


def test_the_whole_file_comes_in_chunks(site: tuple[str, Traffic, dict[str, Path]],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    base, traffic, models = site
    monkeypatch.setattr(_remote, "CHUNK", 64 << 10)
    model = tflparse.load(base + "generated/inline.tflite")
    traffic.reset()
    data = bytes(model.bytes)
    assert data == models["generated/inline.tflite"].read_bytes()
    assert traffic.gets >= len(data) // (64 << 10) - 2


def test_object_stores_read_ranges_concurrently(site: tuple[str, Traffic, dict[str, Path]],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``cat_ranges`` path (s3fs, gcsfs...), taken here over HTTP by hiding the file's own
    asynchronous range read."""
    fsspec_http = pytest.importorskip("fsspec.implementations.http")
    base, traffic, models = site
    monkeypatch.delattr(fsspec_http.HTTPFile, "async_fetch_range")
    calls = []
    cat_file = fsspec_http.HTTPFileSystem._cat_file

    async def counted(fs: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return await cat_file(fs, *args, **kwargs)

    monkeypatch.setattr(fsspec_http.HTTPFileSystem, "_cat_file", counted)
    path = models["generated/inline.tflite"]
    traffic.reset()
    model = tflparse.load(base + "generated/inline.tflite")
    assert len(calls) > 1
    assert traffic.sent <= 0.05 * path.stat().st_size
    local = tflparse.load(path)
    for mine, theirs in zip(model.subgraphs[0].tensors, local.subgraphs[0].tensors):
        assert np.array_equal(mine.to_array(), theirs.to_array())


def test_inline_weights_are_fetched_when_read(
        site: tuple[str, Traffic, dict[str, Path]]) -> None:
    base, traffic, models = site
    path = models["generated/inline.tflite"]
    traffic.reset()
    model = tflparse.load(base + "generated/inline.tflite")
    assert traffic.sent <= 0.05 * path.stat().st_size
    local = tflparse.load(path)
    interpreter = tflparse.Interpreter(model_path=base + "generated/inline.tflite")
    for i, tensor in enumerate(model.subgraphs[0].tensors):
        assert np.array_equal(tensor.to_array(), local.subgraphs[0].tensors[i].to_array())
        assert np.array_equal(interpreter.get_tensor(i),
                              tflparse.Interpreter(model_path=str(path)).get_tensor(i))


# -- faults ---------------------------------------------------------------------------------

FAULTS = [  # (path on the server, what the record's error says)
    ("404/fixtures/mnist_int8.tflite", "not found"),
    ("403/fixtures/mnist_int8.tflite", "access denied (HTTP 403)"),
    ("norange/big/big.tflite", "the server does not support byte ranges"),
    ("reset/big/big.tflite", "connection lost"),
    ("short/generated/inline.tflite", "connection lost"),
    ("broken/truncated.tflite", "past the end of the file"),
    ("nothing-here.tflite", "not found"),
]


def test_network_faults_are_one_line_errors_and_the_batch_goes_on(
        site: tuple[str, Traffic, dict[str, Path]], capsys: pytest.CaptureFixture[str]) -> None:
    base, _, _ = site
    good = base + "fixtures/mnist_int8.tflite"
    urls = [good] + [base + path for path, _ in FAULTS] + [good]
    code, out, err = run(capsys, "audit", "--json", *urls)
    assert code == 2
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["path"] for r in records] == urls
    assert records[0]["error"] is None and records[-1] == {**records[0], "path": good}
    for record, (_, expected) in zip(records[1:-1], FAULTS):
        assert record["findings"] == [] and expected in record["error"], record
    assert len(err.splitlines()) == len(FAULTS)
    assert "Traceback" not in err
    for path, expected in FAULTS:  # the other commands: one line, exit 2
        code, out, err = run(capsys, "details", "--json", base + path)
        assert (code, out) == (2, "")
        assert len(err.splitlines()) == 1 and expected in err, err


def test_loading_a_fault_raises_os_or_model_errors(
        site: tuple[str, Traffic, dict[str, Path]]) -> None:
    base, _, _ = site
    with pytest.raises(FileNotFoundError):
        tflparse.load(base + "404/x.tflite")
    with pytest.raises(PermissionError):
        tflparse.load(base + "403/x.tflite")
    with pytest.raises(ConnectionError):
        tflparse.load(base + "reset/big/big.tflite")
    with pytest.raises(tflparse.InvalidModelError, match="past the end of the file"):
        tflparse.Interpreter(model_path=base + "broken/truncated.tflite")


def test_a_stalled_server_times_out(site: tuple[str, Traffic, dict[str, Path]],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    base, _, _ = site
    monkeypatch.setattr(_remote, "TIMEOUT", 0.3)
    monkeypatch.setattr(_remote, "RETRIES", 1)
    with pytest.raises(TimeoutError, match="timed out"):
        tflparse.load(base + "stall/fixtures/mnist_int8.tflite")


def test_without_the_extra_a_url_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)  # import fsspec raises ImportError
    with pytest.raises(OSError, match=r"pip install 'tflparse\[remote\]'"):
        tflparse.load("https://127.0.0.1:9/model.tflite")
    code, out, err = run(capsys, "inspect", "s3://bucket/model.tflite")
    assert code == 2 and len(err.splitlines()) == 1 and "tflparse[remote]" in err


def test_memory_urls(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    data = (FIXTURES / "mnist_int8.tflite").read_bytes()
    with fsspec.open("memory://tflparse-test/mnist.tflite", "wb") as out:
        out.write(data)
    model = tflparse.load("memory://tflparse-test/mnist.tflite")
    local = tflparse.load(data)
    assert [t.name for t in model.subgraphs[0].tensors] == [
        t.name for t in local.subgraphs[0].tensors]


# -- a cluster ------------------------------------------------------------------------------


def _serial(paths: list[str]) -> list[Any]:
    from tflparse.batch import audit_sources

    return list(audit_sources(paths, ordered=True))


@pytest.mark.slow  # a cluster of worker processes
def test_a_dask_cluster_gives_the_serial_records_and_survives_a_dead_worker() -> None:
    pytest.importorskip("distributed")
    import signal

    from tflparse.batch import audit_sources, dask_executor

    paths = [str(p) for p in shared_model_paths()] or [str(p) for p in FIXTURES.glob("*.tflite")]
    serial = _serial(paths)
    with dask_executor("local", 2) as executor:
        client = executor._client  # type: ignore[attr-defined]
        assert list(audit_sources(paths, executor, ordered=True)) == serial
        pids = sorted(client.run(os.getpid).values())
        assert len(pids) == 2
        found = []
        paths = paths[:20]
        serial = serial[:20]
        for report in audit_sources(paths, executor):
            if not found:  # mid-run: one worker dies
                os.kill(pids[0], signal.SIGKILL)
            found.append(report)
    assert sorted(found) == sorted(serial)


def test_batch_docstring_example() -> None:
    import doctest

    from conftest import ROOT

    import tflparse.batch

    os.chdir(ROOT)
    result = doctest.testmod(tflparse.batch)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("ordered", [True, False])
def test_audit_sources_on_an_executor_gives_the_serial_records(ordered: bool) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tflparse.batch import audit_sources

    paths = [str(p) for p in sorted(FIXTURES.glob("*.tflite"))] * 4 + ["no/such.tflite"]
    serial = _serial(paths)
    assert serial[-1].error is not None
    with ThreadPoolExecutor(2) as pool:
        found = list(audit_sources(paths, pool, ordered=ordered, window=3))
    assert (found if ordered else sorted(found)) == (serial if ordered else sorted(serial))


def audit_or_die(source: str, rules: list[str] | None = None, **options: Any) -> Any:
    """The audit, except that a file named ``die.tflite`` kills the process auditing it."""
    from tflparse.audit import audit_file

    if source.endswith("die.tflite"):
        os._exit(3)
    return audit_file(source, rules, **options)


@pytest.mark.slow  # worker processes
def test_a_dead_pool_process_costs_only_its_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import tflparse.batch
    from tflparse.batch import DIED, audit_in_processes

    paths = [str(p) for p in sorted(FIXTURES.glob("*.tflite"))] * 3
    paths[3:3] = ["somewhere/die.tflite"]
    serial = _serial([p for p in paths if "die" not in p])
    monkeypatch.setattr(tflparse.batch, "audit_file", audit_or_die)
    found = [report for reports in audit_in_processes(paths, 2) for report in reports]
    assert [r.path for r in found] == paths
    assert found[3].error is not None and found[3].error.startswith(DIED)
    assert found[:3] + found[4:] == serial
