"""``tflparse metadata MODEL``: a model's TFLite Model Metadata.

Without options: a summary and, for each input and output, how to feed or read it
(normalization, quantization, the combined formula in numbers, value range, labels).
``--json`` prints the metadata as strict JSON (NaN and infinities as strings);
``--displayer-json`` prints exactly what tflite-support's ``get_metadata_json()`` returns;
``--extract DIR`` writes the packed associated files into DIR (names that would land
outside it are refused). ``inspect`` shows the same summary for models that carry metadata.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from .._errors import InvalidModelError
from .._feeding import Recipe, recipes
from .._metadata import (
    AudioProperties,
    BoundingBoxProperties,
    Content,
    ImageProperties,
    ModelMetadata,
)
from .._sources import open_member
from ..bundle import SEPARATOR, Bundle
from ..model import Model
from ._text import UsageError, escape, failure, jsonable, terminal_width, wrap

__all__ = ["add_parser", "run", "write_summary", "write_recipes", "write_metadata_section"]

_LABEL = 15  # width of the label column, as inspect's header


def _g(value: float) -> str:
    return f"{value:.6g}"


def _values(values: tuple[float, ...]) -> str:
    """One number when every channel holds the same, else the list."""
    if len(set(values)) == 1:
        return _g(values[0])
    return "[" + ", ".join(_g(v) for v in values) + "]"


def _text(value: str | None) -> str:
    return "" if value is None else escape(value)


def write_summary(out: TextIO, view: ModelMetadata, width: int, indent: str = "") -> None:
    """Name, version, author, license, parser versions, files."""
    def field(label: str, value: str) -> None:
        out.write(wrap(f"{indent}{label:<{_LABEL}}", value, width, _LABEL + len(indent)))

    for label, value in (("name:", view.name), ("version:", view.version),
                         ("author:", view.author), ("license:", view.license),
                         ("description:", view.description)):
        if value:
            field(label, _text(value))
    stored = view.min_parser_version
    required = view.required_parser_version
    parser = f"{escape(stored)} (fields need {required})" if stored else \
        f"not stated (fields need {required})"
    field("parser:", parser)
    packed = view.packed_files
    referenced = view.all_associated_files()
    if referenced:
        names = []
        for f in dict.fromkeys(f for _, f in referenced):
            kind = _name(f.type)
            missing = "" if f.name in packed else ", not packed"
            names.append(f"{_text(f.name)} ({kind}{missing})")
        field("files:", ", ".join(names))
    extra = [n for n in packed if n not in {f.name for _, f in referenced}]
    if extra:
        field("also packed:", ", ".join(escape(n) for n in extra))
    for graph in view.subgraph_metadata or ():
        for custom in graph.custom_metadata or ():
            field("custom:", f"{_text(custom.name)} ({len(custom.data or b'')} bytes)")


def _name(value: object) -> str:
    """An enum member's name; an unnamed value as its number."""
    return str(getattr(value, "name", value))


def _content(content: Content | None) -> str | None:
    if content is None:
        return None
    props = content.content_properties
    if isinstance(props, ImageProperties):
        size = props.default_size
        return f"image, {_name(props.color_space)}" + (
            f", {size.width}x{size.height}" if size is not None else "")
    if isinstance(props, AudioProperties):
        return f"audio, {props.sample_rate} Hz, {props.channels} channel(s)"
    if isinstance(props, BoundingBoxProperties):
        return f"bounding box, {_name(props.type)} {_name(props.coordinate_type)}"
    if props is not None:
        return "feature"
    return _name(content.content_properties_type).replace("Properties", "").lower()


def _recipe_lines(r: Recipe) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    meta = r.metadata
    if meta is not None:
        described = _content(meta.content)
        if described:
            lines.append(("content:", described))
        if meta.content is not None and meta.content.range is not None:
            lines.append(("value range:", f"{meta.content.range.min} to {meta.content.range.max}"))
        if meta.stats is not None and (meta.stats.min or meta.stats.max):
            lo = _values(meta.stats.min) if meta.stats.min else "?"
            hi = _values(meta.stats.max) if meta.stats.max else "?"
            lines.append(("stats:", f"min {lo}, max {hi}"))
    mean, std = r.mean, r.std
    if mean and std:
        lines.append(("normalize:", f"(x - {_values(mean)}) / {_values(std)}"))
    if r.scale is not None:
        lines.append(("quantized:", f"scale {_g(r.scale)}, zero point {r.zero_point}"))
    elif r.per_axis:
        lines.append(("quantized:", "per axis"))
    if r.side == "input":
        combined = r.combined()
        if combined is not None:
            assert mean and std and r.scale is not None
            gain, offset = combined
            shift = _values(offset)
            shift = f"- {shift[1:]}" if shift.startswith("-") else f"+ {shift}"
            lines.append(("feed:", f"q = round(((x - {_values(mean)}) / {_values(std)}) / "
                                   f"{_g(r.scale)}) + {r.zero_point} = round(x * "
                                   f"{_values(gain)} {shift}) + {r.zero_point}"))
        elif r.scale is not None:
            lines.append(("feed:", f"q = round(x / {_g(r.scale)}) + {r.zero_point}"))
        elif mean and std:
            lines.append(("feed:", f"{r.dtype} (x - {_values(mean)}) / {_values(std)}"))
    elif r.scale is not None:
        lines.append(("read:", f"x = (q - {r.zero_point}) * {_g(r.scale)}"))
    for f in r.label_files:
        count = "not packed" if f.lines is None else f"{f.lines} lines"
        lines.append(("labels:", f"{escape(f.name)} ({_name(f.type)}, {count})"))
    return lines


