"""Finding, starting and stopping one gopls process."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from .framing import FrameReader, FrameWriter, enlarge_pipe
from .portable import signal_tree

logger = logging.getLogger(__name__)


class GoplsNotFoundError(RuntimeError):
    pass


def find_gopls(configured: str = "") -> str:
    """The gopls binary: the `gopls.path` setting, `gopls` on PATH, `$(go env GOPATH)/bin`."""
    if configured:
        path = shutil.which(configured) or configured
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            raise GoplsNotFoundError(
                f"gopls.path is set to {configured!r}, which is not an executable file: "
                "fix the setting or clear it to use the gopls on PATH"
            )
        return str(Path(path).resolve())
    on_path = shutil.which("gopls")
    if on_path:
        return on_path
    candidate = _gopath_bin() / "gopls"
    if candidate.is_file():
        return str(candidate)
    raise GoplsNotFoundError(
        "gopls not found on PATH or in $(go env GOPATH)/bin: install it with "
        "`go install golang.org/x/tools/gopls@latest` or set goSidecar.gopls.path"
    )


def _gopath_bin() -> Path:
    gopath = os.environ.get("GOPATH", "").split(os.pathsep)[0]
    if not gopath and shutil.which("go"):
        try:
            gopath = subprocess.run(
                ["go", "env", "GOPATH"], capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            gopath = ""
    return Path(gopath or Path.home() / "go") / "bin"


@functools.lru_cache(maxsize=8)
def gopls_version(path: str) -> str:
    """`v0.23.0`-style version of a gopls binary ('' when it cannot tell)."""
    try:
        out = subprocess.run([path, "version"], capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    for word in out.split():
        if word.startswith("v") and word[1:2].isdigit():
            return word
    return out.split("\n", 1)[0].strip()


_REAPER_SOURCE = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
groups = set()
for line in sys.stdin:
    (groups.add if line[0] == "+" else groups.discard)(int(line[1:]))
for group in groups:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
"""


class _GroupReaper:
    """A tiny watcher process that kills gopls's process groups when the sidecar dies.

    gopls runs in a process group of its own, with its children (`go list`, `go env`)
    in it. The sidecar tells the reaper each group over a pipe; the pipe's end (however
    the sidecar died, even by kill -9) makes the reaper kill the groups still listed.
    PR_SET_PDEATHSIG could only kill gopls itself (its children would outlive it), and
    setting it needs code between fork and exec in a multi-threaded process.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._popen = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _REAPER_SOURCE],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # no signal meant for the sidecar's group reaches it
            text=True,
        )

    def tell(self, line: str) -> None:
        with self._lock:
            assert self._popen.stdin is not None
            try:
                self._popen.stdin.write(line + "\n")
                self._popen.stdin.flush()
            except OSError as error:
                logger.warning("the process-group reaper is gone (%s): gopls's children may outlive us", error)


@functools.cache
def _reaper() -> _GroupReaper:
    return _GroupReaper()


class GoplsProcess:
    """A running gopls speaking LSP on its stdin/stdout; stderr goes to the sidecar's.

    The reader's descriptor belongs to the thread that reads it (`close_output` when it
    is done): closed any earlier, its number could be reused by the next gopls's pipe
    while the old reader still reads from it.
    """

    def __init__(self, path: str, args: Sequence[str], env: Mapping[str, str]) -> None:
        self.path = path
        command = [path, *args]
        logger.info("starting %s", " ".join(command))
        reaper = _reaper()
        popen = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, **env},
            start_new_session=True,  # its own process group, killed as one
            bufsize=0,
        )
        reaper.tell(f"+{popen.pid}")
        assert popen.stdin is not None and popen.stdout is not None
        self._popen = popen
        self._output_fd = os.dup(popen.stdout.fileno())
        popen.stdout.close()
        enlarge_pipe(self._output_fd)
        enlarge_pipe(popen.stdin.fileno())
        self.reader = FrameReader(self._output_fd, "gopls")
        self.writer = FrameWriter(os.dup(popen.stdin.fileno()), "gopls")
        popen.stdin.close()

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def running(self) -> bool:
        return self._popen.poll() is None

    def stop(self, grace_s: float = 1.0) -> None:
        """Close its stdin (gopls exits on EOF), then terminate, then kill: never an orphan."""
        self.writer.close()
        for signum in (None, signal.SIGTERM, signal.SIGKILL):
            if signum is not None:
                self._signal_group(signum)
            try:
                self._popen.wait(timeout=grace_s)
                break
            except subprocess.TimeoutExpired:
                continue
        self._signal_group(signal.SIGKILL)  # children it left behind
        _reaper().tell(f"-{self.pid}")

    def kill(self) -> None:
        """gopls and its children, at once."""
        self._signal_group(signal.SIGKILL)

    def close_output(self) -> None:
        """Called by the reader once the stream has ended."""
        with contextlib.suppress(OSError):
            os.close(self._output_fd)

    def _signal_group(self, signum: int) -> None:
        if not hasattr(os, "killpg"):  # no process groups (Windows): the tree through psutil
            signal_tree(self.pid, signum)
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)
