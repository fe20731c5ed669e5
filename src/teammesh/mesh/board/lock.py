"""One runner per run: an exclusive lock *on the board file itself*, held while the run goes.

The lock is taken on an open file descriptor of the SQLite file, so it belongs to the file's
identity (its inode), not to the name used to reach it: a symlink, a hard link or a
`../`-spelled path to the same board meet the same lock. No lock file is created, so none is
left behind.

How, and why not simpler:
- It is an open-file-description lock (`F_OFD_SETLK`, Linux) on one byte far beyond SQLite's
  own lock bytes (which sit at 1 GiB), at an offset derived from the run id: two runs kept
  in one board file lock different bytes, so each still has its own runner.
- Not a classic POSIX lock (`lockf`): the process loses those as soon as it closes *any*
  descriptor of the file, and SQLite opens and closes descriptors of the board all the time.
- Where OFD locks do not exist, `flock` on the whole file: one runner per board file.
The operating system drops either lock when the holder dies (even by SIGKILL), so a crashed
run can be resumed at once, while a second runner on a live run is refused.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import struct
from pathlib import Path
from types import TracebackType

# Byte ranges SQLite never locks: from 1 TiB up, one byte per run-id hash slot.
_LOCK_BASE = 1 << 40
_SLOTS = 1 << 30
# struct flock: l_type, l_whence, l_start, l_len, l_pid (padded to its C size).
_FLOCK = "@hhqqi0q"
_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", None)
_OFD_GETLK = getattr(fcntl, "F_OFD_GETLK", None)


class RunBusy(RuntimeError):
    pass


def _slot(run_id: str) -> int:
    digest = hashlib.sha256(run_id.encode("utf-8")).digest()
    return _LOCK_BASE + int.from_bytes(digest[:8], "big") % _SLOTS


def _flock_struct(lock_type: int, start: int) -> bytes:
    return struct.pack(_FLOCK, lock_type, os.SEEK_SET, start, 1, 0)


class RunLock:
    def __init__(self, board_file: str | Path, run_id: str) -> None:
        self.path = Path(board_file)
        self.run_id = run_id
        self._fd: int | None = None

    def _open(self) -> int:
        # No O_CREAT: the board exists by now; opening follows symlinks to the real file.
        return os.open(self.path, os.O_RDWR | os.O_CLOEXEC)

    def acquire(self) -> RunLock:
        fd = self._open()
        try:
            if _OFD_SETLK is not None:
                fcntl.fcntl(fd, _OFD_SETLK, _flock_struct(fcntl.F_WRLCK, _slot(self.run_id)))
            else:  # pragma: no cover - platforms without OFD locks
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):  # held by another descriptor
                raise RunBusy("run is being run by another runner") from None
            raise
        self._fd = fd
        return self

    def held_elsewhere(self) -> bool:
        """Whether another runner holds this run's lock now (asked, not taken)."""
        if self._fd is not None:
            return False
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            if _OFD_GETLK is not None:
                answer = fcntl.fcntl(fd, _OFD_GETLK,
                                     _flock_struct(fcntl.F_WRLCK, _slot(self.run_id)))
                return bool(struct.unpack(_FLOCK, answer)[0] != fcntl.F_UNLCK)
            try:  # pragma: no cover - platforms without OFD locks
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:  # pragma: no cover
                return True
            return False  # pragma: no cover
        finally:
            os.close(fd)  # closing drops the probe's shared flock, if any

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
