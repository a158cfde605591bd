"""LSP base-protocol framing: `Content-Length` headers over a byte stream.

The reader works on a raw file descriptor with blocking reads in its own thread: that
wakes up as soon as bytes arrive, with no event-loop hop, which is what keeps the
proxy's added latency in the tens of microseconds. Bodies are read straight into a
buffer of their announced size and written out with `writev`, so a multi-megabyte
message is copied as few times as possible.

Malformed input never raises out of `read_frame`: junk between frames is skipped up to
the next `Content-Length` header (and reported), a frame over the size limit is
drained and dropped, and a stream that ends mid-frame reads as the end of the stream.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 256 * 1024 * 1024
_READ_CHUNK = 256 * 1024
_HEADER_END = b"\r\n\r\n"
_CONTENT_LENGTH = b"content-length:"
_MAX_HEADER_BYTES = 8192
_PIPE_BYTES = 1024 * 1024


class FrameReader:
    """Reads LSP frames from a file descriptor; `read_frame` returns None at the end."""

    def __init__(
        self,
        fd: int,
        name: str,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        on_junk: Callable[[str], None] | None = None,
    ) -> None:
        self._fd = fd
        self._name = name
        self._max = max_frame_bytes
        self._buf = bytearray()
        self._eof = False
        self._on_junk = on_junk or (lambda reason: None)

    def read_frame(self) -> bytes | None:
        while True:
            length = self._read_header()
            if length is None:
                return None
            if length > self._max:
                self._report(f"frame of {length} bytes is over the {self._max}-byte limit")
                if not self._skip(length):
                    return None
                continue
            body = self._read_body(length)
            if body is None:
                self._report(f"stream ended inside a {length}-byte frame")
            return body

    def _report(self, reason: str) -> None:
        logger.warning("%s: %s", self._name, reason)
        self._on_junk(reason)

    def _fill(self) -> bool:
        if self._eof:
            return False
        try:
            chunk = os.read(self._fd, _READ_CHUNK)
        except OSError:
            chunk = b""
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    def _read_header(self) -> int | None:
        """Content-Length of the next frame, with its header consumed; None at the end."""
        while True:
            end = self._buf.find(_HEADER_END)
            if end >= 0:
                length = _parse_content_length(bytes(self._buf[:end]))
                del self._buf[: end + len(_HEADER_END)]
                if length is not None:
                    return length
                self._report("header without a valid Content-Length skipped")
                continue
            if len(self._buf) > _MAX_HEADER_BYTES:
                self._resync()
            if not self._fill():
                if self._buf.strip():
                    self._report("stream ended inside a header")
                return None

    def _resync(self) -> None:
        """Drop junk up to the next plausible header start."""
        start = self._buf.lower().find(_CONTENT_LENGTH, 1)
        dropped = len(self._buf) - _MAX_HEADER_BYTES // 2 if start < 0 else start
        del self._buf[:dropped]
        self._report(f"{dropped} bytes of junk between frames skipped")

    def _read_body(self, length: int) -> bytes | None:
        if len(self._buf) >= length:
            body = bytes(self._buf[:length])
            del self._buf[:length]
            return body
        body_buf = bytearray(length)
        view = memoryview(body_buf)
        have = len(self._buf)
        view[:have] = self._buf
        self._buf.clear()
        while have < length:
            try:
                n = os.readv(self._fd, [view[have:]])
            except OSError:
                n = 0
            if n == 0:
                self._eof = True
                return None
            have += n
        return bytes(body_buf)

    def _skip(self, length: int) -> bool:
        remaining = length
        while remaining > 0:
            if not self._buf and not self._fill():
                return False
            take = min(remaining, len(self._buf))
            del self._buf[:take]
            remaining -= take
        return True


def _parse_content_length(header: bytes) -> int | None:
    # Junk before a header ends up in the same block: take the last Content-Length line.
    lower = header.lower()
    pos = lower.rfind(_CONTENT_LENGTH)
    if pos < 0:
        return None
    value = lower[pos + len(_CONTENT_LENGTH) :].split(b"\r\n", 1)[0].strip()
    if not value.isdigit() or len(value) > 12:
        return None
    return int(value)


def enlarge_pipe(fd: int) -> None:
    """Give a pipe a 1 MiB buffer (Linux; no-op elsewhere or for non-pipes).

    With the default 64 KiB, a 5 MB answer crosses a pipe in 80 rounds of
    write-block-wake-read; each hop through the sidecar adds as many context switches.
    """
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


def frame_header(body_length: int) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % body_length


class FrameWriter:
    """Writes whole frames to a file descriptor; safe to share between threads."""

    def __init__(self, fd: int, name: str) -> None:
        self._fd = fd
        self._name = name
        self._lock = threading.Lock()
        self.closed = False

    def write(self, body: bytes) -> bool:
        """Write one frame; False when the other side has gone away."""
        header = frame_header(len(body))
        with self._lock:
            if self.closed:
                return False
            try:
                _writev_all(self._fd, header, body)
            except OSError as error:
                logger.info("%s: write failed (%s); closing", self._name, error)
                self.closed = True
                return False
        return True

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self.closed = True
                with contextlib.suppress(OSError):
                    os.close(self._fd)


def _writev_all(fd: int, header: bytes, body: bytes) -> None:
    total = len(header) + len(body)
    written = os.writev(fd, [header, body])
    if written == total:
        return
    data = memoryview(header + body)[written:]
    while data:
        data = data[os.write(fd, data) :]
