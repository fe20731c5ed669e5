"""The session hub: sessions, turns, transcripts, pending requests and event fan-out.

Every runtime talks to the hub through `RuntimeSink`; every runtime message goes down one
path (`_on_notification` / `_on_server_request`) that updates session state first and then
publishes the same websocket events codex-manager publishes (wire §6.5, §6.6). The HTTP layer
calls the `async` operations below, which answer with an `Outcome` (status + JSON body) so the
wire's exact status codes and bodies live here, next to the state they describe.

Exactly once: a server request is registered pending before its signal is published, inside
one synchronous call; an answer moves it pending → responding (other answers now get 409) →
resolved (404 from then on); the runtime's `reply` runs once per accepted answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from teammesh.gateway.clock import iso_now, now_ms, now_s
from teammesh.gateway.fanout import FanOut
from teammesh.gateway.pending import (
    PendingRegistry,
    PendingRequest,
    RequestIds,
    RequestKind,
    RequestState,
)
from teammesh.gateway.projects import ProjectBook
from teammesh.gateway.runtime_pool import RuntimeLimitError, RuntimePool
from teammesh.gateway.runtimes.base import (
    DynamicTool,
    JsonObject,
    ReplyFn,
    Runtime,
    RuntimeFailure,
    RuntimeSink,
    RuntimeUnavailable,
    ServerRequestReply,
    ThreadConfig,
    TurnOptions,
)
from teammesh.gateway.runtimes.registry import RuntimeSettings, UnknownRuntimeError
from teammesh.gateway.session import Controls, Session
from teammesh.gateway.session_policy import PolicyRefusal, SessionCeiling, SessionPolicy
from teammesh.gateway.signals import (
    approval_result,
    approval_row,
    context_thread_id,
    context_turn_id,
    request_kind,
    signal_payload,
    tool_call_row,
    tool_input_row,
)
from teammesh.gateway.store import Store
from teammesh.gateway.store_health import StoreHealth, refusal
from teammesh.gateway.transcript import Entry, entry_for_item
from teammesh.wire import (
    BROADCAST_ALIASES,
    NOTIFICATION_ALIASES,
    ApprovalDecisionBody,
    CreateSessionBody,
    InterruptBody,
    RenameBody,
    SendMessageBody,
    ToolCallResponseBody,
    ToolInputDecisionBody,
    notification_event_type,
    reported_success,
    request_event_type,
)

log = logging.getLogger("teammesh.gateway.hub")

DEFAULT_APPROVAL_POLICY = "untrusted"
DEFAULT_SANDBOX = "read-only"
DEFAULT_NETWORK_ACCESS = "restricted"

# Transcript status a still-streaming entry takes when its turn ends this way.
_SETTLED_ENTRY_STATUS = {"completed": "complete", "interrupted": "canceled", "failed": "error"}
_RESOLVED_EVENTS: dict[RequestKind, str] = {
    "tool_call": "tool_call_resolved",
    "approval": "approval_resolved",
    "tool_input": "tool_user_input_resolved",
}
_REQUESTED_EVENTS: dict[RequestKind, str] = {
    "tool_call": "tool_call_requested",
    "approval": "approval",
    "tool_input": "tool_user_input_requested",
}


@dataclass(frozen=True)
class Outcome:
    """An HTTP answer: status code and JSON body, exactly as the wire specifies."""

    status: int
    body: JsonObject


def _error(status: int, code: str, message: str, **extra: Any) -> Outcome:
    return Outcome(status, {"status": "error", "code": code, "message": message, **extra})


def map_runtime_error(exc: BaseException, method: str, session_id: str) -> Outcome:
    """Map a runtime failure like upstream maps app-server errors (wire §2.4)."""
    message = exc.message if isinstance(exc, RuntimeFailure) else str(exc) or type(exc).__name__
    code_num = exc.code if isinstance(exc, RuntimeFailure) else None
    text = message.lower()
    details = {"method": method, "sessionId": session_id}
    if code_num == -32601 or any(
        s in text for s in ("method not found", "unknown variant", "experimental api capability")
    ):
        return _error(501, "method_not_supported", message, details=details)
    if code_num == -32602 or any(s in text for s in ("missing field", "invalid type")):
        return _error(400, "invalid_params", message, details=details)
    if code_num == -32600 or any(s in text for s in ("turn is in progress", "already in progress")):
        return _error(409, "invalid_state", message, details=details)
    if any(s in text for s in ("unauthorized", "authentication required")):
        return _error(401, "auth_required", message, details=details)
    if "timed out" in text:
        return _error(504, "codex_timeout", message, details=details)
    return _error(500, "codex_error", message, details=details)


class _BoundSink(RuntimeSink):
    """The sink one runtime instance sees: it tags every message with the runtime's key, so
    a runtime exit expires only that runtime's requests."""

    def __init__(self, hub: Hub, runtime_key: str) -> None:
        self._hub = hub
        self._key = runtime_key

    def notify(self, method: str, params: JsonObject) -> None:
        self._hub._on_notification(self._key, method, params)

    def server_request(self, method: str, params: JsonObject, reply: ReplyFn) -> None:
        self._hub._on_server_request(self._key, method, params, reply)

    def runtime_exited(self, reason: str) -> None:
        self._hub._on_runtime_exit(self._key, reason)

    def save_thread_state(self, thread_id: str, state: JsonObject) -> None:
        self._hub._on_thread_state(thread_id, state)


