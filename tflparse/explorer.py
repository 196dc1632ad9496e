"""Model Explorer overlays: audit findings and weight statistics as "custom node data".

Google's Model Explorer (``pip install ai-edge-model-explorer``) draws a ``.tflite`` graph with
its built-in flatbuffer adapter and colours nodes from JSON files given with
``--node_data_paths``. A file maps a graph id to ``{"results": {node key: {"value": number}},
"thresholds": [...]}``; a node key is a node id of the adapter's graph (or one of a node's output
tensor names). One file holds one number per node, so each statistic gets its own file.

The ids are computed here from the model, without Model Explorer, by the rules its adapter
follows (the README's Model Explorer section):

- the graph id is the subgraph's name, else the key of the first signature that runs the
  subgraph (when that key is not empty), else ``"main"`` for subgraph 0 and ``"subgraph_N"``;
- operator ``i`` is node ``"i"``; the next free number goes to the ``GraphInputs`` node (when
  the subgraph has inputs); then, walking the operators in order, every input tensor that no
  earlier node produced gets a constant node (one per tensor) with the next number; last comes
  ``GraphOutputs`` (when the subgraph has outputs), and a constant node for an output no node
  produced.

Constant nodes are hidden in Model Explorer by default, so a weight tensor's numbers are shown
on the operators that read it (and also kept on its constant node).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ._dtypes import type_info
from .audit import SEVERITIES, Finding
from .model import Model

if TYPE_CHECKING:
    from .weights import OperatorQuant, WeightStats

__all__ = ["GraphNodes", "METRICS", "graph_nodes", "node_data", "overlay_paths",
           "write_overlays"]

#: the statistics written, in file order: (metric, title); the first is the main file
METRICS: tuple[tuple[str, str], ...] = (
    ("findings", "tflparse: audit findings"),
    ("levels", "tflparse: fewest levels used by a live weight channel"),
    ("scale-spread", "tflparse: largest / smallest per-channel weight scale"),
    ("multiplier", "tflparse: largest requantization multiplier s_in*s_w/s_out"),
)
_SEVERITY_COLORS = {"info": "#9ecae1", "warning": "#fdae6b", "error": "#e6550d"}
_HUGE = 1.7976931348623157e308  # the largest double: "everything above the last bound"
# A threshold colours values <= its value (in order); values above the last stay uncoloured.
_THRESHOLDS: dict[str, list[dict[str, Any]]] = {
    # finding counts (each node's colour is also set from its worst severity)
    "findings": [{"value": 1, "bgColor": "#fdd0a2"}, {"value": 3, "bgColor": "#fdae6b"},
                 {"value": _HUGE, "bgColor": "#e6550d"}],
    # levels: < 16 (under 4 bits) red, < 32 orange, < 128 yellow
    "levels": [{"value": 15, "bgColor": "#e6550d"}, {"value": 31, "bgColor": "#fdae6b"},
               {"value": 127, "bgColor": "#fee391"}],
    # scale ratio: up to 64 fine, up to 1024 yellow, beyond (Hexagon clamps at 1/1024) red
    "scale-spread": [{"value": 64, "bgColor": "#e5f5e0"}, {"value": 1024, "bgColor": "#fee391"},
                     {"value": _HUGE, "bgColor": "#e6550d"}],
    # multiplier: below 2^-31 flushed to zero (red), below 1 fine, below 256 yellow, else red
    "multiplier": [{"value": math.ldexp(1.0, -31), "bgColor": "#e6550d"},
                   {"value": math.nextafter(1.0, 0.0), "bgColor": "#e5f5e0"},
                   {"value": math.nextafter(256.0, 0.0), "bgColor": "#fee391"},
                   {"value": _HUGE, "bgColor": "#e6550d"}],
}


@dataclass
class GraphNodes:
    """The node ids Model Explorer's TFLite adapter gives one subgraph's nodes."""

    subgraph: int
    graph_id: str
    #: node id of the node whose output each tensor is (an operator, GraphInputs or a constant)
    producer: dict[int, str] = field(default_factory=dict)
    #: tensor index -> node id of its constant node
    constants: dict[int, str] = field(default_factory=dict)
    #: tensor index -> node ids of the operators reading it
    readers: dict[int, list[str]] = field(default_factory=dict)
    #: operator index -> for each input, the node its edge comes from (None: omitted input)
    sources: dict[int, list[str | None]] = field(default_factory=dict)
    operators: int = 0
    inputs_node: str | None = None
    outputs_node: str | None = None

    def tensor_nodes(self, tensor: int) -> list[str]:
        """The nodes that show a tensor: its constant node and readers, else its producer."""
        if tensor in self.constants:
            return [self.constants[tensor], *self.readers.get(tensor, [])]
        found = self.producer.get(tensor)
        return [] if found is None else [found]


def _graph_id(model: Model, index: int) -> str:
    name = model.subgraphs[index].name
    if name:
        return name
    for signature in model.signature_defs:
        if signature.subgraph_index == index:
            if signature.key:
                return signature.key
            break
    return "main" if index == 0 else f"subgraph_{index}"


def _constant(nodes: GraphNodes, tensor: int, next_id: int) -> int:
    """Give ``tensor`` a constant node numbered ``next_id``; returns the next free number."""
    nodes.constants[tensor] = nodes.producer[tensor] = str(next_id)
    return next_id + 1


def graph_nodes(model: Model) -> list[GraphNodes]:
    """Every subgraph's graph id and node ids, as Model Explorer's TFLite adapter numbers them."""
    graphs = []
    for subgraph in model.subgraphs:
        operators = subgraph.operators
        nodes = GraphNodes(subgraph.index, _graph_id(model, subgraph.index),
                           operators=len(operators))
        next_id = len(operators)
        inputs = subgraph.inputs.tolist()
        if inputs:
            nodes.inputs_node = str(next_id)
            next_id += 1
            for tensor in inputs:
                if tensor >= 0:
                    nodes.producer[tensor] = nodes.inputs_node
        for operator in operators:
            sources: list[str | None] = []
            nodes.sources[operator.index] = sources
            for tensor in operator.inputs.tolist():
                if tensor < 0:
                    sources.append(None)
                    continue
                if tensor not in nodes.producer:
                    next_id = _constant(nodes, tensor, next_id)
                sources.append(nodes.producer[tensor])
                readers = nodes.readers.setdefault(tensor, [])
                if str(operator.index) not in readers:
                    readers.append(str(operator.index))
            for tensor in operator.outputs.tolist():
                nodes.producer[tensor] = str(operator.index)
        outputs = subgraph.outputs.tolist()
        if outputs:
            nodes.outputs_node = str(next_id)
            next_id += 1
            for tensor in outputs:
                if tensor >= 0 and tensor not in nodes.producer:
                    next_id = _constant(nodes, tensor, next_id)
        graphs.append(nodes)
    return graphs


class _Values:
    """One metric's values per (graph, node), combined with ``merge`` when a node gets two."""

    def __init__(self, merge: Callable[[float, float], float]) -> None:
        self.merge = merge
        self.values: dict[int, dict[str, float]] = {}

    def put(self, subgraph: int, nodes: Iterable[str], value: float) -> None:
        if not math.isfinite(value):
            return
        graph = self.values.setdefault(subgraph, {})
        for node in nodes:
            graph[node] = value if node not in graph else self.merge(graph[node], value)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() and abs(value) < 2 ** 53 else float(value)


