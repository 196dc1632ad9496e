"""The weight audit rules: each on a model built with exactly its defect, on a real model with
the defect planted into a copy, and silent on the untouched model at that place.

Models are built and rewritten with the generated bindings ai-edge-litert ships (object API:
unpack, change one field or value, pack). LiteRT itself is the oracle where a rule claims
what the runtime does (activation-clamp-overflow: prepare fails).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from conftest import SHARED_MODELS

import tflparse
from tflparse.audit import RULES, Finding, audit_model
from tflparse.audit import _weights as weight_rules
from tflparse.cli import main
from tflparse.weights import operator_quantities

s = pytest.importorskip("ai_edge_litert.schema_py_generated")
flatbuffers = pytest.importorskip("flatbuffers")

T, OP, ACT = s.TensorType, s.BuiltinOperator, s.ActivationFunctionType
WEIGHT_RULES = [r.id for r in RULES.values() if r.check.__module__ == weight_rules.__name__]
K, C = 200, 4  # inputs per output, output channels
S_IN, S_OUT = 0.02, 0.05


def test_every_rule_of_the_issue_is_registered_with_its_severity() -> None:
    expected = {"dead-channel": "warning", "scale-spread": "warning",
                "low-range-use": "warning", "channel-imbalance": "warning",
                "weight-clipping": "warning", "int8-weight-range": "warning",
                "bias-saturated": "error", "bias-headroom": "warning",
                "requant-multiplier": "error", "activation-clamp-overflow": "error",
                "int32-bias-16x8": "warning"}
    assert {r: RULES[r].severity for r in WEIGHT_RULES} == expected


# --------------------------------------------------------------------------------------------
# A FULLY_CONNECTED model with clean weights, and its defects


def clean_weights(seed: int = 0) -> np.ndarray:
    """[C, K] int8 weights quantized per channel from normal floats: each channel reaches
    +-127 once, no -128."""
    x = np.random.default_rng(seed).normal(size=(C, K))
    return np.round(x / np.abs(x).max(axis=1, keepdims=True) * 127).astype(np.int64)


def quant(scale: list[float], zero_point: list[int], axis: int = 0) -> Any:
    q = s.QuantizationParametersT()
    q.scale, q.zeroPoint, q.quantizedDimension = scale, zero_point, axis
    return q


def fully_connected(weights: np.ndarray | None = None, w_scale: list[float] | None = None,
                    bias: list[int] | None = None, s_out: float = S_OUT, s_in: float = S_IN,
                    activation: int = ACT.NONE, per_tensor: bool = False,
                    activations: int = T.INT8, bias_type: int = T.INT32) -> bytes:
    """input [1, K] -> FULLY_CONNECTED(weights [C, K], bias [C]) -> output [1, C]."""
    w = clean_weights() if weights is None else weights
    scales = w_scale or ([0.01] if per_tensor else [0.01 * (1 + c) for c in range(C)])
    b = [1000 * (c + 1) for c in range(C)] if bias is None else bias
    tensors = []
    for name, tensor_type, shape, buffer, q in (
            (b"input", activations, [1, K], 0, quant([s_in], [0])),
            (b"weights", T.INT8, [C, K], 1, quant(scales, [0] * len(scales))),
            (b"bias", bias_type, [C], 2, quant([s_in * x for x in scales], [0] * len(scales))),
            (b"output", activations, [1, C], 0, quant([s_out], [0]))):
        t = s.TensorT()
        t.name, t.type, t.shape, t.buffer, t.quantization = name, tensor_type, shape, buffer, q
        tensors.append(t)
    op = s.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0, 1, 2], [3]
    op.builtinOptionsType = s.BuiltinOptions.FullyConnectedOptions
    op.builtinOptions = s.FullyConnectedOptionsT()
    op.builtinOptions.fusedActivationFunction = activation
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = OP.FULLY_CONNECTED
    code.version = 1
    graph = s.SubGraphT()
    graph.tensors, graph.operators, graph.inputs, graph.outputs = tensors, [op], [0], [3]
    buffers = [s.BufferT() for _ in range(3)]
    buffers[1].data = np.frombuffer(w.astype(np.int8).tobytes(), np.uint8)
    bias_dtype = "<i4" if bias_type == T.INT32 else "<i8"
    buffers[2].data = np.frombuffer(np.array(b, bias_dtype).tobytes(), np.uint8)
    model = s.ModelT()
    model.version, model.subgraphs, model.buffers, model.operatorCodes = 3, [graph], buffers, \
        [code]
    return pack(model)


def pack(model: Any) -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def found(data: bytes, rule_id: str, weights: bool = True) -> list[Finding]:
    return [f for f in audit_model(tflparse.load(data), weights=weights) if f.rule == rule_id]


def weight_findings(data: bytes) -> list[str]:
    return sorted(f.rule for f in audit_model(tflparse.load(data)) if f.rule in WEIGHT_RULES)


def test_the_clean_model_has_no_finding_and_runs() -> None:
    data = fully_connected()
    assert audit_model(tflparse.load(data)) == []
    interpreter = pytest.importorskip("ai_edge_litert.interpreter").Interpreter(
        model_content=data)
    interpreter.allocate_tensors()


def defect(rule_id: str) -> bytes:
    """The clean model with exactly the defect ``rule_id`` finds (channel 1 or operator 0)."""
    w = clean_weights()
    scales = [0.01 * (1 + c) for c in range(C)]
    if rule_id == "dead-channel":
        w[1] = 0
        scales[1] = 3.9e-9  # the MLIR converter's scale for an all-zero channel
        return fully_connected(w, scales, bias=[1000, 0, 3000, 4000])
    if rule_id == "scale-spread":
        scales[1] = scales[0] / 2000
        return fully_connected(w, scales)
    if rule_id == "low-range-use":
        w[1] = np.round(w[1] / 127 * 12)
        return fully_connected(w, scales)
    if rule_id == "channel-imbalance":
        w[1] = np.round(w[1] / 127 * 5)
        return fully_connected(w, per_tensor=True)
    if rule_id == "weight-clipping":
        w[1, :10] = 127
        return fully_connected(w, scales)
    if rule_id == "int8-weight-range":
        w[1, 7] = -128
        return fully_connected(w, scales)
    if rule_id == "bias-saturated":
        return fully_connected(w, scales, bias=[1000, 2 ** 31 - 1, 3000, 4000])
    if rule_id == "bias-headroom":
        return fully_connected(w, scales, bias=[1000, 2 ** 30 + 5, 3000, 4000])
    if rule_id == "requant-multiplier":
        return fully_connected(w, scales, s_out=1e6)  # M = 0.02 * 0.01 / 1e6 = 2e-10
    if rule_id == "activation-clamp-overflow":
        # RELU6 bound 6 / 1e-9 = 6e9 steps; s_in is small so M = 1e-6 * s_w / 1e-9 < 256
        return fully_connected(w, scales, s_in=1e-6, s_out=1e-9, activation=ACT.RELU6)
    if rule_id == "int32-bias-16x8":
        return fully_connected(w, scales, activations=T.INT16)
    raise AssertionError(rule_id)


@pytest.mark.parametrize("rule_id", WEIGHT_RULES)
def test_each_rule_finds_exactly_its_defect(rule_id: str) -> None:
    data = defect(rule_id)
    assert weight_findings(data) == [rule_id]
    (finding,) = found(data, rule_id)
    location = finding.location
    assert location.subgraph == 0
    if rule_id in ("bias-saturated", "bias-headroom", "int32-bias-16x8"):
        assert (location.tensor, location.operator) == (2, 0)
    elif rule_id == "activation-clamp-overflow":
        assert (location.tensor, location.operator) == (3, 0)
    else:
        assert location.tensor == 1
    assert "Hint:" in finding.message
    if rule_id not in ("int32-bias-16x8", "channel-imbalance", "activation-clamp-overflow"):
        assert "channel" in finding.message or "scale" in finding.message


def test_messages_carry_the_numbers() -> None:
    (dead,) = found(defect("dead-channel"), "dead-channel")
    assert "1 of 4 channels (1)" in dead.message and "3.9e-09" in dead.message
    (spread,) = found(defect("scale-spread"), "scale-spread")
    assert "ratio 1/8000" in spread.message  # 5e-06 against 0.04
    (low,) = found(defect("low-range-use"), "low-range-use")
    assert "|q - zp| of 12 (under 16" in low.message
    (imbalance,) = found(defect("channel-imbalance"), "channel-imbalance")
    assert "as few as 11" in imbalance.message and "127 of 128" in imbalance.message
    (clipping,) = found(defect("weight-clipping"), "weight-clipping")
    assert "10 of 200 in channel 1" in clipping.message
    (saturated,) = found(defect("bias-saturated"), "bias-saturated")
    assert "2147483647" in saturated.message
    (multiplier,) = found(defect("requant-multiplier"), "requant-multiplier")
    assert multiplier.severity == "error" and "2e-10" in multiplier.message


def test_requant_multiplier_warns_at_256_and_flags_nothing_just_inside() -> None:
    w = clean_weights()
    scales = [0.01] * C
    (warning,) = found(fully_connected(w, scales, s_out=S_IN * 0.01 / 300), "requant-multiplier")
    assert warning.severity == "warning" and "XNNPACK" in warning.message
    assert found(fully_connected(w, scales, s_out=S_IN * 0.01 / 250), "requant-multiplier") == []
    assert found(fully_connected(w, scales, s_out=S_IN * 0.01 * 2.0 ** 30),
                 "requant-multiplier") == []


def test_16x8_with_int64_bias_is_silent_and_int64_limit_is_2_to_39() -> None:
    clean = fully_connected(activations=T.INT16, bias_type=T.INT64)
    assert weight_findings(clean) == []
    over = fully_connected(activations=T.INT16, bias_type=T.INT64,
                           bias=[1, 2 ** 39 + 1, 3, 4])
    assert weight_findings(over) == ["bias-saturated"]
    at = fully_connected(activations=T.INT16, bias_type=T.INT64, bias=[1, 2 ** 39, 3, 4])
    assert weight_findings(at) == []


def test_activation_clamp_overflow_is_litert_refusing_to_prepare() -> None:
    """LiteRT's builtin kernel fails to prepare exactly when the rule says so."""
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    builtin = litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    w = clean_weights()
    for activation, s_out, overflow in ((ACT.RELU6, 1e-9, True), (ACT.RELU6, 2.7e-9, True),
                                        (ACT.RELU6, 2.9e-9, False),
                                        (ACT.RELU_N1_TO_1, 4e-10, True),
                                        (ACT.RELU_N1_TO_1, 5e-10, False),
                                        (ACT.RELU, 1e-30, False)):
        data = fully_connected(w, [0.01] * C, s_in=1e-8, s_out=s_out, activation=activation)
        assert bool(found(data, "activation-clamp-overflow")) == overflow, (activation, s_out)
        interpreter = litert.Interpreter(model_content=data,
                                         experimental_op_resolver_type=builtin)
        if overflow:
            with pytest.raises(RuntimeError, match="no_integer_overflow_from_quantization"):
                interpreter.allocate_tensors()
        else:
            interpreter.allocate_tensors()


