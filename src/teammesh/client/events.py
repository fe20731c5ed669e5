"""What the stream delivers: `StreamEvent` (any envelope) and `AppServerSignal` (an
`app_server.*` passthrough event, parsed).

The two facts every tool call is routed and keyed by are read here and nowhere else: the
signal's session id (`AppServerSignal.session_id`) and the request id
(`normalize_request_id`, the one spelling of an id as a key, used by the dispatcher, the
ledger and the mesh alike).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from teammesh.client.text_values import non_blank as _non_blank


@dataclass(slots=True)
class StreamEvent:
    type: str
    thread_id: str | None
    payload: Any = None

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> StreamEvent:
        thread_id = obj.get("threadId")
        return cls(
            type=str(obj.get("type") or "unknown"),
            thread_id=thread_id if isinstance(thread_id, str) else None,
            payload=obj.get("payload"),
        )


@dataclass(slots=True)
class StreamContext:
    """Passed to every handler. `reconnect_count` counts reconnects since `run_forever` began."""

    thread_id: str | None
    reconnect_count: int


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def wire_request_id(value: object) -> str | int | None:
    """A request id as the wire carries it (a string or an integer), else None. bool is an
    int; a boolean id is nonsense, so it is refused (upstream lets it in)."""
    return value if isinstance(value, str | int) and not isinstance(value, bool) else None


def normalize_request_id(value: object) -> str | None:
    """A request id as a key: `42` and `"42"` are one call; blank or not an id is None."""
    wire = wire_request_id(value)
    if wire is None:
        return None
    return str(wire) if isinstance(wire, int) else wire.strip() or None


@dataclass(slots=True)
class AppServerSignal:
    event_type: str
    method: str | None
    signal_type: str | None
    received_at: str | None
    context: dict[str, Any] = field(default_factory=dict)
    params: Any = None
    session: dict[str, Any] | None = None
    request_id: str | int | None = None
    # Ours, additive: the W3C traceparent of the gateway turn that asked (docs/tracing.md).
    traceparent: str | None = None

    @classmethod
    def from_stream_event(cls, event: StreamEvent) -> AppServerSignal:
        payload = event.payload if isinstance(event.payload, dict) else {}
        context = payload.get("context")
        session = payload.get("session")
        return cls(
            event_type=event.type,
            method=_str_or_none(payload.get("method")),
            signal_type=_str_or_none(payload.get("signalType")),
            received_at=_str_or_none(payload.get("receivedAt")),
            context=context if isinstance(context, dict) else {},
            params=payload.get("params"),
            session=session if isinstance(session, dict) else None,
            request_id=wire_request_id(payload.get("requestId")),
            traceparent=_str_or_none(payload.get("traceparent")),
        )

    @property
    def session_id(self) -> str | None:
        """`session.id`, else `context.threadId` (the routing rule of team_mesh)."""
        if self.session is not None and (sid := _non_blank(self.session.get("id"))):
            return sid
        return _non_blank(self.context.get("threadId"))

    @property
    def turn_id(self) -> str | None:
        return _non_blank(self.context.get("turnId"))
