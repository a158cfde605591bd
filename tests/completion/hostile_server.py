"""A misbehaving completion server on 127.0.0.1, for fault injection against the remote backend.

Each connection's request is read in full, then `behaviour(connection, server)` writes
whatever answer the test wants: a trickle, a huge line, malformed events.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SSE_HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"


class HostileServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, behaviour: Callable[[socket.socket, HostileServer], None]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.finished = threading.Event()
        """Set when a behaviour wrote its whole answer (the client did not hang up first)."""

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(socketserver.BaseRequestHandler):
    server: HostileServer

    def handle(self) -> None:
        connection: socket.socket = self.request
        _read_request(connection)
        try:
            self.server.behaviour(connection, self.server)
        except OSError:
            return  # the client hung up: what the caps are for
        self.server.finished.set()


def _read_request(connection: socket.socket) -> None:
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    while len(body) < length:
        body += connection.recv(65536)


@contextmanager
def hostile_server(behaviour: Callable[[socket.socket, HostileServer], None]) -> Iterator[HostileServer]:
    server = HostileServer(behaviour)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
