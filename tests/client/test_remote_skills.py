"""Remote skills against the real gateway: catalog at creation, both dispatch paths, exactly
once when they race, submission outcomes, lifecycle."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from teammesh.client import (
    AppServerSignal,
    AsyncCodexManager,
    AsyncRemoteSkillSession,
    RequestCall,
    SkillContext,
    StreamContext,
)
from teammesh.client.remote_skills.submission import submit_response
from teammesh.gateway.embedded import GatewayThread

from .conftest import steps_prompt

pytestmark = pytest.mark.anyio


def _register_echo(runs: Counter[str], contexts: list[SkillContext] | None = None) -> Any:
    def register(skills: AsyncRemoteSkillSession) -> None:
        @skills.skill(description="Echo text back in capitals.")
        async def echo(text: str, ctx: SkillContext) -> str:
            runs[ctx.request_id or "?"] += 1
            if contexts is not None:
                contexts.append(ctx)
            await asyncio.sleep(0.01)  # long enough for the other path to see it pending
            return text.upper()

        @skills.skill()
        def bounded(limit: int) -> dict[str, int]:
            """Needs a limit.

            Args:
                limit: between 1 and 5
            """
            return {"limit": limit}

        skills.registry.skills["bounded"].input_schema = {
            "type": "object",
            "properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 5}},
            "required": ["limit"],
            "additionalProperties": False,
        }

    return register


async def test_create_session_sends_sorted_catalog_and_polling_path_serves_it(
    gateway: GatewayThread,
) -> None:
    bodies: list[Any] = []
    runs: Counter[str] = Counter()
    contexts: list[SkillContext] = []
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        cm.before("sessions.create")(lambda call: bodies.append(call.json_body))
        created, skills = await cm.remote_skills.create_session(
            register=_register_echo(runs, contexts), cwd=".", approval_policy="never"
        )
        assert skills.session_id == created["session"]["sessionId"]
        assert [t["name"] for t in bodies[0]["dynamicTools"]] == ["bounded", "echo"]
        assert bodies[0]["cwd"] == "."
        with pytest.raises(RuntimeError, match="create-time only"):
            skills.register("late", lambda: None)

        prompt = steps_prompt(
            [("echo", {"text": "one"}), ("bounded", {"limit": 9}), ("echo", {"text": "two"})]
        )
        result = await skills.send_and_handle(
            prompt, inject_skills=False, timeout_seconds=20, interval_seconds=0.02
        )
        assert result.status == "completed"
        assert result.assistant_reply
        by_tool = [(d.tool, d.handled, d.submission_status) for d in result.dispatches]
        assert by_tool == [
            ("echo", True, "ok"),
            ("bounded", False, "ok"),  # refused before the handler, reported to the agent
            ("echo", True, "ok"),
        ]
        assert result.dispatches[1].error == "invalid arguments: $.limit: must be <= 5, got 9"
        assert [d.result for d in result.dispatches if d.tool == "echo"] == ["ONE", "TWO"]
        assert all(count == 1 for count in runs.values()) and len(runs) == 2
        # The handler learned the request id of the call it served.
        assert [c.request_id for c in contexts] == [
            str(d.request_id) for d in result.dispatches if d.tool == "echo"
        ]
        assert all(
            c.session_id == skills.session_id and c.turn_id == result.turn_id for c in contexts
        )
        assert all(c.source == "polling" for c in contexts)


async def test_signal_path(gateway: GatewayThread) -> None:
    runs: Counter[str] = Counter()
    dispatched: list[Any] = []
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        _, skills = await cm.remote_skills.create_session(register=_register_echo(runs))
        _, stranger = await cm.remote_skills.create_session(register=_register_echo(Counter()))

        @cm.on_app_server_request("item.tool.call")
        async def on_call(signal: AppServerSignal, ctx: StreamContext) -> None:
            assert not stranger.matches_signal(signal)
            assert await stranger.respond_to_signal(signal) is None
            dispatched.append(await skills.respond_to_signal(signal))

        stop = asyncio.Event()
        task = asyncio.create_task(cm.stream.run_forever(stop_event=stop))
        try:
            async with asyncio.timeout(10):
                while not cm.turns.covers(skills.session_id):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            accepted = await skills.send(
                steps_prompt([("echo", {"text": "a"}), ("echo", {"text": "b"})]),
                inject_skills=False,
            )
            reply = await cm.wait.assistant_reply(
                session_id=skills.session_id, turn_id=accepted["turnId"], timeout_seconds=20
            )
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        assert "done" in reply.assistant_reply or reply.assistant_reply
        assert [(d.source, d.result, d.submission_status) for d in dispatched] == [
            ("signal", "A", "ok"),
            ("signal", "B", "ok"),
        ]
        # A replayed signal is a local duplicate: no handler run, no POST.
        posts: list[str] = []
        cm.after("tool_calls.respond")(lambda call, response: posts.append(call.path))
        signal = AppServerSignal(
            event_type="app_server.request.item.tool.call",
            method="item/tool/call",
            signal_type="request",
            received_at=None,
            context={"threadId": skills.session_id},
            params={"tool": "echo", "arguments": {"text": "a"}},
            session={"id": skills.session_id},
            request_id=dispatched[0].request_id,
        )
        again = await skills.respond_to_signal(signal)
        assert (
            again is not None and again.duplicate and again.submission_status == "local_duplicate"
        )
        assert posts == [] and sum(runs.values()) == 2


async def test_signal_and_polling_race_without_duplicates(gateway: GatewayThread) -> None:
    """Both paths serve one session at once, over many calls: every request id runs its
    handler once and is POSTed once, and upstream's dispatch-mode conflict cannot happen."""
    runs: Counter[str] = Counter()
    posts: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    calls_per_turn, turns = 12, 4
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:

        @cm.after("tool_calls.respond")
        def count_post(call: RequestCall, response: Any) -> None:
            posts[call.path.split("/")[2]] += 1

        _, skills = await cm.remote_skills.create_session(register=_register_echo(runs))
        # Every answer by HTTP, so the hook above counts them all (answers over the socket
        # race the poller the same way: test_stream_answers.py).
        cm.stream.use_extensions = False

        @cm.on_app_server_request("item.tool.call")
        async def on_call(signal: AppServerSignal, ctx: StreamContext) -> None:
            dispatch = await skills.respond_to_signal(signal)
            if dispatch is not None and not dispatch.duplicate:
                sources[dispatch.source] += 1

        stop = asyncio.Event()

        async def poll_forever() -> None:
            while not stop.is_set():
                for dispatch in await skills.drain_pending_calls():
                    if not dispatch.duplicate:
                        sources[dispatch.source] += 1
                await asyncio.sleep(0.002)

        stream_task = asyncio.create_task(cm.stream.run_forever(stop_event=stop))
        poll_task = asyncio.create_task(poll_forever())
        try:
            for turn in range(turns):
                prompt = steps_prompt(
                    [("echo", {"text": f"t{turn}c{i}"}) for i in range(calls_per_turn)]
                )
                accepted = await skills.send(prompt, inject_skills=False)
                await cm.wait.assistant_reply(
                    session_id=skills.session_id, turn_id=accepted["turnId"], timeout_seconds=30
                )
                with pytest.warns(DeprecationWarning, match="reset_dispatch_mode"):
                    skills.reset_dispatch_mode()  # a no-op kept for compatibility: it warns
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(stream_task, poll_task), 10)

    total = calls_per_turn * turns
    assert len(runs) == total, (len(runs), sources)
    assert set(runs.values()) == {1}, runs
    assert len(posts) == total and set(posts.values()) == {1}, posts
    assert set(posts) == set(runs)
    assert sum(sources.values()) == total
    print(f"race: handler runs by path {dict(sources)}")
    with pytest.warns(DeprecationWarning, match="dispatch_mode"):
        assert skills.dispatch_mode() is None


