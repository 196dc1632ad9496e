"""Bytes read from storage and over HTTP, and audit throughput on one worker and a cluster.

Rows for benchmarks/run.py (also runnable alone: ``python benchmarks/remote.py [--quick]``):

- cold cache: a model of large weight buffers (>= 400 MiB; 8 MiB with --quick) is dropped
  from the page cache (``posix_fadvise(POSIX_FADV_DONTNEED)``), then a child process opens it
  and reads every tensor's details; ``/proc/self/io`` ``read_bytes`` says what came from
  storage. tflparse against LiteRT's ``Interpreter``. Linux only.
- HTTP: the same models served by a range-capable server on 127.0.0.1 (tests/rangeserver.py),
  read with fsspec's HTTP filesystem: requests and bytes per model for ``details`` and
  ``audit``, for several block sizes, and the audit's files/s serially and on a 2-worker
  Dask LocalCluster.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
# (block size, files read whole up to): the choices measured
SETTINGS = ((4096, 65536), (16384, 65536), (16384, 1 << 20), (65536, 1 << 20))


# -- cold cache ------------------------------------------------------------------------------


def cold_child(tool: str, path: str) -> None:
    """Drop ``path`` from the page cache, read every tensor's details, print bytes read."""
    sys.path.insert(0, str(ROOT))
    if tool == "tflparse":
        from tflparse import Interpreter
    else:
        from ai_edge_litert.interpreter import Interpreter  # type: ignore[no-redef]
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
    before = _read_bytes()
    interpreter = Interpreter(model_path=path)
    for subgraph in range(interpreter.num_subgraphs()):
        interpreter.get_tensor_details(subgraph)
    interpreter.get_input_details()
    after = _read_bytes()
    print(json.dumps({"read_bytes": after - before}))


def _read_bytes() -> int:
    with open("/proc/self/io") as io:
        for line in io:
            if line.startswith("read_bytes:"):
                return int(line.split()[1])
    return 0


def cold_rows(path: Path) -> list[str]:
    if not (os.path.exists("/proc/self/io") and hasattr(os, "posix_fadvise")):
        return ["(cold cache: needs Linux's /proc/self/io and posix_fadvise; not measured)"]
    size = path.stat().st_size
    found = {}
    for tool in ("tflparse", "litert"):
        runs = []
        for _ in range(3):
            out = subprocess.run([sys.executable, __file__, "--cold", tool, str(path)],
                                 capture_output=True, text=True, timeout=600)
            if out.returncode:
                runs = []
                break
            runs.append(json.loads(out.stdout.splitlines()[-1])["read_bytes"])
        found[tool] = statistics.median(runs) if runs else float("nan")
    cells = " | ".join(f"{found[t] / 2**20:,.1f} MiB ({100 * found[t] / size:.2f} %)"
                       for t in ("tflparse", "litert"))
    return ["| cold cache: bytes read from storage to list every tensor's details | "
            "tflparse | LiteRT |", "|---|---|---|",
            f"| {path.name} ({size / 2**20:,.0f} MiB, {_buffers(path)} weight buffers) | "
            f"{cells} |"]


def _buffers(path: Path) -> int:
    sys.path.insert(0, str(ROOT))
    import tflparse

    return sum(1 for b in tflparse.load(path).buffers if b.span is not None)


# -- HTTP ------------------------------------------------------------------------------------


@contextmanager
def _server(files: dict[str, Path]) -> Iterator[tuple[str, Any]]:
    sys.path.insert(0, str(ROOT / "tests"))
    from rangeserver import serving

    with serving(dict(files)) as found:
        yield found


def _traffic(base: str, traffic: Any, names: list[str], command: str) -> list[tuple[int, int]]:
    """(requests, bytes) of ``command`` for each model by URL."""
    sys.path.insert(0, str(ROOT))
    from tflparse import Interpreter, load
    from tflparse._construction import construct
    from tflparse.audit import audit_path
    from tflparse.cli.details import details_object

    found = []
    for name in names:
        traffic.reset()
        if command == "details":  # else the audit
            with suppress(ValueError):  # a model LiteRT refuses: its reads still count
                model = load(base + name)
                details_object(Interpreter._constructed(model, construct(model)))
        else:  # the weight pass reads every constant: its bytes are the weights'
            audit_path(base + name, weights=False)
        found.append((traffic.gets + traffic.heads, traffic.sent))
    return found


