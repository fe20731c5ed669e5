"""Raw-protocol helpers for gateway tests: httpx + websockets only (never our client)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from teammesh.gateway.embedded import RunningGateway, start_gateway
from teammesh.gateway.runtimes.base import ReplyFn, ServerRequestReply

# A tool the playbook brain calls when the prompt names it (no numbered steps needed).
WEATHER_TOOL = {
    "name": "lookup_weather",
    "description": "Look up the weather for a city.",
    "inputSchema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}
WEATHER_PROMPT = "Please use lookup_weather and tell me the answer."

STEP_TIMEOUT = 10.0


@asynccontextmanager
async def gateway_and_http(
    data_dir: Path, **gateway_options: Any
) -> AsyncIterator[tuple[RunningGateway, httpx.AsyncClient]]:
    """A real gateway on a free loopback port and an HTTP client bound to it."""
    async with (
        start_gateway(data_dir=data_dir, **gateway_options) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        yield gateway, http


def recording_reply(replies: list[ServerRequestReply]) -> ReplyFn:
    """A runtime reply callback (as a test playing the runtime passes it to the hub's
    `server_request`) that keeps every answer in `replies`."""

    async def reply(answer: ServerRequestReply) -> None:
        replies.append(answer)

    return reply


def ws_url(base_url: str, thread_id: str | None = None) -> str:
    url = base_url.replace("http://", "ws://") + "/api/stream"
    return url + (f"?threadId={thread_id}" if thread_id else "")


async def open_stream(
    base_url: str, thread_id: str | None = None, headers: dict[str, str] | None = None
) -> ClientConnection:
    # max_queue=None: a test that stops reading must not stall its own close handshake
    # behind the client's bounded receive queue.
    socket = await connect(ws_url(base_url, thread_id), additional_headers=headers, max_queue=None)
    ready = await next_frame(socket)
    assert ready == {"type": "ready", "threadId": thread_id}
    return socket


async def next_frame(socket: ClientConnection, wait_s: float = STEP_TIMEOUT) -> dict[str, Any]:
    raw = await asyncio.wait_for(socket.recv(), wait_s)
    frame: dict[str, Any] = json.loads(raw)
    return frame


async def wait_for_frame(
    socket: ClientConnection, event_type: str, seen: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Read frames until one of `event_type` arrives (bounded by STEP_TIMEOUT overall)."""

    async def read() -> dict[str, Any]:
        while True:
            frame = await next_frame(socket)
            if seen is not None:
                seen.append(frame)
            if frame.get("type") == event_type:
                return frame

    return await asyncio.wait_for(read(), STEP_TIMEOUT)


async def create_session(http: httpx.AsyncClient, **body: Any) -> str:
    body.setdefault("dynamicTools", [WEATHER_TOOL])
    response = await http.post("/api/sessions", json=body)
    assert response.status_code == 200, response.text
    session_id: str = response.json()["session"]["sessionId"]
    return session_id


async def send(http: httpx.AsyncClient, session_id: str, text: str = WEATHER_PROMPT) -> str:
    response = await http.post(f"/api/sessions/{session_id}/messages", json={"text": text})
    assert response.status_code == 202, response.text
    turn_id: str = response.json()["turnId"]
    return turn_id


async def pending_tool_calls(
    http: httpx.AsyncClient, session_id: str, want: int = 1
) -> list[dict[str, Any]]:
    """Poll the listing until `want` rows are pending (bounded)."""

    async def poll() -> list[dict[str, Any]]:
        while True:
            response = await http.get(f"/api/sessions/{session_id}/tool-calls")
            assert response.status_code == 200
            rows: list[dict[str, Any]] = response.json()["data"]
            if len(rows) >= want:
                return rows
            await asyncio.sleep(0.01)

    return await asyncio.wait_for(poll(), STEP_TIMEOUT)


async def turn_status(
    http: httpx.AsyncClient, session_id: str, turn_id: str, terminal: bool = True
) -> dict[str, Any]:
    """Poll session detail until the turn is terminal; returns the detail body."""

    async def poll() -> dict[str, Any]:
        while True:
            response = await http.get(f"/api/sessions/{session_id}")
            assert response.status_code == 200, response.text
            detail: dict[str, Any] = response.json()
            turns = {t["id"]: t for t in detail["thread"]["turns"]}
            status = turns.get(turn_id, {}).get("status")
            if status is not None and (status != "inProgress" or not terminal):
                return detail
            await asyncio.sleep(0.01)

    return await asyncio.wait_for(poll(), STEP_TIMEOUT)


def tool_reply(text: str) -> dict[str, Any]:
    return {"response": {"contentItems": [{"type": "inputText", "text": text}], "success": True}}


def assistant_reply(detail: dict[str, Any], turn_id: str) -> str | None:
    for entry in reversed(detail["transcript"]):
        if (
            entry["turnId"] == turn_id
            and entry["role"] == "assistant"
            and entry["status"] == "complete"
            and entry["content"].strip()
        ):
            content: str = entry["content"]
            return content
    return None
