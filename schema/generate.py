"""Generate ``tflparse/_schema.py`` from ``schema/tflite.fbs`` and
``tflparse/_conversion_schema.py`` from ``schema/conversion_metadata.fbs`` and
``tflparse/_metadata_schema.py`` from ``schema/metadata_schema.fbs``.

Usage: ``python schema/generate.py [--check]``. With ``--check`` nothing is written; the exit
status says whether the committed modules are current.

Only the part of the FlatBuffers IDL that ``tflite.fbs`` uses is understood: ``enum``,
``union``, ``table`` (scalar, string, vector, table and union fields, defaults, the
``deprecated`` attribute, the table attribute ``layout_only``), ``attribute``,
``namespace``, ``file_identifier``, ``file_extension`` and ``root_type``.

Every table gets an entry in ``LAYOUTS`` (what the verifier walks); tables that are not
``layout_only`` also get a class of named field descriptors. The metadata module also gets
``DECLARED``: every table's fields with their IDL types in declaration order (what the
metadata text rendering walks).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
FBS = HERE / "tflite.fbs"
TARGET = HERE.parent / "tflparse" / "_schema.py"
#: (schema, generated module, whether it defines the field descriptor types or imports them)
SCHEMAS = [
    (FBS, TARGET, True),
    (HERE / "conversion_metadata.fbs", HERE.parent / "tflparse" / "_conversion_schema.py", False),
    (HERE / "metadata_schema.fbs", HERE.parent / "tflparse" / "_metadata_schema.py", False),
]
#: schemas whose module also lists DECLARED (each table's fields in declaration order)
WITH_DECLARED = {"metadata_schema.fbs"}

# IDL scalar type -> (struct format, byte size)
SCALARS = {
    "bool": ("?", 1), "byte": ("b", 1), "ubyte": ("B", 1), "short": ("h", 2),
    "ushort": ("H", 2), "int": ("i", 4), "uint": ("I", 4), "long": ("q", 8),
    "ulong": ("Q", 8), "float": ("f", 4), "double": ("d", 8),
}


@dataclass
class Enum:
    name: str
    base: str
    members: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Union:
    name: str
    members: list[str] = field(default_factory=list)


@dataclass
class Field:
    name: str
    type: str
    default: str | None
    deprecated: bool


@dataclass
class Table:
    name: str
    fields: list[Field] = field(default_factory=list)
    layout_only: bool = False


def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)


def parse(text: str) -> tuple[dict[str, Enum], dict[str, Union], dict[str, Table], str]:
    """Parse the IDL subset into enums, unions, tables and the file identifier."""
    text = _strip_comments(text)
    enums: dict[str, Enum] = {}
    unions: dict[str, Union] = {}
    tables: dict[str, Table] = {}
    identifier = ""
    pos = 0
    decl = re.compile(
        r"\s*(?:(enum)\s+(\w+)\s*:\s*(\w+)\s*\{([^}]*)\}"
        r"|(union)\s+(\w+)\s*(?:\{([^}]*)\}|;)"
        r"|(table)\s+(\w+)\s*(?:\((\w+)\))?\s*\{([^}]*)\}"
        r"|(namespace|root_type|file_extension|attribute)\s+[^;]+;"
        r"|file_identifier\s+\"(\w{4})\"\s*;)"
    )
    while pos < len(text.rstrip()):
        m = decl.match(text, pos)
        if m is None:
            raise SystemExit(f"tflite.fbs: cannot parse near: {text[pos:pos + 60]!r}")
        pos = m.end()
        if m.group(1):
            en = Enum(m.group(2), m.group(3))
            for item in filter(None, (s.strip() for s in m.group(4).split(","))):
                name, _, value = (p.strip() for p in item.partition("="))
                en.members.append((name, int(value)))
            enums[en.name] = en
        elif m.group(5):
            members = m.group(7) or ""
            unions[m.group(6)] = Union(
                m.group(6), [s.strip() for s in members.split(",") if s.strip()]
            )
        elif m.group(8):
            tb = Table(m.group(9), layout_only=m.group(10) == "layout_only")
            for line in filter(None, (s.strip() for s in m.group(11).split(";"))):
                fm = re.fullmatch(
                    r"(\w+)\s*:\s*(\[?\w+\]?)\s*(?:=\s*([-\w.]+))?\s*(?:\(([^)]*)\))?", line
                )
                if fm is None:
                    raise SystemExit(f"tflite.fbs: bad field in {tb.name}: {line!r}")
                attrs = fm.group(4) or ""
                tb.fields.append(
                    Field(fm.group(1), fm.group(2), fm.group(3), "deprecated" in attrs)
                )
            tables[tb.name] = tb
        elif m.group(13):
            identifier = m.group(13)
    return enums, unions, tables, identifier


LARGE_ENUM = 32


def _names_const(en: Enum) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", en.name).upper() + "_NAMES"


def _default(f: Field, enums: dict[str, Enum]) -> str:
    if f.default is None:
        return "False" if f.type == "bool" else "0"
    if f.type == "bool":
        return "True" if f.default == "true" else "False"
    if f.type in enums:
        values = dict(enums[f.type].members)
        return str(values.get(f.default, f.default))
    return f.default


def render(text: str, fbs: str = "tflite.fbs", descriptors: bool = True,
           declared: bool = False) -> str:
    """Return the source of the module generated from ``schema/{fbs}``; ``descriptors``:
    define ``Scalar``/``Vector``/``Ref`` (else import them from ``_schema``); ``declared``:
    also list ``DECLARED``."""
    enums, unions, tables, identifier = parse(text)
    heading = ([f'"""TFLite schema constants, generated by schema/generate.py from schema/{fbs}.']
               if descriptors else
               [f'"""Constants of schema/{fbs}, generated by schema/generate.py.'])
    out = [
        *heading,
        "",
        "Do not edit: change the .fbs file and run the generator.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from enum import IntEnum",
    ]
    out += (["from typing import NamedTuple"] if descriptors
            else ["", "from ._schema import Ref, Scalar, Vector"])
    if identifier:
        out += ["", f"FILE_IDENTIFIER = {identifier.encode()!r}"]
    out += ["", ""]
    for en in enums.values():
        if len(en.members) > LARGE_ENUM:
            # An IntEnum this size costs milliseconds at import: plain constants and a table.
            out.append(f"class {en.name}:")
            out.append(f'    """Values of enum ``{en.name}``; names in ``{_names_const(en)}``."""')
            out.append("")
            out += [f"    {name} = {value}" for name, value in en.members]
            out += ["", ""]
            out.append(f"{_names_const(en)}: dict[int, str] = {{")
            out += [f"    {value}: {name!r}," for name, value in en.members]
            out += ["}", "", ""]
            continue
        out.append(f"class {en.name}(IntEnum):")
        out += [f"    {name} = {value}" for name, value in en.members]
        out += ["", ""]
    for un in unions.values():
        if len(un.members) > LARGE_ENUM:
            out.append(f"class {un.name}:")
            out.append(f'    """Type tags of union ``{un.name}``; member tables in '
                       f'``UNION_MEMBERS``."""')
            out.append("")
            out.append("    NONE = 0")
            out += [f"    {name} = {i}" for i, name in enumerate(un.members, 1)]
            out += ["", ""]
            continue
        out.append(f"class {un.name}(IntEnum):")
        out.append("    NONE = 0")
        out += [f"    {name} = {i}" for i, name in enumerate(un.members, 1)]
        out += ["", ""]
    out += _descriptor_types() if descriptors else []
    for tb in tables.values():
        if tb.layout_only:
            continue
        out.append(f"class {tb.name}:")
        out.append(f'    """Field layout of table ``{tb.name}``."""')
        out.append("")
        slot = 0
        for f in tb.fields:
            vo = 4 + 2 * slot
            const = f.name.upper()
            if f.type in unions:
                if not f.deprecated:
                    out.append(f"    {const}_TYPE = Scalar('{f.name}_type', {vo}, '<B', 1, 0)")
                    out.append(f"    {const} = Ref({f.name!r}, {vo + 2}, {f.type!r})")
                slot += 2
                continue
            slot += 1
            if f.deprecated:
                continue
            if f.type.startswith("["):
                elem = f.type[1:-1]
                if elem in SCALARS:
                    fmt, size = SCALARS[elem]
                    out.append(f"    {const} = Vector({f.name!r}, {vo}, '<{fmt}', {size})")
                elif elem in enums:
                    fmt, size = SCALARS[enums[elem].base]
                    out.append(f"    {const} = Vector({f.name!r}, {vo}, '<{fmt}', {size})")
                else:
                    out.append(f"    {const} = Vector({f.name!r}, {vo}, {elem!r}, 4)")
            elif f.type in SCALARS or f.type in enums:
                base = enums[f.type].base if f.type in enums else f.type
                fmt, size = SCALARS[base]
                default = _default(f, enums)
                out.append(f"    {const} = Scalar({f.name!r}, {vo}, '<{fmt}', {size}, {default})")
            else:
                out.append(f"    {const} = Ref({f.name!r}, {vo}, {f.type!r})")
        out += ["", ""]
    out += _layouts(enums, unions, tables)
    if declared:
        out += _declared(tables)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def _descriptor_types() -> list[str]:
    """The source of the field descriptor types every generated module uses."""
    return [
        "class Scalar(NamedTuple):",
        '    """A scalar field: vtable offset, struct format, byte size, schema default."""',
        "",
        "    name: str",
        "    voffset: int",
        "    fmt: str",
        "    size: int",
        "    default: int | float | bool",
        "",
        "",
        "class Vector(NamedTuple):",
        '    """A vector field; ``elem`` is a struct format, ``"string"`` or a table name."""',
        "",
        "    name: str",
        "    voffset: int",
        "    elem: str",
        "    elem_size: int",
        "",
        "",
        "class Ref(NamedTuple):",
        '    """A string, table or union-value field; ``target`` names what it points at."""',
        "",
        "    name: str",
        "    voffset: int",
        "    target: str",
        "",
        "",
    ]


