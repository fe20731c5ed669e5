"""The app-server child's stdout and stderr, read as lines straight from the pipe callbacks.

asyncio's subprocess streams cost a hop per message: the pipe callback feeds a
`StreamReader`, wakes the reader task through a future, and that task's `readline` copies
the line out again. codex writes every JSON-RPC message with its own write, so a one-tool-call
turn paid that for ~20 stdout and ~10 stderr writes; measured, the pipe plumbing was a fifth
of the gateway's CPU per codex turn. Here stdout and stderr are our own pipes, read by the
loop's readiness callback (`add_reader`), split into lines and handed to a callback at once,
in arrival order, on the event loop; stdin stays asyncio's `StreamWriter` (with its drain),
so `asyncio.subprocess.Process` works as before.

A line longer than `limit` is dropped whole (logged), as the stream reader's limit did:
one protocol line can carry a whole thread, but not an unbounded one.
"""

from __future__ import annotations

import asyncio
import logging
import os
from asyncio.subprocess import Process, SubprocessStreamProtocol
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LineHandler = Callable[[bytes], None]
READ_SIZE = 64 * 1024


class LineSplitter:
    """Bytes in, complete lines (without the newline) out; a partial line waits."""

    def __init__(self, on_line: LineHandler, limit: int, name: str) -> None:
        self._on_line = on_line
        self._limit = limit
        self._name = name
        self._partial = bytearray()
        self._dropping = False  # inside a line over the limit: skip to its end

    def feed(self, data: bytes) -> None:
        start = 0
        newline = data.find(b"\n")
        if newline >= 0 and (self._partial or self._dropping):
            # The end of a line that began in an earlier chunk.
            if not self._dropping:
                self._partial += data[:newline]
                self._emit(bytes(self._partial))
            self._partial.clear()
            self._dropping = False
            start = newline + 1
            newline = data.find(b"\n", start)
        while newline >= 0:
            self._emit(data[start:newline])
            start = newline + 1
            newline = data.find(b"\n", start)
        if start < len(data):
            self._hold(data[start:])

    def finish(self) -> None:
        """End of the stream: a last line without a newline still counts."""
        if self._partial and not self._dropping:
            self._emit(bytes(self._partial))
        self._partial.clear()
        self._dropping = False

    def _hold(self, chunk: bytes) -> None:
        if self._dropping:
            return
        self._partial += chunk
        if len(self._partial) > self._limit:
            log.error("codex app-server %s: a line over %d bytes; dropped", self._name,
                      self._limit)
            self._partial.clear()
            self._dropping = True

    def _emit(self, line: bytes) -> None:
        if not line.strip():
            return
        try:
            self._on_line(line)
        except Exception:
            # A handler bug must not stop the reading (and with it every thread).
            log.exception("error handling a codex app-server %s line", self._name)


class _PipeReader:
    """One pipe's read end, read by the loop's own readiness callback: each read goes
    straight to its splitter (asyncio's pipe transport hands data on with one more
    `call_soon`, a loop iteration per codex message)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int, splitter: LineSplitter,
                 after: Callable[[], None] | None) -> None:
        self._loop = loop
        self._fd: int | None = fd
        self._splitter = splitter
        self._after = after
        self.closed: asyncio.Future[None] = loop.create_future()
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        if self._fd is None:
            return
        try:
            data = os.read(self._fd, READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.warning("codex app-server pipe read failed: %s", exc)
            data = b""
        if data:
            self._splitter.feed(data)
        else:  # end of file: the child (and everything it started) let go of the pipe
            self.close()
            self._splitter.finish()
        if self._after is not None:
            self._after()

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            self._loop.remove_reader(fd)
            os.close(fd)
        if not self.closed.done():
            self.closed.set_result(None)


class LineProcess:
    """The child, and the two readers of its stdout and stderr."""

    def __init__(self, process: Process, stdout: _PipeReader, stderr: _PipeReader) -> None:
        self.process = process
        self._readers = (stdout, stderr)
        self.stdout_closed = stdout.closed
        self.stderr_closed = stderr.closed

    def close_pipes(self) -> None:
        """Stop reading (a child that would not let go of its pipes, at shutdown)."""
        for reader in self._readers:
            reader.close()


async def spawn_line_process(
    argv: Sequence[str], *, env: dict[str, str], cwd: Path, limit: int,
    on_stdout: LineHandler, on_stderr: LineHandler, after_stderr: Callable[[], None],
    **kwargs: Any,
) -> LineProcess:
    """`argv` with piped stdin/stdout/stderr; stdout and stderr lines go to the handlers.
    stdin is asyncio's (a `StreamWriter` with drain); stdout and stderr are our own pipes."""
    loop = asyncio.get_running_loop()
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    try:
        transport, protocol = await loop.subprocess_exec(
            lambda: SubprocessStreamProtocol(limit=2 ** 16, loop=loop), *argv,
            stdin=asyncio.subprocess.PIPE, stdout=out_write, stderr=err_write, env=env,
            cwd=str(cwd), **kwargs)
    except BaseException:
        os.close(out_read)
        os.close(err_read)
        raise
    finally:  # the child has its copies; ours would keep the pipes from ever ending
        os.close(out_write)
        os.close(err_write)
    stdout = _PipeReader(loop, out_read, LineSplitter(on_stdout, limit, "stdout"), None)
    stderr = _PipeReader(loop, err_read, LineSplitter(on_stderr, limit, "stderr"),
                         after_stderr)
    return LineProcess(Process(transport, protocol, loop), stdout, stderr)
