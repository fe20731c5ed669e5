"""The playbook runtime through the whole gateway: multi-step prompts, the tool-call
deadline, a runtime exit, and frames that would be too large for the stream."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from teammesh.gateway.runtimes.base import ServerRequestReply
from teammesh.gateway.runtimes.registry import RuntimeSettings
from teammesh.wire import TOOL_CALL_SIGNAL

from .helpers import (
    assistant_reply,
    create_session,
    gateway_and_http,
    next_frame,
    open_stream,
    pending_tool_calls,
    recording_reply,
    send,
    tool_reply,
    turn_status,
    wait_for_frame,
)

pytestmark = pytest.mark.anyio

EMPTY_SCHEMA = {"type": "object", "properties": {}, "additionalProperties": False}
TEAM_TOOLS = [
    {"name": "team_pull_work", "description": "Claim the next task.", "inputSchema": EMPTY_SCHEMA},
    {
        "name": "team_read_board",
        "description": "Read the board.",
        "inputSchema": {"type": "object", "properties": {"limit": {"type": "integer"}}},
    },
]
PROMPT = (
    "You are the reviewer.\n"
    "Role: validate the work.\n"
    "Process for this turn:\n"
    "1. Call team_pull_work once.\n"
    "2. Call team_read_board.\n"
    "3. Reply with one short status line.\n"
)


async def test_numbered_steps_make_ordered_calls(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path, runtime="playbook?think_ms=1") as (gateway, http):
        socket = await open_stream(gateway.base_url)
        session_id = await create_session(http, dynamicTools=TEAM_TOOLS)
        turn_id = await send(http, session_id, PROMPT)
        tools = []
        for answer in ('{"task": null, "queueDepth": 0}', '{"queueDepths": {}}'):
            signal = await wait_for_frame(socket, TOOL_CALL_SIGNAL)
            tools.append(signal["payload"]["params"]["tool"])
            response = await http.post(
                f"/api/tool-calls/{signal['payload']['requestId']}/response",
                json=tool_reply(answer),
            )
            assert response.status_code == 200
        assert tools == ["team_pull_work", "team_read_board"]
        seen: list[dict[str, Any]] = []
        await wait_for_frame(socket, "app_server.turn.completed", seen)
        deltas = [f for f in seen if f["type"] == "app_server.item.agent_message.delta"]
        completed_items = [
            f["payload"]["params"]["item"] for f in seen if f["type"] == "app_server.item.completed"
        ]
        [message] = [i for i in completed_items if i["type"] == "agentMessage"]
        assert (
            deltas and "".join(d["payload"]["params"]["delta"] for d in deltas) == message["text"]
        )
        detail = await turn_status(http, session_id, turn_id)
        assert assistant_reply(detail, turn_id) == message["text"]
        await socket.close()


async def test_unanswered_call_fails_the_turn_after_the_deadline(tmp_path: Path) -> None:
    settings = RuntimeSettings(data_dir=tmp_path, tool_call_deadline_s=0.2)
    async with gateway_and_http(tmp_path, settings=settings) as (_gateway, http):
        session_id = await create_session(http)
        turn_id = await send(http, session_id)
        [row] = await pending_tool_calls(http, session_id)
        detail = await turn_status(http, session_id, turn_id)
        turn = next(t for t in detail["thread"]["turns"] if t["id"] == turn_id)
        assert turn["status"] == "failed"
        assert "lookup_weather" in turn["error"]["message"]
        late = await http.post(f"/api/tool-calls/{row['requestId']}/response", json={})
        assert late.status_code == 404


async def test_runtime_exit_expires_requests_and_interrupts_turns(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        socket = await open_stream(gateway.base_url)
        session_id = await create_session(http)
        turn_id = await send(http, session_id)
        signal = await wait_for_frame(socket, TOOL_CALL_SIGNAL)
        # What a runtime reports when its process dies (the codex runtime does this).
        gateway.hub.runtime_exited("process exited with code 137")
        expired = await wait_for_frame(socket, "tool_call_resolved")
        assert expired["payload"]["status"] == "expired"
        assert expired["payload"]["requestId"] == str(signal["payload"]["requestId"])
        completed = await wait_for_frame(socket, "app_server.turn.completed")
        assert completed["payload"]["params"]["turn"]["status"] == "interrupted"
        detail = (await http.get(f"/api/sessions/{session_id}")).json()
        turn = next(t for t in detail["thread"]["turns"] if t["id"] == turn_id)
        assert turn["status"] == "interrupted"
        await socket.close()


async def test_oversized_signal_is_not_streamed_but_stays_pollable(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        session_id = await create_session(http)
        socket = await open_stream(gateway.base_url)
        replies: list[ServerRequestReply] = []
        reply = recording_reply(replies)

        huge = {"blob": "z" * (1024 * 1024)}
        params = {
            "threadId": session_id,
            "turnId": "t",
            "callId": "c",
            "tool": "lookup_weather",
            "arguments": huge,
        }
        gateway.hub.server_request("item/tool/call", params, reply)
        # The 1 MiB+ signal was not sent; the socket is alive and in order.
        await socket.send(json.dumps({"type": "ping"}))
        assert await next_frame(socket) == {"type": "pong"}
        [row] = await pending_tool_calls(http, session_id)
        assert row["arguments"] == huge
        answer = await http.post(f"/api/tool-calls/{row['requestId']}/response", json={})
        assert answer.status_code == 200 and len(replies) == 1
        await socket.close()
