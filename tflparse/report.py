"""A self-contained HTML report of a model: summary, findings and per-channel weight plots.

:func:`analyse` gathers what a report shows (audit findings, per-channel statistics of every
quantized constant, the requantization quantities of conv and fully-connected operators);
:func:`render` turns them into one HTML page that needs nothing from the network: CSS and the
plots (SVG drawn by matplotlib, the ``report`` extra) are inline, and a Content-Security-Policy
forbids any fetch. Every string read from the file is HTML-escaped, with control characters
shown as ``\\xNN``.

The page holds, in order: the summary (what ``tflparse inspect`` prints), the input/output
quantization, the findings (most severe first, each linking to its tensor or operator), the
scales of every weight tensor in layer order, one section per quantized weight (those with
findings first and open) with its per-channel range and levels-used plots, a table of the
quantized int32/int64 constants (biases), the operators and the tensor table.
"""

from __future__ import annotations

import html
import math
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import __version__
from ._dtypes import integer_range, type_info
from ._errors import InvalidModelError
from ._plots import INSTALL_HINT, MAX_BINS, ChannelView, PlotsUnavailable, Plotter, ScaleRow
from ._schema import QuantizationDetails
from .audit import SEVERITIES, Finding, audit_model
from .audit._weights import (
    CLIPPING_MIN_VALUES,
    CLIPPING_SHARE,
    SCALE_SPREAD_MIN,
    _low_range_limit,
)
from .model import Model, Tensor
from .weights import OperatorQuant, WeightStats, model_weight_stats, operator_quantities

__all__ = ["Analysis", "INSTALL_HINT", "PlotsUnavailable", "Progress", "analyse", "render",
           "default_output"]

#: progress callback: (what is being done, steps done, steps in all)
Progress = Callable[[str, int, int], None]
_SCALE_RULES = frozenset({"scale-spread"})
#: what the weight plots of a page may take together, roughly: a model with many weight
#: tensors gets fewer (coarser) channel groups per plot, down to 32
PLOT_BUDGET_BYTES = 3_000_000
_PLOT_BYTES, _GROUP_BYTES, _FEWEST_GROUPS = 7_000, 140, 32  # measured on matplotlib's SVG
# C0 and C1 controls (and DEL) shown as \xNN: the page never carries them raw
_CONTROLS = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}


def _h(text: object) -> str:
    """Text from the file (or anything) made safe for HTML content and attributes."""
    return html.escape(str(text).translate(_CONTROLS), quote=True)


def _pre(text: str) -> str:
    """Multi-line text for a ``<pre>``: line breaks kept, other controls escaped."""
    return "\n".join(_h(line) for line in text.split("\n"))


@dataclass
class Analysis:
    """What a report shows, computed once (also what the Model Explorer overlay needs)."""

    findings: list[Finding]
    stats: list[WeightStats]
    quantities: list[OperatorQuant]


def analyse(model: Model, progress: Progress | None = None) -> Analysis:
    """Audit ``model`` and measure its quantized constants and weight operators."""
    def step(stage: str) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda done, total: progress(stage, done, total)

    findings = audit_model(model, progress=step("audit: reading weights"))
    stats = model_weight_stats(model, step("reading weights"), skip_invalid=True)
    try:
        quantities = operator_quantities(model, {(s.subgraph, s.tensor): s for s in stats})
    except InvalidModelError:
        quantities = []
    return Analysis(findings, stats, quantities)


# --------------------------------------------------------------------------------------------
# Page pieces


