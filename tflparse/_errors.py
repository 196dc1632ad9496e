"""The one error family of tflparse, and the wording shared by several error messages."""

from __future__ import annotations

__all__ = ["InvalidModelError", "NOT_RUN"]

#: why calls that need a runtime refuse, and why non-constant tensors have no values
NOT_RUN = "tflparse does not run models"


class InvalidModelError(ValueError):
    """The bytes are not a readable TFLite model, or a part of one is malformed.

    The message says what is wrong and where: a path such as
    ``subgraphs[0].tensors[12].quantization.scale`` and, where it helps, a byte offset
    and the file size. The same facts are attributes, so callers never parse the message:

    - ``location``: the dotted path of the malformed part (``"model"`` when the whole file is
      at fault), or None when the error is not tied to one part;
    - ``offset``: the byte offset in the file where reading failed, or None;
    - ``reason``: what is wrong, without the location.

    >>> error = InvalidModelError.at("subgraphs[0].tensors[1].shape", "vector past the end",
    ...                              offset=96)
    >>> str(error), error.location, error.offset
    ('subgraphs[0].tensors[1].shape: vector past the end', 'subgraphs[0].tensors[1].shape', 96)
    """

    def __init__(self, message: str, *, location: str | None = None,
                 offset: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.location = location
        self.offset = offset
        self.reason = message if reason is None else reason

    @classmethod
    def at(cls, location: str, reason: str, offset: int | None = None) -> InvalidModelError:
        """The error for a malformed ``location``; its message is ``"{location}: {reason}"``."""
        return cls(f"{location}: {reason}", location=location, offset=offset, reason=reason)
