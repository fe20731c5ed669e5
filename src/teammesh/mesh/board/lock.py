"""One runner per run: an exclusive lock next to the board file, held while the run goes.

The operating system releases it when the holder dies (even by SIGKILL), so a crashed run can
be resumed at once, while a second runner on a live run is refused instead of racing it."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from teammesh.private_files import private_file


class RunBusy(RuntimeError):
    pass


class RunLock:
    def __init__(self, board_file: str | Path, run_id: str) -> None:
        self.path = Path(f"{board_file}.{run_id}.lock")
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        fd = os.open(private_file(self.path), os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise RunBusy(f"run is being run by process {holder}") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
