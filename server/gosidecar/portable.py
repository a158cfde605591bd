"""Process plumbing that works beyond Linux, each piece with the platform call it replaces.

- `watch_parent`: the sidecar notices that the editor's process went away even when its
  stdin stays open (a descendant holding the pipe); Linux's PR_SET_PDEATHSIG has no
  counterpart on macOS or Windows, so a thread polls the parent's pid.
- `write_all`: one `os.writev` for a frame's header and body where there is one (not
  on Windows), else plain writes.
- `signal_tree`: a signal to a process and all its descendants through psutil, where there are no
  process groups (`os.killpg`, Windows).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable

import psutil

log = logging.getLogger(__name__)

PARENT_POLL_S = 1.0


def watch_parent(on_gone: Callable[[], None], poll_s: float = PARENT_POLL_S) -> threading.Thread:
    """Calls `on_gone` once the process that started us has exited (a daemon thread)."""
    parent_pid = os.getppid()
    parent = psutil.Process(parent_pid)

    def still_there() -> bool:
        # Reparenting (getppid changes) is how Unix shows it; is_running also compares
        # the creation time, so a recycled pid does not count.
        return os.getppid() == parent_pid and parent.is_running()

    def watch() -> None:
        stop = threading.Event()
        while still_there():
            stop.wait(poll_s)
        log.info("the editor's process (pid %d) is gone; stopping", parent_pid)
        on_gone()

    thread = threading.Thread(target=watch, name="parent-watcher", daemon=True)
    thread.start()
    return thread


def write_all(fd: int, header: bytes, body: bytes) -> None:
    """`header` then `body` to `fd`, all of it, in one system call when possible."""
    written = os.writev(fd, [header, body]) if hasattr(os, "writev") else 0
    if written == len(header) + len(body):
        return
    data = memoryview(header + body)[written:]
    while data:
        data = data[os.write(fd, data) :]


def signal_tree(pid: int, signum: int) -> None:
    """`signum` to `pid` and every descendant it has now (all found first, then signalled)."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for process in tree:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            process.send_signal(signum)