def _num(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def _shape(values: Iterable[int]) -> str:
    return "[" + ",".join(str(v) for v in values) + "]"


def _type_name(tensor_type: int) -> str:
    info = type_info(tensor_type)
    return info.name.lower() if info is not None else f"type{tensor_type}"


class _Anchors:
    """Where a tensor or operator is shown on the page."""

    def __init__(self, plotted: set[tuple[int, int]]) -> None:
        self.plotted = plotted

    def tensor(self, subgraph: int, index: int) -> str:
        kind = "w" if (subgraph, index) in self.plotted else "t"
        return f"#{kind}{subgraph}-{index}"

    @staticmethod
    def operator(subgraph: int, index: int) -> str:
        return f"#op{subgraph}-{index}"

    def where(self, finding: Finding) -> str:
        """The finding's location as HTML, linked to its tensor or operator."""
        loc = finding.location
        parts = []
        if loc.operator is not None and loc.subgraph is not None:
            parts.append(f'<a href="{self.operator(loc.subgraph, loc.operator)}">'
                         f"operator {loc.operator}</a>")
        if loc.tensor is not None and loc.subgraph is not None:
            name = f" {_h(loc.tensor_name)}" if loc.tensor_name else ""
            parts.append(f'<a href="{self.tensor(loc.subgraph, loc.tensor)}">'
                         f"tensor {loc.tensor}{name}</a>")
        if loc.buffer is not None:
            parts.append(f"buffer {loc.buffer}")
        if loc.subgraph is not None and len(parts) < 2:
            parts.insert(0, f"subgraph {loc.subgraph}")
        return ", ".join(parts) if parts else "model"


def _severity_order(findings: Sequence[Finding]) -> list[Finding]:
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: -rank.get(f.severity, 0))


def _badge(severity: str) -> str:
    return f'<span class="sev {_h(severity)}">{_h(severity)}</span>'


def _findings_section(findings: Sequence[Finding], anchors: _Anchors) -> str:
    counts: dict[str, int] = defaultdict(int)
    for finding in findings:
        counts[finding.severity] += 1
    summary = ", ".join(f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts[s])
    out = [f'<section id="findings"><h2>Audit findings ({len(findings)}'
           f'{": " + summary if summary else ""})</h2>']
    if not findings:
        out.append("<p>No findings.</p></section>")
        return "".join(out)
    out.append('<table class="findings"><thead><tr><th>severity</th><th>rule</th>'
               "<th>where</th><th>message</th></tr></thead><tbody>")
    for finding in _severity_order(findings):
        out.append(f"<tr><td>{_badge(finding.severity)}</td><td><code>{_h(finding.rule)}"
                   f"</code></td><td>{anchors.where(finding)}</td>"
                   f"<td>{_h(finding.message)}</td></tr>")
    out.append("</tbody></table></section>")
    return "".join(out)


def _io_section(model: Model, anchors: _Anchors) -> str:
    out = ['<section id="io"><h2>Inputs and outputs</h2>']
    if not model.subgraphs:
        out.append("<p>The model has no subgraph.</p></section>")
        return "".join(out)
    subgraph = model.subgraphs[0]
    out.append('<table><thead><tr><th></th><th>tensor</th><th>name</th><th>dtype</th>'
               "<th>shape</th><th>scale</th><th>zero point</th><th>real range</th></tr>"
               "</thead><tbody>")
    for role, indices in (("input", subgraph.inputs), ("output", subgraph.outputs)):
        for index in indices.tolist():
            if not 0 <= index < len(subgraph.tensors):
                out.append(f"<tr><td>{role}</td><td>t{index}</td><td colspan=6>no such tensor"
                           "</td></tr>")
                continue
            try:
                tensor = subgraph.tensors[index]
                cells = _io_cells(tensor)
                name, dtype, shape = (_h(tensor.name), _type_name(tensor.type),
                                      _shape(tensor.shape.tolist()))
            except InvalidModelError as error:
                out.append(f"<tr><td>{role}</td><td>t{index}</td><td colspan=6>unreadable: "
                           f"{_h(error)}</td></tr>")
                continue
            out.append(f'<tr><td>{role}</td><td><a href="{anchors.tensor(0, index)}">t{index}'
                       f"</a></td><td>{name}</td><td>{dtype}</td><td>{shape}</td>{cells}</tr>")
    out.append("</tbody></table><p class=note>Subgraph 0; a real range is "
               "scale &times; (q &minus; zero point) over the type's integers.</p></section>")
    return "".join(out)