def write_recipes(out: TextIO, model: Model, subgraph: int, width: int) -> None:
    """For each input and output of ``subgraph``: what the metadata and quantization say."""
    for r in recipes(model, subgraph):
        name = "?" if r.tensor_name is None else escape(r.tensor_name)
        head = f"{r.side} {r.position}: t{r.tensor_index} '{name}' {r.dtype} " \
               f"[{','.join(map(str, r.shape))}]"
        meta = r.metadata
        if meta is not None and meta.name is not None and meta.name != r.tensor_name:
            head += f", metadata '{escape(meta.name)}'"
        elif meta is None:
            head += ", no metadata"
        out.write(wrap("  ", head, width, 4))
        for label, text in _recipe_lines(r):
            out.write(wrap(f"    {label:<13}", text, width, 17))


def write_metadata_section(out: TextIO, model: Model, subgraph: int, width: int) -> None:
    """inspect's section: the summary, then the recipes of ``subgraph``."""
    view = model.model_metadata
    if view is None:
        return
    out.write(f"metadata (TFLITE_METADATA) for subgraph {subgraph}:\n")
    write_summary(out, view, width, indent="  ")
    write_recipes(out, model, subgraph, width)


def _extract(out: TextIO, view: ModelMetadata, folder: str) -> int:
    from .._zip import extraction_path

    status = 0
    os.makedirs(folder, exist_ok=True)
    for name in view.packed_files:
        try:
            target = extraction_path(folder, name, "associated files")
            data = view.file_view(name)
        except InvalidModelError as error:
            out.write(f"skipped {escape(name)}: {escape(str(error))}\n")
            status = 1
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(data)
        out.write(f"wrote {escape(target)} ({len(data):,} bytes)\n")
    return status


def _no_metadata(name: str) -> InvalidModelError:
    return InvalidModelError.whole(name, "the model does not have metadata (no "
                                   "TFLITE_METADATA entry)")


def _as_json(view: ModelMetadata) -> dict[str, object]:
    return {"metadata": view.to_dict(), "required_parser_version":
            view.required_parser_version, "packed_files": list(view.packed_files)}


def _dump(out: TextIO, found: object) -> None:
    import json  # only this output needs it (the other commands do not load it)

    json.dump(jsonable(found), out, allow_nan=False, ensure_ascii=False, indent=2)
    out.write("\n")


def run(args: argparse.Namespace, out: TextIO) -> int:
    name, found = open_member(args.model)
    with found:
        if isinstance(found, Bundle):
            return _bundle(out, name, found, args)
        return _model(out, name, found, args)


def _bundle(out: TextIO, name: str, bundle: Bundle, args: argparse.Namespace) -> int:
    """Every model of a bundle: ``--json`` as ``{member: metadata or null}``, else each
    member's summary; exit 2 if a member cannot be read."""
    if args.displayer_json or args.extract is not None:
        option = "--displayer-json" if args.displayer_json else "--extract"
        raise UsageError(f"{option} needs one model: name a member of the bundle as "
                         f"{escape(name)}{SEPARATOR}MEMBER")
    every: dict[str, object] = {}
    failed = False
    width = terminal_width()
    for member, model in bundle.models():
        if isinstance(model, InvalidModelError):
            failed = True
            sys.stderr.write(f"tflparse: error: {failure(member, model)}\n")
            continue
        view = model.model_metadata
        if args.json:
            every[member] = None if view is None else _as_json(view)
            continue
        out.write(f"{'=' * min(width, 80)}\n")
        if view is None:
            out.write(wrap(f"{'file:':<{_LABEL}}", escape(member), width, _LABEL))
            out.write(f"{'metadata:':<{_LABEL}}none (no TFLITE_METADATA entry)\n")
        else:
            _summary_and_recipes(out, member, model, view, width)
    if args.json:
        _dump(out, every)
    return 2 if failed else 0


def _model(out: TextIO, name: str, model: Model, args: argparse.Namespace) -> int:
    view = model.model_metadata
    if view is None:
        raise _no_metadata(name)
    if args.displayer_json:
        out.write(view.text())
        return 0
    if args.json:
        _dump(out, _as_json(view))
        return 0
    if args.extract is not None:
        return _extract(out, view, args.extract)
    _summary_and_recipes(out, name, model, view, terminal_width())
    return 0


def _summary_and_recipes(out: TextIO, name: str, model: Model, view: ModelMetadata,
                         width: int) -> None:
    out.write(wrap(f"{'file:':<{_LABEL}}", escape(name), width, _LABEL))
    write_summary(out, view, width)
    for si in range(len(model.subgraphs)):
        out.write(f"subgraph {si}:\n")
        write_recipes(out, model, si, width)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "metadata", help="TFLite Model Metadata: labels, normalization, how to feed inputs",
        description="A model's TFLite Model Metadata: a summary and, per input and output, "
                    "normalization, quantization and the combined formula, value range and "
                    "labels.")
    parser.add_argument("model", metavar="MODEL",
                        help="a .tflite file, BUNDLE!/MEMBER, or a bundle (.task: every model "
                             "in it; --json gives {member: metadata or null})")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="the metadata as strict JSON")
    group.add_argument("--displayer-json", action="store_true",
                       help="exactly tflite-support's MetadataDisplayer.get_metadata_json()")
    group.add_argument("--extract", metavar="DIR",
                       help="write the packed associated files into DIR")
