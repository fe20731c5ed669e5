"""One recipe for serving a uvicorn server inside another program, for the gateway
(`start_gateway`) and the model server (`start_model_server`) alike.

The caller binds the socket first (`serving.listener`: the real port is known before the
app is built) and builds the server; here it is served as a task of the running loop, and
the caller gets control only once uvicorn says it has started, or the reason it could not
(re-raised, so a busy port or a bad option fails the `async with`). On the way out the
caller's own shutdown runs first (the gateway stops its runtimes while sockets still get
their last events), then uvicorn is asked to exit and awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import uvicorn

STARTUP_POLL_S = 0.005


@contextlib.asynccontextmanager
async def serving(
    server: uvicorn.Server,
    sock: socket.socket,
    *,
    stopped_early: Callable[[], Exception],
    before_exit: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[asyncio.Task[None]]:
    """Serve `server` on `sock` while the block runs; yields the serving task.
    `stopped_early` makes the error for a server that ended before it started."""
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raise why it could not start
                raise stopped_early()
            await asyncio.sleep(STARTUP_POLL_S)
        yield task
    finally:
        try:
            if before_exit is not None:
                await before_exit()
        finally:
            server.should_exit = True
            # Its startup error (if any) is already on its way; a late one changes nothing.
            with contextlib.suppress(BaseException):
                await task
