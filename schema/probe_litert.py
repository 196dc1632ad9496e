"""Measure, with the real LiteRT interpreter, the per-operator facts of construction.

Usage: ``python schema/probe_litert.py > tflparse/_kernels.py`` (needs the ``test`` extra;
a few minutes on 2 cores). Every fact comes from constructing small one-operator models in
forked children (a crash costs one probe):

- which versions of each builtin operator the default op resolver accepts;
- how many scratch tensors each kernel adds when it is initialised at construction;
- which builtin operators get parsed option data, which makes the runtime drop a node whose
  inputs and outputs share a tensor;
- which operators refuse to construct without their options table, and with what message;
- scratch tensors of the custom operators the builtin resolver registers.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from typing import Any

import flatbuffers
from ai_edge_litert import schema_py_generated as s
from flatbuffers import flexbuffers

OPERATORS = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
OPTIONS = {k: v for k, v in vars(s.BuiltinOptions).items() if not k.startswith("_")}
OPTIONS2 = {k: v for k, v in vars(s.BuiltinOptions2).items() if not k.startswith("_")}
MAX_VERSION = 16
NO_KERNEL = ("Didn't find op for builtin opcode", "Op builtin_code out of range")
#: options content some kernels validate at construction (the probe must pass it)
OPTION_FIELDS: dict[str, dict[str, Any]] = {
    "STABLEHLO_PAD": {"edgePaddingLow": [0, 0], "edgePaddingHigh": [0, 0],
                      "interiorPadding": [0, 0]},
    "STABLEHLO_REDUCE_WINDOW": {"windowDimensions": [1, 1], "windowStrides": [1, 1],
                                "baseDilations": [1, 1], "windowDilations": [1, 1],
                                "paddings": [0, 0, 0, 0]},
    "STABLEHLO_CASE": {"branchSubgraphIndices": [0]},
}


def _options_type(name: str) -> tuple[str, str, int] | None:
    """(union, options table, union value) of an operator's options, matched by name."""
    wanted = "".join(p.capitalize() for p in name.split("_")) + "Options"
    for union, table in (("builtin_options", OPTIONS), ("builtin_options_2", OPTIONS2)):
        for key, value in table.items():
            if key.lower() == wanted.lower():
                return union, key, value
    return None