def _io_cells(tensor: Tensor) -> str:
    q = tensor.quantization
    scale = None if q is None else q.scale
    if scale is None or len(scale) != 1:
        text = "per-axis" if scale is not None and len(scale) > 1 else "&ndash;"
        return f"<td>{text}</td><td></td><td></td>"
    zps = q.zero_point if q is not None else None
    zp = int(zps[0]) if zps is not None and len(zps) else 0
    s = float(scale[0])
    info = type_info(tensor.type)
    span = ""
    if info is not None and info.numpy is not None and info.numpy.kind in "iu":
        low, high = integer_range(int(tensor.type))
        span = f"{_num(s * (low - zp))} .. {_num(s * (high - zp))}"
    return f"<td>{_num(s)}</td><td>{zp}</td><td>{span}</td>"


def _quant_cell(tensor: Tensor) -> str:
    q = tensor.quantization
    if q is None:
        return ""
    if q.details_type:
        return "blockwise" if q.details_type == QuantizationDetails.BlockwiseQuantization \
            else f"details {q.details_type}"
    scale = q.scale
    if scale is None or not len(scale):
        return ""
    if len(scale) == 1:
        zps = q.zero_point
        zp = int(zps[0]) if zps is not None and len(zps) else 0
        return f"s={_num(float(scale[0]))} zp={zp}"
    return (f"axis {q.quantized_dimension}: {len(scale)} scales "
            f"{_num(float(np.min(scale)))}..{_num(float(np.max(scale)))}")


def _tensor_table(model: Model, counts: dict[tuple[int, int], int], anchors: _Anchors,
                  progress: Progress | None) -> str:
    out = ['<section id="tensors"><h2>Tensors</h2>']
    for subgraph in model.subgraphs:
        total = len(subgraph.tensors)
        out.append(f"<details{' open' if total <= 200 else ''}><summary>subgraph "
                   f"{subgraph.index} {_h(subgraph.name)}: {total} tensors</summary>"
                   '<table class="tensors"><thead><tr><th>#</th><th>name</th><th>dtype</th>'
                   "<th>shape</th><th>quantization</th><th>constant bytes</th><th>findings"
                   "</th></tr></thead><tbody>")
        holds, sizes = model.buffer_columns.sizes_or_zero(subgraph.tensor_columns.buffer)
        for i in range(total):
            key = (subgraph.index, i)
            found = counts.get(key, 0)
            plotted = (f' <a href="{anchors.tensor(*key)}">stats</a>'
                       if key in anchors.plotted else "")
            try:
                t = subgraph.tensors[i]
                cells = (f"<td>{_h(t.name)}{plotted}</td><td>{_type_name(t.type)}</td>"
                         f"<td>{_shape(t.shape.tolist())}</td><td>{_h(_quant_cell(t))}</td>")
            except InvalidModelError as error:
                cells = f"<td colspan=4>unreadable: {_h(error)}</td>"
            size = f"{int(sizes[i]):,}" if holds[i] else ""
            out.append(f'<tr id="t{subgraph.index}-{i}"><td>{i}</td>{cells}<td>{size}</td>'
                       f"<td>{found or ''}</td></tr>")
            if progress is not None and i % 1000 == 999:
                progress("tensor table", i + 1, total)
        out.append("</tbody></table></details>")
    out.append("</section>")
    return "".join(out)


