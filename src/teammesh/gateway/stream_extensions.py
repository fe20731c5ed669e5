"""Opt-in extensions of `/api/stream` (ours, not codex-manager's): a client asks for them by
name in the handshake URL (`?extensions=toolCallAnswers,eventTypes`) and the `ready` frame
lists the ones granted. A client that asks for none sees exactly codex-manager's stream.

- `toolCallAnswers`: `{"type":"tool_call.answer","requestId":"12","body":{...}}` answers a
  tool call over the socket the client already holds, instead of one HTTP POST per call.
  `body` is the POST body of `/api/tool-calls/{id}/response`, parsed by the same record and
  answered by the same `RequestDesk.answer` (exactly once per id, the same 409 for an answer
  racing one in flight, the same 404). The reply is `{"type":"tool_call.answered",
  "requestId":"12","httpStatus":200,"body":{...}}` with the status and body the POST would
  have got. The socket was authenticated at the handshake; a socket scoped to one thread
  (`threadId`) can answer that thread's calls only (others get the 404).
- `eventTypes`: `{"type":"events.subscribe","types":["tool_call_resolved",...]}` narrows the
  socket to those event types (`"types": null` widens it again). Control frames (`ready`,
  `pong`, `error`, `tool_call.answered`) always pass. The fanout filters before it
  serialises, so an event nobody wants is never encoded.
- `turnStart`: `{"type":"turn.start","commandId":"7","sessionId":"<id>","body":{...}}` starts
  a turn as `POST /api/sessions/<id>/messages` would, answered by `turn.start.answered`
  (stream_turns.py). With it granted, `ready` also says `commandBytes`, the largest command
  the socket takes, so a client sends a bigger message body over HTTP instead, and
  `instance`, the gateway process whose start keys a resend may rely on.

Why: a tool call costs its client one HTTP request per answer and about seven frames it
mostly ignores; at a few hundred calls a second that, not the board or the model, is what
the client's CPU spends its time on (issue 15).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pydantic import ValidationError

from teammesh.gateway.fanout import Subscriber, dumps
from teammesh.gateway.http_io import invalid_request, validation_issues
from teammesh.gateway.hub import Hub
from teammesh.gateway.request_kinds import TOOL_CALL
from teammesh.gateway.stream_turns import TURN_COMMAND, TURN_START, TurnStarts
from teammesh.gateway.turn_start_keys import TurnStartKeys

log = logging.getLogger("teammesh.gateway.stream_extensions")

TOOL_CALL_ANSWERS = "toolCallAnswers"
EVENT_TYPES = "eventTypes"
EXTENSIONS: tuple[str, ...] = (TOOL_CALL_ANSWERS, EVENT_TYPES, TURN_START)
# Commands of each extension (any other command is codex-manager's or invalid).
ANSWER_COMMAND = "tool_call.answer"
ANSWERED_FRAME = "tool_call.answered"
TYPES_COMMAND = "events.subscribe"
# Bounds on one `events.subscribe` (the command itself is already under `ws_command_bytes`).
MAX_TYPES = 256
MAX_TYPE_CHARS = 200


def granted(query_value: str | None, enabled: bool) -> frozenset[str]:
    """The extensions a handshake asked for that this gateway grants (known names only)."""
    if not enabled or not query_value:
        return frozenset()
    asked = {name.strip() for name in query_value.split(",")}
    return frozenset(name for name in EXTENSIONS if name in asked)


def ready_frame(thread_id: str | None, extensions: frozenset[str], command_bytes: int,
                instance: str) -> dict[str, Any]:
    """`ready` as codex-manager sends it, plus `extensions` only when some were granted (and
    with `turnStart`: `commandBytes`, since a message body is the one command that may be
    big, and `instance`, whose start keys this gateway process knows: turn_start_keys.py)."""
    frame: dict[str, Any] = {"type": "ready", "threadId": thread_id}
    if extensions:
        frame["extensions"] = [name for name in EXTENSIONS if name in extensions]
    if TURN_START in extensions:
        frame["commandBytes"] = command_bytes
        frame["instance"] = instance
    return frame


def _request_id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip() and len(value) <= 200:
        return value.strip()
    return None


def _event_types(value: Any) -> frozenset[str] | bool | None:
    """The filter an `events.subscribe` sets (None: everything); False when malformed."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_TYPES:
        return False
    if not all(isinstance(t, str) and t and len(t) <= MAX_TYPE_CHARS for t in value):
        return False
    return frozenset(value)


class ExtensionCommands:
    """One socket's extension commands. `run` starts an answer without waiting for it, so
    the socket keeps reading (one slow runtime reply never holds up the next answer)."""

    def __init__(self, subscriber: Subscriber, hub: Hub, keys: TurnStartKeys, invalid: str
                 ) -> None:
        self._subscriber = subscriber
        self._desk = hub.desk
        self._invalid = invalid
        self._tasks: set[asyncio.Task[None]] = set()
        self._turns = TurnStarts(subscriber, hub, keys)

    def handles(self, kind: Any) -> bool:
        granted_here = self._subscriber.extensions
        return (kind == ANSWER_COMMAND and TOOL_CALL_ANSWERS in granted_here) or (
            kind == TYPES_COMMAND and EVENT_TYPES in granted_here) or (
            kind == TURN_COMMAND and TURN_START in granted_here)

    def run(self, command: dict[str, Any]) -> str | None:
        """Apply one extension command; the control frame to answer with now, if any."""
        if command.get("type") == TURN_COMMAND:
            return self._turns.run(command, self._invalid)
        if command.get("type") == TYPES_COMMAND:
            types = _event_types(command.get("types"))
            if types is False:
                return self._invalid
            self._subscriber.event_types = types if isinstance(types, frozenset) else None
            return None
        request_id = _request_id(command.get("requestId"))
        if request_id is None:
            return self._invalid
        try:
            body = TOOL_CALL.parse(command.get("body"))
        except ValidationError as exc:
            return _answered(request_id, 400, invalid_request(validation_issues(exc)).body)
        self._spawn(self._answer(request_id, body))
        return None

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, request_id: str, body: Any) -> None:
        try:
            outcome = await self._desk.answer(
                "tool_call", request_id, body, thread_id=self._subscriber.thread_filter)
            frame = _answered(request_id, outcome.status, outcome.body)
        except Exception:
            # Never a traceback to the peer, never the socket closed: the answer failed.
            log.exception("websocket tool-call answer %s failed", request_id)
            frame = _answered(request_id, 500, {"status": "error", "requestId": request_id})
        self._subscriber.offer(frame)


def _answered(request_id: str, status: int, body: dict[str, Any]) -> str:
    return dumps({"type": ANSWERED_FRAME, "requestId": request_id, "httpStatus": status,
                  "body": body})

