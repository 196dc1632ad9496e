"""``tflparse report MODEL``: one self-contained HTML page (and a Model Explorer overlay).

The page (``-o``, default ``MODEL_STEM.report.html``) is built by :mod:`tflparse.report`; its
summary is what ``tflparse inspect MODEL`` prints. ``BUNDLE!/MEMBER`` reports that member
(default ``MEMBER_STEM.report.html``); a whole bundle gives one page with every model in it
(default ``BUNDLE_STEM.report.html``; a member that cannot be read is listed with why, and
the exit status is then 2). ``--model-explorer FILE.json`` also writes
the findings and per-node statistics as Model Explorer node data (:mod:`tflparse.explorer`);
``tflparse audit MODEL --model-explorer FILE.json`` writes the same files without the page.
Without matplotlib (the ``report`` extra) the command says in one line how to install it.
On a terminal, progress goes to stderr.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from .._errors import InvalidModelError, describe
from .._sources import open_member
from ..bundle import SEPARATOR, Bundle
from ..model import Model
from . import inspect
from ._text import NO_MODEL, UsageError, escape, failure

if TYPE_CHECKING:
    from .._plots import Plotter
    from ..audit import Finding
    from ..report import Analysis

# The report, explorer, weights and audit modules are imported when a command needs them, so
# the other commands do not load them.

__all__ = ["add_parser", "run", "write_model_explorer", "refuse_bundle", "Progress"]


class Progress:
    """``stage NN%`` on one self-erasing line of a terminal; silent elsewhere."""

    def __init__(self, stream: TextIO, every: float = 0.1) -> None:
        self.stream = stream
        self.active = stream.isatty()
        self.every = every
        self.last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.active or (now - self.last < self.every and done < total):
            return
        self.last = now
        share = 100 * done // total if total > 0 else 100
        self.stream.write(f"\r\x1b[K{stage} {share}%")
        self.stream.flush()

    def clear(self) -> None:
        if self.active:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def write_model_explorer(target: str, model: Model, model_path: str, findings: Sequence[Finding],
                         analysis: Analysis | None = None) -> list[str]:
    """Write the overlay files for ``model`` and say on stderr how to view them."""
    from ..audit import Context
    from ..explorer import node_data, write_overlays
    from ..report import measured

    if analysis is None:
        analysis = measured(Context(model), list(findings))
    paths = write_overlays(target, node_data(model, findings, analysis.stats,
                                             analysis.quantities))
    member = SEPARATOR in model_path and not os.path.lexists(model_path)
    sys.stderr.write(f"wrote {len(paths)} Model Explorer overlay file(s); view them with"
                     f"{' (the member extracted to a file)' if member else ''}:\n"
                     f"  model-explorer {escape(model_path)} --node_data_paths "
                     f"{escape(','.join(paths))}\n")
    return paths


def _summary(path: str) -> str:
    """What ``tflparse inspect MODEL`` prints."""
    text = io.StringIO()
    inspect.run(argparse.Namespace(model=path, subgraph=0, all=False), text)
    return text.getvalue()


def refuse_bundle(name: str, found: Model | Bundle) -> None:
    """``--model-explorer`` draws on one model's graph: a whole bundle is a usage error."""
    if isinstance(found, Bundle):
        raise UsageError("--model-explorer needs one model: name a member of the bundle as "
                         f"{escape(name)}{SEPARATOR}MEMBER")


def _title(name: str) -> str:
    """The file name, with the members after it: ``b.task!/m.tflite`` for ``x/b.task!/...``."""
    path, separator, members = name.partition(SEPARATOR)
    return f"{os.path.basename(path)}{separator}{members}"


def run(args: argparse.Namespace, out: TextIO) -> int:
    from ..report import PlotsUnavailable, analyse, default_output, render

    name, found = open_member(args.model)
    with found:
        if args.model_explorer:
            refuse_bundle(name, found)
        try:
            from .._plots import Plotter

            plotter = Plotter()
        except PlotsUnavailable as error:
            sys.stderr.write(f"tflparse: error: {error}\n")
            return 2
        progress = Progress(sys.stderr)
        analysis: Analysis | None = None
        try:
            if isinstance(found, Bundle):
                page, status, facts = _bundle_page(name, found, plotter, progress)
            else:
                analysis = analyse(found, progress)
                page = render(found, analysis, title=_title(name), summary=_summary(name),
                              plotter=plotter, progress=progress)
                status, facts = 0, (f"{len(analysis.findings)} finding(s), "
                                    f"{len(analysis.stats)} quantized constant(s)")
        finally:
            progress.clear()
        target = args.output or default_output(name.rsplit(SEPARATOR, 1)[-1])
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(page)
        out.write(f"wrote {escape(target)} ({len(page.encode('utf-8')):,} bytes, {facts})\n")
        if args.model_explorer and isinstance(found, Model) and analysis is not None:
            write_model_explorer(args.model_explorer, found, name, analysis.findings,
                                 analysis)
    return status


def _bundle_page(name: str, bundle: Bundle, plotter: Plotter, progress: Progress
                 ) -> tuple[str, int, str]:
    """The page of every model in ``bundle``, the exit status and what the page holds."""
    from ..report import BundlePage, analyse

    page = BundlePage(_title(name), plotter)
    models = unreadable = 0
    for member, model in bundle.models():
        if isinstance(model, InvalidModelError):
            unreadable += 1
            sys.stderr.write(f"tflparse: error: {failure(member, model)}\n")
            page.add_error(member, describe(model, member))
            continue
        models += 1

        def step(stage: str, done: int, total: int, member: str = member) -> None:
            progress(f"{escape(member)[-40:]}: {stage}", done, total)
        analysis = analyse(model, step)
        page.add(member, model, analysis, _summary(member), step)
    if not models and not unreadable:
        raise InvalidModelError.whole(name, NO_MODEL)
    return page.html(), 2 if unreadable else 0, f"{models} model(s), {unreadable} unreadable"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report", help="a self-contained HTML report with per-channel weight plots",
        description="Write one HTML page that works offline: the model summary, input/output "
                    "quantization, audit findings linked to their tensors, per-channel range "
                    "and levels-used plots of every quantized constant, the weight scales "
                    "across the model and the tensor table. Needs matplotlib "
                    "(pip install 'tflparse[report]').")
    parser.add_argument("model", metavar="MODEL",
                        help="a .tflite file, a bundle (.task: one page with every model in "
                             "it) or BUNDLE!/MEMBER")
    parser.add_argument("-o", "--output", metavar="FILE.html",
                        help="where to write the page (default MODEL_STEM.report.html)")
    add_model_explorer_option(parser)


def add_model_explorer_option(parser: argparse.ArgumentParser) -> None:
    """``--model-explorer FILE.json`` (shared by ``report`` and ``audit``)."""
    parser.add_argument("--model-explorer", metavar="FILE.json",
                        help="also write findings and per-node statistics as Model Explorer "
                             "node data: FILE.json (finding counts) and FILE.levels.json, "
                             "FILE.scale-spread.json, FILE.multiplier.json beside it")
