"""Audit rules on TFLite Model Metadata: does it describe the graph it is attached to?

Metadata tensors pair with a subgraph's inputs and outputs by position (as tflite-support's
readers pair them), so a count that differs, or a name that belongs to another input, means
a reader applies the wrong normalization or labels.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .._feeding import recipes
from .._metadata import ModelMetadata
from .._metadata_schema import AssociatedFileType
from ._registry import Context, Hit, Location, rule

__all__: list[str] = []


def _version(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return None


def _view(ctx: Context) -> ModelMetadata | None:
    return ctx.model.model_metadata


@rule("metadata-mismatch", "warning",
      "metadata names or counts of tensors do not match the subgraph")
def _metadata_mismatch(ctx: Context) -> Iterator[Hit]:
    view = _view(ctx)
    if view is None:
        return
    graphs = view.subgraph_metadata or ()
    if len(graphs) > len(ctx.model.subgraphs):
        yield Location(), (f"the metadata describes {len(graphs)} subgraphs, the model has "
                           f"{len(ctx.model.subgraphs)}. Hint: write one SubGraphMetadata "
                           "per subgraph, in order")
    for si, graph in enumerate(graphs[:len(ctx.model.subgraphs)]):
        subgraph = ctx.model.subgraphs[si]
        for side, metas, indices in (("input", graph.input_tensor_metadata, subgraph.inputs),
                                     ("output", graph.output_tensor_metadata,
                                      subgraph.outputs)):
            if metas is not None and len(metas) != len(indices):
                yield Location(subgraph=si), (
                    f"{len(metas)} {side} tensor metadata for {len(indices)} {side}s of "
                    f"subgraph {si}. Hint: list one TensorMetadata per {side}, in the "
                    f"subgraph's {side} order")
        for r in recipes(ctx.model, si):
            names = [other.tensor_name for other in recipes(ctx.model, si)
                     if other.side == r.side]
            meta = r.metadata
            where = Location(subgraph=si, tensor=r.tensor_index, tensor_name=r.tensor_name)
            if meta is not None and meta.name and meta.name != r.tensor_name \
                    and meta.name in names:
                yield where, (f"{r.side} {r.position} '{r.tensor_name}' is described by "
                              f"metadata named '{meta.name}', the name of another {r.side} "
                              f"({names.index(meta.name)}). Hint: metadata pairs with "
                              f"{r.side}s by position; reorder the TensorMetadata")
            channels = r.shape[-1] if r.shape else None
            for label, values in (("mean", r.mean), ("std", r.std)):
                if values and len(values) > 1 and channels is not None \
                        and len(values) != channels:
                    yield where, (f"normalization gives {len(values)} {label} values for "
                                  f"{channels} channels (shape {list(r.shape)}). Hint: give "
                                  "one value, or one per channel of the last dimension")
            for f in r.label_files:
                if f.type == AssociatedFileType.TENSOR_AXIS_LABELS and f.lines is not None \
                        and channels is not None and f.lines != channels:
                    yield where, (f"'{f.name}' holds {f.lines} labels for a last dimension of "
                                  f"{channels}. Hint: one label per line, one line per "
                                  "class (no header, no trailing blank lines)")


@rule("metadata-files-missing", "warning",
      "an associated file the metadata refers to is not packed in the model")
def _metadata_files_missing(ctx: Context) -> Iterator[Hit]:
    view = _view(ctx)
    if view is None:
        return
    packed = set(view.packed_files)
    for where, f in view.all_associated_files():
        if f.name is not None and f.name not in packed:
            yield Location(), (f"'{f.name}' ({where}) is not in the zip appended to the model "
                               f"({len(packed)} files packed). Hint: pack it with "
                               "MetadataPopulator.load_associated_files() before populate()")


@rule("normalization-quantization", "info",
      "how an input's normalization and quantization combine")
def _normalization_quantization(ctx: Context) -> Iterator[Hit]:
    if _view(ctx) is None:
        return
    for si in range(len(ctx.model.subgraphs)):
        for r in recipes(ctx.model, si):
            combined = r.combined() if r.side == "input" else None
            if combined is None:
                continue
            gain, offset = combined
            assert r.scale is not None and r.zero_point is not None
            zp = r.zero_point
            where = Location(subgraph=si, tensor=r.tensor_index, tensor_name=r.tensor_name)
            formula = ", ".join(f"q = round(x * {g:.6g} {_signed(o)}) {_signed(zp)}"
                                for g, o in zip(gain, offset))
            said = (f"input {r.position}: normalization (mean {_list(r.mean)}, std "
                    f"{_list(r.std)}) then quantization (scale {r.scale:.6g}, zero point "
                    f"{zp}) give {formula}")
            deviation = _pixel_deviation(r.dtype, gain, offset, zp)
            if deviation is None:
                yield where, f"{said}. Hint: apply this formula to each value"
            elif deviation == 0:
                yield where, (f"{said}: every 8-bit pixel x in 0..255 maps to q = "
                              f"{_RAW[r.dtype][1]} exactly. Hint: feed raw pixels unchanged")
            else:
                yield where, (f"{said}: 8-bit pixels x in 0..255 map to q = "
                              f"{_RAW[r.dtype][1]} give or take up to {deviation}. Hint: raw "
                              "pixels do not map 1:1; apply the formula for exact inputs")


def _signed(value: float) -> str:
    return f"- {-value:.6g}" if value < 0 else f"+ {value:.6g}"


def _list(values: tuple[float, ...] | None) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in values or ()) + "]"


# input type -> (offset of a raw 8-bit pixel in it, how it reads)
_RAW = {"uint8": (0, "x"), "int8": (-128, "x - 128")}


def _pixel_deviation(dtype: str, gain: tuple[float, ...], offset: tuple[float, ...],
                     zp: int) -> int | None:
    """Largest |q - raw| over 8-bit pixels (raw = x, or x - 128 for int8), q clamped to the
    type's range, over every channel; None for types that are not 8-bit."""
    if dtype not in _RAW:
        return None
    shift = _RAW[dtype][0]
    x = np.arange(256, dtype=np.float64)
    worst = 0
    for g, o in zip(gain, offset):
        q = np.clip(np.round(x * g + o) + zp, shift, 255 + shift)
        worst = max(worst, int(np.abs(q - (x + shift)).max()))
    return worst


@rule("metadata-parser-version", "warning",
      "min_parser_version is lower than the metadata's fields require")
def _metadata_parser_version(ctx: Context) -> Iterator[Hit]:
    view = _view(ctx)
    if view is None or view.min_parser_version is None:
        return
    required = view.required_parser_version
    stated = _version(view.min_parser_version)
    if stated is None or stated < (_version(required) or ()):
        yield Location(), (f"min_parser_version is '{view.min_parser_version}', but the fields "
                           f"present need {required}. Hint: older readers will misread the "
                           f"metadata; set min_parser_version to {required} (MetadataPopulator "
                           "does)")
