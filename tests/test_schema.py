"""Our schema (schema/tflite.fbs -> tflparse/_schema.py) against the official bindings.

The generated Python bindings shipped in ai-edge-litert are the reference: every table field
tflparse describes must sit in the same vtable slot with the same scalar type and default,
every enum value must match, and no field of those tables may be missing from ours.
"""

from __future__ import annotations

import enum
import functools
import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tflparse import _schema as S

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def official_module() -> Any:
    """The official generated bindings (the test skips without ai-edge-litert)."""
    return pytest.importorskip("ai_edge_litert.schema_py_generated")


@functools.cache
def official_source() -> str:
    return Path(official_module().__file__).read_text(encoding="utf-8")


# Prepend<Kind>Slot of the official builders -> struct format of ours
PREPEND_FORMATS = {
    "Bool": "<?", "Int8": "<b", "Uint8": "<B", "Int16": "<h", "Uint16": "<H", "Int32": "<i",
    "Uint32": "<I", "Int64": "<q", "Uint64": "<Q", "Float32": "<f", "Float64": "<d",
}
# number_types.<Kind>Flags of the official vector accessors -> struct format of ours
VECTOR_FORMATS = {
    "Bool": "<?", "Int8": "<b", "Uint8": "<B", "Int16": "<h", "Uint16": "<H", "Int32": "<i",
    "Uint32": "<I", "Int64": "<q", "Uint64": "<Q", "Float32": "<f", "Float64": "<d",
}

TABLES = sorted(
    name for name, value in vars(S).items()
    if isinstance(value, type) and any(
        isinstance(v, (S.Scalar, S.Vector, S.Ref)) for v in vars(value).values())
)
# Unions whose member tables we do not describe (operator options) have NONE only.
ENUMS = sorted(
    name for name, value in vars(S).items()
    if isinstance(value, type) and issubclass(value, enum.IntEnum) and value is not enum.IntEnum
    and len(value) > 1
)


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def official_slots(table: str, source: str | None = None) -> dict[str, tuple[int, str, str]]:
    """camel field name -> (slot, Prepend kind, default text) from the official builders."""
    pattern = re.compile(
        rf"def {table}Add(\w+)\(builder, \w+\):\n"
        r"\s+builder\.Prepend(\w+)Slot\((\d+), [^,]+, ([^)]+)\)"
    )
    text = official_source() if source is None else source
    return {m.group(1): (int(m.group(3)), m.group(2), m.group(4).strip())
            for m in pattern.finditer(text)}


def fields_of(table: str, schema: Any = S) -> dict[str, S.Scalar | S.Vector | S.Ref]:
    cls = getattr(schema, table)
    return {k: v for k, v in vars(cls).items() if isinstance(v, (S.Scalar, S.Vector, S.Ref))}


def check_slots(table: str, ours: dict[str, S.Scalar | S.Vector | S.Ref],
                slots: dict[str, tuple[int, str, str]]) -> None:
    """Every field of ours sits in the official slot, with the official type and default."""
    assert slots, f"official bindings have no builder for {table}"
    for field in ours.values():
        slot, kind, default = slots[camel(field.name)]
        assert field.voffset == 4 + 2 * slot, f"{table}.{field.name}"
        if isinstance(field, S.Scalar):
            assert PREPEND_FORMATS[kind] == field.fmt, f"{table}.{field.name} type"
            official_default = {"True": True, "False": False}.get(default, default)
            if not isinstance(official_default, bool):
                official_default = float(official_default) if "." in default else int(default)
            assert field.default == official_default, f"{table}.{field.name} default"
        else:
            assert kind == "UOffsetTRelative", f"{table}.{field.name} is an offset field"
    missing = set(slots) - {camel(f.name) for f in ours.values()}
    assert not missing, f"{table} lacks {sorted(missing)}"


def test_generated_module_is_current() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "schema" / "generate.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_tables_are_described() -> None:
    assert {"Model", "SubGraph", "Tensor", "QuantizationParameters", "BlockwiseQuantization",
            "MultiAxisQuantization", "CustomQuantization", "Buffer", "SparsityParameters",
            "DimensionMetadata", "SignatureDef", "TensorMap", "Metadata", "OperatorCode",
            "Operator"} <= set(TABLES)


@pytest.mark.parametrize("table", TABLES)
def test_field_slots_types_and_defaults_match_official(table: str) -> None:
    check_slots(table, fields_of(table), official_slots(table))


