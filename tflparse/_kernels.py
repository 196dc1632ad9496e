"""Placeholder until schema/probe_litert.py writes the measured tables."""

from __future__ import annotations

SUPPORTED_VERSIONS: dict[int, tuple[int, int]] = {code: (1, 1 << 30) for code in range(210)}
SCRATCH_TENSORS: dict[int, int] = {}
