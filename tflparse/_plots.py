"""The report's plots, drawn with matplotlib (the ``report`` extra) as small inline SVG.

matplotlib is imported when a :class:`Plotter` is made, never at ``import tflparse``. Figures
are drawn with the object API (no pyplot, no global figure state), text stays text
(``svg.fonttype: none``) and every figure gets its own id salt, so many SVGs can share one
HTML page. Plots of many channels are aggregated into at most :data:`MAX_BINS` groups, so a
page stays small whatever the model.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MAX_BINS", "INSTALL_HINT", "PlotsUnavailable", "ChannelView", "ScaleRow",
           "Plotter", "channel_bins", "compact_svg"]

#: at most this many bars per plot; more channels are grouped (min/max over each group)
MAX_BINS = 256
INSTALL_HINT = "the report needs matplotlib: pip install 'tflparse[report]'"

_RC = {
    "svg.fonttype": "none",  # text as <text>, not glyph outlines
    "font.family": "sans-serif",
    "font.size": 8.0,
    "axes.titlesize": 9.0,
    "axes.labelsize": 8.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.5,
    "path.simplify": True,
}
_RANGE = "#4c78a8"
_LEVELS = "#72b7b2"
_DEAD = "#d62728"
_CLIPPED = "#ff7f0e"
_FLAGGED = "#d62728"
_XML_PROLOGUE = re.compile(r"\A.*?(?=<svg)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>", re.S)
# geometry attributes: numbers to 0.1 pt (the text of labels is never touched)
_GEOMETRY = re.compile(r'( (?:d|x|y|x1|x2|y1|y2|transform|width|height|viewBox)=")([^"]*)"')
_DECIMALS = re.compile(r"(\d\.\d)\d+")
# ids nothing refers to (matplotlib's structural names); referenced ids are hashes
_PLAIN_ID = re.compile(r' id="(?![a-z]+[0-9a-f]{10}")[^"]*"')
_NEWLINES = re.compile(r"\s*\n\s*")
# the page's CSS sets one font for every plot; a no-op rotation says nothing
_FONT_FAMILY = re.compile(r"; font-family: [^;\"]*")
_NO_ROTATION = re.compile(r' transform="rotate\(-?0 [^"]*\)"')
_GROUP = re.compile(r"<g>|<g |</g>")


class PlotsUnavailable(ImportError):
    """matplotlib is not installed; the message says how to install the extra."""


@dataclass
class ChannelView:
    """What one weight tensor's plot shows, per channel (arrays of one length)."""

    title: str
    axis_label: str
    real_min: np.ndarray
    real_max: np.ndarray
    levels: np.ndarray
    dead: np.ndarray
    clipped: np.ndarray
    #: levels the tensor's type offers (2 * max |q - zp| possible + 1), and the warning bound
    #: (0: none)
    full_levels: int
    low_levels: int


@dataclass
class ScaleRow:
    """One weight tensor in the model-wide scale plot."""

    label: str
    scale: np.ndarray
    flagged: bool


def channel_bins(count: int, limit: int = MAX_BINS) -> np.ndarray:
    """Edges (channel indices) of at most ``limit`` equal groups covering ``count`` channels."""
    if count <= limit:
        return np.arange(count + 1)
    return np.unique(np.linspace(0, count, limit + 1).round().astype(np.int64))


def _reduce(values: np.ndarray, edges: np.ndarray, how: Any) -> np.ndarray:
    if len(edges) == len(values) + 1 and np.array_equal(edges, np.arange(len(values) + 1)):
        return values
    result: np.ndarray = how.reduceat(values, edges[:-1])
    return result


def compact_svg(text: str) -> str:
    """matplotlib's SVG without prologue, metadata, unused ids, layout whitespace and digits
    finer than 0.1 pt: a third of the size, the same picture."""
    text = _METADATA.sub("", _XML_PROLOGUE.sub("", text, count=1))
    text = _FONT_FAMILY.sub("", _NO_ROTATION.sub("", _PLAIN_ID.sub("", text)))
    text = _GEOMETRY.sub(lambda m: m.group(1) + _DECIMALS.sub(r"\1", m.group(2)) + '"', text)
    return _bare_groups(_NEWLINES.sub(" ", text).replace("> <", "><")).strip()


