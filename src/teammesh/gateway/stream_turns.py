"""The `turnStart` stream extension: start a turn over the socket the client already holds.

`{"type":"turn.start","commandId":"7","sessionId":"<id>","body":{...}}` (`threadId` may name
the session instead) is `POST /api/sessions/<id>/messages` with that body: the same code
answers it (turn_route.py), so the same 404/410, 400, 409 and policy 403 come back, in
`{"type":"turn.start.answered","commandId":"7","httpStatus":202,"body":{...}}`. An optional
`startKey` makes the start exactly once per session and key (turn_start_keys.py): a client
whose socket dropped before the answer resends it on its next socket and learns the turn.
An optional `traceparent` is the W3C trace parent the HTTP route reads from its header.

Why: a member's turn costs its runner one HTTP request to start; at a few hundred turns a
second the client's HTTP stack, not the board or the model, is what its CPU spends its time
on (issue 15). The socket was authenticated (bearer token, Host/Origin) at the handshake.

Bounds: the command is under `ws_command_bytes` like every command; a socket scoped to one
thread (`threadId` at the handshake or `subscribe`) starts turns on that thread only (others
get the 404 an unknown session gets, telling nothing about them); at most
`MAX_TURNS_IN_FLIGHT` starts run at once per socket (more are answered 429). A command with
no usable `commandId` cannot be answered by id: it gets the stream's `error` frame.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from teammesh.gateway.fanout import Subscriber, dumps
from teammesh.gateway.http_io import INTERNAL_ERROR, BodyError, check_storable, request_failed
from teammesh.gateway.hub import Hub
from teammesh.gateway.outcome import Outcome
from teammesh.gateway.turn_route import start_turn
from teammesh.gateway.turn_start_keys import TurnStartKeys

log = logging.getLogger("teammesh.gateway.stream_turns")

TURN_START = "turnStart"
TURN_COMMAND = "turn.start"
TURN_ANSWERED_FRAME = "turn.start.answered"
MAX_TURNS_IN_FLIGHT = 64
MAX_ID_CHARS = 200


def command_id(value: Any) -> str | None:
    """A usable correlation id: a non-empty string (≤ 200 characters) or an integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip() and len(value) <= MAX_ID_CHARS:
        return value.strip()
    return None


def _session_of(command: dict[str, Any]) -> str | BodyError:
    named = [command.get(key) for key in ("sessionId", "threadId") if key in command]
    if not named:
        return request_failed(400, "turn.start needs a sessionId (or threadId)")
    if not all(isinstance(n, str) and n.strip() and len(n) <= MAX_ID_CHARS for n in named):
        return request_failed(400, "turn.start sessionId must be a non-empty string")
    if len(set(named)) > 1:
        return request_failed(400, "turn.start sessionId and threadId name different sessions")
    return str(named[0])


def answered(cid: str, status: int, body: Any) -> str:
    return dumps({"type": TURN_ANSWERED_FRAME, "commandId": cid, "httpStatus": status,
                  "body": body})


class TurnStarts:
    """One socket's `turn.start` commands, each run as its own task so the socket keeps
    reading (an answer and a turn start never wait for each other)."""

    def __init__(self, subscriber: Subscriber, hub: Hub, keys: TurnStartKeys) -> None:
        self._subscriber = subscriber
        self._hub = hub
        self._keys = keys
        self._tasks: set[asyncio.Task[None]] = set()

    def run(self, command: dict[str, Any], invalid: str) -> str | None:
        """Start one; the frame to answer with now (a refusal), or None (answered later)."""
        cid = command_id(command.get("commandId"))
        if cid is None:
            return invalid
        session = _session_of(command)
        if isinstance(session, BodyError):
            return answered(cid, session.status, session.body)
        key = command.get("startKey")
        if key is not None and command_id(key) is None:
            return answered(cid, 400, request_failed(
                400, "turn.start startKey must be a non-empty string").body)
        scope = self._subscriber.thread_filter
        if scope is not None and scope != session:
            return answered(cid, 404, {"status": "not_found", "sessionId": session})
        if len(self._tasks) >= MAX_TURNS_IN_FLIGHT:
            return answered(cid, 429, {"status": "error", "code": "too_many_requests",
                                       "message": "too many turn starts in flight on this"
                                                  " socket"})
        traceparent = command.get("traceparent")
        # The one header a command may carry: its trace parent (malformed: ignored, as the
        # HTTP route ignores a malformed header).
        headers = ({"traceparent": traceparent} if isinstance(traceparent, str)
                   and len(traceparent) <= MAX_ID_CHARS else {})
        task = asyncio.get_running_loop().create_task(
            self._start(cid, session, command.get("body"), command_id(key), headers))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return None

    async def _start(self, cid: str, session_id: str, raw: Any, key: str | None,
                     headers: dict[str, str]) -> None:
        async def read_raw() -> Any:
            check_storable(raw)  # what the HTTP body reader refuses, refused here too
            return raw

        async def start() -> Outcome:
            try:
                return await start_turn(self._hub, session_id, read_raw, headers)
            except BodyError as exc:
                return Outcome(exc.status, exc.body)

        try:
            outcome = await self._keys.once(session_id, key, start)
        except Exception:
            # Never a traceback to the peer, never the socket closed: the start failed.
            log.exception("websocket turn start on %s failed", session_id)
            outcome = Outcome(500, INTERNAL_ERROR)
        self._subscriber.offer(answered(cid, outcome.status, outcome.body))
