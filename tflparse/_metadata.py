"""TFLite Model Metadata read from its bytes: a typed view, the text rendering, the version.

A model carries its metadata as a FlatBuffer (file identifier ``M001``, schema
``schema/metadata_schema.fbs``) in the buffer its ``TFLITE_METADATA`` entry names, and the
files the metadata refers to (labels, vocabularies) as a zip appended to the model.

The metadata FlatBuffer is read once, through the project's bounds-checked reader, into a
small tree of the fields the buffer *stores* (presence matters: the text rendering prints a
stored field even when it holds its default). Three things are made from that tree:

- the typed, read-only view (:class:`ModelMetadata` and its tables; enum fields are
  ``IntEnum`` members, or plain ints for values the schema does not name);
- the text that tflite-support's ``MetadataDisplayer.get_metadata_json()`` returns, which is
  the FlatBuffers text generator's strict-JSON output (see :func:`render_text`);
- the minimum metadata parser version the stored fields require (:func:`required_version`).

Damaged metadata is an :class:`InvalidModelError` naming the field
(``TFLITE_METADATA: subgraph_metadata[0].input_tensor_metadata[1].name: ...``). Tables that
many offsets share are read once per reference, with a budget tied to the buffer's size so
that a small hostile buffer cannot expand without bound.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Callable, Union

from . import _metadata_schema as M
from ._errors import InvalidModelError
from ._flatbuf import Bytes, FlatBuffer, Table

__all__ = [
    "METADATA_NAME", "ModelMetadata", "SubGraphMetadata", "TensorMetadata", "AssociatedFile",
    "Content", "FeatureProperties", "ImageProperties", "ImageSize", "BoundingBoxProperties",
    "AudioProperties", "ValueRange", "ProcessUnit", "NormalizationOptions",
    "ScoreCalibrationOptions", "ScoreThresholdingOptions", "BertTokenizerOptions",
    "SentencePieceTokenizerOptions", "RegexTokenizerOptions", "Stats", "TensorGroup",
    "CustomMetadata", "read_tree", "render_text", "required_version", "model_metadata",
]

METADATA_NAME = "TFLITE_METADATA"
WHERE = METADATA_NAME
# Inflated associated files are read into at most this many bytes.
FILE_LIMIT = 1 << 30

_ENUMS: dict[str, Any] = {
    name: getattr(M, name) for name in ("AssociatedFileType", "ColorSpaceType",
                                        "BoundingBoxType", "CoordinateType",
                                        "ScoreTransformationType")
}
_SCALAR_TYPES = frozenset(("byte", "ubyte", "short", "ushort", "int", "uint", "long", "ulong",
                           "float", "double", "bool"))


# --------------------------------------------------------------------------------------------
# The tree of stored fields


class Node:
    """One table as stored: its name and its present fields in declaration order.

    ``fields`` holds ``(name, IDL type, value)``; a union's type tag comes first as
    ``(<name>_type, "<Union>_type", int)``. Values: ints and floats for scalars and enums,
    ``bytes`` for strings, lists for vectors, :class:`Node` for tables, and for a union
    value a :class:`Node` (None when its type tag names no member table).
    """

    __slots__ = ("table", "fields")

    def __init__(self, table: str) -> None:
        self.table = table
        self.fields: list[tuple[str, str, Any]] = []

    def get(self, name: str, default: Any = None) -> Any:
        for key, _, value in self.fields:
            if key == name:
                return value
        return default


class _Reader:
    """Reads the tree, counting what it builds against a budget."""

    def __init__(self, fb: FlatBuffer) -> None:
        self.fb = fb
        # Each stored item takes at least a byte: more than this means shared offsets.
        self.budget = 4 * fb.size + 4096

    def spend(self, count: int, where: str) -> None:
        self.budget -= count
        if self.budget < 0:
            raise InvalidModelError(f"{WHERE}: {where}: the metadata refers to the same tables "
                                    "so often that reading it would not end")

    def table(self, name: str, table: Table) -> Node:
        self.spend(1, table.where or "root")
        node = Node(name)
        layout = getattr(M, name)
        for fname, ftype in M.DECLARED[name]:
            desc = getattr(layout, fname.upper())
            if ftype in M.UNION_MEMBERS:
                tag_desc = getattr(layout, fname.upper() + "_TYPE")
                tag = None
                if table.has(tag_desc):
                    tag = table.integer(tag_desc)
                    node.fields.append((fname + "_type", ftype + "_type", tag))
                if table.has(desc):
                    members = M.UNION_MEMBERS[ftype]
                    target = table.table(desc)
                    value = None
                    if tag is not None and 1 <= tag <= len(members) and target is not None:
                        value = self.table(members[tag - 1], target)
                    node.fields.append((fname, ftype, value))
                continue
            if not table.has(desc):
                continue
            node.fields.append((fname, ftype, self.value(table, desc, ftype)))
        return node

    def value(self, table: Table, desc: Any, ftype: str) -> Any:
        if ftype in _SCALAR_TYPES or ftype in _ENUMS:
            return table.scalar(desc)
        if ftype == "string":
            return table.string(desc)
        if ftype == "[string]":
            found = table.tables(desc)
            assert found is not None
            self.spend(len(found), found.where)
            return found.strings()
        if ftype.startswith("["):
            elem = ftype[1:-1]
            if elem in M.DECLARED:
                vector = table.tables(desc)
                assert vector is not None
                self.spend(len(vector), vector.where)
                return [self.table(elem, vector[i]) for i in range(len(vector))]
            array = table.array(desc)
            assert array is not None
            self.spend(len(array) // 8, table.path(desc.name))
            return array.tolist()
        sub = table.table(desc)
        assert sub is not None
        return self.table(ftype, sub)


def read_tree(buffer: Bytes) -> Node:
    """The stored fields of a metadata buffer (checked; :class:`InvalidModelError` if damaged)."""
    fb = FlatBuffer(buffer)
    if fb.size < 8 or bytes(fb.data[4:8]) != M.FILE_IDENTIFIER:
        raise InvalidModelError(f"{WHERE}: the buffer does not start like Model Metadata "
                                f"(file identifier {M.FILE_IDENTIFIER!r})")
    try:
        return _Reader(fb).table("ModelMetadata", fb.root())
    except InvalidModelError as error:
        raise InvalidModelError(f"{WHERE}: {error}") from None


# --------------------------------------------------------------------------------------------
# The text rendering (tflite-support's get_metadata_json)


class _NotText(Exception):
    """The text generator gives up (a string that is not UTF-8, an unreadable union)."""


_PLAIN = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')
_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f", '"': '\\"',
          "\\": "\\\\"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}"
    return f"\\u{code:04X}"


def quote(raw: bytes) -> str:
    """A string as the generator writes it: short escapes, other characters outside printable
    ASCII as ``\\uXXXX`` (uppercase, surrogate pairs above U+FFFF)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _NotText from None
    return '"' + _PLAIN.sub(_escape_char, text) + '"'


