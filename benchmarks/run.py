"""Speed and memory of tflparse against LiteRT and the ``tflite`` package, in one run.

    python benchmarks/run.py [--quick] [--repeats N] [--shared-models DIR] [--out FILE.md]

For every model it measures, each in fresh child processes (tools in alternating order,
median of ``--repeats`` runs):

- tflparse: ``Interpreter(model_path=...)``, ``get_tensor_details(i)`` for every subgraph,
  ``get_input_details()``, ``get_output_details()``;
- LiteRT (ai-edge-litert): the same calls on its ``Interpreter``;
- tflite (the generated-accessor package): read name, shape, type, scales, zero points and
  quantized dimension of every tensor;
- the floor: build the same detail dictionaries from arrays parsed beforehand (untimed), i.e.
  what is left when reading costs nothing;

and the peak RSS growth of each timed part (VmHWM after minus VmRSS before). Models are
freshly copied before every run, so their pages sit in the page cache but are mapped by no
one, as after a download. Synthetic models (cached in ``benchmarks/.cache``): 1k, 20k and
100k tensors with 64-channel per-axis quantization; about 1 GB of constant data inline; the
same data stored at offset/size after the flatbuffer. Shared models are timed once each in
one process per tool. It also reports ``import tflparse`` beyond ``import numpy`` and checks
the targets of the speed issue. It reports; it asserts nothing.

Over the shared models it also measures, in one process with both libraries loaded, each
model's warm time for tflparse and for LiteRT (best of ``--repeats``, tools alternating) and
reports the ratio's median, 10th and 90th percentiles, also among models of 100+ tensors;
the audit's throughput in files per second in one process (and, with ``--baseline DIR``, that
of another tflparse checkout, e.g. a git worktree of an older commit, in the same run); and
whole-process times of ``tflparse details --json`` and ``tflparse audit`` on one small model
against a LiteRT script that builds its Interpreter and prints the same details.

The weight pass (``--weights-only`` runs just this part): on a model of 400 MiB of int8
conv, depthwise and fully-connected weights (8 MiB with ``--quick``), the time and RSS
growth of ``tflparse.weights.model_weight_stats`` against one numpy ``min()`` and ``max()``
over every constant (zero-copy views of the same mapped file), each in a fresh child
process, in alternating order, median of ``--repeats``; target: at most 3x.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
TOOLS = ("tflparse", "litert", "tflite", "floor")

# -- synthetic models ------------------------------------------------------------------------


def build_per_axis(path: Path, tensors: int, channels: int = 64) -> None:
    import numpy as np
    from ai_edge_litert import schema_py_generated as s

    rng = np.random.default_rng(0)
    items = []
    for i in range(tensors):
        t = s.TensorT()
        t.name, t.shape, t.type = f"layer{i}/weights", [channels, 3, 3, 8], s.TensorType.INT8
        q = s.QuantizationParametersT()
        q.scale = rng.uniform(1e-3, 0.1, channels).astype(np.float32)
        q.zeroPoint = np.zeros(channels, np.int64)
        t.quantization = q
        items.append(t)
    _write(path, items, [s.BufferT()], [0], [tensors - 1])


def build_weights(path: Path, total_mb: int, external: bool) -> None:
    import numpy as np
    from ai_edge_litert import schema_py_generated as s

    count, each = max(total_mb // 4, 1), min(total_mb, 4) * 1024 * 1024
    items, buffers, blobs = [], [s.BufferT()], []
    for i in range(count):
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = f"w{i}", [each], s.TensorType.INT8, i + 1
        q = s.QuantizationParametersT()
        q.scale, q.zeroPoint = [0.01], [0]
        t.quantization = q
        items.append(t)
        b = s.BufferT()
        data = np.full(each, i % 97, np.uint8)
        if external:
            b.offset, b.size = 1 << 40, each  # placed after packing
            blobs.append((b, data))
        else:
            b.data = data
        buffers.append(b)
    _write(path, items, buffers, [], [0], blobs)


def _write(path: Path, tensors: list[Any], buffers: list[Any], inputs: list[int],
           outputs: list[int], blobs: list[Any] | None = None) -> None:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    subgraph = s.SubGraphT()
    subgraph.tensors, subgraph.inputs, subgraph.outputs = tensors, inputs, outputs
    model = s.ModelT()
    model.version, model.subgraphs, model.buffers = 3, [subgraph], buffers

    def pack() -> bytes:
        builder = flatbuffers.Builder(1 << 20)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    flat = pack()
    if blobs:
        position = (len(flat) + 15) // 16 * 16
        for buffer, data in blobs:
            buffer.offset = position
            position = (position + len(data) + 15) // 16 * 16
        flat = pack()
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        out.write(flat)
        for buffer, data in blobs or []:
            out.write(bytes(buffer.offset - out.tell()))
            out.write(data.tobytes())
    tmp.replace(path)


def build_weight_pass(path: Path, total_mb: int) -> None:
    """int8 weights as real models hold them: per-channel conv [O, 3, 3, I] (axis 0),
    per-channel depthwise [1, H, W, C] (axis 3), per-tensor fully-connected [O, I]; normal
    floats quantized symmetrically (each channel, or the tensor, reaches +-127)."""
    import numpy as np
    from ai_edge_litert import schema_py_generated as s

    rng = np.random.default_rng(0)
    shapes = [([256, 3, 3, 1820], 0), ([1, 64, 64, 1024], 3), ([2048, 2048], None)]
    each = 4 * 1024 * 1024 if total_mb >= 4 else 1024 * 1024 // 4
    count = max(total_mb * 1024 * 1024 // each, 3)
    items, buffers = [], [s.BufferT()]
    for i in range(count):
        shape, axis = shapes[i % 3]
        if each < 4 * 1024 * 1024:  # --quick: the same layouts, smaller
            shape = [max(d // 4, 1) for d in shape]
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = f"w{i}", shape, s.TensorType.INT8, i + 1
        channels = 1 if axis is None else shape[axis]
        q = s.QuantizationParametersT()
        q.scale = rng.uniform(1e-3, 0.1, channels).astype(np.float32)
        q.zeroPoint = np.zeros(channels, np.int64)
        q.quantizedDimension = axis or 0
        t.quantization = q
        items.append(t)
        b = s.BufferT()
        x = rng.standard_normal(shape, dtype=np.float32)
        reduce = tuple(d for d in range(len(shape)) if d != axis) if axis is not None else None
        peak = np.abs(x).max(axis=reduce, keepdims=True)
        b.offset, b.size = 1 << 40, x.size  # placed after packing
        buffers.append((b, np.round(x / peak * 127).astype(np.int8).reshape(-1)))
    _write(path, items, [buffers[0]] + [b for b, _ in buffers[1:]], [], [0], buffers[1:])


def weight_child(tool: str, path: str) -> None:
    """One weight pass over ``path``: seconds and RSS growth as one JSON line."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    import tflparse
    from tflparse.weights import model_weight_stats

    model = tflparse.load(path)
    before = _rss_mb("VmRSS")
    start = time.perf_counter()
    if tool == "weights":
        count = len(model_weight_stats(model))
    else:  # numpy: one min() and max() over every constant, as zero-copy views
        count = 0
        for subgraph in model.subgraphs:
            for t in subgraph.tensors:
                data = t.data
                if data is not None:
                    values = np.frombuffer(data, np.int8)
                    values.min(), values.max()
                    count += 1
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "rss_mb": _rss_mb("VmHWM") - before,
                      "tensors": count}), flush=True)


