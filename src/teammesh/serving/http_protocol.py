"""uvicorn's httptools protocol with connection-level bounds (`ServerLimits`).

uvicorn on its own lets a client hold a connection forever by never finishing its request
head (its keep-alive timeout starts only after a first response), lets one header grow
without bound (httptools buffers a header value until it ends) and accepts connections
until the process runs out of file descriptors. This subclass adds:

- a header-read timeout: from the moment a connection opens, and from each response on a
  keep-alive connection, a complete request head must arrive within `header_timeout_s`, or
  the connection is closed (measured per head, not per byte, so trickling bytes does not
  extend it);
- a head-size cap: more than `max_header_bytes` of request line and headers is answered
  431 and the connection closed; bytes are counted as they arrive, so no more than the cap
  plus one socket read is ever buffered;
- a connection cap: a connection beyond the cap is answered 503 and closed at once, so its
  descriptor is released before the next accept batch.

We keep httptools (uvicorn's default when installed, faster than h11 per request) and hook
the parser callbacks uvicorn already implements; the refusals are written directly on the
transport because no ASGI request exists yet.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from teammesh.serving.limits import ServerLimits, accept_batch, connection_cap, descriptor_limit
from teammesh.serving.log_limit import RateLimitedLog
from teammesh.serving.ws_coalesce import CoalescingWebSocketProtocol

log = logging.getLogger("teammesh.serving")


class _HeadTooLarge(Exception):
    """Raised inside a parser callback to stop parsing a head over the cap."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    limits: ClassVar[ServerLimits] = ServerLimits()
    max_open: ClassVar[int] = ServerLimits().max_connections
    refusal_log: ClassVar[RateLimitedLog] = RateLimitedLog(log)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._in_head = True  # between a message's first byte (or the open) and its head's end
        self._streamed_head_bytes = 0  # every byte received while in a head
        self._parsed_head_bytes = 0  # request line + headers as the parser reports them
        self._head_too_large = False
        self._refused = False

    # --- connection ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_open:
            self.refusal_log.warning(
                "connection limit reached (%d open): refusing new connections with 503",
                self.max_open,
            )
            self._refuse(503, "too_many_connections", "too many open connections; retry later")
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's own method, except that its per-request parse-error warning (a log line
        # any client can trigger at will) goes through the rate limiter.
        if self._refused:
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self._head_too_large:
                self._refuse_head_too_large()
            else:
                self.refusal_log.warning("refused invalid HTTP requests with 400")
                self._refused = True
                self.send_400_response("Invalid HTTP request received.")
            return
        if self._refused or self.transport.is_closing() or not self._in_head:
            return
        self._streamed_head_bytes += len(data)
        if self._streamed_head_bytes > self.limits.max_header_bytes:
            self._refuse_head_too_large()

    def on_response_complete(self) -> None:
        if not self.pipeline:  # nothing parsed and waiting: the next head is due now
            if not self.cycle.more_body:
                # Otherwise the response came early (a 413, say): the rest of this body is
                # still arriving, to be discarded, and the next head starts after it.
                self._in_head = True
                self._streamed_head_bytes = self._parsed_head_bytes = 0
            self._arm_head_timer()  # the rest of that body, too, must come in time
        super().on_response_complete()

    # --- parser callbacks --------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_head = True
        self._streamed_head_bytes = self._parsed_head_bytes = 0
        self._arm_head_timer()  # no-op when already running: the clock is not reset
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    # --- helpers -----------------------------------------------------------------------------

    def _count(self, size: int) -> None:
        self._parsed_head_bytes += size
        if self._parsed_head_bytes > self.limits.max_header_bytes:
            self._head_too_large = True
            raise _HeadTooLarge

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(
                self.limits.header_timeout_s, self._head_timed_out
            )

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            log.debug("closing a connection that sent no complete request head in time")
            self._refused = True
            self.transport.close()

    def _refuse_head_too_large(self) -> None:
        self.refusal_log.warning("refused a request head over %d bytes with 431",
                                 self.limits.max_header_bytes)
        self._refuse(431, "headers_too_large",
                     f"request head over {self.limits.max_header_bytes} bytes")

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._refused = True
        self._cancel_head_timer()
        if self.transport.is_closing():
            return
        body = json.dumps({"status": "error", "code": code, "message": message}).encode()
        self.transport.write(
            STATUS_LINE[status]
            + b"content-type: application/json\r\n"
            + b"content-length: " + str(len(body)).encode() + b"\r\n"
            + b"connection: close\r\n\r\n"
            + body
        )
        self.transport.close()


class RefusingWebSocketProtocol(CoalescingWebSocketProtocol):
    """uvicorn's websockets-sansio protocol, quiet when the app refuses a handshake with a
    full HTTP answer (`websocket.http.response.*`, as the Host/Origin guard and the token
    check do). uvicorn does not count that answer as the end of the handshake and logs
    "ASGI callable returned without completing handshake" at ERROR for every refusal: a
    line any client could make us write thousands of times a second. Text frames sent in
    one burst share one socket write (ws_coalesce.py)."""

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body"):
            self.handshake_complete = True


def uvicorn_options(limits: ServerLimits) -> dict[str, Any]:
    """The `uvicorn.Config` keyword arguments that apply `limits` to one server."""
    fd_limit = descriptor_limit()
    cap = connection_cap(limits.max_connections, fd_limit)
    if cap < limits.max_connections:
        log.info("max_connections %d lowered to %d to fit the descriptor limit (ulimit -n %s)",
                 limits.max_connections, cap, fd_limit)
    protocol = type(
        "GuardedHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {"limits": limits, "max_open": cap, "refusal_log": RateLimitedLog(log)},
    )
    return {
        "http": protocol,
        "ws": RefusingWebSocketProtocol,
        "backlog": accept_batch(fd_limit),
        # uvicorn's own check (at each request head) as a backstop on in-flight requests;
        # it never fires before ours, which refuses at accept.
        "limit_concurrency": cap + 1,
    }