def _operator_table(model: Model, counts: dict[tuple[int, int], int],
                    quantities: dict[tuple[int, int], OperatorQuant], anchors: _Anchors) -> str:
    out = ['<section id="operators"><h2>Operators</h2>']
    codes = model.operator_codes
    for subgraph in model.subgraphs:
        ops = subgraph.operators
        out.append(f"<details{' open' if len(ops) <= 200 else ''}><summary>subgraph "
                   f"{subgraph.index} {_h(subgraph.name)}: {len(ops)} operators</summary>"
                   '<table class="ops"><thead><tr><th>#</th><th>operator</th><th>inputs</th>'
                   "<th>outputs</th><th>max multiplier</th><th>findings</th></tr></thead>"
                   "<tbody>")
        for op in ops:
            index = op.opcode_index
            name = codes[index].name if 0 <= index < len(codes) else f"opcode {index}?"

            def links(indices: np.ndarray, si: int = subgraph.index) -> str:
                return " ".join(f'<a href="{anchors.tensor(si, t)}">t{t}</a>' if t >= 0 else "-"
                                for t in indices.tolist())
            quantity = quantities.get((subgraph.index, op.index))
            multiplier = ""
            if quantity is not None and len(quantity.multiplier):
                multiplier = _num(float(np.nanmax(quantity.multiplier)))
            found = counts.get((subgraph.index, op.index), 0)
            out.append(f'<tr id="op{subgraph.index}-{op.index}"><td>{op.index}</td>'
                       f"<td>{_h(name)}</td><td>{links(op.inputs)}</td>"
                       f"<td>{links(op.outputs)}</td><td>{multiplier}</td>"
                       f"<td>{found or ''}</td></tr>")
        out.append("</tbody></table></details>")
    out.append("</section>")
    return "".join(out)


def _layer_order(model: Model, stats: Sequence[WeightStats]) -> list[WeightStats]:
    """Constants in the order their first reader runs (unread ones last, in file order)."""
    first: dict[tuple[int, int], tuple[int, int]] = {}
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            for t in op.inputs.tolist():
                first.setdefault((subgraph.index, t), (subgraph.index, op.index))
    late = (1 << 62, 0)
    return sorted(stats, key=lambda s: (first.get((s.subgraph, s.tensor), late),
                                        s.subgraph, s.tensor))


def _bits(tensor_type: int) -> int:
    info = type_info(tensor_type)
    return info.bits if info is not None else 0


def _view(stats: WeightStats) -> ChannelView:
    shape = _shape(stats.shape)
    if stats.blockwise:
        axis = f"block (blocks along axis {stats.axis}, in scale-tensor order)"
    elif stats.axis is not None:
        axis = f"channel along axis {stats.axis}"
    elif stats.channel_axis is not None:
        axis = f"channel along axis {stats.channel_axis} (one scale for all)"
    else:
        axis = "the whole tensor (one scale)"
    full = 2 * max(stats.type_max - int(np.min(stats.zero_point)),
                   int(np.max(stats.zero_point)) - stats.type_min) + 1
    return ChannelView(
        title=f"t{stats.tensor} {stats.name.translate(_CONTROLS)} "
              f"{_type_name(stats.type)}{shape}",
        axis_label=axis, real_min=stats.real_min, real_max=stats.real_max,
        levels=stats.levels, dead=stats.dead, clipped=_clipped(stats),
        full_levels=min(full, 1 << 40),
        # the low-range-use bound applies to weights (biases are wider than 16 bits)
        low_levels=2 * _low_range_limit(stats) + 1 if _bits(stats.type) <= 16 else 0)


def _clipped(stats: WeightStats) -> np.ndarray:
    """Channels the weight-clipping rule reports: values piled up at the type's extremes."""
    share = stats.at_extremes / max(stats.count, 1)
    flagged: np.ndarray = (share > CLIPPING_SHARE) & (stats.at_extremes >= CLIPPING_MIN_VALUES)
    return flagged


def _live_scales(stats: WeightStats) -> np.ndarray:
    """The scales of a per-axis tensor's live channels (one scale per tensor otherwise)."""
    if stats.axis is None:
        return np.asarray(stats.scale[:1], np.float64)
    live: np.ndarray = np.asarray(stats.scale, np.float64)[~np.asarray(stats.dead, bool)]
    return live


def _facts(stats: WeightStats) -> str:
    dead = int(np.sum(stats.dead))
    live = stats.levels[~stats.dead]
    clipped = int(np.sum(_clipped(stats)))
    scale = _live_scales(stats)
    spread = ""
    if len(scale) > 1 and float(np.min(scale)) > 0:
        spread = f", live scales max/min {_num(float(np.max(scale) / np.min(scale)))}"
    fewest = f"{int(live.min()):,}" if live.size else "-"
    return (f"{stats.channels:,} channel{'s' if stats.channels != 1 else ''}, "
            f"{stats.count:,} values each; dead {dead}, clipped {clipped}, "
            f"fewest levels (live) {fewest}{spread}")


