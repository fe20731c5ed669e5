"""The websocket stream: connect, subscribe, ping, dispatch every frame through the
router, and reconnect with capped exponential backoff.

Differences from codex-manager's client, on purpose:
- the backoff resets after a healthy connection (one that delivered a frame), so a
  long-lived process does not stay at the cap forever;
- frames of any size are accepted (`max_size=None`);
- the base URL's path is kept and the `header_provider` is consulted on every handshake;
- `stop_event` may be an `asyncio.Event` or a `threading.Event`; the sync twin has one too;
- it asks the gateway for our opt-in extensions (`use_extensions`): when granted, remote
  skills answer tool calls over this socket (stream_answers.py) and `event_types`, if set,
  narrows the socket to the event types the caller handles, and the client starts turns
  over it (`turnStart`, stream_turns.py). A gateway that does not grant them (codex-manager,
  or ours with them off) serves the plain stream and answers and turns go by HTTP.
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
from teammesh.client.stream_answers import EVENT_TYPES, TOOL_CALL_ANSWERS, StreamAnswers
from teammesh.client.stream_reader import FrameReader
from teammesh.client.stream_turns import TURN_START, StreamTurns
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
    # Ask for the gateway's stream extensions (answers over the socket, event-type filter).
    use_extensions = True
    # Of those, ask for `turnStart` too (turns started over the socket); False: by HTTP.
    start_turns = True

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
        self.answers = StreamAnswers()
        self.turn_starts = StreamTurns()
        # None: every event; a set: only these types reach the router (when the gateway
        # grants `eventTypes`; otherwise every event still arrives and is routed as before).
        self.event_types: frozenset[str] | None = None

    def url(self, thread_id: str | None = None) -> str:
        return stream_url(self.base_url, self.api_prefix, thread_id)

    def _connect_url(self, thread_id: str | None) -> str:
        url = self.url(thread_id)
        if not self.use_extensions:
            return url
        asked = TOOL_CALL_ANSWERS + (f",{TURN_START}" if self.start_turns else "") + (
            "" if self.event_types is None else f",{EVENT_TYPES}")
        return url + ("&" if "?" in url else "?") + f"extensions={asked}"

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
            self._connect_url(thread_id),
            additional_headers=await self._handshake_headers(),
            max_size=None,
        ) as ws:
            try:
                if thread_id:
                    await ws.send(json.dumps({"type": "subscribe", "threadId": thread_id}))
                await self._receive_loop(ws, token, thread_id, context, stop_event, healthy)
            finally:
                self.answers.detach(ws)
                self.turn_starts.detach(ws)
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
        reader = FrameReader(ws, self.answers, turns=self.turn_starts)
        try:
            await self._dispatch_loop(ws, reader, token, thread_id, context, stop_event,
                                      healthy)
        finally:
            await reader.close()

    async def _dispatch_loop(
        self,
        ws: ClientConnection,
        reader: FrameReader,
        token: int,
        thread_id: str | None,
        context: StreamContext,
        stop_event: StopEvent | None,
        healthy: list[bool],
    ) -> None:
        last_ping = time.monotonic()
        wait_s = self.receive_timeout_seconds
        if stop_event is not None and not isinstance(stop_event, asyncio.Event):
            # A threading.Event can only be polled: tick faster so stop stays prompt.
            wait_s = min(wait_s, 0.2)
        while not _is_set(stop_event):
            if time.monotonic() - last_ping >= self.ping_interval_seconds:
                await ws.send(json.dumps({"type": "ping"}))
                last_ping = time.monotonic()
            item = await reader.next(stop_event, wait_s)
            if item is None:
                continue
            obj = item if isinstance(item, dict) else None
            if not healthy[0]:
                # The first frame (the server's `ready`) proves the socket is registered,
                # so from here on the stream covers this filter.
                healthy[0] = True
                self.consecutive_failures = 0
                await self._ready(ws, obj, thread_id)
                self.tracker.stream_connected(token, thread_id)
            if obj is None:
                continue
            event = StreamEvent.from_json(obj)
            self.tracker.observe(event)
            await self.router.dispatch(event, context)

    async def _ready(self, ws: ClientConnection, ready: dict[str, Any] | None,
                     thread_id: str | None) -> None:
        """Use what the `ready` frame granted (nothing, from a plain gateway)."""
        granted = ready.get("extensions") if ready is not None else None
        if not self.use_extensions or not isinstance(granted, list):
            return
        if EVENT_TYPES in granted and self.event_types is not None:
            await ws.send(json.dumps({"type": "events.subscribe",
                                      "types": sorted(self.event_types)}))
        if TOOL_CALL_ANSWERS in granted:
            self.answers.attach(ws)
        command_bytes = ready.get("commandBytes") if ready is not None else None
        instance = ready.get("instance") if ready is not None else None
        if (TURN_START in granted and isinstance(command_bytes, int)
                and not isinstance(command_bytes, bool) and isinstance(instance, str)):
            self.turn_starts.attach(ws, command_bytes, instance, thread_id)


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
