"""A small, bounded, lazy reader of zip archives held in memory (a mapping or bytes).

TFLite Model Metadata appends its associated files to the model as a zip, and MediaPipe's
``.task`` bundles are zips of models. This module reads both without copying: the archive
is found from its end-of-central-directory record (ZIP64 included), members are listed from
the central directory, and :meth:`ZipArchive.read` hands out a read-only ``memoryview`` of
the bytes for stored members and inflates deflated ones with a bound.

Every structural fact is checked before it is used: offsets and sizes stay inside the
bytes, member counts fit the directory's size, members do not overlap one another or the
directory, local headers agree with the directory, and a member never inflates past its
declared size or the caller's ``limit``. Anything else is an :class:`InvalidModelError`
naming the archive and the member.

Format: PKWARE's APPNOTE.TXT (sections 4.3.7 local header, 4.3.12 central directory header,
4.3.14-4.3.16 ZIP64 and end records, 4.5.3 the ZIP64 extra field).

>>> import io, zipfile
>>> raw = io.BytesIO()
>>> with zipfile.ZipFile(raw, "w") as z:
...     z.writestr("labels.txt", "cat\\ndog\\n")
>>> archive = find_archive(memoryview(b"model bytes" + raw.getvalue()), "model.tflite")
>>> archive.names
('labels.txt',)
>>> bytes(archive.read("labels.txt", limit=1 << 20))
b'cat\\ndog\\n'
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import NamedTuple

from ._errors import InvalidModelError

__all__ = ["ZipArchive", "ZipMember", "find_archive", "safe_relative_path", "extraction_path",
           "STORED", "DEFLATED"]

STORED = 0
DEFLATED = 8

_EOCD = struct.Struct("<4s4H2LH")          # end of central directory, 22 bytes
_EOCD64_LOCATOR = struct.Struct("<4sLQL")   # 20 bytes, just before the end record
_EOCD64 = struct.Struct("<4sQ2H2L4Q")       # 56 bytes (without its extensible data)
_CENTRAL = struct.Struct("<4s6H3L5H2L")    # 46 bytes, then name, extra, comment
_LOCAL = struct.Struct("<4s5H3L2H")        # 30 bytes, then name, extra

_EOCD_SIG = b"PK\x05\x06"
_EOCD64_LOCATOR_SIG = b"PK\x06\x07"
_EOCD64_SIG = b"PK\x06\x06"
_CENTRAL_SIG = b"PK\x01\x02"
_LOCAL_SIG = b"PK\x03\x04"
_ZIP64_EXTRA = 0x0001
_MAX_COMMENT = 0xFFFF
_FLAG_ENCRYPTED = 0x0001
_FLAG_UTF8 = 0x0800
_CHUNK = 1 << 16


class ZipMember(NamedTuple):
    """One entry of the central directory.

    ``offset`` is where the member's (possibly compressed) bytes start in the bytes given to
    :func:`find_archive`; ``compressed_size`` of them follow.
    """

    name: str
    method: int
    compressed_size: int
    size: int
    offset: int
    crc: int
    flags: int
    header_offset: int


class ZipArchive:
    """A zip archive inside a larger ``memoryview``. Create it with :func:`find_archive`.

    ``names`` are in archive order (repeats kept, as ``zipfile.ZipFile.namelist()`` does);
    ``members`` are the matching :class:`ZipMember` entries; ``start`` is where the archive
    begins in the bytes (the length of what was prepended, e.g. a model).
    """

    __slots__ = ("_data", "where", "start", "members", "names", "comment", "_by_name")

    def __init__(self, data: memoryview, where: str, start: int,
                 members: tuple[ZipMember, ...], comment: bytes) -> None:
        self._data = data
        self.where = where
        self.start = start
        self.members = members
        self.names = tuple(m.name for m in members)
        self.comment = comment
        self._by_name = {m.name: m for m in members}  # the last of a repeated name wins

    def __len__(self) -> int:
        return len(self.members)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def member(self, name: str) -> ZipMember:
        """The entry called ``name`` (the last one when the name repeats)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise InvalidModelError(f"{self.where}: no zip member {name!r}") from None

    def _readable(self, m: ZipMember) -> str:
        """Where ``m`` is, for messages; refuses what this reader cannot read."""
        where = f"{self.where}: zip member {m.name!r}"
        if m.flags & _FLAG_ENCRYPTED:
            raise InvalidModelError(f"{where} is encrypted")
        if m.method not in (STORED, DEFLATED):
            raise InvalidModelError(f"{where}: compression method {m.method} is not supported "
                                    "(only stored and deflated)")
        return where

    def read(self, name: str | ZipMember, *, limit: int, verify: bool = True) -> memoryview:
        """The bytes of member ``name``, read-only.

        A stored member comes back as a zero-copy view of the archive's bytes (``limit``
        does not apply: nothing is allocated; ``verify=False`` skips its CRC check, which
        would read every byte). A deflated member is inflated into at most ``limit`` bytes,
        never more than its declared size, and its CRC is always checked.
        """
        m = name if isinstance(name, ZipMember) else self.member(name)
        where = self._readable(m)
        if m.method == STORED:
            if m.compressed_size != m.size:
                raise InvalidModelError(
                    f"{where}: stored, but {m.compressed_size} bytes hold a declared "
                    f"{m.size} bytes")
            view = self._data[m.offset:m.offset + m.size].toreadonly()
            if verify:
                _check_crc(zlib.crc32(view), m, where)
            return view
        if m.size > limit:
            raise InvalidModelError(f"{where}: declares {m.size} bytes inflated, over the "
                                    f"limit of {limit} bytes")
        return _inflate(self._data[m.offset:m.offset + m.compressed_size], m, where)

    def head(self, name: str | ZipMember, size: int) -> bytes:
        """The first ``size`` bytes (or fewer) of a member, inflating no more than that; not
        CRC-checked (for recognising what a member holds)."""
        m = name if isinstance(name, ZipMember) else self.member(name)
        where = self._readable(m)
        if m.method == STORED:
            return bytes(self._data[m.offset:m.offset + min(size, m.compressed_size)])
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            return inflater.decompress(self._data[m.offset:m.offset + min(
                m.compressed_size, _CHUNK)], min(size, m.size) or 1)[:size]
        except zlib.error as exc:
            raise InvalidModelError(f"{where}: deflate stream is damaged ({exc})") from None

    def __repr__(self) -> str:
        return f"ZipArchive({self.where!r}, {len(self.members)} members at byte {self.start})"


