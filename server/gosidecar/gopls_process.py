"""Finding, starting and stopping one gopls process."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

from .framing import FrameReader, FrameWriter, enlarge_pipe

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


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


def _die_with_parent() -> None:
    """Runs in the child before exec: gopls gets SIGKILL if the sidecar dies, even by kill -9."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class GoplsProcess:
    """A running gopls speaking LSP on its stdin/stdout; stderr goes to the sidecar's."""

    def __init__(self, path: str, args: Sequence[str], env: Mapping[str, str]) -> None:
        self.path = path
        command = [path, *args]
        logger.info("starting %s", " ".join(command))
        # PR_SET_PDEATHSIG fires when the *thread* that forked exits, so gopls must be
        # started from a thread that lives as long as the sidecar (the event loop's).
        self._popen = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, **env},
            # Only a prctl call runs between fork and exec: safe despite our threads.
            preexec_fn=_die_with_parent,  # noqa: PLW1509
            bufsize=0,
        )
        assert self._popen.stdin is not None and self._popen.stdout is not None
        enlarge_pipe(self._popen.stdout.fileno())
        enlarge_pipe(self._popen.stdin.fileno())
        self.reader = FrameReader(self._popen.stdout.fileno(), "gopls")
        self.writer = FrameWriter(os.dup(self._popen.stdin.fileno()), "gopls")
        self._popen.stdin.close()

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def running(self) -> bool:
        return self._popen.poll() is None

    def stop(self, grace_s: float = 1.0) -> None:
        """Close its stdin (gopls exits on EOF), then terminate, then kill: never an orphan."""
        self.writer.close()
        for action in (None, self._popen.terminate, self._popen.kill):
            if action is not None:
                _kill_children(self.pid)
                action()
            try:
                self._popen.wait(timeout=grace_s)
                break
            except subprocess.TimeoutExpired:
                continue
        if self._popen.stdout is not None:
            self._popen.stdout.close()

    def kill(self) -> None:
        _kill_children(self.pid)
        self._popen.kill()


def _kill_children(pid: int) -> None:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()