def test_no_weights_skips_the_value_pass() -> None:
    """Without the pass, rules on values are silent; rules on scales and types still run."""
    for rule_id in ("dead-channel", "low-range-use", "weight-clipping", "int8-weight-range",
                    "bias-saturated", "bias-headroom", "channel-imbalance"):
        assert found(defect(rule_id), rule_id, weights=False) == [], rule_id
    for rule_id in ("activation-clamp-overflow", "int32-bias-16x8"):
        assert len(found(defect(rule_id), rule_id, weights=False)) == 1, rule_id
    # a flushed multiplier needs the values (an all-zero channel may lose nothing); >= 256 not
    assert found(defect("requant-multiplier"), "requant-multiplier", weights=False) == []
    huge = fully_connected(s_out=S_IN * 0.01 / 300)
    assert [f.severity for f in found(huge, "requant-multiplier", weights=False)] == ["warning"]


# --------------------------------------------------------------------------------------------
# Real models with a planted defect


def shared(name: str) -> bytes:
    path = SHARED_MODELS / name
    if not path.is_file():
        pytest.skip(f"shared model {name} is absent")
    return path.read_bytes()


def plant(data: bytes, change: Callable[[Any], None]) -> bytes:
    """A copy of ``data`` with ``change`` applied to its unpacked object tree."""
    model = s.ModelT.InitFromPackedBuf(data, 0)
    change(model)
    return pack(model)