def _check_crc(crc: int, m: ZipMember, where: str) -> None:
    if crc != m.crc:
        raise InvalidModelError(f"{where}: CRC-32 is {crc:#010x}, the directory says "
                                f"{m.crc:#010x} (the member is damaged)")


def _inflate(source: memoryview, m: ZipMember, where: str) -> memoryview:
    out = bytearray(m.size)
    produced = 0
    crc = 0
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    pending: bytes | memoryview = b""
    position = 0
    try:
        while True:
            if not pending:
                if position >= len(source):
                    break
                pending = source[position:position + _CHUNK]
                position += len(pending)
            # one byte more than may come out, so a member that inflates past its size shows
            piece = inflater.decompress(pending, m.size - produced + 1)
            pending = inflater.unconsumed_tail
            if produced + len(piece) > m.size:
                raise InvalidModelError(f"{where} inflates past its declared {m.size} bytes")
            out[produced:produced + len(piece)] = piece
            crc = zlib.crc32(piece, crc)
            produced += len(piece)
            if inflater.eof:
                break
            if not piece and not pending and position >= len(source):
                break
    except zlib.error as exc:
        raise InvalidModelError(f"{where}: deflate stream is damaged ({exc})") from None
    if not inflater.eof:
        raise InvalidModelError(f"{where}: deflate stream ends early ({produced} of "
                                f"{m.size} bytes)")
    if produced != m.size:
        raise InvalidModelError(f"{where} inflates to {produced} bytes, the directory says "
                                f"{m.size}")
    _check_crc(crc, m, where)
    return memoryview(out).toreadonly()


# --------------------------------------------------------------------------------------------
# Finding and checking an archive


def find_archive(data: memoryview, where: str = "archive") -> ZipArchive | None:
    """The zip archive at the end of ``data`` (appended to it, or all of it), or None.

    None means the bytes end in no end-of-central-directory record. When there is one, the
    archive is checked whole (directory, local headers, overlaps) and any fault is an
    :class:`InvalidModelError` naming ``where``.
    """
    data = data.cast("B") if data.format != "B" or data.ndim != 1 else data
    at = _end_record(data)
    if at is None:
        return None
    try:
        return _read_archive(data, where, at)
    except struct.error as exc:  # every unpack is bounds-checked first; this is a last guard
        raise InvalidModelError(f"{where}: zip structure cannot be read ({exc})") from None