def _layouts(enums: dict[str, Enum], unions: dict[str, Union], tables: dict[str, Table]
             ) -> list[str]:
    """``LAYOUTS`` and ``UNION_MEMBERS``: every table's fields as the verifier checks them."""
    out = [
        "# Each table's fields as the verifier checks them: (vtable offset, kind, target, name).",
        "# Kinds: 's<n>' an n-byte scalar; 'str' a string; 'v<n>' a vector of n-byte",
        "# scalars; 'vstr' a vector of strings; 'vtab' a vector of tables; 'tab' a table;",
        "# 'uni' a union value (its type tag is the 1-byte field just before it).",
        "# Deprecated fields are left out.",
        "LAYOUTS: dict[str, tuple[tuple[int, str, str, str], ...]] = {",
    ]
    for tb in tables.values():
        entries = []
        slot = 0
        for f in tb.fields:
            vo = 4 + 2 * slot
            if f.type in unions:
                slot += 2
                if not f.deprecated:
                    entries += [f"({vo}, 's1', '', '{f.name}_type')",
                                f"({vo + 2}, 'uni', {f.type!r}, {f.name!r})"]
                continue
            slot += 1
            if f.deprecated:
                continue
            entries.append(f"({vo}, {_kind(f.type, enums)!r}, {_target(f.type, enums)!r}, "
                           f"{f.name!r})")
        out.append(f"    {tb.name!r}: (")
        out += [f"        {entry}," for entry in entries]
        out.append("    ),")
    out += ["}", "", "UNION_MEMBERS: dict[str, tuple[str, ...]] = {"]
    for un in unions.values():
        out.append(f"    {un.name!r}: (")
        out += [f"        {member!r}," for member in un.members]
        out.append("    ),")
    out += ["}", "", ""]
    return out


