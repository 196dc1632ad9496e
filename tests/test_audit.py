"""Audit rules: each one on a model that triggers it and on models that do not.

Small models are built here with the generated bindings shipped in ai-edge-litert; real
third-party models come from ../shared/models (skipped when absent).
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import FIXTURES, SHARED_MODELS, shared_model_paths
from model_builder import one_subgraph_model as build  # noqa: E402
from model_builder import schema as s  # noqa: E402
from model_builder import tensor  # noqa: E402

import tflparse
from tflparse.audit import RULES, SEVERITIES, Finding, audit_model, audit_path, rule

T, OP = s.TensorType, s.BuiltinOperator
MNIST = FIXTURES / "mnist_int8.tflite"
#: the rules on metadata (the weight rules are tested in test_weight_rules.py)
METADATA_RULES = [r.id for r in RULES.values() if r.check.__module__ != "tflparse.audit._weights"]


# --------------------------------------------------------------------------------------------
# Building models (tensor() and build() come from model_builder)


def rules_of(data: bytes | Path) -> list[str]:
    model = tflparse.load(data if isinstance(data, bytes) else str(data))
    return [f.rule for f in audit_model(model)]


def findings(data: bytes, rule_id: str) -> list[Finding]:
    return [f for f in audit_model(tflparse.load(data)) if f.rule == rule_id]


def f32(*values: float) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def i32(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


def affine(tensor_type: int, scale: list[float], zero_point: list[int],
           shape: list[int] | None = None, axis: int = 0, constant: bytes | None = None
           ) -> bytes:
    """One quantized tensor, an arena tensor unless ``constant`` bytes are given."""
    t = tensor(b"t", tensor_type, shape or [len(scale)], 1 if constant is not None else 0,
               scale=scale, zero_point=zero_point, axis=axis)
    return build([t], buffers=[constant] if constant is not None else None)


def shared(name: str) -> Path:
    path = SHARED_MODELS / name
    if not path.is_file():
        pytest.skip(f"shared model {name} is absent")
    return path


# --------------------------------------------------------------------------------------------
# The table


def test_rule_table_is_well_formed() -> None:
    assert len(RULES) >= 20
    for entry in RULES.values():
        assert entry.severity in SEVERITIES
        assert entry.id == entry.id.lower() and " " not in entry.id
        assert entry.summary and callable(entry.check)


def test_clean_fixtures_have_no_findings() -> None:
    for path in sorted(FIXTURES.glob("*.tflite")):
        if path.name == "report_demo.tflite":  # weight problems planted for the report
            continue
        assert rules_of(path) == [], path.name


# --------------------------------------------------------------------------------------------
# Quantization parameters

CLEAN_INT8 = affine(T.INT8, [0.5], [3])


@pytest.mark.parametrize(("rule_id", "data", "expected"), [
    ("scale-zero", affine(T.INT8, [0.0], [0]), 1),
    ("scale-zero", affine(T.INT8, [0.1, 0.0, 0.2], [0, 0, 0]), 1),
    ("scale-zero", CLEAN_INT8, 0),
    ("scale-negative", affine(T.INT8, [-0.5], [0]), 1),
    ("scale-negative", CLEAN_INT8, 0),
    ("scale-nonfinite", affine(T.INT8, [float("nan")], [0]), 1),
    ("scale-nonfinite", affine(T.INT8, [float("inf"), 1.0], [0, 0]), 1),
    ("scale-nonfinite", CLEAN_INT8, 0),
    ("scale-subnormal", affine(T.INT8, [1e-40], [0]), 1),
    ("scale-subnormal", affine(T.INT8, [1.2e-38], [0]), 0),
    ("zero-point-range", affine(T.INT8, [0.5], [200]), 1),
    ("zero-point-range", affine(T.UINT8, [0.5], [-1]), 1),
    ("zero-point-range", affine(T.INT16, [0.5], [40000]), 1),
    ("zero-point-range", affine(T.UINT8, [0.5], [255]), 0),
    ("zero-point-range", affine(T.INT8, [0.5], [-128]), 0),
    ("quant-length-mismatch", affine(T.INT8, [0.1, 0.2], [0]), 1),
    ("quant-length-mismatch", affine(T.INT8, [0.1, 0.2], [0, 0]), 0),
    ("quant-dimension-range", affine(T.INT8, [0.1], [0], shape=[2, 3], axis=2), 1),
    ("quant-dimension-range", affine(T.INT8, [0.1], [0], shape=[2, 3], axis=-1), 1),
    ("quant-dimension-range", affine(T.INT8, [0.1], [0], shape=[2, 3], axis=1), 0),
    ("per-axis-count", affine(T.INT8, [0.1] * 3, [0] * 3, shape=[2, 3], axis=0), 1),
    ("per-axis-count", affine(T.INT8, [0.1] * 3, [0] * 3, shape=[2, 3], axis=1), 0),
    ("int16-activation-zero-point", affine(T.INT16, [0.5], [5]), 1),
    ("int16-activation-zero-point", affine(T.INT16, [0.5], [0]), 0),
    ("int16-activation-zero-point", affine(T.INT16, [0.5], [5], constant=b"\0\0"), 0),
], ids=lambda v: v if isinstance(v, str) else None)
def test_quantization_parameter_rules(rule_id: str, data: bytes, expected: int) -> None:
    found = findings(data, rule_id)
    assert len(found) == expected, found
    for f in found:
        assert f.severity == RULES[rule_id].severity
        assert f.location.tensor == 0 and f.location.subgraph == 0
        assert "Hint:" in f.message


def test_invalid_parameters_are_also_refused_by_litert() -> None:
    assert "litert-refuses" in rules_of(affine(T.INT8, [0.1, 0.2], [0]))
    assert "litert-refuses" not in rules_of(affine(T.INT8, [0.0], [0]))


def test_per_channel_message_names_the_channels() -> None:
    [f] = findings(affine(T.INT8, [0.1, 0.0, 0.2, 0.0], [0] * 4), "scale-zero")
    assert "2 of 4 channels (1, 3)" in f.message


# --------------------------------------------------------------------------------------------
# Weights, bias and fixed output scales


def fully_connected(weight_zp: list[int], bias_scale: list[float], weight_scale: list[float]
                    ) -> bytes:
    n = len(weight_scale)
    tensors = [
        tensor(b"x", T.INT8, [1, 4], scale=[0.5], zero_point=[-1]),
        tensor(b"w", T.INT8, [n, 4], 1, scale=weight_scale, zero_point=weight_zp),
        tensor(b"b", T.INT32, [n], 2, scale=bias_scale, zero_point=[0] * len(bias_scale)),
        tensor(b"y", T.INT8, [1, n], scale=[0.25], zero_point=[0]),
    ]
    return build(tensors, [(OP.FULLY_CONNECTED, [0, 1, 2], [3])],
                 [bytes(4 * n), i32(*[0] * n)], inputs=[0], outputs=[3])


def test_int8_weight_zero_point_flags_asymmetric_weights() -> None:
    [f] = findings(fully_connected([3, 0], [0.05, 0.1], [0.1, 0.2]), "int8-weight-zero-point")
    assert f.location.tensor == 1 and "XNNPACK" in f.message
    assert not findings(fully_connected([0, 0], [0.05, 0.1], [0.1, 0.2]),
                        "int8-weight-zero-point")


def test_int8_constant_that_is_not_a_weight_may_be_asymmetric() -> None:
    data = build([tensor(b"c", T.INT8, [2], 1, scale=[0.5], zero_point=[7])], buffers=[b"\0\0"])
    assert not findings(data, "int8-weight-zero-point")


def test_bias_scale_compares_every_channel() -> None:
    assert not findings(fully_connected([0, 0], [0.05, 0.1], [0.1, 0.2]), "bias-scale")
    [f] = findings(fully_connected([0, 0], [0.05, 0.5], [0.1, 0.2]), "bias-scale")
    assert f.location.operator == 0 and f.location.tensor == 2
    assert "1 of 2 channels (1)" in f.message
    # a per-tensor bias against per-channel weights is compared with every channel
    assert findings(fully_connected([0, 0], [0.05], [0.1, 0.2]), "bias-scale")
    # within the relative tolerance
    assert not findings(fully_connected([0, 0], [0.05 * (1 + 1e-5)], [0.1]), "bias-scale")


def transpose_conv(bias_scale: float) -> bytes:
    tensors = [
        tensor(b"output_shape", T.INT32, [4], 1),
        tensor(b"w", T.INT8, [2, 3, 3, 1], 2, scale=[0.1, 0.2], zero_point=[0, 0]),
        tensor(b"x", T.INT8, [1, 4, 4, 1], scale=[0.5], zero_point=[0]),
        tensor(b"b", T.INT32, [2], 3, scale=[bias_scale * 0.1, bias_scale * 0.2],
               zero_point=[0, 0]),
        tensor(b"y", T.INT8, [1, 4, 4, 2], scale=[1.0], zero_point=[0]),
    ]
    return build(tensors, [(OP.TRANSPOSE_CONV, [0, 1, 2, 3], [4])],
                 [i32(1, 4, 4, 2), bytes(18), i32(0, 0)], inputs=[2], outputs=[4])


def test_bias_scale_reads_transpose_conv_operand_order() -> None:
    assert not findings(transpose_conv(0.5), "bias-scale")  # bias = input 0.5 x weights
    assert findings(transpose_conv(1.0), "bias-scale")


def activation(builtin: int, in_type: int, out_type: int, scale: float, zero_point: int
               ) -> bytes:
    tensors = [tensor(b"x", in_type, [1, 4], scale=[0.1], zero_point=[0]),
               tensor(b"y", out_type, [1, 4], scale=[scale], zero_point=[zero_point])]
    return build(tensors, [(builtin, [0], [1])], inputs=[0], outputs=[1])


@pytest.mark.parametrize(("builtin", "in_type", "out_type", "scale", "zp", "bad"), [
    (OP.LOGISTIC, T.INT8, T.INT8, 1 / 256, -128, False),
    (OP.LOGISTIC, T.INT8, T.INT8, 1 / 128, -128, True),
    (OP.LOGISTIC, T.INT8, T.INT8, 1 / 256, 0, True),
    (OP.LOGISTIC, T.UINT8, T.UINT8, 1 / 256, 0, False),
    (OP.LOGISTIC, T.INT16, T.INT16, 1 / 32768, 0, False),
    (OP.LOGISTIC, T.INT16, T.INT16, 1 / 65536, 0, True),
    (OP.SOFTMAX, T.INT8, T.INT8, 1 / 256, -128, False),
    (OP.SOFTMAX, T.UINT8, T.UINT8, 1 / 256, -128, True),
    (OP.SOFTMAX, T.INT8, T.INT16, 1 / 65536, -32768, False),
    (OP.SOFTMAX, T.INT16, T.INT16, 1 / 32768, 0, False),
    (OP.SOFTMAX, T.INT16, T.INT16, 1 / 32768, 1, True),
], ids=lambda v: str(v))
def test_fixed_output_scale_flags_other_scales_and_zero_points(
        builtin: int, in_type: int, out_type: int, scale: float, zp: int, bad: bool) -> None:
    data = activation(builtin, in_type, out_type, scale, zp)
    assert bool(findings(data, "fixed-output-scale")) is bad
    # an int8 softmax's asymmetric int16 output is not an int16 activation problem
    if (builtin, in_type, out_type) == (OP.SOFTMAX, T.INT8, T.INT16):
        assert not findings(data, "int16-activation-zero-point")


# --------------------------------------------------------------------------------------------
# Integer models: mixed schemes and float leftovers


def integer_chain(float_op: bool, float_io: bool) -> bytes:
    """QUANTIZE? -> ADD (int8) -> [LOGISTIC in float between DEQUANTIZE/QUANTIZE]."""
    q = {"scale": [0.1], "zero_point": [0]}
    tensors = [tensor(b"x", T.FLOAT32 if float_io else T.INT8, [4], **({} if float_io else q)),
               tensor(b"xq", T.INT8, [4], **q), tensor(b"sum", T.INT8, [4], **q),
               tensor(b"f", T.FLOAT32, [4]), tensor(b"g", T.FLOAT32, [4])]
    ops = [(OP.QUANTIZE, [0], [1]), (OP.ADD, [1, 1], [2])]
    outputs = [2]
    if float_op:
        ops += [(OP.DEQUANTIZE, [2], [3]), (OP.RELU, [3], [4])]
        outputs = [4]
    return build(tensors, ops, inputs=[0], outputs=outputs)


def test_float_op_and_float_io() -> None:
    data = integer_chain(float_op=True, float_io=True)
    [op] = findings(data, "float-op")
    assert op.location.operator == 3 and "RELU" in op.message
    assert [f.location.tensor for f in findings(data, "float-io")] == [0, 4]
    clean = integer_chain(float_op=False, float_io=False)
    assert not findings(clean, "float-op") and not findings(clean, "float-io")


def test_float_model_is_not_an_integer_model() -> None:
    tensors = [tensor(b"a", T.FLOAT32, [4]), tensor(b"b", T.FLOAT32, [4])]
    data = build(tensors, [(OP.RELU, [0], [1])], inputs=[0], outputs=[1])
    assert rules_of(data) == []


def test_mixed_int8_uint8_flags_the_first_uint8_tensor() -> None:
    tensors = [tensor(b"a", T.UINT8, [4], scale=[0.1], zero_point=[128]),
               tensor(b"b", T.INT8, [4], scale=[0.1], zero_point=[0])]
    data = build(tensors, [(OP.QUANTIZE, [0], [1])], inputs=[0], outputs=[1])
    [f] = findings(data, "mixed-int8-uint8")
    assert f.location.tensor == 0
    assert not findings(CLEAN_INT8, "mixed-int8-uint8")


# --------------------------------------------------------------------------------------------
# Buffers


def test_buffer_too_small_and_packed_sizes() -> None:
    short = build([tensor(b"c", T.FLOAT32, [4], 1)], buffers=[f32(1, 2)])
    [f] = findings(short, "buffer-too-small")
    assert "needs 16 bytes" in f.message and "holds 8" in f.message
    assert "litert-refuses" in rules_of(short)
    int4_short = build([tensor(b"c", T.INT4, [5], 1)], buffers=[b"\0\0"])
    assert findings(int4_short, "buffer-too-small")
    int4_ok = build([tensor(b"c", T.INT4, [3], 1)], buffers=[b"\0\0"])
    assert rules_of(int4_ok) == []
    int4_unpacked = build([tensor(b"c", T.INT4, [4], 1)], buffers=[b"\0" * 4])
    [f] = findings(int4_unpacked, "packed-buffer-size")
    assert "stored unpacked" in f.message
    int2 = build([tensor(b"c", T.INT2, [5], 1)], buffers=[b"\0" * 3])
    [f] = findings(int2, "packed-buffer-size")
    assert "ceil(5/4) = 2 bytes" in f.message
    longer_float = build([tensor(b"c", T.FLOAT32, [1], 1)], buffers=[f32(1, 2)])
    assert rules_of(longer_float) == []


def test_buffer_outside_file() -> None:
    data = build([tensor(b"c", T.FLOAT32, [4], 1)], external={1: (1 << 20, 16)})
    [f] = findings(data, "buffer-outside-file")
    assert f.location.buffer == 1 and f.location.tensor == 0
    assert "litert-refuses" in rules_of(data)
    inside = build([tensor(b"c", T.FLOAT32, [1], 1)], external={1: (8, 4)})
    assert not findings(inside, "buffer-outside-file")


def test_blockwise_scale_flags_zero_and_subnormal_scales() -> None:
    def model(scales: bytes) -> bytes:
        tensors = [tensor(b"scales", T.FLOAT16, [2], 1), tensor(b"w", T.INT4, [2, 2], 2,
                                                                 blockwise=(0, -1, 2))]
        return build(tensors, buffers=[scales, b"\0\0"])
    good = np.array([0.5, 0.25], "<f2").tobytes()
    zero = np.array([0.5, 0.0], "<f2").tobytes()
    subnormal = np.array([1e-6, 0.5], "<f2").tobytes()
    assert not findings(model(good), "blockwise-scale")
    assert findings(model(zero), "blockwise-scale")
    assert findings(model(subnormal), "blockwise-scale")


# --------------------------------------------------------------------------------------------
# What LiteRT would do


def test_litert_refuses_gives_the_message() -> None:
    data = build([tensor(b"a", T.FLOAT32, [1])], version=2)
    [f] = findings(data, "litert-refuses")
    assert "schema version 2" in f.message and f.severity == "error"


def test_details_omitted_invalid_utf8_and_blockwise_index() -> None:
    tensors = [tensor(b"ok", T.FLOAT32, [1]), tensor(b"bad\xff", T.FLOAT32, [1]),
               tensor(b"w", T.INT4, [2], 1, blockwise=(99, -1, 2))]
    data = build(tensors, buffers=[b"\0"])
    found = findings(data, "details-omitted")
    assert [f.location.tensor for f in found] == [1, 2]
    assert "UTF-8" in found[0].message and "does not exist" in found[1].message
    indices = [d["index"] for d in tflparse.Interpreter(model_content=data).get_tensor_details()]
    assert indices == [0]


def test_details_omitted_bfloat16() -> None:
    if "ml_dtypes" in sys.modules:  # checked when the test runs: other tests may import it
        pytest.skip("ml_dtypes is imported in this process")
    data = build([tensor(b"bf", T.BFLOAT16, [1])])
    [f] = findings(data, "details-omitted")
    assert "ml_dtypes" in f.message


def test_io_details_error() -> None:
    data = build([tensor(b"a", T.FLOAT32, [1])], inputs=[-1], outputs=[0])
    [f] = findings(data, "io-details-error")
    assert "get_input_details() raises" in f.message
    reset = build([tensor(b"a", T.FLOAT32, [1])], inputs=[0, 7], outputs=[0])
    [f] = findings(reset, "io-details-error")
    assert "silently" in f.message
    assert not findings(build([tensor(b"a", T.FLOAT32, [1])], inputs=[0], outputs=[0]),
                        "io-details-error")


# --------------------------------------------------------------------------------------------
# Malformed models never crash the audit


def corrupt_tensor_name(data: bytes, index: int) -> bytes:
    """Point tensor ``index``'s name offset past the end of the file."""
    root = s.Model.GetRootAs(data, 0)
    table = root.Subgraphs(0).Tensors(index)._tab
    field = table.Offset(10)  # Tensor.name
    assert field
    out = bytearray(data)
    struct.pack_into("<I", out, table.Pos + field, 0x7FFFFF00)
    return bytes(out)


