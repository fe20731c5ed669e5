"""uvicorn's server with bounded accept-error logging (and, embedded, without its signals).

When the process runs out of descriptors, asyncio's accept loop reports "socket.accept()
out of system resource" through the event loop's exception handler, with a traceback, on
every retry; under a connection flood that fills a disk. While a server runs, that one
message goes through a `RateLimitedLog` (one line per 10 s with a count); every other
exception goes to the handler that was there before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

from teammesh.serving.log_limit import RateLimitedLog
from teammesh.serving.prompt_shutdown import PromptShutdownServer

log = logging.getLogger("teammesh.serving")
ACCEPT_ERROR = "socket.accept() out of system resource"
_START_SERVING = "_start_serving("  # asyncio's accept (re)start callback


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


class QuietServer(PromptShutdownServer):
    """uvicorn's server with accept errors rate-limited while it serves (and an exit path
    without fixed sleeps: prompt_shutdown.py)."""

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        with limited_accept_errors(asyncio.get_running_loop()):
            await super().serve(sockets=sockets)


class EmbeddedServer(QuietServer):
    """... without uvicorn's signal handling: the embedding program owns its signals (a
    Ctrl-C must reach the test or tool that started the server, not stop it quietly)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