def float_text(value: float) -> str:
    """A float as the generator writes it: fixed, 6 decimals, trailing zeros dropped but one
    (``127.5``, ``0.0``); infinities and NaN bare (``inf``, ``-nan``)."""
    if math.isnan(value):
        return "-nan" if math.copysign(1.0, value) < 0 else "nan"
    text = f"{value:.6f}"
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    return text


def _scalar_text(value: Any, ftype: str) -> str:
    if ftype in _ENUMS or ftype.endswith("_type"):
        names = _ENUMS[ftype] if ftype in _ENUMS else getattr(M, ftype[:-len("_type")])
        try:
            return f'"{names(value).name}"'
        except ValueError:
            return str(value)
    if ftype in ("float", "double"):
        return float_text(value)
    if ftype == "bool":
        return "true" if value else "false"
    return str(value)


def _render_value(value: Any, ftype: str, indent: int, out: list[str]) -> None:
    if isinstance(value, Node):
        _render_table(value, indent, out)
    elif ftype in M.UNION_MEMBERS:  # a union value with no member table
        raise _NotText
    elif ftype == "string":
        out.append(quote(value))
    elif ftype.startswith("["):
        elem = ftype[1:-1]
        inner = " " * (indent + 2)
        out.append("[\n")
        for i, item in enumerate(value):
            if i:
                out.append(",\n")
            out.append(inner)
            _render_value(item, elem, indent + 2, out)
        out.append("\n" + " " * indent + "]")
    else:
        out.append(_scalar_text(value, ftype))