async def test_submission_outcomes_and_handler_runs_once(gateway: GatewayThread) -> None:
    runs: Counter[str] = Counter()
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        _, skills = await cm.remote_skills.create_session(register=_register_echo(runs))
        row: dict[str, Any] = {
            "requestId": "77777",
            "tool": "echo",
            "arguments": {"text": "x"},
            "threadId": skills.session_id,
        }
        # Unknown to the server: 404 counts as already answered (accepted, idempotent).
        first = await skills.respond_to_pending_call(row)
        assert first is not None
        assert (first.handled, first.submission_status, first.submission_idempotent) == (
            True,
            "not_found",
            True,
        )
        # ... but not as our answer: the client says the call was answered elsewhere (ours).
        assert first.answered_elsewhere is True
        assert skills.registry.ledger.state("77777") == "answered_elsewhere"
        second = await skills.respond_to_pending_call(row)
        assert second is not None and second.submission_status == "local_duplicate"
        assert runs == Counter({"77777": 1})
        # Rows of another session and rows without a tool are skipped.
        assert await skills.respond_to_pending_call({**row, "threadId": "other"}) is None
        assert await skills.respond_to_pending_call({"requestId": "1"}) is None
        # No request id: the handler runs, nothing is submitted.
        no_id = await skills.respond_to_pending_call({"tool": "echo", "arguments": {"text": "y"}})
        assert no_id is not None and no_id.submission_status == "no_request_id"

    # Nothing listens here: every attempt fails, and the handler still runs only once.
    offline_runs: Counter[str] = Counter()
    async with AsyncCodexManager(base_url="http://127.0.0.1:9", timeout_seconds=2) as offline:
        # A handle on a session id the (unreachable) server would own.
        lost = offline.remote_skills.session("s-offline")
        lost.registry.skills.update(_draft_with_echo(offline, offline_runs).registry.skills)
        row = {"requestId": 5, "tool": "echo", "arguments": {"text": "z"}}
        for _ in range(2):
            failed = await lost.respond_to_pending_call(row, retry_delay_seconds=0)
            assert failed is not None
            assert (failed.handled, failed.submission_status, failed.submission_attempts) == (
                False,
                "exception",
                3,
            )
            assert failed.error is not None
            assert failed.error.startswith("tool call response submit failed:")
        assert offline_runs == Counter({"5": 1})


