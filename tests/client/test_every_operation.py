"""Every client operation, on both clients, against the real gateway.

Each operation is called once with a realistic argument set and recorded by a `before("*")`
hook, so the test also proves every table row is reachable from a method. What the answer
must be is read from the gateway's own table: a row this gateway serves must not raise; a
row it answers 501 must come back as data when the operation's allow-list has 501 (the
`method_not_supported` envelope) and raise `ServerError` (status 501) when it has not; an
orchestrator-queue row's 503 likewise, by 503 in the allow-list.
(Served rows on this gateway today all answer without raising; see `test_served_rows_answer`.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from teammesh.client import ApiError, AsyncCodexManager, CodexManager, ServerError
from teammesh.client.hooks import RequestCall
from teammesh.client.operations import OPERATIONS
from teammesh.gateway.embedded import GatewayThread
from teammesh.gateway.upstream_routes import ROUTES

_ROUTE_OF = {r.operation: r for r in ROUTES}
_ROUTE_OF["projects.orchestrator.jobs.list"] = _ROUTE_OF["orchestrator.jobs.list"]

CONTROLS = {"model": None, "approvalPolicy": "never", "networkAccess": "restricted",
            "filesystemSandbox": "read-only"}

# operation → a call of it on a client `c` for session `s` (a value or an awaitable)
CALLS: dict[str, Callable[[Any, str], Any]] = {
    "system.health": lambda c, s: c.system.health(),
    "system.info": lambda c, s: c.system.info(),
    "system.capabilities": lambda c, s: c.system.capabilities(refresh=False),
    "system.features.experimental": lambda c, s: c.system.experimental_features(limit=10),
    "system.collaboration.modes": lambda c, s: c.system.collaboration_modes(limit=10),
    "models.list": lambda c, s: c.models.list(limit=20),
    "mcp.servers.list": lambda c, s: c.mcp.servers(limit=20),
    "mcp.reload": lambda c, s: c.mcp.reload(),
    "mcp.oauth.login": lambda c, s: c.mcp.oauth_login(server_name="docs", scopes=["read"]),
    "apps.list": lambda c, s: c.apps.list(limit=5, force_refetch=True),
    "skills.list": lambda c, s: c.skills.list(force_reload=False, cwd="."),
    "skills.config.set": lambda c, s: c.skills.set_config(path="a/SKILL.md", enabled=True),
    "skills.remote.get": lambda c, s: c.skills.remote_get(),
    "skills.remote.set": lambda c, s: c.skills.remote_set(hazelnut_id="hz", is_preload=False),
    "account.get": lambda c, s: c.account.get(),
    "account.login.start": lambda c, s: c.account.login_start_api_key("sk-test"),
    "account.login.cancel": lambda c, s: c.account.login_cancel(login_id="login-1"),
    "account.logout": lambda c, s: c.account.logout(),
    "account.rate_limits": lambda c, s: c.account.rate_limits(),
    "config.get": lambda c, s: c.config.get(include_layers=True),
    "config.requirements": lambda c, s: c.config.requirements(),
    "config.set": lambda c, s: c.config.set(key_path="model", merge_strategy="replace",
                                            value="m"),
    "config.batch_set": lambda c, s: c.config.batch_set(
        edits=[{"keyPath": "model", "mergeStrategy": "upsert", "value": "m"}]),
    "runtime.exec": lambda c, s: c.runtime.exec(command=["echo", "hi"], timeout_ms=1000),
    "feedback.submit": lambda c, s: c.feedback.submit(classification="bug",
                                                      include_logs=False),
    "extensions.list": lambda c, s: c.extensions.list(),
    "extensions.reload": lambda c, s: c.extensions.reload(),
    "orchestrator.jobs.get": lambda c, s: c.orchestrator.get(job_id="job-1"),
    "orchestrator.jobs.list": lambda c, s: c.orchestrator.list(project_id="p-1",
                                                               state="queued"),
    "orchestrator.jobs.cancel": lambda c, s: c.orchestrator.cancel(job_id="job-1"),
    "projects.list": lambda c, s: c.projects.list(),
    "projects.create": lambda c, s: c.projects.create(name="alpha"),
    "projects.rename": lambda c, s: c.projects.rename(project_id="p-1", name="beta"),
    "projects.delete": lambda c, s: c.projects.delete(project_id="p-1"),
    "projects.agent_sessions.list": lambda c, s: c.projects.list_agent_sessions(
        project_id="p-1"),
    "projects.chats.move_all": lambda c, s: c.projects.move_all_chats(
        project_id="p-1", destination="unassigned"),
    "projects.chats.delete_all": lambda c, s: c.projects.delete_all_chats(project_id="p-1"),
    "projects.orchestrator.jobs.list": lambda c, s: c.projects.orchestrator_jobs(
        project_id="p-1"),
    "sessions.list": lambda c, s: c.sessions.list(limit=5),
    "sessions.create": lambda c, s: c.sessions.create(),
    "sessions.get": lambda c, s: c.sessions.get(s),
    "sessions.transcript.upsert": lambda c, s: c.sessions.transcript_upsert(
        s, message_id="m1", turn_id="t1", role="system", entry_type="note", content="x",
        status="complete"),
    "sessions.fork": lambda c, s: c.sessions.fork(s),
    "sessions.compact": lambda c, s: c.sessions.compact(s),
    "sessions.rollback": lambda c, s: c.sessions.rollback(s, num_turns=1),
    "sessions.background_terminals.clean": lambda c, s: c.sessions.clean_background_terminals(s),
    "sessions.review": lambda c, s: c.sessions.review(s, target_type="uncommittedChanges"),
    "sessions.steer": lambda c, s: c.sessions.steer(s, "turn-1", "also check the tests"),
    "sessions.rename": lambda c, s: c.sessions.rename(s, "renamed"),
    "sessions.project.set": lambda c, s: c.sessions.set_project(s, None),
    "sessions.archive": lambda c, s: c.sessions.archive(s),
    "sessions.unarchive": lambda c, s: c.sessions.unarchive(s),
    "sessions.approvals.list": lambda c, s: c.sessions.approvals(s),
    "sessions.tool_input.list": lambda c, s: c.sessions.tool_input(s),
    "sessions.tool_calls.list": lambda c, s: c.sessions.tool_calls(s),
    "sessions.resume": lambda c, s: c.sessions.resume(s),
    "sessions.controls.get": lambda c, s: c.sessions.controls_get(s),
    "sessions.controls.apply": lambda c, s: c.sessions.controls_apply(s, CONTROLS),
    "sessions.settings.get": lambda c, s: c.sessions.settings_get(s, key="a"),
    "sessions.settings.set": lambda c, s: c.sessions.settings_set(s, settings={"a": {"b": 1}}),
    "sessions.settings.unset": lambda c, s: c.sessions.settings_unset(s, "a"),
    "sessions.approval_policy.set": lambda c, s: c.sessions.approval_policy(s, "never"),
    "sessions.suggest_request.enqueue": lambda c, s: c.sessions.suggest_request_enqueue(
        s, draft="next?"),
    "sessions.suggest_request": lambda c, s: c.sessions.suggest_request(s, draft="next?"),
    "sessions.suggest_request.upsert": lambda c, s: c.sessions.suggest_request_upsert(
        s, request_key="rk", status="streaming"),
    "sessions.send_message": lambda c, s: c.sessions.send_message(s, "hello"),
    "sessions.interrupt": lambda c, s: c.sessions.interrupt(s),
    "tool_calls.respond": lambda c, s: c.tool_calls.respond("1", text="done"),
    "tool_input.decide": lambda c, s: c.tool_input.decide("1", decision="accept"),
    "approvals.decide": lambda c, s: c.approvals.decide("1", decision="accept"),
    "sessions.delete": lambda c, s: c.sessions.delete(s),  # last: it purges the session
}


def _check(operation: str, outcome: Any) -> None:
    """`outcome` is the returned body, or the exception raised."""
    route = _ROUTE_OF[operation]
    if route.served_on("playbook"):
        # Served: an answer, or (a row implemented later, called here with ids that do not
        # exist) a 4xx the allow-list does not hold, raised as its ApiError; never a 5xx.
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, ApiError), (operation, outcome)
            status = outcome.details.status_code
            assert status is not None and 400 <= status < 500, (operation, status)
            assert status not in OPERATIONS[operation].allow
        return
    if route.needs_queue:  # upstream's queue-disabled 503 (gateway/surface.py)
        if 503 in OPERATIONS[operation].allow:
            assert isinstance(outcome, dict), (operation, outcome)
            assert outcome["code"] == "job_conflict", (operation, outcome)
        else:
            assert isinstance(outcome, ServerError), (operation, outcome)
            assert outcome.details.status_code == 503, (operation, outcome)
        return
    if 501 in OPERATIONS[operation].allow:
        assert isinstance(outcome, dict), (operation, outcome)
        assert outcome["code"] == "method_not_supported", (operation, outcome)
    else:
        assert isinstance(outcome, ServerError), (operation, outcome)
        assert outcome.details.status_code == 501 and outcome.details.operation == operation


def test_calls_cover_every_operation() -> None:
    assert list(CALLS) != [] and set(CALLS) == set(OPERATIONS)


def test_every_operation_on_the_sync_client(tmp_path: Path) -> None:
    with (
        GatewayThread(data_dir=tmp_path / "gw") as gateway,
        CodexManager(base_url=gateway.base_url) as cm,
    ):
        seen: list[str] = []
        cm.before()(lambda call: seen.append(call.operation))
        session_id = cm.sessions.create()["session"]["sessionId"]
        seen.clear()
        for operation, call in CALLS.items():
            try:
                outcome = call(cm, session_id)
            except Exception as error:
                outcome = error
            _check(operation, outcome)
        assert seen == list(CALLS)


def test_every_operation_on_the_async_client(tmp_path: Path) -> None:
    async def run(base_url: str) -> list[str]:
        async with AsyncCodexManager(base_url=base_url) as cm:
            seen: list[str] = []

            @cm.before()
            def record(call: RequestCall) -> None:
                seen.append(call.operation)

            session_id = (await cm.sessions.create())["session"]["sessionId"]
            seen.clear()
            for operation, call in CALLS.items():
                try:
                    outcome = await call(cm, session_id)
                except Exception as error:
                    outcome = error
                _check(operation, outcome)
            return seen

    with GatewayThread(data_dir=tmp_path / "gw") as gateway:
        assert asyncio.run(run(gateway.base_url)) == list(CALLS)


def test_settings_set_takes_exactly_one_form(tmp_path: Path) -> None:
    # Refused before anything is sent (upstream's client raises the same ValueError).
    cm = CodexManager(base_url="http://127.0.0.1:9")
    try:
        with pytest.raises(ValueError):
            cm.sessions.settings_set("s", settings={"a": 1}, key="a", value=1)
        with pytest.raises(ValueError):
            cm.sessions.settings_set("s")
    finally:
        cm.close()


def test_path_parameters_are_escaped(tmp_path: Path) -> None:
    # An id with `/` or `?` must not address another route: it stays one path segment.
    with (
        GatewayThread(data_dir=tmp_path / "gw") as gateway,
        CodexManager(base_url=gateway.base_url) as cm,
    ):
        paths: list[str] = []
        cm.before()(lambda call: paths.append(call.path))
        with pytest.raises(ApiError):  # no route of the gateway: never another route's 200
            cm.orchestrator.get(job_id="../sessions?x=1")
        body = cm.sessions.steer("a/b", "t?1", "go")  # steer allows 404: data
        assert body["status"] != "ok"
        assert paths == ["/orchestrator/jobs/..%2Fsessions%3Fx%3D1",
                         "/sessions/a%2Fb/turns/t%3F1/steer"]


def test_empty_path_parameters_are_refused_before_sending() -> None:
    # `DELETE /sessions/` or `/projects//rename` would address another route.
    cm = CodexManager(base_url="http://127.0.0.1:9")  # nothing listens: nothing may be sent
    try:
        sent: list[str] = []
        cm.before()(lambda call: sent.append(call.operation))
        for call in (lambda: cm.sessions.delete(""), lambda: cm.sessions.steer("s", "", "x"),
                     lambda: cm.projects.rename(project_id="", name="n"),
                     lambda: cm.sessions.settings_unset("s", "")):
            with pytest.raises(ValueError, match="must not be empty"):
                call()
        assert sent == []
    finally:
        cm.close()


def test_served_rows_answer(tmp_path: Path) -> None:
    # Today every row the gateway serves answers these calls without raising (the looser
    # check above only exists for rows other branches implement later).
    served_now = {"sessions.list", "sessions.get", "sessions.controls.get",
                  "sessions.settings.get", "system.capabilities", "sessions.tool_calls.list"}
    with (
        GatewayThread(data_dir=tmp_path / "gw") as gateway,
        CodexManager(base_url=gateway.base_url) as cm,
    ):
        session_id = cm.sessions.create()["session"]["sessionId"]
        for operation in served_now:
            assert _ROUTE_OF[operation].served_on("playbook")
            assert isinstance(CALLS[operation](cm, session_id), dict), operation
