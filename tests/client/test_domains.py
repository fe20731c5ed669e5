"""Every domain call against the real gateway: routes, bodies, allow-lists, the error tree."""

from __future__ import annotations

import os
from typing import Any

import pytest

from teammesh.client import (
    AsyncCodexManager,
    NotFoundError,
    RequestCall,
    TransportError,
    TypedModelValidationError,
    ValidationError,
)
from teammesh.gateway.embedded import GatewayThread

pytestmark = pytest.mark.anyio


async def test_system_calls(gateway: GatewayThread) -> None:
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        health = await cm.system.health()
        assert health["status"] == "ok"
        info = await cm.system.info()
        assert info["name"] == "Codex Manager API"
        # Paths with or without the prefix address the same route.
        assert (await cm.raw.request("GET", "/api/health"))["status"] == "ok"
        assert (await cm.raw.request("GET", "health"))["status"] == "ok"


async def test_session_lifecycle(gateway: GatewayThread) -> None:
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        created = await cm.sessions.create(
            cwd=".",
            approval_policy="never",
            network_access="restricted",
            filesystem_sandbox="workspace-write",
            dynamic_tools=[
                {"name": "noop", "description": "Do nothing.", "inputSchema": {"type": "object"}}
            ],
        )
        session_id = created["session"]["sessionId"]
        assert created["session"]["approvalPolicy"] == "never"

        listed = await cm.sessions.list(archived=False, limit=50, include_system_owned=False)
        assert session_id in [row["sessionId"] for row in listed["data"]]

        renamed = await cm.sessions.rename(session_id, "team-tester")
        assert renamed["status"] == "ok"
        detail = await cm.sessions.get(session_id)
        assert detail["session"]["title"] == "team-tester"

        accepted = await cm.sessions.send_message(session_id, "hello", effort="low")
        assert accepted["status"] == "accepted" and accepted["sessionId"] == session_id
        reply = await cm.wait.assistant_reply(
            session_id=session_id, turn_id=accepted["turnId"], timeout_seconds=20
        )
        assert reply.assistant_reply
        assert await cm.wait.turn_status(session_id=session_id, turn_id=accepted["turnId"]) == (
            "completed"
        )

        for listing in (
            cm.sessions.approvals(session_id),
            cm.sessions.tool_calls(session_id),
            cm.sessions.tool_input(session_id),
        ):
            assert (await listing) == {"data": []}

        # No active turn: 409 comes back as data.
        assert (await cm.sessions.interrupt(session_id))["status"] == "no_active_turn"

        deleted = await cm.sessions.delete(session_id)
        assert deleted["status"] == "ok"
        # After deletion, 410 bodies are data for get/delete/send/listings.
        assert (await cm.sessions.get(session_id))["status"] == "deleted"
        assert (await cm.sessions.delete(session_id))["status"] == "deleted"
        assert (await cm.sessions.send_message(session_id, "again"))["status"] == "deleted"
        assert (await cm.sessions.tool_calls(session_id))["status"] == "deleted"


async def test_allowed_statuses_are_data_and_others_raise(gateway: GatewayThread) -> None:
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        assert (await cm.sessions.send_message("missing", "hi"))["status"] == "not_found"
        assert (await cm.sessions.delete("missing"))["status"] == "not_found"
        assert (await cm.sessions.interrupt("missing", turn_id="t"))["status"] == "not_found"
        assert (await cm.tool_calls.respond("999999", response={"success": True})) == {
            "status": "not_found",
            "requestId": "999999",
        }
        assert (await cm.approvals.decide("5", decision="accept", scope="turn"))["status"] == (
            "not_found"
        )
        assert (await cm.tool_input.decide("5", decision="cancel"))["status"] == "not_found"

        with pytest.raises(NotFoundError) as missing:
            await cm.sessions.get("missing")
        assert missing.value.details.status_code == 404
        assert missing.value.details.operation == "sessions.get"
        assert missing.value.details.path == "/sessions/missing"
        assert missing.value.details.response_body["status"] == "not_found"

        created = await cm.sessions.create()
        session_id = created["session"]["sessionId"]
        with pytest.raises(ValidationError) as invalid:
            await cm.sessions.rename(session_id, "   ")
        assert invalid.value.details.status_code == 400
        # 400 is on send_message's allow-list: the validation body is returned.
        assert (await cm.sessions.send_message(session_id, "  "))["code"] == "invalid_request"
        # Ids are escaped: a slash cannot reach another route.
        with pytest.raises(NotFoundError):
            await cm.sessions.get("a/../../health")


async def test_interrupt_a_running_turn(gateway: GatewayThread) -> None:
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        created = await cm.sessions.create(model="playbook?think_ms=2000")
        session_id = created["session"]["sessionId"]
        accepted = await cm.sessions.send_message(session_id, "take your time")
        turn_id = accepted["turnId"]
        await cm.wait.turn_status(
            session_id=session_id, turn_id=turn_id, expected="inProgress", timeout_seconds=10
        )
        scope = cm.session(session_id)
        interrupted = await scope.interrupt()
        assert interrupted["status"] == "ok"
        status = await cm.wait.turn_completed(
            session_id=session_id, turn_id=turn_id, timeout_seconds=10
        )
        assert status == "interrupted"


