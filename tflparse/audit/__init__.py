"""Audit rules: quantization and loadability problems found by reading a model, not running it.

Each rule is one small function registered with :func:`rule`, which gives it a stable id, a
severity and a one-line summary; :data:`RULES` is the table of all of them, in the order they
run. A rule receives a :class:`Context` (the model plus facts computed once: readable tensors,
operators, LiteRT's construction result) and yields ``(Location, message)`` pairs.
:func:`audit_model` runs every rule; a rule that meets a malformed part of the model (any
``ValueError``, which includes :class:`InvalidModelError`) becomes one error finding of that
rule instead of a traceback.

The registry and the shared facts are in ``_registry``; the rules in ``_rules`` (following the
TFLite 8-bit and 16x8 quantization specification).

>>> import tflparse
>>> from tflparse.audit import audit_model
>>> [f.rule for f in audit_model(tflparse.load("fixtures/mnist_int8.tflite"))]
[]
"""

from __future__ import annotations

import os
from typing import Any, Callable, NamedTuple

from .._errors import InvalidModelError, describe
from .._loading import load
from .._sources import expand_file
from ..model import Model
from ._registry import RULES, SEVERITIES, Context, Finding, Location, Rule, rule

# The rule modules, imported in the order their rules run (importing one registers its
# rules). A new rule module is a new file in this package plus one import line here.
# isort: off
from . import _rules  # noqa: F401
from . import _weights  # noqa: F401
from . import _metadata  # noqa: F401
# isort: on

__all__ = ["SEVERITIES", "Location", "Finding", "Rule", "RULES", "rule", "Context",
           "FileReport", "audit_model", "run_rules", "audit_path", "audit_file", "audit_item"]


# --------------------------------------------------------------------------------------------
# Running the rules


#: called with (bytes read, bytes in all) during the pass over the weights
Progress = Callable[[int, int], None]


def audit_model(model: Model, rules: list[str] | None = None, *, weights: bool = True,
                progress: Progress | None = None) -> list[Finding]:
    """Run the rules (all, or those named) on a model; never raises for a malformed model.

    ``weights=False`` skips the pass over the constants' values (the weight rules then see
    scales and types only); ``progress(done, total)`` reports that pass in bytes.
    """
    return run_rules(Context(model, weights, progress), rules)


def run_rules(ctx: Context, rules: list[str] | None = None) -> list[Finding]:
    """Run the rules (all, or those named) with a :class:`Context` the caller keeps, so what
    the rules computed (``ctx.weight_stats``, ``ctx.operator_quantities``) is reused, not
    computed again; never raises for a malformed model."""
    findings: list[Finding] = []
    for rule_id, entry in RULES.items():
        if rules is not None and rule_id not in rules:
            continue
        try:
            for hit in entry.check(ctx):
                severity = hit[2] if len(hit) == 3 else entry.severity
                findings.append(Finding(rule_id, severity, hit[0], hit[1]))
        except ValueError as error:  # InvalidModelError and the view's other ValueErrors
            findings.append(Finding(rule_id, "error", Location(),
                                    f"the rule could not finish: {error}. Hint: the model is "
                                    "malformed where this rule reads it"))
    return findings


class FileReport(NamedTuple):
    """The audit of one file: findings, or ``error`` when the file could not be read."""

    path: str
    findings: list[Finding]
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "findings": [f.to_json() for f in self.findings],
                "error": self.error}


def audit_path(path: str | os.PathLike[str], rules: list[str] | None = None, *,
               weights: bool = True, progress: Progress | None = None) -> FileReport:
    """Audit one model file; unreadable files give a report with ``error`` set, never an
    exception. (:func:`audit_file` also takes bundles.) ``weights`` and ``progress`` are
    passed to :func:`audit_model`."""
    name = os.fspath(path)
    try:
        model = load(name)
    except (InvalidModelError, OSError) as error:
        return audit_item(name, error)
    try:
        return audit_item(name, model, rules, weights=weights, progress=progress)
    finally:
        model.close()


def audit_item(name: str, found: Model | InvalidModelError | OSError,
               rules: list[str] | None = None, *, weights: bool = True,
               progress: Progress | None = None) -> FileReport:
    """The report on one :func:`tflparse._sources.expand` item: the model's findings, or the
    error that kept it from being read."""
    if isinstance(found, Model):
        try:
            return FileReport(name, audit_model(found, rules, weights=weights,
                                                progress=progress), None)
        except OSError as error:  # a network fault while reading a buffer: no partial record
            found = error
    return FileReport(name, [], describe(found, name))


def audit_file(path: str | os.PathLike[str], rules: list[str] | None = None, *,
               weights: bool = True, progress: Progress | None = None) -> list[FileReport]:
    """Audit a model file, or every model in a bundle (one report each, named
    ``bundle.task!/member.tflite``); never raises for unreadable input."""
    return [audit_item(name, found, rules, weights=weights, progress=progress)
            for name, found in expand_file(os.fspath(path))]

