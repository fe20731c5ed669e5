"""Thread actions forwarded to the real codex app-server (gateway/session_actions.py →
codex.py): archive/unarchive (`thread/archive`, `thread/unarchive`, the gateway's list
filter) and steer (`turn/steer` on the running turn), with the codex thread id."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.gateway.helpers import open_stream, wait_for_frame

from .stack import Stack, echo_session
from .wire_helpers import EventStream, answer_tool_call, echo_prompt, send_message, turn_status

pytestmark = [pytest.mark.codex, pytest.mark.anyio]


async def _listed(http: httpx.AsyncClient, archived: str) -> list[str]:
    body: dict[str, Any] = (await http.get("/api/sessions", params={"archived": archived})).json()
    return [s["sessionId"] for s in body["data"]]


async def test_archive_and_unarchive_a_codex_thread(http: httpx.AsyncClient,
                                                    stack: Stack) -> None:
    session_id = await echo_session(http, stack)
    async with EventStream(stack.base_url, session_id) as events:
        turn_id = await send_message(http, session_id, "Say hello.")
        assert turn_status(await events.turn_completed(turn_id)) == "completed"
    archived = await http.post(f"/api/sessions/{session_id}/archive")
    assert archived.status_code == 200, archived.text
    assert archived.json() == {"status": "ok", "sessionId": session_id}
    assert session_id in await _listed(http, "true")
    assert session_id not in await _listed(http, "false")
    # codex itself refuses a turn on an archived thread (and the gateway says so first)
    refused = await http.post(f"/api/sessions/{session_id}/messages", json={"text": "Hi."})
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_state"
    assert "archived" in refused.json()["message"]
    unarchived = await http.post(f"/api/sessions/{session_id}/unarchive")
    assert unarchived.status_code == 200, unarchived.text
    assert unarchived.json()["session"]["sessionId"] == session_id
    assert session_id in await _listed(http, "false")
    # the thread goes on after it came back
    async with EventStream(stack.base_url, session_id) as events:
        turn_id = await send_message(http, session_id, "Say hello again.")
        assert turn_status(await events.turn_completed(turn_id)) == "completed"


async def test_archive_a_thread_codex_has_no_rollout_for(http: httpx.AsyncClient,
                                                         stack: Stack) -> None:
    session_id = await echo_session(http, stack)  # no turn yet
    response = await http.post(f"/api/sessions/{session_id}/archive")
    assert response.status_code == 200, response.text  # codex 0.169 archives it anyway
    assert session_id in await _listed(http, "true")
    gone = await http.delete(f"/api/sessions/{session_id}")
    assert gone.status_code == 200
    assert (await http.post(f"/api/sessions/{session_id}/unarchive")).status_code == 410


async def test_steer_the_running_codex_turn(http: httpx.AsyncClient, stack: Stack) -> None:
    session_id = await echo_session(http, stack)
    async with EventStream(stack.base_url, session_id) as events:
        turn_id = await send_message(http, session_id, echo_prompt(1))
        signal = await events.event("app_server.request.item.tool.call")
        url = f"/api/sessions/{session_id}/turns/{{}}/steer"
        # codex's own refusal, classified as upstream classifies it: 400 `failed`
        wrong = await http.post(url.format("not-the-turn"), json={"input": "x"})
        assert wrong.status_code == 400, wrong.text
        assert wrong.json()["code"] == "failed"
        assert "expected active turn id" in wrong.json()["result"]["details"]["error"]
        steered = await http.post(url.format(turn_id), json={"input": "Also say steered."})
        assert steered.status_code == 200, steered.text
        assert steered.json()["result"] == {
            "actionType": "turn.steer", "status": "performed",
            "details": {"threadId": session_id, "turnId": turn_id}}
        await answer_tool_call(http, str(signal["payload"]["requestId"]), "1")
        assert turn_status(await events.turn_completed(turn_id)) == "completed"
    detail = (await http.get(f"/api/sessions/{session_id}")).json()
    users = [e["content"] for e in detail["transcript"]
             if e["turnId"] == turn_id and e["role"] == "user"]
    assert users == [echo_prompt(1), "Also say steered."]  # codex took it into the turn
    late = await http.post(url.format(turn_id), json={"input": "late"})
    assert late.status_code == 409 and late.json()["code"] == "conflict"


async def test_fork_a_codex_thread(http: httpx.AsyncClient, stack: Stack) -> None:
    source = await echo_session(http, stack)
    async with EventStream(stack.base_url, source) as events:
        first = await send_message(http, source, echo_prompt(1))
        frame = await events.event("app_server.request.item.tool.call")
        await answer_tool_call(http, str(frame["payload"]["requestId"]), "1")
        assert turn_status(await events.turn_completed(first)) == "completed"
    socket = await open_stream(stack.base_url)  # unfiltered: the new thread's id is new
    try:
        forked = await http.post(f"/api/sessions/{source}/fork")
        assert forked.status_code == 200, forked.text
        body = forked.json()
        fork = body["session"]["sessionId"]
        started = await wait_for_frame(socket, "app_server.thread.started")
    finally:
        await socket.close()
    assert fork != source and body["sourceSessionId"] == source
    assert started["threadId"] == fork
    assert [t["id"] for t in body["thread"]["turns"]] == [first]
    assert body["session"]["sessionControls"]["approvalPolicy"] == "never"
    async with EventStream(stack.base_url, fork) as events:
        turn_id = await send_message(http, fork, echo_prompt(7))
        frame = await events.event("app_server.request.item.tool.call")
        # codex sent the model the source's history: its brain counts the earlier call,
        # and the fork kept the source's dynamic tools
        assert frame["payload"]["params"]["tool"] == "team_echo"
        assert frame["payload"]["params"]["callId"].endswith("_2")
        await answer_tool_call(http, str(frame["payload"]["requestId"]), "7")
        assert turn_status(await events.turn_completed(turn_id)) == "completed"
    source_turns = (await http.get(f"/api/sessions/{source}")).json()["thread"]["turns"]
    assert [t["id"] for t in source_turns] == [first]


async def test_compact_and_review_a_codex_thread(http: httpx.AsyncClient, stack: Stack) -> None:
    session_id = await echo_session(http, stack)
    async with EventStream(stack.base_url, session_id) as events:
        turn_id = await send_message(http, session_id, "Say hello.")
        assert turn_status(await events.turn_completed(turn_id)) == "completed"
        compacted = await http.post(f"/api/sessions/{session_id}/compact")
        assert compacted.status_code == 200, compacted.text
        assert compacted.json() == {"status": "ok", "sessionId": session_id, "result": {}}
        # codex compacts in a turn of its own, passed through as app-server events
        frame = await events.event("app_server.turn.completed")
        assert turn_status(frame) == "completed"
    async with EventStream(stack.base_url, session_id) as events:
        review = await http.post(f"/api/sessions/{session_id}/review", json={})
        assert review.status_code == 200, review.text
        body = review.json()
        assert body["status"] == "ok" and body["sessionId"] == session_id
        review_turn = body["result"]["turn"]["id"]
        prompt = body["result"]["turn"]["items"][0]["content"][0]["text"]
        assert prompt == "Review this thread's current changes."  # upstream's default target
        assert turn_status(await events.turn_completed(review_turn)) == "completed"
    bad = await http.post(f"/api/sessions/{session_id}/review", json={"targetType": "x"})
    assert bad.status_code == 400


async def test_clean_forwards_and_rollback_is_501_on_codex(http: httpx.AsyncClient,
                                                            stack: Stack) -> None:
    session_id = await echo_session(http, stack)
    async with EventStream(stack.base_url, session_id) as events:
        turn_id = await send_message(http, session_id, "Say hello.")
        assert turn_status(await events.turn_completed(turn_id)) == "completed"
    clean = await http.post(f"/api/sessions/{session_id}/background-terminals/clean")
    assert clean.status_code == 200, clean.text
    assert clean.json() == {"status": "ok", "sessionId": session_id, "result": {}}
    # app-server 0.169 has no thread/rollback: the row is 501 there, nothing is dropped
    rolled = await http.post(f"/api/sessions/{session_id}/rollback", json={"numTurns": 1})
    assert rolled.status_code == 501, rolled.text
    assert "does not map thread/rollback" in rolled.json()["message"]
    turns = (await http.get(f"/api/sessions/{session_id}")).json()["thread"]["turns"]
    assert [t["id"] for t in turns] == [turn_id]


async def test_archive_mid_turn_interrupts_it(http: httpx.AsyncClient, stack: Stack) -> None:
    """codex 0.169 interrupts a thread's running turn when it is archived; the gateway
    (which interrupts first on every runtime) answers 200 and the turn ends interrupted."""
    session_id = await echo_session(http, stack)
    async with EventStream(stack.base_url, session_id) as events:
        turn_id = await send_message(http, session_id, echo_prompt(1))
        signal = await events.event("app_server.request.item.tool.call")
        archived = await http.post(f"/api/sessions/{session_id}/archive")
        assert archived.status_code == 200, archived.text
        assert turn_status(await events.turn_completed(turn_id)) == "interrupted"
        late = await answer_tool_call(http, str(signal["payload"]["requestId"]), "1")
        assert late.status_code == 404, late.text
    assert session_id in await _listed(http, "true")
