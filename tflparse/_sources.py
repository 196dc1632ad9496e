"""What a path names, as models: a model file, the models of a bundle, a folder's files.

:func:`expand` is the one place that turns command-line sources into ``(display name,
model or error)`` items, in a stable order: a folder's files sorted and matched against
``patterns``, a bundle's members in archive order (nested bundles flattened, named
``outer.task!/inner.task!/model.tflite``), a file that cannot be read as its error; a
``BUNDLE!/member`` path (:func:`open_member`) is the member, a model or a bundle. Commands
that work on many models (``audit``, ``report``, remote and Dask runs) take their inputs
from here, so they accept and name the same things.
"""

from __future__ import annotations

import errno
import fnmatch
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Union

from ._errors import InvalidModelError
from ._remote import is_url
from .bundle import SEPARATOR, Bundle, load_any
from .model import Model

__all__ = ["DEFAULT_PATTERNS", "Item", "expand", "expand_file", "files", "open_member"]

#: file names a folder is searched for
DEFAULT_PATTERNS = ("*.tflite", "*.bin", "*.task")

#: a display name and the model there, or why it cannot be read
Item = tuple[str, Union[Model, InvalidModelError, OSError]]


def files(paths: Iterable[str], patterns: Sequence[str] = DEFAULT_PATTERNS
          ) -> Iterator[str | tuple[str, OSError]]:
    """The files the paths name: a file (or ``BUNDLE!/member``) as given, a folder's matching
    files (recursively, sorted; a folder URL too), and ``(path, error)`` for what cannot be
    listed or does not
    exist."""
    for path in paths:
        if is_url(path):
            yield from _url_files(path, patterns)
        elif os.path.isdir(path):
            errors: list[OSError] = []
            for root, dirs, names in os.walk(path, onerror=errors.append):
                dirs.sort()
                for name in sorted(names):
                    if any(fnmatch.fnmatch(name, p) for p in patterns):
                        yield os.path.join(root, name)
            for error in errors:
                yield error.filename or path, error
        elif os.path.lexists(path) or _member_of_a_file(path):
            yield path
        else:
            missing = path.split(SEPARATOR, 1)[0]  # the file, not a member, is missing
            yield path, FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), missing)


def _member_of_a_file(path: str) -> bool:
    """Whether ``path`` is ``FILE!/member...`` with a FILE that exists."""
    return SEPARATOR in path and os.path.lexists(path.split(SEPARATOR, 1)[0])


def _url_files(url: str, patterns: Sequence[str]) -> Iterator[str | tuple[str, OSError]]:
    """A URL: the matching files under it when it is a folder (listed with fsspec; an
    ``http(s)`` folder ends in ``/``), else the URL itself."""
    from ._remote import is_http, list_url

    if is_http(url) and not url.endswith("/"):
        yield url  # asking an HTTP server whether a file is a folder would download it
        return
    try:
        found = list_url(url, tuple(patterns))
    except OSError as error:
        yield url, error
        return
    yield from [url] if found is None else found


def expand_file(path: str) -> Iterator[Item]:
    """A model file (or ``BUNDLE!/member``) as one item, a bundle as one item per model
    inside it (members that are neither models nor bundles are skipped). What is yielded is
    closed once the consumer moves on; keep no model past its turn."""
    try:
        path, opened = open_member(path)
    except (InvalidModelError, OSError) as error:
        yield path, error
        return
    try:
        if isinstance(opened, Bundle):
            yield from opened.models()
        else:
            yield path, opened
    finally:
        opened.close()


def expand(paths: Iterable[str], patterns: Sequence[str] = DEFAULT_PATTERNS) -> Iterator[Item]:
    """Every model the paths name (files, bundles, folders), in order; see the module."""
    for found in files(paths, patterns):
        if isinstance(found, str):
            yield from expand_file(found)
        else:
            yield found


def open_member(spec: str) -> tuple[str, Model | Bundle]:
    """The model or bundle ``spec`` names: a path, or ``BUNDLE!/member[!/member...]`` to
    pick a member (a path that exists as written wins over splitting at ``!/``). The caller
    closes what it gets; errors as :func:`~tflparse.bundle.load_any` raises them."""
    if SEPARATOR not in spec or os.path.lexists(spec):
        return spec, load_any(spec)
    path, *members = spec.split(SEPARATOR)
    root = opened = load_any(path)
    name = path
    try:
        for member in members:
            if not isinstance(opened, Bundle):
                raise InvalidModelError.whole(spec, f"{name} is a TFLite model, not a "
                                                    f"bundle: it has no member {member!r}")
            if member not in opened:
                raise InvalidModelError.whole(spec, f"{name} has no member {member!r} (it has "
                                              f"{', '.join(map(repr, opened.names)) or 'none'})")
            opened = opened.open(member)
            name = f"{name}{SEPARATOR}{member}"
    except InvalidModelError:
        root.close()
        raise
    return name, opened
