"""The registry's observer: it hears each dispatch result once (a refusal before any
handler included), never a duplicate of an answered request id, and a failing observer
does not keep the answer from going out."""

from __future__ import annotations

from typing import Any

import pytest

from teammesh.client import AsyncCodexManager, RemoteSkillDispatch, SkillContext
from teammesh.gateway.embedded import GatewayThread

from .conftest import steps_prompt

pytestmark = pytest.mark.anyio
ECHO_SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}},
               "required": ["text"], "additionalProperties": False}


def _register(draft: Any) -> None:
    def echo(ctx: SkillContext, text: str) -> str:
        return f"{ctx.request_id}:{text.upper()}"

    draft.register("echo", echo, description="Echo.", input_schema=ECHO_SCHEMA)


async def test_the_observer_hears_each_call_once_and_never_a_replay(
    gateway: GatewayThread,
) -> None:
    heard: list[RemoteSkillDispatch] = []
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        _created, handle = await cm.remote_skills.create_session(register=_register)
        handle.registry.observe(heard.append)
        result = await handle.send_and_handle(
            steps_prompt([("echo", {"text": "a"}), ("echo", {"text": 5})]),
            inject_skills=False, timeout_seconds=20, interval_seconds=0.02)
        answered = [d for d in result.dispatches if not d.duplicate]
        assert [(d.tool, d.handled) for d in answered] == [("echo", True), ("echo", False)]
        assert heard == answered  # the refusal (invalid arguments) is heard too
        assert heard[1].error == "invalid arguments: $.text: expected a string, got an integer"
        # Replaying an answered request id runs nothing, POSTs nothing: nothing is heard.
        row = {"tool": "echo", "arguments": {"text": "a"}, "requestId": heard[0].request_id,
               "threadId": handle.session_id}
        replay = await handle.respond_to_pending_call(row)
        assert replay is not None and replay.duplicate
        assert len(heard) == 2


async def test_a_failing_observer_does_not_strand_the_answer(gateway: GatewayThread) -> None:
    def broken(dispatch: RemoteSkillDispatch) -> None:
        raise RuntimeError("observer down")

    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        _created, handle = await cm.remote_skills.create_session(register=_register)
        handle.registry.observe(broken)
        result = await handle.send_and_handle(
            steps_prompt([("echo", {"text": "a"})]), inject_skills=False,
            timeout_seconds=20, interval_seconds=0.02)
        (dispatch,) = [d for d in result.dispatches if not d.duplicate]
        assert (dispatch.handled, dispatch.submission_status) == (True, "ok")
        assert dispatch.result == f"{dispatch.request_id}:A"
