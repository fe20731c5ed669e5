"""The codex runtime when things go wrong: an unanswered tool call past its deadline, and an
app-server that dies in the middle of a turn. Real gateway, real app-server, real model
server; the crash is a real SIGKILL of the child process.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from teammesh.brain.server import ModelServerThread
from teammesh.gateway.embedded import start_gateway
from teammesh.gateway.runtimes.registry import RuntimeSettings

from .stack import Stack, codex_stack, echo_session
from .wire_helpers import (
    ECHO_TOOL,
    EventStream,
    answer_tool_call,
    create_session,
    echo_prompt,
    send_message,
    turn_status,
)

pytestmark = [pytest.mark.codex, pytest.mark.anyio]

# Short, so the deadline test is quick; the crash test answers its calls well within it.
TOOL_CALL_DEADLINE_S = 3.0


@pytest.fixture(scope="module")
def model_url() -> Iterator[str]:
    with ModelServerThread() as model:
        yield f"{model.base_url}/v1"


@pytest.fixture(scope="module")
def stack(codex_bin: Path, codex_data_dir: Path, model_url: str) -> Iterator[Stack]:
    with codex_stack(codex_bin, codex_data_dir, model_base_url=model_url,
                     tool_call_deadline_s=TOOL_CALL_DEADLINE_S) as stack:
        yield stack


async def app_server_pid(http: httpx.AsyncClient) -> int:
    codex = (await http.get("/api/health")).json()["codex"]
    assert codex["running"] is True
    pid = codex["pid"]
    assert isinstance(pid, int)
    return pid


async def test_unanswered_tool_call_is_interrupted_at_its_deadline(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    session_id = await echo_session(http, stack)
    async with EventStream(stack.base_url, session_id) as events:
        turn_id = await send_message(http, session_id, echo_prompt(3))
        signal_frame = await events.event("app_server.request.item.tool.call")
        request_id = str(signal_frame["payload"]["requestId"])
        # Nobody answers: the runtime's deadline interrupts the turn.
        completed = await events.turn_completed(turn_id, timeout_s=TOOL_CALL_DEADLINE_S + 20)
        assert turn_status(completed) == "interrupted"
        expired = (await events.event("tool_call_resolved"))["payload"]
        assert expired == {"requestId": request_id, "status": "expired", "success": False}
    assert (await http.get(f"/api/sessions/{session_id}/tool-calls")).json()["data"] == []


async def test_app_server_crash_mid_turn(http: httpx.AsyncClient, stack: Stack) -> None:
    # Two sessions: one that has run a turn (it has a rollout to resume from) and one that
    # only exists (codex must re-create it under the same id).
    busy = await echo_session(http, stack)
    idle = await echo_session(http, stack)
    old_pid = await app_server_pid(http)

    async with EventStream(stack.base_url, busy) as events:
        turn_id = await send_message(http, busy, echo_prompt(5))
        signal_frame = await events.event("app_server.request.item.tool.call")
        request_id = str(signal_frame["payload"]["requestId"])

        os.kill(old_pid, signal.SIGKILL)

        # The hub marks the turn and expires the pending call.
        completed = await events.turn_completed(turn_id)
        assert turn_status(completed) == "interrupted"
        error = completed["payload"]["params"]["turn"]["error"]
        assert "codex app-server killed by signal 9" in error["message"]
        expired = (await events.event("tool_call_resolved"))["payload"]
        assert expired == {"requestId": request_id, "status": "expired", "success": False}

    late = await answer_tool_call(http, request_id, "from before the crash")
    assert late.status_code == 404
    detail = (await http.get(f"/api/sessions/{busy}")).json()
    assert [(t["id"], t["status"]) for t in detail["thread"]["turns"]] == [(turn_id, "interrupted")]

    # The next use restarts app-server and resumes the thread; its tools still work.
    for session_id, value in ((busy, 6), (idle, 8)):
        async with EventStream(stack.base_url, session_id) as events:
            turn_id = await send_message(http, session_id, echo_prompt(value))
            signal_frame = await events.event("app_server.request.item.tool.call")
            assert signal_frame["threadId"] == session_id
            assert signal_frame["payload"]["params"]["arguments"] == {"value": value}
            answered = await answer_tool_call(
                http, str(signal_frame["payload"]["requestId"]), f"echo {value}"
            )
            assert answered.status_code == 200, answered.text
            completed = await events.turn_completed(turn_id)
            assert turn_status(completed) == "completed"
            assert completed["threadId"] == session_id

    new_pid = await app_server_pid(http)
    assert new_pid != old_pid


async def run_echo_turn(http: httpx.AsyncClient, base_url: str, session_id: str, value: int) -> str:
    async with EventStream(base_url, session_id) as events:
        turn_id = await send_message(http, session_id, echo_prompt(value))
        signal_frame = await events.event("app_server.request.item.tool.call")
        assert signal_frame["payload"]["params"]["arguments"] == {"value": value}
        answered = await answer_tool_call(
            http, str(signal_frame["payload"]["requestId"]), f"echo {value}"
        )
        assert answered.status_code == 200, answered.text
        completed = await events.turn_completed(turn_id)
        assert turn_status(completed) == "completed"
    return turn_id


async def test_sessions_survive_gateway_restarts(
    codex_bin: Path, codex_data_dir: Path, model_url: str
) -> None:
    data_dir = codex_data_dir / "restarts"
    workspace = codex_data_dir / "restarts-workspace"
    workspace.mkdir()
    settings = RuntimeSettings(
        data_dir=data_dir, codex_bin=str(codex_bin), model_base_url=model_url
    )

    async with start_gateway(data_dir=data_dir, runtime="codex", settings=settings) as gateway:
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http:
            body = {"cwd": str(workspace), "approvalPolicy": "never", "dynamicTools": [ECHO_TOOL]}
            ran = await create_session(http, **body)
            ran_turns = [await run_echo_turn(http, gateway.base_url, ran, 1)]
            # Never runs a turn before the restart: codex has no rollout for it.
            fresh = await create_session(http, **body)

    thread_map = data_dir / "codex" / "thread-ids.json"
    recreated_as = None
    for restart in range(2):
        async with start_gateway(data_dir=data_dir, runtime="codex", settings=settings) as gateway:
            async with httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http:
                ran_turns.append(await run_echo_turn(http, gateway.base_url, ran, 2 + restart))
                await run_echo_turn(http, gateway.base_url, fresh, 5 + restart)
                turns = (await http.get(f"/api/sessions/{ran}")).json()["thread"]["turns"]
                assert [t["id"] for t in turns] == ran_turns
        # The resumed thread kept its id; the re-created one is mapped, once and for good.
        mapping = json.loads(thread_map.read_text())
        assert list(mapping) == [fresh] and ran not in mapping.values()
        recreated_as = recreated_as or mapping[fresh]
        assert mapping[fresh] == recreated_as
