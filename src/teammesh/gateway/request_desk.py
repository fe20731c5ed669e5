"""The request desk: server requests from a runtime that wait for a client's answer (over
HTTP, or a tool call's over the websocket extension in stream_extensions.py).

register → answer → resolve, or expire. The desk is the one place a request id crosses the
gateway: `register` allocates it, keeps the request pending, publishes its signal and its
`*_requested` event and records its transcript entry, inside one synchronous call (a client
reacting to the signal always finds the request pending). `answer` is the one answer path
for every kind: an answer moves the request pending → responding (racing answers get the
kind's 409, or 404) → resolved (404 from then on); the runtime's `reply` runs once per
accepted answer, then the `*_resolved` event is published and the transcript records it.
What differs between kinds is data in request_kinds.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from teammesh.gateway.clock import iso_now, now_ms
from teammesh.gateway.event_scope import Scope
from teammesh.gateway.fanout import FanOut
from teammesh.gateway.outcome import Outcome
from teammesh.gateway.pending import (
    PendingRegistry,
    PendingRequest,
    RequestIds,
    RequestKind,
    RequestState,
)
from teammesh.gateway.pretty_json import dumps_indented
from teammesh.gateway.request_kinds import KINDS, RequestKindRecord, kind_for
from teammesh.gateway.runtimes.base import JsonObject, ReplyFn, ServerRequestReply
from teammesh.gateway.session import Session
from teammesh.gateway.signals import pending_row
from teammesh.gateway.store_writes import StoreWrites
from teammesh.gateway.transcript import Entry
from teammesh.tracing.gateway_spans import add_traceparent
from teammesh.wire import request_event_type

log = logging.getLogger("teammesh.gateway.request_desk")

_LIVE = (RequestState.PENDING, RequestState.RESPONDING)


class RequestDesk:
    def __init__(
        self,
        fanout: FanOut,
        writes: StoreWrites,
        sessions: Mapping[str, Session],
        ids: RequestIds,
    ) -> None:
        self._fanout = fanout
        self._writes = writes
        self._sessions = sessions
        self._ids = ids
        self._pending = PendingRegistry()
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._pending)

    def listed(self, thread_id: str, kind: RequestKind) -> list[JsonObject]:
        return self._pending.listed(thread_id, kind)

    # ===== register (runtime → desk) ==========================================================

    def register(
        self, runtime_key: str, method: str, params: JsonObject, reply: ReplyFn, scope: Scope
    ) -> None:
        if scope.deleted:
            self._refuse(reply, -32600, f"thread {scope.thread_id} is deleted")
            return
        request_id = self._ids.allocate()
        event_type = request_event_type(method)
        received_at = iso_now()
        signal = scope.signal("request", event_type, method, params,
                              received_at=received_at, request_id=request_id)
        add_traceparent(signal, scope.thread_id)  # additive; only while its turn is traced
        record = kind_for(method)
        if record is None:
            self._fanout.publish(event_type, scope.thread_id, signal)
            self._fanout.publish("server_request", scope.thread_id,
                                 {"method": method, "id": request_id, "params": params})
            message = f"client does not support server-initiated method: {method}"
            self._refuse(reply, -32601, message)
            return
        public_id = str(request_id)
        row = pending_row(record.id_key, public_id, method, scope.thread_id, scope.turn_id,
                          params, received_at, record.fields(method, params))
        request = PendingRequest(
            request_id=request_id,
            kind=record.kind,
            method=method,
            thread_id=scope.thread_id,
            turn_id=scope.turn_id,
            params=params,
            reply=reply,
            row=row,
            runtime_key=runtime_key,
            transcript_message_id=self._message_id(record, public_id, scope.session),
            details_text=dumps_indented(row),
        )
        self._pending.add(request)
        # Registered above, published below, with no await in between.
        self._fanout.publish(event_type, scope.thread_id, signal)
        self._fanout.publish(record.requested_event, scope.thread_id, row)
        if scope.session is not None:
            self._entry(scope.session, request, "request", str(row.get("summary", "")))

    @staticmethod
    def _message_id(record: RequestKindRecord[Any], public_id: str, session: Session | None
                    ) -> str:
        if not record.numbered:
            return f"{record.slug}-{public_id}"
        seq = 1
        if session is not None:
            session.tool_call_seq += 1
            seq = session.tool_call_seq
        return f"{record.slug}-{public_id}-{seq}"

    def _refuse(self, reply: ReplyFn, code: int, message: str) -> None:
        task = asyncio.get_running_loop().create_task(
            _safe_reply(reply, {"code": code, "message": message})
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ===== answer (client → desk → runtime) ===================================================

    async def answer(self, kind: RequestKind, raw_id: str, body: Any, *,
                     thread_id: str | None = None) -> Outcome:
        """The one answer path: `body` is what `KINDS[kind].parse` returned. `thread_id`
        (a websocket scoped to one thread): a request of any other thread is not found, the
        same 404 as an unknown id, so a scoped socket learns nothing of other sessions."""
        record = KINDS[kind]
        key = record.id_key
        request = self._pending.get(raw_id, kind)
        if request is None or request.state not in _LIVE or (
            thread_id is not None and request.thread_id != thread_id
        ):
            return Outcome(404, {"status": "not_found", key: raw_id})
        if request.state is RequestState.RESPONDING:
            if record.conflict is None:
                return Outcome(404, {"status": "not_found", key: raw_id})
            return Outcome(409, record.conflict(raw_id, request))
        answer = record.answer(request, body)
        accepted = await self._forward(request, ServerRequestReply(result=answer.result))
        if accepted is False:
            return Outcome(500, {"status": "error", key: raw_id})
        if accepted is None:
            return Outcome(404, {"status": "not_found", key: raw_id})
        self._finish(request, "resolved", answer.resolved, answer.text)
        return Outcome(200, {"status": "ok", key: raw_id, "threadId": request.thread_id})

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

    # ===== expire (turn end, session delete, runtime exit, shutdown) ==========================

    def expire(self, predicate: Callable[[PendingRequest], bool]) -> None:
        for request in self._pending.take(lambda r: r.state in _LIVE and predicate(r)):
            request.state = RequestState.EXPIRED
            text, fields = KINDS[request.kind].expired
            self._finish(request, "expired", fields, text)

    def close(self) -> None:
        for task in tuple(self._tasks):
            task.cancel()
        self.expire(lambda r: True)

    # ===== what every end publishes and records ===============================================

    def _finish(self, request: PendingRequest, status: str, fields: JsonObject, text: str) -> None:
        """Publish the `*_resolved` event and record the outcome in the transcript."""
        record = KINDS[request.kind]
        payload = {record.id_key: request.public_id, "status": status, **fields}
        self._fanout.publish(record.resolved_event, request.thread_id, payload)
        session = self._sessions.get(request.thread_id) if request.thread_id else None
        if session is not None and session.deleted_at is None:
            entry = self._entry(session, request, "resolved", text)
            # Written on the next loop iteration with the rest of the iteration's rows
            # (gateway/store_batch.py): the round trip never waits for SQLite.
            self._writes.later_entries(session, [entry])

    def _entry(self, session: Session, request: PendingRequest, phase: str, text: str) -> Entry:
        slug = KINDS[request.kind].slug
        at = now_ms()
        return session.transcript.upsert(
            {
                "messageId": request.transcript_message_id,
                "turnId": request.turn_id or slug,
                "role": "system",
                "type": f"{request.kind}.{phase}",
                "content": text,
                "status": "complete",
                "details": request.details_text,
                "startedAt": at,
                "completedAt": at,
            }
        )


async def _safe_reply(reply: ReplyFn, error: JsonObject) -> None:
    try:
        await reply(ServerRequestReply(error=error))
    except Exception:
        log.warning("runtime refused an error reply", exc_info=True)