def weight_pass(quick: bool, repeats: int) -> list[str]:
    """The weight-pass benchmark's report lines."""
    CACHE.mkdir(exist_ok=True)
    megabytes = 12 if quick else 400
    path = CACHE / f"weight_pass_{megabytes}mb.tflite"
    if not path.exists():
        print(f"building {path.name} ...", file=sys.stderr)
        build_weight_pass(path, megabytes)
    runs: dict[str, list[dict[str, Any]]] = {"weights": [], "numpy": []}
    for repeat in range(repeats):
        for tool in (("weights", "numpy") if repeat % 2 == 0 else ("numpy", "weights")):
            result = subprocess.run([sys.executable, __file__, "--weight-child", tool,
                                     str(path)], capture_output=True, text=True, timeout=3600)
            if result.returncode == 0:
                runs[tool].append(json.loads(result.stdout.splitlines()[-1]))
    if not runs["weights"] or not runs["numpy"]:
        return ["weight pass: a child failed"]
    ms = {tool: statistics.median(r["seconds"] for r in found) * 1000
          for tool, found in runs.items()}
    rss = {tool: statistics.median(r["rss_mb"] for r in found) for tool, found in runs.items()}
    ratio = ms["weights"] / ms["numpy"]
    size = path.stat().st_size / 2 ** 20
    lines = ["", f"Weight pass on {path.name} ({size:,.0f} MiB, "
             f"{runs['weights'][0]['tensors']} int8 constants), median of {repeats}:", "",
             "| pass | ms | RSS growth MB |", "|---|---|---|",
             f"| `model_weight_stats` | {ms['weights']:.1f} | {rss['weights']:.1f} |",
             f"| numpy min() + max() of every constant | {ms['numpy']:.1f} | "
             f"{rss['numpy']:.1f} |", ""]
    verdict = "(quick run: target not checked)" if quick else \
        f"- weight pass {ratio:.2f}x numpy min/max (<= 3): {'met' if ratio <= 3 else 'NOT met'}"
    return lines + [f"weight pass / numpy min+max: {ratio:.2f}", verdict]


