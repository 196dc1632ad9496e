"""How to feed each input and read each output: metadata and quantization read together.

An input's metadata may ask for normalization, ``float = (x - mean) / std`` (per channel
when several values are given), and the tensor's quantization turns that float into the
stored integer, ``q = round(float / scale) + zero_point``. Together:
``q = round(x * gain + offset) + zero_point`` with ``gain = 1 / (std * scale)`` and
``offset = -mean / (std * scale)``. An output is read back with
``float = (q - zero_point) * scale``.

Metadata tensors pair with the subgraph's inputs and outputs by position, as
tflite-support's readers pair them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._dtypes import type_info
from ._metadata import AssociatedFile, ModelMetadata, TensorMetadata
from ._metadata_schema import AssociatedFileType
from .model import Model

__all__ = ["Recipe", "LabelFile", "recipes", "count_lines"]

_LABEL_TYPES = (AssociatedFileType.TENSOR_AXIS_LABELS, AssociatedFileType.TENSOR_VALUE_LABELS,
                AssociatedFileType.VOCABULARY)


@dataclass(frozen=True)
class LabelFile:
    """An associated file of labels or words: its name, kind and line count (None when the
    file is not packed in the model)."""

    name: str
    type: AssociatedFileType | int
    lines: int | None


@dataclass(frozen=True)
class Recipe:
    """One input or output of a subgraph with what its metadata and quantization say."""

    side: str  # "input" or "output"
    position: int
    tensor_index: int
    tensor_name: str | None  # None when the subgraph has no such tensor
    dtype: str
    shape: tuple[int, ...]
    metadata: TensorMetadata | None
    scale: float | None  # per-tensor quantization; None when absent or per-axis
    zero_point: int | None
    per_axis: bool
    label_files: tuple[LabelFile, ...]

    @property
    def mean(self) -> tuple[float, ...] | None:
        norm = None if self.metadata is None else self.metadata.normalization
        return None if norm is None else norm.mean

    @property
    def std(self) -> tuple[float, ...] | None:
        norm = None if self.metadata is None else self.metadata.normalization
        return None if norm is None else norm.std

    def combined(self) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        """(gain, offset) per channel of ``q = round(x * gain + offset) + zero_point``, when
        both normalization and per-tensor quantization are known and usable."""
        mean, std, scale = self.mean, self.std, self.scale
        if not mean or not std or scale is None or self.zero_point is None:
            return None
        channels = max(len(mean), len(std))
        if len(mean) not in (1, channels) or len(std) not in (1, channels):
            return None
        m = np.broadcast_to(np.asarray(mean, np.float64), channels)
        s = np.broadcast_to(np.asarray(std, np.float64), channels)
        with np.errstate(all="ignore"):
            gain = 1.0 / (s * scale)
            offset = -m * gain + 0.0  # no negative zero
        if not (np.isfinite(gain).all() and np.isfinite(offset).all()):
            return None
        return tuple(gain.tolist()), tuple(offset.tolist())


def count_lines(data: memoryview) -> int:
    """Lines in a text file (a last line without its newline counts)."""
    raw = np.frombuffer(data, np.uint8)
    if not len(raw):
        return 0
    return int(np.count_nonzero(raw == 10)) + (0 if raw[-1] == 10 else 1)


def _label_files(view: ModelMetadata, files: tuple[AssociatedFile, ...] | None
                 ) -> tuple[LabelFile, ...]:
    found = []
    packed = set(view.packed_files)
    for f in files or ():
        if f.type not in _LABEL_TYPES or not f.name:
            continue
        lines = count_lines(view.file_view(f.name)) if f.name in packed else None
        found.append(LabelFile(f.name, f.type, lines))
    return tuple(found)


def recipes(model: Model, subgraph: int = 0) -> list[Recipe]:
    """A recipe for every input and output of ``subgraph`` (metadata paired by position)."""
    view = model.model_metadata
    graph_meta = view.subgraph(subgraph) if view is not None else None
    graph = model.subgraphs[subgraph]
    found = []
    for side, indices, metas in (
            ("input", graph.inputs, graph_meta.input_tensor_metadata if graph_meta else None),
            ("output", graph.outputs, graph_meta.output_tensor_metadata if graph_meta else None)):
        for position, index in enumerate(indices.tolist()):
            meta = metas[position] if metas is not None and position < len(metas) else None
            scale = zero_point = None
            per_axis = False
            name: str | None = None
            dtype, shape = "?", ()
            if 0 <= index < len(graph.tensors):
                tensor = graph.tensors[index]
                name = tensor.name
                info = type_info(tensor.type)
                dtype = info.name.lower() if info is not None else f"type{tensor.type}"
                shape = tuple(tensor.shape.tolist())
                q = tensor.quantization
                scales = None if q is None else q.scale
                points = None if q is None else q.zero_point
                if scales is not None and len(scales) == 1:
                    scale = float(scales[0])
                    zero_point = int(points[0]) if points is not None and len(points) else 0
                per_axis = scales is not None and len(scales) > 1
            labels = () if view is None or meta is None else _label_files(
                view, meta.associated_files)
            found.append(Recipe(side, position, index, name, dtype, shape, meta, scale,
                                zero_point, per_axis, labels))
    return found
