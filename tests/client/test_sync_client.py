"""The sync twin `CodexManager`: the same behaviour through the private event-loop thread."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from teammesh.client import (
    AppServerSignal,
    CodexManager,
    NotFoundError,
    RemoteSkillDispatch,
    RemoteSkillSession,
    SkillContext,
    StreamContext,
)
from teammesh.gateway.embedded import GatewayThread

from .conftest import steps_prompt


def test_sync_domains_scope_and_waits(gateway: GatewayThread) -> None:
    with CodexManager(base_url=gateway.base_url) as cm:
        assert cm.system.health()["status"] == "ok"
        session_id = cm.sessions.create(cwd=".")["session"]["sessionId"]
        scope = cm.session(session_id)
        assert scope.rename("sync")["status"] == "ok"
        reply = cm.wait.send_message_and_wait_reply(
            session_id=session_id, text="hi", interval_seconds=0.02
        )
        assert reply.assistant_reply
        assert cm.wait.turn_status(session_id=session_id, turn_id=reply.turn_id) == "completed"
        # A sync poll may call the sync client: it runs in a worker thread.
        detail = cm.wait.until(
            lambda: cm.sessions.get(session_id),
            predicate=lambda d: d["session"]["title"] == "sync",
            timeout_seconds=5,
        )
        assert detail["session"]["sessionId"] == session_id
        with pytest.raises(NotFoundError) as missing:
            cm.sessions.get("ghost")
        assert missing.value.details.status_code == 404
        assert scope.delete()["status"] == "ok"
    with pytest.raises(RuntimeError, match="closed"):
        cm.system.health()


def test_sync_remote_skills_with_stream_and_polling(gateway: GatewayThread) -> None:
    runs: Counter[str] = Counter()
    titles: list[str] = []
    with CodexManager(base_url=gateway.base_url) as cm:

        def register(skills: RemoteSkillSession) -> None:
            @skills.skill()
            def echo(text: str, ctx: SkillContext) -> str:
                runs[ctx.request_id or "?"] += 1
                # A sync handler may use the sync client (it runs in a worker thread).
                titles.append(cm.sessions.get(ctx.session_id)["session"]["title"])
                return text.upper()

        created, skills = cm.remote_skills.create_session(register=register)
        assert created["session"]["sessionId"] == skills.session_id
        assert [t["name"] for t in skills.dynamic_tools()] == ["echo"]

        # Polling path.
        result = skills.send_and_handle(
            steps_prompt([("echo", {"text": "p"})]), inject_skills=False, interval_seconds=0.02
        )
        assert [(d.result, d.submission_status) for d in result.dispatches] == [("P", "ok")]

        # Stream path, in a thread with a threading.Event to stop it.
        signals: list[RemoteSkillDispatch | None] = []

        @cm.on_app_server_request("item.tool.call")
        def on_call(signal: AppServerSignal, ctx: StreamContext) -> None:
            signals.append(skills.respond_to_signal(signal))

        stop = threading.Event()
        runner = threading.Thread(target=lambda: cm.stream.run_forever(stop_event=stop))
        runner.start()
        try:
            cm.wait.until(
                lambda: cm.turns.covers(skills.session_id),
                timeout_seconds=10,
                interval_seconds=0.01,
            )
            accepted = skills.send(steps_prompt([("echo", {"text": "s"})]), inject_skills=False)
            reply = cm.wait.assistant_reply(
                session_id=skills.session_id, turn_id=accepted["turnId"], timeout_seconds=20
            )
            assert reply.assistant_reply
        finally:
            stop.set()
            runner.join(timeout=10)
        assert not runner.is_alive()
        assert [(d.result, d.source) for d in signals if d is not None] == [("S", "signal")]
        assert set(runs.values()) == {1} and len(runs) == 2
        assert titles == ["New chat", "New chat"]

        def async_register(skills: RemoteSkillSession) -> Any:
            async def nope() -> None:
                return None

            return nope()

        with pytest.raises(TypeError, match="must be sync"):
            cm.remote_skills.create_session(register=async_register)

        with cm.remote_skills.lifecycle(register=register) as life:
            assert life.skills.list()[0].name == "echo"
        assert cm.sessions.get(life.session_id)["status"] == "deleted"


def test_sync_twin_paths_race_without_duplicates(gateway: GatewayThread) -> None:
    """The sync stream (own thread) and a polling loop (another thread) on one session."""
    runs: Counter[str] = Counter()
    posts: Counter[str] = Counter()
    with CodexManager(base_url=gateway.base_url) as cm:
        cm.after("tool_calls.respond")(
            lambda call, response: posts.update([call.path.split("/")[2]])
        )

        def register(skills: RemoteSkillSession) -> None:
            @skills.skill()
            def echo(text: str, ctx: SkillContext) -> str:
                runs[ctx.request_id or "?"] += 1
                return text

        _, skills = cm.remote_skills.create_session(register=register)
        cm.on_app_server_request("item.tool.call")(
            lambda signal, ctx: skills.respond_to_signal(signal)
        )
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                skills.drain_pending_calls()
                stop.wait(0.002)

        threads = [
            threading.Thread(target=lambda: cm.stream.run_forever(stop_event=stop)),
            threading.Thread(target=poll),
        ]
        for thread in threads:
            thread.start()
        try:
            for turn in range(2):
                accepted = skills.send(
                    steps_prompt([("echo", {"text": f"{turn}-{i}"}) for i in range(8)]),
                    inject_skills=False,
                )
                cm.wait.assistant_reply(
                    session_id=skills.session_id, turn_id=accepted["turnId"], timeout_seconds=30
                )
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
    assert len(runs) == 16 and set(runs.values()) == {1}, runs
    assert set(posts) == set(runs) and set(posts.values()) == {1}, posts
