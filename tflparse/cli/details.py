"""``tflparse details MODEL``: the tensor details LiteRT's ``Interpreter`` reports.

Inputs, outputs, the tensors of every subgraph and every signature's inputs and outputs, with
``pprint`` or as one JSON object (``--json``; the mapping is described in ``_text``). A part
that LiteRT would raise for is ``{"error": message}``. Exit 2 if LiteRT refuses the model.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, TextIO

from .._errors import InvalidModelError
from .._loading import load
from ..interpreter import Interpreter
from ._text import escape, jsonable, terminal_width

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


def run(args: argparse.Namespace, out: TextIO) -> int:
    # a path that cannot be read, or is no model at all, fails as in the other commands
    model = load(args.model)
    try:
        interpreter = Interpreter._of(model)
    except InvalidModelError as error:
        text = str(error).strip()
        sys.stderr.write(f"tflparse: error: {escape(args.model)}: LiteRT refuses to load it: "
                         f"{escape(text)}\n")
        return 2
    found = details_object(interpreter)
    if args.json:
        json.dump(found, out, allow_nan=False, ensure_ascii=False, indent=args.indent)
        out.write("\n")
        return 0
    import pprint

    pprint.pprint(found, stream=out, width=terminal_width(), sort_dicts=False)
    return 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "details", help="LiteRT's tensor details (--json for machines)",
        description="The tensor details LiteRT's Interpreter reports: inputs, outputs, the "
                    "tensors of every subgraph and every signature's inputs and outputs. "
                    "Exit 2 if LiteRT refuses the model.")
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--indent", type=int, default=None, metavar="N",
                        help="indent the JSON by N spaces (default: one line)")
