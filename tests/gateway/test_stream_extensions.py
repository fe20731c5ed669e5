"""The opt-in `/api/stream` extensions (gateway/stream_extensions.py): tool-call answers over
the socket and event-type filters. A client that does not ask sees codex-manager's frames;
one that asks gets the same desk, the same exactly-once answer, the same 404/409 as HTTP.

The test plays the runtime through the hub's `server_request` (the call every runtime
makes) where it needs to hold a reply; everything else is the real gateway and websockets.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from teammesh.gateway.runtimes.base import ServerRequestReply
from teammesh.serving.limits import ServerLimits
from teammesh.wire import TOOL_CALL_SIGNAL

from .helpers import (
    STEP_TIMEOUT,
    create_session,
    gateway_and_http,
    next_frame,
    open_stream,
    recording_reply,
    tool_reply,
    wait_for_frame,
    ws_url,
)

pytestmark = pytest.mark.anyio
BOTH = "toolCallAnswers,eventTypes"


def _call(session_id: str, call_id: str = "call_1") -> dict[str, Any]:
    return {"threadId": session_id, "turnId": "turn-test", "callId": call_id,
            "tool": "lookup_weather", "arguments": {"city": "Oslo"}}


async def _extended(base_url: str, thread_id: str | None = None, asked: str = BOTH
                    ) -> tuple[ClientConnection, dict[str, Any]]:
    url = ws_url(base_url, thread_id)
    url += ("&" if "?" in url else "?") + f"extensions={asked}"
    socket = await connect(url, max_queue=None)
    return socket, await next_frame(socket)


def _answer(request_id: Any, body: Any) -> str:
    return json.dumps({"type": "tool_call.answer", "requestId": request_id, "body": body})


async def _raise_call(gateway: Any, session_id: str, replies: list[ServerRequestReply],
                      socket: ClientConnection) -> str:
    gateway.hub.server_request("item/tool/call", _call(session_id), recording_reply(replies))
    signal = await wait_for_frame(socket, TOOL_CALL_SIGNAL)
    return str(signal["payload"]["requestId"])


async def test_ready_lists_granted_extensions_only_when_asked(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        plain = await open_stream(gateway.base_url)  # asserts codex-manager's exact `ready`
        socket, ready = await _extended(gateway.base_url, asked="eventTypes,bogus")
        assert ready == {"type": "ready", "threadId": None, "extensions": ["eventTypes"]}
        caps = (await http.get("/api/capabilities")).json()
        assert caps["features"]["streamToolCallAnswers"] is True
        await plain.close()
        await socket.close()


async def test_answer_over_socket_is_the_http_answer_exactly_once(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        session_id = await create_session(http)
        socket, _ = await _extended(gateway.base_url)
        replies: list[ServerRequestReply] = []
        request_id = await _raise_call(gateway, session_id, replies, socket)

        await socket.send(_answer(request_id, tool_reply("sunny")))
        ack = await wait_for_frame(socket, "tool_call.answered")
        assert ack == {"type": "tool_call.answered", "requestId": request_id, "httpStatus": 200,
                       "body": {"status": "ok", "requestId": request_id,
                                "threadId": session_id}}
        assert [r.result for r in replies] == [
            {"contentItems": [{"type": "inputText", "text": "sunny"}], "success": True}]
        # A second answer, by either path, is the 404 HTTP gives; the runtime heard one.
        await socket.send(_answer(int(request_id), tool_reply("again")))
        again = await wait_for_frame(socket, "tool_call.answered")
        assert again["httpStatus"] == 404
        assert again["body"] == {"status": "not_found", "requestId": request_id}
        late = await http.post(f"/api/tool-calls/{request_id}/response", json=tool_reply("x"))
        assert late.status_code == 404
        assert len(replies) == 1
        await socket.close()


async def test_answer_racing_one_in_flight_gets_the_409(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        session_id = await create_session(http)
        socket, _ = await _extended(gateway.base_url)
        release, started = asyncio.Event(), asyncio.Event()
        replies: list[ServerRequestReply] = []

        async def slow_reply(answer: ServerRequestReply) -> None:
            replies.append(answer)
            started.set()
            await release.wait()

        gateway.hub.server_request("item/tool/call", _call(session_id), slow_reply)
        request_id = str((await wait_for_frame(socket, TOOL_CALL_SIGNAL))["payload"]["requestId"])
        first = asyncio.create_task(
            http.post(f"/api/tool-calls/{request_id}/response", json=tool_reply("one")))
        await asyncio.wait_for(started.wait(), STEP_TIMEOUT)
        await socket.send(_answer(request_id, tool_reply("two")))
        conflict = await wait_for_frame(socket, "tool_call.answered")
        assert conflict["httpStatus"] == 409
        assert conflict["body"] == {"status": "conflict", "code": "in_flight",
                                    "requestId": request_id}
        release.set()
        assert (await asyncio.wait_for(first, STEP_TIMEOUT)).status_code == 200
        assert len(replies) == 1
        await socket.close()


async def test_scoped_socket_cannot_answer_another_sessions_call(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        mine, theirs = await create_session(http), await create_session(http)
        watcher = await open_stream(gateway.base_url)
        scoped, _ = await _extended(gateway.base_url, thread_id=mine)
        replies: list[ServerRequestReply] = []
        request_id = await _raise_call(gateway, theirs, replies, watcher)
        await scoped.send(_answer(request_id, tool_reply("forged")))
        refused = await wait_for_frame(scoped, "tool_call.answered")
        assert refused["httpStatus"] == 404
        assert refused["body"] == {"status": "not_found", "requestId": request_id}
        assert replies == []
        # Still pending: its own client answers it over HTTP.
        ok = await http.post(f"/api/tool-calls/{request_id}/response", json=tool_reply("real"))
        assert ok.status_code == 200
        await watcher.close()
        await scoped.close()


async def test_malformed_answers_get_error_frames_and_nobody_is_closed(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        session_id = await create_session(http)
        bystander = await open_stream(gateway.base_url)
        socket, _ = await _extended(gateway.base_url)
        invalid = {"type": "error", "message": "invalid websocket command"}
        for bad in ('{"type":"tool_call.answer"}',
                    '{"type":"tool_call.answer","requestId":true,"body":{}}',
                    '{"type":"tool_call.answer","requestId":"  ","body":{}}',
                    '{"type":"events.subscribe","types":"tool_call_resolved"}',
                    '{"type":"events.subscribe","types":[1]}',
                    '{"type":"tool_call.answer","requestId":"1","body":' + "[" * 20_000):
            await socket.send(bad)
            assert await next_frame(socket) == invalid
        await socket.send(_answer("7", {"success": "not a bool"}))
        bad_body = await next_frame(socket)
        assert bad_body["type"] == "tool_call.answered" and bad_body["httpStatus"] == 400
        assert bad_body["body"]["code"] == "invalid_request"
        # Both sockets still work.
        replies: list[ServerRequestReply] = []
        request_id = await _raise_call(gateway, session_id, replies, bystander)
        await socket.send(_answer(request_id, tool_reply("fine")))
        assert (await wait_for_frame(socket, "tool_call.answered"))["httpStatus"] == 200
        await bystander.send('{"type":"ping"}')
        assert (await wait_for_frame(bystander, "pong")) == {"type": "pong"}
        await socket.close()
        await bystander.close()


async def test_plain_socket_keeps_codex_managers_commands(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        session_id = await create_session(http)
        plain = await open_stream(gateway.base_url)
        replies: list[ServerRequestReply] = []
        request_id = await _raise_call(gateway, session_id, replies, plain)
        # Not asked for: the extension's commands are unknown commands, as upstream.
        await plain.send(_answer(request_id, tool_reply("no")))
        assert await wait_for_frame(plain, "error") == {
            "type": "error", "message": "invalid websocket command"}
        await plain.send('{"type":"events.subscribe","types":["pong"]}')
        assert (await wait_for_frame(plain, "error"))["type"] == "error"
        assert replies == []
        await plain.close()


async def test_gateway_with_extensions_off_grants_none(tmp_path: Path) -> None:
    limits = ServerLimits(ws_extensions=False)
    async with gateway_and_http(tmp_path, limits=limits) as (gateway, http):
        socket, ready = await _extended(gateway.base_url)
        assert ready == {"type": "ready", "threadId": None}
        await socket.send(_answer("1", {}))
        assert (await next_frame(socket))["type"] == "error"
        caps = (await http.get("/api/capabilities")).json()
        assert caps["features"]["streamToolCallAnswers"] is False
        await socket.close()


async def test_event_types_filter_narrows_events_not_control_frames(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        session_id = await create_session(http)
        plain = await open_stream(gateway.base_url)
        socket, _ = await _extended(gateway.base_url)
        await socket.send(json.dumps({"type": "events.subscribe",
                                      "types": ["tool_call_resolved"]}))
        await socket.send('{"type":"ping"}')  # commands apply in order: after pong it holds
        assert (await next_frame(socket)) == {"type": "pong"}
        replies: list[ServerRequestReply] = []
        seen_plain: list[dict[str, Any]] = []
        gateway.hub.server_request("item/tool/call", _call(session_id), recording_reply(replies))
        signal = await wait_for_frame(plain, TOOL_CALL_SIGNAL, seen_plain)
        request_id = str(signal["payload"]["requestId"])
        await socket.send(_answer(request_id, tool_reply("ok")))
        await wait_for_frame(plain, "tool_call_resolved", seen_plain)
        got = [await next_frame(socket), await next_frame(socket)]
        assert sorted(f["type"] for f in got) == ["tool_call.answered", "tool_call_resolved"]
        assert {f["type"] for f in seen_plain} >= {TOOL_CALL_SIGNAL, "tool_call_requested"}
        # Widened again: everything flows.
        await socket.send(json.dumps({"type": "events.subscribe", "types": None}))
        await socket.send('{"type":"ping"}')
        assert (await next_frame(socket)) == {"type": "pong"}
        gateway.hub.server_request("item/tool/call", _call(session_id, "call_2"),
                                   recording_reply(replies))
        assert (await wait_for_frame(socket, TOOL_CALL_SIGNAL))["type"] == TOOL_CALL_SIGNAL
        await plain.close()
        await socket.close()