def values(model: Any, tensor: int, dtype: str = "i1") -> np.ndarray:
    t = model.subgraphs[0].tensors[tensor]
    buffer = model.buffers[t.buffer]
    return np.frombuffer(bytes(buffer.data), dtype).copy()


def store(model: Any, tensor: int, array: np.ndarray) -> None:
    t = model.subgraphs[0].tensors[tensor]
    model.buffers[t.buffer].data = np.frombuffer(array.tobytes(), np.uint8)


def at(findings: list[Finding], rule_id: str, tensor: int | None = None,
       operator: int | None = None) -> list[Finding]:
    return [f for f in findings if f.rule == rule_id
            and (tensor is None or f.location.tensor == tensor)
            and (operator is None or f.location.operator == operator)]


VWW = "tiny_vww96_int8.tflite"
CONV1 = 45  # model/conv2d_1/Conv2D: int8 per-channel [16, 1, 1, 8], no finding untouched
DENSE = 43  # model/dense/MatMul: int8 per-tensor [2, 256]


def _channel0(change: Callable[[np.ndarray], None]) -> Callable[[Any], None]:
    def apply(model: Any) -> None:
        w = values(model, CONV1).reshape(16, -1)
        change(w[0])
        store(model, CONV1, w)
    return apply


def _scale0(model: Any) -> None:
    """Channel 0's weight scale / 5000, and its bias scale with it (bias-scale stays quiet)."""
    graph = model.subgraphs[0]
    op = next(op for op in graph.operators if len(op.inputs) > 2 and op.inputs[1] == CONV1)
    for index in (CONV1, op.inputs[2]):
        q = graph.tensors[index].quantization
        q.scale = q.scale.copy()
        q.scale[0] = q.scale[0] / 5000