def _declared(tables: dict[str, Table]) -> list[str]:
    """``DECLARED``: each table's (field name, IDL type) in declaration order."""
    out = [
        "# Each table's fields in declaration order: (name, IDL type). A union field's type",
        "# tag ('<name>_type') is not listed; it comes just before the field.",
        "DECLARED: dict[str, tuple[tuple[str, str], ...]] = {",
    ]
    for tb in tables.values():
        out.append(f"    {tb.name!r}: (")
        out += [f"        ({f.name!r}, {f.type!r})," for f in tb.fields if not f.deprecated]
        out.append("    ),")
    out += ["}", "", ""]
    return out


def _size(name: str, enums: dict[str, Enum]) -> int | None:
    base = enums[name].base if name in enums else name
    return SCALARS[base][1] if base in SCALARS else None


def _kind(type_: str, enums: dict[str, Enum]) -> str:
    if type_.startswith("["):
        elem = type_[1:-1]
        size = _size(elem, enums)
        return f"v{size}" if size else "vstr" if elem == "string" else "vtab"
    size = _size(type_, enums)
    return f"s{size}" if size else "str" if type_ == "string" else "tab"


def _target(type_: str, enums: dict[str, Enum]) -> str:
    name = type_.strip("[]")
    return "" if name in SCALARS or name in enums or name == "string" else name


def main(argv: list[str]) -> int:
    stale = 0
    for fbs, target, descriptors in SCHEMAS:
        source = render(fbs.read_text(encoding="utf-8"), fbs.name, descriptors,
                        fbs.name in WITH_DECLARED)
        if "--check" in argv:
            current = target.read_text(encoding="utf-8") if target.exists() else ""
            if current != source:
                print(f"{target} is out of date: run python schema/generate.py",
                      file=sys.stderr)
                stale = 1
            continue
        target.write_text(source, encoding="utf-8")
    return stale


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
