"""The benchmark script still runs (tiny sizes); it reports, so nothing is timed here."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

pytest.importorskip("ai_edge_litert.interpreter")
pytest.importorskip("tflite")
pytestmark = [pytest.mark.litert, pytest.mark.slow]


def test_benchmark_runs_at_tiny_sizes() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--repeats", "1",
         "--no-shared"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if line.startswith("| model"))
    for column in ("tflparse ms", "LiteRT ms", "tflite ms", "floor ms", "RSS MB tflparse"):
        assert column in header
    rows = [line for line in result.stdout.splitlines() if line.startswith("| per_axis_")]
    assert len(rows) == 2 and "nan" not in "".join(rows)
    assert "weight pass / numpy min+max:" in result.stdout
