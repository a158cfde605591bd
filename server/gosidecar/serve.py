"""`gosidecar serve`: the sidecar on stdin/stdout until the editor goes away."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

from .framing import FrameReader, FrameWriter, enlarge_pipe
from .portable import watch_parent
from .sidecar import Sidecar
from .trace import Tracer

logger = logging.getLogger(__name__)

# Python's default 5 ms switch interval is the worst-case wait of a reader thread for
# the GIL while another thread (inference, file watching) holds it.
_SWITCH_INTERVAL_S = 0.0005


def serve(trace_file: str | None = None) -> int:
    client_in, client_out = _claim_stdio()
    sys.setswitchinterval(_SWITCH_INTERVAL_S)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    sidecar = Sidecar(FrameReader(client_in, "client"), FrameWriter(client_out, "client"), loop)
    if trace_file:
        sidecar.proxy.tracer = Tracer(trace_file)
    stop_on_signals(loop, sidecar.finished.set)
    threading.Thread(target=_pump_client, args=(sidecar,), name="client-reader", daemon=True).start()
    # stdin's end stops the sidecar too, but a descendant of the editor may hold it open.
    watch_parent(sidecar.finished.set)
    try:
        loop.run_until_complete(loop.run_in_executor(None, sidecar.finished.wait))
    finally:
        sidecar.close()
        _cancel_pending(loop)
        loop.close()
    return 0 if sidecar.clean_exit else 1


def stop_on_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> None:
    """SIGTERM and SIGINT stop the sidecar; where the loop has no signal handlers
    (Windows), the editor's `exit` and stdin's end still do."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop)


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    """A restart may still be under way when the editor leaves: end it quietly."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def _pump_client(sidecar: Sidecar) -> None:
    sidecar.proxy.run_client_pump()
    if not sidecar.finished.is_set():
        logger.info("the editor closed the connection without exit; stopping gopls")
    sidecar.finished.set()


def _claim_stdio() -> tuple[int, int]:
    """Private descriptors for the LSP stream; fd 1 then points at stderr.

    A library that prints (or C code that writes to fd 1) would otherwise corrupt the
    protocol stream.
    """
    client_in, client_out = os.dup(0), os.dup(1)
    enlarge_pipe(client_in)
    enlarge_pipe(client_out)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return client_in, client_out
