"""Where a runtime message belongs: its thread, its turn and the session that owns them.

Worked out once per message from its params (signals.py's `context_*` lookups, the active
turn when the message names none), then handed on, so the notification path and the request
desk build their signals from the same facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from teammesh.gateway.session import Session
from teammesh.gateway.signals import context_thread_id, context_turn_id, signal_payload

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class Scope:
    thread_id: str | None
    turn_id: str | None
    session: Session | None

    @property
    def deleted(self) -> bool:
        """Whether the message belongs to a deleted session (which emits nothing)."""
        return self.session is not None and self.session.deleted_at is not None

    def signal(
        self, signal_type: str, event_type: str, method: str, params: JsonObject, *,
        received_at: str, request_id: int | None = None,
    ) -> JsonObject:
        """The `app_server.*` signal payload for this message (wire §6.5 A)."""
        return signal_payload(
            signal_type=signal_type,
            event_type=event_type,
            method=method,
            received_at=received_at,
            thread_id=self.thread_id,
            turn_id=self.turn_id,
            params=params,
            session=self._signal_session(),
            request_id=request_id,
        )

    def _signal_session(self) -> JsonObject | None:
        if self.session is not None:
            return self.session.signal_session()
        if self.thread_id is None:
            return None
        return {"id": self.thread_id, "title": None, "projectId": None}


def scope_of(params: Any, sessions: Mapping[str, Session]) -> Scope:
    thread_id = context_thread_id(params)
    session = sessions.get(thread_id) if thread_id else None
    turn_id = context_turn_id(params)
    if turn_id is None and session is not None:
        active = session.active_turn
        turn_id = active.id if active else None
    return Scope(thread_id, turn_id, session)