def synthetic(quick: bool) -> list[Path]:
    CACHE.mkdir(exist_ok=True)
    sizes = (10, 50) if quick else (1000, 20000, 100000)
    megabytes = 8 if quick else 1024
    wanted = [(CACHE / f"per_axis_{n}.tflite", lambda p, n=n: build_per_axis(p, n))
              for n in sizes]
    wanted += [(CACHE / f"weights_{megabytes}mb_inline.tflite",
                lambda p: build_weights(p, megabytes, False)),
               (CACHE / f"weights_{megabytes}mb_offset.tflite",
                lambda p: build_weights(p, megabytes, True))]
    for path, build in wanted:
        if not path.exists():
            print(f"building {path.name} ...", file=sys.stderr)
            build(path)
    return [path for path, _ in wanted]


# -- the measured child ----------------------------------------------------------------------


def _rss_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return 0.0


def child(tool: str, paths: list[str]) -> None:
    """Measure one tool on models, one JSON line each: seconds and RSS growth."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    if tool == "tflparse":
        import tflparse

        def run(path: str) -> int:
            it = tflparse.Interpreter(model_path=path)
            n = sum(len(it.get_tensor_details(i)) for i in range(it.num_subgraphs()))
            it.get_input_details()
            it.get_output_details()
            return n
    elif tool == "litert":
        from ai_edge_litert.interpreter import Interpreter

        def run(path: str) -> int:
            it = Interpreter(model_path=path)
            n = sum(len(it.get_tensor_details(i)) for i in range(it.num_subgraphs()))
            it.get_input_details()
            it.get_output_details()
            return n
    elif tool == "tflite":
        import tflite

        def run(path: str) -> int:
            with open(path, "rb") as handle:
                buf = handle.read()
            model = tflite.Model.GetRootAsModel(buf, 0)
            n = 0
            for i in range(model.SubgraphsLength()):
                subgraph = model.Subgraphs(i)
                for j in range(subgraph.TensorsLength()):
                    t = subgraph.Tensors(j)
                    t.Name(), t.ShapeAsNumpy(), t.Type()
                    q = t.Quantization()
                    if q is not None:
                        q.ScaleAsNumpy(), q.ZeroPointAsNumpy(), q.QuantizedDimension()
                    n += 1
            return n
    else:  # the floor: dictionaries from arrays parsed beforehand
        import tflparse

        prepared: dict[str, Any] = {}

        def prepare(path: str) -> None:
            model = tflparse.load(path)
            rows = []
            for subgraph in model.subgraphs:
                for t in subgraph.tensors:
                    q = t.quantization
                    scale = q.scale if q is not None and q.scale is not None else None
                    zp = q.zero_point if q is not None and q.zero_point is not None else None
                    rows.append((t.name, t.index, np.array(t.shape),
                                 np.array(t.shape_signature if t.shape_signature is not None
                                          else t.shape), np.int8,
                                 None if scale is None else np.array(scale),
                                 None if zp is None else np.array(zp, np.int32),
                                 0 if q is None else q.quantized_dimension))
            prepared[path] = rows

        def run(path: str) -> int:
            out = []
            for name, index, shape, signature, dtype, scale, zp, axis in prepared[path]:
                scales = scale.copy() if scale is not None else np.zeros(0, np.float32)
                zps = zp.copy() if zp is not None else np.zeros(0, np.int32)
                out.append({
                    "name": name, "index": index, "shape": shape.copy(),
                    "shape_signature": signature.copy(), "dtype": dtype,
                    "quantization": (float(scales[0]), int(zps[0])) if len(scales) == 1
                    else (0.0, 0),
                    "quantization_parameters": {"scales": scales, "zero_points": zps,
                                                "quantized_dimension": axis,
                                                "block_size": 0},
                    "sparsity_parameters": {},
                })
            return len(out)

    for path in paths:
        if tool == "floor":
            prepare(path)
        before = _rss_mb("VmRSS")
        start = time.perf_counter()
        count = run(path)
        seconds = time.perf_counter() - start
        growth = _rss_mb("VmHWM") - before
        print(json.dumps({"path": path, "seconds": seconds, "rss_mb": growth,
                          "tensors": count}), flush=True)


def child_per_model(repeats: int, paths: list[str]) -> None:
    """Each model's best warm time with tflparse and with LiteRT, tools alternating."""
    sys.path.insert(0, str(ROOT))
    from ai_edge_litert.interpreter import Interpreter as LiteRT

    import tflparse

    def run(make: Any, path: str) -> int:
        it = make(model_path=path)
        n = sum(len(it.get_tensor_details(i)) for i in range(it.num_subgraphs()))
        it.get_input_details()
        it.get_output_details()
        return int(n)

    for path in paths:
        best = {"tflparse": float("inf"), "litert": float("inf")}
        count = 0
        try:
            for repeat in range(repeats + 1):  # the first round warms both up
                order = ("tflparse", "litert") if repeat % 2 else ("litert", "tflparse")
                for tool in order:
                    make = tflparse.Interpreter if tool == "tflparse" else LiteRT
                    start = time.perf_counter()
                    count = run(make, path)
                    if repeat:
                        best[tool] = min(best[tool], time.perf_counter() - start)
        except ValueError:
            continue  # a model LiteRT refuses: no comparison
        print(json.dumps({"path": path, "tensors": count, **best}), flush=True)


