"""Websocket fan-out: publish one event to every socket whose thread filter matches (wire §6.4).

Publishing is synchronous and never awaits: the hub calls it while it holds no lock and must
not yield between registering a pending request and announcing it. Each event is serialised
once; every subscriber gets the same text in publish order through its own bounded queue,
drained by the socket's writer task.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from teammesh.wire import MAX_BODY_BYTES, envelope

log = logging.getLogger("teammesh.gateway.fanout")

# Frames must stay under the websockets client's default 1 MiB limit (wire §6.8).
MAX_FRAME_BYTES = MAX_BODY_BYTES - 1024
# A socket that falls this far behind is disconnected (the client reconnects) rather than
# letting its queue grow without bound.
MAX_QUEUED_FRAMES = 10_000


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(eq=False)
class Subscriber:
    """One websocket connection's delivery state."""

    thread_filter: str | None = None
    queue: asyncio.Queue[str | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=MAX_QUEUED_FRAMES)
    )
    overflowed: bool = False

    def offer(self, text: str) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            # Too slow to keep up: mark it; the writer closes the socket when it sees None.
            self.overflowed = True
            log.warning("websocket subscriber fell behind; disconnecting it")
            self._end_now()

    def close(self) -> None:
        """Wake the writer so it ends."""
        try:
            self.queue.put_nowait(None)
        except asyncio.QueueFull:
            self.overflowed = True
            self._end_now()

    def _end_now(self) -> None:
        # The queue is full, so None cannot follow it: drop what is queued (the client
        # reconnects and catches up over HTTP anyway) and end with None, or the writer would
        # drain the backlog and then wait forever on a socket that stays open and silent.
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class FanOut:
    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()
        self.dropped_oversized = 0

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.add(subscriber)

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
        unless the event is a broadcast-to-all event."""
        if not self._subscribers:
            return
        text = dumps(envelope(event_type, thread_id, payload))
        # A UTF-8 character is at most 4 bytes: only long texts need the exact byte count.
        if len(text) > MAX_FRAME_BYTES // 4 and len(text.encode()) > MAX_FRAME_BYTES:
            # A frame this large would make the client drop the connection (losing every
            # later event), so it is not sent. Everything it announced stays readable over
            # HTTP (session detail, pending listings).
            self.dropped_oversized += 1
            log.warning("dropped oversized %s frame (%d bytes)", event_type, len(text))
            return
        for subscriber in tuple(self._subscribers):
            wanted = subscriber.thread_filter
            if broadcast or wanted is None or wanted == thread_id:
                subscriber.offer(text)

    def close_all(self) -> None:
        for subscriber in tuple(self._subscribers):
            subscriber.close()
