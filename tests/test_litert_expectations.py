"""The expectations of LiteRT's own ``tflite/python/interpreter_test.py`` that need no
execution, written anew for our own models (``fixtures/build_expectations.py``).

Every test runs against ``tflparse.interpreter`` and, where ai-edge-litert is installed,
against ``ai_edge_litert.interpreter`` as the control: an expectation that LiteRT fails is a
wrong port, not a tflparse finding. Left out, because they need a runtime or native code:
results of ``invoke()``, the registerers LiteRT looks up or calls, delegate libraries,
``tensor()`` buffers, and the creation metrics counter.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
from types import ModuleType

import numpy as np
import pytest
from conftest import FIXTURES

MODELS = FIXTURES / "expectations"


@pytest.fixture(params=["tflparse", "litert"])
def lite(request: pytest.FixtureRequest) -> ModuleType:
    """The interpreter module under test: ours, or LiteRT's as the control."""
    if request.param == "litert":
        return pytest.importorskip("ai_edge_litert.interpreter")
    return importlib.import_module("tflparse.interpreter")


def model(name: str) -> str:
    return str(MODELS / name)


def assert_quantization(details: dict, scales: list[float], zero_points: list[int],
                        dimension: int) -> None:
    params = details["quantization_parameters"]
    assert params["scales"].tolist() == scales
    assert params["zero_points"].tolist() == zero_points
    assert params["quantized_dimension"] == dimension


def assert_details(details: dict, name: str, dtype: type, shape: list[int],
                   quantization: tuple[float, int]) -> None:
    assert details["name"] == name
    assert details["dtype"] == dtype
    assert details["shape"].tolist() == shape
    assert details["quantization"] == quantization


# -- custom ops ------------------------------------------------------------------------------


def test_no_custom_ops(lite: ModuleType) -> None:
    interpreter = lite.InterpreterWithCustomOps(model_path=model("permute_float.tflite"))
    assert interpreter._safe_to_run()


# -- construction and details ----------------------------------------------------------------


def test_path_like_model(lite: ModuleType) -> None:
    interpreter = lite.Interpreter(model_path=pathlib.Path(model("permute_float.tflite")))
    interpreter.allocate_tensors()
    assert len(interpreter.get_input_details()) == 1


def test_threads_negative(lite: ModuleType) -> None:
    with pytest.raises(ValueError, match="num_threads should >= 1"):
        lite.Interpreter(model_path=model("permute_float.tflite"), num_threads=-1)


def test_threads_wrong_type(lite: ModuleType) -> None:
    with pytest.raises(ValueError, match="type of num_threads should be int"):
        lite.Interpreter(model_path=model("permute_float.tflite"), num_threads=4.2)


def test_unsupported_op_resolver_type(lite: ModuleType) -> None:
    with pytest.raises(ValueError, match="Unrecognized passed in op resolver type: test"):
        lite.Interpreter(model_path=model("permute_float.tflite"),
                         experimental_op_resolver_type="test")


def test_op_resolver_type_members(lite: ModuleType) -> None:
    members = {m.name: m.value for m in lite.OpResolverType}
    assert members == {"AUTO": 0, "BUILTIN": 1, "BUILTIN_REF": 2,
                       "BUILTIN_WITHOUT_DEFAULT_DELEGATES": 3}


@pytest.mark.parametrize("resolver", ["BUILTIN", "BUILTIN_REF",
                                      "BUILTIN_WITHOUT_DEFAULT_DELEGATES"])
def test_float_with_op_resolver_types(lite: ModuleType, resolver: str) -> None:
    interpreter = lite.Interpreter(model_path=model("permute_float.tflite"),
                                   experimental_op_resolver_type=lite.OpResolverType[resolver])
    interpreter.allocate_tensors()
    inputs = interpreter.get_input_details()
    assert len(inputs) == 1
    assert_details(inputs[0], "input", np.float32, [1, 4], (0.0, 0))
    assert_quantization(inputs[0], [], [], 0)
    outputs = interpreter.get_output_details()
    assert len(outputs) == 1
    assert_details(outputs[0], "output", np.float32, [1, 4], (0.0, 0))
    assert_quantization(outputs[0], [], [], 0)


def test_float_with_two_threads(lite: ModuleType) -> None:
    interpreter = lite.Interpreter(model_path=model("permute_float.tflite"), num_threads=2)
    interpreter.allocate_tensors()
    assert interpreter.get_input_details()[0]["index"] == 0
    assert interpreter.get_output_details()[0]["index"] == 2


