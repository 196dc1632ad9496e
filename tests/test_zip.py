"""The zip reader against Python's ``zipfile`` (the oracle for well-formed archives), and on
hand-made hostile archives (every fault an InvalidModelError naming archive and member)."""

from __future__ import annotations

import doctest
import io
import os
import struct
import tracemalloc
import zipfile
import zlib

import pytest
from fuzzing import mutations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tflparse._zip as Z
from tflparse import InvalidModelError
from tflparse._zip import extraction_path, find_archive, safe_relative_path

FUZZ = int(os.environ.get("TFLPARSE_FUZZ_EXAMPLES", "200"))
LIMIT = 1 << 24


def make_zip(members: list[tuple[str, bytes, int]], comment: bytes = b"",
             prefix: bytes = b"") -> bytes:
    raw = io.BytesIO()
    raw.write(prefix)
    with zipfile.ZipFile(raw, "a" if prefix else "w") as z:
        for name, data, method in members:
            z.writestr(zipfile.ZipInfo(name), data, compress_type=method)
        z.comment = comment
    return raw.getvalue()


def appended(members: list[tuple[str, bytes, int]], prefix: bytes, comment: bytes = b"") -> bytes:
    """A zip whose offsets count from its own start, appended to other bytes (the way TFLite
    metadata's associated files follow the model)."""
    return prefix + make_zip(members, comment)


def oracle(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def ours(data: bytes) -> list[tuple[str, bytes]]:
    archive = find_archive(memoryview(data), "test.zip")
    assert archive is not None
    return [(m.name, bytes(archive.read(m, limit=LIMIT))) for m in archive.members]


def test_docstring_examples() -> None:
    assert doctest.testmod(Z, optionflags=doctest.ELLIPSIS).failed == 0


names = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                min_size=1, max_size=20)
member_lists = st.lists(
    st.tuples(names, st.binary(max_size=3000) | st.just(b"ab" * 5000),
              st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])),
    max_size=6, unique_by=lambda m: m[0])


@settings(max_examples=FUZZ, deadline=None)
@given(member_lists, st.binary(max_size=40).filter(lambda c: b"PK\x05\x06" not in c),
       st.binary(max_size=300).filter(lambda p: b"PK" not in p),  # zipfile misreads some
       st.sampled_from(["alone", "appended", "zipfile-append"]))
def test_well_formed_archives_read_as_zipfile_reads_them(
        members: list[tuple[str, bytes, int]], comment: bytes, prefix: bytes, how: str) -> None:
    if how == "alone":
        data = make_zip(members, comment)
    elif how == "appended":
        data = appended(members, prefix, comment)
    else:  # zipfile's own append mode: offsets count from the start of the whole file
        data = make_zip(members, comment, prefix=prefix or b"x")
    expected = oracle(data)
    assert ours(data) == expected
    archive = find_archive(memoryview(data))
    assert archive is not None
    assert list(archive.names) == [name for name, _ in expected]
    assert archive.comment == comment
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info, member in zip(z.infolist(), archive.members):
            assert (member.method, member.size, member.compressed_size, member.crc) == (
                info.compress_type, info.file_size, info.compress_size, info.CRC)


def test_stored_members_are_views_of_the_bytes() -> None:
    data = bytearray(appended([("a.tflite", b"MODEL" * 100, zipfile.ZIP_STORED)], b"p" * 13))
    archive = find_archive(memoryview(data))
    assert archive is not None
    view = archive.read("a.tflite", limit=0)  # a view allocates nothing, so no limit applies
    assert view.readonly
    member = archive.member("a.tflite")
    data[member.offset] = ord("X")  # the view sees the change: no copy was made
    assert bytes(view[:5]) == b"XODEL"
    with pytest.raises(InvalidModelError, match="CRC"):
        archive.read("a.tflite", limit=0)
    assert bytes(archive.read("a.tflite", limit=0, verify=False)[:5]) == b"XODEL"


def test_end_record_signature_inside_the_comment() -> None:
    # zipfile itself fails here (it takes the last signature); the record that ends the bytes
    # exactly is the real one
    data = make_zip([("a", b"A", zipfile.ZIP_STORED)], comment=b"xPK\x05\x06y")
    assert ours(data) == [("a", b"A")]


def test_no_archive_is_none() -> None:
    for data in (b"", b"PK", b"TFL3" * 100, bytes(70000)):
        assert find_archive(memoryview(data)) is None


def test_zip64_archive() -> None:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as z:
        with z.open("big.bin", "w", force_zip64=True) as f:
            f.write(b"z" * 1000)
        z.writestr("small.txt", b"hello", compress_type=zipfile.ZIP_DEFLATED)
    data = b"model" + raw.getvalue()
    assert ours(data) == oracle(data)