def test_unreadable_tensor_is_a_finding() -> None:
    data = corrupt_tensor_name(fully_connected([0], [0.05], [0.1]), 1)
    found = audit_model(tflparse.load(data))
    unreadable = [f for f in found if f.rule == "tensor-unreadable"]
    assert [f.location.tensor for f in unreadable] == [1]


def test_a_rule_that_meets_a_malformed_model_becomes_a_finding() -> None:
    @rule("test-explodes", "warning", "raises for the test")
    def explode(ctx: Any) -> Any:
        raise tflparse.InvalidModelError("subgraphs[0].tensors[3]: broken")
        yield  # pragma: no cover

    try:
        found = [f for f in audit_model(tflparse.load(str(MNIST))) if f.rule == "test-explodes"]
    finally:
        del RULES["test-explodes"]
    assert len(found) == 1 and found[0].severity == "error"
    assert "broken" in found[0].message


def test_mutated_files_never_raise() -> None:
    original = (FIXTURES / "features.tflite").read_bytes()
    rng = np.random.default_rng(7)
    for _ in range(300):
        data = bytearray(original)
        for position in rng.integers(8, len(data), size=4).tolist():
            data[position] = int(rng.integers(0, 256))
        try:
            model = tflparse.load(bytes(data))
        except tflparse.InvalidModelError:
            continue
        for f in audit_model(model):
            assert f.severity in SEVERITIES


