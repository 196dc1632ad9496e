"""``tflparse inspect MODEL``: a summary of a model for a terminal.

A bundle (``.task``) lists its members, nested bundles' too, then summarises each model in it;
``BUNDLE!/MEMBER`` picks one member.

Header and metadata (with the converter's ``CONVERSION_METADATA``), whether LiteRT loads it,
subgraphs, signatures, then for one subgraph its inputs/outputs, dtypes, operators and tensors.
A malformed part prints one line instead of a traceback.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable
from typing import Callable, TextIO

import numpy as np

from .._construction import construct
from .._conversion_metadata import (
    ConversionMetadata,
    ConversionOptions,
    ModelOptimizationMode,
    ModelType,
)
from .._dtypes import type_name
from .._errors import InvalidModelError
from .._quant_kind import QuantKind
from .._sources import open_member
from ..bundle import SEPARATOR, Bundle
from ..model import BlockwiseQuantization, Model, MultiAxisQuantization, Tensor
from ._text import UsageError, escape, terminal_width, wrap, write_table
from .metadata import write_metadata_section

__all__ = ["add_parser", "run", "conversion_metadata"]

DEFAULT_ROWS = 20


def _shape(values: Iterable[int]) -> str:
    return "[" + ",".join(str(v) for v in values) + "]"


def _num(value: float) -> str:
    return f"{value:.4g}"


def _dtype_label(tensor_type: int) -> str:
    return type_name(tensor_type).lower()


def _quantization(tensor: Tensor) -> str:
    """One short cell: scale/zero point, per-axis summary, blockwise or multi-axis."""
    q = tensor.quantization
    if q is None:
        return "-"
    details, kind = q.details, q.kind
    if kind == QuantKind.BLOCKWISE:
        if isinstance(details, BlockwiseQuantization):
            return f"blockwise block={details.block_size} scales=t{details.scales}"
        return "blockwise (no details)"
    if kind == QuantKind.MULTI_AXIS:
        dims = getattr(details, "quantized_dimensions", None)
        axes = "?" if not isinstance(details, MultiAxisQuantization) or dims is None else \
            _shape(dims.tolist())
        return f"multi-axis axes={axes}"
    scale, zero_point = q.scale, q.zero_point
    if kind == QuantKind.NONE or scale is None:
        return "-"
    if len(scale) == 1:
        zp = "?" if zero_point is None or not len(zero_point) else str(int(zero_point[0]))
        return f"s={_num(float(scale[0]))} zp={zp}"
    lo, hi = float(np.min(scale)), float(np.max(scale))
    return f"axis={q.quantized_dimension} n={len(scale)} {lo:.3g}..{hi:.3g}"



# --------------------------------------------------------------------------------------------
# Conversion metadata (read by Model.conversion_metadata; schema/conversion_metadata.fbs)


_OPTIMIZATION_MODES: dict[int, str] = {
    ModelOptimizationMode.PTQ_FLOAT16: "float16 weights (PTQ_FLOAT16)",
    ModelOptimizationMode.PTQ_DYNAMIC_RANGE: "dynamic range (PTQ_DYNAMIC_RANGE)",
    ModelOptimizationMode.PTQ_FULL_INTEGER: "full integer (PTQ_FULL_INTEGER)",
    ModelOptimizationMode.PTQ_INT16: "int16 activations (PTQ_INT16)",
    ModelOptimizationMode.QUANTIZATION_AWARE_TRAINING:
        "quantization-aware training (QUANTIZATION_AWARE_TRAINING)",
    ModelOptimizationMode.RANDOM_SPARSITY: "random sparsity (RANDOM_SPARSITY)",
    ModelOptimizationMode.BLOCK_SPARSITY: "block sparsity (BLOCK_SPARSITY)",
    ModelOptimizationMode.STRUCTURED_SPARSITY: "structured sparsity (STRUCTURED_SPARSITY)",
}


def conversion_metadata(metadata: ConversionMetadata) -> list[tuple[str, str]]:
    """(label, value) lines describing the model's conversion metadata."""
    lines: list[tuple[str, str]] = []
    env = metadata.environment
    if env is not None:
        version = env.tensorflow_version
        model_type = env.model_type
        known = model_type in ModelType._value2member_map_
        parts = [f"TensorFlow {escape(version)}" if version is not None else "TensorFlow ?",
                 f"converter API v{env.api_version}",
                 f"from {ModelType(model_type).name if known else f'model type {model_type}'}"]
        if env.model_hash:
            parts.append(f"hash {env.model_hash:#018x}")
        lines.append(("converter", ", ".join(parts)))
    options = metadata.options
    if options is not None:
        lines.append(("optimizations", _optimizations(options)))
        flags = [name for name, value in (
            ("allow_custom_ops", options.allow_custom_ops),
            ("enable_select_tf_ops", options.enable_select_tf_ops),
            ("force_select_tf_ops", options.force_select_tf_ops),
        ) if value]
        if flags:
            lines.append(("options", ", ".join(flags)))
    return lines


def _optimizations(options: ConversionOptions) -> str:
    modes = options.model_optimization_modes
    names = [_OPTIMIZATION_MODES.get(m, f"mode {m}") for m in modes]
    if options.sparsity_block_sizes:
        sizes = ["x".join(map(str, values)) for values in options.sparsity_block_sizes]
        names.append(f"sparsity blocks {', '.join(sizes)}")
    return "; ".join(names) if names else "none"


def _metadata_text(raw: memoryview | None) -> str:
    """A NUL-padded string metadata value, escaped."""
    if raw is None:
        return "?"
    return escape(bytes(raw).split(b"\x00", 1)[0].decode("utf-8", "backslashreplace"))



