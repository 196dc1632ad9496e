"""Models read by URL: byte ranges over fsspec, only the bytes an answer needs.

A remote model is a sparse anonymous memory map of the file's size (the size comes from the
server). Blocks of :data:`BLOCK` bytes are filled on demand and remembered in a bitmap.
Opening a model fills the file's *structure*: everything except the contents of large buffers
(weights, large metadata), found by following the root table to its ``buffers`` vector. The
contents of a buffer are fetched when something reads them through ``Buffer.data``
(``to_array``, ``get_tensor``, metadata), which calls the FlatBuffer's ``need`` hook.

fsspec's own read-ahead is switched off (``cache_type="none"``): each read asks for exactly the
coalesced ranges, so a weight is never fetched because it sits next to a table. Network faults
become one-line ``OSError`` subclasses (``FileNotFoundError``, ``PermissionError``,
``TimeoutError``, ``ConnectionError``), retried with backoff when they may pass.
"""

from __future__ import annotations

import errno
import mmap
import re
import struct
import time
from typing import Any, Callable

import numpy as np

__all__ = ["is_url", "RemoteFile", "open_url", "list_url", "EXTRA_HINT"]

# Measured (benchmarks/remote.py, README "Models by URL"): 4 KiB blocks read 0.1 % of a
# 400 MiB model of 100 weights (16 KiB: 0.4 %, 64 KiB: 1.6 %; one block per weight boundary)
# and 42 kB in 3.8 requests per shared model; reading files up to 1 MiB whole saves one or two
# requests a model for twice the bytes, which costs more than the requests it saves.
BLOCK = 4 * 1024  # bytes per block of the bitmap
WHOLE = 64 * 1024  # files up to this size are read in one request
HOLE = 4 * BLOCK  # buffers smaller than this are read along with the structure
MERGE = 2  # runs of wanted blocks this close are read in one request
CHUNK = 8 << 20  # the largest range asked for in one request
PARALLEL = 16  # ranges in flight at once, where the filesystem reads asynchronously
RETRIES = 3  # attempts for a fault that may pass (timeout, reset, 5xx)
TIMEOUT = 30.0  # seconds without progress before a request fails
EXTRA_HINT = "pip install 'tflparse[remote]'"

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*(://|::)")


def is_url(source: object) -> bool:
    """Whether ``source`` is a URL for fsspec (``https://``, ``s3://``, ``memory://``...)."""
    return isinstance(source, str) and bool(_SCHEME.match(source))


def _fsspec() -> Any:
    try:
        import fsspec
    except ImportError:
        raise OSError(errno.ENOPKG if hasattr(errno, "ENOPKG") else errno.EINVAL,
                      f"reading URLs needs the optional extra: {EXTRA_HINT}") from None
    return fsspec


def _filesystem(url: str) -> tuple[Any, str]:
    """(fsspec filesystem, path within it) with this reader's timeouts."""
    fsspec = _fsspec()
    options: dict[str, Any] = {}
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    try:
        if scheme in ("http", "https"):
            import aiohttp

            options["client_kwargs"] = {"timeout": aiohttp.ClientTimeout(
                total=None, sock_connect=TIMEOUT, sock_read=TIMEOUT)}
        fs, path = fsspec.core.url_to_fs(url, **options)
    except ImportError as error:  # fsspec names the package a protocol needs
        hint = EXTRA_HINT if scheme in ("http", "https") else "pip install it"
        raise OSError(errno.EINVAL, f"reading {scheme or 'these'} URLs needs a package that is "
                      f"not installed ({_first_line(error)}): {hint}", url) from None
    except ValueError as error:
        raise OSError(errno.EINVAL, f"not a URL fsspec can read ({_first_line(error)})",
                      url) from None
    return fs, path


def list_url(url: str, patterns: tuple[str, ...] | list[str]) -> list[str] | None:
    """Files under a URL folder whose names match ``patterns``, as URLs, sorted; None when the
    URL is not a folder."""
    import fnmatch
    import posixpath

    fs, path = _filesystem(url)
    try:
        if not fs.isdir(path):
            return None
        found = _walk_pages(fs, path) if is_http(url) else fs.find(path)
    except Exception as error:  # noqa: BLE001 - every backend raises its own types
        raise network_error(error, url) from None
    names = sorted(p for p in found
                   if any(fnmatch.fnmatch(posixpath.basename(p), pat) for pat in patterns))
    return [fs.unstrip_protocol(p) for p in names]


def is_http(url: str) -> bool:
    return url.split("://", 1)[0].lower() in ("http", "https")


def _walk_pages(fs: Any, folder: str, limit: int = 100_000) -> list[str]:
    """Files linked from an HTTP folder page and the pages of its sub-folders (links below
    ``folder`` only, each page read once: no cycles)."""
    pending, seen = [folder], {folder}
    files: list[str] = []
    while pending and len(seen) < limit:
        page = pending.pop()
        for entry in fs.ls(page, detail=True):
            name = entry["name"]
            if not name.startswith(folder) or name in seen:
                continue
            seen.add(name)
            (pending if entry["type"] == "directory" else files).append(name)
    return files


class RemoteFile:
    """A URL's bytes in a sparse anonymous map, filled a block at a time on demand."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.requests = 0  # ranges read (for the benchmark and the tests)
        self.received = 0  # bytes read
        fs, path = _filesystem(url)
        try:
            handle = fs.open(path, "rb", block_size=BLOCK, cache_type="none")
        except Exception as error:  # noqa: BLE001
            raise network_error(error, url) from None
        self._handle = handle
        size = getattr(handle, "size", None)
        if not isinstance(size, int):
            raise OSError(errno.EIO, "the server does not report the file's size "
                          "(Content-Length), which reading by byte ranges needs", url)
        self.size = size
        self._ranged = hasattr(handle, "_fetch_range")
        self._fs = fs
        self._path = path
        if size:
            flags = getattr(mmap, "MAP_PRIVATE", 0) | getattr(mmap, "MAP_NORESERVE", 0)
            self.map = mmap.mmap(-1, size, flags=flags) if flags else mmap.mmap(-1, size)
        else:
            self.map = mmap.mmap(-1, 1)
        self.block = BLOCK
        self._have = np.zeros(-(-size // self.block), bool)

    # -- reading -----------------------------------------------------------------------------

    def need(self, start: int, length: int) -> None:
        """Make ``[start, start + length)`` readable (the FlatBuffer's ``need`` hook)."""
        if length <= 0:
            return
        first, last = start // self.block, -(-min(start + length, self.size) // self.block)
        if first < last and not self._have[first:last].all():
            wanted = np.zeros(len(self._have), bool)
            wanted[first:last] = True
            self._fill(wanted)

    def need_many(self, starts: np.ndarray, stops: np.ndarray) -> None:
        """Make many ranges readable, coalesced into as few requests as blocks allow."""
        keep = (stops > starts) & (starts >= 0) & (starts < self.size)
        if not keep.any():
            return
        first = starts[keep] // self.block
        last = -(-np.minimum(stops[keep], self.size) // self.block)
        self._fill(_cover(len(self._have), first, last))

    def _fill(self, wanted: np.ndarray) -> None:
        runs = _runs(wanted & ~self._have, MERGE)
        if not runs:
            return
        ranges = [(lo, min(lo + CHUNK, b * self.block, self.size))
                  for a, b in runs for lo in range(a * self.block, b * self.block, CHUNK)]
        for (start, stop), data in zip(ranges, self._read_all(ranges)):
            if len(data) != stop - start:
                raise OSError(errno.EIO, f"the server sent {len(data)} of {stop - start} bytes "
                              f"at offset {start} (a truncated body, or the file changed)",
                              self.url)
            self.map[start:stop] = data
            self._have[start // self.block:-(-stop // self.block)] = True

    def _read_all(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        """The bytes of many ranges: concurrently where the filesystem is asynchronous (HTTP
        through the file's own range read, which refuses a server that ignores ``Range``;
        object stores, which always honour it, through ``cat_ranges``)."""
        gather = getattr(self._handle, "async_fetch_range", None)
        loop = getattr(self._fs, "loop", None)
        if len(ranges) == 1 or loop is None or (
                gather is None and not getattr(self._fs, "async_impl", False)):
            return [self._read(start, stop) for start, stop in ranges]
        found: list[bytes] = []
        for lo in range(0, len(ranges), PARALLEL):
            batch = ranges[lo:lo + PARALLEL]

            def read(batch: list[tuple[int, int]] = batch) -> list[bytes]:
                if gather is not None:
                    return _gather(loop, gather, batch)
                return [bytes(b) for b in self._fs.cat_ranges(
                    [self._path] * len(batch), [a for a, _ in batch], [b for _, b in batch],
                    on_error="raise")]

            found.extend(self._retry(read, len(batch)))
        return found

    def _read(self, start: int, stop: int) -> bytes:
        def once() -> list[bytes]:
            if self._ranged:
                return [bytes(self._handle._fetch_range(start, stop))]
            try:
                self._handle.seek(start)
            except ValueError:  # a streaming file: the server offers no byte ranges
                raise _NoRanges() from None
            return [bytes(self._handle.read(stop - start))]

        return self._retry(once, 1)[0]

    def _retry(self, read: Callable[[], list[bytes]], count: int) -> list[bytes]:
        for attempt in range(RETRIES):
            try:
                found = read()
            except Exception as error:  # noqa: BLE001
                fault = network_error(error, self.url)
                if attempt + 1 == RETRIES or not _transient(fault):
                    raise fault from None
                time.sleep(0.2 * 2 ** attempt)
            else:
                self.requests += count
                self.received += sum(map(len, found))
                return found
        raise AssertionError("unreachable")

    # -- the model's structure ---------------------------------------------------------------

    def fill_structure(self) -> None:
        """Read everything but the contents of buffers of :data:`HOLE` bytes or more."""
        if self.size <= WHOLE:
            self.need(0, self.size)
            return
        self.need(0, self.block)
        head = bytes(self.map[:8])
        if head[:4] == b"PK\x03\x04":  # a zip (a bundle): read whole, as its reader needs
            self.need(0, self.size)
            return
        if head[4:8] != b"TFL3":  # no model: the first block is enough to say what it is
            return
        try:
            holes = self._holes()
        except _Malformed:  # the parser reports it; give it every byte it could look at
            holes = np.zeros((0, 2), np.int64)
        inside = np.zeros(len(self._have), bool)
        if len(holes):
            first = -(-holes[:, 0] // self.block)  # only blocks wholly inside a buffer are left
            last = holes[:, 1] // self.block
            inside = _cover(len(self._have), first, np.maximum(last, first))
        self._fill(~inside)

    def _holes(self) -> np.ndarray:
        """(start, stop) of the contents of every large buffer (inline or by offset)."""
        from . import _schema as S

        root = self._u32(0)
        vt, vt_size = self._vtable(root)
        field = self._field(root, vt, vt_size, S.Model.BUFFERS.voffset)
        if not field:
            return np.zeros((0, 2), np.int64)
        vector = field + self._u32(field)
        count = self._u32(vector)
        if vector + 4 + 4 * count > self.size:
            raise _Malformed()
        slots = vector + 4 + 4 * np.arange(count, dtype=np.int64)
        tables = slots + self._gather(slots, "<u4")
        tables = tables[tables + 4 <= self.size]
        vts = tables - self._gather(tables, "<i4")
        ok = (vts >= 0) & (vts + 4 <= self.size)
        tables, vts = tables[ok], vts[ok]
        sizes = self._gather(vts, "<u2")
        ok = vts + sizes <= self.size
        tables, vts, sizes = tables[ok], vts[ok], sizes[ok]
        self.need_many(vts, vts + sizes)
        holes = []
        for start, stop in (self._inline(tables, vts, sizes, S.Buffer.DATA.voffset),
                            self._external(tables, vts, sizes)):
            keep = (stop - start >= HOLE) & (start >= 0) & (stop <= self.size)
            holes.append(np.stack([start[keep], stop[keep]], axis=1))
        return np.concatenate(holes)

    def _fields(self, tables: np.ndarray, vts: np.ndarray, sizes: np.ndarray, voffset: int,
                width: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows that store the field, its positions), made readable."""
        rows = (sizes >= voffset + 2).nonzero()[0]
        offsets = self._gather(vts[rows] + voffset, "<u2")
        at = tables[rows] + offsets
        keep = (offsets != 0) & (at + width <= self.size)
        rows, at = rows[keep], at[keep]
        self.need_many(at, at + width)
        return rows, at

    def _inline(self, tables: np.ndarray, vts: np.ndarray, sizes: np.ndarray, voffset: int
                ) -> tuple[np.ndarray, np.ndarray]:
        _, at = self._fields(tables, vts, sizes, voffset, 4)
        target = at + self._gather(at, "<u4")
        target = target[target + 4 <= self.size]
        start = target + 4
        return start, start + self._gather(target, "<u4")

    def _external(self, tables: np.ndarray, vts: np.ndarray, sizes: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
        from . import _schema as S

        rows, offset_at = self._fields(tables, vts, sizes, S.Buffer.OFFSET.voffset, 8)
        offsets = np.zeros(len(tables), np.int64)
        offsets[rows] = self._gather(offset_at, "<u8").astype(np.int64)
        rows, size_at = self._fields(tables, vts, sizes, S.Buffer.SIZE.voffset, 8)
        lengths = np.zeros(len(tables), np.int64)
        lengths[rows] = self._gather(size_at, "<u8").astype(np.int64)
        ok = (offsets > 1) & (lengths > 0) & (offsets < self.size)
        return offsets[ok], offsets[ok] + np.minimum(lengths[ok], self.size)

    def _u32(self, pos: int) -> int:
        if not 0 <= pos <= self.size - 4:
            raise _Malformed()
        self.need(pos, 4)
        value: int = struct.unpack_from("<I", self.map, pos)[0]
        return value

    def _vtable(self, table: int) -> tuple[int, int]:
        if not 0 <= table <= self.size - 4:
            raise _Malformed()
        self.need(table, 4)
        vt = table - struct.unpack_from("<i", self.map, table)[0]
        if not 0 <= vt <= self.size - 4:
            raise _Malformed()
        self.need(vt, 2)
        size: int = struct.unpack_from("<H", self.map, vt)[0]
        self.need(vt, size)
        return vt, size

    def _field(self, table: int, vt: int, vt_size: int, voffset: int) -> int:
        if voffset + 2 > vt_size or vt + voffset + 2 > self.size:
            return 0
        offset: int = struct.unpack_from("<H", self.map, vt + voffset)[0]
        return table + offset if offset else 0

    def _gather(self, positions: np.ndarray, kind: str) -> np.ndarray:
        """Values at byte positions that lie inside the file (made readable first)."""
        dtype = np.dtype(kind)
        positions = positions.astype(np.int64)
        self.need_many(positions, positions + dtype.itemsize)
        raw = np.frombuffer(self.map, np.uint8)
        offsets = positions[:, None] + np.arange(dtype.itemsize)
        values: np.ndarray = raw[offsets].copy().view(dtype).reshape(-1).astype(np.int64)
        return values


def open_url(url: str) -> RemoteFile:
    """Open a URL and read its structure (see :meth:`RemoteFile.fill_structure`)."""
    remote = RemoteFile(url)
    if remote.size:
        remote.fill_structure()
    return remote


# --------------------------------------------------------------------------------------------
# Blocks and runs


def _cover(n: int, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Blocks covered by any of the ranges ``[first, last)`` of block numbers."""
    marks = np.zeros(n + 1, np.int64)
    first = np.clip(first, 0, n)
    last = np.clip(last, 0, n)
    np.add.at(marks, first, 1)
    np.add.at(marks, last, -1)
    covered: np.ndarray = np.cumsum(marks[:-1]) > 0
    return covered


def _runs(wanted: np.ndarray, merge: int) -> list[tuple[int, int]]:
    """``[start, stop)`` runs of wanted blocks; runs ``merge`` blocks apart or less join."""
    edges = np.diff(np.concatenate([[0], wanted.view(np.int8), [0]]))
    starts, stops = (edges == 1).nonzero()[0], (edges == -1).nonzero()[0]
    if not len(starts):
        return []
    join = (starts[1:] - stops[:-1]) <= merge
    keep_start = np.concatenate([[True], ~join])
    keep_stop = np.concatenate([~join, [True]])
    return list(zip(starts[keep_start].tolist(), stops[keep_stop].tolist()))


def _gather(loop: Any, fetch: Callable[..., Any], ranges: list[tuple[int, int]]) -> list[bytes]:
    import asyncio

    from fsspec.asyn import sync

    async def read_all() -> list[bytes]:
        found = await asyncio.gather(*(fetch(start, stop) for start, stop in ranges))
        return [bytes(data) for data in found]

    result: list[bytes] = sync(loop, read_all)
    return result


# --------------------------------------------------------------------------------------------
# Faults


class _Malformed(Exception):
    """The path to the buffers is malformed: the parser will say how."""


class _NoRanges(Exception):
    pass


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def network_error(error: BaseException, url: str) -> OSError:
    """Any fault from fsspec or its client library as a one-line ``OSError``."""
    cause: BaseException | None = error
    for _ in range(8):  # fsspec reports a failed HEAD as FileNotFoundError from the cause
        if cause is None or isinstance(getattr(cause, "status", None), int):
            break
        cause = cause.__cause__ or cause.__context__
    status = getattr(cause, "status", None) if cause is not None else None
    if isinstance(status, int) and status not in (404, 410):
        error = cause  # type: ignore[assignment]
    name = type(error).__name__
    if isinstance(error, FileNotFoundError) or status in (404, 410):
        return FileNotFoundError(errno.ENOENT, "not found" + _http(status), url)
    if isinstance(error, PermissionError) or status in (401, 403):
        return PermissionError(errno.EACCES, "access denied" + _http(status), url)
    if isinstance(error, _NoRanges) or (isinstance(error, ValueError)
                                        and "range requests" in str(error)):
        return OSError(errno.EIO, "the server does not support byte ranges (HTTP Range), "
                       "which reading a model of this size needs", url)
    if isinstance(error, TimeoutError) or "Timeout" in name:
        return TimeoutError(errno.ETIMEDOUT, f"timed out after {TIMEOUT:g} s", url)
    if isinstance(status, int) and status >= 400:
        return _Transient(errno.EIO, f"HTTP {status}: {_first_line(error)}", url) \
            if status >= 500 or status == 429 else OSError(errno.EIO, f"HTTP {status}: "
                                                           f"{_first_line(error)}", url)
    if (isinstance(error, (ConnectionError, EOFError)) or "Payload" in name
            or "Disconnect" in name or "Connection" in name):
        return ConnectionError(errno.ECONNRESET, f"connection lost ({name}: "
                               f"{_first_line(error)})", url)
    if isinstance(error, OSError) and error.strerror:
        return OSError(error.errno or errno.EIO, error.strerror, url)
    return OSError(errno.EIO, f"{name}: {_first_line(error)}", url)


class _Transient(OSError):
    pass


def _http(status: object) -> str:
    return f" (HTTP {status})" if isinstance(status, int) else ""


def _transient(fault: OSError) -> bool:
    return isinstance(fault, (TimeoutError, ConnectionError, _Transient))