async def test_session_scope(gateway: GatewayThread) -> None:
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        created = await cm.sessions.create()
        scope = cm.session(created["session"]["sessionId"])
        assert scope.session_id == created["session"]["sessionId"]
        assert (await scope.rename("scoped"))["status"] == "ok"
        assert (await scope.get())["session"]["title"] == "scoped"
        first = await scope.send("one")
        await cm.wait.assistant_reply(session_id=scope.session_id, turn_id=first["turnId"])
        second = await scope.messages.send("two")
        await cm.wait.assistant_reply(session_id=scope.session_id, turn_id=second["turnId"])
        assert (await scope.approvals.list()) == {"data": []}
        assert (await scope.tool_calls.list()) == {"data": []}
        assert (await scope.tool_input.list()) == {"data": []}
        assert (await scope.delete())["status"] == "ok"


async def test_hooks_and_middleware(gateway: GatewayThread) -> None:
    log: list[tuple[str, str]] = []

    class Recorder:
        def before(self, call: RequestCall) -> None:
            log.append(("mw.before", call.operation))

        async def after(self, call: RequestCall, response: Any) -> None:
            log.append(("mw.after", call.operation))

        def on_error(self, call: RequestCall, error: BaseException) -> None:
            log.append(("mw.error", type(error).__name__))

    class Headers:
        calls = 0

        async def headers(self) -> dict[str, str]:
            Headers.calls += 1
            return {"x-trace": str(Headers.calls)}

    async with AsyncCodexManager(base_url=gateway.base_url, header_provider=Headers()) as cm:

        @cm.before("system.health")
        def only_health(call: RequestCall) -> None:
            log.append(("health.before", call.path))

        @cm.before()
        async def every(call: RequestCall) -> None:
            log.append(("all.before", call.operation))

        @cm.on_error("sessions.get")
        def failed(call: RequestCall, error: BaseException) -> None:
            log.append(("get.error", str(error)))

        cm.use_middleware(Recorder())
        await cm.system.health()
        assert log == [
            ("all.before", "system.health"),
            ("mw.before", "system.health"),
            ("health.before", "/health"),
            ("mw.after", "system.health"),
        ]
        log.clear()
        with pytest.raises(NotFoundError):
            await cm.sessions.get("ghost")
        # "*" hooks first, then the operation's own.
        assert log[-2:] == [
            ("mw.error", "NotFoundError"),
            ("get.error", "sessions.get failed with status 404"),
        ]
        assert Headers.calls == 2
        with pytest.raises(TypeError, match="callable before"):
            cm.use_middleware(object())


def _real(path: str) -> str:
    return os.path.realpath(path)


async def test_before_hook_may_rewrite_the_call(gateway: GatewayThread) -> None:
    rewritten = _real("src")
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:

        @cm.before("sessions.create")
        def force_cwd(call: RequestCall) -> None:
            call.json_body = {**(call.json_body or {}), "cwd": "src"}

        # "original" does not exist; the rewritten cwd does, inside the gateway's directory
        # (the default cwd ceiling), and comes back resolved.
        created = await cm.sessions.create(cwd="original")
        assert created["session"]["cwd"] == rewritten


class CountingRetry:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: list[tuple[int, int | None]] = []

    def should_retry(self, *, attempt: int, error: BaseException, status_code: int | None) -> bool:
        self.seen.append((attempt, status_code))
        return attempt < self.limit

    def next_delay_seconds(self, *, attempt: int) -> float:
        return 0.0


async def test_retry_policy_applies_to_idempotent_and_listed_operations(
    gateway: GatewayThread,
) -> None:
    policy = CountingRetry(limit=3)
    async with AsyncCodexManager(base_url=gateway.base_url, retry_policy=policy) as cm:
        with pytest.raises(NotFoundError):
            await cm.sessions.get("ghost")
        assert policy.seen == [(1, 404), (2, 404), (3, 404)]
        policy.seen.clear()
        with pytest.raises(ValidationError):
            await cm.sessions.rename("ghost-but-blank", " ")
        assert policy.seen == []  # POST: not retried unless listed

    listed = CountingRetry(limit=2)
    async with AsyncCodexManager(
        base_url="http://127.0.0.1:9",
        retry_policy=listed,
        retryable_operations=["sessions.create"],
        timeout_seconds=2,
    ) as cm:
        with pytest.raises(TransportError):
            await cm.sessions.create()
        assert listed.seen == [(1, None), (2, None)]


async def test_strict_validation_mode(gateway: GatewayThread) -> None:
    async with AsyncCodexManager(base_url=gateway.base_url, validation_mode="strict") as cm:
        created = await cm.sessions.create(cwd=".")
        session_id = created["session"]["sessionId"]
        accepted = await cm.sessions.send_message(session_id, "strict hello")
        reply = await cm.wait.assistant_reply(session_id=session_id, turn_id=accepted["turnId"])
        assert reply.detail["transcript"]
        assert (await cm.sessions.send_message("missing", "x"))["status"] == "not_found"
        assert (await cm.approvals.decide("1", decision="accept"))["status"] == "not_found"
        assert (await cm.tool_input.decide("1", decision="accept"))["status"] == "not_found"
        await cm.sessions.delete(session_id)
        assert (await cm.sessions.get(session_id))["status"] == "deleted"
        # A body of the wrong shape for the operation is refused, with the details.
        errors: list[BaseException] = []
        cm.on_error()(lambda call, error: errors.append(error))
        with pytest.raises(TypedModelValidationError) as caught:
            await cm.raw.request("GET", "/health", operation="sessions.get")
        assert caught.value.operation == "sessions.get"
        assert caught.value.model_name == "SessionDetail"
        assert caught.value.raw_sample["status"] == "ok"
        assert errors == [caught.value]
    # The default mode does not validate.
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        assert (await cm.raw.request("GET", "/health", operation="sessions.get"))["status"] == "ok"