def _finding_list(found: Sequence[Finding]) -> str:
    items = "".join(f"<li>{_badge(f.severity)} <code>{_h(f.rule)}</code> {_h(f.message)}</li>"
                    for f in found)
    return f"<ul>{items}</ul>" if items else ""


def _weight_section(entry: WeightStats, number: int, findings: Sequence[Finding],
                    plotter: Plotter, bins: int) -> str:
    """A weight tensor's folded (or, with findings, open) section with its channel plot."""
    found = _severity_order(findings)
    badge = _badge(found[0].severity) if found else ""
    count = f" &middot; {len(found)} finding(s)" if found else ""
    return (f'<details class="weight" id="w{entry.subgraph}-{entry.tensor}"'
            f"{' open' if found else ''}><summary>{badge}<b>#{number} t{entry.tensor} "
            f"{_h(entry.name)}</b> <span class=dim>{_type_name(entry.type)}"
            f"{_shape(entry.shape)} &middot; {_h(_facts(entry))}{count}</span></summary>"
            f"{_finding_list(found)}<div class=plot>{plotter.channels(_view(entry), bins)}</div>"
            "</details>")


def _wide_table(wide: Sequence[WeightStats],
                tensor_findings: dict[tuple[int, int], list[Finding]]) -> str:
    """Quantized int32/int64 constants (biases): how close their values come to the type's
    limit, and their findings; no plot (their levels say nothing about precision)."""
    if not wide:
        return ""
    out = [f"<h3>Quantized int32/int64 constants ({len(wide)}, usually biases)</h3>"
           '<table class="wide"><thead><tr><th>tensor</th><th>name</th><th>type</th>'
           "<th>channels</th><th>largest |q|</th><th>bits left</th><th>findings</th></tr>"
           "</thead><tbody>"]
    for entry in wide:
        largest = int(np.max(np.maximum(np.abs(entry.q_min), np.abs(entry.q_max))))
        left = math.log2(entry.type_max / largest) if largest else \
            float(entry.type_max.bit_length())
        found = _severity_order(tensor_findings.get((entry.subgraph, entry.tensor), []))
        out.append(f'<tr id="w{entry.subgraph}-{entry.tensor}"><td>t{entry.tensor}</td>'
                   f"<td>{_h(entry.name)}</td><td>{_type_name(entry.type)}"
                   f"{_shape(entry.shape)}</td><td>{entry.channels:,}</td><td>{largest:,}</td>"
                   f"<td>{left:.1f}</td><td>{_finding_list(found)}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def render(model: Model, analysis: Analysis, *, title: str, summary: str | None = None,
           plotter: Plotter | None = None, progress: Progress | None = None) -> str:
    """The report page of ``model`` as one HTML string.

    ``title`` names the model (its file name); ``summary`` is text shown as is (escaped), for
    example what ``tflparse inspect`` prints. Raises :class:`PlotsUnavailable` (an
    ImportError that says how to install the ``report`` extra) without matplotlib.
    """
    plotter = plotter or Plotter()
    stats = _layer_order(model, analysis.stats)
    anchors = _Anchors({(s.subgraph, s.tensor) for s in stats})
    quantities = {(q.subgraph, q.operator): q for q in analysis.quantities}
    tensor_findings: dict[tuple[int, int], list[Finding]] = defaultdict(list)
    op_counts: dict[tuple[int, int], int] = defaultdict(int)
    for finding in analysis.findings:
        loc = finding.location
        if loc.subgraph is None:
            continue
        if loc.tensor is not None:
            tensor_findings[(loc.subgraph, loc.tensor)].append(finding)
        if loc.operator is not None:
            op_counts[(loc.subgraph, loc.operator)] += 1
            quantity = quantities.get((loc.subgraph, loc.operator))
            if quantity is not None and loc.tensor is None:
                for t in (quantity.weights, quantity.bias):
                    if t is not None:
                        tensor_findings[(loc.subgraph, t)].append(finding)
    counts = {key: len(found) for key, found in tensor_findings.items()}

    # weights: constants of at most 16 bits, plotted; int32/int64 ones (biases) in a table
    weights = [s for s in stats if _bits(s.type) <= 16]
    wide = [s for s in stats if _bits(s.type) > 16]
    steps = len(weights) + 1
    if progress is not None:
        progress("plotting", 0, steps)
    scale_plot = ""
    if weights:
        rows = [ScaleRow(f"t{s.tensor}", _live_scales(s), any(
            f.rule in _SCALE_RULES for f in tensor_findings.get((s.subgraph, s.tensor), ())))
            for s in weights]
        scale_plot = plotter.scales(rows, 1 / SCALE_SPREAD_MIN)
    layer = {(s.subgraph, s.tensor): n for n, s in enumerate(weights)}
    sections = []
    ordered = [s for s in weights if (s.subgraph, s.tensor) in tensor_findings] + \
        [s for s in weights if (s.subgraph, s.tensor) not in tensor_findings]
    share = PLOT_BUDGET_BYTES / max(len(weights), 1)
    bins = min(MAX_BINS, max(_FEWEST_GROUPS, int((share - _PLOT_BYTES) / _GROUP_BYTES)))
    for done, entry in enumerate(ordered, 2):
        key = (entry.subgraph, entry.tensor)
        sections.append(_weight_section(entry, layer[key], tensor_findings.get(key, []),
                                        plotter, bins))
        if progress is not None:
            progress("plotting", done, steps)

    errors = sum(f.severity == "error" for f in analysis.findings)
    head = (f"{model.size:,} bytes &middot; {len(model.subgraphs)} subgraph(s) &middot; "
            f"{len(weights)} quantized weight(s) &middot; {len(analysis.findings)} finding(s)"
            f"{f' ({errors} error)' if errors else ''}")
    parts = [
        _PAGE_HEAD.format(title=_h(title), css=_CSS),
        f"<header><h1>{_h(title)}</h1><p class=dim>{head} &middot; tflparse {__version__}"
        "</p><nav><a href=\"#summary\">summary</a> <a href=\"#io\">inputs/outputs</a> "
        "<a href=\"#findings\">findings</a> <a href=\"#scales\">scales</a> "
        "<a href=\"#weights\">weights</a> <a href=\"#operators\">operators</a> "
        "<a href=\"#tensors\">tensors</a> <a href=\"#reading\">how to read</a></nav></header>",
        '<section id="summary"><h2>Summary</h2>',
        # folded: long for big models, and the sections below say the same things in detail
        f"<details><summary>what <code>tflparse inspect</code> says "
        f"({summary.count(chr(10))} lines)</summary><pre>{_pre(summary)}</pre></details>"
        if summary else "<p>(no summary)</p>",
        "</section>",
        _io_section(model, anchors),
        _findings_section(analysis.findings, anchors),
        '<section id="scales"><h2>Weight scales across the model</h2>',
        f"<div class=plot>{scale_plot}</div>" if scale_plot else
        "<p>No quantized weights.</p>",
        "</section>",
        f'<section id="weights"><h2>Quantized weights ({len(weights)})</h2>',
        "<p class=note>Those with findings come first and are open; the rest are folded, in "
        "layer order (the # of the scale plot).</p>" if weights else "<p>None.</p>",
        "".join(sections),
        _wide_table(wide, tensor_findings),
        "</section>",
        _operator_table(model, op_counts, quantities, anchors),
        _tensor_table(model, counts, anchors, progress),
        _READING,
        _SCRIPT,
        "</body></html>\n",
    ]
    return "".join(parts)


