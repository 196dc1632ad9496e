"""Bundles: MediaPipe ``.task`` files and any other zip of models, read in place.

``load_bundle(source)`` maps the file (or wraps the bytes) and reads the zip's directory;
members are opened only when asked for. A stored member (MediaPipe stores its models,
4-byte aligned) is a zero-copy view of the bundle's mapping; a deflated one is inflated
within ``inflate_limit`` bytes, shared by the bundle and the bundles nested in it. A member
whose bytes are a zip is a nested bundle; one whose bytes are a TFLite model is a model;
anything else (a tokenizer, ``*.binarypb``, a label file) is listed but not loaded.

Members are named after the bundle they are in, joined by ``!/``:
``hand.task!/hand_detector.tflite`` and, nested,
``g.task!/hand_landmarker.task!/hand_detector.tflite``.

>>> import io, zipfile, tflparse
>>> raw = io.BytesIO()
>>> with zipfile.ZipFile(raw, "w") as z:
...     z.write("fixtures/mnist_int8.tflite", "mnist.tflite")
...     z.writestr("labels.txt", "0\\n1\\n")
>>> bundle = tflparse.load_bundle(raw.getvalue())
>>> [(m.name, m.kind) for m in bundle.members]
[('mnist.tflite', 'model'), ('labels.txt', 'other')]
>>> bundle["mnist.tflite"].subgraphs[0].tensors[0].name
'input'
>>> [name for name, _ in bundle.models()]
['bundle!/mnist.tflite']
"""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Iterator
from typing import Union

from . import _schema as S
from ._errors import InvalidModelError
from ._loading import Source, _from_buffer, _look_alike, load, map_source, unmap
from ._zip import ZipArchive, ZipMember, find_archive, safe_relative_path
from .model import Model

__all__ = ["Bundle", "BundleMember", "load_bundle", "load_any", "SEPARATOR", "MAX_DEPTH"]

SEPARATOR = "!/"
MAX_DEPTH = 16
_DEFAULT_LIMIT = 1 << 31
_MODEL_SUFFIXES = (".tflite", ".lite")
_ZIP_SUFFIXES = (".task", ".zip")

Member = Union[Model, "Bundle"]


def _whole(name: str, reason: str) -> InvalidModelError:
    """The error for a whole file or member (``name``) that cannot be used."""
    return InvalidModelError.whole(name, reason)


class _Budget:
    """Bytes that inflating members may still allocate, shared down the nesting."""

    __slots__ = ("left", "limit")

    def __init__(self, limit: int) -> None:
        self.left = self.limit = limit


class BundleMember:
    """One entry of a bundle: ``name`` in the zip, ``display_name`` (``bundle!/name``),
    ``kind`` (``"model"``, ``"bundle"``, ``"other"``, ``"folder"``, or ``"error"`` when the
    member cannot be read, with ``error`` saying why), ``size``, ``compressed_size`` and
    ``bundle``, the :class:`Bundle` it is in (where to read or open it)."""

    __slots__ = ("name", "display_name", "kind", "size", "compressed_size", "stored", "error",
                 "bundle", "_entry")

    def __init__(self, bundle: Bundle, entry: ZipMember, display_name: str, kind: str,
                 error: InvalidModelError | None = None) -> None:
        self.name = entry.name
        self.display_name = display_name
        self.kind = kind
        self.size = entry.size
        self.compressed_size = entry.compressed_size
        self.stored = entry.method == 0
        self.error = error
        self._entry = entry
        self.bundle = bundle

    def __repr__(self) -> str:
        return f"BundleMember({self.name!r}, {self.kind}, {self.size} bytes)"