def test_zip64_end_records() -> None:
    # an archive whose end record defers to the ZIP64 record (as one with 65535+ members does)
    base = make_zip([("a", b"A", zipfile.ZIP_STORED), ("b", b"BB", zipfile.ZIP_DEFLATED)])
    at = base.rfind(b"PK\x05\x06")
    _, _, _, n, _, cd_size, cd_offset, _ = struct.unpack_from("<4s4H2LH", base, at)
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n, cd_size, cd_offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, at, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    data = b"prefix" + base[:at] + record + locator + end
    assert ours(data) == oracle(data)


def test_zip64_extra_field_in_the_directory() -> None:
    # one stored member whose directory entry defers sizes and offset to the ZIP64 extra field
    # (as writers do past 4 GiB), built by hand from APPNOTE's layouts
    name, body = b"big.tflite", b"TFL3" * 8
    crc = zlib.crc32(body)
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 45, 0, 0, 0, 0, crc, len(body), len(body),
                        len(name), 0) + name + body
    extra = struct.pack("<2H3Q", 1, 24, len(body), len(body), 0)
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF,
                          0xFFFFFFFF, len(name), len(extra), 0, 0, 0, 0, 0xFFFFFFFF) + name + extra
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local), 0)
    data = b"model" + local + central + end
    assert ours(data) == oracle(data) == [("big.tflite", body)]


def test_deflated_member_bounded_by_limit() -> None:
    data = make_zip([("z", bytes(100000), zipfile.ZIP_DEFLATED)])
    archive = find_archive(memoryview(data), "bomb.zip")
    assert archive is not None
    with pytest.raises(InvalidModelError, match=r"bomb.zip: zip member 'z'.*over the limit"):
        archive.read("z", limit=99999)
    assert bytes(archive.read("z", limit=100000)) == bytes(100000)


