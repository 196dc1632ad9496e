"""Model Metadata written with tflite-support's own generated builders, for differential tests.

A metadata buffer is described as a :class:`Spec` (a table name and its stored fields in any
order, a union's type tag as ``<field>_type``) and written by :func:`write_metadata` through
the official ``metadata_schema_py_generated`` builder functions (``<Table>Start``,
``<Table>Add<Field>``, ``<Table>Start<Field>Vector``), so the layout comes from the official
bindings, not from ours. ``specs()`` is a hypothesis strategy of random metadata trees: every
table, union member and enum, unknown enum values, NaN and infinities, empty vectors,
control and non-BMP characters, now and then a string that is not UTF-8, and buffers
written with force-defaults. :func:`model_with_metadata` wraps a buffer in a small TFLite
model with a zip of associated files appended (stored or deflated).

Cases that make tflite-support crash are never generated: a union value whose type tag is
absent (the text generator dereferences a null pointer).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
from hypothesis import strategies as st

from tflparse import _metadata_schema as M

g: Any = None  # tflite-support's metadata_schema_py_generated, set by load_bindings()
schema: Any = None  # tflite-support's TFLite schema bindings


def load_bindings() -> None:
    """Import tflite-support's bindings (callers importorskip tflite_support first)."""
    global g, schema
    from tensorflow_lite_support.metadata import metadata_schema_py_generated, schema_py_generated

    g, schema = metadata_schema_py_generated, schema_py_generated


@dataclass
class Spec:
    table: str
    fields: list[tuple[str, Any]] = field(default_factory=list)


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


_PREPEND = {"float": "PrependFloat32", "uint": "PrependUint32", "ubyte": "PrependUint8",
            "int": "PrependInt32"}


def _types(table: str) -> dict[str, str]:
    found = {}
    for name, ftype in M.DECLARED[table]:
        if ftype in M.UNION_MEMBERS:
            found[name + "_type"] = "utype"
        found[name] = ftype
    return found


def _prepare(b: flatbuffers.Builder, table: str, name: str, ftype: str, value: Any) -> Any:
    if isinstance(value, Spec):
        return _write(b, value)
    if ftype == "string":
        return b.CreateString(value)
    if ftype.startswith("["):
        elem = ftype[1:-1]
        items = [_prepare(b, table, name, elem, item) for item in value]
        getattr(g, f"{table}Start{camel(name)}Vector")(b, len(items))
        prepend = getattr(b, _PREPEND.get(elem, "PrependUOffsetTRelative"))
        for item in reversed(items):
            prepend(item)
        return b.EndVector()
    return value  # a scalar: written by the Add function


def _write(b: flatbuffers.Builder, spec: Spec) -> int:
    types = _types(spec.table)
    prepared = [(name, _prepare(b, spec.table, name, types[name], value))
                for name, value in spec.fields]
    getattr(g, f"{spec.table}Start")(b)
    for name, value in prepared:
        getattr(g, f"{spec.table}Add{camel(name)}")(b, value)
    end: int = getattr(g, f"{spec.table}End")(b)
    return end


def write_metadata(spec: Spec, force_defaults: bool = False) -> bytes:
    """The metadata buffer (identifier ``M001``) for ``spec``."""
    b = flatbuffers.Builder(256)
    b.ForceDefaults(force_defaults)
    b.Finish(_write(b, spec), b"M001")
    return bytes(b.Output())


