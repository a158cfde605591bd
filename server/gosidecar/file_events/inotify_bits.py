"""The inotify event bits (Linux's <sys/inotify.h>), without watchdog's inotify module.

`watchdog.observers.inotify_c` binds libc's inotify functions when it is imported and
raises `UnsupportedLibcError` where there are none (macOS, Windows): the sidecar must
still start there, with its file events polling. So the event masks are spelled out here
(tests/reach/test_portable.py checks them against watchdog's) and inotify_c is imported
only when an inotify watcher is created.
"""

from __future__ import annotations

from enum import IntFlag


class InotifyConstants(IntFlag):
    IN_MODIFY = 0x00000002
    IN_ATTRIB = 0x00000004
    IN_CLOSE_WRITE = 0x00000008
    IN_MOVED_FROM = 0x00000040
    IN_MOVED_TO = 0x00000080
    IN_CREATE = 0x00000100
    IN_DELETE = 0x00000200
    IN_IGNORED = 0x00008000
    IN_ONLYDIR = 0x01000000
    IN_DONT_FOLLOW = 0x02000000
    IN_EXCL_UNLINK = 0x04000000
    IN_ISDIR = 0x40000000
