"""Remote skills answer tool calls over the stream's websocket when the gateway grants the
`toolCallAnswers` extension, and POST them when it does not (client/stream_answers.py).

Both against the real gateway: one with its extensions on (the default), one started with
them off (`ServerLimits(ws_extensions=False)`, what codex-manager's stream looks like).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from teammesh.client import AppServerSignal, AsyncCodexManager, StreamContext
from teammesh.client.remote_skills.models import RemoteSkillDispatch
from teammesh.client.remote_skills.session import AsyncRemoteSkillSession
from teammesh.client.request import RequestCall
from teammesh.gateway.embedded import GatewayThread
from teammesh.serving.limits import ServerLimits

from .conftest import steps_prompt

pytestmark = pytest.mark.anyio


def _register_echo(runs: Counter[str]) -> Any:
    def register(draft: AsyncRemoteSkillSession) -> None:
        def echo(text: str) -> str:
            runs[text] += 1
            return text.upper()

        draft.register("echo", echo, input_schema={
            "type": "object", "properties": {"text": {"type": "string"}},
            "required": ["text"], "additionalProperties": False})

    return register


async def _turn_with_calls(base_url: str, calls: int, *, inline: bool
                           ) -> tuple[Counter[str], Counter[str], list[RemoteSkillDispatch],
                                      str | None]:
    """One turn of `calls` echo calls answered from the stream; (handler runs, POSTs per
    request id, dispatches, the assistant's reply). `inline`: the stream handler awaits
    the answer itself (its acknowledgement arrives on the socket that handler blocks)."""
    runs: Counter[str] = Counter()
    posts: Counter[str] = Counter()
    dispatched: list[RemoteSkillDispatch] = []
    running: set[asyncio.Task[Any]] = set()
    async with AsyncCodexManager(base_url=base_url) as cm:
        def count(call: RequestCall, response: Any) -> None:
            posts.update([call.path.split("/")[2]])

        cm.after("tool_calls.respond")(count)
        _, skills = await cm.remote_skills.create_session(register=_register_echo(runs))

        async def answer(signal: AppServerSignal) -> None:
            dispatch = await skills.respond_to_signal(signal)
            if dispatch is not None:
                dispatched.append(dispatch)

        @cm.on_app_server_request("item.tool.call")
        async def on_call(signal: AppServerSignal, ctx: StreamContext) -> None:
            if inline:
                await answer(signal)
                return
            task = asyncio.ensure_future(answer(signal))
            running.add(task)
            task.add_done_callback(running.discard)

        stop = asyncio.Event()
        stream = asyncio.create_task(cm.stream.run_forever(stop_event=stop))
        try:
            async with asyncio.timeout(10):
                while not cm.turns.covers(skills.session_id):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            prompt = steps_prompt([("echo", {"text": f"c{i}"}) for i in range(calls)])
            accepted = await skills.send(prompt, inject_skills=False)
            reply = await cm.wait.assistant_reply(
                session_id=skills.session_id, turn_id=accepted["turnId"], timeout_seconds=30)
        finally:
            stop.set()
            await asyncio.wait_for(stream, 10)
    return runs, posts, dispatched, reply.assistant_reply


@pytest.mark.parametrize("inline", [False, True])
async def test_answers_go_over_the_socket_when_granted(tmp_path: Path, inline: bool) -> None:
    with GatewayThread(data_dir=tmp_path / "gateway") as gateway:
        runs, posts, dispatched, reply = await _turn_with_calls(gateway.base_url, 6,
                                                                inline=inline)
    assert reply
    assert runs == Counter({f"c{i}": 1 for i in range(6)})
    assert posts == Counter()  # not one HTTP answer
    assert [d.submission_status for d in dispatched] == ["ok"] * 6
    assert all(d.handled and not d.answered_elsewhere for d in dispatched)


async def test_answers_fall_back_to_http_when_the_gateway_has_them_off(tmp_path: Path) -> None:
    limits = ServerLimits(ws_extensions=False)
    with GatewayThread(data_dir=tmp_path / "gateway", limits=limits) as gateway:
        runs, posts, dispatched, reply = await _turn_with_calls(gateway.base_url, 4,
                                                                inline=False)
    assert reply
    assert runs == Counter({f"c{i}": 1 for i in range(4)})
    assert sorted(posts.values()) == [1, 1, 1, 1]  # one POST per call, as before
    assert [d.submission_status for d in dispatched] == ["ok"] * 4


async def test_a_replayed_call_over_the_socket_is_answered_elsewhere(tmp_path: Path) -> None:
    """The desk's exactly-once rule holds over the socket: a second client answering the
    same id gets the 404 (accepted, idempotent, answered elsewhere), never a second run."""
    with GatewayThread(data_dir=tmp_path / "gateway") as gateway:
        runs: Counter[str] = Counter()
        async with AsyncCodexManager(base_url=gateway.base_url) as cm:
            _, skills = await cm.remote_skills.create_session(register=_register_echo(runs))
            seen: list[AppServerSignal] = []
            cm.on_app_server_request("item.tool.call")(
                lambda signal, ctx: seen.append(signal))
            stop = asyncio.Event()
            stream = asyncio.create_task(cm.stream.run_forever(stop_event=stop))
            try:
                async with asyncio.timeout(10):
                    while not cm.turns.covers(skills.session_id):  # noqa: ASYNC110
                        await asyncio.sleep(0.01)
                    await skills.send(steps_prompt([("echo", {"text": "x"})]),
                                      inject_skills=False)
                    while not seen:  # noqa: ASYNC110
                        await asyncio.sleep(0.01)
                request_id = str(seen[0].request_id)
                first = await cm.tool_calls.respond(request_id, text="by http")
                assert first["status"] == "ok"
                again = await cm.stream.answers.answer(request_id, {"text": "over ws"})
                assert again == {"status": "not_found", "requestId": request_id}
                dispatch = await skills.respond_to_signal(seen[0])
                assert dispatch is not None and dispatch.answered_elsewhere
                assert dispatch.submission_status == "not_found"
            finally:
                stop.set()
                await asyncio.wait_for(stream, 10)
