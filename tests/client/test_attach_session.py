"""`remote_skills.attach_session`: handlers bound to a session that already exists, by a
client that did not create it (a restarted program), against the real gateway."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from teammesh.client import (
    AsyncCodexManager,
    AsyncRemoteSkillSession,
    CodexManager,
    GoneError,
    NotFoundError,
    RemoteSkillSession,
    SkillContext,
)
from teammesh.gateway.embedded import GatewayThread

from .conftest import steps_prompt

pytestmark = pytest.mark.anyio


def _register(runs: Counter[str], tag: str) -> Any:
    """One `echo` skill whose runs are counted under `tag` (which client served the call)."""

    def register(skills: AsyncRemoteSkillSession | RemoteSkillSession) -> None:
        @skills.skill(description="Echo text back in capitals.")
        def echo(text: str, ctx: SkillContext) -> str:
            runs[tag] += 1
            return f"{tag}:{text.upper()}"

    return register


async def test_attached_handlers_answer_a_call_left_pending_by_the_creator(
    gateway: GatewayThread,
) -> None:
    runs: Counter[str] = Counter()
    async with AsyncCodexManager(base_url=gateway.base_url) as first:
        _, created = await first.remote_skills.create_session(register=_register(runs, "first"))
        session_id = created.session_id
        accepted = await created.send(steps_prompt([("echo", {"text": "left"})]),
                                      inject_skills=False)
        async with asyncio.timeout(20):
            while not (await first.sessions.tool_calls(session_id))["data"]:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    # The creator is gone with its call unanswered; a new client takes the session over.
    async with AsyncCodexManager(base_url=gateway.base_url) as second:

        async def register(skills: AsyncRemoteSkillSession) -> None:  # async callbacks work
            _register(runs, "second")(skills)

        attached = await second.remote_skills.attach_session(session_id, register=register)
        assert attached.session_id == session_id
        assert [skill.name for skill in attached.list()] == ["echo"]
        # Every handle of the id shares the attached catalog, which stays locked.
        assert second.remote_skills.session(session_id).registry is attached.registry
        with pytest.raises(RuntimeError, match="create-time only"):
            attached.register("late", lambda: None)
        dispatches = await attached.drain_pending_calls()
        assert [(d.tool, d.result, d.submission_status) for d in dispatches] == [
            ("echo", "second:LEFT", "ok")]
        status = await second.wait.turn_completed(session_id=session_id,
                                                  turn_id=accepted["turnId"],
                                                  timeout_seconds=20, interval_seconds=0.02)
        assert status == "completed"
        # A later turn is served by the attached handlers too.
        result = await attached.send_and_handle(
            steps_prompt([("echo", {"text": "next"})]), inject_skills=False,
            timeout_seconds=20, interval_seconds=0.02)
        assert result.status == "completed"
        assert [d.result for d in result.dispatches] == ["second:NEXT"]
    assert runs == Counter({"second": 2})


async def test_attaching_again_replaces_the_handlers(gateway: GatewayThread) -> None:
    runs: Counter[str] = Counter()
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        _, created = await cm.remote_skills.create_session(register=_register(runs, "old"))
        attached = await cm.remote_skills.attach_session(created.session_id,
                                                         register=_register(runs, "new"))
        result = await attached.send_and_handle(
            steps_prompt([("echo", {"text": "x"})]), inject_skills=False,
            timeout_seconds=20, interval_seconds=0.02)
        assert [d.result for d in result.dispatches] == ["new:X"]
        # Without `register` the session is attached with no handlers at all.
        bare = await cm.remote_skills.attach_session(created.session_id)
        assert bare.list() == []
        assert cm.remote_skills.session(created.session_id).list() == []
    assert runs == Counter({"new": 1})


async def test_unknown_and_deleted_sessions_are_refused(gateway: GatewayThread) -> None:
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        with pytest.raises(NotFoundError) as missing:
            await cm.remote_skills.attach_session("ghost", register=_register(Counter(), "x"))
        assert missing.value.details.status_code == 404
        _, created = await cm.remote_skills.create_session()
        await cm.sessions.delete(created.session_id)
        with pytest.raises(GoneError, match="was deleted") as gone:
            await cm.remote_skills.attach_session(created.session_id)
        assert gone.value.details.status_code == 410


def test_sync_attach_session(gateway: GatewayThread) -> None:
    runs: Counter[str] = Counter()
    with CodexManager(base_url=gateway.base_url) as creator:
        _, created = creator.remote_skills.create_session(register=_register(runs, "first"))
    with CodexManager(base_url=gateway.base_url) as cm:
        attached = cm.remote_skills.attach_session(created.session_id,
                                                   register=_register(runs, "sync"))
        assert isinstance(attached, RemoteSkillSession)
        result = attached.send_and_handle(
            steps_prompt([("echo", {"text": "s"})]), inject_skills=False,
            timeout_seconds=20, interval_seconds=0.02)
        assert [d.result for d in result.dispatches] == ["sync:S"]

        def async_register(skills: RemoteSkillSession) -> Any:
            async def nope() -> None:
                return None

            return nope()

        with pytest.raises(TypeError, match="must be sync"):
            cm.remote_skills.attach_session(created.session_id, register=async_register)
        with pytest.raises(NotFoundError):
            cm.remote_skills.attach_session("ghost")
    assert runs == Counter({"sync": 1})