def _render_table(node: Node, indent: int, out: list[str]) -> None:
    inner = " " * (indent + 2)
    out.append("{")
    for i, (name, ftype, value) in enumerate(node.fields):
        out.append(",\n" if i else "\n")
        out.append(f'{inner}"{name}": ')
        _render_value(value, ftype, indent + 2, out)
    out.append("\n" + " " * indent + "}")


def render_text(tree: Node) -> str:
    """The metadata as tflite-support's ``get_metadata_json()`` prints it, or ``""`` where
    that gives up (a string that is not UTF-8, a union value its tag does not name)."""
    out: list[str] = []
    try:
        _render_table(tree, 0, out)
    except _NotText:
        return ""
    out.append("\n")
    return "".join(out)


# --------------------------------------------------------------------------------------------
# The minimum parser version


# (table, field) stored at all -> version; a union member or enum value -> version
_FIELD_VERSIONS = {
    ("AssociatedFile", "version"): (1, 4, 1),
    ("SubGraphMetadata", "input_process_units"): (1, 1, 0),
    ("SubGraphMetadata", "output_process_units"): (1, 1, 0),
    ("SubGraphMetadata", "input_tensor_groups"): (1, 2, 0),
    ("SubGraphMetadata", "output_tensor_groups"): (1, 2, 0),
    ("SubGraphMetadata", "custom_metadata"): (1, 5, 0),
}
_FILE_TYPE_VERSIONS = {M.AssociatedFileType.VOCABULARY: (1, 0, 1),
                       M.AssociatedFileType.SCANN_INDEX_FILE: (1, 4, 0)}
_OPTION_VERSIONS = {M.ProcessUnitOptions.BertTokenizerOptions: (1, 1, 0),
                    M.ProcessUnitOptions.SentencePieceTokenizerOptions: (1, 1, 0),
                    M.ProcessUnitOptions.RegexTokenizerOptions: (1, 2, 1)}
_CONTENT_VERSIONS = {M.ContentProperties.AudioProperties: (1, 3, 0)}


def _files_version(files: list[Node] | None) -> tuple[int, int, int]:
    found = (1, 0, 0)
    for f in files or ():
        found = max(found, _FILE_TYPE_VERSIONS.get(f.get("type", 0), (1, 0, 0)))
        if f.get("version") is not None:
            found = max(found, _FIELD_VERSIONS["AssociatedFile", "version"])
    return found


def _units_version(units: list[Node] | None) -> tuple[int, int, int]:
    found = (1, 0, 0)
    for unit in units or ():
        found = max(found, _OPTION_VERSIONS.get(unit.get("options_type", 0), (1, 0, 0)))
    return found


def _tensor_version(tensor: Node) -> tuple[int, int, int]:
    found = max(_files_version(tensor.get("associated_files")),
                _units_version(tensor.get("process_units")))
    content = tensor.get("content")
    if content is not None:
        tag = content.get("content_properties_type", 0)
        found = max(found, _CONTENT_VERSIONS.get(tag, (1, 0, 0)))
    return found


