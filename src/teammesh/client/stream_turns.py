"""Turns started over the event stream's own websocket (the gateway's opt-in `turnStart`
extension, docs/gateway.md), instead of one HTTP POST per turn.

The stream asks for the extension in its handshake URL; when `ready` grants it, the
connection is attached here (with the largest command the socket takes, `commandBytes`).
`start` sends `{"type":"turn.start","commandId":…,"sessionId":…,"body":…}` and waits for
the `turn.start.answered` frame with the same id: its `(httpStatus, body)` is what the POST
would have got. `start` returns None whenever the socket cannot carry the start (not
granted, not connected, another event loop than the stream's as the sync twin has, a socket
scoped to another thread, or a body larger than the socket takes): the caller then POSTs,
exactly as before. Each start carries a fresh `startKey`: when the socket drops before
the answer, the same command goes again on the stream's next socket (as often as sockets
drop, for up to `REATTACH_WAIT_S`), and the gateway answers a key it has seen with the
first start's answer, so the turn starts once and its id is learnt. A resend goes only to
the gateway process the first send went to (`ready`'s `instance`): a restarted one has
forgotten the key and would start the turn twice. With no such socket in time it raises
`TransportError`, as a dropped HTTP connection does (the turn may have started).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from typing import Any, Protocol

from teammesh.client.errors import TransportError

TURN_START = "turnStart"
TURN_ANSWERED_FRAME = "turn.start.answered"
START_TIMEOUT_S = 30.0
# After a socket drops with a start unanswered: how long the start keeps going again on the
# stream's next sockets (each resend waits for a new one, so this is no busy loop).
REATTACH_WAIT_S = 10.0


class _Socket(Protocol):
    async def send(self, message: str) -> None: ...


class StreamTurns:
    def __init__(self) -> None:
        self._socket: _Socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._command_bytes = 0
        self._scope: str | None = None
        self._instance = ""
        self._attached = asyncio.Event()
        self._ids = itertools.count(1)
        # command id → (socket it went out on, future of its answer).
        self._waiting: dict[str, tuple[_Socket, asyncio.Future[tuple[int, Any]]]] = {}

    @property
    def available(self) -> bool:
        return self._socket is not None

    def attach(self, socket: _Socket, command_bytes: int, instance: str,
               scope: str | None = None) -> None:
        """Carry starts on `socket` (of gateway process `instance`); one scoped to thread
        `scope` carries that thread's only (the gateway refuses the others with a 404)."""
        self._socket = socket
        self._loop = asyncio.get_running_loop()
        self._command_bytes = command_bytes
        self._instance = instance
        self._scope = scope
        self._attached.set()

    def detach(self, socket: _Socket) -> None:
        """`socket` ended: starts sent on it fail (their answers never come)."""
        if self._socket is socket:
            self._socket = None
            self._loop = None
            self._attached.clear()
        for sent_on, future in self._waiting.values():
            if sent_on is socket and not future.done():
                future.set_exception(TransportError("stream closed before the turn start"
                                                    " was answered"))

    def settle(self, frame: dict[str, Any]) -> None:
        """A `turn.start.answered` frame: wake the start waiting for its id."""
        command_id = frame.get("commandId")
        if not isinstance(command_id, str):
            return  # not one of ours (ours are strings): a gateway's frame never breaks us
        entry = self._waiting.get(command_id)
        status = frame.get("httpStatus")
        if entry is not None and isinstance(status, int) and not entry[1].done():
            entry[1].set_result((status, frame.get("body")))

    async def start(self, session_id: str, body: dict[str, Any],
                    traceparent: str | None = None) -> tuple[int, Any] | None:
        socket = self._socket
        if socket is None or self._loop is not asyncio.get_running_loop():
            return None
        if self._scope is not None and self._scope != session_id:
            return None
        command: dict[str, Any] = {"type": "turn.start", "commandId": "",
                                   "sessionId": session_id, "startKey": uuid.uuid4().hex,
                                   "body": body}
        if traceparent is not None:
            command["traceparent"] = traceparent
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        instance = self._instance  # a resend only to this gateway process: it knows the key
        while True:
            try:
                return await self._send(socket, command)
            except _TooBig:
                return None  # the socket would refuse it unread: this one goes by HTTP
            except TransportError:
                # A socket under a flaky network may drop again and again: the start goes
                # on each next socket until one answers, for up to REATTACH_WAIT_S.
                deadline = deadline if deadline is not None else loop.time() + REATTACH_WAIT_S
                if not await self._reattached(socket, deadline):
                    raise
                if self._instance != instance:
                    raise TransportError("the gateway restarted before the turn start was"
                                         " answered (the turn may have started)") from None
                assert self._socket is not None
                socket = self._socket

    async def _reattached(self, failed: _Socket, deadline: float) -> bool:
        """Whether the stream got a socket other than `failed` by `deadline` (this loop)."""
        loop = asyncio.get_running_loop()
        while (left := deadline - loop.time()) > 0:
            if self._socket is not None and self._socket is not failed:
                return self._loop is loop
            try:
                # Woken by the next attach; polled too, for a `failed` not yet detached.
                await asyncio.wait_for(self._attached.wait(), min(left, 0.05))
            except TimeoutError:
                continue
            if self._socket is failed:
                await asyncio.sleep(min(left, 0.05))
        return False

    async def _send(self, socket: _Socket, command: dict[str, Any]) -> tuple[int, Any]:
        command_id = str(next(self._ids))
        command["commandId"] = command_id
        frame = json.dumps(command, separators=(",", ":"), ensure_ascii=False)
        if len(frame.encode("utf-8")) > self._command_bytes:
            raise _TooBig
        assert self._loop is not None
        future: asyncio.Future[tuple[int, Any]] = self._loop.create_future()
        self._waiting[command_id] = (socket, future)
        try:
            await socket.send(frame)
            return await asyncio.wait_for(future, START_TIMEOUT_S)
        except TimeoutError as err:
            raise TransportError("no answer to the turn start over the stream") from err
        except TransportError:
            raise
        except Exception as err:  # the socket's own errors: a transport failure
            raise TransportError(str(err) or type(err).__name__) from err
        finally:
            self._waiting.pop(command_id, None)


class _TooBig(Exception):
    """The command is over the socket's `commandBytes`."""