def model_with_metadata(metadata: bytes | None, files: dict[str, bytes] | None = None,
                        deflate: bool = False, subgraphs: int = 1,
                        other_entries: tuple[str, ...] = (),
                        tensor: tuple[int, list[int], float | None, int] = (0, [1, 4], None, 0)
                        ) -> bytes:
    """A small valid TFLite model carrying ``metadata`` as TFLITE_METADATA, with ``files``
    zipped and appended (as tflite-support's populator does). Each subgraph has one tensor,
    input and output at once: ``tensor`` is its (type, shape, scale or None, zero point)."""
    model = schema.ModelT()
    model.version = 3
    model.buffers = [schema.BufferT()]
    graphs = []
    ttype, shape, scale, zero_point = tensor
    for i in range(subgraphs):
        t = schema.TensorT()
        t.name, t.shape, t.type, t.buffer = f"t{i}", shape, ttype, 0
        if scale is not None:
            t.quantization = schema.QuantizationParametersT()
            t.quantization.scale, t.quantization.zeroPoint = [scale], [zero_point]
        sg = schema.SubGraphT()
        sg.tensors, sg.inputs, sg.outputs = [t], [0], [0]
        graphs.append(sg)
    model.subgraphs = graphs
    entries = []
    for name in other_entries:
        buf = schema.BufferT()
        buf.data = np.frombuffer(b"other", np.uint8)
        model.buffers.append(buf)
        entry = schema.MetadataT()
        entry.name, entry.buffer = name, len(model.buffers) - 1
        entries.append(entry)
    if metadata is not None:
        buf = schema.BufferT()
        buf.data = np.frombuffer(metadata, np.uint8)
        model.buffers.append(buf)
        entry = schema.MetadataT()
        entry.name, entry.buffer = "TFLITE_METADATA", len(model.buffers) - 1
        entries.append(entry)
    model.metadata = entries or None
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    data = bytes(b.Output())
    if files:
        raw = io.BytesIO()
        method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
        with zipfile.ZipFile(raw, "w", method) as archive:
            for name, content in files.items():
                info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))  # reproducible bytes
                info.compress_type = method
                archive.writestr(info, content)
        data += raw.getvalue()
    return data


# -- random trees ----------------------------------------------------------------------------

_TEXT = st.text(st.sampled_from(list("ab /\"\\\n\t\r\b\f\x00\x01\x7f\xe9\u2028\U0001F600")),
                max_size=6)
_FLOAT32 = st.floats(width=32, allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, 127.5, 1 / 127.5, 1e-10, 3.4e38, 123456.789, 0.5e-6, 255.0])
_INTS = {"uint": st.integers(0, 2**32 - 1), "int": st.integers(-2**31, 2**31 - 1),
         "ubyte": st.integers(0, 255)}


def _strings(bad_utf8: bool) -> st.SearchStrategy[bytes]:
    text = _TEXT.map(lambda s: s.encode())
    if bad_utf8:
        return text | st.sampled_from([b"\xff", b"a\xc0\x80", b"\xed\xa0\x80"])
    return text


def _enum_values(name: str) -> st.SearchStrategy[int]:
    values = [m.value for m in getattr(M, name)]
    return st.sampled_from(values) | st.integers(-128, 127)


@st.composite
def tables(draw: Any, table: str, force: bool, bad_utf8: bool) -> Spec:
    """A random ``table`` (only valid union layouts: a value always has its tag)."""
    spec = Spec(table)
    for name, ftype in M.DECLARED[table]:
        if ftype in M.UNION_MEMBERS:
            members = M.UNION_MEMBERS[ftype]
            if not draw(st.booleans()):
                continue
            tag = draw(st.integers(0, len(members)) | st.just(len(members) + 3))
            spec.fields.append((name + "_type", tag))
            if 1 <= tag <= len(members) and draw(st.integers(0, 4)):
                spec.fields.append((name, draw(tables(members[tag - 1], force, bad_utf8))))
            elif ((tag == 0 and force) or tag > len(members)) and draw(st.integers(0, 5)) == 0:
                spec.fields.append((name, draw(tables(members[0], force, bad_utf8))))
            continue
        if draw(st.integers(0, 2)) == 0:
            continue
        spec.fields.append((name, draw(_values(ftype, force, bad_utf8))))
    return spec


def _values(ftype: str, force: bool, bad_utf8: bool) -> st.SearchStrategy[Any]:
    if ftype == "string":
        return _strings(bad_utf8)
    if ftype == "float":
        return _FLOAT32
    if ftype in _INTS:
        return _INTS[ftype]
    if ftype in M.DECLARED:
        return tables(ftype, force, bad_utf8)
    if ftype.startswith("["):
        return st.lists(_values(ftype[1:-1], force, bad_utf8), max_size=3)
    return _enum_values(ftype)


@st.composite
def specs(draw: Any) -> tuple[Spec, bool]:
    """(a random ModelMetadata tree, whether to write it with force-defaults)."""
    force = draw(st.booleans())
    bad_utf8 = draw(st.integers(0, 9)) == 0
    return draw(tables("ModelMetadata", force, bad_utf8)), force


# -- named cases -----------------------------------------------------------------------------


def _file(name: str, ftype: int = 0, **more: Any) -> Spec:
    return Spec("AssociatedFile", [("name", name.encode()), ("type", ftype),
                                   *((k, v) for k, v in more.items())])


def _unit(tag: int, options: Spec | None) -> Spec:
    fields: list[tuple[str, Any]] = [("options_type", tag)]
    if options is not None:
        fields.append(("options", options))
    return Spec("ProcessUnit", fields)