def child_audit(root: str, repeats: int, paths: list[str]) -> None:
    """Files per second of ``audit_path`` over ``paths`` in this process (best of repeats),
    with the tflparse found at ``root``."""
    sys.path.insert(0, root)
    from tflparse.audit import audit_path

    for path in paths[:3]:
        audit_path(path)  # warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for path in paths:
            audit_path(path)
        best = min(best, time.perf_counter() - start)
    print(json.dumps({"files": len(paths), "seconds": best}), flush=True)


_LITERT_DETAILS = """
import json, sys
from ai_edge_litert.interpreter import Interpreter
it = Interpreter(model_path=sys.argv[1])
found = {"inputs": it.get_input_details(), "outputs": it.get_output_details(),
         "tensors": [it.get_tensor_details(i) for i in range(it.num_subgraphs())]}
json.dump(found, sys.stdout, default=lambda value: getattr(value, "tolist", lambda: str(value))())
"""


def process_times(model: Path, repeats: int) -> dict[str, float]:
    """Median ms of whole processes: the CLI commands, the LiteRT script, bare numpy."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    commands = {
        "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
        "tflparse details --json": [sys.executable, "-m", "tflparse", "details", "--json",
                                    str(model)],
        "tflparse audit": [sys.executable, "-m", "tflparse", "audit", str(model)],
        "LiteRT script (Interpreter + details as JSON)": [sys.executable, "-c",
                                                           _LITERT_DETAILS, str(model)],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for repeat in range(repeats + 1):
        for name, command in (commands.items() if repeat % 2 else
                              reversed(list(commands.items()))):
            start = time.perf_counter()
            subprocess.run(command, env=env, capture_output=True, timeout=600)
            if repeat:  # the first round fills the page cache
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(found) * 1000 for name, found in times.items()}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    at = (len(ordered) - 1) * q
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def shared_model_lines(paths: list[Path], repeats: int, baseline: Path | None
                       ) -> list[str]:
    """The per-model ratio, audit throughput and whole-process rows for the shared models."""
    lines: list[str] = []
    result = subprocess.run([sys.executable, __file__, "--child-per-model", str(repeats),
                             *map(str, paths)], capture_output=True, text=True, timeout=3600)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    if rows:
        ratios = [r["tflparse"] / r["litert"] for r in rows]
        large = [r["tflparse"] / r["litert"] for r in rows if r["tensors"] >= 100]
        median_tensors = statistics.median(r["tensors"] for r in rows)
        lines += ["", f"Per model, warm, in one process (best of {repeats}), the {len(rows)} "
                      f"shared models LiteRT loads (median {median_tensors:g} tensors):", "",
                  "| models | n | tflparse / LiteRT: median | 10th pct | 90th pct | "
                  "tflparse ms (median) | LiteRT ms (median) |", "|---|---|---|---|---|---|---|"]
        for name, chosen in (("all", rows), ("100+ tensors",
                                              [r for r in rows if r["tensors"] >= 100])):
            if not chosen:
                continue
            found = [r["tflparse"] / r["litert"] for r in chosen]
            lines.append(
                f"| {name} | {len(chosen)} | {statistics.median(found):.2f} | "
                f"{_percentile(found, 0.1):.2f} | {_percentile(found, 0.9):.2f} | "
                f"{statistics.median(r['tflparse'] for r in chosen) * 1000:.2f} | "
                f"{statistics.median(r['litert'] for r in chosen) * 1000:.2f} |")
        lines += ["", "Targets:",
                  _target(f"median per-model time {statistics.median(ratios):.2f}x LiteRT "
                          "(<= 1.0)", statistics.median(ratios) <= 1.0)]
        if large:
            lines.append(_target(f"100+ tensors: median {statistics.median(large):.2f}x "
                                 "LiteRT (<= 1.0)", statistics.median(large) <= 1.0))
    audits = {"tflparse": str(ROOT)}
    if baseline is not None:
        audits[f"baseline ({baseline.name})"] = str(baseline)
    speeds: dict[str, float] = {}
    for name, root in audits.items():
        out = subprocess.run([sys.executable, __file__, "--child-audit", root, str(repeats),
                              *map(str, paths)], capture_output=True, text=True, timeout=3600)
        if out.returncode == 0 and out.stdout.strip():
            found = json.loads(out.stdout.splitlines()[-1])
            speeds[name] = found["files"] / found["seconds"]
    if speeds:
        lines += ["", f"Audit throughput, one process, {len(paths)} shared models (best of "
                      f"{repeats} passes): " + "; ".join(f"{name} {value:.1f} files/s"
                                                         for name, value in speeds.items())]
        if len(speeds) == 2:
            gain = speeds["tflparse"] / list(speeds.values())[1]
            lines.append(_target(f"audit {gain:.1f}x the baseline's files/s (>= 5)", gain >= 5))
    small = min((p for p in paths if rows_by_size(rows, p)), key=lambda p: p.stat().st_size,
                default=None) if rows else None
    if small is not None:
        found_times = process_times(small, repeats)
        lines += ["", f"Whole processes on {small.name} (median of {repeats}; fresh Python "
                      "each time):", "", "| command | ms |", "|---|---|"]
        lines += [f"| {name} | {ms:.0f} |" for name, ms in found_times.items()]
    return lines


def rows_by_size(rows: list[dict[str, Any]], path: Path) -> bool:
    """Whether ``path`` is a model LiteRT loaded with a handful (2-10) of tensors."""
    return any(r["path"] == str(path) and 2 <= r["tensors"] <= 10 for r in rows)


def _target(text: str, ok: bool) -> str:
    return f"- {text}: {'met' if ok else 'NOT met'}"


def measure(tool: str, paths: list[Path], fresh_copy: bool) -> list[dict[str, Any]]:
    targets = []
    for path in paths:
        if fresh_copy:
            copy = CACHE / f"fresh_{path.name}"
            shutil.copyfile(path, copy)
            targets.append(str(copy))
        else:
            targets.append(str(path))
    result = subprocess.run([sys.executable, __file__, "--child", tool, *targets],
                            capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        return [{"path": str(p), "error": result.stderr.strip().splitlines()[-1:]}
                for p in paths]
    return [json.loads(line) for line in result.stdout.splitlines()]


def import_time(repeats: int = 9) -> float:
    """Median ms of ``import tflparse`` after ``import numpy``, with bytecode compiled first
    (as an installed package has it; a source checkout may run with none)."""
    import compileall

    compileall.compile_dir(str(ROOT / "tflparse"), quiet=1)
    code = ("import time; t = time.perf_counter(); import numpy; t1 = time.perf_counter(); "
            "import tflparse; t2 = time.perf_counter(); print(t2 - t1)")
    found = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=str(ROOT))
        found.append(float(out.stdout.strip()))
    return statistics.median(found) * 1000


# -- report ----------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = []
    for package in ("numpy", "ai_edge_litert", "tflite"):
        try:
            from importlib.metadata import version

            versions.append(f"{package} {version(package.replace('_', '-'))}")
        except Exception:
            pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            + ", ".join(versions))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        child(argv[1], argv[2:])
        return 0
    if argv[:1] == ["--child-per-model"]:
        child_per_model(int(argv[1]), argv[2:])
        return 0
    if argv[:1] == ["--child-audit"]:
        child_audit(argv[1], int(argv[2]), argv[3:])
        return 0
    if argv[:1] == ["--weight-child"]:
        weight_child(argv[1], argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--shared-models", type=Path, default=ROOT.parent / "shared" / "models")
    parser.add_argument("--no-shared", action="store_true")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--baseline", type=Path,
                        help="another tflparse checkout whose audit throughput to compare")
    parser.add_argument("--weights-only", action="store_true",
                        help="only the weight-pass benchmark")
    args = parser.parse_args(argv)
    if args.weights_only:
        report = "\n".join(weight_pass(args.quick, args.repeats))
        print(report)
        if args.out:
            args.out.write_text(report + "\n")
        return 0

    models = synthetic(args.quick)
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for repeat in range(args.repeats):
        order = TOOLS if repeat % 2 == 0 else TOOLS[::-1]
        for model in models:
            for tool in order:
                runs.setdefault((tool, str(model)), []).extend(
                    measure(tool, [model], fresh_copy=True))
    shared: dict[str, list[dict[str, Any]]] = {}
    if not args.no_shared and args.shared_models.is_dir():
        paths = sorted(p for p in args.shared_models.iterdir()
                       if p.suffix in (".tflite", ".bin") and not p.name.startswith("FAIL_"))
        for tool in TOOLS:
            shared[tool] = measure(tool, paths, fresh_copy=False)

    lines = [f"Machine: {machine()}.", "",
             "| model | tensors | MB | tflparse ms | LiteRT ms | tflite ms | floor ms | "
             "/LiteRT | /tflite | /floor | RSS MB tflparse | RSS MB LiteRT | RSS MB tflite |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    medians: dict[str, dict[str, float]] = {}
    for model in models:
        row: dict[str, float] = {}
        for tool in TOOLS:
            found = [r for r in runs[(tool, str(model))] if "seconds" in r]
            row[tool] = statistics.median(r["seconds"] for r in found) * 1000 if found else \
                float("nan")
            row[tool + "_rss"] = statistics.median(r["rss_mb"] for r in found) if found else \
                float("nan")
            if found:
                row["tensors"] = found[0]["tensors"]
        medians[model.name] = row
        lines.append(_row(model.name, row, model.stat().st_size))
    if shared:
        totals = {tool: sum(r.get("seconds", 0.0) for r in shared[tool]) * 1000
                  for tool in TOOLS}
        count = sum(r.get("tensors", 0) for r in shared["tflparse"])
        size = sum(p.stat().st_size for p in args.shared_models.iterdir()
                   if p.suffix in (".tflite", ".bin") and not p.name.startswith("FAIL_"))
        row = {**totals, "tensors": count}
        for tool in TOOLS:
            row[tool + "_rss"] = max((r.get("rss_mb", 0.0) for r in shared[tool]), default=0)
        lines.append(_row(f"all {len(shared['tflparse'])} shared models (sum; RSS: max)",
                          row, size))
    imported = import_time()
    lines += ["", f"`import tflparse` beyond `import numpy`: {imported:.1f} ms (median)."]
    from remote import rows as remote_rows  # cold cache, over HTTP, on a cluster

    shared_paths = [] if args.no_shared or not args.shared_models.is_dir() else sorted(
        p for p in args.shared_models.iterdir() if p.suffix in (".tflite", ".bin"))
    lines += ["", *remote_rows(args.quick, shared_paths)]
    lines += ["", *targets(medians, imported, args.quick)]
    if shared:
        lines += shared_model_lines(paths, args.repeats, args.baseline)
    lines += weight_pass(args.quick, args.repeats)
    report = "\n".join(lines)
    print(report)
    if args.out:
        args.out.write_text(report + "\n")
    return 0


def _row(name: str, row: dict[str, float], size: int) -> str:
    def ratio(a: str, b: str) -> str:
        return f"{row[a] / row[b]:.2f}" if row.get(b) else "-"

    return (f"| {name} | {int(row.get('tensors', 0)):,} | {size / 1e6:,.1f} | "
            f"{row['tflparse']:.1f} | {row['litert']:.1f} | {row['tflite']:.1f} | "
            f"{row['floor']:.1f} | {ratio('tflparse', 'litert')} | "
            f"{ratio('tflparse', 'tflite')} | {ratio('tflparse', 'floor')} | "
            f"{row['tflparse_rss']:.1f} | {row['litert_rss']:.1f} | {row['tflite_rss']:.1f} |")


def targets(medians: dict[str, dict[str, float]], imported: float, quick: bool) -> list[str]:
    if quick:
        return ["(quick run: targets not checked)"]
    out = ["Targets:"]
    big, huge = medians.get("per_axis_20000.tflite"), medians.get("per_axis_100000.tflite")

    def check(text: str, ok: bool) -> None:
        out.append(_target(text, ok))

    if big:
        check(f"20k tensors: tflparse {big['tflparse'] / big['litert']:.2f}x LiteRT (<= 0.5)",
              big["tflparse"] <= 0.5 * big["litert"])
        check(f"20k tensors: {big['tflparse'] / big['tflite']:.2f}x tflite (<= 0.1)",
              big["tflparse"] <= 0.1 * big["tflite"])
        check(f"20k tensors: {big['tflparse'] / big['floor']:.2f}x the floor (<= 2)",
              big["tflparse"] <= 2 * big["floor"])
    if big and huge:
        check(f"100k / 20k time: {huge['tflparse'] / big['tflparse']:.2f} (<= 5.5)",
              huge["tflparse"] <= 5.5 * big["tflparse"])
    for name, row in medians.items():
        if name.startswith("weights_"):
            size = (CACHE / name).stat().st_size / 1e6
            check(f"{name}: RSS growth {row['tflparse_rss']:.1f} MB = "
                  f"{100 * row['tflparse_rss'] / size:.1f}% of the file (<= 5%)",
                  row["tflparse_rss"] <= 0.05 * size)
    check(f"import: {imported:.1f} ms beyond numpy (<= 30)", imported <= 30)
    return out


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
