"""The core contract: a dynamic tool call travels runtime → websocket signal → HTTP answer →
runtime, the turn completes, and the reply is in the transcript. Real gateway, real sockets,
playbook runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from teammesh.gateway.embedded import start_gateway
from teammesh.wire import TOOL_CALL_SIGNAL

from .helpers import (
    WEATHER_TOOL,
    assistant_reply,
    create_session,
    open_stream,
    pending_tool_calls,
    send,
    tool_reply,
    turn_status,
    wait_for_frame,
)

pytestmark = pytest.mark.anyio


def _dynamic_tool_items(detail: dict[str, Any], turn_id: str) -> list[dict[str, Any]]:
    turn = next(t for t in detail["thread"]["turns"] if t["id"] == turn_id)
    return [i for i in turn["items"] if i["type"] == "dynamicToolCall"]


async def test_tool_call_over_websocket(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        socket = await open_stream(gateway.base_url)
        session_id = await create_session(http, cwd=".", approvalPolicy="never")
        turn_id = await send(http, session_id)

        seen: list[dict[str, Any]] = []
        frame = await wait_for_frame(socket, TOOL_CALL_SIGNAL, seen)
        assert set(frame) == {"type", "threadId", "payload"}
        assert frame["threadId"] == session_id
        payload = frame["payload"]
        assert payload["source"] == "app_server"
        assert payload["signalType"] == "request"
        assert payload["eventType"] == TOOL_CALL_SIGNAL
        assert payload["method"] == "item/tool/call"
        assert payload["receivedAt"].endswith("Z")
        assert payload["context"] == {"threadId": session_id, "turnId": turn_id}
        assert payload["session"] == {"id": session_id, "title": "New chat", "projectId": None}
        params = payload["params"]
        assert params["threadId"] == session_id and params["turnId"] == turn_id
        assert params["tool"] == WEATHER_TOOL["name"]
        assert isinstance(params["arguments"], dict) and "city" in params["arguments"]
        assert isinstance(params["callId"], str) and params["callId"]
        request_id = payload["requestId"]
        assert isinstance(request_id, int)

        # The turn lifecycle seen before the call, in codex's order.
        types = [f["type"] for f in seen]
        assert types.index("app_server.turn.started") < types.index("app_server.item.started")
        requested = await wait_for_frame(socket, "tool_call_requested")
        assert requested["payload"]["requestId"] == str(request_id)
        assert requested["payload"]["status"] == "pending"

        answer = await http.post(
            f"/api/tool-calls/{request_id}/response", json=tool_reply("sunny, 21 C")
        )
        assert answer.status_code == 200
        assert answer.json() == {
            "status": "ok",
            "requestId": str(request_id),
            "threadId": session_id,
        }

        resolved = await wait_for_frame(socket, "tool_call_resolved")
        assert resolved["payload"] == {
            "requestId": str(request_id),
            "status": "resolved",
            "success": True,
        }
        completed = await wait_for_frame(socket, "app_server.turn.completed")
        assert completed["payload"]["params"]["turn"]["status"] == "completed"
        await socket.close()

        detail = await turn_status(http, session_id, turn_id)
        assert detail["session"]["materialized"] is True
        turn = next(t for t in detail["thread"]["turns"] if t["id"] == turn_id)
        assert turn["status"] == "completed"
        reply = assistant_reply(detail, turn_id)
        assert reply and reply.strip()
        # The runtime received the answer exactly once: one completed tool item carrying it.
        tools = _dynamic_tool_items(detail, turn_id)
        assert len(tools) == 1
        assert tools[0]["success"] is True
        assert tools[0]["contentItems"] == [{"type": "inputText", "text": "sunny, 21 C"}]
        roles = [(e["role"], e["type"]) for e in detail["transcript"] if e["turnId"] == turn_id]
        assert roles[0] == ("user", "userMessage")
        assert ("system", "tool_call.resolved") in roles
        assert roles[-1] == ("assistant", "agentMessage")

        # A second answer to the same id is "already handled".
        again = await http.post(f"/api/tool-calls/{request_id}/response", json=tool_reply("x"))
        assert again.status_code == 404
        assert again.json() == {"status": "not_found", "requestId": str(request_id)}


async def test_tool_call_by_polling_without_websocket(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        session_id = await create_session(http)
        turn_id = await send(http, session_id)
        [row] = await pending_tool_calls(http, session_id)
        assert row["method"] == "item/tool/call"
        assert row["threadId"] == session_id and row["turnId"] == turn_id
        assert row["tool"] == "lookup_weather" and isinstance(row["arguments"], dict)
        assert (
            row["status"] == "pending" and row["summary"] == "Tool call requested: lookup_weather"
        )
        answer = await http.post(
            f"/api/tool-calls/{row['requestId']}/response",
            json={"text": "rain", "success": False},
        )
        assert answer.status_code == 200
        detail = await turn_status(http, session_id, turn_id)
        assert assistant_reply(detail, turn_id)
        [item] = _dynamic_tool_items(detail, turn_id)
        assert item["success"] is False and item["status"] == "failed"
        assert item["contentItems"] == [{"type": "inputText", "text": "rain"}]
        listing = await http.get(f"/api/sessions/{session_id}/tool-calls")
        assert listing.json() == {"data": []}
