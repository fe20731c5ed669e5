"""The websocket stream: connect, subscribe, ping, dispatch every frame through the
router, and reconnect with capped exponential backoff.

Differences from codex-manager's client, on purpose:
- the backoff resets after a healthy connection (one that delivered a frame), so a
  long-lived process does not stay at the cap forever;
- frames of any size are accepted (`max_size=None`);
- the base URL's path is kept and the `header_provider` is consulted on every handshake;
- `stop_event` may be an `asyncio.Event` or a `threading.Event`; the sync twin has one too.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect

from teammesh.client._twin import Wrapper, same
from teammesh.client.events import AppServerSignal, StreamContext, StreamEvent
from teammesh.client.protocols import HeaderProvider
from teammesh.client.router import EventRouter, StreamRouter
from teammesh.client.turns import TurnTracker

StopEvent = asyncio.Event | threading.Event
F = TypeVar("F", bound=Callable[..., Any])
_tokens = itertools.count(1)


def stream_url(base_url: str, api_prefix: str, thread_id: str | None = None) -> str:
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = parts.path.rstrip("/") + api_prefix.rstrip("/") + "/stream"
    query = urlencode({"threadId": thread_id}) if thread_id else ""
    return urlunsplit((scheme, parts.netloc, path, query, ""))


def _is_set(stop_event: StopEvent | None) -> bool:
    return stop_event is not None and stop_event.is_set()


async def _sleep_unless_stopped(seconds: float, stop_event: StopEvent | None) -> None:
    if isinstance(stop_event, asyncio.Event):
        try:
            await asyncio.wait_for(stop_event.wait(), timeout=seconds)
        except TimeoutError:
            pass
        return
    deadline = time.monotonic() + seconds
    # A threading.Event cannot be awaited; poll it.
    while not _is_set(stop_event) and (left := deadline - time.monotonic()) > 0:  # noqa: ASYNC110
        await asyncio.sleep(min(left, 0.1))


class _StreamDecorators:
    """The decorator surface shared by the async stream and its sync twin."""

    router: StreamRouter

    def on_event(self, event_type: str) -> Callable[[F], F]:
        return self._route(lambda event: event.type == event_type)

    def on_event_prefix(self, prefix: str) -> Callable[[F], F]:
        return self._route(lambda event: event.type.startswith(prefix))

    def on_app_server(self, method: str) -> Callable[[F], F]:
        return self._route_signal(f"app_server.{method.strip('.')}")

    def on_app_server_request(self, method: str) -> Callable[[F], F]:
        return self._route_signal(f"app_server.request.{method.strip('.')}")

    def on_turn_started(self) -> Callable[[F], F]:
        # Upstream's name, upstream's matcher: it fires on `app_server.item.started`.
        return self.on_event("app_server.item.started")

    def on_turn_completed(self) -> Callable[[F], F]:
        """Ours: the handler receives the `app_server.turn.completed` signal."""
        return self._route_signal("app_server.turn.completed")

    def _route(self, matcher: Callable[[StreamEvent], bool]) -> Callable[[F], F]:
        def register(handler: F) -> F:
            self.router.add(matcher, handler)
            return handler

        return register

    def _route_signal(self, event_type: str) -> Callable[[F], F]:
        def register(handler: F) -> F:
            def adapt(event: StreamEvent, context: StreamContext) -> Any:
                return handler(AppServerSignal.from_stream_event(event), context)

            self.router.add(lambda event: event.type == event_type, adapt)
            return handler

        return register


class AsyncEventStream(_StreamDecorators):
    reconnect_base_seconds = 0.5
    reconnect_max_seconds = 10.0
    ping_interval_seconds = 15.0
    receive_timeout_seconds = 1.0

    def __init__(
        self,
        base_url: str,
        api_prefix: str,
        *,
        headers: dict[str, str] | None = None,
        header_provider: HeaderProvider | None = None,
        router: StreamRouter | None = None,
        tracker: TurnTracker | None = None,
    ) -> None:
        self.base_url = base_url
        self.api_prefix = api_prefix
        self.headers = dict(headers or {})
        self.header_provider = header_provider
        self.router = router or EventRouter()
        self.tracker = tracker or TurnTracker()
        self.reconnect_count = 0
        # Failed connection attempts since the last healthy connection (drives the backoff).
        self.consecutive_failures = 0

    def url(self, thread_id: str | None = None) -> str:
        return stream_url(self.base_url, self.api_prefix, thread_id)

    async def _handshake_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.header_provider is not None:
            extra = self.header_provider.headers()
            if inspect.isawaitable(extra):
                extra = await extra
            headers.update(extra or {})
        return headers

    def backoff_seconds(self, consecutive_failures: int) -> float:
        exponent = max(0, consecutive_failures - 1)
        return float(min(self.reconnect_base_seconds * 2**exponent, self.reconnect_max_seconds))

    async def run_forever(
        self, *, thread_id: str | None = None, stop_event: StopEvent | None = None
    ) -> None:
        """Stream until `stop_event` is set (or the task is cancelled)."""
        self.consecutive_failures = 0
        reconnects = -1
        while not _is_set(stop_event):
            reconnects += 1
            # Per run (several runs may share this stream); the attribute shows the latest.
            self.reconnect_count = reconnects
            healthy = [False]
            try:
                await self._run_connection(thread_id, stop_event, healthy, reconnects)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                # A healthy connection reset the count to 0, so its loss starts the backoff
                # over at the base delay.
                self.consecutive_failures += 1
                await _sleep_unless_stopped(
                    self.backoff_seconds(self.consecutive_failures), stop_event
                )

    async def _run_connection(
        self,
        thread_id: str | None,
        stop_event: StopEvent | None,
        healthy: list[bool],
        reconnects: int,
    ) -> None:
        token = next(_tokens)
        context = StreamContext(thread_id=thread_id, reconnect_count=reconnects)
        async with connect(
            self.url(thread_id),
            additional_headers=await self._handshake_headers(),
            max_size=None,
        ) as ws:
            try:
                if thread_id:
                    await ws.send(json.dumps({"type": "subscribe", "threadId": thread_id}))
                await self._receive_loop(ws, token, thread_id, context, stop_event, healthy)
            finally:
                self.tracker.stream_disconnected(token)

    async def _receive_loop(
        self,
        ws: ClientConnection,
        token: int,
        thread_id: str | None,
        context: StreamContext,
        stop_event: StopEvent | None,
        healthy: list[bool],
    ) -> None:
        last_ping = time.monotonic()
        while not _is_set(stop_event):
            if time.monotonic() - last_ping >= self.ping_interval_seconds:
                await ws.send(json.dumps({"type": "ping"}))
                last_ping = time.monotonic()
            frame = await self._receive(ws, stop_event)
            if frame is None:
                continue
            if not healthy[0]:
                # The first frame (the server's `ready`) proves the socket is registered,
                # so from here on the stream covers this filter.
                healthy[0] = True
                self.consecutive_failures = 0
                self.tracker.stream_connected(token, thread_id)
            event = self._parse(frame)
            if event is None:
                continue
            self.tracker.observe(event)
            await self.router.dispatch(event, context)

    async def _receive(self, ws: ClientConnection, stop_event: StopEvent | None) -> Any:
        timeout = self.receive_timeout_seconds
        if not isinstance(stop_event, asyncio.Event):
            # A threading.Event can only be polled: tick faster so stop stays prompt.
            timeout = min(timeout, 0.2) if stop_event is not None else timeout
            try:
                return await asyncio.wait_for(ws.recv(), timeout=timeout)
            except TimeoutError:
                return None
        receive = asyncio.ensure_future(ws.recv())
        stop = asyncio.ensure_future(stop_event.wait())
        try:
            done, _ = await asyncio.wait(
                {receive, stop}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (receive, stop):
                if not task.done():
                    task.cancel()
        if receive in done:
            return receive.result()
        if receive.done() and not receive.cancelled():
            receive.exception()  # finished during stop: mark its error as retrieved
        return None

    @staticmethod
    def _parse(frame: Any) -> StreamEvent | None:
        if not isinstance(frame, str):
            return None
        try:
            obj = json.loads(frame)
        except ValueError:
            return None
        return StreamEvent.from_json(obj) if isinstance(obj, dict) else None


class SyncEventStream(_StreamDecorators, Wrapper[AsyncEventStream]):
    """The sync twin: the same stream, run on its own event loop in the calling thread.

    Handlers run in that thread, so they may call the sync client freely (its requests run
    on the client's private loop, not this one).
    """

    def __init__(self, inner: AsyncEventStream) -> None:
        self.inner = inner
        self.router = inner.router

    @property
    def tracker(self) -> TurnTracker:
        return self.inner.tracker

    url = same(AsyncEventStream.url)
    backoff_seconds = same(AsyncEventStream.backoff_seconds)

    def run_forever(
        self, *, thread_id: str | None = None, stop_event: threading.Event | None = None
    ) -> None:
        asyncio.run(self.inner.run_forever(thread_id=thread_id, stop_event=stop_event))
