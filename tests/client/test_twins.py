"""The sync twins drop nothing: every public method of every async client class has a sync
twin with the same parameters (names, kinds, defaults), and a twin forwards what it is given
(a non-default keyword, sent through a real gateway, has its effect)."""

from __future__ import annotations

import inspect
from typing import Any

import httpx
import pytest

from teammesh.client import (
    AsyncCodexManager,
    AsyncEventStream,
    AsyncRemoteSkillSession,
    AsyncRemoteSkillsFacade,
    AsyncWaitApi,
    CodexManager,
    HookRegistry,
    RemoteSkillSession,
    RemoteSkillsFacade,
    RequestCall,
    SyncEventStream,
    WaitApi,
    WaitTimeoutError,
)
from teammesh.gateway.embedded import GatewayThread

# (async class, its sync twin, public async names the twin has no use for, and why)
TWINS: list[tuple[type, type, set[str]]] = [
    # the sync client starts plugins in its constructor (there is no `async with` to do it)
    (AsyncCodexManager, CodexManager, {"start_plugins"}),
    (AsyncWaitApi, WaitApi, set()),
    (AsyncRemoteSkillSession, RemoteSkillSession, set()),
    (AsyncRemoteSkillsFacade, RemoteSkillsFacade, set()),
    (AsyncEventStream, SyncEventStream, set()),
]


def _public_methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_") and not isinstance(member, type)
    }


def _parameters(fn: Any) -> list[tuple[str, Any, Any]]:
    # Annotations may differ on purpose (a callback taking the sync handle); nothing else may.
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize(
    ("async_cls", "sync_cls", "exempt"), TWINS, ids=lambda v: getattr(v, "__name__", "")
)
def test_every_async_method_has_a_twin_with_its_parameters(
    async_cls: type, sync_cls: type, exempt: set[str]
) -> None:
    async_methods = _public_methods(async_cls)
    sync_methods = _public_methods(sync_cls)
    missing = set(async_methods) - exempt - set(sync_methods)
    assert not missing, f"{sync_cls.__name__} lacks {sorted(missing)}"
    for name in set(async_methods) - exempt:
        assert _parameters(sync_methods[name]) == _parameters(async_methods[name]), (
            f"{sync_cls.__name__}.{name}"
        )


def test_sync_client_takes_the_async_clients_keywords() -> None:
    assert _parameters(CodexManager.__init__) == _parameters(AsyncCodexManager.__init__)
    assert len(_parameters(CodexManager.__init__)) > 10


def test_sync_client_forwards_constructor_keywords(gateway: GatewayThread) -> None:
    hooks = HookRegistry()
    seen: list[str] = []
    hooks.before("system.health")(lambda call: seen.append(call.operation))
    with CodexManager(base_url=gateway.base_url, hook_registry=hooks) as cm:
        assert cm.hooks is hooks
        assert cm.system.health()["status"] == "ok"
    assert seen == ["system.health"]


def test_sync_wait_forwards_max_attempts(gateway: GatewayThread) -> None:
    polls: list[Any] = []
    with CodexManager(base_url=gateway.base_url) as cm:

        def poll() -> Any:
            polls.append(cm.system.health())
            return polls[-1]

        with pytest.raises(WaitTimeoutError, match="after 2 attempts"):
            cm.wait.until(
                poll,
                predicate=lambda _: False,
                max_attempts=2,
                timeout_seconds=30,
                interval_seconds=0.01,
            )
    assert [body["status"] for body in polls] == ["ok", "ok"]