def _dense_channel1(model: Any) -> None:
    w = values(model, DENSE).reshape(2, -1)
    w[1] = w[1] // 20
    store(model, DENSE, w)


def _set(view: np.ndarray, value: int, count: int = 1) -> None:
    view[:count] = value


PLANTS: dict[str, tuple[str, int | None, int | None, Callable[[Any], None]]] = {
    # rule -> (model, tensor, operator, change)
    "dead-channel": (VWW, CONV1, None, _channel0(lambda c: _set(c, 0, len(c)))),
    "scale-spread": (VWW, CONV1, None, _scale0),
    "low-range-use": (VWW, CONV1, None, _channel0(lambda c: np.floor_divide(c, 16, out=c))),
    "channel-imbalance": (VWW, DENSE, None, _dense_channel1),
    "weight-clipping": (VWW, CONV1, None, _channel0(lambda c: _set(c, 127, 3))),
    "int8-weight-range": (VWW, CONV1, None, _channel0(lambda c: _set(c, -128))),
}


@pytest.mark.parametrize("rule_id", sorted(PLANTS))
def test_planted_weight_defect_in_a_real_model(rule_id: str) -> None:
    name, tensor, operator, change = PLANTS[rule_id]
    original = shared(name)
    untouched = audit_model(tflparse.load(plant(original, lambda m: None)))
    assert at(untouched, rule_id, tensor, operator) == []
    planted = audit_model(tflparse.load(plant(original, change)))
    assert len(at(planted, rule_id, tensor, operator)) == 1
    others = {(f.rule, f.location) for f in planted} - {(f.rule, f.location) for f in untouched}
    assert {rule for rule, _ in others} == {rule_id}


def _bias_op(model: tflparse.Model, index: int) -> tuple[int, int, int]:
    """(operator, bias tensor, output tensor) of the ``index``-th operator with a bias."""
    ops = [op for op in operator_quantities(model) if op.bias is not None]
    op = ops[index]
    assert op.bias is not None
    return op.operator, op.bias, op.output


@pytest.mark.parametrize(("rule_id", "name", "change"), [
    ("bias-saturated", VWW, "bias=2147483647"),
    ("bias-headroom", VWW, "bias=1073741825"),
    ("requant-multiplier", VWW, "output scale*1e9"),
    ("activation-clamp-overflow", "tflsupport_yamnet_wavin_mel_int8_complex64.tflite",
     "output scale=1e-9"),  # its conv operators have RELU6 fused
    ("int32-bias-16x8", "mlzoo_ds_cnn_s_int16x8.tflite", "bias int32"),
])
def test_planted_operator_defect_in_a_real_model(rule_id: str, name: str, change: str) -> None:
    original = shared(name)
    view = tflparse.load(original)
    operator, bias, output = _bias_op(view, 0)

    def apply(model: Any) -> None:
        tensors = model.subgraphs[0].tensors
        q = tensors[output].quantization
        q.scale = q.scale.copy()
        if change.startswith("bias="):
            b = values(model, bias, "<i4")
            b[0] = int(change[5:])
            store(model, bias, b)
        elif change == "output scale*1e9":
            tensors[output].quantization.scale[0] *= 1e9
        elif change == "output scale=1e-9":
            tensors[output].quantization.scale[0] = 1e-9
        else:  # an int64 bias relabelled int32 (its values stay in range)
            b = values(model, bias, "<i8")
            tensors[bias].type = T.INT32
            store(model, bias, b.astype("<i4"))

    untouched = audit_model(tflparse.load(plant(original, lambda m: None)))
    assert at(untouched, rule_id, operator=operator) == []
    planted = audit_model(tflparse.load(plant(original, apply)))
    assert len(at(planted, rule_id, operator=operator)) == 1


