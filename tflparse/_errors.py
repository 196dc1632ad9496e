"""The one error family of tflparse."""

from __future__ import annotations

__all__ = ["InvalidModelError"]


class InvalidModelError(ValueError):
    """The bytes are not a readable TFLite model, or a part of one is malformed.

    The message says what is wrong and where: a path such as
    ``subgraphs[0].tensors[12].quantization.scale`` and, where it helps, a byte offset
    and the file size.
    """
