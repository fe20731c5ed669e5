"""Tool-call answers over the event stream's own websocket (the gateway's opt-in
`toolCallAnswers` extension, docs/gateway.md), instead of one HTTP POST per answer.

The stream asks for the extension in its handshake URL; when the `ready` frame grants it,
the connection is attached here and `answer` sends `tool_call.answer` frames on it and
waits for the matching `tool_call.answered`. Its result is what the HTTP call returns: the
body for 200/404/409/500 (so remote skills classify it with the same rules), a classified
`ApiError` for any other status. `answer` returns None whenever the socket cannot carry the
answer (not granted, not connected, or called from another event loop than the stream's,
as the sync twins do): the caller then POSTs, exactly as before. An answer whose socket
drops before its acknowledgement raises `TransportError`: it may have been delivered, and
the caller's retry (over HTTP, or the next socket) meets the desk's exactly-once rule.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Protocol

from teammesh.client.errors import RequestDetails, TransportError, api_error

TOOL_CALL_ANSWERS = "toolCallAnswers"
EVENT_TYPES = "eventTypes"
ANSWERED_FRAME = "tool_call.answered"
# The statuses `tool_calls.respond` takes as data over HTTP (client/operations.py).
_DATA_STATUSES = frozenset({200, 404, 409, 500})
ANSWER_TIMEOUT_S = 30.0


class _Socket(Protocol):
    async def send(self, message: str) -> None: ...


class StreamAnswers:
    def __init__(self) -> None:
        self._socket: _Socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # request id → (socket, future) of each answer sent for it and not yet acknowledged.
        self._waiting: dict[str, list[tuple[_Socket, asyncio.Future[tuple[int, Any]]]]] = {}

    @property
    def available(self) -> bool:
        return self._socket is not None

    def attach(self, socket: _Socket) -> None:
        self._socket = socket
        self._loop = asyncio.get_running_loop()

    def detach(self, socket: _Socket) -> None:
        """`socket` ended: answers sent on it fail (their acknowledgements never come)."""
        if self._socket is socket:
            self._socket = None
            self._loop = None
        for entries in self._waiting.values():
            for sent_on, future in entries:
                if sent_on is socket and not future.done():
                    future.set_exception(TransportError("stream closed before the answer's"
                                                        " acknowledgement"))

    def settle(self, frame: dict[str, Any]) -> None:
        """A `tool_call.answered` frame: wake the oldest answer waiting for its id."""
        request_id = frame.get("requestId")
        status = frame.get("httpStatus")
        if not isinstance(request_id, str) or not isinstance(status, int):
            return
        for _sent_on, future in self._waiting.get(request_id, ()):
            if not future.done():  # the oldest still waiting; `answer` removes its own entry
                future.set_result((status, frame.get("body")))
                break

    async def answer(self, request_id: str, body: dict[str, Any]) -> Any | None:
        socket = self._socket
        if socket is None or self._loop is not asyncio.get_running_loop():
            return None
        future: asyncio.Future[tuple[int, Any]] = self._loop.create_future()
        entry = (socket, future)
        self._waiting.setdefault(request_id, []).append(entry)
        frame = json.dumps({"type": "tool_call.answer", "requestId": request_id, "body": body},
                           separators=(",", ":"), ensure_ascii=False)
        try:
            await socket.send(frame)
            status, reply = await asyncio.wait_for(future, ANSWER_TIMEOUT_S)
        except TimeoutError as err:
            raise TransportError("no acknowledgement of the answer over the stream") from err
        except TransportError:
            raise
        except Exception as err:  # the socket's own errors: a transport failure
            raise TransportError(str(err) or type(err).__name__) from err
        finally:
            entries = self._waiting.get(request_id)
            if entries is not None and entry in entries:
                entries.remove(entry)
                if not entries:
                    self._waiting.pop(request_id, None)
        if status in _DATA_STATUSES:
            return reply
        raise api_error(RequestDetails(operation="tool_calls.respond", method="WS",
                                       path=f"/tool-calls/{request_id}/response",
                                       status_code=status, response_body=reply))