def http_rows(shared: list[Path], big: Path, quick: bool) -> list[str]:
    try:
        import aiohttp  # noqa: F401
        import fsspec  # noqa: F401
    except ImportError:
        return ["(HTTP rows: need the remote extra; not measured)"]
    sys.path.insert(0, str(ROOT))
    from tflparse import _remote

    files = {f"shared/{p.name}": p for p in shared}
    files["big/" + big.name] = big
    names = sorted(files)
    small = [n for n in names if n.startswith("shared/")]
    lines = ["| over HTTP (fsspec, 127.0.0.1): per model | block / whole up to | requests | "
             "bytes | % of the file |", "|---|---|---|---|---|"]
    chosen = _remote.BLOCK, _remote.WHOLE
    with _server(files) as (base, traffic):
        for block, whole in SETTINGS:
            _remote.BLOCK, _remote.HOLE, _remote.WHOLE = block, 4 * block, whole
            setting = f"{block // 1024} KiB / {whole // 1024} KiB"
            for command in ("details", "audit --no-weights"):
                if small:
                    got = _traffic(base, traffic, small, command)
                    total = sum(files[n].stat().st_size for n in small)
                    requests = sum(r for r, _ in got) / len(got)
                    sent = sum(b for _, b in got)
                    lines.append(f"| {len(small)} shared models, `{command}` (mean) | "
                                 f"{setting} | {requests:.1f} | "
                                 f"{sent / len(got) / 1e3:,.1f} kB | "
                                 f"{100 * sent / total:.1f} % |")
                (requests_big, sent_big), = _traffic(base, traffic, ["big/" + big.name],
                                                     command)
                lines.append(f"| {big.name} ({big.stat().st_size / 2**20:,.0f} MiB), "
                             f"`{command}` | {setting} | {requests_big} | "
                             f"{sent_big / 1e3:,.1f} kB | "
                             f"{100 * sent_big / big.stat().st_size:.2f} % |")
        _remote.BLOCK, _remote.WHOLE = chosen
        _remote.HOLE = 4 * _remote.BLOCK
        lines += ["", *throughput(base, small, quick)]
    lines.append(f"\n(tflparse reads blocks of {chosen[0] // 1024} KiB, files up to "
                 f"{chosen[1] // 1024} KiB whole; requests include the HEAD for the size.)")
    return lines


def throughput(base: str, names: list[str], quick: bool) -> list[str]:
    """files/s of the audit: serial (local and HTTP) and on a 2-worker Dask LocalCluster."""
    sys.path.insert(0, str(ROOT))
    from tflparse.batch import audit_sources

    if not names:
        return []
    urls = [base + n for n in names]
    rows = ["| audit throughput (shared models by URL, weight pass included) | files/s |",
            "|---|---|"]
    start = time.perf_counter()
    serial = list(audit_sources(urls, ordered=True))
    serial_rate = len(urls) / (time.perf_counter() - start)
    rows.append(f"| serial, 1 process | {serial_rate:.1f} |")
    try:
        from tflparse.batch import dask_executor

        with dask_executor("local", 2) as executor:
            list(audit_sources(urls[:4], executor))  # workers import tflparse first
            start = time.perf_counter()
            found = list(audit_sources(urls, executor, ordered=True))
            rate = len(urls) / (time.perf_counter() - start)
        same = "identical records" if found == serial else "RECORDS DIFFER"
        rows.append(f"| Dask LocalCluster, 2 worker processes ({same}) | {rate:.1f} |")
    except (ImportError, OSError) as error:
        rows.append(f"| Dask LocalCluster: not measured ({error}) | - |")
    return rows


def rows(quick: bool, shared: list[Path]) -> list[str]:
    """Every row of this file, for benchmarks/run.py."""
    sys.path.insert(0, str(HERE))
    from run import build_weights

    CACHE.mkdir(exist_ok=True)
    megabytes = 8 if quick else 400
    big = CACHE / f"weights_{megabytes}mb_inline.tflite"
    if not big.exists():
        build_weights(big, megabytes, False)
    return [*cold_rows(big), "", *http_rows(shared, big, quick)]


def main(argv: list[str]) -> int:
    if argv[:1] == ["--cold"]:
        cold_child(argv[1], argv[2])
        return 0
    quick = "--quick" in argv
    shared_dir = ROOT.parent / "shared" / "models"
    shared = sorted(p for p in shared_dir.iterdir() if p.suffix in (".tflite", ".bin")) \
        if shared_dir.is_dir() else []
    print("\n".join(rows(quick, shared)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
