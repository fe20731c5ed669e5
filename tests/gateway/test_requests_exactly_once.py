"""Exactly-once answers to server requests: 404 / 409 / 500 paths, approvals, tool input.

Where a test needs a runtime whose reply takes time or fails (the playbook replies
instantly), the test itself plays the runtime through the hub's `RuntimeSink` interface —
the same call every runtime makes — and everything else is the real gateway over HTTP and
websockets.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from teammesh.gateway.runtimes.base import ServerRequestReply
from teammesh.wire import TOOL_CALL_SIGNAL

from .helpers import (
    STEP_TIMEOUT,
    create_session,
    gateway_and_http,
    open_stream,
    pending_tool_calls,
    recording_reply,
    send,
    tool_reply,
    turn_status,
    wait_for_frame,
)

pytestmark = pytest.mark.anyio


def _call_params(session_id: str, call_id: str = "call_1") -> dict[str, Any]:
    return {
        "threadId": session_id,
        "turnId": "turn-test",
        "callId": call_id,
        "tool": "lookup_weather",
        "arguments": {"city": "Oslo"},
    }


async def _until(predicate: Any) -> None:
    async def poll() -> None:
        while True:
            if predicate():
                return
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), STEP_TIMEOUT)


async def test_concurrent_duplicate_is_409_and_runtime_gets_one_reply(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        session_id = await create_session(http)
        socket = await open_stream(gateway.base_url)
        release = asyncio.Event()
        replies: list[ServerRequestReply] = []

        async def slow_reply(answer: ServerRequestReply) -> None:
            replies.append(answer)
            await release.wait()

        gateway.hub.server_request("item/tool/call", _call_params(session_id), slow_reply)
        signal = await wait_for_frame(socket, TOOL_CALL_SIGNAL)
        request_id = signal["payload"]["requestId"]
        url = f"/api/tool-calls/{request_id}/response"

        first = asyncio.create_task(http.post(url, json=tool_reply("one")))
        await _until(lambda: len(replies) == 1)
        second = await http.post(url, json=tool_reply("two"))
        assert second.status_code == 409
        assert second.json() == {
            "status": "conflict",
            "code": "in_flight",
            "requestId": str(request_id),
        }
        # A call being answered is not listed as pending.
        listing = await http.get(f"/api/sessions/{session_id}/tool-calls")
        assert listing.json() == {"data": []}

        release.set()
        done = await asyncio.wait_for(first, STEP_TIMEOUT)
        assert done.status_code == 200 and done.json()["status"] == "ok"
        third = await http.post(url, json=tool_reply("three"))
        assert third.status_code == 404
        assert len(replies) == 1
        assert replies[0].result == {
            "contentItems": [{"type": "inputText", "text": "one"}],
            "success": True,
        }
        await socket.close()


async def test_reply_failure_is_500_and_back_to_pending(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        session_id = await create_session(http)
        attempts: list[ServerRequestReply] = []

        async def flaky_reply(answer: ServerRequestReply) -> None:
            attempts.append(answer)
            if len(attempts) == 1:
                raise OSError("runtime pipe closed")

        gateway.hub.server_request("item/tool/call", _call_params(session_id), flaky_reply)
        [row] = await pending_tool_calls(http, session_id)
        url = f"/api/tool-calls/{row['requestId']}/response"
        failed = await http.post(url, json={"text": "x"})
        assert failed.status_code == 500
        assert failed.json() == {"status": "error", "requestId": row["requestId"]}
        [again] = await pending_tool_calls(http, session_id)
        assert again["requestId"] == row["requestId"]
        ok = await http.post(url, json={"text": "x"})
        assert ok.status_code == 200
        assert len(attempts) == 2
        assert (await http.post(url, json={"text": "x"})).status_code == 404


async def test_unknown_and_malformed_request_ids_are_404(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_gateway, http):
        for raw in ("999999", "abc", "007", "-1"):
            response = await http.post(f"/api/tool-calls/{raw}/response", json={})
            assert response.status_code == 404
            assert response.json() == {"status": "not_found", "requestId": raw}
        response = await http.post("/api/approvals/5/decision", json={"decision": "accept"})
        assert response.json() == {"status": "not_found", "approvalId": "5"}
        response = await http.post("/api/tool-input/5/decision", json={"decision": "cancel"})
        assert response.json() == {"status": "not_found", "requestId": "5"}


async def test_request_ids_are_unique_integers(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        session_id = await create_session(http)
        socket = await open_stream(gateway.base_url)

        async def never(answer: ServerRequestReply) -> None:
            return None

        ids = []
        for index in range(3):
            gateway.hub.server_request(
                "item/tool/call", _call_params(session_id, f"c{index}"), never
            )
            frame = await wait_for_frame(socket, TOOL_CALL_SIGNAL)
            ids.append(frame["payload"]["requestId"])
        assert all(isinstance(i, int) for i in ids)
        assert len(set(ids)) == 3 and ids == sorted(ids)
        rows = await pending_tool_calls(http, session_id, want=3)
        assert [r["requestId"] for r in rows] == [str(i) for i in ids]
        await socket.close()


async def test_interrupt_expires_the_pending_call(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        session_id = await create_session(http)
        socket = await open_stream(gateway.base_url, thread_id=session_id)
        turn_id = await send(http, session_id)
        signal = await wait_for_frame(socket, TOOL_CALL_SIGNAL)
        request_id = signal["payload"]["requestId"]

        response = await http.post(f"/api/sessions/{session_id}/interrupt", json={})
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "sessionId": session_id, "turnId": turn_id}

        seen: list[dict[str, Any]] = []
        completed = await wait_for_frame(socket, "app_server.turn.completed", seen)
        assert completed["payload"]["params"]["turn"]["status"] == "interrupted"
        expired = await wait_for_frame(socket, "tool_call_resolved", seen)
        assert expired["payload"] == {
            "requestId": str(request_id),
            "status": "expired",
            "success": False,
        }
        # Upstream order: the signal, then the expiries, then the raw notification.
        last = await wait_for_frame(socket, "notification", seen)
        assert last["payload"]["method"] == "turn/completed"

        late = await http.post(f"/api/tool-calls/{request_id}/response", json=tool_reply("x"))
        assert late.status_code == 404
        detail = await turn_status(http, session_id, turn_id)
        turn = next(t for t in detail["thread"]["turns"] if t["id"] == turn_id)
        assert turn["status"] == "interrupted"
        entries = [e for e in detail["transcript"] if e["turnId"] == turn_id]
        assert not any(e["role"] == "assistant" and e["status"] == "complete" for e in entries)
        assert any(e["content"] == "Tool call expired (success=false)" for e in entries)

        nothing = await http.post(f"/api/sessions/{session_id}/interrupt", json={})
        assert nothing.status_code == 409
        assert nothing.json() == {"status": "no_active_turn", "sessionId": session_id}
        # The session takes a new turn afterwards.
        next_turn = await send(http, session_id)
        [row] = await pending_tool_calls(http, session_id)
        await http.post(f"/api/tool-calls/{row['requestId']}/response", json=tool_reply("ok"))
        detail = await turn_status(http, session_id, next_turn)
        assert (
            next(t for t in detail["thread"]["turns"] if t["id"] == next_turn)["status"]
            == "completed"
        )
        await socket.close()


async def test_approval_round_trip(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        session_id = await create_session(http)
        socket = await open_stream(gateway.base_url)
        replies: list[ServerRequestReply] = []
        reply = recording_reply(replies)

        params = {
            "threadId": session_id,
            "turnId": "turn-a",
            "itemId": "item-1",
            "command": "ls -la",
            "reason": "look around",
        }
        gateway.hub.server_request("item/commandExecution/requestApproval", params, reply)
        signal = await wait_for_frame(
            socket, "app_server.request.item.command_execution.request_approval"
        )
        approval_id = str(signal["payload"]["requestId"])
        event = await wait_for_frame(socket, "approval")
        assert event["payload"]["approvalId"] == approval_id
        assert event["payload"]["summary"] == "Command approval required: ls -la"

        listing = await http.get(f"/api/sessions/{session_id}/approvals")
        [row] = listing.json()["data"]
        assert row["approvalId"] == approval_id and row["status"] == "pending"
        assert row["method"] == "item/commandExecution/requestApproval"

        bad = await http.post(f"/api/approvals/{approval_id}/decision", json={"decision": "ok"})
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"
        decided = await http.post(
            f"/api/approvals/{approval_id}/decision",
            json={"decision": "accept", "scope": "session"},
        )
        assert decided.status_code == 200
        assert decided.json() == {"status": "ok", "approvalId": approval_id, "threadId": session_id}
        assert [r.result for r in replies] == [{"decision": "acceptForSession"}]
        resolved = await wait_for_frame(socket, "approval_resolved")
        assert resolved["payload"] == {
            "approvalId": approval_id,
            "status": "resolved",
            "decision": "accept",
            "scope": "session",
        }
        again = await http.post(
            f"/api/approvals/{approval_id}/decision", json={"decision": "decline"}
        )
        assert again.status_code == 404
        assert len(replies) == 1
        await socket.close()


async def test_tool_input_round_trip_and_unsupported_requests(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        session_id = await create_session(http)
        socket = await open_stream(gateway.base_url)
        replies: list[ServerRequestReply] = []
        reply = recording_reply(replies)

        params = {
            "threadId": session_id,
            "turnId": "turn-b",
            "itemId": "item-2",
            "questions": [
                {
                    "id": "q1",
                    "header": "Pick",
                    "question": "Which one?",
                    "options": [{"label": "a", "description": "first"}],
                }
            ],
        }
        gateway.hub.server_request("item/tool/requestUserInput", params, reply)
        event = await wait_for_frame(socket, "tool_user_input_requested")
        request_id = event["payload"]["requestId"]
        assert event["payload"]["summary"] == "Tool input required (1 question)"
        [row] = (await http.get(f"/api/sessions/{session_id}/tool-input")).json()["data"]
        assert row["requestId"] == request_id
        assert row["questions"][0]["options"] == [{"label": "a", "description": "first"}]

        answers = {"q1": {"answers": ["a"]}}
        decided = await http.post(
            f"/api/tool-input/{request_id}/decision",
            json={"decision": "accept", "answers": answers},
        )
        assert decided.status_code == 200
        assert replies[0].result == {"answers": answers}
        resolved = await wait_for_frame(socket, "tool_user_input_resolved")
        assert resolved["payload"] == {
            "requestId": request_id,
            "status": "resolved",
            "decision": "accept",
        }

        # A server request the gateway does not support is announced and refused.
        gateway.hub.server_request(
            "account/chatgptAuthTokens/refresh", {"threadId": session_id}, reply
        )
        raw = await wait_for_frame(socket, "server_request")
        assert raw["payload"]["method"] == "account/chatgptAuthTokens/refresh"
        await _until(lambda: len(replies) == 2)
        assert replies[1].error is not None and replies[1].error["code"] == -32601
        await socket.close()