# --------------------------------------------------------------------------------------------
# The command line


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    status = main(argv)
    return status, out.getvalue(), err.getvalue()


def test_weights_table_fits_80_columns_worst_first(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "dead.tflite"
    w = clean_weights()
    w[2] = 0
    path.write_bytes(fully_connected(w, [0.01, 0.02, 3.9e-9, 0.04]))
    other = tmp_path / "low.tflite"
    w = clean_weights()
    w[0] = np.round(w[0] / 127 * 3)
    other.write_bytes(fully_connected(w))
    monkeypatch.setenv("COLUMNS", "80")
    status, out, _ = run(["weights", str(path)], monkeypatch)
    assert status == 0
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["idx", "name"])
    row = lines[header + 1].split()
    assert row[:6] == ["1", "weights", "int8", "axis", "4/0", "1"]  # 1 dead channel
    assert row[6] == "255"  # live channels reach +-127
    _, out, _ = run(["weights", str(other)], monkeypatch)
    row = out.splitlines()[header + 1].split()
    assert row[5:7] == ["0", "7"]  # channel 0 spans |q| <= 3: 7 levels


def test_audit_no_weights_flag_and_json_has_no_progress(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    path = tmp_path / "dead.tflite"
    path.write_bytes(defect("dead-channel"))
    status, out, err = run(["audit", str(path), "--json", "--fail-on", "warning"], monkeypatch)
    record = json.loads(out)
    assert [f["rule"] for f in record["findings"]] == ["dead-channel"]
    assert status == 1 and err == ""
    status, out, _ = run(["audit", str(path), "--json", "--no-weights"], monkeypatch)
    assert json.loads(out)["findings"] == [] and status == 0


def test_list_rules_names_every_weight_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    _, out, _ = run(["audit", "--list-rules"], monkeypatch)
    listed = {line.split()[0] for line in out.splitlines()[1:]}
    assert set(WEIGHT_RULES) <= listed


def test_readme_lists_every_rule() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for rule_id in RULES:
        assert f"| `{rule_id}` |" in readme, rule_id


def test_fused_activation_and_operands_read_as_the_bindings_read_them() -> None:
    """Every conv / fully-connected operator of the shared models: activation and operand
    indices from the official generated bindings equal operator_quantities'."""
    names = {v: k for k, v in vars(ACT).items() if not k.startswith("_")}
    options = {OP.CONV_2D: s.Conv2DOptionsT, OP.DEPTHWISE_CONV_2D: s.DepthwiseConv2DOptionsT,
               OP.FULLY_CONNECTED: s.FullyConnectedOptionsT,
               OP.TRANSPOSE_CONV: s.TransposeConvOptionsT}
    checked = 0
    for path in sorted(SHARED_MODELS.glob("*.tflite")):
        data = path.read_bytes()
        ours = {(q.subgraph, q.operator): q for q in operator_quantities(tflparse.load(data))}
        model = s.ModelT.InitFromPackedBuf(data, 0)
        for si, graph in enumerate(model.subgraphs or []):
            for oi, op in enumerate(graph.operators or []):
                q = ours.get((si, oi))
                if q is None:
                    continue
                code = model.operatorCodes[op.opcodeIndex]
                builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
                assert isinstance(op.builtinOptions, options[builtin]), path.name
                assert q.activation == names[op.builtinOptions.fusedActivationFunction]
                assert q.weights == op.inputs[1] and q.output == op.outputs[0]
                checked += 1
    if not checked:
        pytest.skip("no shared models")
    assert checked > 100


def test_activation_field_offsets_are_the_bindings() -> None:
    """WEIGHT_OPERATORS' vtable offsets of fused_activation_function, read from the official
    generated reader of each options table."""
    import inspect
    import re

    from tflparse.weights import WEIGHT_OPERATORS
    tables = {OP.CONV_2D: s.Conv2DOptions, OP.DEPTHWISE_CONV_2D: s.DepthwiseConv2DOptions,
              OP.FULLY_CONNECTED: s.FullyConnectedOptions,
              OP.TRANSPOSE_CONV: s.TransposeConvOptions}
    assert set(tables) == set(WEIGHT_OPERATORS)
    for builtin, table in tables.items():
        source = inspect.getsource(table.FusedActivationFunction)
        match = re.search(r"Offset\((\d+)\)", source)
        assert match is not None
        assert WEIGHT_OPERATORS[builtin][3] == int(match.group(1)), table.__name__


#: weight-rule findings per shared model (all others: none). Checked by hand with numpy on
#: LiteRT's get_tensor() for tiny_vww96 (conv2d_7: 71 of 128 channels all zero, 70 with a
#: scale < 1e-8), yamnet (layer 26 depthwise: live scales 7.0e-05..0.194, ratio 1/2769),
#: mobilenet uint8 (Conv2d_1_depthwise, zero point 241: channels 3, 4, 6, 7 reach |q - zp|
#: 7, 4, 6, 6 while channel 2 reaches 240) and aeq_mnist (10, 33 and 8 values at -128).
REAL_WEIGHT_FINDINGS = {
    "aeq_mnist_weight_only_int8.tflite": {"weight-clipping": 1, "int8-weight-range": 3},
    "tflm_keyword_scrambled_svdf.tflite": {"int8-weight-range": 4, "bias-headroom": 5},
    "tflm_seanet_conv10_int16x8.tflite": {"weight-clipping": 1, "int8-weight-range": 1},
    "tflsupport_mobilenet_v1_025_quant_uint8_metadata.tflite": {"channel-imbalance": 10},
    "tflsupport_yamnet_wavin_mel_int8_complex64.tflite": {"scale-spread": 1},
    "tiny_toycar_int8_io.tflite": {"channel-imbalance": 4},
    "tiny_vww96_int8.tflite": {"dead-channel": 9, "scale-spread": 3},
}


def test_shared_models_weight_findings() -> None:
    from collections import Counter

    from conftest import shared_model_paths

    from tflparse.audit import audit_path
    paths = shared_model_paths()
    if not paths:
        pytest.skip("no shared models")
    for path in paths:
        report = audit_path(path, WEIGHT_RULES)
        counts = Counter(f.rule for f in report.findings)
        assert dict(counts) == REAL_WEIGHT_FINDINGS.get(path.name, {}), path.name


def test_dead_channel_counts_equal_litert_values() -> None:
    """The dead-channel message's count against LiteRT's own get_tensor() values."""
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    data = shared(VWW)
    interpreter = litert.Interpreter(model_content=data)
    for finding in found(data, "dead-channel"):
        values = interpreter.get_tensor(finding.location.tensor)
        dead = int((values.reshape(values.shape[0], -1) == 0).all(axis=1).sum())
        assert finding.message.startswith(f"{dead} of {values.shape[0]} channels")


def test_progress_bar_draws_long_passes_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from tflparse.cli.weights import PROGRESS_BYTES, progress_bar
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    short = progress_bar("small.tflite")
    short(10, 100)
    assert err.getvalue() == ""  # under PROGRESS_BYTES: nothing drawn
    bar = progress_bar("big.tflite")
    for done in (0, PROGRESS_BYTES // 2, PROGRESS_BYTES // 2, PROGRESS_BYTES):
        bar(done, PROGRESS_BYTES)
    drawn = err.getvalue().split("\r\x1b[K")
    assert drawn == ["", "reading weights of big.tflite: 0%",
                     "reading weights of big.tflite: 50%", ""]  # the last clears the line


def test_weights_table_of_every_model_in_a_bundle(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import zipfile
    w = clean_weights()
    w[3] = 0
    bundle = tmp_path / "pair.task"
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("clean.tflite", fully_connected())
        z.writestr("dead.tflite", fully_connected(w, [0.01, 0.02, 0.03, 3.9e-9]))
    status, out, _ = run(["weights", str(bundle)], monkeypatch)
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == f"{bundle}!/clean.tflite:"
    second = lines.index(f"{bundle}!/dead.tflite:")
    assert lines[second - 1].split()[5] == "0" and lines[-1].split()[5] == "1"  # dead column
    status, out, _ = run(["weights", f"{bundle}!/dead.tflite"], monkeypatch)
    assert status == 0 and out.splitlines()[-1].split()[5] == "1"


def test_no_weights_finds_a_subset_on_every_shared_model() -> None:
    from conftest import shared_model_paths
    paths = shared_model_paths()
    if not paths:
        pytest.skip("no shared models")
    for path in paths:
        model = tflparse.load(str(path))
        full = {(f.rule, f.location, f.message) for f in audit_model(model, WEIGHT_RULES)}
        light = {(f.rule, f.location, f.message)
                 for f in audit_model(model, WEIGHT_RULES, weights=False)}
        assert light <= full, path.name