def _set_sizes(data: bytes, name: bytes, csize: int | None = None,
               usize: int | None = None) -> bytes:
    """Rewrite a member's sizes in its central directory entry."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        (name_len,) = struct.unpack_from("<H", out, at + 28)
        if bytes(out[at + 46:at + 46 + name_len]) == name:
            if csize is not None:
                struct.pack_into("<L", out, at + 20, csize)
            if usize is not None:
                struct.pack_into("<L", out, at + 24, usize)
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


def test_zip_bomb_declared_small_is_stopped_at_the_declared_size() -> None:
    data = _set_sizes(make_zip([("bomb", bytes(10_000_000), zipfile.ZIP_DEFLATED)]), b"bomb",
                      usize=1000)
    archive = find_archive(memoryview(data), "bomb.zip")
    assert archive is not None
    tracemalloc.start()
    try:
        with pytest.raises(InvalidModelError, match="bomb.zip: zip member 'bomb' inflates past"):
            archive.read("bomb", limit=LIMIT)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # 10 MB never materialises
    with pytest.raises(zipfile.BadZipFile):  # the oracle agrees the member is bad
        oracle(data)


def _overlapping() -> bytes:
    """Two directory entries pointing at one local header (the overlapping-entries bomb)."""
    data = bytearray(make_zip([("a", b"x" * 50, zipfile.ZIP_STORED),
                               ("b", b"y" * 50, zipfile.ZIP_STORED)]))
    second = data.find(b"PK\x01\x02", data.find(b"PK\x01\x02") + 4)
    struct.pack_into("<L", data, second + 42, 0)
    struct.pack_into("<H", data, second + 46 - 18, 1)
    data[second + 46:second + 47] = b"a"
    return bytes(data)


def _with_name(name: bytes, flags: int = 0) -> bytes:
    data = bytearray(make_zip([("N" * len(name), b"data", zipfile.ZIP_STORED)]))
    data = bytearray(bytes(data).replace(b"N" * len(name), name))
    if flags:
        at = data.find(b"PK\x01\x02")
        struct.pack_into("<H", data, at + 8, flags)
    return bytes(data)


def _eocd(data: bytes, **fields: int) -> bytes:
    at = data.rfind(b"PK\x05\x06")
    keys = ["sig", "disk", "cd_disk", "here", "count", "cd_size", "cd_offset", "comment"]
    values = dict(zip(keys, struct.unpack_from("<4s4H2LH", data, at)))
    values.update(fields)
    return data[:at] + struct.pack("<4s4H2LH", *values.values()) + data[at + 22:]


ONE = make_zip([("m.tflite", b"0123456789", zipfile.ZIP_STORED)])
DEFLATED = make_zip([("m.txt", b"hello " * 50, zipfile.ZIP_DEFLATED)])
LOCAL = ONE.find(b"PK\x03\x04")
CENTRAL = ONE.find(b"PK\x01\x02")

HOSTILE = {
    "absurd count": (_eocd(ONE, here=0xFFF0, count=0xFFF0), "members cannot fit"),
    "directory past start": (_eocd(ONE, cd_offset=10_000), "does not fit"),
    "directory too big": (_eocd(ONE, cd_size=10_000), "does not fit"),
    "multi disk": (_eocd(ONE, disk=1), "spans several disks"),
    "bad directory signature": (ONE[:CENTRAL] + b"PK\x09\x09" + ONE[CENTRAL + 4:],
                                "central directory entry 0"),
    "bad local signature": (ONE[:LOCAL] + b"XX\x03\x04" + ONE[LOCAL + 4:],
                            "zip member 0 'm.tflite': no local header"),
    "local offset past directory": (
        ONE[:CENTRAL + 42] + struct.pack("<L", 5000) + ONE[CENTRAL + 46:],
        "zip member 0 'm.tflite': local header at byte 5005 is not before"),
    "size runs into directory": (_set_sizes(ONE, b"m.tflite", csize=9999, usize=9999),
                                 "zip member 0 'm.tflite': 9999 bytes"),
    "overlapping members": (_overlapping(), "overlap"),
    "NUL in name": (_with_name(b"ev\x00il.tflite"), "NUL"),
    "local name differs": (ONE.replace(b"m.tflite", b"x.tflite", 1), "names another file"),
    "zip64 without extra": (ONE[:CENTRAL + 20] + b"\xff" * 8 + ONE[CENTRAL + 28:],
                            "no ZIP64 extra field"),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_archives_name_archive_and_member(case: str) -> None:
    data, message = HOSTILE[case]
    with pytest.raises(InvalidModelError, match=message) as info:
        find_archive(memoryview(b"model" + data), "evil.task")
    assert str(info.value).startswith("evil.task: ")


def _read_fails(data: bytes, name: str) -> str:
    archive = find_archive(memoryview(data), "evil.task")
    assert archive is not None
    with pytest.raises(InvalidModelError) as info:
        archive.read(name, limit=LIMIT)
    message = str(info.value)
    assert message.startswith(f"evil.task: zip member {name!r}")
    return message


def test_damaged_members_on_read() -> None:
    stored_at = ONE.find(b"0123456789")
    assert "CRC" in _read_fails(ONE[:stored_at] + b"X" + ONE[stored_at + 1:], "m.tflite")
    assert "stored, but" in _read_fails(_set_sizes(ONE, b"m.tflite", usize=3), "m.tflite")
    flagged = bytearray(ONE)
    struct.pack_into("<H", flagged, CENTRAL + 8, 1)
    assert "encrypted" in _read_fails(bytes(flagged), "m.tflite")
    method = bytearray(ONE)
    struct.pack_into("<H", method, CENTRAL + 10, 14)
    assert "method 14" in _read_fails(bytes(method), "m.tflite")
    start = DEFLATED.find(b"PK\x03\x04") + 30 + len("m.txt")
    broken = DEFLATED[:start] + b"\xff\xff\xff" + DEFLATED[start + 3:]
    assert "deflate" in _read_fails(broken, "m.txt") or "CRC" in _read_fails(broken, "m.txt")
    short = _set_sizes(DEFLATED, b"m.txt", usize=10000)
    assert "inflates to 300 bytes" in _read_fails(short, "m.txt")


def test_missing_member() -> None:
    archive = find_archive(memoryview(ONE), "a.task")
    assert archive is not None
    with pytest.raises(InvalidModelError, match="a.task: no zip member 'nope'"):
        archive.read("nope", limit=1)


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/etc/passwd", "\\windows\\x",
                                  "C:x", "c:\\x", "a\\..\\..\\x", "", ".", "./", "a\x00b"])
def test_unsafe_names_refused(name: str) -> None:
    with pytest.raises(InvalidModelError, match=r"^b.task: zip member "):
        safe_relative_path(name, "b.task")


@pytest.mark.parametrize("name,expected", [("a.txt", "a.txt"), ("d/./e//f.txt", "d/e/f.txt"),
                                           ("x\\y.txt", "x/y.txt"), ("..a/b..", "..a/b..")])
def test_safe_names(name: str, expected: str) -> None:
    assert safe_relative_path(name) == expected


def test_extraction_path_stays_inside(tmp_path: os.PathLike[str]) -> None:
    folder = os.fspath(tmp_path)
    assert extraction_path(folder, "d/e.txt") == os.path.join(folder, "d", "e.txt")
    os.symlink("/", os.path.join(folder, "link"))
    with pytest.raises(InvalidModelError, match="symbolic link"):
        extraction_path(folder, "link/etc/passwd")


SEEDS = [make_zip([("a.tflite", b"TFL3" * 20, zipfile.ZIP_STORED),
                   ("b.txt", b"label\n" * 30, zipfile.ZIP_DEFLATED)], b"comment"),
         appended([("labels.txt", b"x\ny\n", zipfile.ZIP_DEFLATED)], b"\x00" * 40)]


@pytest.mark.slow
@settings(max_examples=FUZZ, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(SEEDS).flatmap(mutations))
def test_mutated_archives_fail_only_as_invalid_model(data: bytes) -> None:
    try:
        archive = find_archive(memoryview(data), "fuzz.zip")
        if archive is None:
            return
        for member in archive.members:
            try:
                out = archive.read(member, limit=4096)
            except InvalidModelError:
                continue
            assert len(out) == member.size <= max(4096, member.compressed_size)
    except InvalidModelError as exc:
        assert str(exc).startswith("fuzz.zip")
