"""W3C trace context across processes: the runner's requests carry `traceparent`, the
gateway parents a turn on it, and each tool-call signal carries the turn's back.

Only `traceparent` (no `tracestate`, no baggage): it is all a parent needs, and nothing the
runner holds (tokens, prompts) can ride along by accident."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from opentelemetry import context, trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from teammesh.tracing import state

HEADER = "traceparent"
# A valid traceparent is 55 characters (version 00); later versions may append fields. The
# SDK's propagator refuses anything over 512 but logs a warning each time: a header that long
# is dropped here, silently, so a sender cannot write a log line per request.
MAX_TRACEPARENT = 512
_propagator = TraceContextTextMapPropagator()


def traceparent_of(span: trace.Span) -> str | None:
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def current_traceparent() -> str | None:
    """The current span's `traceparent`, or None (tracing off, or no span)."""
    if not state.active():
        return None
    return traceparent_of(trace.get_current_span())


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current span's `traceparent` to outgoing request headers (the client
    pipeline's one hook); nothing when tracing is off or a caller set its own."""
    if not state.active():
        return
    value = traceparent_of(trace.get_current_span())
    if value is not None and not any(key.lower() == HEADER for key in headers):
        headers[HEADER] = value


def context_from(traceparent: object) -> context.Context | None:
    """A parent context from a `traceparent` value; None when it is absent or malformed
    (the propagator validates it: a bad header starts a new trace, never an error)."""
    if not isinstance(traceparent, str) or not traceparent or len(
            traceparent) > MAX_TRACEPARENT:
        return None
    extracted = _propagator.extract({HEADER: traceparent})
    span_ctx = trace.get_current_span(extracted).get_span_context()
    return extracted if span_ctx.is_valid else None


def context_from_headers(headers: Mapping[str, str]) -> context.Context | None:
    return context_from(headers.get(HEADER))
