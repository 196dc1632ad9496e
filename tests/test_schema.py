"""Our schema (schema/tflite.fbs -> tflparse/_schema.py) against the official bindings.

The generated Python bindings shipped in ai-edge-litert are the reference: every table field
tflparse describes must sit in the same vtable slot with the same scalar type and default,
every enum value must match, and no field of those tables may be missing from ours.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import schema_checks as C

from tflparse import _schema as S

ROOT = Path(__file__).resolve().parents[1]
official_spec = importlib.util.find_spec("ai_edge_litert.schema_py_generated")
if official_spec is None or official_spec.origin is None:  # pragma: no cover
    pytest.skip("ai-edge-litert is not installed", allow_module_level=True)
OFFICIAL_SOURCE = Path(official_spec.origin).read_text(encoding="utf-8")
import ai_edge_litert.schema_py_generated as official  # noqa: E402

TABLES = C.tables(S)
# Unions whose member tables we do not describe (operator options) have NONE only.
ENUMS = C.enums(S)


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
def test_field_slots_match_official(table: str) -> None:
    C.check_field_slots(S, OFFICIAL_SOURCE, table)


@pytest.mark.parametrize("table", TABLES)
def test_no_official_field_missing(table: str) -> None:
    C.check_no_field_missing(S, OFFICIAL_SOURCE, table)


@pytest.mark.parametrize("table", TABLES)
def test_vector_element_types_match_official(table: str) -> None:
    C.check_vector_elements(S, OFFICIAL_SOURCE, table)


@pytest.mark.parametrize("name", ENUMS)
def test_enum_values_match_official(name: str) -> None:
    C.check_enum(S, official, name)


def test_builtin_operator_names_match_official() -> None:
    expected = {v: k for k, v in vars(official.BuiltinOperator).items() if not k.startswith("_")}
    assert expected == S.BUILTIN_OPERATOR_NAMES
    for value, name in S.BUILTIN_OPERATOR_NAMES.items():
        assert getattr(S.BuiltinOperator, name) == value


# -- the layouts the verifier walks ----------------------------------------------------------

@pytest.mark.parametrize("table", sorted(S.LAYOUTS))
def test_layout_matches_official(table: str) -> None:
    C.check_layout(S, OFFICIAL_SOURCE, table)


@pytest.mark.parametrize("union", sorted(S.UNION_MEMBERS))
def test_union_members_match_official(union: str) -> None:
    C.check_union_members(S, official, union)