@pytest.mark.parametrize("table", TABLES)
def test_vector_element_types_match_official(table: str) -> None:
    check_vector_elements(table, fields_of(table))


def check_vector_elements(table: str, ours: dict[str, S.Scalar | S.Vector | S.Ref],
                          source: str | None = None) -> None:
    """Every scalar vector of ours has the element type the official accessor reads."""
    text = official_source() if source is None else source
    for field in ours.values():
        if not isinstance(field, S.Vector) or not field.elem.startswith("<"):
            continue
        accessor = re.search(
            rf"def {camel(field.name)}\(self, j\):"
            r".*?self\._tab\.Get\(flatbuffers\.number_types\.(\w+)Flags",
            text[text.index(f"class {table}(object)"):], re.S)
        assert accessor, f"{table}.{field.name}"
        assert VECTOR_FORMATS[accessor.group(1)] == field.elem, f"{table}.{field.name}"


@pytest.mark.parametrize("name", ENUMS)
def test_enum_values_match_official(name: str) -> None:
    ours = getattr(S, name)
    theirs = getattr(official_module(), name)
    expected = {k: v for k, v in vars(theirs).items() if not k.startswith("_")}
    assert {m.name: m.value for m in ours} == expected


def test_builtin_operator_names_match_official() -> None:
    operators = vars(official_module().BuiltinOperator)
    expected = {v: k for k, v in operators.items() if not k.startswith("_")}
    assert expected == S.BUILTIN_OPERATOR_NAMES
    for value, name in S.BUILTIN_OPERATOR_NAMES.items():
        assert getattr(S.BuiltinOperator, name) == value


# -- the layouts the verifier walks ----------------------------------------------------------

PREPEND_SIZES = {"Bool": 1, "Int8": 1, "Uint8": 1, "Int16": 2, "Uint16": 2, "Int32": 4,
                 "Uint32": 4, "Int64": 8, "Uint64": 8, "Float32": 4, "Float64": 8}
FLAG_SIZES = {f"{k}Flags": v for k, v in PREPEND_SIZES.items()}


def official_offset_kind(table: str, voffset: int, source: str | None = None
                         ) -> tuple[str, str]:
    """(kind, target) of an offset field, from the official accessor that reads it."""
    body_of = re.compile(r"    def (\w+)\(self(?:, j)?\):\n((?:        .*\n)+)")
    text = official_source() if source is None else source
    start = text.index(f"class {table}(object)")
    end = text.find("\nclass ", start + 1)
    for name, body in body_of.findall(text[start:end]):
        if f"self._tab.Offset({voffset})" not in body or name.endswith(
                ("Length", "IsNone", "AsNumpy")):
            continue
        table_type = re.search(r"obj = (\w+)\(\)", body)
        if "self._tab.Union(" in body:
            return "uni", ""
        if "self._tab.Vector(o)" in body:
            if "self._tab.String(" in body:
                return "vstr", ""
            if "Indirect" in body:
                assert table_type
                return "vtab", table_type.group(1)
            flags = re.search(r"number_types\.(\w+Flags), a", body)
            assert flags
            return f"v{FLAG_SIZES[flags.group(1)]}", ""
        if "self._tab.String(" in body:
            return "str", ""
        assert table_type, f"{table} field at {voffset}"
        return "tab", table_type.group(1)
    raise AssertionError(f"no official accessor reads {table} at {voffset}")


@pytest.mark.parametrize("table", sorted(S.LAYOUTS))
def test_layout_matches_official(table: str) -> None:
    check_layout(table, S.LAYOUTS[table])


def check_layout(table: str, layout: tuple[tuple[int, str, str, str], ...],
                 source: str | None = None) -> None:
    """A table's LAYOUTS entry against the official builders and accessors."""
    ours = {voffset: (kind, target) for voffset, kind, target, _ in layout}
    theirs = {}
    for slot, prepend, _ in official_slots(table, source).values():
        voffset = 4 + 2 * slot
        if prepend == "UOffsetTRelative":
            theirs[voffset] = official_offset_kind(table, voffset, source)
        else:
            theirs[voffset] = (f"s{PREPEND_SIZES[prepend]}", "")
    union_values = {v for v, (kind, _) in ours.items() if kind == "uni"}
    assert {v: k for v, (k, t) in ours.items()} == {v: k for v, (k, t) in theirs.items()}
    for voffset, (kind, target) in ours.items():
        if kind in ("tab", "vtab"):
            assert target == theirs[voffset][1], f"{table} field at {voffset}"
        if kind == "uni":
            assert ours[voffset - 2][0] == "s1", "a union value follows its 1-byte type tag"
    assert all(v - 2 in ours for v in union_values)


