"""`cm.typed`: session and system operations return `wire_responses` models, on both
clients, against the real gateway; allowed non-success answers have their own models and
a body matching nothing raises `TypedModelValidationError`."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest

from teammesh import wire_responses as r
from teammesh.client import AsyncCodexManager, CodexManager, TypedModelValidationError
from teammesh.client._typed_call import NOT_OK_MODELS, parse
from teammesh.client.api import SessionsApi, SystemApi
from teammesh.client.typed import TypedSessions, TypedSystem
from teammesh.gateway.embedded import GatewayThread

CONTROLS = {"model": None, "approvalPolicy": "never", "networkAccess": "restricted",
            "filesystemSandbox": "read-only"}


def test_typed_sync_client(tmp_path: Path) -> None:
    with (
        GatewayThread(data_dir=tmp_path / "gw") as gateway,
        CodexManager(base_url=gateway.base_url) as cm,
    ):
        t = cm.typed
        assert isinstance(t.system.health(), r.Health)
        assert isinstance(t.system.info(), r.ServiceInfo)
        caps = t.system.capabilities()
        assert isinstance(caps, r.Capabilities) and caps.methods["review/start"] == "disabled"
        created = t.sessions.create()
        assert isinstance(created, r.SessionCreated)
        sid = created.session.sessionId
        assert isinstance(t.sessions.list(), r.SessionPage)
        detail = t.sessions.get(sid)
        assert isinstance(detail, r.SessionDetail) and detail.session.sessionId == sid
        assert isinstance(t.sessions.rename(sid, "typed"), r.SessionRenamed)
        controls = t.sessions.controls_get(sid)
        assert isinstance(controls, r.ControlsReport)
        assert controls.controls.approvalPolicy == "never"
        applied = t.sessions.controls_apply(sid, CONTROLS)
        assert isinstance(applied, r.ControlsApplied) and applied.status == "unchanged"
        settings = t.sessions.settings_set(sid, key="a", value=1)
        assert isinstance(settings, r.SettingsReport) and settings.settings == {"a": 1}
        assert isinstance(t.sessions.settings_get(sid, key="a"), r.SettingsReport)
        assert isinstance(t.sessions.settings_unset(sid, "a"), r.SettingsReport)
        assert isinstance(t.sessions.approval_policy(sid, "never"), r.ApprovalPolicySet)
        assert isinstance(t.sessions.tool_calls(sid), r.PendingToolCalls)
        # a 501 the allow-list returns as data: the error envelope model
        review = t.sessions.review(sid)
        assert isinstance(review, r.ErrorEnvelope) and review.code == "method_not_supported"
        fork = t.sessions.fork(sid)  # served on playbook (gateway/session_actions.py)
        assert isinstance(fork, r.SessionForked) and fork.sourceSessionId == sid
        assert isinstance(t.sessions.archive(sid), r.SessionOk)
        assert isinstance(t.sessions.unarchive(sid), r.SessionResumed)
        # an allowed refusal (409 no_active_turn) and a 404 on an unknown session
        assert isinstance(t.sessions.interrupt(sid), r.Refusal)
        missing = t.sessions.controls_get("no-such-session")
        assert isinstance(missing, r.Refusal) and missing.status == "not_found"
        accepted = t.sessions.send_message(sid, "hello")
        assert isinstance(accepted, r.TurnAccepted) and accepted.sessionId == sid
        cm.wait.turn_completed(session_id=sid, turn_id=accepted.turnId, timeout_seconds=20)
        assert isinstance(t.sessions.delete(sid), r.SessionDeleted)
        gone = t.sessions.get(sid)
        assert isinstance(gone, r.DeletedSession) and gone.sessionId == sid


def test_typed_async_client(tmp_path: Path) -> None:
    async def run(base_url: str) -> None:
        async with AsyncCodexManager(base_url=base_url) as cm:
            created = await cm.typed.sessions.create()
            assert isinstance(created, r.SessionCreated)
            sid = created.session.sessionId
            assert isinstance(await cm.typed.sessions.get(sid), r.SessionDetail)
            assert isinstance(await cm.typed.system.health(), r.Health)
            assert isinstance(await cm.typed.sessions.compact(sid), r.ErrorEnvelope)
            assert isinstance(await cm.typed.sessions.controls_get(sid), r.ControlsReport)
            await cm.typed.sessions.delete(sid)
            assert isinstance(await cm.typed.sessions.get(sid), r.DeletedSession)

    with GatewayThread(data_dir=tmp_path / "gw") as gateway:
        asyncio.run(run(gateway.base_url))


def test_a_body_matching_no_model_raises() -> None:
    # A success status with the required keys missing must not pass as a refusal.
    with pytest.raises(TypedModelValidationError) as caught:
        parse("sessions.get", (r.SessionDetail, *NOT_OK_MODELS), {"status": "ok"})
    assert caught.value.model_name == "SessionDetail" and caught.value.errors
    with pytest.raises(TypedModelValidationError):
        parse("sessions.send_message", (r.TurnAccepted, *NOT_OK_MODELS),
              {"status": "accepted", "turnId": 7})
    with pytest.raises(TypedModelValidationError):
        parse("system.health", (r.Health,), "not json")
    # an `ok` call (2xx-only allow-list) takes no refusal in place of its model
    with pytest.raises(TypedModelValidationError):
        parse("sessions.create", (r.SessionCreated,), {"status": "weird"})


def test_typed_methods_keep_the_raw_signatures() -> None:
    with CodexManager(base_url="http://127.0.0.1:9") as cm:
        for typed, raw in ((cm.typed.sessions, cm.sessions), (cm.typed.system, cm.system)):
            for name in dir(typed):
                assert inspect.signature(getattr(typed, name)) == inspect.signature(
                    getattr(raw, name)), name
        with pytest.raises(AttributeError):
            _ = cm.typed.sessions.no_such_call
    # every model's operation is the one the raw method sends (a typo would mislabel errors)
    for facade, raw_cls in ((TypedSystem, SystemApi), (TypedSessions, SessionsApi)):
        for name, call in facade.calls().items():
            assert f'"{call.operation}"' in inspect.getsource(getattr(raw_cls, name)), name
