"""Bundles built the way MediaPipe builds ``.task`` files, for the bundle tests and fuzzing.

``make_bundle`` writes a zip with Python's ``zipfile`` (the oracle for the format): members
stored and 4-byte aligned by padding the local header's extra field, as MediaPipe's bundles
are, unless a member asks to be deflated.
"""

from __future__ import annotations

import io
import struct
import zipfile

_PADDING_ID = 0xD935  # an extra-field id that readers skip (Android's zipalign uses it)


def make_bundle(members: list[tuple[str, bytes] | tuple[str, bytes, int]],
                align: int = 4) -> bytes:
    """A zip of ``(name, data[, compress_type])`` members, stored ones aligned to ``align``."""
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as z:
        for member in members:
            name, data = member[0], member[1]
            method = member[2] if len(member) == 3 else zipfile.ZIP_STORED  # type: ignore[misc]
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = method
            if method == zipfile.ZIP_STORED and align > 1:
                start = raw.tell() + 30 + len(name.encode()) + 4
                pad = -start % align
                info.extra = struct.pack("<2H", _PADDING_ID, pad) + bytes(pad)
            z.writestr(info, data)
    return raw.getvalue()


def aligned_offsets(data: bytes) -> list[int]:
    """Where each stored member's bytes begin, read with ``zipfile``."""
    offsets = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            name_len, extra_len = struct.unpack_from("<2H", data, info.header_offset + 26)
            offsets.append(info.header_offset + 30 + name_len + extra_len)
    return offsets
