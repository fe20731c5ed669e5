"""The one path every runtime message takes into the gateway (the `RuntimeSink` side).

A notification updates its session first (notification_state.py) and then publishes the
same websocket events codex-manager publishes (wire §6.5, §6.6); a server request goes to
the request desk, which publishes and records it itself; a runtime exit expires that
runtime's requests and ends its sessions' running turns through the notification path.
"""

from __future__ import annotations

import logging
from json.encoder import encode_basestring

from teammesh.gateway.clock import iso_now
from teammesh.gateway.event_scope import scope_of
from teammesh.gateway.fanout import FanOut, dumps
from teammesh.gateway.notification_state import STATE_METHODS, apply_notification
from teammesh.gateway.request_desk import RequestDesk
from teammesh.gateway.runtimes.base import JsonObject, ReplyFn, RuntimeSink
from teammesh.gateway.session import Session
from teammesh.gateway.store_writes import StoreWrites
from teammesh.tracing.gateway_spans import on_notification as traced_notification
from teammesh.tracing.gateway_spans import wants_notification as traced_wants
from teammesh.wire import BROADCAST_ALIASES, NOTIFICATION_ALIASES, notification_event_type

log = logging.getLogger("teammesh.gateway.runtime_events")


class RuntimeEvents:
    def __init__(
        self, sessions: dict[str, Session], fanout: FanOut, desk: RequestDesk,
        writes: StoreWrites,
    ) -> None:
        self._sessions = sessions
        self._fanout = fanout
        self._desk = desk
        self._writes = writes

    def sink_for(self, runtime_key: str) -> RuntimeSink:
        return BoundSink(self, runtime_key)

    def notification(self, runtime_key: str, method: str, params: JsonObject) -> None:
        scope = scope_of(params, self._sessions)
        if scope.deleted:
            return  # purged threads emit nothing
        thread_id, turn_id = scope.thread_id, scope.turn_id
        if scope.session is not None:
            apply_notification(self._writes, scope.session, method, params, turn_id)
            traced_notification(method, thread_id, turn_id, params)  # the turn's span
        event_type = notification_event_type(method)
        if self._fanout.wants(event_type, thread_id):
            self._fanout.publish(
                event_type,
                thread_id,
                scope.signal("notification", event_type, method, params, received_at=iso_now()),
            )
        if method == "turn/completed" and thread_id is not None and turn_id is not None:
            self._desk.expire(lambda r: r.thread_id == thread_id and r.turn_id == turn_id)
        # The alias and the generic event carry the params as they are: encoded once.
        params_json = _Encoded(params)
        alias = NOTIFICATION_ALIASES.get(method)
        if alias is not None:
            self._fanout.publish_encoded(alias, thread_id, params_json,
                                         broadcast=alias in BROADCAST_ALIASES)
        self._fanout.publish_encoded(
            "notification", thread_id,
            lambda: f'{{"method":{encode_basestring(method)},"params":{params_json()}}}')

    def wants_notification(self, method: str) -> bool:
        """Whether `notification` would do anything with `method` now: the session state
        or the turn's span reads it, or some socket could get one of its events (the
        typed event, its alias, the generic `notification`). False lets a runtime drop
        the message unparsed (runtimes/codex_skippable.py)."""
        if method in STATE_METHODS or traced_wants(method):
            return True
        fanout = self._fanout
        alias = NOTIFICATION_ALIASES.get(method)
        return (fanout.may_want("notification") or fanout.may_want(notification_event_type(method))
                or (alias is not None and fanout.may_want(alias)))

    def server_request(
        self, runtime_key: str, method: str, params: JsonObject, reply: ReplyFn
    ) -> None:
        self._desk.register(runtime_key, method, params, reply, scope_of(params, self._sessions))

    def runtime_exited(self, runtime_key: str, reason: str) -> None:
        log.warning("runtime %s exited: %s", runtime_key, reason)
        self._desk.expire(lambda r: r.runtime_key == runtime_key)
        for session in tuple(self._sessions.values()):
            if session.runtime_key != runtime_key or session.deleted_at is not None:
                continue
            session.attached = False  # re-created with resume_thread before its next turn
            active = session.active_turn
            if active is not None:
                # Through the normal path, so clients see `app_server.turn.completed`.
                self.notification(
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

    def thread_state(self, thread_id: str, state: JsonObject) -> None:
        session = self._sessions.get(thread_id)
        if session is None or session.deleted_at is not None:
            return  # a deleted session keeps nothing
        self._writes.save(self._writes.store.save_thread_state, thread_id, state)


class _Encoded:
    """A value's JSON text, encoded on first use and then reused."""

    __slots__ = ("_text", "_value")

    def __init__(self, value: object) -> None:
        self._value = value
        self._text: str | None = None

    def __call__(self) -> str:
        if self._text is None:
            self._text = dumps(self._value)
        return self._text


class BoundSink(RuntimeSink):
    """The sink one runtime instance sees: it tags every message with the runtime's key, so
    a runtime exit expires only that runtime's requests."""

    def __init__(self, events: RuntimeEvents, runtime_key: str) -> None:
        self._events = events
        self._key = runtime_key

    def notify(self, method: str, params: JsonObject) -> None:
        self._events.notification(self._key, method, params)

    def wants_notification(self, method: str) -> bool:
        return self._events.wants_notification(method)

    def server_request(self, method: str, params: JsonObject, reply: ReplyFn) -> None:
        self._events.server_request(self._key, method, params, reply)

    def runtime_exited(self, reason: str) -> None:
        self._events.runtime_exited(self._key, reason)

    def save_thread_state(self, thread_id: str, state: JsonObject) -> None:
        self._events.thread_state(thread_id, state)
