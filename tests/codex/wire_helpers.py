"""Small helpers for driving the gateway over its real wire (raw httpx + websockets)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

Frame = dict[str, Any]
EVENT_TIMEOUT_S = 30.0

ECHO_TOOL = {
    "name": "team_echo",
    "description": "Echo the given value back to the caller.",
    "inputSchema": {
        "type": "object",
        "properties": {"value": {"type": "integer"}},
        "required": ["value"],
        "additionalProperties": False,
    },
}


def echo_prompt(value: int) -> str:
    # The playbook brain's scripted step: one call with exactly these arguments.
    return f'call team_echo with {{"value": {value}}}'


def escalated_command_prompt(command: str) -> str:
    """A prompt that makes codex run `command` outside the sandbox, which needs approval."""
    arguments = {
        "cmd": command,
        "sandbox_permissions": "require_escalated",
        "justification": "teammesh approval test",
    }
    return f"call exec_command with {json.dumps(arguments)}"


class EventStream:
    """`/api/stream` filtered to one session; keeps every frame it has read."""

    def __init__(self, base_url: str, thread_id: str) -> None:
        self._url = base_url.replace("http://", "ws://", 1) + f"/api/stream?threadId={thread_id}"
        self._ws: ClientConnection | None = None
        self.frames: list[Frame] = []
        self._returned: set[int] = set()

    async def __aenter__(self) -> EventStream:
        self._ws = await connect(self._url, open_timeout=10)
        ready = await self.next(lambda f: f.get("type") == "ready")
        assert ready["type"] == "ready"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def next(
        self, predicate: Callable[[Frame], bool], timeout_s: float = EVENT_TIMEOUT_S
    ) -> Frame:
        """The first matching frame not returned before, in arrival order; reads more frames
        as needed. Order between different event kinds is not assumed."""
        for index, frame in enumerate(self.frames):
            if index not in self._returned and predicate(frame):
                self._returned.add(index)
                return frame
        assert self._ws is not None
        async with asyncio.timeout(timeout_s):
            while True:
                frame = json.loads(await self._ws.recv())
                self.frames.append(frame)
                if predicate(frame):
                    self._returned.add(len(self.frames) - 1)
                    return frame

    async def event(self, event_type: str, timeout_s: float = EVENT_TIMEOUT_S) -> Frame:
        return await self.next(lambda f: f.get("type") == event_type, timeout_s)

    async def turn_completed(self, turn_id: str, timeout_s: float = EVENT_TIMEOUT_S) -> Frame:
        def done(frame: Frame) -> bool:
            if frame.get("type") != "app_server.turn.completed":
                return False
            turn = frame["payload"]["params"].get("turn") or {}
            return bool(turn.get("id") == turn_id)

        return await self.next(done, timeout_s)

    def of_type(self, event_type: str) -> list[Frame]:
        return [f for f in self.frames if f.get("type") == event_type]


async def create_session(http: httpx.AsyncClient, **body: Any) -> str:
    response = await http.post("/api/sessions", json=body)
    assert response.status_code == 200, response.text
    session_id = response.json()["session"]["sessionId"]
    assert isinstance(session_id, str) and session_id
    return session_id


async def send_message(http: httpx.AsyncClient, session_id: str, text: str) -> str:
    response = await http.post(f"/api/sessions/{session_id}/messages", json={"text": text})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "accepted" and body["sessionId"] == session_id
    turn_id = body["turnId"]
    assert isinstance(turn_id, str) and turn_id
    return turn_id


async def answer_tool_call(http: httpx.AsyncClient, request_id: str, text: str) -> httpx.Response:
    return await http.post(
        f"/api/tool-calls/{request_id}/response",
        json={"response": {"contentItems": [{"type": "inputText", "text": text}], "success": True}},
    )


def turn_status(frame: Frame) -> str:
    return str(frame["payload"]["params"]["turn"]["status"])
