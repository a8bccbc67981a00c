"""One agent per user: an OS lock on a file in the data directory, released by the OS if the agent
dies, so a crash never leaves a stale lock behind. The holder's pid is written in the file so a
second agent can say which process runs."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from companion.agent.errors import AlreadyRunning

_PID_WIDTH = 20  # the pid is written padded, in place: no truncation of a locked file (Windows)
_WIN_LOCK_OFFSET = 1 << 20  # Windows locks byte ranges and forbids reading them: lock a byte past the pid


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt  # lazy: Windows only

        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


def holder_pid(path: Path) -> int | None:
    """The pid written by the lock's holder (it may still be writing it: retry briefly)."""
    for _ in range(10):
        try:
            with path.open("rb") as f:
                return int(f.read(_PID_WIDTH).strip())
        except (OSError, ValueError):
            time.sleep(0.05)
    return None


class InstanceLock:
    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, path: Path) -> InstanceLock:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            os.close(fd)
            pid = holder_pid(path)
            who = f"pid {pid}" if pid else "pid unknown"
            raise AlreadyRunning(
                f"a Mailwarden agent is already running for this user ({who}); "
                "stop it first (mailwarden stop) or use that one"
            )
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid():<{_PID_WIDTH - 1}}\n".encode("ascii"))
        return cls(path, fd)

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            _unlock(self._fd)
        finally:
            os.close(self._fd)
            self._fd = None