def test_sync_skill_session_forwards_keywords(gateway: GatewayThread) -> None:
    sent: list[str] = []
    with CodexManager(base_url=gateway.base_url) as cm:
        cm.before("sessions.send_message")(
            lambda call: sent.append((call.json_body or {}).get("text", ""))
        )

        def register(skills: RemoteSkillSession) -> None:
            @skills.skill()
            def echo(text: str) -> str:
                return text

        _, skills = cm.remote_skills.create_session(register=register)
        # `inject_skills=False` reaches the async send: the text goes as given.
        skills.send("plain", inject_skills=False)
        skills.send("injected")
        assert sent[0] == "plain"
        assert sent[1] != "injected" and sent[1].endswith("injected")
        # `terminal_statuses` reaches the async loop: no turn ever ends "never".
        with pytest.raises(WaitTimeoutError, match="terminal status"):
            skills.send_and_handle(
                "hello", terminal_statuses="never", timeout_seconds=0.5, interval_seconds=0.05
            )
        # a compatibility option is forwarded too, and says it does nothing
        draft = cm.remote_skills.new_draft()
        with pytest.warns(DeprecationWarning, match="ignore_sync_errors"):
            draft.register("echo", lambda text: text, ignore_sync_errors=False)
        assert [skill.name for skill in draft.list()] == ["echo"]
        # `delete_session=True` reaches the async facade: the session is gone.
        outcome = cm.remote_skills.close_session(skills.session_id, delete_session=True)
        assert outcome["deleted"] is True
        assert cm.sessions.get(skills.session_id)["status"] == "deleted"


def test_request_call_is_what_the_hooks_and_the_wire_see(gateway: GatewayThread) -> None:
    calls: list[RequestCall] = []
    with CodexManager(base_url=gateway.base_url) as cm:
        cm.before("*")(calls.append)
        body = cm.raw.request("get", "api/health", query={"x": None}, allow_statuses=[418])
        assert body["status"] == "ok"
    (call,) = calls
    # normalised once by the pipeline: upper-case method, prefix-less path
    assert (call.operation, call.method, call.path) == ("raw.request", "GET", "/health")
    assert call.allow_statuses == [418]


def test_an_injected_executor_gets_the_request_as_keywords(gateway: GatewayThread) -> None:
    received: list[dict[str, Any]] = []

    class Executor:
        """Upstream's keyword interface, answering from the real gateway."""

        def request(self, **keywords: Any) -> Any:
            received.append(keywords)
            url = gateway.base_url + "/api" + keywords["path"]
            return httpx.get(url, headers=keywords["headers"]).json()

    with CodexManager(base_url=gateway.base_url, request_executor=Executor()) as cm:
        assert cm.system.health()["status"] == "ok"
        cm.raw.request("GET", "/health", headers={"x-probe": "1"})
    assert [k["operation"] for k in received] == ["system.health", "raw.request"]
    assert set(received[0]) == {
        "operation", "method", "path", "query", "json_body", "headers", "allow_statuses"
    }
    assert received[0]["headers"] is None and received[1]["headers"] == {"x-probe": "1"}


def test_compatibility_no_ops_warn_on_both_handles(gateway: GatewayThread) -> None:
    with CodexManager(base_url=gateway.base_url) as cm:
        _, skills = cm.remote_skills.create_session()
        with pytest.warns(DeprecationWarning, match="dispatch_mode"):
            assert skills.dispatch_mode() is None
        with pytest.warns(DeprecationWarning, match="reset_dispatch_mode"):
            skills.reset_dispatch_mode()
        with pytest.warns(DeprecationWarning, match="sync_runtime_on_cleanup"):
            cm.remote_skills.close_session(skills.session_id, sync_runtime_on_cleanup=False)


def test_sync_using_and_lifecycle_clean_up(gateway: GatewayThread) -> None:
    with CodexManager(base_url=gateway.base_url) as cm:
        draft = cm.remote_skills.new_draft()
        with draft.using("echo", lambda text: text, description="echoes") as skill:
            assert skill.description == "echoes"
            assert [s.name for s in draft.list()] == ["echo"]
        assert draft.list() == []
        # an error inside the block still closes (and deletes) the session, then propagates
        with (
            pytest.raises(LookupError, match="inside"),
            cm.remote_skills.lifecycle() as life,
        ):
            raise LookupError("inside")
        assert cm.sessions.get(life.session_id)["status"] == "deleted"
        with cm.remote_skills.lifecycle(keep_session=True) as kept:
            pass
        assert cm.sessions.get(kept.session_id)["session"]["sessionId"] == kept.session_id
