"""``tflparse audit PATH...``: run the audit rules on files, bundles and folders.

One line per finding (or JSON Lines with ``--json``) and a summary. Every model in a bundle
(``.task``, nested ones too) is audited and named ``hand.task!/hand_detector.tflite``. Exit 2
if an input could not be read or the paths hold no model, else 1 if a finding is at or above
``--fail-on``, else 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from .._errors import InvalidModelError
from .._sources import DEFAULT_PATTERNS, files, open_member
from ..model import Model
from ._text import UsageError, ellipsize, escape, jsonable, write_table
from .report import add_model_explorer_option, refuse_bundle, write_model_explorer
from .weights import progress_bar

if TYPE_CHECKING:
    from ..audit import FileReport, Finding

__all__ = ["add_parser", "run"]

# The audit package (its rules), json, the process pool and Dask are imported when this
# command runs and needs them, so the other commands do not load them.


def _jobs(text: str) -> int:
    """``--jobs``: a count of worker threads, 0 for one per CPU."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value



def _reports(found: list[str | tuple[str, OSError]], jobs: int, weights: bool, bar: bool,
             dask: str | None) -> Iterator[list[FileReport]]:
    """The reports of each file (one per model; a bundle has several), in order: audited in
    ``jobs`` worker processes when ``jobs > 1``, on a Dask cluster with ``dask`` (an address,
    or ``local`` for a LocalCluster of ``jobs`` workers); ``bar`` draws the progress of long
    weight passes (in this process only)."""
    from ..audit import audit_file

    paths = [item for item in found if isinstance(item, str)]
    if dask is not None:
        from ..batch import audit_files, dask_executor

        with dask_executor(dask, jobs) as executor:
            yield from _merge(found, audit_files(paths, executor, ordered=True,
                                                 weights=weights))
    elif jobs > 1 and len(paths) > 1:
        from ..batch import audit_in_processes

        yield from _merge(found, audit_in_processes(paths, jobs, weights=weights))
    else:
        yield from _merge(found, (audit_file(p, weights=weights,
                                             progress=progress_bar(p) if bar else None)
                                  for p in paths))


def _merge(found: list[str | tuple[str, OSError]], results: Iterator[list[FileReport]]
           ) -> Iterator[list[FileReport]]:
    from ..audit import audit_item

    for item in found:
        yield next(results) if isinstance(item, str) else [audit_item(*item)]


def _each(lists: Iterator[list[FileReport]]) -> Iterator[tuple[int, FileReport]]:
    """Each report, with how many files are done once it is (a bundle gives several)."""
    for done, reports in enumerate(lists, 1):
        for report in reports:
            yield done, report


def _location(finding: Finding) -> str:
    loc = finding.location
    parts = []
    if loc.subgraph is not None:
        parts.append(f"subgraph {loc.subgraph}")
    if loc.operator is not None:
        parts.append(f"operator {loc.operator}")
    if loc.tensor is not None:
        name = f" '{ellipsize(escape(loc.tensor_name), 40)}'" if loc.tensor_name else ""
        parts.append(f"tensor {loc.tensor}{name}")
    if loc.buffer is not None:
        parts.append(f"buffer {loc.buffer}")
    return f" [{', '.join(parts)}]" if parts else ""


def _write_report(out: TextIO, report: FileReport) -> None:
    path = escape(report.path)
    for finding in report.findings:
        out.write(f"{path}: {finding.severity}: {finding.rule}{_location(finding)}: "
                  f"{escape(finding.message)}\n")


def _one_model(path: str) -> None:
    """Refuse a bundle for ``--model-explorer`` before anything is audited (what cannot be
    read at all is left to the audit, which says why)."""
    try:
        name, opened = open_member(path)
    except (InvalidModelError, OSError):
        return
    with opened:
        refuse_bundle(name, opened)