def _end_record(data: memoryview) -> int | None:
    """Where the end record starts: the last one whose comment ends the bytes exactly, else
    the last one that fits (``zipfile`` tolerates bytes after the comment too)."""
    size = len(data)
    if size < _EOCD.size:
        return None
    low = max(0, size - _EOCD.size - _MAX_COMMENT)
    tail = bytes(data[low:])
    loose = None
    at = tail.rfind(_EOCD_SIG)
    while at >= 0:
        if at + _EOCD.size <= len(tail):
            (comment,) = struct.unpack_from("<H", tail, at + 20)
            if at + _EOCD.size + comment == len(tail):
                return low + at
            if loose is None and at + _EOCD.size + comment <= len(tail):
                loose = low + at
        at = tail.rfind(_EOCD_SIG, 0, at)
    return loose


def _read_archive(data: memoryview, where: str, at: int) -> ZipArchive:
    size = len(data)
    (_, disk, cd_disk, count_here, count, cd_size, cd_offset,
     comment_size) = _EOCD.unpack_from(data, at)
    comment = bytes(data[at + _EOCD.size:at + _EOCD.size + comment_size])
    directory_end = at  # where the central directory (or the ZIP64 records) must end
    if (0xFFFF in (disk, cd_disk, count_here, count) or 0xFFFFFFFF in (cd_size, cd_offset)) \
            and at >= _EOCD64_LOCATOR.size:
        loc = at - _EOCD64_LOCATOR.size
        sig, _, _, disks = _EOCD64_LOCATOR.unpack_from(data, loc)
        if sig == _EOCD64_LOCATOR_SIG:
            # the locator's offset counts from the archive's start, unknown until the
            # directory is found; as zipfile does, expect the record just before the locator
            record_at = loc - _EOCD64.size
            if record_at < 0 or bytes(data[record_at:record_at + 4]) != _EOCD64_SIG:
                raise InvalidModelError(f"{where}: ZIP64 end record not found before its "
                                        f"locator at byte {loc}")
            (_, _, _, _, disk, cd_disk, count_here, count, cd_size,
             cd_offset) = _EOCD64.unpack_from(data, record_at)
            if disks > 1:
                disk = max(disk, 1)
            directory_end = record_at
    if disk != 0 or cd_disk != 0 or count_here != count:
        raise InvalidModelError(f"{where}: the archive spans several disks "
                                f"(disk {disk}, directory on disk {cd_disk})")
    cd_start = directory_end - cd_size
    start = cd_start - cd_offset
    if cd_size > directory_end or start < 0:
        raise InvalidModelError(
            f"{where}: central directory of {cd_size} bytes at offset {cd_offset} does not "
            f"fit before its end record at byte {directory_end} ({size} bytes in all)")
    if count * _CENTRAL.size > cd_size:
        raise InvalidModelError(f"{where}: {count} members cannot fit a central directory of "
                                f"{cd_size} bytes")
    members = _read_directory(data, where, start, cd_start, directory_end, count)
    _check_layout(members, where, cd_start)
    return ZipArchive(data, where, start, members, comment)


def _read_directory(data: memoryview, where: str, start: int, cd_start: int, cd_end: int,
                    count: int) -> tuple[ZipMember, ...]:
    members = []
    pos = cd_start
    for index in range(count):
        if pos + _CENTRAL.size > cd_end:
            raise InvalidModelError(f"{where}: central directory entry {index} at byte {pos} "
                                    f"runs past the directory's end at byte {cd_end}")
        (sig, _, _, flags, method, _, _, crc, csize, usize, name_len, extra_len, comment_len,
         _, _, _, header) = _CENTRAL.unpack_from(data, pos)
        if sig != _CENTRAL_SIG:
            raise InvalidModelError(f"{where}: central directory entry {index} at byte {pos} "
                                    f"has signature {sig!r}, not {_CENTRAL_SIG!r}")
        name_at = pos + _CENTRAL.size
        extra_at = name_at + name_len
        end = extra_at + extra_len + comment_len
        if end > cd_end:
            raise InvalidModelError(f"{where}: central directory entry {index} at byte {pos} "
                                    f"runs past the directory's end at byte {cd_end}")
        raw_name = bytes(data[name_at:extra_at])
        name = _decode_name(raw_name, flags)
        label = f"{where}: zip member {index} {name!r}"
        if "\x00" in name:
            raise InvalidModelError(f"{label}: the name holds a NUL character")
        if 0xFFFFFFFF in (csize, usize, header):
            usize, csize, header = _zip64_extra(data[extra_at:extra_at + extra_len], usize,
                                                csize, header, label)
        header_at = start + header
        if header_at + _LOCAL.size > cd_start:
            raise InvalidModelError(f"{label}: local header at byte {header_at} is not before "
                                    f"the central directory at byte {cd_start}")
        (lsig, _, _, _, _, _, _, _, _, lname_len,
         lextra_len) = _LOCAL.unpack_from(data, header_at)
        if lsig != _LOCAL_SIG:
            raise InvalidModelError(f"{label}: no local header at byte {header_at} "
                                    f"(found {lsig!r})")
        lname_at = header_at + _LOCAL.size
        if bytes(data[lname_at:lname_at + lname_len]) != raw_name:
            raise InvalidModelError(f"{label}: the local header at byte {header_at} names "
                                    "another file")
        offset = lname_at + lname_len + lextra_len
        if offset + csize > cd_start:
            raise InvalidModelError(
                f"{label}: {csize} bytes at byte {offset} run into the central directory "
                f"at byte {cd_start}")
        members.append(ZipMember(name, method, csize, usize, offset, crc, flags, header_at))
        pos = end
    return tuple(members)