def _model(code: int, version: int, inputs: int, *, with_options: bool = True,
           overlap: bool = False, custom: str | None = None, custom_options: bytes | None = None,
           option_fields: dict[str, Any] | None = None) -> bytes:
    opcode = s.OperatorCodeT()
    opcode.builtinCode, opcode.deprecatedBuiltinCode, opcode.version = code, min(code, 127), version
    opcode.customCode = custom
    op = s.OperatorT()
    op.opcodeIndex = 0
    op.inputs = list(range(inputs))
    op.outputs = [0] if overlap else [inputs]
    found = _options_type(OPERATORS.get(code, ""))
    if with_options and found is not None:
        union, table, value = found
        options = getattr(s, table + "T")()
        for key, field_value in (option_fields or {}).items():
            setattr(options, key, field_value)
        if union == "builtin_options":
            op.builtinOptionsType, op.builtinOptions = value, options
        else:
            op.builtinOptions2Type, op.builtinOptions2 = value, options
    if custom_options is not None:
        op.customOptions = list(custom_options)
    tensors = []
    for i in range(inputs + 1):
        t = s.TensorT()
        t.shape, t.type, t.name = [1, 4], s.TensorType.FLOAT32, f"t{i}"
        tensors.append(t)
    subgraph = s.SubGraphT()
    subgraph.tensors, subgraph.inputs, subgraph.outputs = tensors, [0], [inputs]
    subgraph.operators = [op]
    model = s.ModelT()
    model.version, model.subgraphs, model.buffers = 3, [subgraph], [s.BufferT()]
    model.operatorCodes = [opcode]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _construct(data: bytes) -> str:
    """'ok <scratch> <nodes>', 'err <message>' or 'crash', from a forked child."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        from ai_edge_litert.interpreter import Interpreter

        try:
            interpreter = Interpreter(model_content=data)
            wrapper = interpreter._interpreter
            result = f"ok {wrapper.NumTensors(0)} {wrapper.NumNodes()}"
        except Exception as error:
            result = "err " + str(error)
        os.write(write, result.encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode() or "crash"


def probe_operator(code: int) -> dict[str, Any]:
    """All facts about one builtin operator code."""
    inputs = 24
    fields = OPTION_FIELDS.get(OPERATORS[code])
    versions = []
    for version in range(0, MAX_VERSION + 1):
        found = _construct(_model(code, version, inputs, option_fields=fields))
        if not found.startswith(tuple("err " + n for n in NO_KERNEL)) and found != "crash":
            versions.append(version)
    fact: dict[str, Any] = {"code": code, "versions": versions}
    if not versions:
        return fact
    first = versions[0]
    ok = _construct(_model(code, first, inputs, option_fields=fields))
    if ok.startswith("ok"):
        fact["scratch"] = int(ok.split()[1]) - inputs - 1
    else:
        fact["options_validated"] = ok[4:]
    bare = _construct(_model(code, first, inputs, with_options=False))
    found = _options_type(OPERATORS[code])
    if bare.startswith("err") and found is not None:
        union, _, value = found
        fact["needs_options"] = (1 if union == "builtin_options" else 2, value, bare[4:])
    overlap = _construct(_model(code, first, 1, overlap=True))
    fact["drops_overlap"] = overlap.startswith("ok") and overlap.split()[2] == "0"
    return fact


def probe_custom(name: str, options: bytes | None) -> str:
    return _construct(_model(s.BuiltinOperator.CUSTOM, 1, 4, custom=name,
                             custom_options=options))


def main() -> int:
    with multiprocessing.Pool(2) as pool:
        facts = pool.map(probe_operator,
                         sorted(set(OPERATORS) - {s.BuiltinOperator.CUSTOM}))
    lstm_basic = _construct(_model(s.BuiltinOperator.LSTM, 1, 24,
                                   option_fields={"kernelType": s.LSTMKernelType.BASIC}))
    detection = probe_custom("TFLite_Detection_PostProcess", bytes(flexbuffers.Dumps({
        "max_detections": 10, "max_classes_per_detection": 1, "detections_per_class": 100,
        "num_classes": 90, "nms_score_threshold": 0.3, "nms_iou_threshold": 0.6,
        "y_scale": 10.0, "x_scale": 10.0, "h_scale": 5.0, "w_scale": 5.0,
        "use_regular_nms": False})))

    supported = {f["code"]: f["versions"] for f in facts if f["versions"]}
    ranges: dict[int, tuple[int, int]] = {}
    for code, versions in supported.items():
        assert versions == list(range(versions[0], versions[-1] + 1)), (code, versions)
        ranges[code] = (versions[0], versions[-1])
    scratch = {f["code"]: f["scratch"] for f in facts if f.get("scratch")}
    needs = {f["code"]: f["needs_options"] for f in facts if "needs_options" in f}
    validated = sorted(f["code"] for f in facts if "options_validated" in f)
    drops = sorted(f["code"] for f in facts if f.get("drops_overlap"))
    lstm_basic_scratch = int(lstm_basic.split()[1]) - 25 if lstm_basic.startswith("ok") else None
    detection_scratch = int(detection.split()[1]) - 5 if detection.startswith("ok") else None

    out = sys.stdout.write
    out('"""Per-operator facts of LiteRT 2.3.0\'s construction, measured by experiment.\n\n'
        "Generated by ``python schema/probe_litert.py > tflparse/_kernels.py``; do not edit.\n"
        '"""\n\nfrom __future__ import annotations\n\n')
    out("#: builtin code -> (lowest, highest) version the default op resolver has a kernel for\n")
    out("SUPPORTED_VERSIONS: dict[int, tuple[int, int]] = {\n")
    for code, (low, high) in sorted(ranges.items()):
        out(f"    {code}: ({low}, {high}),  # {OPERATORS[code]}\n")
    out("}\n\n#: builtin code -> scratch tensors its kernel adds at construction\n")
    out("SCRATCH_TENSORS: dict[int, int] = {\n")
    for code, count in sorted(scratch.items()):
        out(f"    {code}: {count},  # {OPERATORS[code]}\n")
    out("}\n\n#: scratch tensors of LSTM when LSTMOptions.kernel_type is BASIC\n")
    out(f"LSTM_BASIC_SCRATCH_TENSORS = {lstm_basic_scratch}\n\n")
    out("#: custom operators of the builtin resolver -> scratch tensors (valid options)\n")
    out(f"CUSTOM_SCRATCH_TENSORS: dict[str, int] = {{'TFLite_Detection_PostProcess': "
        f"{detection_scratch}}}\n\n")
    out("#: builtin codes whose options parse to data: such a node whose inputs and outputs\n"
        "#: share a tensor is dropped\n")
    out(f"DROPS_OVERLAPPING_NODE: frozenset[int] = frozenset({drops!r})\n\n")
    out("#: builtin code -> (options union: 1 builtin_options, 2 builtin_options_2, the options\n"
        "#: type it needs, the construction error when the operator lacks them)\n")
    out("NEEDS_OPTIONS: dict[int, tuple[int, int, str]] = {\n")
    for code, need in sorted(needs.items()):
        out(f"    {code}: {need!r},  # {OPERATORS[code]}\n")
    out("}\n\n")
    out("#: builtin codes whose kernels validate the content of their options at construction\n"
        "#: in ways tflparse does not model (it accepts them)\n")
    out(f"OPTIONS_VALIDATED: frozenset[int] = frozenset({validated!r})\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
