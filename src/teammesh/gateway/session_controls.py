"""Session controls, settings and approval policy (routes reference §7.4), for real.

State lives in the session's `Controls` (persisted with the session record in the gateway
store), so it survives restarts and shows in every `sessionControls` rendering. Upstream's
order: `gone` (410) → `missing` (404) → body; the GET/DELETE settings routes parse their
query first.

What a client may change is bounded by the operator: approval policy, sandbox and network go
through `SessionPolicy.check_controls` (403 past the ceiling), exactly like a create or a
message would; the `default` scope (defaults for new sessions) is the operator's, so it is
locked (423, upstream's own answer under `SESSION_DEFAULTS_LOCKED`). A session's model cannot
be changed here: turns would not use it, so the change answers 501 rather than pretending.

Each real change of controls or settings appends a supplemental transcript row (role system,
turn `session-controls`, type `session.controls.updated`) visible in `GET S`; no websocket
event, as upstream.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request

from teammesh.gateway.clock import now_ms
from teammesh.gateway.http_io import BodyError, read_json, validate
from teammesh.gateway.hub import Hub
from teammesh.gateway.outcome import Outcome, policy_check
from teammesh.gateway.session import Controls, Session
from teammesh.wire import (
    ApprovalPolicyBody,
    SessionControlsBody,
    SessionSettingsBody,
    SettingsKey,
    SettingsQuery,
    SettingsUnsetQuery,
)

LOCK_REASON = "Managed by harness configuration"
# The settings are rewritten with the session record on every save (each message too), so
# their total size is bounded: many 1 MiB merges must not grow one row without limit.
MAX_SETTINGS_BYTES = 256 * 1024
AUDIT_TURN = "session-controls"

Handler = Callable[[Request], Awaitable[Outcome]]


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _session(request: Request) -> Session | Outcome:
    """410 for a deleted session, 404 for an unknown one (upstream's G410 → G404)."""
    return _hub(request).lookup(str(request.path_params["sessionId"]))


def _defaults(hub: Hub) -> Controls:
    return Controls(approval_policy=hub.policy.ceiling.default_approval())


def _report(hub: Hub, session: Session) -> dict[str, Any]:
    return {
        "sessionId": session.id,
        "controls": session.controls.to_wire(),
        "defaults": _defaults(hub).to_wire(),
        "defaultsEditable": False,
        "defaultLockReason": LOCK_REASON,
    }


def _summary(controls: Controls) -> str:
    return (f"{controls.model or 'default'} | {controls.approval_policy} | "
            f"{controls.network_access} | {controls.filesystem_sandbox} | "
            f"settings:{len(controls.settings)}")


def _locked(message_extra: dict[str, Any]) -> Outcome:
    return Outcome(423, {"status": "locked", "scope": "default", "message": LOCK_REASON,
                         **message_extra})


def _commit(hub: Hub, session: Session, new: Controls, actor: str, source: str) -> Outcome | None:
    """Write the session with `new` controls before they apply (unwritten: nothing changes,
    the store's refusal is the answer), then record the audit row."""
    old = session.controls
    # One settings dict per session, changed in place: a turn starting right now holds
    # the session's controls and puts them back when it starts; it must not put back
    # stale settings.
    shared, before = old.settings, dict(old.settings)
    shared.clear()
    shared.update(new.settings)
    new.settings = shared
    session.controls = new
    refused = hub.writes.first(hub.store.save_session, session)
    if refused is not None:
        shared.clear()
        shared.update(before)
        session.controls = old
        return refused
    at = now_ms()
    entry = session.transcript.upsert({
        "messageId": f"session-controls-{uuid.uuid4()}",
        "turnId": AUDIT_TURN,
        "role": "system",
        "type": "session.controls.updated",
        "content": f"Session controls updated by {actor} via {source}: "
                   f"{_summary(old)} -> {_summary(new)}",
        "status": "complete",
        "startedAt": at,
        "completedAt": at,
    })
    hub.writes.entries(session, [entry])
    return None


def _turn_starting(session: Session, operation: str) -> Outcome | None:
    """A message between its checks and turn/start puts its own controls back when the turn
    starts; a policy change accepted meanwhile would be undone silently, so it waits."""
    if not session.starting_turn:
        return None
    return Outcome(409, {"status": "error", "code": "invalid_state",
                         "message": "a turn is starting on this session; retry",
                         "details": {"method": operation, "sessionId": session.id}})


def _ceiling(hub: Hub, approval: str, sandbox: str, network: str,
             inherited: frozenset[str] = frozenset()) -> Outcome | None:
    refused = policy_check(lambda: hub.policy.check_controls(approval, sandbox, network,
                                                         inherited=inherited))
    return refused if isinstance(refused, Outcome) else None


def _copy(controls: Controls, **changes: Any) -> Controls:
    # dataclasses.replace keeps the same settings dict unless `settings` is given (_commit).
    return dataclasses.replace(controls, **changes)


# --- controls (#58, #59) ---------------------------------------------------------------------


async def get_controls(request: Request) -> Outcome:
    found = _session(request)
    if isinstance(found, Outcome):
        return found
    return Outcome(200, {"status": "ok", **_report(_hub(request), found)})


async def apply_controls(request: Request) -> Outcome:
    hub, found = _hub(request), _session(request)
    if isinstance(found, Outcome):
        return found
    body = validate(SessionControlsBody, await read_json(request))
    if body.scope == "default":
        return _locked(_report(hub, found))
    asked = body.controls
    if asked.model != found.controls.model:
        return Outcome(501, {
            "status": "error", "code": "method_not_supported",
            "message": "not implemented by this gateway: changing a session's model "
                       "(create a new session with the model instead)",
            "details": {"method": "sessions.controls.apply", "sessionId": found.id,
                        "operation": "sessions.controls.apply"},
        })
    refused = _ceiling(hub, asked.approvalPolicy, asked.filesystemSandbox, asked.networkAccess)
    if refused is not None:
        return refused
    if (busy := _turn_starting(found, "sessions.controls.apply")) is not None:
        return busy
    if asked.settings is not None:
        # Measured as _store_settings measures (UTF-8, not \u escapes): the same settings
        # must not be 200 on S/settings and 413 here.
        size = len(json.dumps(asked.settings, separators=(",", ":"),
                              ensure_ascii=False).encode())
        if size > MAX_SETTINGS_BYTES:
            return Outcome(413, {"status": "error", "code": "request_failed",
                                 "message": f"session settings would take {size} bytes; "
                                            f"at most {MAX_SETTINGS_BYTES} are kept"})
    new = _copy(found.controls, approval_policy=asked.approvalPolicy,
                network_access=asked.networkAccess,
                filesystem_sandbox=asked.filesystemSandbox,
                settings=(found.controls.settings if asked.settings is None
                          else dict(asked.settings)))
    status = "unchanged" if new == found.controls else "ok"
    if status == "ok":
        refused = _commit(hub, found, new, body.actor or "user", body.source or "ui")
        if refused is not None:
            return refused
    return Outcome(200, {"status": status, "scope": "session", "applied": new.to_wire(),
                         "summary": _summary(new), **_report(hub, found)})


# --- settings (#60, #61, #62) ------------------------------------------------------------------


async def get_settings(request: Request) -> Outcome:
    query = validate(SettingsQuery, dict(request.query_params))
    found = _session(request)
    if isinstance(found, Outcome):
        return found
    settings = found.controls.settings if query.scope == "session" else {}
    body: dict[str, Any] = {"status": "ok", "sessionId": found.id, "scope": query.scope,
                            "settings": dict(settings)}
    if query.key is not None:
        body.update(key=query.key, found=query.key in settings,
                    value=settings.get(query.key))
    return Outcome(200, body)


async def set_settings(request: Request) -> Outcome:
    hub, found = _hub(request), _session(request)
    if isinstance(found, Outcome):
        return found
    raw = await read_json(request)
    validate(SessionSettingsBody, raw)
    body = SessionSettingsBody.parse(raw)
    if (problem := body.form_problem()) is not None:
        raise BodyError(400, {"status": "error", "code": "invalid_request", "message": problem})
    if body.scope == "default":
        return _locked({"sessionId": found.id, "settings": {}})
    current = found.controls.settings
    if body.key is not None:
        settings = {**current, body.key: body.value}
    elif body.mode == "replace":
        settings = dict(body.settings or {})
    else:  # merge: top-level keys of the body replace the stored ones, the rest stay
        settings = {**current, **(body.settings or {})}
    answer = await _store_settings(hub, found, settings, body.actor, body.source)
    if isinstance(answer, Outcome):
        return answer
    reply: dict[str, Any] = {"status": answer, "sessionId": found.id, "scope": "session"}
    if body.key is not None:
        reply["key"] = body.key
    reply["settings"] = dict(found.controls.settings)
    return Outcome(200, reply)


async def unset_setting(request: Request) -> Outcome:
    query = validate(SettingsUnsetQuery, dict(request.query_params))
    key = validate(_KeyParam, {"key": request.path_params["key"]}).key
    hub, found = _hub(request), _session(request)
    if isinstance(found, Outcome):
        return found
    if query.scope == "default":
        return _locked({"sessionId": found.id, "settings": {}})
    removed = key in found.controls.settings
    settings = {k: v for k, v in found.controls.settings.items() if k != key}
    answer = await _store_settings(hub, found, settings, query.actor, query.source)
    if isinstance(answer, Outcome):
        return answer
    return Outcome(200, {"status": answer, "sessionId": found.id, "scope": "session",
                         "key": key, "removed": removed,
                         "settings": dict(found.controls.settings)})


async def _store_settings(hub: Hub, session: Session, settings: dict[str, Any],
                          actor: str | None, source: str | None) -> str | Outcome:
    if settings == session.controls.settings:
        return "unchanged"
    size = len(json.dumps(settings, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_SETTINGS_BYTES:
        return Outcome(413, {"status": "error", "code": "request_failed",
                             "message": f"session settings would take {size} bytes; "
                                        f"at most {MAX_SETTINGS_BYTES} are kept"})
    new = _copy(session.controls, settings=settings)
    refused = _commit(hub, session, new, actor or "user", source or "api")
    return refused if refused is not None else "ok"


class _KeyParam(BaseModel):
    key: SettingsKey


# --- approval policy (#63) ---------------------------------------------------------------------


async def set_approval_policy(request: Request) -> Outcome:
    hub, found = _hub(request), _session(request)
    if isinstance(found, Outcome):
        return found
    body = validate(ApprovalPolicyBody, await read_json(request))
    controls = found.controls
    refused = _ceiling(hub, body.approvalPolicy, controls.filesystem_sandbox,
                       controls.network_access, inherited=frozenset({"sandbox", "network"}))
    if refused is not None:
        return refused
    if (busy := _turn_starting(found, "sessions.approval_policy.set")) is not None:
        return busy
    if body.approvalPolicy != controls.approval_policy:
        new = _copy(controls, approval_policy=body.approvalPolicy)
        found.controls = new
        refused = hub.writes.first(hub.store.save_session, found)  # no audit row (upstream)
        if refused is not None:
            found.controls = controls
            return refused
    return Outcome(200, {"status": "ok", "sessionId": found.id,
                         "approvalPolicy": body.approvalPolicy})


# operation name (upstream_routes) → handler
HANDLERS: dict[str, Handler] = {
    "sessions.controls.get": get_controls,
    "sessions.controls.apply": apply_controls,
    "sessions.settings.get": get_settings,
    "sessions.settings.set": set_settings,
    "sessions.settings.unset": unset_setting,
    "sessions.approval_policy.set": set_approval_policy,
}