@pytest.mark.parametrize("union", sorted(S.UNION_MEMBERS))
def test_union_members_match_official(union: str) -> None:
    theirs = sorted((v, k) for k, v in vars(getattr(official_module(), union)).items()
                    if not k.startswith("_") and k != "NONE")
    assert [k for _, k in theirs] == list(S.UNION_MEMBERS[union])
    assert [v for v, _ in theirs] == list(range(1, len(theirs) + 1))


# --------------------------------------------------------------------------------------------
# schema/conversion_metadata.fbs -> tflparse/_conversion_schema.py

#: where the official generated bindings of conversion_metadata.fbs live, when installed
CONVERSION_BINDINGS = ("tensorflow.lite.python.conversion_metadata_schema_py_generated",
                       "tflite.conversion_metadata_schema_py_generated")
CONVERSION_TABLES = ["Environment", "SparsityBlockSize", "ConversionOptions",
                     "ConversionMetadata"]


def official_conversion_bindings() -> Any:
    """The official conversion-metadata bindings; the test skips without them.

    TensorFlow ships them, but TensorFlow is too heavy (and pins a protobuf that
    tflite-support's does not allow) for the test extra, so ``.ci/run`` takes the one generated
    file out of the TensorFlow wheel and names it in ``TFLPARSE_CONVERSION_BINDINGS``.
    """
    path = os.environ.get("TFLPARSE_CONVERSION_BINDINGS")
    if path:
        pytest.importorskip("flatbuffers")  # what the generated module imports
        spec = importlib.util.spec_from_file_location("official_conversion_bindings", path)
        assert spec is not None and spec.loader is not None, path
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    for name in CONVERSION_BINDINGS:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    pytest.skip("no official conversion_metadata bindings installed "
                f"(looked for {', '.join(CONVERSION_BINDINGS)})")


def test_conversion_schema_describes_every_table() -> None:
    from tflparse import _conversion_schema as C

    assert set(CONVERSION_TABLES) == set(C.LAYOUTS)


@pytest.mark.parametrize("table", CONVERSION_TABLES)
def test_conversion_field_slots_match_official(table: str) -> None:
    from tflparse import _conversion_schema as C

    module = official_conversion_bindings()
    source = Path(module.__file__).read_text(encoding="utf-8")
    check_slots(table, fields_of(table, C), official_slots(table, source))


@pytest.mark.parametrize("name", ["ModelType", "ModelOptimizationMode"])
def test_conversion_enum_values_match_official(name: str) -> None:
    from tflparse import _conversion_schema as C

    theirs = getattr(official_conversion_bindings(), name)
    expected = {k: v for k, v in vars(theirs).items() if not k.startswith("_")}
    assert {m.name: m.value for m in getattr(C, name)} == expected


def test_conversion_metadata_built_by_official_bindings_reads_back() -> None:
    flatbuffers = pytest.importorskip("flatbuffers")
    official = official_conversion_bindings()
    from tflparse._conversion_metadata import read_conversion_metadata

    env = official.EnvironmentT()
    env.tensorflowVersion, env.apiVersion, env.modelType, env.modelHash = (
        "2.99.1", 2, official.ModelType.KERAS_MODEL, 0xFEEDFACE12345678)
    options = official.ConversionOptionsT()
    options.modelOptimizationModes = [official.ModelOptimizationMode.PTQ_INT16, 3003]
    options.allowCustomOps, options.forceSelectTfOps = True, True
    block = official.SparsityBlockSizeT()
    block.values = [4, 1]
    options.sparsityBlockSizes = [block]
    root = official.ConversionMetadataT()
    root.environment, root.options = env, options
    builder = flatbuffers.Builder(256)
    builder.Finish(root.Pack(builder))
    found = read_conversion_metadata(bytes(builder.Output()))
    assert found.environment == ("2.99.1", 2, 2, 0xFEEDFACE12345678)
    assert found.options == ((1004, 3003), True, False, True, ((4, 1),))
