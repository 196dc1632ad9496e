"""The Model Explorer overlay, checked against Model Explorer's own TFLite adapter: the graph
ids and node ids tflparse computes are the ones the adapter builds, every overlay key is a
node of that graph, and the values are numbers (some recomputed from the raw weights)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import FIXTURES, fixture_paths, shared_model_paths

import tflparse
from tflparse.audit import audit_model
from tflparse.cli import main
from tflparse.explorer import METRICS, graph_nodes, node_data, overlay_paths
from tflparse.weights import model_weight_stats, operator_quantities

adapter_module = pytest.importorskip("model_explorer.builtin_tflite_flatbuffer_adapter")
s = pytest.importorskip("ai_edge_litert.schema_py_generated")

_MODELS = [pytest.param(p, id=p.name) for p in shared_model_paths() + fixture_paths()]


def adapter_graphs(path: Path) -> list[dict[str, Any]]:
    """The graphs Model Explorer's built-in flatbuffer adapter builds for ``path``."""
    result = adapter_module.BuiltinTfliteFlatbufferAdapter().convert(str(path), {})
    return [graph for collection in result["graphCollections"] for graph in collection.graphs]


def _load_or_skip(path: Path) -> tflparse.Model:
    try:
        return tflparse.load(path)
    except tflparse.InvalidModelError:
        pytest.skip("tflparse refuses the file")


def _attrs(metadata: dict[str, Any]) -> dict[str, str]:
    return {a["key"]: a["value"] for a in metadata["attrs"]}


@pytest.mark.parametrize("path", _MODELS)
def test_node_ids_are_the_adapters(path: Path) -> None:
    model = _load_or_skip(path)
    graphs = adapter_graphs(path)
    ours = graph_nodes(model)
    assert [g["id"] for g in graphs] == [g.graph_id for g in ours]
    for graph, nodes in zip(graphs, ours):
        by_id = {node["id"]: node for node in graph["nodes"]}
        expected = nodes.operators + len(nodes.constants) + (nodes.inputs_node is not None) \
            + (nodes.outputs_node is not None)
        assert len(by_id) == expected
        for tensor, node_id in nodes.constants.items():
            node = by_id[node_id]
            assert node["label"] == "pseudo_const"
            assert _attrs(node["outputsMetadata"][0])["tensor_index"] == str(tensor)
        for aux, label in ((nodes.inputs_node, "GraphInputs"),
                           (nodes.outputs_node, "GraphOutputs")):
            if aux is not None:
                assert by_id[aux]["label"] == label
        subgraph = model.subgraphs[nodes.subgraph]
        for op in subgraph.operators:
            node = by_id[str(op.index)]
            assert node["label"] not in ("pseudo_const", "GraphInputs", "GraphOutputs")
            # every edge into an operator comes from the node tflparse says produced it
            edges = {int(e["targetNodeInputId"]): e["sourceNodeId"]
                     for e in node["incomingEdges"]}
            sources = nodes.sources[op.index]
            assert edges == {k: v for k, v in enumerate(sources) if v is not None}


def _stats(model: tflparse.Model) -> tuple[list[Any], list[Any], list[Any]]:
    findings = audit_model(model)
    try:
        stats = model_weight_stats(model)
        quantities = operator_quantities(model, {(x.subgraph, x.tensor): x for x in stats})
    except tflparse.InvalidModelError:
        stats, quantities = [], []
    return findings, stats, quantities


@pytest.mark.parametrize("path", _MODELS)
def test_overlay_keys_are_nodes_and_values_numbers(path: Path) -> None:
    model = _load_or_skip(path)
    graphs = {g["id"]: {n["id"] for n in g["nodes"]} for g in adapter_graphs(path)}
    data = node_data(model, *_stats(model))
    assert list(data) == [metric for metric, _ in METRICS]
    json.dumps(data, allow_nan=False)
    for files in data.values():
        for graph_id, graph in files.items():
            assert graph_id in graphs
            assert set(graph["results"]) <= graphs[graph_id]
            for result in graph["results"].values():
                value = result["value"]
                assert isinstance(value, (int, float)) and not isinstance(value, bool)
                assert math.isfinite(value)
            for threshold in graph["thresholds"]:
                assert isinstance(threshold["value"], (int, float))
                assert isinstance(threshold["bgColor"], str)
        _as_model_explorer_data(files)


