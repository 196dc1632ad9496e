"""Bulk reads in numpy and in plain Python give identical results, errors included.

tflparse reads a pass of few rows in Python and a pass of many in numpy
(``_flatbuf.SCALAR_ROWS``): the verifier, table columns, per-tensor arrays and LiteRT's
operator checks. Every model here is read with every pass forced into numpy, forced into
Python, and mixed (the default); the verifier's verdict, everything the model view reads and
everything the Interpreter reports (or the error it raises) must be the same each way.
Corrupted models go through the same comparison in the fuzz suite (``fuzzing.exercise``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import fixture_paths, shared_models_param
from hypothesis import HealthCheck, given, settings
from paths import differences, forced, view_snapshot

pytest.importorskip("ai_edge_litert.schema_py_generated")  # the generators' bindings
from fuzzing import generated_models  # noqa: E402

GENERATED = generated_models()
assert GENERATED is not None
EXAMPLES = int(os.environ.get("TFLPARSE_DIFFERENTIAL_EXAMPLES", "500"))


@pytest.mark.parametrize("path", shared_models_param())
def test_shared_models_read_the_same_each_way(path: Path) -> None:
    assert differences(path.read_bytes()) is None


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in fixture_paths()])
def test_fixtures_read_the_same_each_way(path: Path) -> None:
    assert differences(path.read_bytes()) is None


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in fixture_paths()[:1]])
def test_forcing_a_way_changes_the_code_that_runs(path: Path) -> None:
    """Otherwise the comparisons above could not fail."""
    from tflparse import _flatbuf

    data = path.read_bytes()
    original = _flatbuf.Columns._py_init
    for way, expected in (("python", True), ("numpy", False)):
        ran: list[int] = []

        def counting(self: _flatbuf.Columns, pos: list[int], ran: list[int] = ran) -> None:
            if pos:  # an empty pass is the same either way
                ran.append(len(pos))
            original(self, pos)

        with pytest.MonkeyPatch.context() as patch, forced(way):
            patch.setattr(_flatbuf.Columns, "_py_init", counting)
            view_snapshot(data)
        assert bool(ran) is expected, way


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=GENERATED)
def test_generated_models_read_the_same_each_way(data: bytes) -> None:
    """Models of every schema feature, and models that break one of LiteRT's rules."""
    assert differences(data) is None
