"""Notifications dropped unparsed (runtimes/codex_skippable.py) through the real codex
app-server: with only sockets narrowed to other event types connected, codex's status,
rate-limit, token-usage and warning lines are skipped, and the session still records the
whole turn; a socket that asks for those events gets them again from the next line on."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from .stack import Stack, echo_session
from .wire_helpers import answer_tool_call, echo_prompt, send_message

pytestmark = [pytest.mark.codex, pytest.mark.anyio]

TOOL_CALL = "app_server.request.item.tool.call"
COMPLETED = "app_server.turn.completed"
# Events of lines the gateway may skip (codex sends each of them in a one-tool-call turn).
SKIPPABLE_EVENTS = ["app_server.thread.status.changed", "account_rate_limits_updated",
                    "app_server.thread.token_usage.updated", "thread_token_usage_updated"]


async def _narrowed(stack: Stack, types: list[str]) -> ClientConnection:
    url = stack.base_url.replace("http://", "ws://") + "/api/stream?extensions=eventTypes"
    socket = await connect(url, open_timeout=10)
    ready = json.loads(await socket.recv())
    assert ready["type"] == "ready" and "eventTypes" in ready["extensions"]
    await socket.send(json.dumps({"type": "events.subscribe", "types": types}))
    await socket.send(json.dumps({"type": "ping"}))  # the pong: the narrowing is in place
    assert json.loads(await socket.recv())["type"] == "pong"
    return socket


async def _turn(http: httpx.AsyncClient, socket: ClientConnection, session_id: str
                ) -> tuple[str, list[dict[str, Any]]]:
    """One echo turn, its tool call answered over HTTP; the frames `socket` got for it."""
    turn_id = await send_message(http, session_id, echo_prompt(3))
    frames: list[dict[str, Any]] = []
    while True:
        frame = json.loads(await socket.recv())
        frames.append(frame)
        if frame["type"] == TOOL_CALL and frame["threadId"] == session_id:
            answered = await answer_tool_call(http, str(frame["payload"]["requestId"]), "3")
            assert answered.status_code == 200, answered.text
        if frame["type"] == COMPLETED and frame["payload"]["params"]["turn"]["id"] == turn_id:
            return turn_id, frames


async def test_skipped_lines_keep_the_session_and_reach_a_socket_that_wants_them(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    runner = await _narrowed(stack, [TOOL_CALL, COMPLETED])
    try:
        session_id = await echo_session(http, stack)
        turn_id, frames = await _turn(http, runner, session_id)
        assert {f["type"] for f in frames} == {TOOL_CALL, COMPLETED}
        # Nothing the session keeps was among the skipped lines.
        detail = (await http.get(f"/api/sessions/{session_id}")).json()
        assert [(t["id"], t["status"]) for t in detail["thread"]["turns"]] == [
            (turn_id, "completed")]
        items = detail["thread"]["turns"][0]["items"]
        assert [i["type"] for i in items] == ["userMessage", "dynamicToolCall", "agentMessage"]
        assert all(e["status"] == "complete" for e in detail["transcript"])

        # A socket that wants the skippable events: the next turn's lines are parsed again.
        watcher = await _narrowed(stack, [*SKIPPABLE_EVENTS, COMPLETED])
        try:
            turn_id, _ = await _turn(http, runner, session_id)
            seen: list[str] = []
            while True:
                frame = json.loads(await watcher.recv())
                seen.append(frame["type"])
                if (frame["type"] == COMPLETED
                        and frame["payload"]["params"]["turn"]["id"] == turn_id):
                    break
            assert set(SKIPPABLE_EVENTS) <= set(seen), seen
        finally:
            await watcher.close()
    finally:
        await runner.close()
