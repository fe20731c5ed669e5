"""Websocket fan-out: publish one event to every socket whose thread filter matches (wire §6.4).

Publishing is synchronous and never awaits: the hub calls it while it holds no lock and must
not yield between registering a pending request and announcing it. Each event is serialised
once; every subscriber gets the same text in publish order through its own bounded queue,
drained by the socket's writer task a whole burst at a time.

A queue is bounded in frames and in bytes (the memory its texts hold, `sys.getsizeof`, O(1)):
a frame cap alone let a subscriber that stops reading pin 10 000 large frames. Past either
bound the subscriber is dropped and its socket closed with 1013; its client reconnects and
catches up over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any

from teammesh.gateway import json_text
from teammesh.wire import MAX_BODY_BYTES, envelope

log = logging.getLogger("teammesh.gateway.fanout")

# Frames must stay under the websockets client's default 1 MiB limit (wire §6.8).
MAX_FRAME_BYTES = MAX_BODY_BYTES - 1024
# A socket that falls this far behind is disconnected (the client reconnects) rather than
# letting its queue grow without bound. Defaults; `ServerLimits` sets them per gateway.
MAX_QUEUED_FRAMES = 10_000
MAX_QUEUED_BYTES = 16 * 1024 * 1024


_encode_string = encode_basestring  # json's own C string encoder (ensure_ascii=False)
# Every frame's text (gateway/json_text.py says why orjson, and what it keeps).
dumps = json_text.dumps


@dataclass(eq=False)
class Subscriber:
    """One websocket connection's delivery state.

    Texts wait in a plain deque. With `write_now` (our uvicorn protocol's synchronous
    write, serving/ws_coalesce.py) the fan-out writes a loop iteration's texts from one
    callback for every socket (`FanOut._drain`), while the socket's writer task is idle;
    otherwise (back-pressure, closing, another server) the writer task takes them all at
    once (`next_batch`). Either way a burst costs one socket write, not an
    `asyncio.Queue` put, get and task wake-up per frame."""

    thread_filter: str | None = None
    # Opt-in stream extensions granted at the handshake (stream_extensions.py), and the
    # event types the socket narrowed itself to (None: all; control frames always pass).
    extensions: frozenset[str] = frozenset()
    event_types: frozenset[str] | None = None
    max_frames: int = MAX_QUEUED_FRAMES
    max_bytes: int = MAX_QUEUED_BYTES
    pending: deque[str] = field(default_factory=deque)
    queued_bytes: int = 0
    overflowed: bool = False
    going_away: bool = False  # the gateway is stopping: the writer closes with 1001
    ended: bool = False  # no more texts: the writer ends once it has sent what is pending
    write_now: Callable[[list[str]], bool] | None = None
    _waiter: asyncio.Future[None] | None = None
    _ready: Callable[[Subscriber], None] | None = None  # the fan-out's drain, if it drains us
    _in_drain: bool = False  # already in the fan-out's list for this iteration

    def offer(self, text: str, size: int | None = None) -> None:
        """Queue `text` (`size` = `sys.getsizeof(text)` when the caller has it already)."""
        if self.overflowed or self.ended:
            return
        if size is None:
            size = sys.getsizeof(text)
        if len(self.pending) >= self.max_frames or self.queued_bytes + size > self.max_bytes:
            # Too slow to keep up: mark it; the writer closes the socket with 1013.
            self.overflowed = True
            log.warning("websocket subscriber fell behind; disconnecting it")
            self._end_now()
            return
        self.queued_bytes += size
        self.pending.append(text)
        if self._ready is not None:
            self._ready(self)
        else:
            self._wake()

    async def next_batch(self) -> list[str] | None:
        """Every text queued so far, in order (waiting for one if none is); None when the
        socket must end (after the texts queued before `close`)."""
        while not self.pending:
            if self.ended:
                return None
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        batch = list(self.pending)
        self.pending.clear()
        self.queued_bytes = 0
        return batch

    def close(self) -> None:
        """Wake the writer so it ends (after what is queued)."""
        self.ended = True
        self._wake()

    def drain_now(self) -> None:
        """Write what is pending at once if the writer task is idle (so nothing it holds
        could be overtaken) and the socket takes it; else leave it to the writer."""
        if not self.pending:
            return
        if self._waiter is not None and not self.ended and self.write_now is not None:
            if self.write_now(list(self.pending)):
                self.pending.clear()
                self.queued_bytes = 0
                return
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _end_now(self) -> None:
        # Drop what is queued (the client reconnects and catches up over HTTP anyway) and
        # end at once, instead of making the writer drain the backlog first.
        self.pending.clear()
        self.queued_bytes = 0
        self.close()


class FanOut:
    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()
        self.dropped_oversized = 0
        # Called before any text leaves for a socket (the hub commits the store rows the
        # texts may describe: gateway/store_batch.py).
        self.before_send: Callable[[], None] | None = None
        self._draining: list[Subscriber] = []
        self._drain_handle: asyncio.Handle | None = None

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.add(subscriber)
        if subscriber.write_now is not None:
            subscriber._ready = self._ready

    def _ready(self, subscriber: Subscriber) -> None:
        if not subscriber._in_drain:
            subscriber._in_drain = True
            self._draining.append(subscriber)
        if self._drain_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # offered outside the loop (start-up, a sync caller)
                subscriber._in_drain = False
                self._draining.remove(subscriber)
                subscriber._wake()
                return
            self._drain_handle = loop.call_soon(self._drain)

    def _drain(self) -> None:
        """Once per loop iteration in which texts were offered: the store first, then each
        socket's texts in one write."""
        self._drain_handle = None
        draining, self._draining = self._draining, []
        if self.before_send is not None:
            self.before_send()
        for subscriber in draining:
            subscriber._in_drain = False
            try:
                subscriber.drain_now()
            except Exception:
                # One socket's failed write must not leave the sockets after it in this
                # list without their texts: its own writer task takes over (and ends it
                # if the socket is gone).
                log.warning("direct websocket write failed; its writer takes over",
                            exc_info=True)
                subscriber.write_now = None
                subscriber._wake()

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(
        self,
        event_type: str,
        thread_id: str | None,
        payload: Any,
        *,
        broadcast: bool = False,
    ) -> None:
        """Send `{type, threadId, payload}` to every matching socket.

        Unfiltered sockets get everything; a filtered socket gets only events of its thread,
        unless the event is a broadcast-to-all event; a socket that narrowed its event types
        (the `eventTypes` extension) gets only those."""
        wanted = self._wanted(event_type, thread_id, broadcast)
        if wanted:
            self._deliver(event_type, dumps(envelope(event_type, thread_id, payload)), wanted)

    def publish_encoded(
        self,
        event_type: str,
        thread_id: str | None,
        payload_json: Callable[[], str],
        *,
        broadcast: bool = False,
    ) -> None:
        """`publish` for a payload the caller holds as JSON text already (`payload_json()`,
        called only if some socket wants the event): one codex notification's params go
        out in up to three events, and are encoded once for all of them. The frame is the
        text `dumps(envelope(...))` would give, byte for byte."""
        wanted = self._wanted(event_type, thread_id, broadcast)
        if wanted:
            thread = "null" if thread_id is None else _encode_string(thread_id)
            text = (f'{{"type":{_encode_string(event_type)},"threadId":{thread},'
                    f'"payload":{payload_json()}}}')
            self._deliver(event_type, text, wanted)

    def wants(self, event_type: str, thread_id: str | None, *, broadcast: bool = False
              ) -> bool:
        """Whether any socket would get this event: a payload nobody wants is not built
        (the runner's `eventTypes` leave most of a turn's notifications unwanted)."""
        return bool(self._wanted(event_type, thread_id, broadcast))

    def may_want(self, event_type: str) -> bool:
        """Whether some socket could get an event of this type on any thread (its thread
        filter aside): the conservative check made before a message is even parsed."""
        return any(s.event_types is None or event_type in s.event_types
                   for s in self._subscribers)

    def _wanted(self, event_type: str, thread_id: str | None, broadcast: bool
                ) -> list[Subscriber]:
        # Who wants it, decided before serialising: an event no socket wants is never encoded.
        return [
            s for s in self._subscribers
            if (broadcast or s.thread_filter is None or s.thread_filter == thread_id)
            and (s.event_types is None or event_type in s.event_types)
        ]

    def _deliver(self, event_type: str, text: str, wanted: list[Subscriber]) -> None:
        # A UTF-8 character is at most 4 bytes: only long texts need the exact byte count.
        if len(text) > MAX_FRAME_BYTES // 4 and len(text.encode()) > MAX_FRAME_BYTES:
            # A frame this large would make the client drop the connection (losing every
            # later event), so it is not sent. Everything it announced stays readable over
            # HTTP (session detail, pending listings).
            self.dropped_oversized += 1
            log.warning("dropped oversized %s frame (%d bytes)", event_type, len(text))
            return
        size = sys.getsizeof(text)
        for subscriber in wanted:
            subscriber.offer(text, size)

    def close_all(self) -> None:
        for subscriber in tuple(self._subscribers):
            subscriber.going_away = True
            subscriber.close()

    async def drained(self, timeout_s: float) -> None:
        """Until every socket has ended (its reader unsubscribes it once the client has
        answered the close), at most `timeout_s`: the gateway then stops its server, which
        would close the rest with 1012."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self._subscribers:  # noqa: ASYNC110 - a few ms at shutdown only
                    await asyncio.sleep(0.001)