def node_data(model: Model, findings: Sequence[Finding],
              stats: Sequence[WeightStats] = (),
              quantities: Sequence[OperatorQuant] = ()) -> dict[str, dict[str, Any]]:
    """``{metric: {graph_id: {"name", "results", "thresholds"}}}`` for each of :data:`METRICS`.

    ``findings``: number of findings at a node (an operator's own, its output tensor's, its
    constant inputs'); each result's ``bgColor`` is its worst severity's colour.
    ``levels``: fewest levels used by a live channel of the node's weights (2 * max|q - zp| + 1;
    weights are quantized constants of at most 16 bits, so biases do not count).
    ``scale-spread``: largest over smallest scale of the live channels of the node's per-axis
    weights (dead channels carry the converter's tiny placeholder scale).
    ``multiplier``: the operator's largest requantization multiplier.
    Graphs without a value are left out of a metric.
    """
    graphs = graph_nodes(model)
    by_index = {g.subgraph: g for g in graphs}
    counts = _Values(lambda a, b: a + b)
    worst: dict[tuple[int, str], int] = {}
    for finding in findings:
        where = finding.location
        graph = by_index.get(where.subgraph) if where.subgraph is not None else None
        if graph is None:
            continue
        if where.operator is not None:
            touched = {str(where.operator)} if 0 <= where.operator < graph.operators else set()
        elif where.tensor is not None:
            touched = set(graph.tensor_nodes(where.tensor))
        else:
            touched = set()
        counts.put(graph.subgraph, sorted(touched), 1)
        rank = SEVERITIES.index(finding.severity) if finding.severity in SEVERITIES else 0
        for node in touched:
            key = (graph.subgraph, node)
            worst[key] = max(worst.get(key, rank), rank)

    levels = _Values(min)
    spread = _Values(max)
    for entry in stats:
        graph = by_index.get(entry.subgraph)
        info = type_info(entry.type)
        if graph is None or info is None or info.bits > 16:
            continue  # int32/int64 constants are biases: their levels say nothing of weights
        nodes = graph.tensor_nodes(entry.tensor)
        live = np.asarray(entry.levels)[~np.asarray(entry.dead, bool)]
        levels.put(graph.subgraph, nodes, float(live.min()) if live.size else 1.0)
        scale = np.asarray(entry.scale, np.float64)[~np.asarray(entry.dead, bool)]
        usable = scale.size > 1 and bool(np.all(np.isfinite(scale))) and float(scale.min()) > 0
        if entry.axis is not None and usable:
            spread.put(graph.subgraph, nodes, float(scale.max() / scale.min()))
    multiplier = _Values(max)
    for quantity in quantities:
        graph = by_index.get(quantity.subgraph)
        finite = np.asarray(quantity.multiplier, np.float64)
        finite = finite[np.isfinite(finite)]
        if graph is not None and finite.size and 0 <= quantity.operator < graph.operators:
            multiplier.put(graph.subgraph, [str(quantity.operator)], float(finite.max()))

    colors = {key: _SEVERITY_COLORS[SEVERITIES[rank]] for key, rank in worst.items()}
    return {metric: _graph_files(metric, title, values, by_index, colors)
            for (metric, title), values in zip(METRICS, (counts, levels, spread, multiplier))}