def test_audit_path_reports_unreadable_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"GGUF" + bytes(64))
    report = audit_path(junk)
    assert report.error is not None and "GGUF" in report.error and report.findings == []
    assert str(junk) not in report.error  # the report names the path once, in "path"
    missing = audit_path(tmp_path / "missing.tflite")
    assert missing.error == "No such file or directory"


# --------------------------------------------------------------------------------------------
# Real models

REAL_TRIGGERS = {
    "FAIL_litert_0_subgraphs.bin": {"litert-refuses"},
    "FAIL_litert_lstm_calibrated2_shape_minus1.bin": {"litert-refuses"},
    "FAIL_litert_transpose_schema_v2.bin": {"litert-refuses"},
    "aeq_mnist_weight_only_int8.tflite": {"int8-weight-zero-point"},
    "aeq_partly_quantized_mnist_hybrid.tflite": {"float-op", "float-io"},
    "edgefirst_yolov8n_int8_imx95_neutron.tflite": {"mixed-int8-uint8"},
    "litert_blockwise_quantized.tflite": {"blockwise-scale"},
    "litert_uni_seq_lstm_quantized.bin": {"float-io"},
    "tflsupport_yamnet_wavin_mel_int8_complex64.tflite": {"float-op", "float-io"},
    "tflsupport_mobilenet_v1_025_quant_uint8_metadata.tflite": {"normalization-quantization"},
}