def required_version(tree: Node) -> str:
    """The lowest metadata parser version that understands every stored field (``"1.2.1"``).

    Starts at 1.0.0 and takes the newest version among the fields, file types, process unit
    options and content kinds present, as tflite-support's metadata writer computes it
    (associated files' own tokenizer vocabularies are not looked into).
    """
    found = max((1, 0, 0), _files_version(tree.get("associated_files")))
    for graph in tree.get("subgraph_metadata") or ():
        found = max(found, _files_version(graph.get("associated_files")))
        for key in ("input_tensor_metadata", "output_tensor_metadata"):
            for tensor in graph.get(key) or ():
                found = max(found, _tensor_version(tensor))
        for name, _, value in graph.fields:
            version = _FIELD_VERSIONS.get(("SubGraphMetadata", name))
            if version is not None:
                found = max(found, version)
                if name.endswith("process_units"):
                    found = max(found, _units_version(value))
    return ".".join(map(str, found))


# --------------------------------------------------------------------------------------------
# The typed view

EnumValue = Union[int, Any]


def _enum(kind: Any, value: int) -> Any:
    try:
        return kind(value)
    except ValueError:
        return value


@dataclass(frozen=True)
class AssociatedFile:
    """A file the metadata refers to (packed in the zip appended to the model)."""

    name: str | None = None
    description: str | None = None
    type: M.AssociatedFileType | int = M.AssociatedFileType.UNKNOWN
    locale: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class FeatureProperties:
    """The tensor holds features (no further properties)."""


@dataclass(frozen=True)
class ImageSize:
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class ImageProperties:
    color_space: M.ColorSpaceType | int = M.ColorSpaceType.UNKNOWN
    default_size: ImageSize | None = None


@dataclass(frozen=True)
class AudioProperties:
    sample_rate: int = 0
    channels: int = 0


@dataclass(frozen=True)
class BoundingBoxProperties:
    index: tuple[int, ...] | None = None
    type: M.BoundingBoxType | int = M.BoundingBoxType.UNKNOWN
    coordinate_type: M.CoordinateType | int = M.CoordinateType.RATIO


@dataclass(frozen=True)
class ValueRange:
    min: int = 0
    max: int = 0


ContentPropertiesValue = Union[FeatureProperties, ImageProperties, BoundingBoxProperties,
                               AudioProperties]


@dataclass(frozen=True)
class Content:
    content_properties_type: M.ContentProperties | int = M.ContentProperties.NONE
    content_properties: ContentPropertiesValue | None = None
    range: ValueRange | None = None


@dataclass(frozen=True)
class NormalizationOptions:
    """Input normalization: ``(x - mean) / std`` per channel."""

    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None


@dataclass(frozen=True)
class ScoreCalibrationOptions:
    score_transformation: M.ScoreTransformationType | int = M.ScoreTransformationType.IDENTITY
    default_score: float = 0.0


@dataclass(frozen=True)
class ScoreThresholdingOptions:
    global_score_threshold: float = 0.0


@dataclass(frozen=True)
class BertTokenizerOptions:
    vocab_file: tuple[AssociatedFile, ...] | None = None


@dataclass(frozen=True)
class SentencePieceTokenizerOptions:
    sentencePiece_model: tuple[AssociatedFile, ...] | None = None  # noqa: N815 (schema name)
    vocab_file: tuple[AssociatedFile, ...] | None = None


@dataclass(frozen=True)
class RegexTokenizerOptions:
    delim_regex_pattern: str | None = None
    vocab_file: tuple[AssociatedFile, ...] | None = None


ProcessUnitOptionsValue = Union[NormalizationOptions, ScoreCalibrationOptions,
                                ScoreThresholdingOptions, BertTokenizerOptions,
                                SentencePieceTokenizerOptions, RegexTokenizerOptions]


@dataclass(frozen=True)
class ProcessUnit:
    options_type: M.ProcessUnitOptions | int = M.ProcessUnitOptions.NONE
    options: ProcessUnitOptionsValue | None = None


@dataclass(frozen=True)
class Stats:
    max: tuple[float, ...] | None = None
    min: tuple[float, ...] | None = None


