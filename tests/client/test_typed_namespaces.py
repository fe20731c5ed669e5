"""`cm.typed` beyond system and sessions, against the real gateway (playbook runtime): each
namespace's representative call returns its model, a 501 the allow-list returns as data is
the `ErrorEnvelope` model, and a 501 it does not allow raises exactly as the raw call does.
The pass-through models are also checked on the shapes codex app-server answers (the real
codex runs in tests/codex/test_codex_typed.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from teammesh import wire_responses as r
from teammesh import wire_responses_namespaces as n
from teammesh.client import (
    ApiError,
    AsyncCodexManager,
    CodexManager,
    ServerError,
    TypedModelValidationError,
)
from teammesh.client._typed_call import NOT_OK_MODELS, parse
from teammesh.gateway.embedded import GatewayThread


def _pass_through_calls(cm: CodexManager) -> dict[str, Callable[[], Any]]:
    """One call per pass-through namespace: 501 on playbook, allowed as data."""
    t = cm.typed
    return {
        "system": t.system.experimental_features,
        "models": t.models.list,
        "apps": t.apps.list,
        "skills": t.skills.list,
        "mcp": t.mcp.servers,
        "account": t.account.get,
        "config": t.config.get,
        "runtime": lambda: t.runtime.exec(command=["ls"]),
        "feedback": lambda: t.feedback.submit(classification="bug", include_logs=False),
    }


def test_pass_through_rows_answer_the_error_envelope(tmp_path: Path) -> None:
    with (
        GatewayThread(data_dir=tmp_path / "gw") as gateway,
        CodexManager(base_url=gateway.base_url) as cm,
    ):
        for space, call in _pass_through_calls(cm).items():
            answer = call()
            assert isinstance(answer, r.ErrorEnvelope), space
            assert answer.code == "method_not_supported", space
            assert answer.details and "method" in answer.details, space


def test_a_501_outside_the_allow_list_raises_as_the_raw_call_does(tmp_path: Path) -> None:
    with (
        GatewayThread(data_dir=tmp_path / "gw") as gateway,
        CodexManager(base_url=gateway.base_url) as cm,
    ):
        pairs: list[tuple[Callable[[], Any], Callable[[], Any]]] = [
            (cm.extensions.list, cm.typed.extensions.list),
            (lambda: cm.orchestrator.get(job_id="j1"),
             lambda: cm.typed.orchestrator.get(job_id="j1")),
            (lambda: cm.orchestrator.cancel(job_id="j1"),
             lambda: cm.typed.orchestrator.cancel(job_id="j1")),
        ]
        for raw, typed in pairs:
            with pytest.raises(ApiError) as raw_error:
                raw()
            with pytest.raises(ApiError) as typed_error:
                typed()
            assert type(typed_error.value) is type(raw_error.value) is ServerError
            assert typed_error.value.details.status_code == 501
            assert typed_error.value.details.operation == raw_error.value.details.operation


def test_projects_and_their_sessions(tmp_path: Path) -> None:
    with (
        GatewayThread(data_dir=tmp_path / "gw") as gateway,
        CodexManager(base_url=gateway.base_url) as cm,
    ):
        t = cm.typed
        created = t.projects.create(name="alpha")
        assert isinstance(created, n.ProjectCreated) and created.project.name == "alpha"
        pid = created.project.projectId
        listed = t.projects.list()
        assert isinstance(listed, n.ProjectPage) and [p.projectId for p in listed.data] == [pid]
        renamed = t.projects.rename(project_id=pid, name="beta")
        assert isinstance(renamed, n.ProjectRenamed) and renamed.project.name == "beta"
        agents = t.projects.list_agent_sessions(project_id=pid)
        assert isinstance(agents, n.AgentSessions) and agents.data == []
        sid = t.sessions.create().session.sessionId
        moved_in = t.sessions.set_project(sid, pid)
        assert isinstance(moved_in, r.SessionProjectSet) and moved_in.projectId == pid
        moved = t.projects.move_all_chats(project_id=pid, destination="unassigned")
        assert isinstance(moved, n.ChatsMoved) and moved.movedSessionCount == 1
        t.sessions.set_project(sid, pid)
        wiped = t.projects.delete_all_chats(project_id=pid)
        assert isinstance(wiped, n.ChatsDeleted) and wiped.deletedSessionCount == 1
        assert isinstance(t.sessions.get(sid), r.DeletedSession)
        deleted = t.projects.delete(project_id=pid)
        assert isinstance(deleted, n.ProjectDeleted) and deleted.projectId == pid
        again = t.projects.delete(project_id=pid)  # 404 is on the allow-list
        assert isinstance(again, r.Refusal) and again.status == "not_found"


def test_answers_to_pending_requests_and_more_session_calls(tmp_path: Path) -> None:
    with (
        GatewayThread(data_dir=tmp_path / "gw") as gateway,
        CodexManager(base_url=gateway.base_url) as cm,
    ):
        t = cm.typed
        # nothing is pending: each answer is the allowed 404 `not_found`
        for answer in (t.approvals.decide("a1", decision="accept"),
                       t.tool_input.decide("r1", decision="cancel"),
                       t.tool_calls.respond("r1", text="late")):
            assert isinstance(answer, r.Refusal) and answer.status == "not_found"
        sid = t.sessions.create().session.sessionId
        upserted = t.sessions.suggest_request_upsert(
            sid, request_key="k1", status="complete", suggestion="try this")
        assert isinstance(upserted, r.SuggestionUpserted) and upserted.requestKey == "k1"
        entry = t.sessions.transcript_upsert(
            sid, message_id="m1", turn_id="t1", role="user", entry_type="userMessage",
            content="hi", status="complete")
        assert isinstance(entry, r.TranscriptUpserted) and entry.entry.messageId == "m1"
        assert isinstance(t.sessions.resume(sid), r.SessionResumed)
        rollback = t.sessions.rollback(sid)  # no turn to roll back: the allowed 400
        assert isinstance(rollback, r.ErrorEnvelope) and rollback.code == "invalid_params"


WEATHER_TOOL = {
    "name": "lookup_weather",
    "description": "Look up the weather for a city.",
    "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}},
                    "required": ["city"], "additionalProperties": False},
}


def test_a_pending_tool_call_is_listed_and_answered_as_models(tmp_path: Path) -> None:
    with (
        GatewayThread(data_dir=tmp_path / "gw") as gateway,
        CodexManager(base_url=gateway.base_url) as cm,
    ):
        t = cm.typed
        sid = t.sessions.create(dynamic_tools=[WEATHER_TOOL]).session.sessionId
        turn = t.sessions.send_message(sid, "Please use lookup_weather and tell me the answer.")
        assert isinstance(turn, r.TurnAccepted)
        deadline = time.monotonic() + 20  # a bound on the poll, not an assertion
        listing = t.sessions.tool_calls(sid)
        while isinstance(listing, r.PendingToolCalls) and not listing.data:
            assert time.monotonic() < deadline, "the playbook never called the tool"
            time.sleep(0.02)
            listing = t.sessions.tool_calls(sid)
        assert isinstance(listing, r.PendingToolCalls)
        (row,) = listing.data
        assert row.tool == "lookup_weather" and row.threadId == sid and row.status == "pending"
        answered = t.tool_calls.respond(row.requestId, text="sunny")
        assert isinstance(answered, n.RequestAnswered) and answered.requestId == row.requestId
        cm.wait.turn_completed(session_id=sid, turn_id=turn.turnId, timeout_seconds=20)
        again = t.tool_calls.respond(row.requestId, text="sunny")  # already answered: 404
        assert isinstance(again, r.Refusal) and again.status == "not_found"
        assert isinstance(t.sessions.approvals(sid), r.PendingApprovals)
        assert isinstance(t.sessions.tool_input(sid), r.PendingToolInputs)


def test_the_async_client_awaits_the_same_models(tmp_path: Path) -> None:
    async def run(base_url: str) -> None:
        async with AsyncCodexManager(base_url=base_url) as cm:
            t = cm.typed
            created = await t.projects.create(name="gamma")
            assert isinstance(created, n.ProjectCreated)
            assert isinstance(await t.projects.list(), n.ProjectPage)
            assert isinstance(await t.models.list(), r.ErrorEnvelope)
            answer = await t.tool_calls.respond("r9", text="x")
            assert isinstance(answer, r.Refusal) and answer.status == "not_found"
            with pytest.raises(ServerError):
                await t.extensions.list()

    with GatewayThread(data_dir=tmp_path / "gw") as gateway:
        asyncio.run(run(gateway.base_url))


def test_pass_through_models_take_codexs_shapes_and_refuse_others() -> None:
    def answer(model: type[Any], body: Any) -> Any:
        return parse("test", (model, *NOT_OK_MODELS), body)

    assert isinstance(answer(n.McpServerPage, {"data": [], "nextCursor": None}), n.McpServerPage)
    account = answer(n.AccountState, {"account": None, "requiresOpenaiAuth": False})
    assert isinstance(account, n.AccountState) and account.account is None
    skills = answer(n.SkillsPage, {"data": [{"cwd": "/w", "skills": [
        {"name": "s", "path": "/w/s/SKILL.md", "scope": "repo"}], "errors": []}],
        "nextCursor": None})
    assert isinstance(skills, n.SkillsPage) and skills.data[0].skills[0].name == "s"
    assert skills.data[0].skills[0].model_extra == {"scope": "repo"}  # extra keys kept
    ran = answer(n.OkResult[n.CommandRan],
                 {"status": "ok", "result": {"exitCode": 0, "stdout": "a", "stderr": ""}})
    assert isinstance(ran, n.OkResult) and ran.result.exitCode == 0
    # a success body missing a required key is not passed off as anything else
    with pytest.raises(TypedModelValidationError):
        answer(n.OkResult[n.CommandRan], {"status": "ok", "result": {"stdout": "a"}})
    with pytest.raises(TypedModelValidationError):
        answer(n.ModelPage, {"data": [{"displayName": "no id"}]})
    # a forwarding failure (500, no `code`) of a pending-request answer has its model
    failed = answer(n.RequestAnswered, {"status": "error", "requestId": "7"})
    assert isinstance(failed, r.ForwardingFailed) and failed.requestId == "7"
