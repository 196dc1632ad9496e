"""The committed fixtures are exactly what fixtures/build_fixtures.py builds."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import FIXTURES

pytest.importorskip("ai_edge_litert.schema_py_generated")


def _builder() -> object:
    spec = importlib.util.spec_from_file_location("build_fixtures",
                                                  FIXTURES / "build_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["mnist_int8.tflite", "features.tflite", "report_demo.tflite"])
def test_fixture_is_current(name: str) -> None:
    build = _builder().FIXTURES[name]  # type: ignore[attr-defined]
    assert (FIXTURES / name).read_bytes() == build(), (
        f"fixtures/{name} is stale: run python fixtures/build_fixtures.py")
