"""tflparse: look inside TensorFlow Lite / LiteRT models without TensorFlow or a runtime.

- :func:`load` gives a typed, read-only, lazy view of a ``.tflite`` file.
- :class:`Interpreter` reports tensor details exactly as LiteRT's ``Interpreter`` does.
- :func:`quantize` / :func:`dequantize` (and blockwise forms) compute as LiteRT's kernels do.
- :func:`load_bundle` opens a MediaPipe ``.task`` bundle (a zip of models) member by member.
- :class:`InvalidModelError` (a ``ValueError``) is raised for anything malformed.
"""

from __future__ import annotations

from ._errors import InvalidModelError
from ._loading import load
from ._schema import BuiltinOperator, QuantizationDetails, TensorType
from .bundle import Bundle, load_bundle
from .interpreter import (
    Interpreter,
    InterpreterWithCustomOps,
    OpResolverType,
    SignatureRunner,
    load_delegate,
)
from .model import Model
from .quant import dequantize, dequantize_blockwise, quantize, quantize_blockwise

__version__ = "0.1.0"

__all__ = [
    "BuiltinOperator",
    "Bundle",
    "Interpreter",
    "InterpreterWithCustomOps",
    "InvalidModelError",
    "Model",
    "OpResolverType",
    "QuantizationDetails",
    "SignatureRunner",
    "TensorType",
    "dequantize",
    "dequantize_blockwise",
    "load",
    "load_bundle",
    "load_delegate",
    "quantize",
    "quantize_blockwise",
    "__version__",
]