@pytest.mark.skipif(not shared_model_paths(), reason=f"no shared models at {SHARED_MODELS}")
def test_real_models_trigger_exactly_the_expected_rules() -> None:
    for path in shared_model_paths():
        report = audit_path(path, METADATA_RULES)
        assert report.error is None, path.name
        assert {f.rule for f in report.findings} == REAL_TRIGGERS.get(path.name, set()), path.name


@pytest.mark.parametrize(("name", "rule_id", "count"), [
    ("aeq_mnist_weight_only_int8.tflite", "int8-weight-zero-point", 3),
    ("litert_blockwise_quantized.tflite", "blockwise-scale", 1),
    ("edgefirst_yolov8n_int8_imx95_neutron.tflite", "mixed-int8-uint8", 1),
    ("tflsupport_yamnet_wavin_mel_int8_complex64.tflite", "float-io", 2),
])
def test_real_model_findings(name: str, rule_id: str, count: int) -> None:
    report = audit_path(shared(name))
    assert sum(f.rule == rule_id for f in report.findings) == count


@pytest.mark.parametrize("name", [
    "tiny_vww96_int8.tflite",  # int8, per-channel conv weights and biases
    "mlzoo_ds_cnn_s_int16x8.tflite",  # 16x8: symmetric int16 activations
    "tflm_keyword_scrambled_svdf.tflite",  # int8 SOFTMAX with int16 output (1/65536, -32768)
    "tiny_kws_float32_hybrid.tflite",  # hybrid: int8 weights, float activations
    "litert_simple_group_norm_offset_buffers.tflite",  # buffers stored after the flatbuffer
    "tflite2onnx_depthwise_conv_uint8.tflite",  # uint8 only
])
def test_real_models_without_findings(name: str) -> None:
    assert audit_path(shared(name), METADATA_RULES).findings == []