def _graph_files(metric: str, title: str, values: _Values, by_index: dict[int, GraphNodes],
                 colors: dict[tuple[int, str], str]) -> dict[str, Any]:
    """One metric's node data: ``{graph_id: {"name", "results", "thresholds"}}``."""
    files: dict[str, Any] = {}
    for subgraph, results in sorted(values.values.items()):
        graph_id = by_index[subgraph].graph_id
        entries: dict[str, Any] = {}
        for node, value in sorted(results.items(), key=lambda item: int(item[0])):
            result: dict[str, Any] = {"value": _number(value)}
            if metric == "findings":
                result["bgColor"] = colors[(subgraph, node)]
            entries[node] = result
        # two subgraphs with one name share a graph id in Model Explorer: merge them
        files.setdefault(graph_id, {"name": title, "results": {},
                                    "thresholds": _THRESHOLDS[metric]})
        files[graph_id]["results"].update(entries)
    return files


def overlay_paths(path: str | os.PathLike[str]) -> list[str]:
    """The file each metric goes to: ``PATH`` for the first, ``STEM.METRIC.json`` beside it."""
    name = os.fspath(path)
    stem = name[:-5] if name.lower().endswith(".json") else name
    return [name] + [f"{stem}.{metric}.json" for metric, _ in METRICS[1:]]


def write_overlays(path: str | os.PathLike[str], data: dict[str, dict[str, Any]]) -> list[str]:
    """Write :func:`node_data`'s result to :func:`overlay_paths`; returns the paths written."""
    paths = overlay_paths(path)
    for (metric, _), target in zip(METRICS, paths):
        with open(target, "w", encoding="utf-8") as handle:
            json.dump(data.get(metric, {}), handle, allow_nan=False, ensure_ascii=False,
                      indent=1)
            handle.write("\n")
    return paths
