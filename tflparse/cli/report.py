"""``tflparse report MODEL``: one self-contained HTML page (and a Model Explorer overlay).

The page (``-o``, default ``MODEL_STEM.report.html``) is built by :mod:`tflparse.report`; its
summary is what ``tflparse inspect MODEL`` prints. ``--model-explorer FILE.json`` also writes
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
from typing import TextIO

from .._loading import load
from ..audit import Finding
from ..explorer import node_data, write_overlays
from ..model import Model
from ..report import Analysis, PlotsUnavailable, analyse, default_output, render
from ..weights import model_weight_stats, operator_quantities
from . import inspect
from ._text import escape

__all__ = ["add_parser", "run", "write_model_explorer", "Progress"]


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
    if analysis is None:
        stats = model_weight_stats(model, skip_invalid=True)
        quantities = operator_quantities(model, {(s.subgraph, s.tensor): s for s in stats})
        analysis = Analysis(list(findings), stats, quantities)
    paths = write_overlays(target, node_data(model, findings, analysis.stats,
                                             analysis.quantities))
    sys.stderr.write(f"wrote {len(paths)} Model Explorer overlay file(s); view them with:\n"
                     f"  model-explorer {escape(model_path)} --node_data_paths "
                     f"{escape(','.join(paths))}\n")
    return paths


def _summary(path: str) -> str:
    """What ``tflparse inspect MODEL`` prints."""
    text = io.StringIO()
    inspect.run(argparse.Namespace(model=path, subgraph=0, all=False), text)
    return text.getvalue()


def run(args: argparse.Namespace, out: TextIO) -> int:
    model = load(args.model)
    try:
        from .._plots import Plotter

        plotter = Plotter()
    except PlotsUnavailable as error:
        sys.stderr.write(f"tflparse: error: {error}\n")
        return 2
    progress = Progress(sys.stderr)
    try:
        analysis = analyse(model, progress)
        page = render(model, analysis, title=os.path.basename(args.model),
                      summary=_summary(args.model), plotter=plotter, progress=progress)
    finally:
        progress.clear()
    target = args.output or default_output(args.model)
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(page)
    out.write(f"wrote {escape(target)} ({len(page.encode('utf-8')):,} bytes, "
              f"{len(analysis.findings)} finding(s), {len(analysis.stats)} quantized "
              "constant(s))\n")
    if args.model_explorer:
        write_model_explorer(args.model_explorer, model, args.model, analysis.findings,
                             analysis)
    return 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report", help="a self-contained HTML report with per-channel weight plots",
        description="Write one HTML page that works offline: the model summary, input/output "
                    "quantization, audit findings linked to their tensors, per-channel range "
                    "and levels-used plots of every quantized constant, the weight scales "
                    "across the model and the tensor table. Needs matplotlib "
                    "(pip install 'tflparse[report]').")
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("-o", "--output", metavar="FILE.html",
                        help="where to write the page (default MODEL_STEM.report.html)")
    add_model_explorer_option(parser)


def add_model_explorer_option(parser: argparse.ArgumentParser) -> None:
    """``--model-explorer FILE.json`` (shared by ``report`` and ``audit``)."""
    parser.add_argument("--model-explorer", metavar="FILE.json",
                        help="also write findings and per-node statistics as Model Explorer "
                             "node data: FILE.json (finding counts) and FILE.levels.json, "
                             "FILE.scale-spread.json, FILE.multiplier.json beside it")
