"""Our metadata schema (schema/metadata_schema.fbs -> tflparse/_metadata_schema.py) against
the official generated bindings that tflite-support ships.

Every field must sit in the same vtable slot with the same scalar type and default, every
enum value and union member must match, no official field may be missing, and the declared
field order (what the JSON rendering walks) must be the official slot order. The checks are
tests/test_schema.py's, given tflite-support's bindings as the source.
"""

from __future__ import annotations

import enum
from pathlib import Path

import pytest
from test_schema import camel, check_layout, check_slots, check_vector_elements, fields_of
from test_schema import official_slots as _official_slots

from tflparse import _metadata_schema as M

official = pytest.importorskip("tflite_support").metadata_schema_py_generated
assert official.__file__
SOURCE = Path(official.__file__).read_text(encoding="utf-8")

TABLES = sorted(M.DECLARED)
ENUMS = sorted(name for name, value in vars(M).items()
               if isinstance(value, type) and issubclass(value, enum.IntEnum)
               and value is not enum.IntEnum)


def official_slots(table: str) -> dict[str, tuple[int, str, str]]:
    return _official_slots(table, SOURCE)


def test_every_official_table_is_described() -> None:
    builders = {name[:-len("Start")] for name in vars(official)
                if name.endswith("Start") and name[:-len("Start")] in vars(official)}
    assert builders == set(M.DECLARED) == set(M.LAYOUTS)
    assert M.FILE_IDENTIFIER == b"M001"
    assert official.ModelMetadata.ModelMetadataBufferHasIdentifier(b"\0\0\0\0M001", 0)


@pytest.mark.parametrize("table", TABLES)
def test_field_slots_types_and_defaults_match_official(table: str) -> None:
    ours = fields_of(table, M)
    if not ours:  # a table without fields (FeatureProperties)
        assert not official_slots(table)
        return
    check_slots(table, ours, official_slots(table))


@pytest.mark.parametrize("table", TABLES)
def test_vector_element_types_match_official(table: str) -> None:
    check_vector_elements(table, fields_of(table, M), SOURCE)


@pytest.mark.parametrize("name", ENUMS)
def test_enum_values_match_official(name: str) -> None:
    theirs = getattr(official, name)
    expected = {k: v for k, v in vars(theirs).items() if not k.startswith("_")}
    assert {m.name: m.value for m in getattr(M, name)} == expected


@pytest.mark.parametrize("table", TABLES)
def test_layout_matches_official(table: str) -> None:
    check_layout(table, M.LAYOUTS[table], SOURCE)


@pytest.mark.parametrize("union", sorted(M.UNION_MEMBERS))
def test_union_members_match_official(union: str) -> None:
    theirs = sorted((v, k) for k, v in vars(getattr(official, union)).items()
                    if not k.startswith("_") and k != "NONE")
    assert [k for _, k in theirs] == list(M.UNION_MEMBERS[union])
    assert [v for v, _ in theirs] == list(range(1, len(theirs) + 1))


@pytest.mark.parametrize("table", TABLES)
def test_declared_order_is_slot_order(table: str) -> None:
    """Fields are declared in slot order (a union field: its type tag, then its value)."""
    slots = official_slots(table)
    names = []
    for name, type_ in M.DECLARED[table]:
        if type_ in M.UNION_MEMBERS:
            names.append(camel(name) + "Type")
        names.append(camel(name))
    assert [slots[n][0] for n in names] == list(range(len(names)))
