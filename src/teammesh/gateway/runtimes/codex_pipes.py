"""The app-server child's stdout and stderr, read as lines straight from the pipe callbacks.

asyncio's subprocess streams cost a hop per message: the pipe callback feeds a
`StreamReader`, wakes the reader task through a future, and that task's `readline` copies
the line out again. codex writes every JSON-RPC message with its own write, so a one-tool-call
turn paid that for ~20 stdout and ~10 stderr writes; measured, the pipe plumbing was a fifth
of the gateway's CPU per codex turn. Here `pipe_data_received` splits the bytes into lines
and hands each to a callback at once, in arrival order, on the event loop; stdin stays
asyncio's `StreamWriter` (with its drain), so `asyncio.subprocess.Process` works as before.

A line longer than `limit` is dropped whole (logged), as the stream reader's limit did:
one protocol line can carry a whole thread, but not an unbounded one.
"""

from __future__ import annotations

import asyncio
import logging
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


class _LineProtocol(SubprocessStreamProtocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, stdout: LineSplitter,
                 stderr: LineSplitter, after_stderr: Callable[[], None]) -> None:
        super().__init__(limit=2 ** 16, loop=loop)  # its stream readers stay empty
        self._splitters = {1: stdout, 2: stderr}
        self._after_stderr = after_stderr
        self.closed: dict[int, asyncio.Future[None]] = {
            1: loop.create_future(), 2: loop.create_future()}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert isinstance(transport, asyncio.SubprocessTransport)
        for fd in self._splitters:
            pipe = transport.get_pipe_transport(fd)
            if pipe is not None and hasattr(pipe, "max_size"):
                # asyncio reads a pipe 256 KiB at a time: a 256 KiB buffer allocated (and
                # shrunk) per read, ~8 µs each here, for messages of about 1 KiB.
                pipe.max_size = READ_SIZE

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        splitter = self._splitters.get(fd)
        if splitter is None:
            return
        splitter.feed(data.encode() if isinstance(data, str) else data)  # pipes give bytes
        if fd == 2:
            self._after_stderr()

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        splitter = self._splitters.get(fd)
        if splitter is not None:
            splitter.finish()
            if fd == 2:
                self._after_stderr()
            if not self.closed[fd].done():
                self.closed[fd].set_result(None)
        super().pipe_connection_lost(fd, exc)


async def spawn_line_process(
    argv: Sequence[str], *, env: dict[str, str], cwd: Path, limit: int,
    on_stdout: LineHandler, on_stderr: LineHandler, after_stderr: Callable[[], None],
    **kwargs: Any,
) -> tuple[Process, dict[int, asyncio.Future[None]]]:
    """`argv` with piped stdin/stdout/stderr; stdout and stderr lines go to the handlers.
    Returns the process and the futures that complete when stdout (1) and stderr (2) end."""
    loop = asyncio.get_running_loop()
    stdout = LineSplitter(on_stdout, limit, "stdout")
    stderr = LineSplitter(on_stderr, limit, "stderr")
    protocol: _LineProtocol | None = None

    def factory() -> _LineProtocol:
        nonlocal protocol
        protocol = _LineProtocol(loop, stdout, stderr, after_stderr)
        return protocol

    transport, _ = await loop.subprocess_exec(
        factory, *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env, cwd=str(cwd), **kwargs)
    assert protocol is not None
    return Process(transport, protocol, loop), protocol.closed
