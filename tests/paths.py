"""Forcing tflparse's bulk reads one way: every pass in numpy, or every pass in Python.

Small passes run in Python and large ones in numpy (``_flatbuf.SCALAR_ROWS``); both must give
identical results, messages included, so tests run models each way and compare.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

import numpy as np

from tflparse import _flatbuf

#: the thresholds that force each way (and the default, mixed one)
WAYS = {"numpy": 0, "python": 1 << 60, "mixed": _flatbuf.SCALAR_ROWS}


@contextmanager
def forced(way: str) -> Iterator[None]:
    previous = _flatbuf.SCALAR_ROWS
    _flatbuf.SCALAR_ROWS = WAYS[way]
    try:
        yield
    finally:
        _flatbuf.SCALAR_ROWS = previous


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """``("ok", result)`` or ``(exception type name, message)``."""
    try:
        return "ok", call()
    except Exception as error:  # noqa: BLE001 - the comparison is the point
        return type(error).__name__, str(error)


def each_way(call: Callable[[], Any]) -> dict[str, tuple[str, Any]]:
    """``call``'s outcome with every pass in numpy, every pass in Python, and mixed."""
    found = {}
    for way in WAYS:
        with forced(way):
            found[way] = outcome(call)
    return found


def canonical(value: Any) -> Any:
    """``value`` with arrays as (dtype, shape, values) and types by name: comparable with ==."""
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes(), value.flags.writeable)
    if isinstance(value, dict):
        return ("dict", [(key, canonical(item)) for key, item in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [canonical(item) for item in value])
    if isinstance(value, type):
        return ("type", value.__module__, value.__qualname__)
    if isinstance(value, BaseException):
        return ("error", type(value).__name__, str(value))
    return (type(value).__name__, repr(value))


def interpreter_snapshot(data: bytes, interpreter: Any = None) -> Any:
    """Everything the Interpreter reports about ``data`` (or its refusal), comparable; or
    everything ``interpreter`` (built on ``data``) reports."""
    import tflparse

    if interpreter is None:
        interpreter = tflparse.Interpreter(model_content=data)
    found: list[Any] = [interpreter.num_subgraphs()]
    for call in (interpreter.get_input_details, interpreter.get_output_details,
                 interpreter._get_ops_details):
        found.append(outcome(call))
    for i in range(interpreter.num_subgraphs()):
        found.append(outcome(lambda i=i: interpreter.get_tensor_details(i)))
        for j in range(len(interpreter.model.subgraphs[i].tensors) + 1):
            found.append(outcome(lambda i=i, j=j: interpreter._get_tensor_details(j, i)))
    return canonical(found)


def view_snapshot(data: bytes) -> Any:
    """What the model view reads of every tensor and buffer (or why it cannot), comparable."""
    import tflparse

    model = tflparse.load(data)

    def tensor(t: Any) -> Any:
        q = t.quantization
        return (t.name_bytes, t.shape, t.shape_signature, int(t.type), t.buffer, t.is_variable,
                t.has_rank, t.external_buffer, t.is_constant,
                None if q is None else (q.scale, q.zero_point, q.quantized_dimension,
                                        q.details_type))

    found: list[Any] = [outcome(lambda: model.buffer_columns.data_sizes(
        np.arange(model.buffer_columns.count)))]
    for subgraph in model.subgraphs:
        for i in range(len(subgraph.tensors)):
            found.append(outcome(lambda i=i, s=subgraph: tensor(s.tensors[i])))
    return canonical(found)


def differences(data: bytes) -> str | None:
    """None when the verifier and the Interpreter say the same each way, else what differs."""
    from tflparse._flatbuf import FlatBuffer
    from tflparse._verify import verify

    fb = FlatBuffer(data)
    verdicts = each_way(lambda: verify(fb))
    if not verdicts["numpy"] == verdicts["python"] == verdicts["mixed"]:
        return f"the verifier differs: {verdicts}"
    views = each_way(lambda: view_snapshot(data))
    if not views["numpy"] == views["python"] == views["mixed"]:
        return "the model view differs between ways"
    snapshots = each_way(lambda: interpreter_snapshot(data))
    if not snapshots["numpy"] == snapshots["python"] == snapshots["mixed"]:
        ways = list(snapshots)
        return f"the Interpreter differs between ways {ways}"
    return None
