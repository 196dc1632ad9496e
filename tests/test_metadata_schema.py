"""Our metadata schema (schema/metadata_schema.fbs -> tflparse/_metadata_schema.py) against
the official generated bindings that tflite-support ships.

Every field must sit in the same vtable slot with the same scalar type and default, every
enum value and union member must match, no official field may be missing, and the declared
field order (what the JSON rendering walks) must be the official slot order.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schema_checks as C

from tflparse import _metadata_schema as M

official = pytest.importorskip("tflite_support").metadata_schema_py_generated
assert official.__file__
OFFICIAL_SOURCE = Path(official.__file__).read_text(encoding="utf-8")

TABLES = C.tables(M)
ALL_TABLES = sorted(M.DECLARED)


def test_every_official_table_is_described() -> None:
    builders = {name[:-len("Start")] for name in vars(official)
                if name.endswith("Start") and name[:-len("Start")] in vars(official)}
    assert builders == set(M.DECLARED)
    assert M.FILE_IDENTIFIER == b"M001"
    assert official.ModelMetadata.ModelMetadataBufferHasIdentifier(b"\0\0\0\0M001", 0)


@pytest.mark.parametrize("table", TABLES)
def test_field_slots_match_official(table: str) -> None:
    C.check_field_slots(M, OFFICIAL_SOURCE, table)


@pytest.mark.parametrize("table", ALL_TABLES)
def test_no_official_field_missing(table: str) -> None:
    if table in TABLES:
        C.check_no_field_missing(M, OFFICIAL_SOURCE, table)
    else:  # a table without fields (FeatureProperties)
        assert not C.official_slots(OFFICIAL_SOURCE, table)


@pytest.mark.parametrize("table", TABLES)
def test_vector_element_types_match_official(table: str) -> None:
    C.check_vector_elements(M, OFFICIAL_SOURCE, table)


@pytest.mark.parametrize("name", C.enums(M))
def test_enum_values_match_official(name: str) -> None:
    C.check_enum(M, official, name)


@pytest.mark.parametrize("table", ALL_TABLES)
def test_layout_matches_official(table: str) -> None:
    C.check_layout(M, OFFICIAL_SOURCE, table)


@pytest.mark.parametrize("union", sorted(M.UNION_MEMBERS))
def test_union_members_match_official(union: str) -> None:
    C.check_union_members(M, official, union)


@pytest.mark.parametrize("table", ALL_TABLES)
def test_declared_order_is_slot_order(table: str) -> None:
    """Fields are declared in slot order (a union field: its type tag, then its value)."""
    slots = C.official_slots(OFFICIAL_SOURCE, table)
    names = []
    for name, type_ in M.DECLARED[table]:
        if type_ in M.UNION_MEMBERS:
            names.append(C.camel(name) + "Type")
        names.append(C.camel(name))
    assert [slots[n][0] for n in names] == list(range(len(names)))
