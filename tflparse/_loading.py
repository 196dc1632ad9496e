"""Opening a model: ``load()`` maps a file (or wraps bytes) and checks it is a TFLite model.

A file that is not one is named by what it looks like (empty, a Git LFS pointer, GGUF, zip,
HTML, a size-prefixed flatbuffer, ONNX, ...) in the :class:`InvalidModelError`.
"""

from __future__ import annotations

import errno
import mmap
import os
import stat
from typing import TYPE_CHECKING, Callable, Union

from . import _schema as S
from ._errors import InvalidModelError
from ._flatbuf import FlatBuffer
from ._mapping import advise
from ._remote import is_url

if TYPE_CHECKING:
    from .model import Model

__all__ = ["Source", "load", "map_file", "map_source", "unmap"]

#: what :func:`load` opens: a path or the bytes of a model
Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]

#: the FlatBuffer hook called with (start, length) before a buffer's bytes are read
Need = Callable[[int, int], None]


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
    return InvalidModelError.whole(path or "model", f"not a TFLite model: {what}")


def _from_buffer(data: bytes | bytearray | memoryview | mmap.mmap, path: str | None,
                 mapping: mmap.mmap | None, need: Need | None = None) -> Model:
    from .model import Model  # the view this module opens; imported here, as it re-exports load

    fb = FlatBuffer(data)  # type: ignore[arg-type]
    if fb.size < 8 or bytes(fb.data[4:8]) != S.FILE_IDENTIFIER:
        what = _look_alike(bytes(fb.data[:256]), fb.size)
        raise _not_tflite(path, what)
    if need is not None:
        fb.need = need
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
    mapping, need = map_source(path, "a model file")
    if mapping is None:
        raise _not_tflite(path, "the file is empty")
    return _from_buffer(mapping, path, mapping, need)


def map_source(path: str, what: str) -> tuple[mmap.mmap | None, Need | None]:
    """A file's bytes mapped, and the hook that readies a buffer's bytes before they are read:
    a local file is mapped for random access with a streaming hint per buffer (see
    :mod:`._mapping`); a URL is read by byte ranges, its structure now and each buffer's bytes
    on demand (see :mod:`._remote`). The mapping is None for an empty file."""
    if is_url(path):
        from ._remote import open_url

        remote = open_url(path)
        return (remote.map if remote.size else None), remote.need
    mapping = map_file(path, what)
    return mapping, None if mapping is None else advise(mapping)


def map_file(path: str, what: str) -> mmap.mmap | None:
    """Map a regular file read-only, or None when it is empty (which cannot be mapped);
    ``what`` it should be names it in the error for a folder ("is a directory, not a model
    file")."""
    mode = os.stat(path).st_mode  # FileNotFoundError, PermissionError on the way
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, f"is a directory, not {what}", path)
    if not stat.S_ISREG(mode):  # a FIFO or a device would block or never end
        raise OSError(errno.EINVAL, "not a regular file", path)
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return None
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def unmap(mapping: mmap.mmap | None) -> mmap.mmap | None:
    """Close ``mapping`` unless views of it are still alive (the GC unmaps it once they are
    gone); returns None, or the mapping when it stays open."""
    if mapping is not None:
        try:
            mapping.close()
        except BufferError:
            return mapping
    return None
