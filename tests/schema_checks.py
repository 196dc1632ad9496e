"""Checks of a generated schema module against official generated Python bindings.

Shared by tests/test_schema.py (tflparse/_schema.py against LiteRT's bindings) and
tests/test_metadata_schema.py (tflparse/_metadata_schema.py against tflite-support's). The
official bindings are read as source text: their builder functions name each field's slot,
scalar kind and default; their accessors name each offset field's kind and target table.
"""

from __future__ import annotations

import enum
import re
from types import ModuleType
from typing import Any

# Prepend<Kind>Slot of the official builders (and number_types.<Kind>Flags of their vector
# accessors) -> struct format of ours
FORMATS = {
    "Bool": "<?", "Int8": "<b", "Uint8": "<B", "Int16": "<h", "Uint16": "<H", "Int32": "<i",
    "Uint32": "<I", "Int64": "<q", "Uint64": "<Q", "Float32": "<f", "Float64": "<d",
}
PREPEND_SIZES = {"Bool": 1, "Int8": 1, "Uint8": 1, "Int16": 2, "Uint16": 2, "Int32": 4,
                 "Uint32": 4, "Int64": 8, "Uint64": 8, "Float32": 4, "Float64": 8}
FLAG_SIZES = {f"{k}Flags": v for k, v in PREPEND_SIZES.items()}


def field_kinds(schema: ModuleType) -> tuple[type, ...]:
    return (schema.Scalar, schema.Vector, schema.Ref)


def tables(schema: ModuleType) -> list[str]:
    """Names of the tables ``schema`` describes field by field."""
    kinds = field_kinds(schema)
    return sorted(
        name for name, value in vars(schema).items()
        if isinstance(value, type) and any(isinstance(v, kinds) for v in vars(value).values())
    )


def enums(schema: ModuleType) -> list[str]:
    """Names of the IntEnums in ``schema`` with more than one member."""
    return sorted(
        name for name, value in vars(schema).items()
        if isinstance(value, type) and issubclass(value, enum.IntEnum)
        and value is not enum.IntEnum and len(value) > 1
    )


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def official_slots(source: str, table: str) -> dict[str, tuple[int, str, str]]:
    """camel field name -> (slot, Prepend kind, default text) from the official builders."""
    pattern = re.compile(
        rf"def {table}Add(\w+)\(builder, \w+\):\n"
        r"\s+builder\.Prepend(\w+)Slot\((\d+), [^,]+, ([^)]+)\)"
    )
    return {m.group(1): (int(m.group(3)), m.group(2), m.group(4).strip())
            for m in pattern.finditer(source)}


def fields_of(schema: ModuleType, table: str) -> dict[str, Any]:
    kinds = field_kinds(schema)
    return {k: v for k, v in vars(getattr(schema, table)).items() if isinstance(v, kinds)}


def check_field_slots(schema: ModuleType, source: str, table: str) -> None:
    slots = official_slots(source, table)
    assert slots, f"official bindings have no builder for {table}"
    for field in fields_of(schema, table).values():
        slot, kind, default = slots[camel(field.name)]
        assert field.voffset == 4 + 2 * slot, f"{table}.{field.name}"
        if isinstance(field, schema.Scalar):
            assert FORMATS[kind] == field.fmt, f"{table}.{field.name} type"
            official_default = {"True": True, "False": False}.get(default, default)
            if not isinstance(official_default, bool):
                official_default = float(official_default) if "." in default else int(default)
            assert field.default == official_default, f"{table}.{field.name} default"
        else:
            assert kind == "UOffsetTRelative", f"{table}.{field.name} is an offset field"


def check_no_field_missing(schema: ModuleType, source: str, table: str) -> None:
    ours = {camel(f.name) for f in fields_of(schema, table).values()}
    missing = set(official_slots(source, table)) - ours
    assert not missing, f"{table} lacks {sorted(missing)}"


def check_vector_elements(schema: ModuleType, source: str, table: str) -> None:
    for field in fields_of(schema, table).values():
        if not isinstance(field, schema.Vector) or not field.elem.startswith("<"):
            continue
        accessor = re.search(
            rf"def {camel(field.name)}\(self, j\):"
            r".*?self\._tab\.Get\(flatbuffers\.number_types\.(\w+)Flags",
            source[source.index(f"class {table}(object)"):], re.S)
        assert accessor, f"{table}.{field.name}"
        assert FORMATS[accessor.group(1)] == field.elem, f"{table}.{field.name}"


def check_enum(schema: ModuleType, official: ModuleType, name: str) -> None:
    ours = getattr(schema, name)
    theirs = getattr(official, name)
    expected = {k: v for k, v in vars(theirs).items() if not k.startswith("_")}
    assert {m.name: m.value for m in ours} == expected


def official_offset_kind(source: str, table: str, voffset: int) -> tuple[str, str]:
    """(kind, target) of an offset field, from the official accessor that reads it."""
    body_of = re.compile(r"    def (\w+)\(self(?:, j)?\):\n((?:        .*\n)+)")
    start = source.index(f"class {table}(object)")
    end = source.find("\nclass ", start + 1)
    for name, body in body_of.findall(source[start:end]):
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


def check_layout(schema: ModuleType, source: str, table: str) -> None:
    ours = {voffset: (kind, target) for voffset, kind, target, _ in schema.LAYOUTS[table]}
    theirs = {}
    for slot, prepend, _ in official_slots(source, table).values():
        voffset = 4 + 2 * slot
        if prepend == "UOffsetTRelative":
            theirs[voffset] = official_offset_kind(source, table, voffset)
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


def check_union_members(schema: ModuleType, official: ModuleType, union: str) -> None:
    theirs = sorted((v, k) for k, v in vars(getattr(official, union)).items()
                    if not k.startswith("_") and k != "NONE")
    assert [k for _, k in theirs] == list(schema.UNION_MEMBERS[union])
    assert [v for v, _ in theirs] == list(range(1, len(theirs) + 1))
