"""How LiteRT 2.3.0 checks the arguments of its Python ``Interpreter``, and in which order.

LiteRT checks in two layers. Its Python layer tests the op resolver type, then
``num_threads``, then picks ``model_path`` or ``model_content`` by truthiness and splits the
custom op registerers into names and functions. Its C++ binding then converts every argument
to a C++ type; when one does not convert, it raises a ``TypeError`` listing the accepted
signatures and the arguments it was given. This module reproduces both layers, so that the
same arguments give the same exception with the same message. The conversion rules
(``converts_to_bool``, ``converts_to_int``) were established by experiment against LiteRT
2.3.0 (``tests/test_dropin.py``).
"""

from __future__ import annotations

import enum
import os
from typing import Any, NamedTuple

__all__ = ["OpResolverType", "resolver_id", "check_threads", "Arguments", "check_arguments",
           "converts_to_bool", "converts_to_int", "incompatible", "C_INT", "UINTPTR"]

C_INT = (-(1 << 31), (1 << 31) - 1)
UINTPTR = (0, (1 << 64) - 1)


@enum.unique
class OpResolverType(enum.Enum):
    """The op resolver LiteRT would run a model with; the same members and values.

    tflparse runs no kernels, so the choice changes nothing it reports; it is checked as
    LiteRT checks it.
    """

    AUTO = 0
    BUILTIN = 1
    BUILTIN_REF = 2
    BUILTIN_WITHOUT_DEFAULT_DELEGATES = 3


# the resolver LiteRT's binding receives for each type (AUTO means BUILTIN)
_RESOLVER_IDS = {OpResolverType.AUTO: 1, OpResolverType.BUILTIN: 1,
                 OpResolverType.BUILTIN_REF: 2,
                 OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES: 3}


def resolver_id(resolver_type: Any, preserve_all_tensors: Any) -> int:
    """The binding's resolver number for ``resolver_type``, or LiteRT's error.

    LiteRT first tests ``preserve_all_tensors`` and compares the type with AUTO and BUILTIN
    (to warn about memory use, which does not concern tflparse); those evaluations can
    raise on their own, so they are made here too. A member of another library's
    ``OpResolverType`` (LiteRT's, TensorFlow's) is taken by its name.
    """
    if preserve_all_tensors and (resolver_type == OpResolverType.AUTO
                                 or resolver_type == OpResolverType.BUILTIN):
        pass  # LiteRT warns about memory use here; tflparse keeps no tensors
    found = _RESOLVER_IDS.get(resolver_type)
    if found is None and isinstance(resolver_type, enum.Enum) \
            and type(resolver_type).__name__ == "OpResolverType":
        member = OpResolverType.__members__.get(resolver_type.name)
        found = None if member is None else _RESOLVER_IDS[member]
    if found is None:
        raise ValueError(f"Unrecognized passed in op resolver type: {resolver_type}")
    return found


def check_threads(num_threads: Any) -> None:
    if num_threads is not None:
        if not isinstance(num_threads, int):
            raise ValueError("type of num_threads should be int")
        if num_threads < 1:
            raise ValueError("num_threads should >= 1")


# -- the binding's conversions ------------------------------------------------------------


def converts_to_bool(value: Any) -> bool:
    """Whether the binding accepts ``value`` for a C++ ``bool``: True, False, None, or an
    object whose type defines ``__bool__`` and whose ``__bool__`` succeeds (numbers, numpy
    scalars, one-element arrays); not str, list or other containers."""
    if value is True or value is False or value is None:
        return True
    if getattr(type(value), "__bool__", None) is None:
        return False
    try:
        bool(value)
    except Exception:
        return False
    return True


def converts_to_int(value: Any, limits: tuple[int, int]) -> int | None:
    """The integer the binding reads from ``value`` for a C++ integer within ``limits``,
    or None where it refuses: floats always; otherwise ``__index__``, then for number-like
    objects ``int()``; then the range."""
    if isinstance(value, float):
        return None
    try:
        number = value.__index__() if hasattr(type(value), "__index__") else None
    except Exception:
        number = None
    if number is None:
        numeric = any(hasattr(type(value), name) for name in ("__index__", "__int__",
                                                                 "__float__"))
        if not (numeric or isinstance(value, complex)):
            return None
        try:
            number = int(value)
        except Exception:
            return None
    if not isinstance(number, int) or not limits[0] <= number <= limits[1]:
        return None
    return int(number)


def incompatible(function: str, signatures: list[str], arguments: list[Any]) -> TypeError:
    """The binding's error when arguments do not convert: the accepted signatures, then
    the reprs of the arguments it was called with."""
    listed = "".join(f"\n    {k}. {signature}" for k, signature in enumerate(signatures, 1))
    given = ", ".join(repr(argument) for argument in arguments)
    return TypeError(f"{function}(): incompatible function arguments. The following argument "
                     f"types are supported:{listed}\n\nInvoked with: {given}")


_WRAPPER = "tflite::interpreter_wrapper::InterpreterWrapper"


def _create_signatures(first: str) -> list[str]:
    return [f"(arg0: {first}, arg1: int, arg2: list[str], arg3: bool, arg4: bool) -> "
            f"{_WRAPPER}",
            f"(arg0: {first}, arg1: int, arg2: list[str], arg3: list[Callable[[int], None]], "
            "arg4: bool, arg5: bool, arg6: int, arg7: bool, arg8: bool, arg9: bool, "
            f"arg10: bool) -> {_WRAPPER}"]


def _converts_to_string(value: Any) -> bool:
    if isinstance(value, bytes):
        return True
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Arguments(NamedTuple):
    """What the binding receives: a path (str or bytes) or the model's bytes."""

    path: str | bytes | None
    content: bytes | None
    #: a registerer function is None: the binding fails calling it, once the model loads
    empty_registerer: bool


def check_arguments(model_path: Any, model_content: Any, registerers: Any,
                    resolver: int, num_threads: Any, flags: list[Any]) -> Arguments:
    """The model source after LiteRT's Python and binding checks, or their error.

    ``flags`` are the seven boolean options in the binding's order: preserve all tensors,
    disable delegate clustering, then (after the thread count) default delegate latest
    features, compress zero points, disable node fusion, force node profiling.
    """
    if model_path and not model_content:
        function, first = "CreateWrapperFromFile", "str"
    elif model_content and not model_path:
        function, first = "CreateWrapperFromBuffer", "bytes"
    elif not model_content and not model_path:
        raise ValueError("`model_path` or `model_content` must be specified.")
    else:
        raise ValueError("Can't both provide `model_path` and `model_content`")
    names = [x for x in registerers if isinstance(x, str)]
    functions = [x for x in registerers if not isinstance(x, str)]
    source = os.fspath(model_path) if function == "CreateWrapperFromFile" else model_content
    threads = int(num_threads or 1)
    arguments = [source, resolver, names, functions, *flags[:2], threads, *flags[2:]]
    accepted = (
        (_converts_to_string(source) if first == "str" else isinstance(source, bytes))
        and all(f is None or callable(f) for f in functions)
        and all(converts_to_bool(flag) for flag in flags)
        and converts_to_int(threads, C_INT) is not None)
    if not accepted:
        raise incompatible(function, _create_signatures(first), arguments)
    empty = any(f is None for f in functions)
    if first == "str":
        return Arguments(source, None, empty)
    return Arguments(None, source, empty)
