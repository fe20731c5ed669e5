"""uvicorn's server with bounded accept-error logging, a prompt stop (and, embedded, without
its signals).

When the process runs out of descriptors, asyncio's accept loop reports "socket.accept()
out of system resource" through the event loop's exception handler, with a traceback, on
every retry; under a connection flood that fills a disk. While a server runs, that one
message goes through a `RateLimitedLog` (one line per 10 s with a count); every other
exception goes to the handler that was there before.

A prompt stop: uvicorn looks at `should_exit` once per 100 ms tick, then sleeps another
fixed 100 ms after asking the connections to close, and polls them every 100 ms: up to
300 ms for a server with nothing left to do (paid at the end of every `teammesh demo`).
Here setting `should_exit` wakes the loop at once, and the connections are waited for by
a 5 ms poll, within the same graceful-shutdown timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn

from teammesh.serving.log_limit import RateLimitedLog

log = logging.getLogger("teammesh.serving")
ACCEPT_ERROR = "socket.accept() out of system resource"
_START_SERVING = "_start_serving("  # asyncio's accept (re)start callback
TICK_S = 0.1  # uvicorn's housekeeping tick (date header, request limit)
DRAIN_POLL_S = 0.005  # how often the stop looks whether the connections have closed


@contextlib.contextmanager
def limited_accept_errors(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    previous = loop.get_exception_handler()
    limited = RateLimitedLog(log)

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == ACCEPT_ERROR:
            limited.warning("%s: %s", ACCEPT_ERROR, context.get("exception"))
        elif _START_SERVING in repr(context.get("handle")):
            # Each failed accept schedules a retry; retries still pending when the server
            # closes its socket each fail again ("Invalid file descriptor"): the same flood.
            limited.warning("accept retry failed: %s", context.get("exception"))
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    try:
        yield
    finally:
        if loop.get_exception_handler() is handler:  # not replaced meanwhile
            loop.set_exception_handler(previous)


class QuietServer(uvicorn.Server):
    """uvicorn's server with accept errors rate-limited while it serves, stopping as soon
    as it is asked to."""

    _wake: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None
    _exit_asked = False

    @property
    def should_exit(self) -> bool:
        return self._exit_asked

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        # Set from the serving loop, a signal handler or another thread (GatewayThread):
        # the loop is woken through call_soon_threadsafe, which is safe from all three.
        self._exit_asked = value
        wake = self._wake
        if value and wake is not None:
            loop, event = wake
            with contextlib.suppress(RuntimeError):  # the loop has closed: nothing to wake
                loop.call_soon_threadsafe(event.set)

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        with limited_accept_errors(asyncio.get_running_loop()):
            await super().serve(sockets=sockets)

    async def main_loop(self) -> None:
        woken = asyncio.Event()
        self._wake = (asyncio.get_running_loop(), woken)
        try:
            counter = 0
            should_exit = await self.on_tick(counter)
            while not should_exit:
                counter = (counter + 1) % 864000
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), TICK_S)
                should_exit = await self.on_tick(counter)
        finally:
            self._wake = None

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown, without its fixed 100 ms sleeps."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            await asyncio.wait_for(self._drained(), timeout=self.config.timeout_graceful_shutdown)
        except TimeoutError:
            log.error("cancelling %d task(s): graceful shutdown timed out",
                      len(self.server_state.tasks))
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        if not self.force_exit:
            await self.lifespan.shutdown()

    async def _drained(self) -> None:
        state = self.server_state
        # uvicorn keeps these as plain sets (no event to wait on): a short poll it is.
        while (state.connections or state.tasks) and not self.force_exit:  # noqa: ASYNC110
            await asyncio.sleep(DRAIN_POLL_S)
        for server in self.servers:
            await server.wait_closed()


class EmbeddedServer(QuietServer):
    """... without uvicorn's signal handling: the embedding program owns its signals (a
    Ctrl-C must reach the test or tool that started the server, not stop it quietly)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
