"""Fuzzing: corrupted models give a model or InvalidModelError, quickly and within memory.

Seeds are the fixtures, the shared models and hypothesis-generated models. Every input that
ever broke this becomes a file in tests/regressions/ and is replayed here.
"""

from __future__ import annotations

import os
import signal
import tracemalloc
from pathlib import Path

import pytest
from conftest import ROOT, fixture_paths, shared_model_paths
from fuzzing import BUNDLE_LIMIT, bundle_seeds, exercise, exercise_bundle, fuzz_inputs, mutations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("TFLPARSE_FUZZ_EXAMPLES", "300"))
SMALL_SEEDS = [p.read_bytes() for p in fixture_paths() + shared_model_paths()
               if p.stat().st_size <= 64_000]
METADATA_SEEDS = [p.read_bytes() for p in sorted((ROOT / "tests" / "metadata_golden")
                                                 .glob("*.tflite"))]
REGRESSIONS = sorted((ROOT / "tests" / "regressions").glob("*.bin"))


class Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hang()


def exercise_in_time(data: bytes, seconds: int = 30) -> list[str]:
    """``exercise``, failing the test if it runs longer than ``seconds`` (a hang)."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        return exercise(data)
    except Hang:
        pytest.fail(f"an input of {len(data)} bytes took more than {seconds} s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=fuzz_inputs(SMALL_SEEDS))
def test_mutated_models(data: bytes) -> None:
    assert exercise_in_time(data) == []


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.sampled_from(METADATA_SEEDS).flatmap(mutations))
def test_mutated_metadata_and_zips(data: bytes) -> None:
    """Models carrying metadata and appended zips (stored and deflated), corrupted."""
    assert exercise_in_time(data) == []


BUNDLE_SEEDS = bundle_seeds([p.read_bytes() for p in fixture_paths()
                             if p.stat().st_size <= 8_000])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.sampled_from(BUNDLE_SEEDS).flatmap(mutations))
def test_mutated_bundles(data: bytes) -> None:
    """Corrupted bundles: members read as declared or refused, within the inflate limit."""
    tracemalloc.start()
    try:
        assert exercise_bundle(data) == []
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * BUNDLE_LIMIT + 4 * len(data)


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in REGRESSIONS])
def test_regression(path: Path) -> None:
    """Each input that ever broke tflparse: no unexpected exception, and no hang."""
    assert exercise_in_time(path.read_bytes()) == []
