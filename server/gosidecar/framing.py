"""LSP base-protocol framing: `Content-Length` headers over a byte stream.

The reader works on a raw file descriptor with blocking reads in its own thread: that
wakes up as soon as bytes arrive, with no event-loop hop, which is what keeps the
proxy's added latency in the tens of microseconds. Bodies are read in pipe-sized
chunks joined once and written out with `writev`, so a multi-megabyte message is
copied as few times as possible.

Malformed input never raises out of `read_frame`: junk between frames is skipped up to
the next `Content-Length` header (and reported). A length over the size limit is junk
too: its "body" is skipped the same way, up to the next header, rather than drained
(draining a length nobody sends would swallow every later frame). A body's buffer grows
with the bytes that arrive, never with the length a header announces. A stream that
ends mid-frame reads as the end of the stream.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import overload

from gosidecar.portable import write_all

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 256 * 1024 * 1024
_READ_CHUNK = 256 * 1024
_HEADER_END = b"\r\n\r\n"
_CONTENT_LENGTH = b"content-length:"
_MAX_HEADER_BYTES = 8192
_PIPE_BYTES = 1024 * 1024
_HEAD_BYTES = 1024
_TAIL_BYTES = 128
STREAM_MIN_BYTES = 1024 * 1024
"""Frames from this size on may be passed on as they arrive (see FrameReader.read_frame)."""


@dataclass(frozen=True)
class Streamed:
    """A frame passed on chunk by chunk; `tail` holds its last bytes (where gopls writes the id)."""

    length: int
    tail: bytes


Sink = AbstractContextManager[Callable[[memoryview], None]]
Divert = Callable[[bytes, int], Sink | None]
"""(head of the body, length) → where to pass the frame on, or None to read it whole."""


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

    @overload
    def read_frame(self) -> bytes | None: ...

    @overload
    def read_frame(self, divert: Divert) -> bytes | Streamed | None: ...

    def read_frame(self, divert: Divert | None = None) -> bytes | Streamed | None:
        """The next frame's body; None at the end of the stream.

        With `divert`, a frame of at least STREAM_MIN_BYTES whose head `divert` accepts is
        passed on chunk by chunk as it arrives instead (cut-through), and `Streamed` comes
        back: a multi-megabyte answer then costs the time of one pipe trip, not two.
        """
        while True:
            length = self._read_header()
            if length is None:
                return None
            if length > self._max:
                self._report(f"frame of {length} bytes is over the {self._max}-byte limit; resyncing")
                continue
            if divert is not None and length >= STREAM_MIN_BYTES:
                sink = divert(self._peek(_HEAD_BYTES), length)
                if sink is not None:
                    return self._stream(length, sink)
            body = self._read_body(length)
            if body is None:
                self._report(f"stream ended inside a {length}-byte frame")
            return body

    def _peek(self, size: int) -> bytes:
        while len(self._buf) < size and self._fill():
            pass
        return bytes(self._buf[:size])

    def _stream(self, length: int, sink: Sink) -> Streamed:
        with sink as write:
            remaining = length
            buffered = min(len(self._buf), remaining)
            write(memoryview(self._buf)[:buffered])
            tail = bytes(self._buf[max(0, buffered - _TAIL_BYTES) : buffered])
            del self._buf[:buffered]
            remaining -= buffered
            chunk = memoryview(bytearray(min(remaining, _PIPE_BYTES) or 1))
            while remaining > 0:
                try:
                    n = os.readv(self._fd, [chunk[: min(remaining, len(chunk))]])
                except OSError:
                    n = 0
                if n == 0:
                    # Keep the reader in step: the promised length, padded with spaces
                    # (the receiver sees one broken message, not a garbled stream).
                    self._eof = True
                    self._report(f"stream ended inside a {length}-byte frame being passed on")
                    write(memoryview(b" " * remaining))
                    return Streamed(length, b"")
                write(chunk[:n])
                tail = (tail + bytes(chunk[max(0, n - _TAIL_BYTES) : n]))[-_TAIL_BYTES:]
                remaining -= n
        return Streamed(length, tail)

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
        """The next `length` bytes, read as they arrive (memory follows what was sent)."""
        first = bytes(self._buf[:length])
        del self._buf[: len(first)]
        chunks = [first]
        have = len(first)
        while have < length:
            try:
                chunk = os.read(self._fd, min(length - have, _PIPE_BYTES))
            except OSError:
                chunk = b""
            if not chunk:
                self._eof = True
                return None
            chunks.append(chunk)
            have += len(chunk)
        return first if len(chunks) == 1 else b"".join(chunks)


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
    with contextlib.suppress(OSError, AttributeError, ImportError):
        import fcntl  # noqa: PLC0415 - POSIX only: imported here so Windows can load this module

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
                write_all(self._fd, header, body)
            except OSError as error:
                logger.info("%s: write failed (%s); closing", self._name, error)
                self.closed = True
                return False
        return True

    def write_raw(self, data: bytes) -> None:
        """Bytes as they are, no header: for tests that send malformed frames."""
        with self._lock:
            write_all(self._fd, b"", data)

    @contextmanager
    def stream(self, length: int) -> Iterator[Callable[[memoryview], None]]:
        """Write one frame of `length` bytes in pieces, holding the writer meanwhile."""
        with self._lock:
            header = frame_header(length)

            def write(data: memoryview) -> None:
                if self.closed:
                    return
                try:
                    while data:
                        data = data[os.write(self._fd, data) :]
                except OSError as error:
                    logger.info("%s: write failed (%s); closing", self._name, error)
                    self.closed = True

            write(memoryview(header))
            yield write

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self.closed = True
                with contextlib.suppress(OSError):
                    os.close(self._fd)