def _bare_groups(text: str) -> str:
    """``text`` without ``<g>`` elements that have no attributes (their content stays)."""
    out: list[str] = []
    bare: list[bool] = []
    last = 0
    for match in _GROUP.finditer(text):
        tag = match.group()
        keep = True
        if tag == "</g>":
            keep = not (bare.pop() if bare else False)
        else:
            bare.append(tag == "<g>")
            keep = tag != "<g>"
        if not keep:
            out.append(text[last:match.start()])
            last = match.end()
    out.append(text[last:])
    return "".join(out)


class Plotter:
    """Draws the report's figures as SVG text; needs matplotlib."""

    def __init__(self) -> None:
        try:
            import matplotlib
            from matplotlib import ticker
            from matplotlib.backends.backend_svg import FigureCanvasSVG
            from matplotlib.figure import Figure
        except ImportError as error:
            raise PlotsUnavailable(INSTALL_HINT) from error
        self._matplotlib: Any = matplotlib  # untyped here: rc keys are checked at run time
        self._ticker: Any = ticker
        self._figure = Figure
        self._canvas = FigureCanvasSVG
        self._count = 0

    def _svg(self, figure: Any) -> str:
        self._count += 1
        buffer = io.StringIO()
        with self._matplotlib.rc_context({"svg.hashsalt": f"tflparse{self._count}"}):
            self._canvas(figure)
            figure.savefig(buffer, format="svg", metadata={"Date": None})
        return compact_svg(buffer.getvalue())

    def _panels(self, height: float) -> tuple[Any, Any, Any]:
        figure = self._figure(figsize=(7.2, height))
        figure.subplots_adjust(left=0.1, right=0.97, top=0.86, bottom=0.15, hspace=0.14)
        top, bottom = figure.subplots(2, 1, sharex=True)
        return figure, top, bottom

    def channels(self, view: ChannelView, bins: int = MAX_BINS) -> str:
        """Two panels over the channels: the real min/max range, and levels used (at most
        ``bins`` bars: more channels are grouped)."""
        count = len(view.levels)
        edges = channel_bins(count, bins)
        grouped = len(edges) != count + 1
        dead = np.asarray(view.dead, bool)
        levels = np.asarray(view.levels, np.float64)
        # the worst live channel of each group (a group of dead channels only shows 1 level)
        worst = _reduce(np.where(dead, np.inf, levels), edges, np.minimum)
        worst = np.where(np.isinf(worst), 1.0, worst)
        with self._matplotlib.rc_context(_RC):
            figure, top, bottom = self._panels(3.4)
            lo = _reduce(np.asarray(view.real_min, np.float64), edges, np.minimum)
            hi = _reduce(np.asarray(view.real_max, np.float64), edges, np.maximum)
            top.stairs(hi, edges, baseline=lo, fill=True, color=_RANGE)
            top.axhline(0.0, color="#555555", linewidth=0.6)
            top.set_ylabel("real min..max")
            # file text: never parsed as mathtext ("$" is just a dollar)
            top.set_title(view.title, loc="left", parse_math=False)
            if grouped:
                most = _reduce(levels, edges, np.maximum)
                bottom.stairs(most, edges, baseline=worst, fill=True, color=_LEVELS,
                              alpha=0.35)
            bottom.stairs(worst, edges, baseline=0.5, fill=True, color=_LEVELS)
            bottom.set_yscale("log", base=2)
            highest = max(view.full_levels, int(levels.max()) if levels.size else 1, 2)
            bottom.set_ylim(0.5, highest * 1.6)
            bottom.axhline(view.full_levels, color="#555555", linewidth=0.7, linestyle="--")
            if view.low_levels > 0:
                bottom.axhline(view.low_levels, color=_DEAD, linewidth=0.7, linestyle=":")
            bits = int(math.log2(highest))
            ticks = [2 ** k for k in range(0, bits + 1, max(1, math.ceil(bits / 5)))]
            bottom.set_yticks(ticks, [f"{t:,}" for t in ticks])
            bottom.minorticks_off()
            bottom.set_ylabel("levels used")
            bottom.set_xlabel(view.axis_label + (
                f" ({count:,} channels in groups of {count / (len(edges) - 1):.3g}: "
                "widest range, fewest and most levels)" if grouped else ""))
            bottom.set_xlim(0, max(count, 1))
            self._marks(figure, top, bottom, edges, view, worst)
            svg = self._svg(figure)
        return svg

    @staticmethod
    def _marks(figure: Any, top: Any, bottom: Any, edges: np.ndarray, view: ChannelView,
               worst: np.ndarray) -> None:
        centers = (edges[:-1] + edges[1:]) / 2.0
        dead = _reduce(np.asarray(view.dead, bool), edges, np.logical_or)
        clipped = _reduce(np.asarray(view.clipped, bool), edges, np.logical_or)
        shown = False
        if dead.any():
            top.plot(centers[dead], np.zeros(int(dead.sum())), "x", color=_DEAD,
                     markersize=5, label=f"dead: {int(np.sum(view.dead)):,}")
            bottom.plot(centers[dead], np.ones(int(dead.sum())), "x", color=_DEAD,
                        markersize=5)
            shown = True
        if clipped.any():
            bottom.plot(centers[clipped], worst[clipped], "v", color=_CLIPPED, markersize=4,
                        label=f"clipped: {int(np.sum(view.clipped)):,}")
            shown = True
        if shown:
            figure.legend(loc="upper right", ncols=2, frameon=False, borderaxespad=0.3)

    def scales(self, rows: Sequence[ScaleRow], threshold: float) -> str:
        """Every weight tensor's scales (min..max) and max/min ratio, in layer order."""
        count = len(rows)
        edges = np.arange(count + 1) - 0.5
        lo = np.array([float(np.min(r.scale)) if len(r.scale) else np.nan for r in rows])
        hi = np.array([float(np.max(r.scale)) if len(r.scale) else np.nan for r in rows])
        usable = (lo > 0) & np.isfinite(lo) & np.isfinite(hi)
        lo, hi = np.where(usable, lo, np.nan), np.where(usable, hi, np.nan)
        ratio = hi / lo
        flagged = np.array([r.flagged for r in rows], bool) & usable
        x = np.arange(count)
        with self._matplotlib.rc_context(_RC):
            figure, top, bottom = self._panels(3.6)
            width = max(0.6, min(4.0, 300.0 / max(count, 1)))
            top.vlines(x[usable], lo[usable], hi[usable], color=_RANGE, linewidth=width,
                       capstyle="projecting")
            top.set_yscale("log")
            top.set_ylabel("scale min..max")
            top.set_title("weight scales in layer order", loc="left")
            heights = np.where(usable, ratio, 1.0) - 1.0
            colors = np.where(flagged, _FLAGGED, _LEVELS).tolist()
            if count <= 400:
                bottom.bar(x, heights, width=0.8, bottom=1.0, color=colors, linewidth=0)
            else:  # one path instead of a rectangle per tensor
                bottom.stairs(heights + 1.0, edges, baseline=1.0, fill=True, color=_LEVELS)
                if flagged.any():
                    bottom.stairs(np.where(flagged, ratio, 1.0), edges, baseline=1.0,
                                  fill=True, color=_FLAGGED)
            bottom.xaxis.set_major_locator(self._ticker.MaxNLocator(integer=True))
            bottom.set_yscale("log")
            bottom.axhline(threshold, color=_DEAD, linewidth=0.7, linestyle=":")
            most = float(np.nanmax(ratio)) if usable.any() else 1.0
            bottom.set_ylim(0.8, max(most, threshold) * 3)
            bottom.set_ylabel("max / min")
            bottom.set_xlabel("weight tensor # in layer order (red: a scale finding)")
            bottom.set_xlim(-0.5, max(count, 1) - 0.5)
            svg = self._svg(figure)
        return svg
