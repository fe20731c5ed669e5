"""The codex runtime through the real gateway: the real `codex app-server`, driven by the
gateway over stdio, talking to the real playbook model server over the Responses API.

One model server and one gateway (so one app-server) serve the whole module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from teammesh.brain.server import ModelServerThread
from teammesh.gateway.session_policy import SessionCeiling

from .stack import Stack, codex_stack, echo_session
from .wire_helpers import (
    ECHO_TOOL,
    EventStream,
    answer_tool_call,
    create_session,
    echo_prompt,
    escalated_command_prompt,
    send_message,
    turn_status,
)

pytestmark = [pytest.mark.codex, pytest.mark.anyio]


# These tests drive approvals, full access and network on purpose: the operator's widest
# ceiling (every approval policy, since an approved command may leave the sandbox anyway).
WIDE = SessionCeiling(max_sandbox="danger-full-access", allow_network=True)


@pytest.fixture(scope="module")
def stack(codex_bin: Path, codex_data_dir: Path) -> Iterator[Stack]:
    with (
        ModelServerThread() as model,
        codex_stack(codex_bin, codex_data_dir, ceiling=WIDE,
                    model_base_url=f"{model.base_url}/v1") as stack,
    ):
        yield stack


def _codex_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "codex" in p.name()]


async def test_client_models_share_one_app_server_and_options_spawn_nothing(
    http: httpx.AsyncClient, stack: Stack, tmp_path: Path
) -> None:
    await create_session(http, cwd=str(stack.workspace), approvalPolicy="never")
    before = {p.pid for p in _codex_children()}
    assert before  # the module's app-server
    spy = tmp_path / "spy"
    spy.write_text(f"#!/bin/sh\ntouch {tmp_path / 'ran'}\n")
    spy.chmod(0o755)
    for model in (f"codex?codex_bin={spy}", f"codex?data_dir={tmp_path}",
                  "codex?model_base_url=http://127.0.0.1:9/v1"):
        response = await http.post("/api/sessions", json={"model": model})
        assert response.status_code == 400, response.text
    for i in range(12):  # model names are per thread: no new app-server for any of them
        await create_session(http, cwd=str(stack.workspace), approvalPolicy="never",
                             model=f"codex:playbook-{i}")
    assert {p.pid for p in _codex_children()} == before
    assert not (tmp_path / "ran").exists()


async def test_health_reports_the_running_app_server(http: httpx.AsyncClient) -> None:
    # A session makes sure the codex runtime is up, whatever the gateway does at start.
    await create_session(http, cwd=".", approvalPolicy="never")
    health = (await http.get("/api/health")).json()
    codex = health["codex"]
    assert codex["running"] is True and codex["initialized"] is True
    assert isinstance(codex["pid"], int) and codex["pid"] > 0


async def test_dynamic_tool_round_trip(http: httpx.AsyncClient, stack: Stack) -> None:
    session_id = await create_session(
        http,
        cwd=str(stack.workspace),
        approvalPolicy="never",
        filesystemSandbox="read-only",
        dynamicTools=[ECHO_TOOL],
    )
    async with EventStream(stack.base_url, session_id) as events:
        turn_id = await send_message(http, session_id, echo_prompt(7))

        signal = await events.event("app_server.request.item.tool.call")
        payload = signal["payload"]
        assert signal["threadId"] == session_id
        assert payload["params"]["tool"] == "team_echo"
        assert payload["params"]["arguments"] == {"value": 7}
        assert payload["session"]["id"] == session_id
        assert payload["context"] == {"threadId": session_id, "turnId": turn_id}
        request_id = str(payload["requestId"])

        listed = (await http.get(f"/api/sessions/{session_id}/tool-calls")).json()["data"]
        assert [row["requestId"] for row in listed] == [request_id]

        answered = await answer_tool_call(http, request_id, "echo says 7")
        assert answered.status_code == 200, answered.text
        assert answered.json()["status"] == "ok"

        completed = await events.turn_completed(turn_id)
        assert turn_status(completed) == "completed"

        resolved = events.of_type("tool_call_resolved")
        assert [(r["payload"]["status"], r["payload"]["success"]) for r in resolved] == [
            ("resolved", True)
        ]
        # codex itself saw our answer: the tool item completed with our content.
        tool_items = [
            f["payload"]["params"]["item"]
            for f in events.of_type("app_server.item.completed")
            if f["payload"]["params"]["item"]["type"] == "dynamicToolCall"
        ]
        assert [item["contentItems"] for item in tool_items] == [
            [{"type": "inputText", "text": "echo says 7"}]
        ]

    again = await answer_tool_call(http, request_id, "late")
    assert again.status_code == 404 and again.json()["status"] == "not_found"

    detail = (await http.get(f"/api/sessions/{session_id}")).json()
    assert [(t["id"], t["status"]) for t in detail["thread"]["turns"]] == [(turn_id, "completed")]
    replies = [
        e
        for e in detail["transcript"]
        if e["turnId"] == turn_id and e["role"] == "assistant" and e["status"] == "complete"
    ]
    # The model (the playbook brain behind codex) quotes the tool's output in its answer.
    assert replies and "echo says 7" in replies[-1]["content"]


async def test_the_unknown_model_warning_stays_out_of_the_log(
    http: httpx.AsyncClient, stack: Stack, codex_data_dir: Path
) -> None:
    """codex repeats "Unknown model ... fallback metadata" 10-15 times a turn on stderr for
    any model it has no metadata for; that one target is muted (codex_config), the rest of
    the log is not, and clients still get the `warning` notification."""
    session_id = await create_session(http, cwd=str(stack.workspace), approvalPolicy="never")
    async with EventStream(stack.base_url, session_id) as events:
        turn_id = await send_message(http, session_id, "Say hello.")
        assert turn_status(await events.turn_completed(turn_id)) == "completed"
        warnings = [f["payload"]["params"].get("message", "")
                    for f in events.of_type("app_server.warning")]
    assert any("playbook" in w for w in warnings), warnings
    log = (codex_data_dir / "gateway" / "codex" / "app-server.log").read_text()
    assert "Unknown model" not in log


@pytest.mark.parametrize("decision", ["accept", "decline"])
async def test_approval_round_trip(http: httpx.AsyncClient, stack: Stack, decision: str) -> None:
    workspace = stack.workspace / f"approval-{decision}"
    workspace.mkdir()
    marker = workspace / "marker.txt"
    session_id = await create_session(
        http, cwd=str(workspace), approvalPolicy="on-request", filesystemSandbox="read-only"
    )
    async with EventStream(stack.base_url, session_id) as events:
        turn_id = await send_message(
            http, session_id, escalated_command_prompt("echo approved > marker.txt")
        )
        approval = (await events.event("approval"))["payload"]
        assert approval["method"] == "item/commandExecution/requestApproval"
        assert approval["threadId"] == session_id and approval["turnId"] == turn_id
        assert approval["status"] == "pending"
        assert "marker.txt" in approval["summary"]
        approval_id = approval["approvalId"]

        pending = (await http.get(f"/api/sessions/{session_id}/approvals")).json()["data"]
        assert [row["approvalId"] for row in pending] == [approval_id]

        decided = await http.post(
            f"/api/approvals/{approval_id}/decision", json={"decision": decision}
        )
        assert decided.status_code == 200, decided.text
        assert decided.json() == {"status": "ok", "approvalId": approval_id, "threadId": session_id}

        resolved = (await events.event("approval_resolved"))["payload"]
        assert resolved["approvalId"] == approval_id and resolved["decision"] == decision
        completed = await events.turn_completed(turn_id)
        assert turn_status(completed) == "completed"

        commands = [
            f["payload"]["params"]["item"]
            for f in events.of_type("app_server.item.completed")
            if f["payload"]["params"]["item"]["type"] == "commandExecution"
        ]
    assert [c["status"] for c in commands] == (
        ["completed"] if decision == "accept" else ["declined"]
    )
    # The sandbox is read-only: only an accepted escalation can write the file.
    assert marker.exists() is (decision == "accept")
    assert (await http.get(f"/api/sessions/{session_id}/approvals")).json()["data"] == []


async def test_interrupt_while_a_tool_call_is_unanswered(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    session_id = await echo_session(http, stack)
    async with EventStream(stack.base_url, session_id) as events:
        turn_id = await send_message(http, session_id, echo_prompt(1))
        signal = await events.event("app_server.request.item.tool.call")
        request_id = str(signal["payload"]["requestId"])

        interrupted = await http.post(f"/api/sessions/{session_id}/interrupt", json={})
        assert interrupted.status_code == 200, interrupted.text
        assert interrupted.json()["turnId"] == turn_id

        completed = await events.turn_completed(turn_id)
        assert turn_status(completed) == "interrupted"
        expired = (await events.event("tool_call_resolved"))["payload"]
        assert expired == {"requestId": request_id, "status": "expired", "success": False}

    late = await answer_tool_call(http, request_id, "too late")
    assert late.status_code == 404
    # The session stays usable: the next turn runs to completion.
    async with EventStream(stack.base_url, session_id) as events:
        turn_id = await send_message(http, session_id, "Say hello.")
        assert turn_status(await events.turn_completed(turn_id)) == "completed"


async def test_wire_controls_codex_does_not_spell_the_same_way(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    # `on-failure` is rejected by app-server's thread/start and turn/start; the runtime maps
    # it (to on-request). workspace-write + network enabled is a per-turn sandboxPolicy.
    session_id = await create_session(
        http,
        cwd=str(stack.workspace),
        approvalPolicy="on-failure",
        filesystemSandbox="workspace-write",
        networkAccess="enabled",
    )
    async with EventStream(stack.base_url, session_id) as events:
        turn_id = await send_message(http, session_id, "Say hello.")
        assert turn_status(await events.turn_completed(turn_id)) == "completed"
        # A per-turn override that persists: the next turns run with full access.
        response = await http.post(
            f"/api/sessions/{session_id}/messages",
            json={"text": "Say hello again.", "filesystemSandbox": "danger-full-access"},
        )
        assert response.status_code == 202, response.text
        turn_id = response.json()["turnId"]
        assert turn_status(await events.turn_completed(turn_id)) == "completed"
    detail = (await http.get(f"/api/sessions/{session_id}")).json()
    assert detail["session"]["sessionControls"]["filesystemSandbox"] == "danger-full-access"