class Bundle:
    """A zip of models. Create it with :func:`load_bundle`; index it by member name."""

    def __init__(self, data: memoryview, archive: ZipArchive, name: str,
                 mapping: mmap.mmap | None, budget: _Budget, depth: int) -> None:
        self._data = data
        self.archive = archive
        self.name = name
        self._mmap = mapping
        self._budget = budget
        self._depth = depth
        self._members: tuple[BundleMember, ...] | None = None
        self._opened: dict[int, Member] = {}

    @property
    def names(self) -> tuple[str, ...]:
        """Every member's name, in archive order."""
        return self.archive.names

    def __len__(self) -> int:
        return len(self.archive)

    def __iter__(self) -> Iterator[str]:
        return iter(self.archive.names)

    def __contains__(self, name: object) -> bool:
        return name in self.archive

    @property
    def members(self) -> tuple[BundleMember, ...]:
        """Every member, with what it holds (read from its first bytes)."""
        if self._members is None:
            self._members = tuple(self._classify(entry) for entry in self.archive.members)
        return self._members

    def _classify(self, entry: ZipMember) -> BundleMember:
        display = f"{self.name}{SEPARATOR}{entry.name}"
        if entry.name.endswith("/") and entry.size == 0:
            return BundleMember(self, entry, display, "folder")
        try:
            safe_relative_path(entry.name, self.name)
            head = self.archive.head(entry, 8)
        except InvalidModelError as error:
            return BundleMember(self, entry, display, "error", error)
        if head[4:8] == S.FILE_IDENTIFIER:
            return BundleMember(self, entry, display, "model")
        if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            return BundleMember(self, entry, display, "bundle")
        lower = entry.name.lower()
        if lower.endswith(_MODEL_SUFFIXES + _ZIP_SUFFIXES):
            what = "TFLite model" if lower.endswith(_MODEL_SUFFIXES) else "zip"
            return BundleMember(self, entry, display, "error", _whole(
                display, f"named like a {what}, but its bytes are not one (they start "
                         f"{head!r})"))
        return BundleMember(self, entry, display, "other")

    def member(self, name: str) -> BundleMember:
        """The member called ``name`` (the last one when a name repeats)."""
        entry = self.archive.member(name)
        return next(m for m in self.members if m._entry is entry)

    def _find(self, name: str | BundleMember) -> BundleMember:
        if not isinstance(name, BundleMember):
            return self.member(name)
        if name.bundle is not self:
            raise ValueError(f"{name.display_name} is not a member of {self.name}")
        return name

    def read(self, name: str | BundleMember) -> memoryview:
        """A member's bytes: a view of the bundle for a stored member (not CRC-checked, so
        nothing is read), inflated within the bundle's limit (CRC-checked) otherwise."""
        found = self._find(name)
        if found.kind == "error":
            assert found.error is not None
            raise found.error
        entry = found._entry
        if entry.method == 0:
            return self.archive.read(entry, limit=0, verify=False)
        if entry.size > self._budget.left:
            raise _whole(found.display_name, f"inflating its {entry.size} bytes would pass "
                         f"the bundle's limit of {self._budget.limit} inflated bytes")
        data = self.archive.read(entry, limit=self._budget.left)
        self._budget.left -= len(data)
        return data

    def open(self, name: str | BundleMember) -> Member:
        """The member as a :class:`~tflparse.model.Model` or a nested :class:`Bundle`;
        :class:`InvalidModelError` for other members and damaged ones."""
        found = self._find(name)
        key = id(found._entry)
        if key in self._opened:
            return self._opened[key]
        if found.kind == "model":
            opened: Member = load(self.read(found))
        elif found.kind == "bundle":
            if self._depth >= MAX_DEPTH:
                raise _whole(found.display_name, f"bundles nested more than {MAX_DEPTH} deep")
            data = self.read(found)
            archive = find_archive(data, found.display_name)
            if archive is None:
                raise _whole(found.display_name, f"not a bundle: no zip archive in its "
                                                 f"{len(data)} bytes")
            opened = Bundle(data, archive, found.display_name, None, self._budget,
                            self._depth + 1)
        elif found.kind == "error":
            assert found.error is not None
            raise found.error
        else:
            raise _whole(found.display_name, f"not a model or a bundle ({found.kind} member "
                                             f"of {found.size} bytes)")
        self._opened[key] = opened
        return opened

    __getitem__ = open

    def walk(self) -> Iterator[BundleMember]:
        """Every member, each nested bundle's members right after it (depth first); a nested
        bundle that cannot be opened is listed without its members."""
        for found in self.members:
            yield found
            if found.kind == "bundle":
                try:
                    inner = self.open(found)
                except InvalidModelError:
                    continue
                assert isinstance(inner, Bundle)
                yield from inner.walk()

    def models(self) -> Iterator[tuple[str, Model | InvalidModelError]]:
        """Every model in the bundle and in the bundles nested in it, in archive order, as
        (display name, model); a member that cannot be read comes as its error instead.
        Members that are neither models nor bundles are skipped."""
        for found in self.members:
            if found.kind in ("other", "folder"):
                continue
            try:
                opened = self.open(found)
            except InvalidModelError as error:
                yield found.display_name, error
                continue
            if isinstance(opened, Bundle):
                yield from opened.models()
            else:
                yield found.display_name, opened

    def close(self) -> None:
        """Release the file mapping if no view of it is still in use."""
        self._opened.clear()
        self._mmap = unmap(self._mmap)

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Bundle({self.name!r}, {len(self)} members)"


