"""uvicorn's server without the sleeps in its exit path.

uvicorn notices `should_exit` on a 100 ms tick, then sleeps a fixed 100 ms after asking each
connection to close, then polls every 100 ms until connections and tasks are gone: 150–300 ms
from "stop" to "stopped" even when everything has closed within a millisecond. Here the exit
request wakes the main loop at once (the tick still runs every 100 ms for the date header;
its wait is one future and one timer, not `wait_for`'s task, timer and cancellation, since
an idle server pays it ten times a second), and the shutdown waits for the same things
(connections closed, request tasks done, within `timeout_graceful_shutdown`, else they are
cancelled) by polling every few milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

import uvicorn

log = logging.getLogger("teammesh.serving")

TICK_S = 0.1  # uvicorn's own tick: the date header and the max-requests check
CLOSE_POLL_S = 0.002


def _resolve(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class PromptShutdownServer(uvicorn.Server):
    _exit_event: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _tick_waiter: asyncio.Future[None] | None = None

    @property
    def should_exit(self) -> bool:
        return self._should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._should_exit = value
        if value and self._exit_event is not None and self._loop is not None:
            # A stop may be asked from another thread (GatewayThread.stop, a signal handler
            # outside the loop); an asyncio.Event is not thread-safe, so wake the loop through
            # call_soon_threadsafe, which is also correct on the loop's own thread.
            with contextlib.suppress(RuntimeError):  # the loop already closed
                self._loop.call_soon_threadsafe(self._wake_now)

    def _wake_now(self) -> None:
        if self._exit_event is not None:
            self._exit_event.set()
        _resolve(self._tick_waiter)

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._exit_event = asyncio.Event()
        if self._should_exit:
            self._exit_event.set()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            if self._exit_event.is_set():
                continue
            waiter = self._tick_waiter = self._loop.create_future()
            timer = self._loop.call_later(TICK_S, _resolve, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._tick_waiter = None

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            await asyncio.wait_for(self._closed(), timeout=self.config.timeout_graceful_shutdown)
        except TimeoutError:
            log.error("cancelling %d request task(s) still running after %s s",
                      len(self.server_state.tasks), self.config.timeout_graceful_shutdown)
            for task in self.server_state.tasks:
                task.cancel()
        if not self.force_exit:
            await self.lifespan.shutdown()

    async def _closed(self) -> None:
        state = self.server_state
        while (state.connections or state.tasks) and not self.force_exit:  # noqa: ASYNC110
            await asyncio.sleep(CLOSE_POLL_S)  # uvicorn's state has no event to wait on
        for server in self.servers:
            await server.wait_closed()
