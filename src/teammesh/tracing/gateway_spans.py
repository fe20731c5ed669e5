"""The gateway's span per turn: opened when a message is accepted, parented on the
runner's `traceparent`, ended by the runtime's `turn/completed`.

The span is current while the runtime starts the turn, so work the runtime starts in that
context (the llm runtime's pydantic-ai spans) nests under it; a runtime whose events come
from elsewhere (codex's reader task) is matched by session instead: a session has at most one
turn running, so its open span is that turn's. Each tool-call signal of the turn carries the
span's `traceparent`, so the runner's `execute_tool` span becomes its child. Token usage
(`thread/tokenUsage/updated`, codex's and the llm runtime's) is summed onto the span."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from opentelemetry import context, trace

from teammesh.tracing import names, state
from teammesh.tracing.propagation import HEADER, context_from_headers, traceparent_of
from teammesh.tracing.spans import failed, model_label, short

# A turn whose end never comes (a runtime that died unnoticed) must not hold its span
# forever: past this many open turns the oldest is ended as abandoned.
MAX_OPEN_TURNS = 4096
# codex's token-usage keys → span attributes (the conventions' where they have one).
_USAGE = {"inputTokens": names.INPUT_TOKENS, "outputTokens": names.OUTPUT_TOKENS,
          "cachedInputTokens": names.CACHED_INPUT_TOKENS,
          "reasoningOutputTokens": names.REASONING_TOKENS}

OutcomeT = TypeVar("OutcomeT", bound="HasOutcome")


class HasOutcome(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def body(self) -> Any: ...


@dataclass
class _OpenTurn:
    span: trace.Span
    turn_id: str | None = None
    usage: dict[str, int] = field(default_factory=dict)


_open: OrderedDict[str, _OpenTurn] = OrderedDict()


async def traced_send(headers: Mapping[str, str], session_id: str, runtime: str,
                      model: str | None, send: Awaitable[OutcomeT]) -> OutcomeT:
    """Start a turn (`send`: the hub's send_message) under the gateway's turn span."""
    tracer = state.tracer()
    if tracer is None:
        return await send
    # The runtime's name only: its key may carry settings (`llm?model_base_url=...`), and a
    # URL may carry credentials.
    runtime = runtime.split("?", 1)[0]
    attributes: dict[str, Any] = {names.OPERATION: "invoke_agent", names.RUNTIME: runtime,
                                  names.CONVERSATION_ID: session_id}
    if model:
        attributes[names.REQUEST_MODEL] = model_label(model)
    span = tracer.start_span(f"turn {runtime}", context=context_from_headers(headers),
                             kind=trace.SpanKind.SERVER, attributes=attributes)
    token = context.attach(trace.set_span_in_context(span))
    try:
        outcome = await send
    except BaseException as exc:
        span.record_exception(exc)
        failed(span, type(exc).__name__, str(exc))
        span.end()
        raise
    finally:
        context.detach(token)
    body = outcome.body if isinstance(outcome.body, dict) else {}
    turn_id = body.get("turnId")
    if outcome.status != 202 or not isinstance(turn_id, str):
        failed(span, f"http_{outcome.status}", str(body.get("message") or body.get("status")))
        span.end()
        return outcome
    span.set_attribute(names.TURN_ID, turn_id)
    _remember(session_id, _OpenTurn(span, turn_id))
    return outcome


def _remember(session_id: str, turn: _OpenTurn) -> None:
    previous = _open.pop(session_id, None)
    if previous is not None:  # its end never came: a later turn started on the session
        _close(previous, "abandoned", "a later turn started before its end was seen")
    _open[session_id] = turn
    while len(_open) > MAX_OPEN_TURNS:
        _, oldest = _open.popitem(last=False)
        _close(oldest, "abandoned", "too many open turns")


def wants_notification(method: str) -> bool:
    """Whether `on_notification` would read a `method` notification now: token usage while
    some turn's span is open (turn/completed is always delivered: the session needs it)."""
    return bool(_open) and method in ("thread/tokenUsage/updated", "turn/completed")


def on_notification(method: str, thread_id: str | None, turn_id: str | None,
                    params: Mapping[str, Any]) -> None:
    """The runtime-event hook: usage onto the turn's span; the span ends with the turn."""
    if not _open or thread_id is None:
        return
    turn = _open.get(thread_id)
    if turn is None or (turn_id is not None and turn.turn_id not in (None, turn_id)):
        return
    if method == "thread/tokenUsage/updated":
        _add_usage(turn, params.get("tokenUsage"))
    elif method == "turn/completed":
        del _open[thread_id]
        ended = params.get("turn")
        ended = ended if isinstance(ended, dict) else {}
        status = ended.get("status")
        error = ended.get("error")
        _close(turn, status if isinstance(status, str) else "unknown",
               error.get("message") if isinstance(error, dict) else None)


def _add_usage(turn: _OpenTurn, usage: Any) -> None:
    last = usage.get("last") if isinstance(usage, dict) else None
    if not isinstance(last, dict):
        return
    for key, attribute in _USAGE.items():
        value = last.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            turn.usage[attribute] = turn.usage.get(attribute, 0) + value
            turn.span.set_attribute(attribute, turn.usage[attribute])


def _close(turn: _OpenTurn, status: str, message: object) -> None:
    turn.span.set_attribute(names.TURN_STATUS, status)
    if status != "completed":
        turn.span.set_attribute(names.TURN_FAILURE, short(message or status))
        failed(turn.span, f"turn_{status}", str(message or status))
    turn.span.end()


def close_all(reason: str) -> None:
    """The gateway is stopping: end what is open, so it is exported rather than lost."""
    while _open:
        _, turn = _open.popitem(last=False)
        _close(turn, "interrupted", reason)


def add_traceparent(signal: dict[str, Any], thread_id: str | None) -> None:
    """A tool-call signal's additive `traceparent`: the span that asked, when it is in the
    turn's trace (the llm runtime asks from inside pydantic-ai's tool span), else the turn's
    span (codex's calls arrive on its reader task, outside any span)."""
    if not _open or thread_id is None:
        return
    turn = _open.get(thread_id)
    if turn is None:
        return
    asking = trace.get_current_span()
    in_turn = asking.get_span_context().trace_id == turn.span.get_span_context().trace_id
    value = traceparent_of(asking if in_turn else turn.span)
    if value is not None:
        signal[HEADER] = value
