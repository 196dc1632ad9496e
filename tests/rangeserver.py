"""A range-capable HTTP server on 127.0.0.1 for the remote tests, with counted traffic and
faults chosen by the first segment of the path.

``/<fault>/<name>`` serves file ``name`` with a fault: ``404``, ``403``, ``norange`` (ignores
``Range`` and sends the whole file with status 200), ``reset`` (closes the connection half-way
through every body), ``short`` (claims the whole range in ``Content-Length``, sends half, and
closes), ``stall`` (answers GETs after STALL seconds). ``/<folder>/`` lists the files under it
as HTML links, as a web server's index does. Files are bytes or paths (read with ``pread``, so
sparse files cost nothing).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Union
from urllib.parse import quote, unquote, urlsplit

Content = Union[bytes, Path]
FAULTS = ("404", "403", "norange", "reset", "short", "stall")
STALL = 2.0  # seconds a ``stall`` GET waits before it answers
_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class Traffic:
    """What the server sent: GET requests and body bytes (HEADs counted apart)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.gets = 0
        self.heads = 0
        self.sent = 0

    def reset(self) -> None:
        with self.lock:
            self.gets = self.heads = self.sent = 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    files: dict[str, Content]
    traffic: Traffic


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:
        with self.server.traffic.lock:
            self.server.traffic.heads += 1
        self._serve(body=False)

    def do_GET(self) -> None:
        with self.server.traffic.lock:
            self.server.traffic.gets += 1
        if self.path.startswith("/stall/"):
            time.sleep(STALL)
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        path = unquote(urlsplit(self.path).path).lstrip("/")
        fault, _, rest = path.partition("/")
        if fault not in FAULTS:
            fault, rest = "", path
        if fault in ("404", "403"):
            self._status(int(fault))
            return
        if rest == "" or rest.endswith("/"):
            self._listing(rest, body)
            return
        content = self.server.files.get(rest)
        if content is None:
            self._status(404)
            return
        size = len(content) if isinstance(content, bytes) else content.stat().st_size
        start, stop, status = 0, size, 200
        wanted = _RANGE.match(self.headers.get("Range", ""))
        if wanted and fault != "norange":
            start = int(wanted.group(1))
            stop = min(int(wanted.group(2)) + 1, size) if wanted.group(2) else size
            if start >= size:
                self._status(416)
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(stop - start))
        if fault != "norange":
            self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{size}")
        self.end_headers()
        if not body:
            return
        if fault in ("reset", "short"):
            stop = start + (stop - start) // 2
        for chunk in _chunks(content, start, stop):
            try:
                self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):  # the client stopped reading
                self.close_connection = True
                return
            with self.server.traffic.lock:
                self.server.traffic.sent += len(chunk)
        if fault in ("reset", "short"):
            self.wfile.flush()
            if fault == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    def _status(self, code: int) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _listing(self, folder: str, body: bool) -> None:
        names = set()
        for name in self.server.files:
            if name.startswith(folder):
                head, slash, _ = name[len(folder):].partition("/")
                names.add(head + slash)
        if not names and folder:
            self._status(404)
            return
        links = "".join(f'<a href="{quote(n)}">{n}</a>\n' for n in sorted(names))
        page = f"<html><body>\n{links}</body></html>\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        if body:
            self.wfile.write(page)


def _chunks(content: Content, start: int, stop: int) -> Iterator[bytes]:
    if isinstance(content, bytes):
        yield content[start:stop]
        return
    fd = os.open(content, os.O_RDONLY)
    try:
        while start < stop:
            chunk = os.pread(fd, min(1 << 20, stop - start), start)
            if not chunk:
                return
            yield chunk
            start += len(chunk)
    finally:
        os.close(fd)


@contextmanager
def serving(files: dict[str, Content]) -> Iterator[tuple[str, Traffic]]:
    """Serve ``files`` on a free port of 127.0.0.1: yields (base URL ending in /, traffic)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.files = files
    server.traffic = Traffic()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}/", server.traffic
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