def _tensor(name: str, *fields: tuple[str, Any]) -> Spec:
    return Spec("TensorMetadata", [("name", name.encode()), *fields])


def _content(tag: int, value: Spec | None, **more: Any) -> Spec:
    fields: list[tuple[str, Any]] = [("content_properties_type", tag)]
    if value is not None:
        fields.append(("content_properties", value))
    return Spec("Content", fields + list(more.items()))


def _root(*fields: tuple[str, Any], graphs: list[Spec] | None = None) -> Spec:
    found = list(fields)
    if graphs is not None:
        found.append(("subgraph_metadata", graphs))
    return Spec("ModelMetadata", found)


def _graph(*fields: tuple[str, Any]) -> Spec:
    return Spec("SubGraphMetadata", list(fields))


def _everything() -> Spec:
    vocab = [_file("vocab.txt", 5, description=b"word pieces", locale=b"en", version=b"2")]
    units = [
        _unit(1, Spec("NormalizationOptions", [("mean", [127.5, 0.0, -1.0]),
                                               ("std", [127.5, 1.0, 2.0])])),
        _unit(2, Spec("ScoreCalibrationOptions", [("score_transformation", 2),
                                                  ("default_score", 0.25)])),
        _unit(3, Spec("ScoreThresholdingOptions", [("global_score_threshold", 0.5)])),
        _unit(4, Spec("BertTokenizerOptions", [("vocab_file", vocab)])),
        _unit(5, Spec("SentencePieceTokenizerOptions", [
            ("sentencePiece_model", [_file("sp.model", 0)]), ("vocab_file", vocab)])),
        _unit(6, Spec("RegexTokenizerOptions", [("delim_regex_pattern", b"[ \\t]+"),
                                                ("vocab_file", vocab)])),
    ]
    image = _content(2, Spec("ImageProperties", [
        ("color_space", 1), ("default_size", Spec("ImageSize", [("width", 224),
                                                                 ("height", 160)]))]),
        range=Spec("ValueRange", [("min", -3), ("max", 7)]))
    inputs = [
        _tensor("image", ("description", b"an image"), ("dimension_names", [b"h", b"w"]),
                ("content", image), ("process_units", units[:1]),
                ("stats", Spec("Stats", [("max", [255.0]), ("min", [0.0])]))),
        _tensor("audio", ("content", _content(4, Spec("AudioProperties", [
            ("sample_rate", 16000), ("channels", 1)])))),
        _tensor("text", ("process_units", units[3:])),
    ]
    outputs = [
        _tensor("boxes", ("content", _content(3, Spec("BoundingBoxProperties", [
            ("index", [1, 0, 3, 2]), ("type", 1), ("coordinate_type", 1)])))),
        _tensor("scores", ("content", _content(1, Spec("FeatureProperties"))),
                ("process_units", units[1:3]),
                ("associated_files", [_file("labels.txt", 2, locale=b"en"),
                                      _file("labels_fr.txt", 3, locale=b"fr"),
                                      _file("calibration.csv", 4)])),
        _tensor("gray", ("content", _content(2, Spec("ImageProperties", [
            ("color_space", 2)])))),
        _tensor("upper", ("content", _content(3, Spec("BoundingBoxProperties", [
            ("type", 2), ("coordinate_type", 0)])))),
        _tensor("center", ("content", _content(3, Spec("BoundingBoxProperties", [
            ("type", 3)])))),
    ]
    first = _graph(
        ("name", b"main"), ("description", b"the graph"),
        ("input_tensor_metadata", inputs), ("output_tensor_metadata", outputs),
        ("associated_files", [_file("index.scann", 6), _file("readme.txt", 1)]),
        ("input_process_units", units[3:4]), ("output_process_units", units[2:3]),
        ("input_tensor_groups", [Spec("TensorGroup", [("name", b"g"),
                                                      ("tensor_names", [b"image", b"audio"])])]),
        ("output_tensor_groups", [Spec("TensorGroup", [("name", b"o")])]),
        ("custom_metadata", [Spec("CustomMetadata", [("name", b"EXTRA"),
                                                      ("data", [0, 1, 2, 255])])]),
    )
    second = _graph(("name", b"second"),
                    ("input_tensor_metadata", [_tensor("x")]),
                    ("output_tensor_metadata", [_tensor("y")]))
    return _root(("name", b"everything"), ("description", b"every table"),
                 ("version", b"v7"), ("author", b"tflparse"), ("license", b"Apache-2.0"),
                 ("associated_files", [_file("labels.txt", 2)]),
                 ("min_parser_version", b"1.5.0"), graphs=[first, second])