def default_output(model_path: str | os.PathLike[str]) -> str:
    """``MODEL_STEM.report.html`` beside the working directory's view of ``model_path``."""
    stem = os.path.splitext(os.path.basename(os.fspath(model_path)))[0] or "model"
    return f"{stem}.report.html"


_PAGE_HEAD = (
    "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
    "<meta name=viewport content=\"width=device-width, initial-scale=1\">"
    # nothing may be fetched: styles and the one script are inline, plots are inline SVG
    "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; "
    "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
    "<title>tflparse report: {title}</title><style>{css}</style></head><body>")

_CSS = (
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;"
    "margin:0 auto;max-width:1100px;padding:0 16px 48px}"
    "h1{font-size:22px;margin:18px 0 2px;word-break:break-all}h2{font-size:18px;"
    "margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}"
    "nav a{margin-right:10px}a{color:#1f5fa8}.dim,.note{color:#666}.note{font-size:12px}"
    "pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:12px;line-height:1.3}"
    "table{border-collapse:collapse;font-size:12px;width:100%}th,td{border-bottom:1px solid "
    "#eee;padding:2px 6px;text-align:left;vertical-align:top}th{background:#fafafa}"
    "td{word-break:break-word}table.findings td:nth-child(3){min-width:15em}"
    "code{font-size:12px;white-space:nowrap}"
    ".sev{display:inline-block;min-width:52px;text-align:center;border-radius:3px;"
    "font-size:11px;padding:0 4px;margin-right:6px;color:#fff}.sev.error{background:#c0392b}"
    ".sev.warning{background:#e67e22}.sev.info{background:#5b8db8}"
    "details.weight{border:1px solid #e4e4e4;border-radius:4px;margin:6px 0;padding:2px 8px}"
    "details.weight[open]{padding-bottom:8px}summary{cursor:pointer;padding:3px 0}"
    "details ul{margin:4px 0 2px 18px;padding:0;font-size:13px}h3{font-size:15px}"
    "table.wide ul{margin:0;padding:0;list-style:none}"
    ".plot svg{width:100%;max-width:900px;height:auto;display:block}"
    ".plot svg text{font-family:system-ui,'DejaVu Sans',Arial,sans-serif}"
    "tr:target,details:target{outline:2px solid #f1c40f}")

