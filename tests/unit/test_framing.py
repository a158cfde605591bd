"""Framing survives impossible lengths: no frame after them is lost, and memory follows
the bytes that arrive, not the length a header announces."""

from __future__ import annotations

import os
import threading
import tracemalloc
from collections.abc import Iterator

import pytest

from gosidecar.framing import MAX_FRAME_BYTES, FrameReader, frame_header


@pytest.fixture
def pipe() -> Iterator[tuple[FrameReader, int]]:
    read_fd, write_fd = os.pipe()
    reasons: list[str] = []
    yield FrameReader(read_fd, "test", on_junk=reasons.append), write_fd
    os.close(read_fd)


def write_and_close(fd: int, data: bytes) -> None:
    """Write from another thread (a pipe holds only so much) and end the stream."""

    def run() -> None:
        _write_all(fd, data)
        os.close(fd)

    threading.Thread(target=run, daemon=True).start()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def frame(body: bytes) -> bytes:
    return frame_header(len(body)) + body


def read_all(reader: FrameReader) -> list[bytes]:
    frames = []
    while (body := reader.read_frame()) is not None:
        frames.append(body)
    return frames


def test_an_over_limit_length_does_not_swallow_the_frames_after_it(pipe: tuple[FrameReader, int]) -> None:
    reader, write_fd = pipe
    over = b"Content-Length: %d\r\n\r\n" % (MAX_FRAME_BYTES + 1)
    write_and_close(write_fd, over + b'{"junk":1}' + frame(b'{"a":1}') + frame(b'{"b":2}'))
    assert read_all(reader) == [b'{"a":1}', b'{"b":2}']


def test_a_huge_announced_length_allocates_only_what_arrives(pipe: tuple[FrameReader, int]) -> None:
    reader, write_fd = pipe
    write_and_close(write_fd, b"Content-Length: %d\r\n\r\n" % MAX_FRAME_BYTES + b"x" * 10)
    tracemalloc.start()
    try:
        assert reader.read_frame() is None  # the stream ended inside the frame
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for a 10-byte body"


def test_a_large_body_arriving_in_pieces_is_read_whole(pipe: tuple[FrameReader, int]) -> None:
    reader, write_fd = pipe
    body = os.urandom(3 * 1024 * 1024 + 17)
    write_and_close(write_fd, frame(body) + frame(b"{}"))
    assert read_all(reader) == [body, b"{}"]
