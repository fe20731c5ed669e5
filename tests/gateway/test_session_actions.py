"""Thread actions on the playbook runtime (gateway/session_actions.py), on the real gateway:
archive/unarchive and the `archived` list filter, fork, rollback, steer, resume — each
persisted across a gateway restart where it changes state."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from teammesh.gateway.session_policy import SessionCeiling

from .helpers import (
    WEATHER_PROMPT,
    create_session,
    gateway_and_http,
    open_stream,
    pending_tool_calls,
    send,
    tool_reply,
    turn_status,
    wait_for_frame,
)

pytestmark = pytest.mark.anyio

TIME_TOOL = {
    "name": "lookup_time",
    "description": "Look up the time in a city.",
    "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}},
                    "required": ["city"], "additionalProperties": False},
}


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _listed(http: httpx.AsyncClient, archived: str | None = None) -> list[str]:
    params = {} if archived is None else {"archived": archived}
    body = _ok(await http.get("/api/sessions", params=params))
    assert body["archived"] is (archived == "true")
    return [s["sessionId"] for s in body["data"]]


async def _answered_turn(http: httpx.AsyncClient, session_id: str,
                         text: str = WEATHER_PROMPT) -> tuple[str, str]:
    """One weather turn, its tool call answered; returns (turn id, the call's callId)."""
    turn_id = await send(http, session_id, text)
    (row,) = await pending_tool_calls(http, session_id)
    reply = await http.post(f"/api/tool-calls/{row['requestId']}/response",
                            json=tool_reply("sunny, 21 C"))
    assert reply.status_code == 200, reply.text
    detail = await turn_status(http, session_id, turn_id)
    assert {t["id"]: t["status"] for t in detail["thread"]["turns"]}[turn_id] == "completed"
    return turn_id, str(row["callId"])


def _call_number(call_id: str) -> int:
    # The playbook brain numbers calls by the tool calls its conversation already holds.
    return int(call_id.rsplit("_", 1)[1])


async def test_archive_hides_from_the_default_list_and_persists(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        kept, archived = await create_session(http), await create_session(http)
        body = _ok(await http.post(f"/api/sessions/{archived}/archive"))
        assert body == {"status": "ok", "sessionId": archived}
        _ok(await http.post(f"/api/sessions/{archived}/archive"))  # again: still archived
        assert await _listed(http) == [kept]
        assert await _listed(http, "false") == [kept]
        assert await _listed(http, "true") == [archived]
        assert (await http.get("/api/sessions", params={"archived": "yes"})).status_code == 400
        assert _ok(await http.get(f"/api/sessions/{archived}"))["session"]["sessionId"]
    async with gateway_and_http(tmp_path) as (_, http):  # a restart keeps it archived
        assert await _listed(http) == [kept]
        assert await _listed(http, "true") == [archived]
        body = _ok(await http.post(f"/api/sessions/{archived}/unarchive"))
        assert body["status"] == "ok" and body["session"]["sessionId"] == archived
        assert body["thread"]["id"] == archived
        assert set(await _listed(http)) == {kept, archived}
    async with gateway_and_http(tmp_path) as (_, http):
        assert await _listed(http, "true") == []
        # an archived session takes no turn (as codex refuses one) until it is unarchived
        await http.post(f"/api/sessions/{kept}/archive")
        refused = await http.post(f"/api/sessions/{kept}/messages", json={"text": "hi"})
        assert refused.status_code == 409 and refused.json()["code"] == "invalid_state"
        assert await _listed(http, "true") == [kept]
        await http.post(f"/api/sessions/{kept}/unarchive")
        await _answered_turn(http, kept)
        response = await http.post("/api/sessions/nope/archive")
        assert response.status_code == 404
        assert (await http.delete(f"/api/sessions/{kept}")).status_code == 200
        assert (await http.post(f"/api/sessions/{kept}/unarchive")).status_code == 410


async def test_fork_copies_history_and_controls_into_a_new_persisted_session(
    tmp_path: Path,
) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        source = await create_session(http, approvalPolicy="never")
        await http.post(f"/api/sessions/{source}/rename", json={"title": "the source"})
        _ok(await http.post(f"/api/sessions/{source}/settings",
                            json={"scope": "session", "settings": {"team": {"r": 1}}}))
        first_turn, first_call = await _answered_turn(http, source)
        socket = await open_stream(gateway.base_url)
        try:
            body = _ok(await http.post(f"/api/sessions/{source}/fork"))
            fork = body["session"]["sessionId"]
            started = await wait_for_frame(socket, "app_server.thread.started")
        finally:
            await socket.close()
        assert fork != source and body["status"] == "ok"
        assert body["sourceSessionId"] == source
        assert started["threadId"] == fork
        assert body["session"]["materialized"] is True
        assert body["session"]["title"] == "New chat"  # the title is not copied
        controls = body["session"]["sessionControls"]
        assert controls["approvalPolicy"] == "never" and controls["settings"] == {"team": {"r": 1}}
        assert [t["id"] for t in body["thread"]["turns"]] == [first_turn]
        detail = _ok(await http.get(f"/api/sessions/{fork}"))
        replies = [e for e in detail["transcript"] if e["role"] == "assistant"]
        assert replies and all(e["turnId"] == first_turn for e in replies)
        # only the thread is copied, not the source's own audit rows
        assert not [e for e in detail["transcript"] if e["turnId"] == "session-controls"]
        # the fork's thread continues the source's conversation: its brain counts the
        # earlier tool call; the source and the fork go on independently
        _, fork_call = await _answered_turn(http, fork)
        assert _call_number(fork_call) == _call_number(first_call) + 1
        source_turns = _ok(await http.get(f"/api/sessions/{source}"))["thread"]["turns"]
        assert [t["id"] for t in source_turns] == [first_turn]
    async with gateway_and_http(tmp_path) as (_, http):  # persisted
        detail = _ok(await http.get(f"/api/sessions/{fork}"))
        assert len(detail["thread"]["turns"]) == 2
        assert detail["session"]["sessionControls"]["settings"] == {"team": {"r": 1}}
        assert fork in await _listed(http)
        # a fork of a session re-created after the restart works too
        again = _ok(await http.post(f"/api/sessions/{fork}/fork"))
        assert len(again["thread"]["turns"]) == 2
        assert (await http.post("/api/sessions/nope/fork")).status_code == 404


async def test_fork_and_rollback_refuse_while_a_turn_runs(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        session_id = await create_session(http)
        await _answered_turn(http, session_id)
        running = await send(http, session_id)
        await pending_tool_calls(http, session_id)
        for action, body in (("fork", None), ("rollback", {"numTurns": 1})):
            response = await http.post(f"/api/sessions/{session_id}/{action}", json=body)
            assert response.status_code == 409, response.text
            assert response.json()["code"] == "invalid_state"
        rollback = (await http.post(f"/api/sessions/{session_id}/rollback", json={})).json()
        assert rollback["details"] == {"method": "thread/rollback", "sessionId": session_id,
                                       "numTurns": 1}
        await http.post(f"/api/sessions/{session_id}/interrupt", json={"turnId": running})
        await turn_status(http, session_id, running)
        _ok(await http.post(f"/api/sessions/{session_id}/rollback"))


async def test_rollback_drops_the_last_turns_everywhere_and_persists(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        session_id = await create_session(http)
        kept, first_call = await _answered_turn(http, session_id)
        dropped, _ = await _answered_turn(http, session_id)
        url = f"/api/sessions/{session_id}/rollback"
        for bad in ({"numTurns": 0}, {"numTurns": "x"}, {"numTurns": 1.5}, []):
            response = await http.post(url, json=bad)
            assert response.status_code == 400, (bad, response.text)
            assert response.json()["code"] == "invalid_request"
        too_many = await http.post(url, json={"numTurns": 3})
        assert too_many.status_code == 400 and too_many.json()["code"] == "invalid_params"
        body = _ok(await http.post(url, json={"numTurns": 1}))
        assert body["status"] == "ok" and body["numTurns"] == 1
        assert [t["id"] for t in body["result"]["thread"]["turns"]] == [kept]
        detail = _ok(await http.get(f"/api/sessions/{session_id}"))
        assert [t["id"] for t in detail["thread"]["turns"]] == [kept]
        assert {e["turnId"] for e in detail["transcript"]} == {kept}
        assert dropped not in {t["id"] for t in detail["thread"]["turns"]}
        # the runtime's conversation lost that turn too: the next call is numbered as if
        # the dropped turn's call never happened
        _, next_call = await _answered_turn(http, session_id)
        assert _call_number(next_call) == _call_number(first_call) + 1
        _ok(await http.post(url, json={"numTurns": 1}))
    async with gateway_and_http(tmp_path) as (_, http):  # persisted
        detail = _ok(await http.get(f"/api/sessions/{session_id}"))
        assert [t["id"] for t in detail["thread"]["turns"]] == [kept]
        assert {e["turnId"] for e in detail["transcript"]} == {kept}
        body = _ok(await http.post(url))  # no body: one turn
        assert body["result"]["thread"]["turns"] == []
    async with gateway_and_http(tmp_path) as (_, http):
        detail = _ok(await http.get(f"/api/sessions/{session_id}"))
        assert detail["thread"]["turns"] == [] and detail["transcript"] == []


async def test_steer_adds_input_to_the_running_turn(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        session_id = await create_session(http)
        url = f"/api/sessions/{session_id}/turns/{{}}/steer"
        response = await http.post(url.format("t-1"), json={"input": "x"})
        assert response.status_code == 409 and response.json()["code"] == "conflict"
        turn_id = await send(http, session_id)
        (row,) = await pending_tool_calls(http, session_id)
        wrong = await http.post(url.format("other-turn"), json={"input": "x"})
        assert wrong.status_code == 400, wrong.text  # as codex answers it upstream
        assert wrong.json()["code"] == "failed"
        assert wrong.json()["result"]["details"]["turnId"] == "other-turn"
        for bad in ({}, {"input": "  "}, {"input": 3}):
            response = await http.post(url.format(turn_id), json=bad)
            assert response.status_code == 400 and response.json()["code"] == "invalid_request"
        steered = "Also say that the steer arrived."
        body = _ok(await http.post(url.format(turn_id), json={"input": steered}))
        for n in range(31):  # bounded while the turn waits on its tool call
            _ok(await http.post(url.format(turn_id), json={"input": f"more {n}"}))
        full = await http.post(url.format(turn_id), json={"input": "one too many"})
        assert full.status_code == 409 and full.json()["code"] == "conflict"
        assert body == {"status": "ok", "sessionId": session_id, "turnId": turn_id,
                        "result": {"actionType": "turn.steer", "status": "performed",
                                   "details": {"threadId": session_id, "turnId": turn_id}}}
        await http.post(f"/api/tool-calls/{row['requestId']}/response",
                        json=tool_reply("sunny"))
        detail = await turn_status(http, session_id, turn_id)
        users = [e["content"] for e in detail["transcript"]
                 if e["turnId"] == turn_id and e["role"] == "user"]
        assert users == [WEATHER_PROMPT, steered] + [f"more {n}" for n in range(31)]
        turn = next(t for t in detail["thread"]["turns"] if t["id"] == turn_id)
        assert turn["status"] == "completed"
        steered_items = [i for i in turn["items"] if i.get("type") == "userMessage"]
        assert len(steered_items) == 33
        late = await http.post(url.format(turn_id), json={"input": "too late"})
        assert late.status_code == 409 and late.json()["code"] == "conflict"
        assert (await http.delete(f"/api/sessions/{session_id}")).status_code == 200
        assert (await http.post(url.format(turn_id), json={"input": "x"})).status_code == 410


async def test_resume_replaces_the_dynamic_tools_and_persists(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        session_id = await create_session(http)
        url = f"/api/sessions/{session_id}/resume"
        assert (await http.post(url, json={"dynamicTools": "x"})).status_code == 400
        body = _ok(await http.post(url, json={"dynamicTools": [TIME_TOOL]}))
        assert body["session"]["sessionId"] == session_id and body["thread"]["id"] == session_id
        await send(http, session_id, "Please use lookup_time for Oslo.")
        (row,) = await pending_tool_calls(http, session_id)
        assert row["tool"] == "lookup_time"
        await http.post(f"/api/tool-calls/{row['requestId']}/response", json=tool_reply("9"))
    async with gateway_and_http(tmp_path) as (_, http):
        _ok(await http.post(url))  # no body: the tools stay
        await send(http, session_id, "Please use lookup_time for Rome.")
        (row,) = await pending_tool_calls(http, session_id)
        assert row["tool"] == "lookup_time"
        assert (await http.post("/api/sessions/nope/resume")).status_code == 404


async def test_a_fork_is_held_to_the_ceiling_of_now(tmp_path: Path) -> None:
    """A session made under a wider ceiling cannot be forked into a new one past today's."""
    wide = SessionCeiling(max_sandbox="danger-full-access", allow_network=True,
                          cwd_roots=(str(tmp_path),))
    async with gateway_and_http(tmp_path / "gw", ceiling=wide) as (_, http):
        session_id = await create_session(http, cwd=str(tmp_path),
                                          filesystemSandbox="danger-full-access",
                                          approvalPolicy="on-request", networkAccess="enabled")
        _ok(await http.post(f"/api/sessions/{session_id}/fork"))
    async with gateway_and_http(tmp_path / "gw", ceiling=SessionCeiling(
            cwd_roots=(str(tmp_path),))) as (_, http):
        before = await _listed(http)
        response = await http.post(f"/api/sessions/{session_id}/fork")
        assert response.status_code == 403, response.text
        assert await _listed(http) == before  # nothing was made


async def test_a_fork_copies_deeply_nested_settings_and_tools(tmp_path: Path) -> None:
    """Red team: settings values and tool schemas nested a few hundred levels are admitted
    (bodies parse up to ~960); the fork's copy.deepcopy hit the recursion limit: 500, after
    the runtime had already made (and announced) the new thread. Now they are copied."""
    depth = 900
    nested = "[" * depth + "]" * depth
    headers = {"content-type": "application/json"}
    async with gateway_and_http(tmp_path / "gw") as (_, http):
        session_id = await create_session(http)
        body = '{"scope":"session","key":"deep","value":' + nested + "}"
        _ok(await http.post(f"/api/sessions/{session_id}/settings", content=body,
                            headers=headers))
        tool = ('{"name":"deep_tool","description":"d","inputSchema":{"type":"object",'
                '"x":' + nested + "}}")
        _ok(await http.post(f"/api/sessions/{session_id}/resume",
                            content='{"dynamicTools":[' + tool + "]}", headers=headers))
        forked = _ok(await http.post(f"/api/sessions/{session_id}/fork"))
        fork_id = forked["session"]["sessionId"]
        settings = _ok(await http.get(f"/api/sessions/{fork_id}/settings"))["settings"]
        value, levels = settings["deep"], 0
        while isinstance(value, list) and value:
            value, levels = value[0], levels + 1
        assert levels == depth - 1 and value == []
        assert fork_id in await _listed(http)
    async with gateway_and_http(tmp_path / "gw") as (_, http):  # and it was stored
        settings = _ok(await http.get(f"/api/sessions/{fork_id}/settings"))["settings"]
        assert "deep" in settings


async def test_a_fork_is_written_whole_or_not_at_all(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Red team: the fork's session row was committed first and its turns and rows one
    commit at a time (their failures only logged), so a kill -9 midway left a session with
    part of the copy (3 825 of 20 000 rows), and a failing row write still answered 200 with
    a fork whose history was gone after a restart. Now one transaction: refused, nothing."""
    async with gateway_and_http(tmp_path / "gw") as (gateway, http):
        session_id = await create_session(http)
        await _answered_turn(http, session_id)
        for i in range(50):
            _ok(await http.post(f"/api/sessions/{session_id}/transcript/upsert", json={
                "messageId": f"note-{i}", "turnId": "notes", "role": "system",
                "type": "agent.note", "content": "n" * 100, "status": "complete"}))
        before = await _listed(http)

        def failing(*_: Any) -> None:
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(gateway.hub.store, "save_entries", failing)
        response = await http.post(f"/api/sessions/{session_id}/fork")
        assert response.status_code == 503, response.text
        assert await _listed(http) == before
        monkeypatch.undo()
        forked = _ok(await http.post(f"/api/sessions/{session_id}/fork"))
        fork_id = forked["session"]["sessionId"]
    async with gateway_and_http(tmp_path / "gw") as (_, http):
        assert sorted(await _listed(http)) == sorted([*before, fork_id])
        source = _ok(await http.get(f"/api/sessions/{session_id}"))
        copy = _ok(await http.get(f"/api/sessions/{fork_id}"))
        assert len(copy["transcript"]) == len(source["transcript"]) > 50
        assert len(copy["thread"]["turns"]) == 1


async def test_a_fork_past_the_session_limit_is_429(tmp_path: Path) -> None:
    """Each fork copies its source, so forks stop at `--fork-session-limit` live sessions;
    a deleted session makes room again."""
    ceiling = SessionCeiling(fork_session_limit=2)
    async with gateway_and_http(tmp_path, ceiling=ceiling) as (_, http):
        source = await create_session(http)
        first = _ok(await http.post(f"/api/sessions/{source}/fork"))["session"]["sessionId"]
        refused = await http.post(f"/api/sessions/{source}/fork")
        assert refused.status_code == 429, refused.text
        body = refused.json()
        assert body["status"] == "error" and body["code"] == "session_limit"
        assert "--fork-session-limit" in body["message"]
        assert body["details"] == {"method": "thread/fork", "sessionId": source, "limit": 2}
        assert sorted(await _listed(http)) == sorted([source, first])  # nothing was made
        assert (await http.delete(f"/api/sessions/{first}")).status_code == 200
        _ok(await http.post(f"/api/sessions/{source}/fork"))
    with pytest.raises(ValueError, match="fork_session_limit"):
        SessionCeiling(fork_session_limit=0)


async def test_archive_interrupts_the_running_turn(tmp_path: Path) -> None:
    """As upstream (which forwards `thread/archive`; codex 0.169 interrupts the thread's
    running turn): archiving a session mid-turn ends the turn `interrupted`, its pending
    tool call is gone, and the session is archived."""
    async with gateway_and_http(tmp_path) as (_, http):
        session_id = await create_session(http)
        running = await send(http, session_id)
        (row,) = await pending_tool_calls(http, session_id)
        body = _ok(await http.post(f"/api/sessions/{session_id}/archive"))
        assert body == {"status": "ok", "sessionId": session_id}
        detail = await turn_status(http, session_id, running)
        assert {t["id"]: t["status"] for t in detail["thread"]["turns"]}[running] == \
            "interrupted"
        late = await http.post(f"/api/tool-calls/{row['requestId']}/response",
                               json=tool_reply("too late"))
        assert late.status_code == 404, late.text
        assert await _listed(http, "true") == [session_id]