def _draft_with_echo(cm: AsyncCodexManager, runs: Counter[str]) -> AsyncRemoteSkillSession:
    draft = cm.remote_skills.new_draft()
    _register_echo(runs)(draft)
    return draft


async def test_lifecycle_and_close_session(gateway: GatewayThread) -> None:
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        async with cm.remote_skills.lifecycle(register=_register_echo(Counter())) as life:
            assert life.skills.session_id == life.session_id
            assert (await cm.sessions.get(life.session_id))["session"]["sessionId"]
        assert (await cm.sessions.get(life.session_id))["status"] == "deleted"

        async with cm.remote_skills.lifecycle(keep_session=True) as kept:
            assert kept.skills.dynamic_tools() == []
        assert (await cm.sessions.get(kept.session_id))["session"]["sessionId"] == kept.session_id

        _, skills = await cm.remote_skills.create_session(register=_register_echo(Counter()))
        closed = await cm.remote_skills.close_session(skills.session_id, delete_session=True)
        assert closed["sessionId"] == skills.session_id
        assert closed["cleared"] == 2 and closed["deleted"] is True
        assert closed["deleteResponse"]["status"] == "ok"
        gone = await cm.remote_skills.close_session("no-such-session", delete_session=True)
        assert gone["deleted"] is False and gone["deleteResponse"]["status"] == "not_found"
        assert (await cm.remote_skills.close_session("x")) == {
            "sessionId": "x",
            "cleared": 0,
            "deleted": False,
        }


async def test_unknown_tool_and_sync_runtime_guards(gateway: GatewayThread) -> None:
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        _, skills = await cm.remote_skills.create_session(
            dynamic_tools=[{"name": "ghost", "description": "Nobody home.", "inputSchema": {}}]
        )
        result = await skills.send_and_handle(
            steps_prompt([("ghost", {})]), inject_skills=False, dynamic_tools=None
        )
        assert [(d.tool, d.handled, d.error) for d in result.dispatches] == [
            ("ghost", False, "no remote skill registered for ghost")
        ]
        with pytest.raises(RuntimeError, match="disabled"):
            await skills.sync_runtime()
        with pytest.raises(RuntimeError, match="disabled"):
            await skills.prepare_catalog()
        with pytest.raises(RuntimeError, match="disabled"):
            skills.register("x", lambda: None, sync_runtime=True)
        with pytest.raises(ValueError):
            await skills.send_and_handle("x", timeout_seconds=0)


async def test_concurrent_answers_classify_404_and_409_as_already_answered(
    gateway: GatewayThread,
) -> None:
    """Several clients answering one pending call: the server takes one, and every other
    answer (409 in_flight while it is forwarded, 404 once it is gone) counts as accepted."""
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        _, skills = await cm.remote_skills.create_session(register=_register_echo(Counter()))
        accepted = await skills.send(steps_prompt([("echo", {"text": "q"})]), inject_skills=False)
        rows = await cm.wait.until(
            lambda: cm.sessions.tool_calls(skills.session_id),
            predicate=lambda body: bool(body["data"]),
            timeout_seconds=10,
            interval_seconds=0.01,
        )
        request_id = rows["data"][0]["requestId"]
        payload = {"contentItems": [{"type": "inputText", "text": "Q"}], "success": True}
        outcomes = await asyncio.gather(
            *(
                submit_response(cm.tool_calls, str(request_id), payload, retry_delay_seconds=0)
                for _ in range(8)
            )
        )
        statuses = Counter(outcome.status for outcome in outcomes)
        assert statuses["ok"] == 1, statuses
        assert set(statuses) <= {"ok", "conflict", "not_found"}, statuses
        assert all(outcome.accepted for outcome in outcomes)
        assert all(o.idempotent for o in outcomes if o.status != "ok")
        assert all(o.attempts == 1 for o in outcomes)
        status = await cm.wait.turn_completed(
            session_id=skills.session_id, turn_id=accepted["turnId"], timeout_seconds=20
        )
        assert status == "completed"