def _force_defaults() -> Spec:
    return _root(("name", b""), graphs=[_graph(("input_tensor_metadata", [
        _tensor("x", ("content", _content(2, Spec("ImageProperties", [
            ("color_space", 0), ("default_size", Spec("ImageSize", [("width", 0),
                                                                     ("height", 0)]))]),
            range=Spec("ValueRange", [("min", 0), ("max", 0)]))),
            ("process_units", [_unit(2, Spec("ScoreCalibrationOptions", [
                ("score_transformation", 0), ("default_score", 0.0)])), _unit(0, None)]),
            ("associated_files", [_file("f", 0)]))]))])


def _floats() -> Spec:
    nan = float("nan")
    neg_nan = float(np.frombuffer(np.uint32(0xFFC00000).tobytes(), np.float32)[0])
    values = [nan, neg_nan, float("inf"), float("-inf"), 1e-10, -0.0, 3.4e38, 1 / 127.5,
              123456.789, 0.5e-6, 1.5e-6, -2.5, 1e-45]
    return _root(graphs=[_graph(("input_tensor_metadata", [_tensor("x", (
        "stats", Spec("Stats", [("max", values), ("min", [])])), (
        "process_units", [_unit(3, Spec("ScoreThresholdingOptions", [
            ("global_score_threshold", nan)]))]))]))])


def _empty_vectors() -> Spec:
    return _root(("name", b"empty"), ("associated_files", []), graphs=[_graph(
        ("input_tensor_metadata", [Spec("TensorMetadata", [
            ("dimension_names", []), ("process_units", []), ("associated_files", []),
            ("stats", Spec("Stats", [("max", []), ("min", [])])),
            ("content", Spec("Content"))])]),
        ("output_tensor_metadata", []), ("associated_files", []),
        ("input_process_units", []), ("output_process_units", []),
        ("input_tensor_groups", [Spec("TensorGroup", [("tensor_names", [])])]),
        ("output_tensor_groups", []), ("custom_metadata", [
            Spec("CustomMetadata", [("name", b"nothing"), ("data", [])])]),
    )])


def _unknown_enums() -> Spec:
    return _root(("associated_files", [_file("a", 42), _file("b", -3)]), graphs=[_graph(
        ("input_tensor_metadata", [
            _tensor("x", ("content", _content(9, None)),
                    ("process_units", [_unit(77, None)])),
            _tensor("y", ("content", _content(2, Spec("ImageProperties", [
                ("color_space", 5)])))),
            _tensor("z", ("content", _content(3, Spec("BoundingBoxProperties", [
                ("type", 9), ("coordinate_type", 4)]))),
                ("process_units", [_unit(2, Spec("ScoreCalibrationOptions", [
                    ("score_transformation", 100)]))])),
        ]))])


def _escapes() -> Spec:
    return _root(("name", "tab\t nl\n cr\r bs\b ff\f q\" back\\ slash/ nul\x00 "
                          "ctl\x01 del\x7f é € 😀 \u2028".encode()),
                 ("description", "日本語".encode()))


def _versions() -> dict[str, Spec]:
    vocab = [_file("vocab.txt", 5)]
    return {
        "version_vocabulary": _root(("associated_files", vocab)),
        "version_bert": _root(graphs=[_graph(("input_tensor_metadata", [_tensor("t", (
            "process_units", [_unit(4, Spec("BertTokenizerOptions"))]))]))]),
        "version_subgraph_units": _root(graphs=[_graph(("input_process_units", []))]),
        "version_groups": _root(graphs=[_graph(("output_tensor_groups", []))]),
        "version_regex": _root(graphs=[_graph(("output_process_units", [
            _unit(6, Spec("RegexTokenizerOptions"))]))]),
        "version_audio": _root(graphs=[_graph(("output_tensor_metadata", [_tensor("t", (
            "content", _content(4, None)))]))]),
        "version_scann": _root(graphs=[_graph(("associated_files", [_file("i", 6)]))]),
        "version_file_version": _root(graphs=[_graph(("input_tensor_metadata", [_tensor(
            "t", ("associated_files", [_file("l", 2, version=b"")]))]))]),
        "version_custom": _root(graphs=[_graph(("custom_metadata", []))]),
        "version_tokenizer_vocab_not_counted": _root(graphs=[_graph((
            "input_tensor_metadata", [_tensor("t", ("process_units", [_unit(
                4, Spec("BertTokenizerOptions", [("vocab_file", [
                    _file("v", 6, version=b"1")])]))]))]))]),
    }


