"""Turn completion learned from the stream, shared by every waiter of one client.

The stream feeds `app_server.turn.completed` events in; waiters (on any event loop, in any
thread) are woken the moment their turn completes. The tracker also knows which sessions a
connected stream currently covers, so a waiter can tell whether to trust events or poll.
Events published while no stream was connected are lost, so every (re)connect wakes all
waiters to re-check by polling once.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from typing import Any

from teammesh.client.events import StreamEvent
from teammesh.wire import TURN_COMPLETED_SIGNAL

_RECONNECTED = object()


def _set_result(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def turn_completion(event: StreamEvent) -> tuple[str, str, str] | None:
    """`(thread_id, turn_id, status)` from an `app_server.turn.completed` event."""
    if event.type != TURN_COMPLETED_SIGNAL or not isinstance(event.payload, dict):
        return None
    params = event.payload.get("params")
    params = params if isinstance(params, dict) else {}
    context = event.payload.get("context")
    context = context if isinstance(context, dict) else {}
    turn = params.get("turn")
    turn = turn if isinstance(turn, dict) else {}
    thread_id = params.get("threadId") or context.get("threadId") or event.thread_id
    turn_id = turn.get("id") or params.get("turnId") or context.get("turnId")
    status = turn.get("status")
    if not (isinstance(thread_id, str) and isinstance(turn_id, str)):
        return None
    return thread_id, turn_id, status if isinstance(status, str) and status else "completed"


def final_reply(event: StreamEvent) -> str | None:
    """The last non-blank `agentMessage` text among a `turn/completed` event's items, stripped
    (what `assistant_reply_of` finds in the transcript); None when the event carries none
    (codex may send `items: []`)."""
    params = event.payload.get("params") if isinstance(event.payload, dict) else None
    turn = params.get("turn") if isinstance(params, dict) else None
    items = turn.get("items") if isinstance(turn, dict) else None
    for item in reversed(items if isinstance(items, list) else []):
        if isinstance(item, dict) and item.get("type") == "agentMessage":
            text = item.get("text")
            if isinstance(text, str) and text.strip():
                return text.strip()
    return None


class TurnTracker:
    def __init__(self, capacity: int = 4096) -> None:
        self._lock = threading.Lock()
        self._capacity = capacity
        self._completed: OrderedDict[tuple[str, str], str] = OrderedDict()
        # The final reply each completion event carried, so a caller that wants the reply
        # need not GET the whole session (whose transcript grows every turn).
        self._replies: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._waiters: dict[
            tuple[str, str], list[tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]]
        ] = {}
        self._streams: dict[int, str | None] = {}

    # --- fed by streams ------------------------------------------------------------------

    def stream_connected(self, token: int, thread_filter: str | None) -> None:
        with self._lock:
            self._streams[token] = thread_filter
            waiters = [w for group in self._waiters.values() for w in group]
        for loop, future in waiters:
            loop.call_soon_threadsafe(_set_result, future, _RECONNECTED)

    def stream_disconnected(self, token: int) -> None:
        with self._lock:
            self._streams.pop(token, None)

    def observe(self, event: StreamEvent) -> None:
        completion = turn_completion(event)
        if completion is None:
            return
        thread_id, turn_id, status = completion
        key = (thread_id, turn_id)
        reply = final_reply(event)
        with self._lock:
            self._completed[key] = status
            self._completed.move_to_end(key)
            while len(self._completed) > self._capacity:
                self._completed.popitem(last=False)
            if reply is not None:
                self._replies[key] = reply
                while len(self._replies) > self._capacity:
                    self._replies.popitem(last=False)
            waiters = self._waiters.pop(key, [])
        for loop, future in waiters:
            loop.call_soon_threadsafe(_set_result, future, status)

    # --- read by waiters -----------------------------------------------------------------

    def covers(self, session_id: str) -> bool:
        """Whether a connected stream receives this session's events right now."""
        with self._lock:
            return any(f is None or f == session_id for f in self._streams.values())

    def completed_status(self, session_id: str, turn_id: str) -> str | None:
        with self._lock:
            return self._completed.get((session_id, turn_id))

    def reply(self, session_id: str, turn_id: str) -> str | None:
        """The turn's final assistant text as its completion event carried it, if it did."""
        with self._lock:
            return self._replies.get((session_id, turn_id))

    async def wait(self, session_id: str, turn_id: str, timeout_seconds: float) -> str | None:
        """The turn's final status as soon as the stream reports it; `None` when the timeout
        passes first or a stream (re)connected (the caller should then poll once)."""
        key = (session_id, turn_id)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        entry = (loop, future)
        with self._lock:
            if key in self._completed:
                return self._completed[key]
            self._waiters.setdefault(key, []).append(entry)
        try:
            result = await asyncio.wait_for(future, timeout=max(0.0, timeout_seconds))
        except TimeoutError:
            return None
        finally:
            with self._lock:
                group = self._waiters.get(key)
                if group is not None and entry in group:
                    group.remove(entry)
                    if not group:
                        del self._waiters[key]
        return result if isinstance(result, str) else None
