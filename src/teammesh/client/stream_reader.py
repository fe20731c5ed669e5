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
        except BaseException as error:  # handed to the dispatch loop
            # Answers waiting on this socket fail now (their callers retry): the dispatch
            # loop may be inside a handler awaiting one, and would never get to them.
            self._answers.detach(self._ws)
            self._turns.detach(self._ws)
            queue.put_nowait(_Ended(error))
            if isinstance(error, asyncio.CancelledError):
                raise

    async def next(self, stop_event: StopEvent | None, wait_s: float
                   ) -> dict[str, Any] | NotJson | None:
        """The next frame; None when `wait_s` passed or `stop_event` was set first. A
        connection that ended raises its error here, as `recv` would have."""
        queue = self._queue
        if queue.empty():
            if not isinstance(stop_event, asyncio.Event):
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=wait_s)
                except TimeoutError:
                    return None
            else:
                item_or_none = await _first(queue, stop_event, wait_s)
                if item_or_none is None:
                    return None
                item = item_or_none
        else:
            item = queue.get_nowait()  # under load: no task, no wait
        if isinstance(item, _Ended):
            queue.put_nowait(item)  # every later call sees the end too
            if isinstance(item.error, asyncio.CancelledError):
                raise ConnectionError("stream reader stopped")
            raise item.error
        return item

    async def close(self) -> None:
        self._task.cancel()
        try:
            await self._task
        except BaseException:  # its error was handed on already
            pass


async def _first(queue: asyncio.Queue[Any], stop_event: asyncio.Event, wait_s: float
                 ) -> Any | None:
    get = asyncio.ensure_future(queue.get())
    stop = asyncio.ensure_future(stop_event.wait())
    try:
        done, _ = await asyncio.wait({get, stop}, timeout=wait_s,
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (get, stop):
            if not task.done():
                task.cancel()
    if get in done:
        return get.result()
    if get.done() and not get.cancelled():
        queue.put_nowait(get.result())  # arrived during stop: keep it for the next call
    return None