# --------------------------------------------------------------------------------------------
# One construction per model


def test_the_audit_loads_and_constructs_each_model_once(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Its rules share one Interpreter built on the audit's own model and construction."""
    from tflparse import _loading, interpreter
    from tflparse.audit import _registry

    calls = {"construct": 0, "load": 0}

    def counted(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(_registry, "construct", counted("construct", _registry.construct))
    monkeypatch.setattr(interpreter, "construct", counted("construct", interpreter.construct))
    monkeypatch.setattr(interpreter, "load", counted("load", interpreter.load))
    monkeypatch.setattr(_loading, "load", counted("load", _loading.load))
    report = audit_path(MNIST)
    assert report.error is None
    assert calls == {"construct": 1, "load": 0}  # audit_path's own load is imported already


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name)
                                  for p in [MNIST, *shared_model_paths()]])
def test_an_interpreter_on_a_constructed_model_reports_what_a_fresh_one_does(path: Path
                                                                              ) -> None:
    from paths import interpreter_snapshot

    from tflparse._construction import construct
    from tflparse.interpreter import Interpreter

    model = tflparse.load(path)
    try:
        state = construct(model)
    except tflparse.InvalidModelError:
        with pytest.raises(tflparse.InvalidModelError):
            tflparse.Interpreter(model_path=path)
        return
    shared = Interpreter._constructed(model, state)
    assert interpreter_snapshot(path.read_bytes(), shared) == \
        interpreter_snapshot(path.read_bytes())
