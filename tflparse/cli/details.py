"""``tflparse details MODEL``: the tensor details LiteRT's ``Interpreter`` reports.

Inputs, outputs, the tensors of every subgraph and every signature's inputs and outputs, with
``pprint`` or as one JSON object (``--json``; the mapping is described in ``_text``). A part
that LiteRT would raise for is ``{"error": message}``. Exit 2 if LiteRT refuses the model.

``BUNDLE!/MEMBER`` picks one model of a ``.task`` bundle (nested: ``a.task!/b.task!/m.tflite``)
and prints exactly what a model file would. A whole bundle prints ``{member name: details}``
for every model in it; a member that cannot be read or that LiteRT refuses is left out, said
on stderr, and makes the exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, TextIO

from .._construction import construct
from .._errors import InvalidModelError
from .._sources import open_member
from ..interpreter import Interpreter
from ..model import Model
from ._text import NO_MODEL, escape, failure, jsonable, terminal_width

__all__ = ["add_parser", "run", "details_object"]


def _part(make: Callable[[], Any]) -> Any:
    try:
        return jsonable(make())
    except ValueError as error:
        return {"error": str(error)}


def details_object(interpreter: Interpreter) -> dict[str, Any]:
    """Everything ``details`` prints: I/O, tensors per subgraph and signatures."""
    def named(tensors: dict[str, int], subgraph: int) -> Callable[[], Any]:
        get = interpreter._get_tensor_details  # what SignatureRunner reports, for any key
        return lambda: {name: get(index, subgraph) for name, index in tensors.items()}

    signatures: dict[str, Any] = {
        key: {"inputs": _part(named(inputs, subgraph)),
              "outputs": _part(named(outputs, subgraph))}
        for key, (subgraph, inputs, outputs) in interpreter._signatures.items()
    }
    return {
        "inputs": _part(interpreter.get_input_details),
        "outputs": _part(interpreter.get_output_details),
        "tensors": [_part(lambda s=s: interpreter.get_tensor_details(s))  # type: ignore[misc]
                    for s in range(interpreter.num_subgraphs())],
        "signatures": signatures,
    }


def _details(name: str, found: Model | InvalidModelError | OSError) -> dict[str, Any] | None:
    """What ``details`` prints for one model, or None when it cannot be read or LiteRT
    refuses it (said on stderr)."""
    try:
        if not isinstance(found, Model):
            raise found
        # what Interpreter(model_path=...) does, on the model already loaded (not read again)
        interpreter = Interpreter._constructed(found, construct(found))
    except InvalidModelError as error:
        text = escape(str(error).strip())
        refused = isinstance(found, Model)
        sys.stderr.write(f"tflparse: error: {escape(name)}: LiteRT refuses to load it: {text}\n"
                         if refused else f"tflparse: error: {failure(name, error)}\n")
        return None
    return details_object(interpreter)


def _write(out: TextIO, found: Any, args: argparse.Namespace) -> None:
    if args.json:
        import json

        json.dump(found, out, allow_nan=False, ensure_ascii=False, indent=args.indent)
        out.write("\n")
        return
    import pprint

    pprint.pprint(found, stream=out, width=terminal_width(), sort_dicts=False)


def run(args: argparse.Namespace, out: TextIO) -> int:
    # a path that cannot be read, or is no model at all, fails as in the other commands
    name, opened = open_member(args.model)
    if isinstance(opened, Model):
        found = _details(name, opened)
        if found is None:
            return 2
        _write(out, found, args)
        return 0
    # a bundle: {member: details} for every model in it; what fails is left out (on stderr)
    every: dict[str, Any] = {}
    failed = False
    for member, model in opened.models():
        found = _details(member, model)
        failed |= found is None
        if found is not None:
            every[member] = found
    if not every and not failed:
        sys.stderr.write(f"tflparse: error: {escape(name)}: {NO_MODEL}\n")
    if every:
        _write(out, every, args)
    return 2 if failed or not every else 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "details", help="LiteRT's tensor details (--json for machines)",
        description="The tensor details LiteRT's Interpreter reports: inputs, outputs, the "
                    "tensors of every subgraph and every signature's inputs and outputs. "
                    "Exit 2 if LiteRT refuses the model.")
    parser.add_argument("model", metavar="MODEL",
                        help="a .tflite file, BUNDLE!/MEMBER (one model in a .task bundle), "
                             "or a bundle: then {member: details} for every model in it")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--indent", type=int, default=None, metavar="N",
                        help="indent the JSON by N spaces (default: one line)")
