"""The opt-in `turnStart` stream extension (gateway/stream_turns.py): a turn started over the
socket is `POST /api/sessions/{id}/messages` exactly (same checks, same status and body), a
thread-scoped socket starts turns on its own thread only, a malformed command gets an error
frame and closes nothing, and a client that does not ask sees codex-manager's stream.
Everything here is the real gateway, the playbook runtime, httpx and websockets.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from teammesh.serving.limits import ServerLimits

from .helpers import (
    create_session,
    gateway_and_http,
    next_frame,
    open_stream,
    send,
    turn_status,
    wait_for_frame,
    ws_url,
)

pytestmark = pytest.mark.anyio
INVALID = {"type": "error", "message": "invalid websocket command"}
ANSWERED = "turn.start.answered"


async def _extended(base_url: str, thread_id: str | None = None, asked: str = "turnStart",
                    **options: Any) -> tuple[ClientConnection, dict[str, Any]]:
    url = ws_url(base_url, thread_id)
    url += ("&" if "?" in url else "?") + f"extensions={asked}"
    socket = await connect(url, max_queue=None, **options)
    return socket, await next_frame(socket)


def _start(command_id: Any, session_id: str, body: Any) -> str:
    return json.dumps({"type": "turn.start", "commandId": command_id, "sessionId": session_id,
                       "body": body})


async def _started(socket: ClientConnection, command_id: Any, session_id: str,
                   body: Any) -> dict[str, Any]:
    await socket.send(_start(command_id, session_id, body))
    frame = await wait_for_frame(socket, ANSWERED)
    assert frame["commandId"] == str(command_id)
    return frame


async def test_ready_and_capabilities_advertise_turn_start(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path, limits=ServerLimits(ws_command_bytes=4096)) as (
            gateway, http):
        plain = await open_stream(gateway.base_url)  # asserts codex-manager's exact `ready`
        socket, ready = await _extended(gateway.base_url, asked="turnStart,toolCallAnswers")
        instance = ready.pop("instance")
        assert ready == {"type": "ready", "threadId": None,
                         "extensions": ["toolCallAnswers", "turnStart"], "commandBytes": 4096}
        # The gateway process whose start keys a resend may rely on: one per process.
        assert isinstance(instance, str) and len(instance) == 16
        other, again = await _extended(gateway.base_url)
        assert again["instance"] == instance
        await other.close()
        # Without `turnStart`, neither `commandBytes` nor `instance`.
        answers_only, plain_ready = await _extended(gateway.base_url, asked="toolCallAnswers")
        assert plain_ready == {"type": "ready", "threadId": None,
                               "extensions": ["toolCallAnswers"]}
        await answers_only.close()
        caps = (await http.get("/api/capabilities")).json()
        assert caps["features"]["streamTurnStart"] is True
        await plain.close()
        await socket.close()


async def test_turn_over_socket_is_the_http_answer(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        session_id = await create_session(http)
        socket, _ = await _extended(gateway.base_url)
        accepted = await _started(socket, 7, session_id, {"text": "Say hello."})
        assert accepted["httpStatus"] == 202
        turn_id = accepted["body"]["turnId"]
        assert accepted["body"] == {"status": "accepted", "sessionId": session_id,
                                    "turnId": turn_id}
        # The turn really runs, as one started over HTTP does.
        detail = await turn_status(http, session_id, turn_id)
        turns = {t["id"]: t["status"] for t in detail["thread"]["turns"]}
        assert turns[turn_id] == "completed"
        again = await _started(socket, "next", session_id, {"text": "Again."})
        assert again["httpStatus"] == 202
        await turn_status(http, session_id, again["body"]["turnId"])
        await socket.close()


def _normalised(text: str, session_id: str) -> Any:
    return json.loads(re.sub(re.escape(session_id), "<session>", text))


async def test_refusals_match_http_status_and_body(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        over_http, over_ws = await create_session(http), await create_session(http)
        socket, _ = await _extended(gateway.base_url)
        bodies: list[Any] = [
            None, {}, {"text": 5}, {"text": "x", "effort": "maximal"}, [1, 2], "text",
            {"text": "x", "model": "playbook?data_dir=/"},  # the session policy's 400
            {"text": "x", "approvalPolicy": "sometimes"},
            {"text": "\udfff"},  # a lone surrogate: no store could keep it
        ]
        for number, body in enumerate(bodies):
            via_http = await http.post(f"/api/sessions/{over_http}/messages",
                                       content=json.dumps(body), headers={
                                           "content-type": "application/json"})
            via_ws = await _started(socket, number, over_ws, body)
            assert via_http.status_code >= 400, body
            assert via_ws["httpStatus"] == via_http.status_code, (body, via_ws)
            assert (_normalised(json.dumps(via_ws["body"]), over_ws)
                    == _normalised(via_http.text, over_http)), body
        # Unknown and deleted sessions: the 404 and 410 the route gives, before the body.
        unknown = await _started(socket, "u", "no-such-session", {"text": "x"})
        assert unknown["httpStatus"] == 404
        assert unknown["body"] == {"status": "not_found", "sessionId": "no-such-session"}
        assert (await http.delete(f"/api/sessions/{over_http}")).status_code == 200
        gone = await _started(socket, "g", over_http, "not even a body")
        gone_http = await http.post(f"/api/sessions/{over_http}/messages", json={"text": "x"})
        assert gone["httpStatus"] == 410 == gone_http.status_code
        assert gone["body"] == gone_http.json()
        # A busy session: the same 409 by either path.
        turn_id = (await _started(socket, "t", over_ws, {"text": "Say hello."}))["body"]
        busy_ws = await _started(socket, "b", over_ws, {"text": "second"})
        busy_http = await http.post(f"/api/sessions/{over_ws}/messages", json={"text": "x"})
        if busy_ws["httpStatus"] == 409:  # the first turn may already be over
            assert busy_ws["body"] == busy_http.json()
        else:
            assert busy_ws["httpStatus"] == 202
        assert turn_id["status"] == "accepted"
        await socket.close()


async def test_scoped_socket_starts_turns_on_its_own_thread_only(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        mine, theirs = await create_session(http), await create_session(http)
        scoped, ready = await _extended(gateway.base_url, thread_id=mine)
        assert ready["threadId"] == mine
        refused = await _started(scoped, 1, theirs, {"text": "forged"})
        assert refused["httpStatus"] == 404
        assert refused["body"] == {"status": "not_found", "sessionId": theirs}
        named_by_thread = json.dumps({"type": "turn.start", "commandId": 2, "threadId": theirs,
                                      "body": {"text": "forged"}})
        await scoped.send(named_by_thread)
        assert (await wait_for_frame(scoped, ANSWERED))["httpStatus"] == 404
        detail = (await http.get(f"/api/sessions/{theirs}")).json()
        assert detail["thread"]["turns"] == []  # nothing started there
        ok = await _started(scoped, 3, mine, {"text": "Say hello."})
        assert ok["httpStatus"] == 202
        await turn_status(http, mine, ok["body"]["turnId"])
        # Their own client still starts their turns.
        await turn_status(http, theirs, await send(http, theirs, "Say hello."))
        await scoped.close()


async def test_malformed_commands_get_error_frames_and_nobody_is_closed(tmp_path: Path
                                                                         ) -> None:
    limits = ServerLimits(ws_command_bytes=2048)
    async with gateway_and_http(tmp_path, limits=limits) as (gateway, http):
        session_id = await create_session(http)
        bystander = await open_stream(gateway.base_url)
        socket, _ = await _extended(gateway.base_url)
        for bad in ('{"type":"turn.start"}',
                    '{"type":"turn.start","commandId":true,"sessionId":"x","body":{}}',
                    '{"type":"turn.start","commandId":"  ","sessionId":"x"}',
                    '{"type":"turn.start","commandId":"' + "9" * 300 + '","sessionId":"x"}',
                    _start(1, session_id, {"text": "x" * 4000}),  # over ws_command_bytes
                    '{"type":"turn.start","commandId":1,"body":' + "[" * 1000):
            await socket.send(bad)
            assert await next_frame(socket) == INVALID
        for number, (fields, message) in enumerate((
                ({}, "needs a sessionId"), ({"sessionId": 5}, "non-empty string"),
                ({"sessionId": session_id, "threadId": "other"}, "different sessions"))):
            await socket.send(json.dumps({"type": "turn.start", "commandId": number,
                                          "body": {"text": "x"}, **fields}))
            frame = await next_frame(socket)
            assert frame["type"] == ANSWERED and frame["httpStatus"] == 400
            assert message in frame["body"]["message"]
        # Both sockets still work, and no turn was started by any of it.
        assert (await http.get(f"/api/sessions/{session_id}")).json()["thread"]["turns"] == []
        ok = await _started(socket, "fine", session_id, {"text": "Say hello."})
        assert ok["httpStatus"] == 202
        await bystander.send('{"type":"ping"}')
        assert await wait_for_frame(bystander, "pong") == {"type": "pong"}
        await socket.close()
        await bystander.close()


async def test_not_asked_or_switched_off_it_is_an_unknown_command(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        session_id = await create_session(http)
        plain = await open_stream(gateway.base_url)
        await plain.send(_start(1, session_id, {"text": "x"}))
        assert await next_frame(plain) == INVALID
        await plain.close()
    async with gateway_and_http(tmp_path / "off", limits=ServerLimits(ws_extensions=False)
                                ) as (gateway, http):
        session_id = await create_session(http)
        socket, ready = await _extended(gateway.base_url)
        assert ready == {"type": "ready", "threadId": None}
        await socket.send(_start(1, session_id, {"text": "x"}))
        assert await next_frame(socket) == INVALID
        assert (await http.get("/api/capabilities")).json()["features"]["streamTurnStart"] is False
        assert (await http.get(f"/api/sessions/{session_id}")).json()["thread"]["turns"] == []
        await socket.close()


async def test_handshake_still_checks_origin_and_token(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, _http):  # no token
        with pytest.raises(InvalidStatus) as refused:
            await _extended(gateway.base_url, origin="http://evil.example")
        assert refused.value.response.status_code == 403
    async with gateway_and_http(tmp_path / "t", token="s3cret") as (gateway, _http):
        with pytest.raises(InvalidStatus) as refused:
            await _extended(gateway.base_url)
        assert refused.value.response.status_code in (401, 403)
        socket, ready = await _extended(gateway.base_url,
                                        additional_headers={"Authorization": "Bearer s3cret"})
        assert ready["extensions"] == ["turnStart"]
        await socket.close()
    async with gateway_and_http(tmp_path / "t") as (restarted, _http):  # the same data dir
        socket, ready_again = await _extended(restarted.base_url)
        assert ready_again["instance"] != ready["instance"]  # a new gateway: new keys
        await socket.close()


async def test_starts_in_flight_per_socket_are_bounded(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        session_id = await create_session(http)
        socket, _ = await _extended(gateway.base_url)
        # Sent in one burst: the reader takes them faster than the hub answers them, so
        # some meet the cap; every one is answered (202, 409 busy, or 429), none dropped.
        burst = 200
        for number in range(burst):
            await socket.send(_start(number, session_id, {"text": "Say hello."}))
        frames = [await wait_for_frame(socket, ANSWERED) for _ in range(burst)]
        statuses = {f["httpStatus"] for f in frames}
        assert statuses <= {202, 409, 429}
        assert sorted(int(f["commandId"]) for f in frames) == list(range(burst))
        assert sum(f["httpStatus"] == 202 for f in frames) >= 1
        await asyncio.sleep(0)
        await socket.close()


async def test_a_start_key_starts_one_turn_however_often_it_is_sent(tmp_path: Path) -> None:
    """The retry of a client whose socket dropped before the answer: the same key on the
    next socket learns the first start's turn instead of starting (or 409ing) another."""
    async with gateway_and_http(tmp_path) as (gateway, http):
        session_id = await create_session(http)
        first, _ = await _extended(gateway.base_url)
        keyed = {"type": "turn.start", "sessionId": session_id, "startKey": "k-1",
                 "body": {"text": "Say hello."}}
        await first.send(json.dumps({**keyed, "commandId": 1}))
        await first.send(json.dumps({**keyed, "commandId": 2}))  # while the first runs
        answers = [await wait_for_frame(first, ANSWERED) for _ in range(2)]
        await first.close()
        second, _ = await _extended(gateway.base_url)
        await second.send(json.dumps({**keyed, "commandId": 3}))
        answers.append(await wait_for_frame(second, ANSWERED))
        assert [a["httpStatus"] for a in answers] == [202, 202, 202]
        assert len({a["body"]["turnId"] for a in answers}) == 1
        await turn_status(http, session_id, answers[0]["body"]["turnId"])
        detail = (await http.get(f"/api/sessions/{session_id}")).json()
        assert len(detail["thread"]["turns"]) == 1
        # Another key is another start; a malformed key is refused, never ignored.
        other = await _started(second, 4, session_id, {"text": "Say hello."})
        assert other["httpStatus"] == 202 and other["body"]["turnId"] != answers[0]["body"][
            "turnId"]
        await second.send(json.dumps({**keyed, "commandId": 5, "startKey": ""}))
        bad = await wait_for_frame(second, ANSWERED)
        assert bad["httpStatus"] == 400 and "startKey" in bad["body"]["message"]
        await second.close()