def _decode_name(raw: bytes, flags: int) -> str:
    # as zipfile does: UTF-8 when the flag says so, otherwise IBM code page 437
    return raw.decode("utf-8", "replace") if flags & _FLAG_UTF8 else raw.decode("cp437")


def _zip64_extra(extra: memoryview, usize: int, csize: int, header: int,
                 label: str) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        kind, length = struct.unpack_from("<2H", extra, pos)
        body = extra[pos + 4:pos + 4 + length]
        if len(body) < length:
            break
        if kind == _ZIP64_EXTRA:
            values = [usize, csize, header]
            taken = 0
            for i, value in enumerate(values):
                if value == 0xFFFFFFFF:
                    if taken + 8 > length:
                        raise InvalidModelError(f"{label}: ZIP64 extra field too short")
                    (values[i],) = struct.unpack_from("<Q", body, taken)
                    taken += 8
            return values[0], values[1], values[2]
        pos += 4 + length
    raise InvalidModelError(f"{label}: sizes or offset are 0xFFFFFFFF but there is no ZIP64 "
                            "extra field")


def _check_layout(members: tuple[ZipMember, ...], where: str, cd_start: int) -> None:
    """Members must not share bytes: overlapping entries are how some zip bombs multiply."""
    order = sorted(members, key=lambda m: m.header_offset)
    for first, second in zip(order, order[1:]):
        if first.offset + first.compressed_size > second.header_offset:
            raise InvalidModelError(
                f"{where}: zip members {first.name!r} and {second.name!r} overlap (bytes "
                f"{first.header_offset}-{first.offset + first.compressed_size} and from "
                f"{second.header_offset})")


# --------------------------------------------------------------------------------------------
# Names as paths


def safe_relative_path(name: str, where: str = "archive") -> str:
    """``name`` as a relative POSIX path that cannot leave the folder it is extracted to.

    Refuses (with :class:`InvalidModelError`) absolute names, drive letters, ``..``
    components, NUL characters and names with nothing left after dropping ``.`` and empty
    components. Backslashes count as separators, as on Windows.

    >>> safe_relative_path("labels/./en.txt")
    'labels/en.txt'
    >>> safe_relative_path("../etc/passwd")
    Traceback (most recent call last):
    ...
    tflparse._errors.InvalidModelError: archive: zip member '../etc/passwd' would land outside...
    """
    label = f"{where}: zip member {name!r}"
    if "\x00" in name:
        raise InvalidModelError(f"{label}: the name holds a NUL character")
    unified = name.replace("\\", "/")
    if unified.startswith("/") or (len(unified) >= 2 and unified[1] == ":"):
        raise InvalidModelError(f"{label} is an absolute path")
    parts = [p for p in unified.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidModelError(f"{label} would land outside the target folder")
    if not parts:
        raise InvalidModelError(f"{label} names no file")
    return "/".join(parts)


def extraction_path(folder: str, name: str, where: str = "archive") -> str:
    """Where member ``name`` goes under ``folder``; refuses names (and symbolic links already
    in ``folder``) that would lead outside it."""
    relative = safe_relative_path(name, where)
    target = os.path.join(folder, *relative.split("/"))
    root = os.path.realpath(folder)
    parent = os.path.realpath(os.path.dirname(target))
    if os.path.commonpath([root, parent]) != root:
        raise InvalidModelError(f"{where}: zip member {name!r} would land outside "
                                f"{folder!r} (through a symbolic link)")
    return target
