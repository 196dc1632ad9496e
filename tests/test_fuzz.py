"""Fuzzing: corrupted models give a model or InvalidModelError, quickly and within memory.

Seeds are the fixtures, the shared models and hypothesis-generated models. Every input that
ever broke this becomes a file in tests/regressions/ and is replayed here.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from conftest import ROOT, fixture_paths, shared_model_paths
from fuzzing import exercise, fuzz_inputs
from hypothesis import HealthCheck, given, settings

EXAMPLES = int(os.environ.get("TFLPARSE_FUZZ_EXAMPLES", "300"))
SMALL_SEEDS = [p.read_bytes() for p in fixture_paths() + shared_model_paths()
               if p.stat().st_size <= 64_000]
REGRESSIONS = sorted((ROOT / "tests" / "regressions").glob("*.bin"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=fuzz_inputs(SMALL_SEEDS))
def test_mutated_models(data: bytes) -> None:
    assert exercise(data) == []


class Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hang()


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in REGRESSIONS])
def test_regression(path: Path) -> None:
    """Each input that ever broke tflparse: no unexpected exception, and no hang."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(30)
    try:
        assert exercise(path.read_bytes()) == []
    except Hang:
        pytest.fail(f"{path.name} took more than 30 s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