class Hub(RuntimeSink):
    def __init__(
        self,
        store: Store,
        *,
        default_runtime: str = "playbook",
        settings: RuntimeSettings | None = None,
        workspace_root: str | None = None,
        ceiling: SessionCeiling | None = None,
    ) -> None:
        self.store = store
        self.store_health = StoreHealth()
        self.fanout = FanOut()
        self.settings = settings or RuntimeSettings()
        self.workspace_root = workspace_root or os.getcwd()
        # What clients may ask of a session: session_policy.py (options and the ceiling).
        self.policy = SessionPolicy(
            ceiling or SessionCeiling(),
            default_spec=default_runtime,
            settings=self.settings,
            workspace_root=self.workspace_root,
        )
        self.runtimes = RuntimePool(
            default_runtime,
            self.settings,
            self._sink_for,
            max_runtimes=self.policy.ceiling.max_runtimes,
            in_use=self._runtime_in_use,
        )
        self._sessions: dict[str, Session] = {}
        self.projects = ProjectBook(store)  # codex-manager's projects (gateway/projects.py)
        self._pending = PendingRegistry()
        self._ids = RequestIds(store.request_id_ceiling(), store.reserve_request_ids)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._recover()

    # ===== lifecycle ========================================================================

    def _recover(self) -> None:
        """Load persisted sessions; turns that were running when the process died can never
        finish now, so they become `interrupted` (and their streaming entries `canceled`)."""
        at = now_ms()
        for session in self.store.load_sessions():
            self._sessions[session.id] = session
            for turn in session.turns:
                if turn.status == "inProgress":
                    turn.status = "interrupted"
                    turn.completed_at_ms = at
                    self._save(self.store.save_turn, session.id, turn)
                    settled = session.transcript.settle_turn(turn.id, "canceled", at)
                    self._save_entries(session, settled)

    async def close(self) -> None:
        await self.runtimes.stop_all()
        for task in tuple(self._tasks):
            task.cancel()
        self._expire(lambda r: True)
        await asyncio.sleep(0)  # let deferred store writes run before the store closes
        self.fanout.close_all()

    def _sink_for(self, runtime_key: str) -> RuntimeSink:
        return _BoundSink(self, runtime_key)

    def _runtime_in_use(self, runtime_key: str) -> bool:
        return any(
            s.runtime_key == runtime_key and s.deleted_at is None
            for s in self._sessions.values()
        )

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _save(self, write: Callable[..., None], *args: Any) -> None:
        # A failing disk must not break a runtime callback or a turn in flight; it is
        # remembered (health says degraded) until a write succeeds again.
        try:
            write(*args)
        except Exception as exc:
            log.warning("store write failed: %s", exc)
            self.store_health.failed(exc)
        else:
            self.store_health.succeeded()

    def _write_first(self, write: Callable[..., None], *args: Any) -> Outcome | None:
        """A write an HTTP answer depends on, made before the answer and before the change
        is applied in memory: None when written, else the 507/503 to answer instead."""
        try:
            write(*args)
        except Exception as exc:
            log.warning("store write failed, request refused: %s", exc)
            self.store_health.failed(exc)
            status, body = refusal(exc)
            return Outcome(status, body)
        self.store_health.succeeded()
        return None

    def _save_entries(self, session: Session, entries: list[Entry]) -> None:
        pairs = [(session.transcript.position(e), e) for e in entries]
        self._save(self.store.save_entries, session.id, pairs)

    # ===== RuntimeSink (the hub itself acts for the default runtime) ========================

    def notify(self, method: str, params: JsonObject) -> None:
        self._on_notification(self.runtimes.default_spec, method, params)

    def server_request(self, method: str, params: JsonObject, reply: ReplyFn) -> None:
        self._on_server_request(self.runtimes.default_spec, method, params, reply)

    def runtime_exited(self, reason: str) -> None:
        self._on_runtime_exit(self.runtimes.default_spec, reason)

    def save_thread_state(self, thread_id: str, state: JsonObject) -> None:
        self._on_thread_state(thread_id, state)

    def _on_thread_state(self, thread_id: str, state: JsonObject) -> None:
        session = self._sessions.get(thread_id)
        if session is None or session.deleted_at is not None:
            return  # a deleted session keeps nothing
        self._save(self.store.save_thread_state, thread_id, state)

    # ===== the one event path ===============================================================

    def _scope(self, params: Any) -> tuple[str | None, str | None, Session | None]:
        thread_id = context_thread_id(params)
        session = self._sessions.get(thread_id) if thread_id else None
        turn_id = context_turn_id(params)
        if turn_id is None and session is not None:
            active = session.active_turn
            turn_id = active.id if active else None
        return thread_id, turn_id, session

    def _signal_session(self, thread_id: str | None, session: Session | None) -> JsonObject | None:
        if session is not None:
            return session.signal_session()
        if thread_id is None:
            return None
        return {"id": thread_id, "title": None, "projectId": None}

    def _on_notification(self, runtime_key: str, method: str, params: JsonObject) -> None:
        thread_id, turn_id, session = self._scope(params)
        if session is not None and session.deleted_at is not None:
            return  # purged threads emit nothing
        if session is not None:
            self._apply_notification(session, method, params, turn_id)
        event_type = notification_event_type(method)
        self.fanout.publish(
            event_type,
            thread_id,
            signal_payload(
                signal_type="notification",
                event_type=event_type,
                method=method,
                received_at=iso_now(),
                thread_id=thread_id,
                turn_id=turn_id,
                params=params,
                session=self._signal_session(thread_id, session),
            ),
        )
        if method == "turn/completed" and thread_id is not None and turn_id is not None:
            self._expire(lambda r: r.thread_id == thread_id and r.turn_id == turn_id)
        alias = NOTIFICATION_ALIASES.get(method)
        if alias is not None:
            self.fanout.publish(alias, thread_id, params, broadcast=alias in BROADCAST_ALIASES)
        self.fanout.publish("notification", thread_id, {"method": method, "params": params})

    def _apply_notification(
        self, session: Session, method: str, params: JsonObject, turn_id: str | None
    ) -> None:
        at = now_ms()
        if method == "turn/started" and turn_id is not None:
            turn = session.ensure_turn(turn_id, at)
            session.materialized = True
            self._save(self.store.save_turn, session.id, turn)
        elif method == "item/started" and turn_id is not None:
            item = params.get("item")
            if isinstance(item, dict):
                session.transcript.upsert(entry_for_item(item, turn_id, "streaming", at))
        elif method == "item/agentMessage/delta" and turn_id is not None:
            item_id, delta = params.get("itemId"), params.get("delta")
            if isinstance(item_id, str) and isinstance(delta, str):
                session.transcript.append_delta(turn_id, item_id, delta)
        elif method == "item/completed" and turn_id is not None:
            item = params.get("item")
            if isinstance(item, dict):
                self._complete_item(session, turn_id, item, at)
        elif method == "turn/completed" and turn_id is not None:
            self._complete_turn(session, turn_id, params.get("turn"), at)

    def _complete_item(self, session: Session, turn_id: str, item: JsonObject, at: int) -> None:
        entry = session.transcript.upsert(entry_for_item(item, turn_id, "complete", at))
        turn = session.ensure_turn(turn_id, at)
        item_id = item.get("id")
        turn.items = [i for i in turn.items if i.get("id") != item_id or item_id is None]
        turn.items.append(item)
        if item.get("type") == "userMessage":
            session.materialized = True
            if not session.preview:
                session.preview = entry["content"][:200]
                self._save(self.store.save_session, session)
        self._save(self.store.save_turn, session.id, turn)
        self._save_entries(session, [entry])

    def _complete_turn(self, session: Session, turn_id: str, raw: Any, at: int) -> None:
        turn = session.ensure_turn(turn_id, at)
        info = raw if isinstance(raw, dict) else {}
        status = info.get("status")
        turn.status = status if isinstance(status, str) and status != "inProgress" else "completed"
        turn.error = info.get("error") if isinstance(info.get("error"), dict) else None
        turn.completed_at_ms = at
        if not turn.items and isinstance(info.get("items"), list):
            turn.items = list(info["items"])
        settled = session.transcript.settle_turn(
            turn_id, _SETTLED_ENTRY_STATUS.get(turn.status, "complete"), at
        )
        session.updated_at = now_s()
        self._save(self.store.save_turn, session.id, turn)
        self._save_entries(session, settled)
        self._save(self.store.save_session, session)

    def _on_server_request(
        self, runtime_key: str, method: str, params: JsonObject, reply: ReplyFn
    ) -> None:
        thread_id, turn_id, session = self._scope(params)
        if session is not None and session.deleted_at is not None:
            self._spawn(
                _safe_reply(reply, {"code": -32600, "message": f"thread {thread_id} is deleted"})
            )
            return
        request_id = self._ids.allocate()
        event_type = request_event_type(method)
        received_at = iso_now()
        signal = signal_payload(
            signal_type="request",
            event_type=event_type,
            method=method,
            received_at=received_at,
            thread_id=thread_id,
            turn_id=turn_id,
            params=params,
            session=self._signal_session(thread_id, session),
            request_id=request_id,
        )
        found_kind = request_kind(method)
        if found_kind is None:
            self.fanout.publish(event_type, thread_id, signal)
            self.fanout.publish(
                "server_request", thread_id, {"method": method, "id": request_id, "params": params}
            )
            error = {
                "code": -32601,
                "message": f"client does not support server-initiated method: {method}",
            }
            self._spawn(_safe_reply(reply, error))
            return
        kind = cast(RequestKind, found_kind)
        request = self._register(
            kind, request_id, method, thread_id, turn_id, params, reply, runtime_key, received_at
        )
        # Registered above, published below, with no await in between: a client reacting to
        # the signal always finds the request pending.
        self.fanout.publish(event_type, thread_id, signal)
        self.fanout.publish(_REQUESTED_EVENTS[kind], thread_id, request.row)
        if session is not None:
            self._upsert_request_entry(session, request, "request", self._request_text(request))

    def _register(
        self,
        kind: RequestKind,
        request_id: int,
        method: str,
        thread_id: str | None,
        turn_id: str | None,
        params: JsonObject,
        reply: ReplyFn,
        runtime_key: str,
        at: str,
    ) -> PendingRequest:
        public_id = str(request_id)
        session = self._sessions.get(thread_id) if thread_id else None
        if kind == "tool_call":
            row = tool_call_row(public_id, thread_id, turn_id, params, at)
            seq = 1
            if session is not None:
                session.tool_call_seq += 1
                seq = session.tool_call_seq
            message_id = f"tool-call-{public_id}-{seq}"
        elif kind == "approval":
            row = approval_row(public_id, method, thread_id, turn_id, params, at)
            message_id = f"approval-{public_id}"
        else:
            row = tool_input_row(public_id, method, thread_id, turn_id, params, at)
            message_id = f"tool-input-{public_id}"
        request = PendingRequest(
            request_id=request_id,
            kind=kind,
            method=method,
            thread_id=thread_id,
            turn_id=turn_id,
            params=params,
            reply=reply,
            row=row,
            runtime_key=runtime_key,
            transcript_message_id=message_id,
            details_text=json.dumps(row, indent=2, ensure_ascii=False),
        )
        self._pending.add(request)
        return request

    # --- transcript entries for interactive requests ---------------------------------------

    _ENTRY_PREFIX: ClassVar[dict[RequestKind, tuple[str, str]]] = {
        "tool_call": ("tool_call", "tool-call"),
        "approval": ("approval", "approval"),
        "tool_input": ("tool_input", "tool-input"),
    }

    @staticmethod
    def _request_text(request: PendingRequest) -> str:
        if request.kind == "tool_call":
            return f"Tool call requested: {request.params.get('tool')}"
        return str(request.row.get("summary", ""))

    def _upsert_request_entry(
        self, session: Session, request: PendingRequest, phase: str, content: str
    ) -> Entry:
        type_prefix, turn_fallback = self._ENTRY_PREFIX[request.kind]
        at = now_ms()
        entry = session.transcript.upsert(
            {
                "messageId": request.transcript_message_id,
                "turnId": request.turn_id or turn_fallback,
                "role": "system",
                "type": f"{type_prefix}.{phase}",
                "content": content,
                "status": "complete",
                "details": request.details_text,
                "startedAt": at,
                "completedAt": at,
            }
        )
        return entry

    def _finish_request(
        self, request: PendingRequest, event_payload: JsonObject, content: str
    ) -> None:
        """Publish the `*_resolved` event and record the outcome in the transcript."""
        self.fanout.publish(_RESOLVED_EVENTS[request.kind], request.thread_id, event_payload)
        session = self._sessions.get(request.thread_id) if request.thread_id else None
        if session is not None and session.deleted_at is None:
            entry = self._upsert_request_entry(session, request, "resolved", content)
            # Written on the next loop iteration, i.e. after the HTTP answer that resolved
            # it has been handed to the socket: the round trip never waits for SQLite.
            asyncio.get_running_loop().call_soon(self._save_entries, session, [entry])

    def _expire(self, predicate: Callable[[PendingRequest], bool]) -> None:
        for request in self._pending.take(
            lambda r: r.state in (RequestState.PENDING, RequestState.RESPONDING) and predicate(r)
        ):
            request.state = RequestState.EXPIRED
            if request.kind == "tool_call":
                payload: JsonObject = {
                    "requestId": request.public_id,
                    "status": "expired",
                    "success": False,
                }
                content = "Tool call expired (success=false)"
            elif request.kind == "approval":
                payload = {"approvalId": request.public_id, "status": "expired"}
                content = "Approval expired"
            else:
                payload = {"requestId": request.public_id, "status": "expired"}
                content = "Tool input expired"
            self._finish_request(request, payload, content)

    def _on_runtime_exit(self, runtime_key: str, reason: str) -> None:
        log.warning("runtime %s exited: %s", runtime_key, reason)
        self._expire(lambda r: r.runtime_key == runtime_key)
        for session in tuple(self._sessions.values()):
            if session.runtime_key != runtime_key or session.deleted_at is not None:
                continue
            session.attached = False  # re-created with resume_thread before its next turn
            active = session.active_turn
            if active is not None:
                # Through the normal path, so clients see `app_server.turn.completed`.
                self._on_notification(
                    runtime_key,
                    "turn/completed",
                    {
                        "threadId": session.id,
                        "turn": {
                            "id": active.id,
                            "status": "interrupted",
                            "items": [],
                            "error": {"message": f"runtime exited: {reason}"},
                        },
                    },
                )

    # ===== answering requests (HTTP) ========================================================

    async def _forward(self, request: PendingRequest, reply: ServerRequestReply) -> bool | None:
        """Run the runtime's reply once. True: accepted; False: failed (back to pending);
        None: the request expired meanwhile (its turn ended)."""
        request.state = RequestState.RESPONDING
        try:
            await request.reply(reply)
        except Exception:
            log.warning("reply to request %s failed", request.public_id, exc_info=True)
            if request.state is RequestState.RESPONDING:
                request.state = RequestState.PENDING
                return False
            return None
        if request.state is not RequestState.RESPONDING:
            return None
        request.state = RequestState.RESOLVED
        self._pending.remove(request)
        return True

    async def respond_tool_call(self, raw_id: str, body: ToolCallResponseBody) -> Outcome:
        request = self._pending.get(raw_id, "tool_call")
        if request is None or request.state not in (
            RequestState.PENDING,
            RequestState.RESPONDING,
        ):
            return Outcome(404, {"status": "not_found", "requestId": raw_id})
        if request.state is RequestState.RESPONDING:
            return Outcome(409, {"status": "conflict", "code": "in_flight", "requestId": raw_id})
        result = body.forwarded_result()
        accepted = await self._forward(request, ServerRequestReply(result=result))
        if accepted is False:
            return Outcome(500, {"status": "error", "requestId": raw_id})
        if accepted is None:
            return Outcome(404, {"status": "not_found", "requestId": raw_id})
        success = reported_success(result)
        self._finish_request(
            request,
            {"requestId": request.public_id, "status": "resolved", "success": success},
            f"Tool call resolved (success={'true' if success else 'false'})",
        )
        return Outcome(200, {"status": "ok", "requestId": raw_id, "threadId": request.thread_id})

    async def decide_approval(self, raw_id: str, body: ApprovalDecisionBody) -> Outcome:
        request = self._pending.get(raw_id, "approval")
        if request is None or request.state not in (
            RequestState.PENDING,
            RequestState.RESPONDING,
        ):
            return Outcome(404, {"status": "not_found", "approvalId": raw_id})
        if request.state is RequestState.RESPONDING:
            return Outcome(
                409,
                {
                    "status": "reconciled",
                    "approvalId": raw_id,
                    "threadId": request.thread_id,
                    "code": "conflict",
                },
            )
        result = approval_result(request.method, body.decision, body.scope)
        accepted = await self._forward(request, ServerRequestReply(result=result))
        if accepted is False:
            return Outcome(500, {"status": "error", "approvalId": raw_id})
        if accepted is None:
            return Outcome(404, {"status": "not_found", "approvalId": raw_id})
        scope = body.scope or "turn"
        self._finish_request(
            request,
            {
                "approvalId": request.public_id,
                "status": "resolved",
                "decision": body.decision,
                "scope": scope,
            },
            f"Approval resolved ({body.decision})",
        )
        return Outcome(200, {"status": "ok", "approvalId": raw_id, "threadId": request.thread_id})

    async def decide_tool_input(self, raw_id: str, body: ToolInputDecisionBody) -> Outcome:
        request = self._pending.get(raw_id, "tool_input")
        # Upstream has no 409 here: a request being answered right now is "not pending".
        if request is None or request.state is not RequestState.PENDING:
            return Outcome(404, {"status": "not_found", "requestId": raw_id})
        if body.response is not None:
            result: Any = body.response
        elif body.decision == "accept":
            result = {"answers": body.answers or {}}
        else:
            result = {"status": body.decision}
        accepted = await self._forward(request, ServerRequestReply(result=result))
        if accepted is False:
            return Outcome(500, {"status": "error", "requestId": raw_id})
        if accepted is None:
            return Outcome(404, {"status": "not_found", "requestId": raw_id})
        self._finish_request(
            request,
            {"requestId": request.public_id, "status": "resolved", "decision": body.decision},
            f"Tool input resolved ({body.decision})",
        )
        return Outcome(200, {"status": "ok", "requestId": raw_id, "threadId": request.thread_id})

    # ===== sessions (HTTP) ==================================================================

    def lookup(self, session_id: str) -> Session | Outcome:
        """The live session, or the 410 (deleted) / 404 (unknown) answer."""
        session = self._sessions.get(session_id)
        if session is None:
            return Outcome(404, {"status": "not_found", "sessionId": session_id})
        if session.deleted_at is not None:
            return Outcome(410, session.deleted_payload())
        return session

    def deleted_outcome(self, session_id: str) -> Outcome | None:
        """410 for a deleted session (checked first on every session route), else None."""
        session = self._sessions.get(session_id)
        if session is not None and session.deleted_at is not None:
            return Outcome(410, session.deleted_payload())
        return None

    async def create_session(self, body: CreateSessionBody) -> Outcome:
        try:
            admitted = self.policy.admit_create(
                model=body.model,
                cwd=body.cwd,
                approval=body.approvalPolicy,
                sandbox=body.filesystemSandbox,
                network=body.networkAccess,
            )
        except PolicyRefusal as refusal:
            return Outcome(refusal.status, refusal.body)
        spec, model = admitted.runtime.key, admitted.runtime.model
        try:
            self.runtimes.validate(spec)
            runtime = await self.runtimes.get(spec)
        except UnknownRuntimeError as exc:
            return _error(400, "invalid_request", str(exc))
        except RuntimeLimitError as exc:
            return _error(503, "runtime_limit", str(exc))
        except ImportError as exc:
            return _error(501, "method_not_supported", f"runtime {spec!r} is unavailable: {exc}")
        except RuntimeUnavailable as exc:  # e.g. no codex binary: the operator's to fix
            log.warning("runtime %s is unavailable: %s", spec, exc.message)
            return _error(503, "runtime_unavailable", exc.message)
        except Exception as exc:
            log.exception("runtime %s failed to start", spec)
            return map_runtime_error(exc, "thread/start", "")
        controls = Controls(
            model=model,
            approval_policy=admitted.approval_policy,
            network_access=admitted.network_access,
            filesystem_sandbox=admitted.filesystem_sandbox,
        )
        tools = [tool.to_wire() for tool in body.dynamicTools or []]
        config = ThreadConfig(
            cwd=admitted.cwd,
            model=model,
            approval_policy=controls.approval_policy,
            sandbox=controls.filesystem_sandbox,
            network_access=controls.network_access,
            dynamic_tools=_tools(tools),
        )
        try:
            info = await runtime.start_thread(config)
        except Exception as exc:
            log.warning("thread/start failed on %s", spec, exc_info=True)
            return map_runtime_error(exc, "thread/start", "")
        session = Session(
            id=info.id,
            runtime_key=spec,
            cwd=info.cwd,
            model_provider=info.model_provider,
            created_at=info.created_at,
            updated_at=info.created_at,
            source=info.source,
            controls=controls,
            dynamic_tools=tools,
            attached=True,
        )
        refused = self._write_first(self.store.save_session, session)
        if refused is not None:  # not written: the session never existed
            with contextlib.suppress(Exception):
                await runtime.forget_thread(session.id)
            return refused
        self._sessions[session.id] = session
        return Outcome(200, {"session": session.summary(), "thread": session.thread()})

    def list_sessions(self, *, archived: bool, cursor: str | None, limit: int) -> Outcome:
        live = [s for s in self._sessions.values() if s.deleted_at is None]
        live.sort(key=lambda s: (s.updated_at, s.created_at), reverse=True)
        live = [s for s in live if s.archived == archived]  # S/archive, session_actions.py
        offset = int(cursor) if cursor and cursor.isascii() and cursor.isdigit() else 0
        page = live[offset : offset + limit]
        more = offset + limit < len(live)
        return Outcome(
            200,
            {
                "data": [s.summary() for s in page],
                "nextCursor": str(offset + limit) if more else None,
                "archived": archived,
            },
        )

    def get_session(self, session_id: str) -> Outcome:
        found = self.lookup(session_id)
        if isinstance(found, Outcome):
            return found
        return Outcome(
            200,
            {
                "session": found.summary(),
                "thread": found.thread(),
                "transcript": found.transcript.entries(),
            },
        )

    async def delete_session(self, session_id: str) -> Outcome:
        found = self.lookup(session_id)
        if isinstance(found, Outcome):
            return found
        session = found
        active = session.active_turn
        runtime = self.runtimes.peek(session.runtime_key)
        # Mark it deleted first: anything the runtime emits from here on is dropped. The
        # tombstone is written before anything else happens; unwritten, nothing is deleted.
        session.deleted_at = iso_now()
        refused = self._write_first(self.store.save_session, session)
        if refused is not None:
            session.deleted_at = None
            return refused
        if active is not None and runtime is not None and session.attached:
            try:
                await runtime.interrupt_turn(session.id, active.id)
            except Exception:
                log.warning("interrupt on delete failed for %s", session.id, exc_info=True)
        if runtime is not None:
            # Only the tombstone stays: the runtime's copy of the conversation goes too.
            try:
                await runtime.forget_thread(session.id)
            except Exception:
                log.warning("forget on delete failed for %s", session.id, exc_info=True)
        self._expire(lambda r: r.thread_id == session.id)
        session.turns = []
        session.transcript = type(session.transcript)()
        self._save(self.store.save_session, session)
        self._save(self.store.purge_session_content, session.id)
        payload = session.deleted_payload()
        self.fanout.publish("session_deleted", session.id, payload, broadcast=True)
        return Outcome(
            200,
            {
                "status": "ok",
                "sessionId": session.id,
                "title": session.title,
                "deletedFileCount": 0,
            },
        )

    def rename_session(self, session_id: str, body: RenameBody) -> Outcome:
        found = self.lookup(session_id)
        if isinstance(found, Outcome):
            return found
        before = (found.title, found.updated_at)
        found.title = body.title
        found.updated_at = now_s()
        refused = self._write_first(self.store.save_session, found)
        if refused is not None:  # unwritten: the old title stays, in memory too
            found.title, found.updated_at = before
            return refused
        return Outcome(200, {"status": "ok", "session": found.summary()})

    async def send_message(self, session_id: str, body: SendMessageBody) -> Outcome:
        found = self.lookup(session_id)
        if isinstance(found, Outcome):
            return found
        session = found
        if session.starting_turn or session.active_turn is not None:
            return _error(
                409,
                "invalid_state",
                "turn is already in progress",
                details={"method": "turn/start", "sessionId": session_id},
            )
        if session.archived:  # codex refuses turns on an archived thread; so does every runtime
            return _error(
                409,
                "invalid_state",
                f"session {session_id} is archived; unarchive it first",
                details={"method": "turn/start", "sessionId": session_id},
            )
        session.starting_turn = True  # set before the first await: no second turn sneaks in
        try:
            return await self._start_turn(session, body)
        finally:
            session.starting_turn = False

    async def _start_turn(self, session: Session, body: SendMessageBody) -> Outcome:
        controls = Controls(
            model=session.controls.model,
            approval_policy=body.approvalPolicy or session.controls.approval_policy,
            network_access=body.networkAccess or session.controls.network_access,
            filesystem_sandbox=body.filesystemSandbox or session.controls.filesystem_sandbox,
            settings=session.controls.settings,  # a message never touches the settings
        )
        tools = (
            [t.to_wire() for t in body.dynamicTools]
            if body.dynamicTools is not None
            else session.dynamic_tools
        )
        try:
            turn_model = self.policy.admit_turn(
                runtime_key=session.runtime_key,
                cwd=session.cwd,
                model=body.model,
                approval=controls.approval_policy,
                sandbox=controls.filesystem_sandbox,
                network=controls.network_access,
                inherited=frozenset(
                    name
                    for name, asked in (
                        ("approval", body.approvalPolicy),
                        ("sandbox", body.filesystemSandbox),
                        ("network", body.networkAccess),
                    )
                    if asked is None
                ),
            )
        except PolicyRefusal as refusal:
            return Outcome(refusal.status, refusal.body)
        options = TurnOptions(
            model=turn_model,
            effort=body.effort,
            approval_policy=controls.approval_policy,
            sandbox=controls.filesystem_sandbox,
            network_access=controls.network_access,
            dynamic_tools=_tools(tools) if body.dynamicTools is not None else None,
        )
        # The session record with its new controls is written before the turn starts: a
        # store that refuses it refuses the message, and no turn runs unrecorded.
        before = (session.controls, session.dynamic_tools, session.materialized,
                  session.updated_at)
        session.controls = controls
        session.dynamic_tools = tools
        session.materialized = True
        session.updated_at = now_s()
        refused = self._write_first(self.store.save_session, session)
        (session.controls, session.dynamic_tools, session.materialized,
         session.updated_at) = before
        if refused is not None:
            return refused
        method = "thread/resume"
        try:
            try:
                runtime = await self.runtimes.get(session.runtime_key)
            except RuntimeLimitError as exc:
                return _error(503, "runtime_limit", str(exc))
            if not session.attached:
                config = session.thread_config()
                config.dynamic_tools = options.dynamic_tools or config.dynamic_tools
                config.state = self.store.load_thread_state(session.id)
                await runtime.resume_thread(session.id, config)
                session.attached = True
            method = "turn/start"
            turn_id = await runtime.start_turn(session.id, body.text, options)
        except Exception as exc:
            log.warning("%s failed for %s", method, session.id, exc_info=True)
            self._save(self.store.save_session, session)  # the old controls again
            return map_runtime_error(exc, method, session.id)
        # The new controls and tools apply only after a successful start (as upstream).
        session.controls = controls
        session.dynamic_tools = tools
        session.materialized = True
        session.updated_at = now_s()
        turn = session.ensure_turn(turn_id, now_ms())
        refused = self._write_first(self.store.save_turn, session.id, turn)
        if refused is not None:
            # The turn started but cannot be recorded: stop it rather than acknowledge it.
            with contextlib.suppress(Exception):
                await runtime.interrupt_turn(session.id, turn_id)
            return refused
        return Outcome(202, {"status": "accepted", "sessionId": session.id, "turnId": turn_id})

    async def interrupt(self, session_id: str, body: InterruptBody) -> Outcome:
        found = self.lookup(session_id)
        if isinstance(found, Outcome):
            return found
        session = found
        active = session.active_turn
        turn_id = body.turnId or (active.id if active else None)
        if turn_id is None:
            return Outcome(409, {"status": "no_active_turn", "sessionId": session_id})
        runtime = self.runtimes.peek(session.runtime_key)
        if runtime is not None and session.attached:
            try:
                await runtime.interrupt_turn(session.id, turn_id)
            except Exception as exc:
                log.warning("turn/interrupt failed for %s", session_id, exc_info=True)
                return map_runtime_error(exc, "turn/interrupt", session_id)
        return Outcome(200, {"status": "ok", "sessionId": session_id, "turnId": turn_id})

    def list_requests(self, session_id: str, kind: RequestKind) -> Outcome:
        # Unknown ids give an empty list, as upstream (the client's poll loop relies on a
        # `data` list here); deleted ones 410.
        deleted = self.deleted_outcome(session_id)
        if deleted is not None:
            return deleted
        return Outcome(200, {"data": self._pending.listed(session_id, kind)})

    # ===== informational =====================================================================

    def health(self) -> JsonObject:
        runtime: Runtime | None = self.runtimes.peek(self.runtimes.default_spec)
        codex = (
            runtime.health()
            if runtime is not None
            else {"running": False, "pid": None, "initialized": False}
        )
        store = self._store_status()
        return {
            "status": "ok" if store["writable"] else "degraded",
            "service": "api",
            "store": store,
            "codex": codex,
            "orchestratorQueue": {"enabled": False},
            "auth": {
                "hasOpenAiApiKey": bool(os.environ.get("OPENAI_API_KEY")),
                "codexHomeAuthFile": False,
                "likelyUnauthenticated": False,
            },
            "timestamp": iso_now(),
        }

    def _store_status(self) -> JsonObject:
        """While writes fail, each health check probes once, so space that returns is seen
        even when nothing else writes."""
        if self.store_health.reason is not None:
            self._save(self.store.probe_write, iso_now())
        reason = self.store_health.reason
        if reason is None:
            return {"writable": True}
        return {"writable": False, "reason": reason, "failedWrites": self.store_health.failures}

    # For tests and embedding: a read-only view.
    def sessions(self) -> list[Session]:
        """Every session this gateway knows, deleted ones (tombstones) included."""
        return list(self._sessions.values())

    def session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    @property
    def pending_count(self) -> int:
        return len(self._pending)


def _tools(tools: list[JsonObject]) -> list[DynamicTool]:
    return [DynamicTool(t["name"], t["description"], t["inputSchema"]) for t in tools]


async def _safe_reply(
    reply: Callable[[ServerRequestReply], Awaitable[None]], error: JsonObject
) -> None:
    try:
        await reply(ServerRequestReply(error=error))
    except Exception:
        log.warning("runtime refused an error reply", exc_info=True)