@dataclass(frozen=True)
class TensorGroup:
    name: str | None = None
    tensor_names: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TensorMetadata:
    """What one input or output tensor holds and how to prepare or read it."""

    name: str | None = None
    description: str | None = None
    dimension_names: tuple[str, ...] | None = None
    content: Content | None = None
    process_units: tuple[ProcessUnit, ...] | None = None
    stats: Stats | None = None
    associated_files: tuple[AssociatedFile, ...] | None = None

    @property
    def normalization(self) -> NormalizationOptions | None:
        """The first normalization process unit, or None."""
        for unit in self.process_units or ():
            if isinstance(unit.options, NormalizationOptions):
                return unit.options
        return None


@dataclass(frozen=True)
class CustomMetadata:
    name: str | None = None
    data: bytes | None = None


@dataclass(frozen=True)
class SubGraphMetadata:
    name: str | None = None
    description: str | None = None
    input_tensor_metadata: tuple[TensorMetadata, ...] | None = None
    output_tensor_metadata: tuple[TensorMetadata, ...] | None = None
    associated_files: tuple[AssociatedFile, ...] | None = None
    input_process_units: tuple[ProcessUnit, ...] | None = None
    output_process_units: tuple[ProcessUnit, ...] | None = None
    input_tensor_groups: tuple[TensorGroup, ...] | None = None
    output_tensor_groups: tuple[TensorGroup, ...] | None = None
    custom_metadata: tuple[CustomMetadata, ...] | None = None


class _Files:
    """The zip appended to the model, found on first use (only then is the file read: a
    remote model's bytes are fetched, a mapped one's paged in)."""

    __slots__ = ("data", "where", "_archive", "_found")

    def __init__(self, data: Callable[[], memoryview], where: str) -> None:
        self.data = data
        self.where = where
        self._archive: Any = None
        self._found = False

    def archive(self) -> Any:
        if not self._found:
            from ._zip import find_archive

            self._archive = find_archive(self.data(), f"{self.where}: associated files")
            self._found = True
        return self._archive


@dataclass(frozen=True)
class ModelMetadata:
    """TFLite Model Metadata (the root table), read-only.

    Besides the schema's fields: :attr:`required_parser_version` (what the stored fields
    need), :attr:`packed_files` and :meth:`read_file` (the zip appended to the model, read
    lazily), :meth:`text` (tflite-support's JSON) and :meth:`to_dict` (plain values).
    """

    name: str | None = None
    description: str | None = None
    version: str | None = None
    subgraph_metadata: tuple[SubGraphMetadata, ...] | None = None
    author: str | None = None
    license: str | None = None
    associated_files: tuple[AssociatedFile, ...] | None = None
    min_parser_version: str | None = None
    _tree: Node | None = field(default=None, repr=False, compare=False)
    _files: _Files | None = field(default=None, repr=False, compare=False)

    @property
    def required_parser_version(self) -> str:
        """The lowest parser version that understands every stored field."""
        return "1.0.0" if self._tree is None else required_version(self._tree)

    def text(self) -> str:
        """The metadata as tflite-support's ``get_metadata_json()`` renders it."""
        return "" if self._tree is None else render_text(self._tree)

    @property
    def packed_files(self) -> tuple[str, ...]:
        """Names of the files in the zip appended to the model, in archive order."""
        archive = None if self._files is None else self._files.archive()
        return () if archive is None else tuple(archive.names)

    def file_view(self, name: str, limit: int = FILE_LIMIT) -> memoryview:
        """Packed file ``name``, read-only: zero-copy when stored, inflated (into at most
        ``limit`` bytes) when deflated. :class:`InvalidModelError` when it is not packed."""
        archive = None if self._files is None else self._files.archive()
        if archive is None or name not in archive:
            raise InvalidModelError(f"associated file {name!r} is not packed in the model")
        view: memoryview = archive.read(name, limit=limit)
        return view

    def read_file(self, name: str, limit: int = FILE_LIMIT) -> bytes:
        """The bytes of packed file ``name`` (:class:`InvalidModelError` when absent)."""
        return bytes(self.file_view(name, limit))

    def subgraph(self, index: int = 0) -> SubGraphMetadata | None:
        graphs = self.subgraph_metadata or ()
        return graphs[index] if 0 <= index < len(graphs) else None

    def to_dict(self) -> dict[str, Any]:
        """The stored fields as plain values (enums by name, unknown values as numbers)."""
        result: dict[str, Any] = _plain(self)
        return result

    def all_associated_files(self) -> list[tuple[str, AssociatedFile]]:
        """Every associated file with where it is referenced: ``"model"``, ``"subgraph 0"``,
        ``"subgraph 0 input 1"``, and tokenizer files of process units (``"subgraph 0 input
        1 process unit 0"``, ``"subgraph 0 input process unit 0"``)."""
        found = [("model", f) for f in self.associated_files or ()]
        for si, graph in enumerate(self.subgraph_metadata or ()):
            found += [(f"subgraph {si}", f) for f in graph.associated_files or ()]
            for side, tensors, units in (
                    ("input", graph.input_tensor_metadata, graph.input_process_units),
                    ("output", graph.output_tensor_metadata, graph.output_process_units)):
                for ti, tensor in enumerate(tensors or ()):
                    label = f"subgraph {si} {side} {ti}"
                    found += [(label, f) for f in tensor.associated_files or ()]
                    found += _unit_files(f"{label} process unit", tensor.process_units)
                found += _unit_files(f"subgraph {si} {side} process unit", units)
        return found