def _as_model_explorer_data(files: dict[str, Any]) -> None:
    """The file rebuilt with Model Explorer's own node-data classes (unknown fields raise
    TypeError) writes back the same JSON."""
    builder = pytest.importorskip("model_explorer.node_data_builder")
    graphs = {
        graph_id: builder.GraphNodeData(
            name=graph["name"],
            results={k: builder.NodeDataResult(**v) for k, v in graph["results"].items()},
            thresholds=[builder.ThresholdItem(**t) for t in graph["thresholds"]])
        for graph_id, graph in files.items()}
    again = json.loads(builder.ModelNodeData(graphsData=graphs).to_json_string())
    for graph_id, graph in files.items():
        assert again[graph_id]["results"] == graph["results"]
        assert again[graph_id]["thresholds"] == graph["thresholds"]


def _raw(path: Path) -> Any:
    return s.ModelT.InitFromPackedBuf(path.read_bytes(), 0)


def test_overlay_values_recomputed_from_the_raw_model() -> None:
    """On the demo fixture: levels from the int8 bytes, the scale ratio and the requantization
    multiplier from the scales the official bindings read."""
    path = FIXTURES / "report_demo.tflite"
    model = tflparse.load(path)
    data = node_data(model, *_stats(model))
    raw = _raw(path)
    subgraph = raw.subgraphs[0]
    levels = data["levels"]["main"]["results"]
    spread = data["scale-spread"]["main"]["results"]
    multiplier = data["multiplier"]["main"]["results"]
    for index, op in enumerate(subgraph.operators):
        code = raw.operatorCodes[op.opcodeIndex].builtinCode
        if code not in (s.BuiltinOperator.CONV_2D, s.BuiltinOperator.DEPTHWISE_CONV_2D,
                        s.BuiltinOperator.FULLY_CONNECTED):
            assert str(index) not in multiplier
            continue
        x, w, y = (subgraph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
        values = np.frombuffer(bytes(raw.buffers[w.buffer].data), np.int8).reshape(w.shape)
        axis = 3 if code == s.BuiltinOperator.DEPTHWISE_CONV_2D else 0
        per_channel = np.abs(np.moveaxis(values.astype(np.int64), axis, 0)).reshape(
            values.shape[axis], -1).max(axis=1)
        live = per_channel[per_channel > 0]
        assert levels[str(index)]["value"] == 2 * int(live.min()) + 1
        scales = np.asarray(w.quantization.scale, np.float64)
        if len(scales) > 1:  # per axis: the live channels' scales
            kept = scales[per_channel > 0]
            assert spread[str(index)]["value"] == pytest.approx(kept.max() / kept.min())
        else:
            assert str(index) not in spread
        expected = float(np.float32(x.quantization.scale[0])) * scales.max() \
            / float(np.float32(y.quantization.scale[0]))
        assert multiplier[str(index)]["value"] == pytest.approx(expected, rel=1e-12)


def test_audit_writes_the_overlay_files(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "overlay.json"
    path = FIXTURES / "report_demo.tflite"
    main(["audit", str(path), "--model-explorer", str(target)])
    err = capsys.readouterr().err
    paths = overlay_paths(target)
    assert f"--node_data_paths {','.join(paths)}" in err
    graphs = {g["id"]: {n["id"] for n in g["nodes"]} for g in adapter_graphs(path)}
    for written in paths:
        content = json.loads(Path(written).read_text(encoding="utf-8"))
        for graph_id, graph in content.items():
            assert set(graph["results"]) <= graphs[graph_id]
    assert json.loads(Path(paths[1]).read_text(encoding="utf-8"))["main"]["results"]


def test_audit_overlay_needs_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(FIXTURES), "--model-explorer", str(tmp_path / "x.json")]) == 2
    assert "--model-explorer needs exactly one model file" in capsys.readouterr().err
