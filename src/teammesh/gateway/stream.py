"""`/api/stream`: the websocket event stream (wire §6).

On accept the server sends `{"type":"ready","threadId":<filter or null>}`; clients may send
`subscribe` (set the thread filter), `unsubscribe` (clear it) and `ping` (→ `pong`); anything
else gets `{"type":"error","message":"invalid websocket command"}` and the socket stays open.
That includes a frame too large to be a command (over `ws_command_bytes`, answered unparsed)
and one nested too deeply for `json.loads` (its RecursionError is caught, not raised).
Control frames go through the same queue as events, so each socket sees one ordered stream.
A client may also ask for our opt-in extensions (answers over the socket, event-type
filters, turn starts): stream_extensions.py; one that does not sees exactly the frames above.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from teammesh.gateway.fanout import FanOut, Subscriber, dumps
from teammesh.gateway.stream_extensions import ExtensionCommands, granted, ready_frame
from teammesh.serving.limits import ServerLimits
from teammesh.serving.ws_coalesce import BATCH, MORE

log = logging.getLogger("teammesh.gateway.stream")

PONG = dumps({"type": "pong"})
INVALID = dumps({"type": "error", "message": "invalid websocket command"})


def _command(text: str, subscriber: Subscriber, extensions: ExtensionCommands) -> str | None:
    """Apply one client command; the control frame to answer with, if any."""
    try:
        command: Any = json.loads(text)
    except (ValueError, RecursionError):
        return INVALID
    if not isinstance(command, dict):
        return INVALID
    kind = command.get("type")
    if extensions.handles(kind):
        return extensions.run(command)
    if kind == "ping":
        return PONG
    if kind == "unsubscribe":
        subscriber.thread_filter = None
        return None
    if kind == "subscribe":
        thread_id = command.get("threadId")
        if isinstance(thread_id, str) and thread_id.strip():
            subscriber.thread_filter = thread_id
            return None
    return INVALID


async def _write(websocket: WebSocket, subscriber: Subscriber, fanout: FanOut) -> None:
    # Our uvicorn protocol takes a burst in one message (serving/ws_coalesce.py); another
    # ASGI server gets one message per frame, the last of a burst marked as such.
    batched = BATCH in websocket.scope.get("extensions", {})
    try:
        while True:
            texts = await subscriber.next_batch()
            if texts and fanout.before_send is not None:
                fanout.before_send()  # the store rows these texts may describe, first
            if texts is None:
                if subscriber.overflowed:
                    await websocket.close(code=1013)  # try again later: reconnect
                elif subscriber.going_away:
                    await websocket.close(code=1001)  # the gateway is stopping
                return
            if batched:
                await websocket.send({"type": "websocket.send", BATCH: texts})
                continue
            last = len(texts) - 1
            for index, text in enumerate(texts):
                await websocket.send({"type": "websocket.send", "text": text,
                                      MORE: index < last})
    except Exception:
        # The peer went away; the reader notices the disconnect and cleans up.
        return


async def stream_endpoint(websocket: WebSocket) -> None:
    fanout: FanOut = websocket.app.state.hub.fanout
    limits: ServerLimits = getattr(websocket.app.state, "limits", None) or ServerLimits()
    initial = websocket.query_params.get("threadId") or None
    extensions = granted(websocket.query_params.get("extensions"), limits.ws_extensions)
    await websocket.accept()
    batch = websocket.scope.get("extensions", {}).get(BATCH) or {}
    subscriber = Subscriber(
        thread_filter=initial, max_frames=limits.ws_queue_frames, max_bytes=limits.ws_queue_bytes,
        extensions=extensions, write_now=batch.get("write_now"),
    )
    keys = websocket.app.state.turn_start_keys
    commands = ExtensionCommands(subscriber, websocket.app.state.hub, keys, INVALID)
    subscriber.offer(dumps(ready_frame(initial, extensions, limits.ws_command_bytes,
                                       keys.instance)))
    fanout.subscribe(subscriber)
    writer = asyncio.get_running_loop().create_task(_write(websocket, subscriber, fanout))
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                data = message.get("bytes") or b""
                if len(data) > limits.ws_command_bytes:
                    subscriber.offer(INVALID)
                    continue
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    subscriber.offer(INVALID)
                    continue
            elif len(text) > limits.ws_command_bytes:  # characters: never more than bytes
                subscriber.offer(INVALID)
                continue
            answer = _command(text, subscriber, commands)
            if answer is not None:
                subscriber.offer(answer)
    except WebSocketDisconnect:
        pass
    except Exception:
        log.exception("websocket reader failed")
    finally:
        fanout.unsubscribe(subscriber)
        subscriber.close()
        writer.cancel()
        with contextlib.suppress(BaseException):
            await writer
