"""tflparse.Interpreter against the real LiteRT interpreter, call by call.

Every inspection call (with its error cases) is made on both; the results must be identical
or both must refuse. LiteRT runs in a child process, so a case where it crashes costs one
call and is reported as "LiteRT crashes here".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import fixture_paths, shared_models_param

pytest.importorskip("ai_edge_litert.interpreter")
from litert_oracle import LiteRT, compare, plan_for, run_tflparse  # noqa: E402


@pytest.fixture(scope="session")
def litert() -> Iterator[LiteRT]:
    worker = LiteRT(with_ml_dtypes=False)
    yield worker
    worker.close()


def check_model(litert: LiteRT, data: bytes) -> int:
    """Assert identity on every call; return how many calls crashed LiteRT."""
    plan = plan_for(data)
    theirs = litert.run(data, plan)
    ours = run_tflparse(data, plan)
    difference, crashes = compare(plan, ours, theirs)
    assert difference is None, difference
    return crashes


@pytest.mark.parametrize("path", shared_models_param())
def test_shared_model(litert: LiteRT, path: Path, record_property: object) -> None:
    crashes = check_model(litert, path.read_bytes())
    if crashes:
        print(f"LiteRT crashes here: {crashes} call(s) on {path.name}")


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in fixture_paths()])
def test_fixture(litert: LiteRT, path: Path) -> None:
    check_model(litert, path.read_bytes())