def _unit_files(label: str, units: tuple[ProcessUnit, ...] | None
                ) -> list[tuple[str, AssociatedFile]]:
    """Tokenizer files (vocabularies, SentencePiece models) named by process units."""
    found = []
    for ui, unit in enumerate(units or ()):
        for name in ("sentencePiece_model", "vocab_file"):
            found += [(f"{label} {ui}", f) for f in getattr(unit.options, name, None) or ()]
    return found


_CLASSES: dict[str, Any] = {
    cls.__name__: cls for cls in (
        AssociatedFile, FeatureProperties, ImageSize, ImageProperties, AudioProperties,
        BoundingBoxProperties, ValueRange, Content, NormalizationOptions,
        ScoreCalibrationOptions, ScoreThresholdingOptions, BertTokenizerOptions,
        SentencePieceTokenizerOptions, RegexTokenizerOptions, ProcessUnit, Stats, TensorGroup,
        TensorMetadata, CustomMetadata, SubGraphMetadata, ModelMetadata)
}


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def _typed(value: Any, ftype: str) -> Any:
    if isinstance(value, Node):
        return _build(value)
    if value is None:
        return None
    if ftype == "string":
        return _text(value)
    if ftype == "[ubyte]":
        return bytes(value)
    if ftype.startswith("["):
        return tuple(_typed(item, ftype[1:-1]) for item in value)
    if ftype in _ENUMS:
        return _enum(_ENUMS[ftype], value)
    if ftype.endswith("_type"):
        return _enum(getattr(M, ftype[:-len("_type")]), value)
    return value


def _build(node: Node, **extra: Any) -> Any:
    values = {name: _typed(value, ftype) for name, ftype, value in node.fields}
    return _CLASSES[node.table](**values, **extra)


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        out = {}
        for f in dataclasses.fields(obj):
            if f.name.startswith("_"):
                continue
            value = getattr(obj, f.name)
            if value is not None:
                out[f.name] = _plain(value)
        return out
    if isinstance(obj, tuple):
        return [_plain(item) for item in obj]
    if isinstance(obj, bytes):
        return list(obj)
    if isinstance(obj, IntEnum):
        return obj.name
    return obj


def model_metadata(buffer: memoryview | None, model_bytes: Callable[[], memoryview],
                   where: str = "model") -> ModelMetadata | None:
    """The typed view of a model's metadata buffer (None when the model has none);
    ``model_bytes()`` gives the whole file, where associated files are looked for."""
    if buffer is None:
        return None
    tree = read_tree(buffer)
    view: ModelMetadata = _build(tree, _tree=tree, _files=_Files(model_bytes, where))
    return view