def run(args: argparse.Namespace, out: TextIO) -> int:
    from ..audit import RULES, SEVERITIES

    if args.list_rules:
        write_table(out, ("rule", "severity", "what it finds"),
                     [(r.id, r.severity, r.summary) for r in RULES.values()],
                     (28, 8, 200), indent="")
        return 0
    if not args.paths:
        raise UsageError("audit needs at least one PATH (a file or a folder)")
    if args.model_explorer and (len(args.paths) != 1 or os.path.isdir(args.paths[0])):
        raise UsageError("--model-explorer needs exactly one model file (or BUNDLE!/MEMBER)")
    if args.model_explorer:
        _one_model(args.paths[0])
    found = list(files(args.paths, args.pattern or DEFAULT_PATTERNS))
    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    if args.dask == "local" and args.jobs == 1:
        jobs = os.cpu_count() or 1  # a cluster of one worker is no cluster
    total = sum(isinstance(item, str) for item in found)
    progress = sys.stderr.isatty() and total >= 10
    threshold = SEVERITIES.index(args.fail_on)
    audited = unreadable = failing = 0
    severities: Counter[str] = Counter()
    with_findings = 0
    bar = sys.stderr.isatty() and not args.json and args.weights
    for done, report in _each(_reports(found, jobs, args.weights, bar, args.dask)):
        audited += 1
        if progress:
            sys.stderr.write(f"\r\x1b[K[{done}/{total}] {ellipsize(escape(report.path), 60)}")
            sys.stderr.flush()
        if report.error is not None:
            unreadable += 1
            if progress:
                sys.stderr.write("\r\x1b[K")
            sys.stderr.write(f"tflparse: error: {escape(report.path)}: "
                             f"{escape(report.error)}\n")
        severities.update(f.severity for f in report.findings)
        with_findings += bool(report.findings)
        failing += any(SEVERITIES.index(f.severity) >= threshold for f in report.findings)
        if args.json:
            import json

            out.write(json.dumps(jsonable(report.to_json()), allow_nan=False,
                                 ensure_ascii=False) + "\n")
        elif report.findings:
            if progress:
                sys.stderr.write("\r\x1b[K")
            _write_report(out, report)
        out.flush()
    if progress:
        sys.stderr.write("\r\x1b[K")
    if not audited:
        raise UsageError(f"no model found in {', '.join(map(escape, args.paths))} (folders are "
                         f"searched for {' '.join(args.pattern or DEFAULT_PATTERNS)})")
    if not args.json:
        counts = ", ".join(f"{severities[s]} {s}" for s in reversed(SEVERITIES))
        out.write(f"audited {audited - unreadable} file(s), {with_findings} with findings "
                  f"({counts}), {unreadable} unreadable\n")
    if unreadable:
        return 2
    if args.model_explorer:
        name, model = open_member(args.paths[0])
        with model:
            assert isinstance(model, Model)  # _one_model said so
            write_model_explorer(args.model_explorer, model, name, report.findings)
    return 1 if failing else 0


#: what argparse would print for ``--fail-on``'s choices (it would import the audit package to
#: list them; tests check this against ``SEVERITIES``)
FAIL_ON_METAVAR = "{error,warning,info}"


class _Severities:
    """``--fail-on``'s choices, most severe first, read from the audit package only when
    argparse checks a value."""

    def __contains__(self, value: object) -> bool:
        return value in list(self)

    def __iter__(self) -> Iterator[str]:
        from ..audit import SEVERITIES

        return iter(SEVERITIES[::-1])


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "audit", help="check files and folders for quantization and loading problems",
        description="Check models for quantization and loading problems. Folders (local, "
                    "or URLs with the remote extra: s3://bucket/models/, https://host/dir/) "
                    "are searched recursively for --pattern files; every model in a bundle "
                    "(.task) is audited, named BUNDLE!/MEMBER. Exit 2 if an input could not "
                    "be read or the paths hold no model, else 1 if a finding is at or above "
                    "--fail-on, else 0.")
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="model files, bundles (.task), BUNDLE!/MEMBER, folders")
    parser.add_argument("--json", action="store_true",
                        help="JSON Lines: one {path, findings, error} record per model")
    parser.add_argument("--fail-on", choices=_Severities(), default="error",
                        metavar=FAIL_ON_METAVAR,
                        help="lowest severity that makes the exit status 1 (default error)")
    parser.add_argument("--jobs", "-j", type=_jobs, default=1, metavar="N",
                        help="audit N files in parallel (0: one per CPU; default 1)")
    parser.add_argument("--dask", metavar="SCHEDULER",
                        help="audit on a Dask cluster: a scheduler address, or `local` for a "
                             "LocalCluster of --jobs worker processes (extra tflparse[dask])")
    parser.add_argument("--pattern", action="append", metavar="GLOB",
                        help="file names to audit in folders (repeatable; default "
                             f"{' '.join(DEFAULT_PATTERNS)})")
    parser.add_argument("--no-weights", dest="weights", action="store_false",
                        help="skip the pass over the weights' values (metadata only)")
    parser.add_argument("--list-rules", action="store_true", help="print the rules and exit")
    add_model_explorer_option(parser)
