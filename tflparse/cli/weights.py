"""``tflparse weights MODEL``: per-tensor statistics of the quantized weights, worst first.

One row per quantized weight constant (int8, uint8, int16, int4, uint4, int2; ``--all`` also
lists int32/int64 biases): its channels, how many are dead (all zero point), the fewest
levels a live channel uses, the largest share of a channel's values at the type's extremes,
and for per-channel scales the ratio of the largest live scale to the smallest. Rows are
sorted worst first: by share of dead channels, then fewest levels, then clipping, then spread.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Callable, TextIO

from .._errors import InvalidModelError, describe
from .._schema import TensorType
from .._sources import open_member
from ..bundle import Bundle
from ..model import Model
from ._text import escape, failure, terminal_width, wrap, write_table

if TYPE_CHECKING:
    from ..weights import WeightStats  # the weight pass is imported when the command runs

__all__ = ["add_parser", "run", "rows", "progress_bar"]

DEFAULT_ROWS = 20
_BIAS_TYPES = (TensorType.INT32, TensorType.INT64)
#: progress is drawn for weight passes over at least this many bytes
PROGRESS_BYTES = 64 << 20


def _spread(s: WeightStats) -> float | None:
    live = s.scale[~s.dead & (s.scale > 0)]
    if s.per_tensor or s.blockwise or len(live) < 2:
        return None
    return float(live.max() / live.min())


def _min_levels(s: WeightStats) -> int:
    live = s.levels[~s.dead]
    return int(live.min()) if len(live) else 1


def _clip_share(s: WeightStats) -> float:
    return float((s.at_extremes / max(s.count, 1)).max())


def _order(s: WeightStats) -> tuple[float, int, float, float]:
    spread = _spread(s)
    return (-float(s.dead.mean()), _min_levels(s), -_clip_share(s),
            -(spread if spread is not None else 0.0))


def rows(stats: list[WeightStats], biases: bool = False) -> list[tuple[str, ...]]:
    """The table's rows for ``stats``, worst first (biases left out unless asked for)."""
    chosen = [s for s in stats if biases or s.type not in _BIAS_TYPES]
    result: list[tuple[str, ...]] = []
    for s in sorted(chosen, key=_order):
        spread = _spread(s)
        kind = "block" if s.blockwise else ("tensor" if s.per_tensor else "axis")
        channels = f"{s.channels}" if s.channel_axis is None else \
            f"{s.channels}/{s.channel_axis}"
        result.append((f"{s.subgraph}:{s.tensor}" if s.subgraph else str(s.tensor),
                       escape(s.name), s.type_name.lower(), kind, channels,
                       str(int(s.dead.sum())), str(_min_levels(s)),
                       f"{100 * _clip_share(s):.1f}",
                       "-" if spread is None else f"{spread:.3g}"))
    return result


def progress_bar(path: str) -> Callable[[int, int], None]:
    """A progress callback drawing 'reading weights of PATH: N%' on stderr (long passes)."""
    shown = [-1]

    def report(done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        if total < PROGRESS_BYTES or percent == shown[0]:
            return
        shown[0] = percent
        if done >= total:  # the pass is over: leave the line clean
            sys.stderr.write("\r\x1b[K")
        else:
            sys.stderr.write(f"\r\x1b[Kreading weights of {escape(path)[-50:]}: {percent}%")
        sys.stderr.flush()
    return report


def run(args: argparse.Namespace, out: TextIO) -> int:
    name, found = open_member(args.model)
    if not isinstance(found, Bundle):
        _table(out, name, found, args.all)
        return 0
    failed = False
    for member, model in found.models():  # every model of a bundle, one table each
        out.write(f"{escape(member)}:\n")
        if isinstance(model, InvalidModelError):
            failed = True
            out.write(f"  unreadable: {escape(describe(model, member))}\n")
            sys.stderr.write(f"tflparse: error: {failure(member, model)}\n")
        else:
            _table(out, member, model, args.all)
    return 2 if failed else 0


def _table(out: TextIO, name: str, model: Model, every: bool) -> None:
    from ..weights import model_weight_stats

    progress = progress_bar(name) if sys.stderr.isatty() else None
    stats = model_weight_stats(model, progress, skip_invalid=True)
    table = rows(stats, biases=every)
    shown = table if every else table[:DEFAULT_ROWS]
    width = min(terminal_width(), 120)
    out.write(wrap("", f"quantized weights: {len(table)} tensor(s), worst first. ch: "
                   "channels/their dimension; lv: fewest levels of a live channel; clip%: "
                   "largest share of a channel at the type's min/max; spread: largest/smallest "
                   "live per-channel scale", width, 2))
    write_table(out, ("idx", "name", "type", "quant", "ch", "dead", "lv", "clip%",
                      "spread"), shown, (5, width - 57, 5, 6, 7, 5, 5, 5, 8))
    if len(shown) < len(table):
        out.write(f"  ... {len(table) - len(shown)} more (--all lists them)\n")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "weights", help="statistics of the quantized weights, worst first",
        description="Per-tensor statistics of the quantized constants: channels, dead "
                    "channels, the fewest levels a live channel uses, values at the type's "
                    "extremes and the spread of per-channel scales, worst first.")
    parser.add_argument("model", metavar="MODEL",
                        help="a .tflite file, a bundle (.task: every model in it) or "
                             "BUNDLE!/MEMBER")
    parser.add_argument("--all", action="store_true",
                        help=f"every row, biases included (default: the worst {DEFAULT_ROWS})")
