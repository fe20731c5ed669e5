"""Reading one stream connection in its own task, apart from dispatching its events.

Why a separate reader: a handler the stream runs may answer its tool call over this same
socket (stream_answers.py) and await the acknowledgement. If the loop that dispatches
events were also the only one reading, that acknowledgement would sit unread behind the
handler waiting for it. So the reader settles `tool_call.answered` frames at once and
queues everything else, in order, for the dispatch loop. The backlog is bounded like the
gateway's own queue: a dispatch loop that falls this far behind ends the connection (the
stream reconnects and its callers catch up over HTTP), instead of growing without bound.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from websockets.asyncio.client import ClientConnection

from teammesh.client.stream_answers import ANSWERED_FRAME, StreamAnswers
from teammesh.client.stream_turns import TURN_ANSWERED_FRAME, StreamTurns

StopEvent = asyncio.Event | threading.Event
MAX_BACKLOG_FRAMES = 10_000


class NotJson:
    """A frame that is not a JSON object: it still proves the connection is alive."""


NOT_JSON = NotJson()


class _Ended:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class BacklogError(ConnectionError):
    """The dispatch loop fell MAX_BACKLOG_FRAMES behind the socket."""


def decode(frame: Any) -> dict[str, Any] | None:
    if not isinstance(frame, str):
        return None
    try:
        obj = json.loads(frame)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


class FrameReader:
    def __init__(self, ws: ClientConnection, answers: StreamAnswers,
                 max_backlog: int = MAX_BACKLOG_FRAMES, turns: StreamTurns | None = None
                 ) -> None:
        self._ws = ws
        self._answers = answers
        self._turns = turns or StreamTurns()
        self._max_backlog = max_backlog
        self._queue: asyncio.Queue[dict[str, Any] | NotJson | _Ended] = asyncio.Queue()
        # `next` waiting on an empty queue: woken by the reader, the stop event or its
        # timer. One future per wait, not the two tasks and a wait() that a frame used to
        # cost: at a turn's pace (a frame every few ms) the queue is nearly always empty.
        self._waiter: asyncio.Future[None] | None = None
        self._watched: asyncio.Event | None = None
        self._watch: asyncio.Task[None] | None = None
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        queue = self._queue
        try:
            while True:
                obj = decode(await self._ws.recv())
                kind = obj.get("type") if obj is not None else None
                if kind == ANSWERED_FRAME and obj is not None:
                    self._answers.settle(obj)  # ours, not an event: never queued or routed
                    continue
                if kind == TURN_ANSWERED_FRAME and obj is not None:
                    self._turns.settle(obj)  # likewise: a turn start's answer
                    continue
                if queue.qsize() >= self._max_backlog:
                    raise BacklogError("stream handlers fell too far behind; reconnecting")
                queue.put_nowait(NOT_JSON if obj is None else obj)
                self._wake()
        except BaseException as error:  # handed to the dispatch loop
            # Answers waiting on this socket fail now (their callers retry): the dispatch
            # loop may be inside a handler awaiting one, and would never get to them.
            self._answers.detach(self._ws)
            self._turns.detach(self._ws)
            queue.put_nowait(_Ended(error))
            self._wake()
            if isinstance(error, asyncio.CancelledError):
                raise

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _watch_stop(self, stop_event: asyncio.Event) -> None:
        """One task per stop event for the reader's life, waking a waiting `next`; a new one
        when that task has ended (it saw the event set, and the caller cleared it since)."""
        if self._watched is stop_event and self._watch is not None and not self._watch.done():
            return
        if self._watch is not None:
            self._watch.cancel()
        self._watched = stop_event

        async def watch() -> None:
            await stop_event.wait()
            self._wake()

        self._watch = asyncio.get_running_loop().create_task(watch())

    async def next(self, stop_event: StopEvent | None, wait_s: float
                   ) -> dict[str, Any] | NotJson | None:
        """The next frame; None when `wait_s` passed or `stop_event` was set first. A
        connection that ended raises its error here, as `recv` would have."""
        queue = self._queue
        if queue.empty():
            if isinstance(stop_event, asyncio.Event):
                if stop_event.is_set():
                    return None
                self._watch_stop(stop_event)
            # (A threading.Event cannot wake a loop: the caller checks it between waits.)
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            timer = loop.call_later(wait_s, _resolve, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
            if queue.empty():
                return None  # the time passed, or the stop event was set
        item = queue.get_nowait()  # no task, no wait
        if isinstance(item, _Ended):
            queue.put_nowait(item)  # every later call sees the end too
            if isinstance(item.error, asyncio.CancelledError):
                raise ConnectionError("stream reader stopped")
            raise item.error
        return item

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        self._task.cancel()
        try:
            await self._task
        except BaseException:  # its error was handed on already
            pass


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