# --------------------------------------------------------------------------------------------
# The report


class _Guard:
    """Runs a report section; a malformed part prints one line instead of a traceback."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, label: str, section: Callable[[], None]) -> None:
        try:
            section()
        except InvalidModelError as error:
            self.out.write(f"{label}: unreadable: {escape(str(error))}\n")



def _header(out: TextIO, model: Model, path: str, width: int) -> None:
    def field(label: str, value: str) -> str:
        return wrap(f"{label:<15}", value, width, 15)

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
        try:
            metadata = model.conversion_metadata
            lines = [] if metadata is None else conversion_metadata(metadata)
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
        out.write(wrap("  ", f"{subgraph.index}{name}: {len(subgraph.tensors)} tensors, "
                              f"{len(subgraph.operators)} operators, inputs "
                              f"{_shape(subgraph.inputs)}, outputs {_shape(subgraph.outputs)}",
                        width, 4))
    signatures = model.signature_defs
    if signatures:
        out.write(f"signatures:    {len(signatures)}\n")
    for signature in signatures:
        ins = ", ".join(f"{escape(m.name)}=t{m.tensor_index}" for m in signature.inputs or ())
        outs = ", ".join(f"{escape(m.name)}=t{m.tensor_index}" for m in signature.outputs or ())
        out.write(wrap("  ", f"'{escape(signature.key)}' -> subgraph "
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
            out.write(wrap("  ", text, width, 4))


def _dtypes(out: TextIO, model: Model, si: int) -> None:
    counts: Counter[str] = Counter()
    constants: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    subgraph = model.subgraphs[si]
    columns = subgraph.tensor_columns
    holds, data_sizes = model.buffer_columns.sizes_or_zero(columns.buffer)
    for i, tensor_type in enumerate(columns.type.tolist()):
        label = _dtype_label(tensor_type)
        counts[label] += 1
        if holds[i]:
            constants[label] += 1
            sizes[label] += int(data_sizes[i])
    out.write(f"dtypes of subgraph {si}:\n")
    rows = [(label, str(n), str(constants[label]), f"{sizes[label]:,}")
            for label, n in counts.most_common()]
    write_table(out, ("dtype", "tensors", "constants", "constant bytes"), rows,
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
    write_table(out, ("idx", "name", "dtype", "shape", "quantization"), rows,
                 (index_width, name_width, 8, 14, quant_width))
    if shown < total:
        out.write(f"  ... {total - shown} more\n")



def _model(out: TextIO, model: Model, name: str, args: argparse.Namespace, width: int,
           in_bundle: bool) -> None:
    guard = _Guard(out)
    guard("header", lambda: _header(out, model, name, width))
    guard("subgraphs", lambda: _subgraphs(out, model, width))
    count = len(model.subgraphs)
    if not count:
        return
    si = args.subgraph
    if not 0 <= si < count:
        text = f"--subgraph {si}: the model has {count} subgraph(s) (0..{count - 1})"
        if not in_bundle:
            raise UsageError(text)
        out.write(f"\n{text}\n")
        return
    for label, section in (
        ("inputs/outputs", lambda: _io(out, model, si, width)),
        *([("metadata", lambda: write_metadata_section(out, model, si, width))]
          if "TFLITE_METADATA" in (entry.name for entry in model.metadata) else []),
        ("dtypes", lambda: _dtypes(out, model, si)),
        ("operators", lambda: _operators(out, model, si)),
        ("tensors", lambda: _tensors(out, model, si, args.all, width)),
    ):
        out.write("\n")
        guard(label, section)


def _bundle(out: TextIO, bundle: Bundle, args: argparse.Namespace, width: int) -> None:
    """The members (nested ones too), then each model's summary."""
    members = list(bundle.walk())
    out.write(wrap(f"{'bundle:':<15}", escape(bundle.name), width, 15))
    out.write(f"members:       {len(members)}\n")
    skip = len(bundle.name) + len(SEPARATOR)
    out.write(f"  {'kind':<6} {'bytes':>13} {'method':<8} member\n")
    for m in members:  # the name last and folded, never cut: it is how members are picked
        cells = f"  {m.kind:<6} {m.size:>13,} {'stored' if m.stored else 'deflated':<8} "
        out.write(wrap(cells, escape(m.display_name[skip:]), width, len(cells)))
    for name, found in bundle.models():
        out.write(f"\n{'=' * min(width, 80)}\n")
        if isinstance(found, Model):
            _model(out, found, name, args, width, in_bundle=True)
        else:
            out.write(wrap(f"{'file:':<15}", escape(name), width, 15))
            out.write(wrap("unreadable:    ", escape(str(found).strip()), width, 15))


def run(args: argparse.Namespace, out: TextIO) -> int:
    name, found = open_member(args.model)
    width = terminal_width()
    if isinstance(found, Bundle):
        _bundle(out, found, args, width)
    else:
        _model(out, found, name, args, width, in_bundle=False)
    return 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("inspect", help="summary of a model (the default command)",
                                   description="Summary of a model: header, metadata, "
                                               "subgraphs, signatures, I/O, dtypes, operators "
                                               "and tensors.")
    parser.add_argument("model", metavar="MODEL",
                        help="a .tflite file, a bundle (.task: every model in it) or "
                             "BUNDLE!/MEMBER (one member; nested: A.task!/B.task!/m.tflite)")
    parser.add_argument("--subgraph", type=int, default=0, metavar="N",
                        help="the subgraph to detail (default 0)")
    parser.add_argument("--all", action="store_true",
                        help=f"list every tensor (default: the first {DEFAULT_ROWS})")