def load_bundle(source: Source, *, name: str | None = None,
                inflate_limit: int = _DEFAULT_LIMIT) -> Bundle:
    """Open a ``.task`` bundle (or any zip of models) from a path or from bytes.

    Nothing but the zip's directory is read until a member is asked for. Deflated members
    (in this bundle and the bundles nested in it) may inflate to ``inflate_limit`` bytes in
    all. ``name`` (default: the path, or ``"bundle"`` for bytes) starts the members' display
    names. Raises :class:`InvalidModelError` when the bytes are no zip or a damaged one, and
    the ordinary ``OSError`` subclasses for paths that cannot be opened.
    """
    found = load_any(source, name=name, inflate_limit=inflate_limit)
    if isinstance(found, Model):
        found.close()
        raise _whole(name or found.path or "bundle",
                     "a TFLite model, not a bundle (open it with tflparse.load)")
    return found


def load_any(source: Source, *, name: str | None = None,
             inflate_limit: int = _DEFAULT_LIMIT) -> Model | Bundle:
    """A model or a bundle, whichever the bytes hold (a model with associated files zipped
    after it is a model). Errors as :func:`load` and :func:`load_bundle` raise them."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source)
        data = view if view.format == "B" and view.ndim == 1 else view.cast("B")
        mapping = need = None
        label = name or "bundle"
    else:
        path = os.fspath(source)
        if not isinstance(path, str):
            raise TypeError(f"expected a path or bytes, got {type(source).__name__}")
        mapping, need = map_source(path, "a model or bundle file")  # a URL too
        if mapping is None:
            raise _whole(name or path, "not a TFLite model or bundle: the file is empty")
        data = memoryview(mapping)
        label = name or path
    try:
        if len(data) >= 8 and bytes(data[4:8]) == S.FILE_IDENTIFIER:
            if mapping is None:
                return _from_buffer(data, name, None)
            data.release()  # the model holds the mapping itself, so close() can unmap it
            return _from_buffer(mapping, label, mapping, need)
        archive = find_archive(data, label)
        if archive is None:
            what = _look_alike(bytes(data[:256]), len(data))
            if bytes(data[:4]) == b"PK\x03\x04":
                what = "a zip archive without its end record (a truncated download?)"
            raise _whole(label, f"not a TFLite model or bundle: {what}")
        return Bundle(data, archive, label, mapping, _Budget(inflate_limit), 0)
    except InvalidModelError:
        if mapping is not None:
            with contextlib.suppress(BufferError):  # a view is still held; the GC will unmap
                data.release()
                mapping.close()
        raise