_READING = (
    '<section id="reading"><h2>How to read the plots</h2><ul>'
    "<li><b>Weight scales in layer order</b>: one column per weight tensor (constants of at most "
    "16 bits, in the order operators read them). Top: the span from its smallest to its largest "
    "scale (a per-tensor scale is a dot). Bottom: largest over smallest scale; the dotted line "
    "is 1024, beyond which the Hexagon delegate can no longer represent the smaller scales. A "
    "layer whose column towers over its neighbours is the one to look at; red columns carry a "
    "scale finding.</li>"
    "<li><b>Real min..max</b> (per channel): the band from the smallest to the largest "
    "dequantized value of each channel. Channels far narrower than their neighbours waste "
    "precision; a red &times; on zero is a dead channel (every value equals its zero point).</li>"
    "<li><b>Levels used</b> (per channel, log scale): 2 &times; max|q &minus; zero point| + 1, the "
    "integer levels the channel's values span (log2 of it is its effective bits). The dashed "
    "line is what the type offers, the dotted red line 33 levels (max|q &minus; zp| of 16): "
    "below it a channel keeps under five bits. Orange triangles mark channels with more than "
    "1% of their values at the type's extremes (clipping).</li>"
    "<li>Tensors with thousands of channels are drawn in groups: each bar spans its group's "
    "widest range and its fewest levels (the pale band reaches the most levels), and a mark "
    "means some channel of the group is dead or clipped.</li></ul></section>")

# Opens a folded section when a link points into it (browsers that do not do it themselves),
# and marks the page as scripted for the browser test.
_SCRIPT = (
    "<script>(function(){function o(){var e=location.hash&&document.getElementById("
    "location.hash.slice(1));for(;e;e=e.parentElement){if(e.tagName==='DETAILS')e.open=true}}"
    "addEventListener('hashchange',o);o();document.documentElement.setAttribute("
    "'data-ready','1')})();</script>")
