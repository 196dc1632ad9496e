"""The ``tflparse`` command line: ``inspect``, ``details`` and ``audit``.

``tflparse MODEL`` is ``tflparse inspect MODEL``. Exit status: 0 success, 1 audit findings at
or above ``--fail-on``, 2 unreadable input, a model LiteRT refuses (``details``) or bad usage.
Names read from a file are escaped before printing (:func:`escape`).

JSON mapping of ``details --json`` (see :func:`jsonable`): arrays become lists; ``dtype`` is
``numpy.dtype(t).name`` (``"int8"``, ``"float32"``, ``"bool"``), except ``"bytes"`` for
``numpy.bytes_`` and ``"object"`` for ``numpy.object_`` (``numpy.dtype(name).type`` maps every
name back); tuples become lists; floats are written with Python's shortest round-trip repr of
the exact value (a float32 widened to double, so ``numpy.float32(x)`` recovers it bit for bit);
NaN and infinities, which JSON cannot hold, become the strings ``"NaN"``, ``"Infinity"`` and
``"-Infinity"``. A part that LiteRT would raise for is ``{"error": message}``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import fnmatch
import json
import math
import os
import shutil
import sys
import textwrap
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Callable, TextIO

import numpy as np

from . import __version__
from ._dtypes import type_info
from ._errors import InvalidModelError
from ._flatbuf import FlatBuffer, Table
from ._litert import construct
from ._schema import QuantizationDetails, Ref, Scalar, Vector
from .audit import RULES, SEVERITIES, FileReport, Finding, audit_path
from .interpreter import Interpreter
from .model import BlockwiseQuantization, Model, MultiAxisQuantization, Tensor, load

__all__ = ["main", "escape", "ellipsize", "jsonable", "dtype_name"]

COMMANDS = ("inspect", "details", "audit")
DEFAULT_PATTERNS = ("*.tflite", "*.bin")
DEFAULT_ROWS = 20
ELLIPSIS = "…"

# --------------------------------------------------------------------------------------------
# Text helpers


def escape(text: str) -> str:
    """``text`` with control and other non-printable characters as ``\\xNN``/``\\uNNNN``."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch.isprintable():
            out.append(ch)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def ellipsize(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the last one an ellipsis when cut."""
    if len(text) <= width:
        return text
    return text[:max(width - 1, 0)] + ELLIPSIS if width > 0 else ""


def _shape(values: Iterable[int]) -> str:
    return "[" + ",".join(str(v) for v in values) + "]"


def _num(value: float) -> str:
    return f"{value:.4g}"


def _dtype_label(tensor_type: int) -> str:
    info = type_info(tensor_type)
    return info.name.lower() if info is not None else f"type{tensor_type}"


def _quantization(tensor: Tensor) -> str:
    """One short cell: scale/zero point, per-axis summary, blockwise or multi-axis."""
    q = tensor.quantization
    if q is None:
        return "-"
    details = q.details
    if q.details_type == QuantizationDetails.BlockwiseQuantization:
        if isinstance(details, BlockwiseQuantization):
            return f"blockwise block={details.block_size} scales=t{details.scales}"
        return "blockwise (no details)"
    if q.details_type == QuantizationDetails.MultiAxisQuantization:
        dims = getattr(details, "quantized_dimensions", None)
        axes = "?" if not isinstance(details, MultiAxisQuantization) or dims is None else \
            _shape(dims.tolist())
        return f"multi-axis axes={axes}"
    scale, zero_point = q.scale, q.zero_point
    if scale is None or not len(scale):
        return "-"
    if len(scale) == 1:
        zp = "?" if zero_point is None or not len(zero_point) else str(int(zero_point[0]))
        return f"s={_num(float(scale[0]))} zp={zp}"
    lo, hi = float(np.min(scale)), float(np.max(scale))
    return f"axis={q.quantized_dimension} n={len(scale)} {lo:.3g}..{hi:.3g}"


def _write_table(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[str]],
                 widths: Sequence[int], indent: str = "  ") -> None:
    """Left-aligned columns of fixed widths (the last one takes the rest); cells are cut."""
    def line(cells: Sequence[str]) -> str:
        parts = [ellipsize(c, w).ljust(w) for c, w in zip(cells[:-1], widths[:-1])]
        parts.append(ellipsize(cells[-1], widths[-1]))
        return (indent + " ".join(parts)).rstrip()
    out.write(line(header) + "\n")
    for row in rows:
        out.write(line(row) + "\n")


def _jobs(text: str) -> int:
    """``--jobs``: a count of worker threads, 0 for one per CPU."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _terminal_width() -> int:
    return max(80, shutil.get_terminal_size((80, 24)).columns)


# --------------------------------------------------------------------------------------------
# Conversion metadata (tensorflow/compiler/mlir/lite/schema/conversion_metadata.fbs)


class _ConversionMetadata:
    ENVIRONMENT = Ref("environment", 4, "Environment")
    OPTIONS = Ref("options", 6, "ConversionOptions")


class _Environment:
    TENSORFLOW_VERSION = Ref("tensorflow_version", 4, "string")
    API_VERSION = Scalar("api_version", 6, "<I", 4, 0)
    MODEL_TYPE = Scalar("model_type", 8, "<i", 4, 0)
    MODEL_HASH = Scalar("model_hash", 10, "<Q", 8, 0)


class _ConversionOptions:
    MODEL_OPTIMIZATION_MODES = Vector("model_optimization_modes", 4, "<i", 4)
    ALLOW_CUSTOM_OPS = Scalar("allow_custom_ops", 6, "<?", 1, False)
    ENABLE_SELECT_TF_OPS = Scalar("enable_select_tf_ops", 8, "<?", 1, False)
    FORCE_SELECT_TF_OPS = Scalar("force_select_tf_ops", 10, "<?", 1, False)
    SPARSITY_BLOCK_SIZES = Vector("sparsity_block_sizes", 12, "SparsityBlockSize", 4)


class _SparsityBlockSize:
    VALUES = Vector("values", 4, "<I", 4)


_MODEL_TYPES = {0: "NONE", 1: "TF_SAVED_MODEL", 2: "KERAS_MODEL", 3: "TF_CONCRETE_FUNCTIONS",
                4: "TF_GRAPH_DEF", 5: "TF_SESSION", 6: "JAX", 7: "PYTORCH"}
_OPTIMIZATION_MODES = {
    1001: "float16 weights (PTQ_FLOAT16)",
    1002: "dynamic range (PTQ_DYNAMIC_RANGE)",
    1003: "full integer (PTQ_FULL_INTEGER)",
    1004: "int16 activations (PTQ_INT16)",
    2000: "quantization-aware training (QUANTIZATION_AWARE_TRAINING)",
    3001: "random sparsity (RANDOM_SPARSITY)",
    3002: "block sparsity (BLOCK_SPARSITY)",
    3003: "structured sparsity (STRUCTURED_SPARSITY)",
}


def conversion_metadata(raw: bytes) -> list[tuple[str, str]]:
    """(label, value) lines describing a ``CONVERSION_METADATA`` flatbuffer."""
    root = FlatBuffer(raw).root("CONVERSION_METADATA")
    lines: list[tuple[str, str]] = []
    env = root.table(_ConversionMetadata.ENVIRONMENT)
    if env is not None:
        version = env.string(_Environment.TENSORFLOW_VERSION)
        model_type = env.integer(_Environment.MODEL_TYPE)
        parts = [f"TensorFlow {escape(version.decode('utf-8', 'backslashreplace'))}"
                 if version is not None else "TensorFlow ?",
                 f"converter API v{env.integer(_Environment.API_VERSION)}",
                 f"from {_MODEL_TYPES.get(model_type, f'model type {model_type}')}"]
        model_hash = env.integer(_Environment.MODEL_HASH)
        if model_hash:
            parts.append(f"hash {model_hash:#018x}")
        lines.append(("converter", ", ".join(parts)))
    options = root.table(_ConversionMetadata.OPTIONS)
    if options is not None:
        lines.append(("optimizations", _optimizations(options)))
        flags = [name for name, field in (
            ("allow_custom_ops", _ConversionOptions.ALLOW_CUSTOM_OPS),
            ("enable_select_tf_ops", _ConversionOptions.ENABLE_SELECT_TF_OPS),
            ("force_select_tf_ops", _ConversionOptions.FORCE_SELECT_TF_OPS),
        ) if options.integer(field)]
        if flags:
            lines.append(("options", ", ".join(flags)))
    return lines


def _optimizations(options: Table) -> str:
    modes = options.array(_ConversionOptions.MODEL_OPTIMIZATION_MODES)
    names = [_OPTIMIZATION_MODES.get(m, f"mode {m}") for m in
             ([] if modes is None else modes.tolist())]
    blocks = options.tables(_ConversionOptions.SPARSITY_BLOCK_SIZES)
    if blocks is not None and len(blocks):
        sizes = []
        for i in range(len(blocks)):
            values = blocks[i].array(_SparsityBlockSize.VALUES)
            sizes.append("x".join(map(str, [] if values is None else values.tolist())))
        names.append(f"sparsity blocks {', '.join(sizes)}")
    return "; ".join(names) if names else "none"


def _metadata_text(raw: memoryview | None) -> str:
    """A NUL-padded string metadata value, escaped."""
    if raw is None:
        return "?"
    return escape(bytes(raw).split(b"\x00", 1)[0].decode("utf-8", "backslashreplace"))


# --------------------------------------------------------------------------------------------
# inspect


class _Guard:
    """Runs a report section; a malformed part prints one line instead of a traceback."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, label: str, section: Callable[[], None]) -> None:
        try:
            section()
        except InvalidModelError as error:
            self.out.write(f"{label}: unreadable: {escape(str(error))}\n")


def _wrap(first: str, text: str, width: int, indent: int) -> str:
    """``first`` then ``text``, folded at spaces (or anywhere, for long words) into lines of
    at most ``width`` characters, later lines indented by ``indent``; with a newline."""
    return textwrap.fill(text, width, initial_indent=first, subsequent_indent=" " * indent,
                         break_on_hyphens=False, drop_whitespace=True) + "\n"


def _header(out: TextIO, model: Model, path: str, width: int) -> None:
    def field(label: str, value: str) -> str:
        return _wrap(f"{label:<15}", value, width, 15)

    out.write(field("file:", escape(path)))
    out.write(field("size:", f"{model.size:,} bytes"))
    out.write(field("schema:", f"version {model.version}"))
    if model.description is not None:
        out.write(field("description:", escape(model.description)))
    names = [entry.name for entry in model.metadata]
    if "min_runtime_version" in names:
        raw_version = model.metadata_bytes("min_runtime_version")
        out.write(field("min runtime:", _metadata_text(raw_version)))
    if "CONVERSION_METADATA" in names:
        raw = model.metadata_bytes("CONVERSION_METADATA")
        try:
            lines = conversion_metadata(bytes(raw or b""))
        except InvalidModelError as error:
            lines = [("conversion", f"unreadable: {escape(str(error))}")]
        for label, value in lines:
            out.write(field(label + ":", value))
    if names:
        out.write(field("metadata:", ", ".join(escape(n) for n in names)))
    try:
        construct(model)
        verdict = "loads"
    except InvalidModelError as error:
        verdict = "refuses: " + escape(str(error).strip())
    out.write(field("LiteRT 2.3.0:", verdict))


def _subgraphs(out: TextIO, model: Model, width: int) -> None:
    out.write(f"subgraphs:     {len(model.subgraphs)}\n")
    for subgraph in model.subgraphs:
        name = f" '{escape(subgraph.name)}'" if subgraph.name else ""
        out.write(_wrap("  ", f"{subgraph.index}{name}: {len(subgraph.tensors)} tensors, "
                              f"{len(subgraph.operators)} operators, inputs "
                              f"{_shape(subgraph.inputs)}, outputs {_shape(subgraph.outputs)}",
                        width, 4))
    signatures = model.signature_defs
    if signatures:
        out.write(f"signatures:    {len(signatures)}\n")
    for signature in signatures:
        ins = ", ".join(f"{escape(m.name)}=t{m.tensor_index}" for m in signature.inputs or ())
        outs = ", ".join(f"{escape(m.name)}=t{m.tensor_index}" for m in signature.outputs or ())
        out.write(_wrap("  ", f"'{escape(signature.key)}' -> subgraph "
                              f"{signature.subgraph_index}: inputs [{ins}], outputs [{outs}]",
                        width, 4))


def _io(out: TextIO, model: Model, si: int, width: int) -> None:
    subgraph = model.subgraphs[si]
    for label, indices in (("inputs", subgraph.inputs), ("outputs", subgraph.outputs)):
        out.write(f"{label} of subgraph {si}:\n")
        for index in indices.tolist():
            if not 0 <= index < len(subgraph.tensors):
                out.write(f"  t{index}: no such tensor\n")
                continue
            t = subgraph.tensors[index]
            signature = t.shape_signature
            shape = _shape(t.shape.tolist())
            if signature is not None and len(signature) and \
                    signature.tolist() != t.shape.tolist():
                shape += f" (signature {_shape(signature.tolist())})"
            text = f"t{index} '{escape(t.name)}' {_dtype_label(t.type)} {shape} {_quantization(t)}"
            out.write(_wrap("  ", text, width, 4))


def _dtypes(out: TextIO, model: Model, si: int) -> None:
    counts: Counter[str] = Counter()
    constants: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    subgraph = model.subgraphs[si]
    columns = subgraph.tensor_columns
    buffer_columns = model.buffer_columns
    holds = buffer_columns.holds_data(columns.buffer)
    data_sizes = np.zeros(columns.count, np.int64)
    if holds.any():
        data_sizes[holds] = buffer_columns.data_sizes(columns.buffer[holds])
    for i, tensor_type in enumerate(columns.type.tolist()):
        label = _dtype_label(tensor_type)
        counts[label] += 1
        if holds[i]:
            constants[label] += 1
            sizes[label] += int(data_sizes[i])
    out.write(f"dtypes of subgraph {si}:\n")
    rows = [(label, str(n), str(constants[label]), f"{sizes[label]:,}")
            for label, n in counts.most_common()]
    _write_table(out, ("dtype", "tensors", "constants", "constant bytes"), rows,
                 (12, 8, 10, 20))


def _operators(out: TextIO, model: Model, si: int) -> None:
    codes = model.operator_codes
    histogram: Counter[str] = Counter()
    for op in model.subgraphs[si].operators:
        index = op.opcode_index
        name = codes[index].name if 0 <= index < len(codes) else f"opcode {index}?"
        histogram[escape(name)] += 1
    out.write(f"operators of subgraph {si}: {sum(histogram.values())}\n")
    for name, count in histogram.most_common():
        out.write(f"  {count:>5}  {name}\n")


def _tensors(out: TextIO, model: Model, si: int, show_all: bool, width: int) -> None:
    subgraph = model.subgraphs[si]
    total = len(subgraph.tensors)
    shown = total if show_all else min(total, DEFAULT_ROWS)
    out.write(f"tensors of subgraph {si}: {total}"
              + ("" if shown == total else f" (first {shown}; --all lists every one)") + "\n")
    index_width = max(3, len(str(max(total - 1, 0))))
    quant_width = 30
    name_width = max(12, width - (2 + index_width + 1 + 8 + 1 + 14 + 1) - quant_width - 1)
    rows = []
    for i in range(shown):
        try:
            t = subgraph.tensors[i]
            rows.append((str(i), escape(t.name), _dtype_label(t.type),
                         _shape(t.shape.tolist()), _quantization(t)))
        except InvalidModelError as error:
            rows.append((str(i), f"(unreadable: {escape(str(error))})", "", "", ""))
    _write_table(out, ("idx", "name", "dtype", "shape", "quantization"), rows,
                 (index_width, name_width, 8, 14, quant_width))
    if shown < total:
        out.write(f"  ... {total - shown} more\n")


def cmd_inspect(args: argparse.Namespace, out: TextIO) -> int:
    model = load(args.model)
    guard = _Guard(out)
    width = _terminal_width()
    guard("header", lambda: _header(out, model, args.model, width))
    guard("subgraphs", lambda: _subgraphs(out, model, width))
    count = len(model.subgraphs)
    if not count:
        return 0
    si = args.subgraph
    if not 0 <= si < count:
        raise _UsageError(f"--subgraph {si}: the model has {count} subgraph(s) (0..{count - 1})")
    for label, section in (
        ("inputs/outputs", lambda: _io(out, model, si, width)),
        ("dtypes", lambda: _dtypes(out, model, si)),
        ("operators", lambda: _operators(out, model, si)),
        ("tensors", lambda: _tensors(out, model, si, args.all, width)),
    ):
        out.write("\n")
        guard(label, section)
    return 0


# --------------------------------------------------------------------------------------------
# details


_DTYPE_NAMES: dict[type, str] = {np.bytes_: "bytes", np.object_: "object"}


def dtype_name(scalar_type: type) -> str:
    """The JSON name of a detail's ``dtype``; ``numpy.dtype(name).type`` maps it back."""
    found = _DTYPE_NAMES.get(scalar_type)
    return found if found is not None else np.dtype(scalar_type).name


def _float(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def jsonable(value: Any) -> Any:
    """A detail value (dicts, arrays, numpy scalars, dtype types) as plain JSON data."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, type):
        return dtype_name(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _float(float(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return value


def _part(make: Callable[[], Any]) -> Any:
    try:
        return jsonable(make())
    except ValueError as error:
        return {"error": str(error)}


def details_object(interpreter: Interpreter) -> dict[str, Any]:
    """Everything ``details`` prints: I/O, tensors per subgraph and signatures."""
    def named(tensors: dict[str, int], subgraph: int) -> Callable[[], Any]:
        get = interpreter._get_tensor_details  # what SignatureRunner reports, for any key
        return lambda: {name: get(index, subgraph) for name, index in tensors.items()}

    signatures: dict[str, Any] = {
        key: {"inputs": _part(named(inputs, subgraph)),
              "outputs": _part(named(outputs, subgraph))}
        for key, (subgraph, inputs, outputs) in interpreter._signatures.items()
    }
    return {
        "inputs": _part(interpreter.get_input_details),
        "outputs": _part(interpreter.get_output_details),
        "tensors": [_part(lambda s=s: interpreter.get_tensor_details(s))  # type: ignore[misc]
                    for s in range(interpreter.num_subgraphs())],
        "signatures": signatures,
    }


def cmd_details(args: argparse.Namespace, out: TextIO) -> int:
    # a path that cannot be read, or is no model at all, fails as in the other commands
    model = load(args.model)
    try:
        interpreter = Interpreter._of(model)
    except InvalidModelError as error:
        text = str(error).strip()
        sys.stderr.write(f"tflparse: error: {escape(args.model)}: LiteRT refuses to load it: "
                         f"{escape(text)}\n")
        return 2
    found = details_object(interpreter)
    if args.json:
        json.dump(found, out, allow_nan=False, ensure_ascii=False, indent=args.indent)
        out.write("\n")
        return 0
    import pprint

    pprint.pprint(found, stream=out, width=_terminal_width(), sort_dicts=False)
    return 0


# --------------------------------------------------------------------------------------------
# audit


def _collect(paths: Sequence[str], patterns: Sequence[str]) -> Iterator[str | FileReport]:
    """Files to audit in a stable order, or ready-made reports for paths that fail."""
    for path in paths:
        if os.path.isdir(path):
            errors: list[OSError] = []
            for root, dirs, files in os.walk(path, onerror=errors.append):
                dirs.sort()
                for name in sorted(files):
                    if any(fnmatch.fnmatch(name, p) for p in patterns):
                        yield os.path.join(root, name)
            for error in errors:
                yield FileReport(error.filename or path, [], _oserror(error))
        elif os.path.lexists(path):
            yield path
        else:
            yield FileReport(path, [], "No such file or directory")


def _oserror(error: OSError) -> str:
    return error.strerror or str(error)


def _run(items: list[str | FileReport], jobs: int) -> Iterator[FileReport]:
    """Audit the files in order, in ``jobs`` worker processes when ``jobs > 1``."""
    paths = [item for item in items if isinstance(item, str)]
    if jobs > 1 and len(paths) > 1:
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
            results = pool.map(audit_path, paths, chunksize=1)
            yield from _merge(items, results)
    else:
        yield from _merge(items, map(audit_path, paths))


def _merge(items: list[str | FileReport], results: Iterator[FileReport]
           ) -> Iterator[FileReport]:
    for item in items:
        yield next(results) if isinstance(item, str) else item


def _location(finding: Finding) -> str:
    loc = finding.location
    parts = []
    if loc.subgraph is not None:
        parts.append(f"subgraph {loc.subgraph}")
    if loc.operator is not None:
        parts.append(f"operator {loc.operator}")
    if loc.tensor is not None:
        name = f" '{ellipsize(escape(loc.tensor_name), 40)}'" if loc.tensor_name else ""
        parts.append(f"tensor {loc.tensor}{name}")
    if loc.buffer is not None:
        parts.append(f"buffer {loc.buffer}")
    return f" [{', '.join(parts)}]" if parts else ""


def _write_report(out: TextIO, report: FileReport) -> None:
    path = escape(report.path)
    for finding in report.findings:
        out.write(f"{path}: {finding.severity}: {finding.rule}{_location(finding)}: "
                  f"{escape(finding.message)}\n")


def cmd_audit(args: argparse.Namespace, out: TextIO) -> int:
    if args.list_rules:
        _write_table(out, ("rule", "severity", "what it finds"),
                     [(r.id, r.severity, r.summary) for r in RULES.values()],
                     (28, 8, 200), indent="")
        return 0
    if not args.paths:
        raise _UsageError("audit needs at least one PATH (a file or a folder)")
    items = list(_collect(args.paths, args.pattern or DEFAULT_PATTERNS))
    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    total = sum(isinstance(item, str) for item in items)
    progress = sys.stderr.isatty() and total >= 10
    threshold = SEVERITIES.index(args.fail_on)
    unreadable = failing = done = 0
    severities: Counter[str] = Counter()
    with_findings = 0
    for report in _run(items, jobs):
        done += not report.error
        if progress:
            sys.stderr.write(f"\r\x1b[K[{done}/{total}] {ellipsize(escape(report.path), 60)}")
            sys.stderr.flush()
        if report.error is not None:
            unreadable += 1
            if progress:
                sys.stderr.write("\r\x1b[K")
            sys.stderr.write(f"tflparse: error: {escape(report.path)}: "
                             f"{escape(report.error)}\n")
        severities.update(f.severity for f in report.findings)
        with_findings += bool(report.findings)
        failing += any(SEVERITIES.index(f.severity) >= threshold for f in report.findings)
        if args.json:
            out.write(json.dumps(jsonable(report.to_json()), allow_nan=False,
                                 ensure_ascii=False) + "\n")
        elif report.findings:
            if progress:
                sys.stderr.write("\r\x1b[K")
            _write_report(out, report)
        out.flush()
    if progress:
        sys.stderr.write("\r\x1b[K")
    if not args.json:
        counts = ", ".join(f"{severities[s]} {s}" for s in reversed(SEVERITIES))
        out.write(f"audited {len(items) - unreadable} file(s), {with_findings} with findings "
                  f"({counts}), {unreadable} unreadable\n")
    if unreadable:
        return 2
    return 1 if failing else 0


# --------------------------------------------------------------------------------------------
# Entry point


class _UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tflparse",
        description="Inspect TensorFlow Lite / LiteRT models without TensorFlow. "
                    "`tflparse MODEL` is `tflparse inspect MODEL`.",
        epilog="exit status: 0 ok, 1 audit findings at or above --fail-on, "
               "2 unreadable input, model refused (details) or bad usage")
    parser.add_argument("--version", action="version", version=f"tflparse {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    inspect = commands.add_parser("inspect", help="summary of a model (the default command)",
                                  description="Summary of a model: header, metadata, "
                                              "subgraphs, signatures, I/O, dtypes, operators "
                                              "and tensors.")
    inspect.add_argument("model", metavar="MODEL")
    inspect.add_argument("--subgraph", type=int, default=0, metavar="N",
                         help="the subgraph to detail (default 0)")
    inspect.add_argument("--all", action="store_true",
                         help=f"list every tensor (default: the first {DEFAULT_ROWS})")
    details = commands.add_parser(
        "details", help="LiteRT's tensor details (--json for machines)",
        description="The tensor details LiteRT's Interpreter reports: inputs, outputs, the "
                    "tensors of every subgraph and every signature's inputs and outputs. "
                    "Exit 2 if LiteRT refuses the model.")
    details.add_argument("model", metavar="MODEL")
    details.add_argument("--json", action="store_true", help="one JSON object on stdout")
    details.add_argument("--indent", type=int, default=None, metavar="N",
                         help="indent the JSON by N spaces (default: one line)")
    audit = commands.add_parser(
        "audit", help="check files and folders for quantization and loading problems",
        description="Check models for quantization and loading problems. Folders are "
                    "searched recursively for --pattern files. Exit 2 if an input could not "
                    "be read, else 1 if a finding is at or above --fail-on, else 0.")
    audit.add_argument("paths", nargs="*", metavar="PATH")
    audit.add_argument("--json", action="store_true",
                       help="JSON Lines: one {path, findings, error} record per file")
    audit.add_argument("--fail-on", choices=SEVERITIES[::-1], default="error",
                       help="lowest severity that makes the exit status 1 (default error)")
    audit.add_argument("--jobs", "-j", type=_jobs, default=1, metavar="N",
                       help="audit N files in parallel (0: one per CPU; default 1)")
    audit.add_argument("--pattern", action="append", metavar="GLOB",
                       help="file names to audit in folders (repeatable; default "
                            f"{' '.join(DEFAULT_PATTERNS)})")
    audit.add_argument("--list-rules", action="store_true", help="print the rules and exit")
    return parser


_HANDLERS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "inspect": cmd_inspect, "details": cmd_details, "audit": cmd_audit,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] not in COMMANDS and args_list[0] not in (
            "-h", "--help", "--version"):
        args_list.insert(0, "inspect")
    parser = build_parser()
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    out = sys.stdout
    if hasattr(out, "reconfigure"):
        out.reconfigure(errors="backslashreplace")
    try:
        return _HANDLERS[args.command](args, out)
    except _UsageError as error:
        sys.stderr.write(f"tflparse: error: {error}\n")
        return 2
    except (InvalidModelError, OSError) as error:
        if isinstance(error, BrokenPipeError):
            return _broken_pipe()
        sys.stderr.write(f"tflparse: error: {_oneline(error)}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("tflparse: interrupted\n")
        return 130


def _oneline(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        where = f"{escape(os.fsdecode(error.filename))}: " if error.filename else ""
        return f"{where}{error.strerror}"
    return escape(str(error).strip())


def _broken_pipe() -> int:
    """The reader went away (``| head``): stop quietly, as other command-line tools do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141
