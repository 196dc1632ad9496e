"""The oracle: the real LiteRT interpreter, run in a child process, and a strict comparison.

A *plan* lists the Interpreter calls to make on one model (``plan_for``). ``LiteRT.run`` makes
them in a persistent worker process, one result frame per call, so a segfault costs only the
call that crashed: it is recorded as ``CRASH`` ("LiteRT crashes here"), the worker restarts
and the remaining calls go on. ``run_tflparse`` makes the same calls on
``tflparse.Interpreter`` in this process. ``compare`` reports the first difference.

Results are ``("ok", value)``, ``("raise", type name, message, is a ValueError)`` or
``("crash",)``.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, Callable

import numpy as np

Call = tuple[Any, ...]
Result = tuple[Any, ...]
CRASH: Result = ("crash",)

# -- plans -----------------------------------------------------------------------------------


def plan_for(data: bytes, *, get_tensor: bool = True) -> list[Call]:
    """Every inspection call of the Interpreter, with its error cases, for one model.

    Counts come from the official generated bindings, not from tflparse.
    """
    plan: list[Call] = [("construct",), ("num_subgraphs",), ("get_input_details",),
                        ("get_output_details",), ("get_signature_list",),
                        ("_get_full_signature_list",), ("_get_ops_details",),
                        ("runner", None, None), ("runner", "no-such-key", None)]
    try:
        from ai_edge_litert import schema_py_generated as s

        model = s.Model.GetRootAs(data, 0)
        tensor_counts = [model.Subgraphs(i).TensorsLength()
                         for i in range(model.SubgraphsLength())]
        keys = []
        for i in range(model.SignatureDefsLength()):
            key = model.SignatureDefs(i).SignatureKey()
            if key is not None:
                keys.append(key.split(b"\0", 1)[0])
    except Exception:  # a malformed model: the basic calls are enough
        return plan
    if len(tensor_counts) > 64 or sum(tensor_counts) > 100_000:  # corrupted counts
        return plan
    plan += [("get_tensor_details", i) for i in range(-1, len(tensor_counts) + 1)]
    for i, count in enumerate(tensor_counts):
        plan += [("_get_tensor_details", j, i) for j in range(-1, count + 2)]
        if get_tensor:
            plan += [("get_tensor", j, i) for j in range(-1, count + 1)]
    for raw in keys:
        try:
            key = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        plan += [("runner", key, None), ("runner", key, "inputs"), ("runner", key, "outputs")]
    return plan


def _call(interpreter: Any, call: Call) -> Any:
    name = call[0]
    if name == "runner":
        runner = interpreter.get_signature_runner(call[1])
        if call[2] is None:
            return None
        return runner.get_input_details() if call[2] == "inputs" else runner.get_output_details()
    if name == "get_tensor":
        return interpreter.get_tensor(call[1], call[2])
    return getattr(interpreter, name)(*call[1:])


class FakeDelegate:
    """Looks like a loaded delegate to the Interpreter: its native pointer is ``pointer``."""

    def __init__(self, pointer: Any) -> None:
        self.pointer = pointer

    def _get_native_delegate_pointer(self) -> Any:
        return self.pointer


class ResolverMember:
    """Stands for ``OpResolverType.<name>`` of whichever interpreter module constructs."""

    def __init__(self, name: str) -> None:
        self.name = name


def noop_registerer(pointer: int) -> None:
    """A custom op registerer function that registers nothing."""


def construct_with(module: Any, data: bytes, kwargs: dict[str, Any]) -> Any:
    """``module``'s interpreter for ``data``, or built from ``kwargs`` when there are any
    (``InterpreterWithCustomOps`` when they name registerers)."""
    if not kwargs:
        return module.Interpreter(model_content=data)
    kwargs = {key: module.OpResolverType[value.name] if isinstance(value, ResolverMember)
              else value for key, value in kwargs.items()}
    if "custom_op_registerers" in kwargs:
        return module.InterpreterWithCustomOps(**kwargs)
    return module.Interpreter(**kwargs)


def execute(make: Callable[..., Any], plan: list[Call]) -> Iterator[Result]:
    """Run a plan against ``make()``'s interpreter, yielding one result per call.

    ``("construct", kwargs)`` constructs with those keyword arguments (``construct_with``).
    """
    interpreter = None
    for call in plan:
        try:
            if call[0] == "construct":
                interpreter = make(**call[1]) if len(call) > 1 else make()
                yield ("ok", None)
                continue
            if interpreter is None:
                yield ("raise", "NotConstructed", "", False)
                continue
            yield ("ok", _call(interpreter, call))
        except Exception as error:  # the oracle's behaviour, recorded
            yield ("raise", type(error).__name__, str(error), isinstance(error, ValueError))


def run_tflparse(data: bytes, plan: list[Call]) -> list[Result]:
    import tflparse.interpreter

    return list(execute(lambda **kw: construct_with(tflparse.interpreter, data, kw), plan))


# -- the LiteRT worker -----------------------------------------------------------------------


def _send(stream: Any, obj: Any) -> None:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(payload)) + payload)
    stream.flush()


def _receive(stream: Any) -> Any:
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError
    (size,) = struct.unpack("<Q", header)
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError
    return pickle.loads(payload)


def _worker(with_ml_dtypes: bool) -> None:
    """Child process: import LiteRT once, then fork a grandchild per request.

    The grandchild makes the calls and streams one frame per call. If it dies (LiteRT
    segfaults), the call it was making is answered with CRASH and a new grandchild goes on
    from the next call, constructing the interpreter again first.
    """
    if with_ml_dtypes:
        import ml_dtypes  # noqa: F401  (registers bfloat16 with numpy, as TensorFlow does)
    import ai_edge_litert.interpreter as litert

    stdin = sys.stdin.buffer
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # LiteRT's prints stay off the protocol
    while True:
        try:
            data, plan = _receive(stdin)
        except EOFError:
            return
        done = 0
        while done < len(plan):
            todo = [("construct",), *plan[done:]] if done else plan
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read)
                out = os.fdopen(write, "wb")
                for result in execute(lambda d=data, **kw: construct_with(litert, d, kw), todo):
                    _send(out, result)
                out.close()
                os._exit(0)
            os.close(write)
            frames = os.fdopen(read, "rb")
            replayed = bool(done)
            try:
                while done < len(plan):
                    result = _receive(frames)
                    if replayed:
                        replayed = False
                        continue
                    _send(protocol, result)
                    done += 1
            except EOFError:
                pass
            frames.close()
            os.waitpid(pid, 0)
            if done < len(plan):
                _send(protocol, CRASH)
                done += 1
                if done == 1 and plan[0] == ("construct",):
                    while done < len(plan):  # nothing runs without an interpreter
                        _send(protocol, CRASH)
                        done += 1


class LiteRT:
    """A persistent LiteRT fork-server process."""

    def __init__(self, with_ml_dtypes: bool = False) -> None:
        self.with_ml_dtypes = with_ml_dtypes
        self.process: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        if self.process is None or self.process.poll() is not None:
            code = (f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); "
                    f"import litert_oracle; litert_oracle._worker({self.with_ml_dtypes})")
            self.process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        return self.process

    def run(self, data: bytes, plan: list[Call]) -> list[Result]:
        """Results of every call of the plan; a call that crashed LiteRT gives CRASH."""
        process = self._start()
        assert process.stdin is not None and process.stdout is not None
        _send(process.stdin, (data, plan))
        return [_receive(process.stdout) for _ in plan]

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(timeout=30)
        self.process = None


# -- comparison ------------------------------------------------------------------------------


def same(ours: Any, theirs: Any, path: str = "") -> str | None:
    """None when ``ours`` is identical to ``theirs``, else where and how they differ.

    Identical means: the same Python type, dict keys in the same order, arrays with the same
    dtype, shape and bytes (so NaN and -0.0 compare bitwise), type objects by identity.
    """
    if type(ours) is not type(theirs):
        return f"{path}: type {type(ours).__name__} != {type(theirs).__name__}"
    if isinstance(ours, dict):
        if list(ours) != list(theirs):
            return f"{path}: keys {list(ours)} != {list(theirs)}"
        for key in ours:
            found = same(ours[key], theirs[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(ours, (list, tuple)):
        if len(ours) != len(theirs):
            return f"{path}: length {len(ours)} != {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            found = same(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(ours, np.ndarray):
        if ours.dtype != theirs.dtype or ours.shape != theirs.shape:
            return f"{path}: {ours.dtype}{ours.shape} != {theirs.dtype}{theirs.shape}"
        if ours.dtype == object:
            return same(ours.tolist(), theirs.tolist(), path)
        if ours.tobytes() != theirs.tobytes():
            return f"{path}: {ours!r} != {theirs!r}"
        return None
    if isinstance(ours, np.generic):
        return None if ours.tobytes() == theirs.tobytes() else f"{path}: {ours!r} != {theirs!r}"
    if isinstance(ours, float):
        return None if struct.pack("<d", ours) == struct.pack("<d", theirs) else (
            f"{path}: {ours!r} != {theirs!r}")
    return None if ours == theirs or ours is theirs else f"{path}: {ours!r} != {theirs!r}"


# LiteRT's get_tensor when a string's offsets lead it outside the buffer (it reads there)
_READ_PAST_STRINGS = "Could not create PyBytes from string"


def compare(plan: list[Call], ours: list[Result], theirs: list[Result]) -> tuple[str | None, int]:
    """(first difference, number of calls where LiteRT crashed).

    Where LiteRT raises, tflparse must raise a ValueError-family error with the same message
    (tflparse may add an explanation after it); ``InvalidModelError`` stands for LiteRT's
    ValueError and UnicodeDecodeError. Where LiteRT crashes, fails with MemoryError (it
    does for a non-constant string tensor with a negative dimension), or reads strings from
    outside their buffer, tflparse must raise a ValueError instead.
    """
    crashes = 0
    for call, mine, truth in zip(plan, ours, theirs):
        if truth == CRASH or (truth[0] == "raise" and (
                truth[1] == "MemoryError" or truth[2].startswith(_READ_PAST_STRINGS))):
            crashes += 1
            if not (mine[0] == "raise" and mine[3]):
                return f"{call}: LiteRT crashes here; tflparse gave {mine[:2]}", crashes
            if call[0] == "construct":  # neither has an interpreter: nothing more to compare
                return None, crashes
            continue
        if truth[0] == "raise" or mine[0] == "raise":
            if mine[0] != truth[0]:
                return f"{call}: tflparse {mine[:3]!r} but LiteRT {truth[:3]!r}", crashes
            type_ok = mine[1] == truth[1] or (mine[1] == "InvalidModelError" and truth[3])
            message_ok = mine[2] == truth[2] or mine[2].startswith(truth[2] + " (")
            if not (type_ok and message_ok):
                return f"{call}: tflparse {mine[1:3]!r} but LiteRT {truth[1:3]!r}", crashes
            continue
        found = same(mine[1], truth[1], str(call))
        if found:
            return found, crashes
    return None, crashes
