"""Opening a model: ``load()`` maps a file (or wraps bytes) and checks it is a TFLite model.

A file that is not one is named by what it looks like (empty, a Git LFS pointer, GGUF, zip,
HTML, a size-prefixed flatbuffer, ONNX, ...) in the :class:`InvalidModelError`.
"""

from __future__ import annotations

import errno
import mmap
import os
import stat
from typing import TYPE_CHECKING, Union

from . import _schema as S
from ._errors import InvalidModelError
from ._flatbuf import FlatBuffer
from ._mapping import advise
from ._remote import is_url

if TYPE_CHECKING:
    from .model import Model

__all__ = ["Source", "load"]

#: what :func:`load` opens: a path or the bytes of a model
Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


def _look_alike(head: bytes, size: int) -> str:
    """Name what a file that is not a TFLite flatbuffer seems to be."""
    text = head.lstrip()[:64].lower()
    if size == 0:
        return "the file is empty"
    if head.startswith(b"version https://git-lfs"):
        return "this is a Git LFS pointer file, not the model: fetch it with `git lfs pull`"
    if head.startswith(b"GGUF"):
        return "this is a GGUF file (llama.cpp), not a TFLite model"
    if head.startswith(b"PK\x03\x04"):
        return "this is a zip archive, not a TFLite model"
    if text.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head")):
        return "this is an HTML/XML page (a failed download?), not a TFLite model"
    if len(head) >= 12 and head[8:12] == S.FILE_IDENTIFIER:
        return ("this is a size-prefixed flatbuffer: drop the first 4 bytes "
                "(the runtime does not accept the prefix)")
    if _onnx_like(head):
        return "this looks like an ONNX protobuf, not a TFLite model"
    if len(head) >= 8:
        found = head[4:8]
        return f"the file identifier is {found!r}, not {S.FILE_IDENTIFIER!r}"
    return "too short to hold a FlatBuffer header"


# An ONNX ModelProto opens with field 1 (ir_version, a small varint: tag 0x08) followed by
# another of its fields: producer_name 0x12, producer_version 0x1a, domain 0x22,
# model_version 0x28, doc_string 0x32, graph 0x3a, opset_import 0x42.
_ONNX_NEXT_TAGS = frozenset(b"\x12\x1a\x22\x28\x32\x3a\x42")


def _onnx_like(head: bytes) -> bool:
    return (len(head) >= 3 and head[0] == 0x08 and 1 <= head[1] <= 20
            and head[2] in _ONNX_NEXT_TAGS) or (head[:1] == b"\x08" and b"onnx" in head.lower())


def _not_tflite(path: str | None, what: str) -> InvalidModelError:
    """The error for a whole file that is not a TFLite model (its message starts with the path)."""
    reason = f"not a TFLite model: {what}"
    return InvalidModelError(f"{path or 'model'}: {reason}", location="model", reason=reason)


def _from_buffer(data: bytes | bytearray | memoryview | mmap.mmap, path: str | None,
                 mapping: mmap.mmap | None) -> Model:
    from .model import Model  # the view this module opens; imported here, as it re-exports load

    fb = FlatBuffer(data)  # type: ignore[arg-type]
    if fb.size < 8 or bytes(fb.data[4:8]) != S.FILE_IDENTIFIER:
        what = _look_alike(bytes(fb.data[:256]), fb.size)
        raise _not_tflite(path, what)
    return Model(fb, path, mapping)


def load(source: Source) -> Model:
    """Open a ``.tflite`` model from a path or from bytes, without reading tensor data.

    ``source`` is a path (``str`` or ``os.PathLike``), a URL that fsspec reads
    (``https://``, ``s3://``, ``hf://``..., with the ``remote`` extra) or a ``bytes``,
    ``bytearray`` or ``memoryview``. A path is memory-mapped; a URL is read by byte ranges,
    its structure on opening and each buffer's contents when they are first read. Raises
    :class:`InvalidModelError` when the bytes are not a TFLite model, and the ordinary
    ``OSError`` subclasses for paths that cannot be opened (one-line network faults too).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _from_buffer(source, None, None)
    path = os.fspath(source)
    if not isinstance(path, str):
        raise TypeError(f"expected a path or bytes, got {type(source).__name__}")
    if is_url(path):
        return _from_url(path)
    mode = os.stat(path).st_mode  # FileNotFoundError, PermissionError on the way
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a model file", path)
    if not stat.S_ISREG(mode):  # a FIFO or a device would block or never end
        raise OSError(errno.EINVAL, "not a regular file", path)
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise _not_tflite(path, "the file is empty")
        mapping = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    need = advise(mapping)
    model = _from_buffer(mapping, path, mapping)
    if need is not None:
        model._fb.need = need
    return model


def _from_url(url: str) -> Model:
    """A model read by byte ranges (the ``remote`` extra): structure now, buffers on demand."""
    from ._remote import open_url

    remote = open_url(url)
    if not remote.size:
        raise InvalidModelError(f"{url}: not a TFLite model: the file is empty")
    model = _from_buffer(remote.map, url, remote.map)
    model._fb.need = remote.need
    return model
