"""The ``tflparse`` command line: ``inspect``, ``details`` and ``audit``.

``tflparse MODEL`` is ``tflparse inspect MODEL``. Exit status: 0 success, 1 audit findings at
or above ``--fail-on``, 2 unreadable input, a model LiteRT refuses (``details``) or bad usage.
Names read from a file are escaped before printing (:func:`escape`).

Each command is a module of this package with ``add_parser(subparsers)`` and
``run(args, out) -> int``; :data:`COMMANDS` lists them. A new command is a new module plus one
line there. The JSON mapping of ``details --json`` is described in ``_text`` (:func:`jsonable`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Protocol, TextIO

from .. import __version__
from .._errors import InvalidModelError
from . import audit, details, inspect, metadata, report, weights
from ._text import UsageError, dtype_name, ellipsize, escape, jsonable

__all__ = ["main", "build_parser", "COMMANDS", "escape", "ellipsize", "jsonable", "dtype_name"]


class Command(Protocol):
    """What a command module offers."""

    def add_parser(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]
                   ) -> None: ...

    def run(self, args: argparse.Namespace, out: TextIO) -> int: ...


#: the commands, in the order ``--help`` lists them (``inspect`` is the default)
COMMANDS: dict[str, Command] = {
    "inspect": inspect,
    "details": details,
    "audit": audit,
    "report": report,
    "weights": weights,
    "metadata": metadata,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tflparse",
        description="Inspect TensorFlow Lite / LiteRT models without TensorFlow. "
                    "`tflparse MODEL` is `tflparse inspect MODEL`.",
        epilog="exit status: 0 ok, 1 audit findings at or above --fail-on, "
               "2 unreadable input, model refused (details) or bad usage")
    parser.add_argument("--version", action="version", version=f"tflparse {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] not in COMMANDS and args_list[0] not in (
            "-h", "--help", "--version"):
        args_list.insert(0, "inspect")
    parser = build_parser()
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    out = sys.stdout
    if hasattr(out, "reconfigure"):
        out.reconfigure(errors="backslashreplace")
    try:
        return COMMANDS[args.command].run(args, out)
    except UsageError as error:
        sys.stderr.write(f"tflparse: error: {error}\n")
        return 2
    except (InvalidModelError, OSError) as error:
        if isinstance(error, BrokenPipeError):
            return _broken_pipe()
        sys.stderr.write(f"tflparse: error: {_oneline(error)}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("tflparse: interrupted\n")
        return 130


def _oneline(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        where = f"{escape(os.fsdecode(error.filename))}: " if error.filename else ""
        return f"{where}{error.strerror}"
    return escape(str(error).strip())


def _broken_pipe() -> int:
    """The reader went away (``| head``): stop quietly, as other command-line tools do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141