def test_uint8(lite: ModuleType) -> None:
    data = pathlib.Path(model("permute_uint8.tflite")).read_bytes()
    interpreter = lite.Interpreter(model_content=data)
    interpreter.allocate_tensors()
    inputs = interpreter.get_input_details()
    assert len(inputs) == 1
    assert_details(inputs[0], "input", np.uint8, [1, 4], (1.0, 0))
    assert_quantization(inputs[0], [1.0], [0], 0)
    outputs = interpreter.get_output_details()
    assert len(outputs) == 1
    assert_details(outputs[0], "output", np.uint8, [1, 4], (1.0, 0))
    assert_quantization(outputs[0], [1.0], [0], 0)


def test_string(lite: ModuleType) -> None:
    interpreter = lite.Interpreter(model_path=model("gather_string.tflite"))
    interpreter.allocate_tensors()
    inputs = interpreter.get_input_details()
    assert len(inputs) == 2
    assert_details(inputs[0], "input", np.bytes_, [10], (0.0, 0))
    assert_quantization(inputs[0], [], [], 0)
    assert_details(inputs[1], "indices", np.int64, [3], (0.0, 0))
    assert_quantization(inputs[1], [], [], 0)
    outputs = interpreter.get_output_details()
    assert len(outputs) == 1
    assert_details(outputs[0], "output", np.bytes_, [3], (0.0, 0))
    assert_quantization(outputs[0], [], [], 0)


def test_per_channel_params(lite: ModuleType) -> None:
    interpreter = lite.Interpreter(model_path=model("pc_conv.tflite"))
    interpreter.allocate_tensors()
    weights = interpreter.get_tensor_details()[1]
    params = weights["quantization_parameters"]
    assert len(params["scales"]) == 128
    assert params["scales"].tolist() == np.float32([0.001 * (k + 1) for k in range(128)]).tolist()
    assert weights["quantization"] == (0.0, 0)  # more than one scale: no legacy pair


def test_dense_tensor_access(lite: ModuleType) -> None:
    interpreter = lite.Interpreter(model_path=model("pc_conv.tflite"))
    interpreter.allocate_tensors()
    assert interpreter.get_tensor_details()[1]["sparsity_parameters"] == {}


def test_sparse_tensor_access(lite: ModuleType) -> None:
    interpreter = lite.InterpreterWithCustomOps(model_path=model("sparse_tensor.tflite"))
    interpreter.allocate_tensors()
    stored = interpreter.get_tensor(0)  # the stored values, not densified
    assert len(stored) == 12
    assert stored.tolist() == [1, 0, 0, 4, 2, 3, 0, 0, 5, 0, 0, 6]
    sparsity = interpreter.get_tensor_details()[0]["sparsity_parameters"]
    assert sparsity["traversal_order"].tolist() == [0, 1, 2, 3]
    assert sparsity["block_map"].tolist() == [0, 1]
    dense = {"format": 0, "dense_size": 2}
    for level in (0, 2, 3):
        assert sparsity["dim_metadata"][level] == dense
    assert sparsity["dim_metadata"][1]["format"] == 1
    assert sparsity["dim_metadata"][1]["array_segments"].tolist() == [0, 2, 3]
    assert sparsity["dim_metadata"][1]["array_indices"].tolist() == [0, 1, 1]


# -- error propagation -----------------------------------------------------------------------


def test_too_short_model_content(lite: ModuleType) -> None:
    with pytest.raises(ValueError, match="The model is not a valid Flatbuffer buffer"):
        lite.Interpreter(model_content=b"short")


def test_invalid_model_content(lite: ModuleType) -> None:
    with pytest.raises(ValueError, match="The model is not a valid Flatbuffer buffer"):
        lite.Interpreter(model_content=b"wrong_identifier")


def test_invalid_model_file(lite: ModuleType, tmp_path: pathlib.Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="Could not open 'totally_invalid_file_name'"):
        lite.Interpreter(model_path="totally_invalid_file_name")


def test_neither_path_nor_content(lite: ModuleType) -> None:
    with pytest.raises(ValueError, match="`model_path` or `model_content` must be specified."):
        lite.Interpreter(model_path=None, model_content=None)


def test_invalid_index(lite: ModuleType) -> None:
    interpreter = lite.Interpreter(model_path=model("permute_float.tflite"))
    interpreter.allocate_tensors()
    with pytest.raises(ValueError, match="Invalid tensor index 4 exceeds max tensor index 3"):
        interpreter._get_tensor_details(4, 0)
    with pytest.raises(ValueError, match="Invalid node index"):
        interpreter._get_op_details(4)


def test_tensor_without_shape(lite: ModuleType) -> None:
    """ADD_N's kernel adds a scratch tensor when constructed: it exists, without a shape."""
    interpreter = lite.Interpreter(model_path=model("add_n.tflite"))
    with pytest.raises(ValueError, match="Tensor with no shape found."):
        interpreter._get_tensor_details(3, 0)
    assert [d["index"] for d in interpreter.get_tensor_details()] == [0, 1, 2]