LABELS = b"zero\none\ntwo\n"
LABELLED = {"labels.txt": LABELS}


def _normalized(mean: float | list[float], std: float | list[float]) -> Spec:
    """An image input with normalization; its output with 3 labels."""
    means = mean if isinstance(mean, list) else [mean]
    stds = std if isinstance(std, list) else [std]
    return _root(("name", b"normalized"), graphs=[_graph(
        ("input_tensor_metadata", [_tensor("image", ("content", _content(2, Spec(
            "ImageProperties", [("color_space", 1)]))), ("process_units", [_unit(1, Spec(
                "NormalizationOptions", [("mean", means), ("std", stds)]))]))]),
        ("output_tensor_metadata", [_tensor("scores", ("associated_files", [
            _file("labels.txt", 2)]))]))])


def cases() -> dict[str, tuple[bytes, dict[str, Any]]]:
    """Named edge cases: name -> (model bytes, how it was made)."""
    files = {"labels.txt": LABELS, "labels_fr.txt": "zéro\nun\n".encode(),
             "vocab.txt": b"[PAD]\n[CLS]\n" * 50, "dir/nested.txt": b"nested"}
    specs: dict[str, tuple[Spec, bool, dict[str, Any]]] = {
        "everything": (_everything(), False, {"files": files, "subgraphs": 2}),
        "everything_deflated": (_everything(), False, {"files": files, "deflate": True}),
        "force_defaults": (_force_defaults(), True, {}),
        "floats": (_floats(), False, {}),
        "empty_vectors": (_empty_vectors(), False, {}),
        "unknown_enums": (_unknown_enums(), False, {}),
        "escapes": (_escapes(), False, {}),
        "non_utf8": (_root(("name", b"ok"), ("author", b"bad \xff byte")), False, {}),
        "union_none_with_value": (_root(graphs=[_graph(("input_process_units", [Spec(
            "ProcessUnit", [("options_type", 0), ("options", Spec("NormalizationOptions"))])]))]),
            True, {}),
        "empty_root": (_root(), False, {}),
        "other_entries_first": (_root(("name", b"x")), False,
                                {"other_entries": ("min_runtime_version", "TFLITE_METADATA_X")}),
        "classifier": (_root(("name", b"classifier"), graphs=[_graph(
            ("input_tensor_metadata", [_tensor("image", ("content", _content(2, Spec(
                "ImageProperties", [("color_space", 1)]))), ("process_units", [_unit(1, Spec(
                    "NormalizationOptions", [("mean", [127.5]), ("std", [127.5])]))]))]),
            ("output_tensor_metadata", [_tensor("scores", ("associated_files", [
                _file("labels.txt", 2, description=b"class names")]))]))]), False,
            {"files": {"labels.txt": LABELS}}),
        **{name: (spec, False, {}) for name, spec in _versions().items()},
        "quantized_identity": (_normalized(0.0, 1.0), False,
                               {"tensor": (3, [1, 8, 8, 3], 1.0, 0), "files": LABELLED}),
        "quantized_mobilenet_style": (_normalized(127.5, 127.5), False, {
            "tensor": (3, [1, 8, 8, 3], 1 / 128, 128), "files": LABELLED}),
        "quantized_int8_per_channel": (_normalized([123.675, 116.28, 103.53],
                                                   [58.395, 57.12, 57.375]), False,
                                       {"tensor": (9, [1, 8, 8, 3], 0.0186584, -14),
                                        "files": LABELLED}),
        "parser_version_too_low": (_root(("min_parser_version", b"1.0.0"), graphs=[_graph(
            ("input_tensor_groups", [Spec("TensorGroup", [("name", b"g")])]))]), False, {}),
        "hostile_member_name": (_root(("name", b"x")), False,
                                {"files": {"../outside.txt": b"no", "ok.txt": b"yes"}}),
    }
    found = {}
    for name, (spec, force, options) in specs.items():
        metadata = write_metadata(spec, force)
        found[name] = (model_with_metadata(metadata, **options), {"force_defaults": force})
    found["no_metadata"] = (model_with_metadata(None, {"labels.txt": LABELS}), {})
    return found
