"""The runner's spans: one root per run and one `invoke_agent <member>` per member turn.

The turn span is current while the turn is sent and awaited, so the gateway request that
starts it carries its `traceparent` (the client pipeline injects it) and the gateway's turn
span becomes its child. `turn_settled` is called where the runner settles the turn on the
board, the one place that knows how every turn ended."""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable
from typing import Any, TypeVar

from opentelemetry import context, trace

from teammesh.tracing import names, state
from teammesh.tracing.spans import failed, model_label, short

T = TypeVar("T")

# The member turn being served in this context (its span), so `turn_settled` finds it.
_turn: contextvars.ContextVar[trace.Span | None] = contextvars.ContextVar(
    "teammesh_turn_span", default=None)
# Open turn spans by session id: the parent of a tool call that came without a traceparent
# (the polling path, or a gateway that does not trace).
_open: dict[str, trace.Span] = {}


async def traced_run(team: str, run_id: str, resume: bool, run: Awaitable[T]) -> T:
    """Await the run under its root span; its outcome (status, reason) goes on the span."""
    tracer = state.tracer()
    if tracer is None:
        return await run
    attributes: dict[str, Any] = {names.TEAM: team, names.RUN_ID: run_id,
                                  "teammesh.run.resumed": resume}
    with tracer.start_as_current_span(f"team_run {team}", attributes=attributes) as span:
        outcome = await run
        status = getattr(outcome, "status", None)
        if isinstance(status, str):
            span.set_attribute(names.RUN_STATUS, status)
            span.set_attribute(names.RUN_REASON, short(getattr(outcome, "reason", "")))
            if status != "complete":
                failed(span, f"run_{status}", getattr(outcome, "reason", None))
        return outcome


async def traced_turn(member: Any, round_number: int, turn: Awaitable[T], *,
                      recovered: bool = False) -> T:
    """Await one member turn under `invoke_agent <member>` (`member` is the runner's
    MemberState: its name, spec and session). `recovered`: a turn the previous runner sent
    and this one (resuming) waits out, so its calls still hang under a turn."""
    tracer = state.tracer()
    if tracer is None:
        return await turn
    spec = member.spec
    session = member.session
    attributes: dict[str, Any] = {names.OPERATION: "invoke_agent", names.AGENT_NAME: spec.name,
                                  names.ROUND: round_number}
    if recovered:
        attributes[names.TURN_RECOVERED] = True
    model = spec.session_kwargs().get("model")
    if isinstance(model, str) and model:
        attributes[names.REQUEST_MODEL] = model_label(model)
    session_id = session.session_id if session is not None else None
    if session_id:
        attributes[names.CONVERSATION_ID] = session_id
    span = tracer.start_span(f"invoke_agent {spec.name}", attributes=attributes)
    token = context.attach(trace.set_span_in_context(span))
    own = _turn.set(span)
    if session_id:
        _open[session_id] = span
    try:
        return await turn
    except BaseException as exc:
        span.record_exception(exc)
        failed(span, type(exc).__name__, str(exc) or type(exc).__name__)
        raise
    finally:
        if session_id and _open.get(session_id) is span:
            del _open[session_id]
        _turn.reset(own)
        context.detach(token)
        span.end()


def turn_settled(*, ok: bool, lost: bool, reason: str | None) -> None:
    """How the current member turn ended, on its span (nothing outside a traced turn)."""
    span = _turn.get()
    if span is None:
        return
    status = "completed" if ok else ("lost" if lost else "failed")
    span.set_attribute(names.TURN_STATUS, status)
    if not ok:
        span.set_attribute(names.TURN_FAILURE, short(reason or status))
        failed(span, f"turn_{status}", reason)


def open_turn_context(session_id: str) -> context.Context | None:
    """The context of the session's open turn span, if there is one."""
    span = _open.get(session_id)
    return trace.set_span_in_context(span) if span is not None else None