# -- nodes -----------------------------------------------------------------------------------


def test_valid_node(lite: ModuleType) -> None:
    interpreter = lite.Interpreter(model_path=model("permute_float.tflite"))
    interpreter.allocate_tensors()
    ops = interpreter._get_ops_details()
    assert ops[0]["index"] == 0
    assert ops[0]["op_name"] == "FULLY_CONNECTED"
    assert ops[0]["inputs"].tolist() == [0, 1, -1]
    assert ops[0]["outputs"].tolist() == [2]
    assert ops[0]["operand_types"] == [np.float32, np.float32]
    assert ops[0]["result_types"] == [np.float32]
    single = interpreter._get_op_details(0)
    assert list(single) == list(ops[0])
    assert single["op_name"] == "FULLY_CONNECTED"


def test_invalid_node(lite: ModuleType) -> None:
    interpreter = lite.Interpreter(model_path=model("permute_float.tflite"))
    for index in (4, 1, -1):  # one node
        with pytest.raises(ValueError, match="Invalid node index"):
            interpreter._get_op_details(index)
    interpreter.allocate_tensors()  # (LiteRT's default delegate may then add node 1)
    with pytest.raises(ValueError, match="Invalid node index"):
        interpreter._get_op_details(4)


# -- signatures and subgraphs ----------------------------------------------------------------


def test_num_subgraphs(lite: ModuleType) -> None:
    assert lite.Interpreter(model_path=model("permute_float.tflite")).num_subgraphs() == 1
    assert lite.Interpreter(model_path=model("two_signatures.tflite")).num_subgraphs() == 2


def test_tensor_details_single_subgraph(lite: ModuleType) -> None:
    interpreter = lite.Interpreter(model_path=model("permute_float.tflite"))
    details = interpreter.get_tensor_details()
    assert len(details) == 3
    assert details[0]["name"] == "input"
    for index in (1, -1):
        with pytest.raises(ValueError, match="subgraph_index is out of range"):
            interpreter.get_tensor_details(subgraph_index=index)


def test_tensor_details_two_signatures(lite: ModuleType) -> None:
    interpreter = lite.Interpreter(model_path=model("two_signatures.tflite"))
    first = interpreter.get_tensor_details(subgraph_index=0)
    assert len(first) == 3
    assert first[0]["name"] == "add_x:0"
    second = interpreter.get_tensor_details(subgraph_index=1)
    assert len(second) == 3
    assert second[0]["name"] == "multiply_x:0"
    with pytest.raises(ValueError, match="subgraph_index is out of range"):
        interpreter.get_tensor_details(subgraph_index=3)
    assert interpreter.get_signature_list() == {
        "add": {"inputs": ["x", "y"], "outputs": ["output_0"]},
        "multiply": {"inputs": ["x", "y"], "outputs": ["output_0"]}}
    runner = interpreter.get_signature_runner("multiply")
    assert runner.get_input_details()["x"]["name"] == "multiply_x:0"
    with pytest.raises(ValueError, match="SignatureDef signature_key is None"):
        interpreter.get_signature_runner()


# -- what tflparse refuses because it runs nothing -------------------------------------------


def test_load_delegate_refused() -> None:
    """LiteRT documents ValueError for a delegate that fails to load; tflparse loads none."""
    from tflparse.interpreter import Delegate, load_delegate

    with pytest.raises(ValueError, match="Failed to load delegate from libedgetpu.so.1\n"
                                         "tflparse does not run code"):
        load_delegate("libedgetpu.so.1")
    with pytest.raises(ValueError, match="tflparse does not run code"):
        Delegate("libedgetpu.so.1", {"device": "usb"})


def test_invoke_refused() -> None:
    from tflparse.interpreter import Interpreter

    interpreter = Interpreter(model_path=model("permute_float.tflite"))
    with pytest.raises(NotImplementedError, match="does not run"):
        interpreter.invoke()


@pytest.mark.parametrize("name", sorted(p.name for p in MODELS.glob("*.tflite")))
def test_models_are_current(name: str) -> None:
    """The committed models are exactly what fixtures/build_expectations.py builds."""
    pytest.importorskip("ai_edge_litert.schema_py_generated")
    spec = importlib.util.spec_from_file_location("build_expectations",
                                                  FIXTURES / "build_expectations.py")
    assert spec is not None and spec.loader is not None
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    assert (MODELS / name).read_bytes() == builder.MODELS[name](), (
        f"fixtures/expectations/{name} is stale: run python fixtures/build_expectations.py")
