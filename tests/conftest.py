"""Shared test helpers: where the real third-party models live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI draws the same examples every run (reproducible); local runs explore new ones.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SHARED_MODELS = Path(os.environ.get("TFLPARSE_SHARED_MODELS", ROOT.parent / "shared" / "models"))


def shared_model_paths() -> list[Path]:
    """Every model file in ../shared/models (empty when the folder is absent)."""
    if not SHARED_MODELS.is_dir():
        return []
    return sorted(p for p in SHARED_MODELS.iterdir() if p.suffix in (".tflite", ".bin"))


def shared_models_param() -> list[object]:
    """Parametrize values for the shared models, or one skipped case when there are none."""
    paths = shared_model_paths()
    if not paths:
        return [pytest.param(None, marks=pytest.mark.skip(
            reason=f"no shared models at {SHARED_MODELS}"), id="no-shared-models")]
    return [pytest.param(p, id=p.name) for p in paths]


def fixture_paths() -> list[Path]:
    return sorted(FIXTURES.glob("*.tflite"))
