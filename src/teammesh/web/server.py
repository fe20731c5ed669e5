"""Serving the web board inside the running event loop (the runner's, or `board serve`'s).

The same recipe as the gateway (`serving.uvicorn_start.serving`, `serving.listener`): the
socket is bound first, so the Host/Origin guard knows the real port; loopback by default.
The URL printed carries a fresh random token (Jupyter style): whoever opens it gets the
cookie, nobody else gets anything.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import uvicorn

from teammesh.serving.http_protocol import uvicorn_options
from teammesh.serving.limits import ServerLimits
from teammesh.serving.listener import bind_listener, bound_port
from teammesh.serving.origin_guard import GuardPolicy
from teammesh.serving.quiet_server import EmbeddedServer
from teammesh.serving.uvicorn_start import serving
from teammesh.web.access import TOKEN_PARAM
from teammesh.web.app import WebConfig, build_web_app
from teammesh.web.feed import Feed

DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True)
class RunningBoard:
    host: str
    port: int
    token: str

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """What to open: the page, with the token that becomes its cookie."""
        return f"{self.base_url}/?{TOKEN_PARAM}={self.token}"


class WebListenError(OSError):
    """The page's port cannot be had (busy, or an address this machine lacks): nothing ran."""


@contextlib.asynccontextmanager
async def serve_board(feed: Feed, *, host: str = DEFAULT_HOST, port: int = 0,
                      read_only: bool = False, allow_hosts: Sequence[str] = (),
                      token: str | None = None, limits: ServerLimits | None = None
                      ) -> AsyncIterator[RunningBoard]:
    GuardPolicy.for_listener(host, port, allow_hosts)  # a bad --allow-host fails first
    try:
        sock = bind_listener(host, port)
    except OSError as exc:  # busy, or an address this machine does not have: say which
        raise WebListenError(f"web board: cannot listen on {host}:{port}:"
                      f" {exc.strerror or exc}") from None
    try:
        real_port = bound_port(sock)
        guard = GuardPolicy.for_listener(host, real_port, allow_hosts)
        config = WebConfig(token=token or secrets.token_urlsafe(24), read_only=read_only)
        app = build_web_app(feed, config, guard=guard, port=real_port)
        # The gateway's connection bounds (head timeout and size, connection cap): the page
        # is served in the runner's process, whose descriptors a local process without the
        # token must not be able to use up with unfinished requests.
        server = EmbeddedServer(uvicorn.Config(app, log_level="warning", access_log=False,
                                               lifespan="off", timeout_graceful_shutdown=1,
                                               **uvicorn_options(limits or ServerLimits())))
        feed.start()
        try:
            # Open pages' event streams end before uvicorn stops (feed.close).
            async with serving(server, sock, before_exit=feed.close,
                               stopped_early=lambda: RuntimeError(
                                   "web board server stopped during startup")):
                yield RunningBoard(host, real_port, config.token)
        finally:
            await feed.stop()
    finally:
        sock.close()
