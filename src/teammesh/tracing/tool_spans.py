"""The runner's tool-call side: `execute_tool <tool>` per call, a span per approval wait and
one per handoff.

A call's parent is the gateway turn span named by the signal's `traceparent` (the runner
sets it around answering the signal, `tool_parent`), else the member's open turn span: so in
one trace the call sits under the turn that asked for it, whichever path answered it.
Arguments and results are recorded only when content capture is opted in; by default only
their sizes."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from opentelemetry import context, trace

from teammesh.tracing import names, state
from teammesh.tracing.propagation import context_from
from teammesh.tracing.run_spans import open_turn_context
from teammesh.tracing.spans import failed, json_size, json_text, short

# The parent a signal's traceparent names, while the runner answers that signal.
_remote: contextvars.ContextVar[context.Context | None] = contextvars.ContextVar(
    "teammesh_tool_parent", default=None)

Handler = Callable[..., Any]


@contextlib.contextmanager
def tool_parent(traceparent: object) -> Iterator[None]:
    """While answering one tool-call signal: its `traceparent` parents the call's span."""
    parent = context_from(traceparent) if state.active() else None
    if parent is None:
        yield
        return
    token = _remote.set(parent)
    try:
        yield
    finally:
        _remote.reset(token)


def remote_parent() -> context.Context | None:
    """The parent the signal being answered names (None off a signal path)."""
    return _remote.get()


def _payload_text(payload: Any) -> str | None:
    """The text of a response payload (`contentItems[0].text`), if it has one."""
    items = payload.get("contentItems") if isinstance(payload, dict) else None
    if isinstance(items, list) and items and isinstance(items[0], dict):
        text = items[0].get("text")
        return text if isinstance(text, str) else None
    return None


def traced_tool(member: str, tool: str, handler: Handler, replayed: Callable[[Any], bool],
                handoff_task: Callable[[], Any] | None = None) -> Handler:
    """`handler` (the runner's guarded skill) inside `execute_tool <tool>`. `replayed(ctx)`
    says whether the board already holds this call's result (asked before the handler runs,
    and only when tracing is on). A handoff tool passes `handoff_task` (the task the member
    works on): its run is also a `handoff` span."""

    @functools.wraps(handler)
    async def traced(ctx: Any, **arguments: Any) -> Any:
        tracer = state.tracer()
        if tracer is None:
            result = handler(ctx, **arguments)
            return await result if inspect.isawaitable(result) else result
        parent = _remote.get() or open_turn_context(ctx.session_id)
        attributes: dict[str, Any] = {
            names.OPERATION: "execute_tool", names.TOOL_NAME: tool, names.TOOL_TYPE: "function",
            names.AGENT_NAME: member, names.CONVERSATION_ID: ctx.session_id,
            names.CALL_SOURCE: ctx.source, names.ARGUMENTS_SIZE: json_size(arguments)}
        if ctx.request_id is not None:
            attributes[names.TOOL_CALL_ID] = str(ctx.request_id)
        if ctx.call_id:
            attributes[names.CODEX_CALL_ID] = ctx.call_id
        if state.capture_content():
            attributes[names.TOOL_ARGUMENTS] = json_text(arguments)
        with tracer.start_as_current_span(f"execute_tool {tool}", context=parent,
                                          attributes=attributes) as span:
            was_replayed = replayed(ctx)
            if handoff_task is None:
                result = await _run(handler, ctx, arguments)
            else:
                with _handoff_span(tracer, member, arguments.get("owner"),
                                   handoff_task) as handoff:
                    result = await _run(handler, ctx, arguments)
                    _record_handoff(handoff, result)
            _record_result(span, result, was_replayed)
            return result

    return traced


async def _run(handler: Handler, ctx: Any, arguments: dict[str, Any]) -> Any:
    result = handler(ctx, **arguments)
    return await result if inspect.isawaitable(result) else result


def _record_result(span: trace.Span, payload: Any, was_replayed: bool) -> None:
    success = isinstance(payload, dict) and payload.get("success") is True
    text = _payload_text(payload)
    span.set_attribute(names.TOOL_SUCCESS, success)
    span.set_attribute(names.RESULT_SIZE, len(text.encode()) if text is not None
                       else json_size(payload))
    if state.capture_content() and text is not None:
        span.set_attribute(names.TOOL_RESULT, text)
    if was_replayed:
        outcome = "replayed"  # the board answered from its record; nothing changed
    elif success:
        outcome = "applied"
    else:
        outcome = "refused"
        span.set_attribute(names.BOARD_REFUSAL, short(text or "refused"))
        failed(span, "tool_refused", text)
    span.set_attribute(names.BOARD_OUTCOME, outcome)


async def traced_approval(member: str, tool: str, check: Awaitable[str | None]
                          ) -> str | None:
    """The wait for a call's yes/no (`ApprovalGate.check`): None approves, else the reason."""
    tracer = state.tracer()
    if tracer is None:
        return await check
    with tracer.start_as_current_span(
            f"approval {tool}", attributes={names.AGENT_NAME: member, names.TOOL_NAME: tool}
    ) as span:
        reason = await check
        span.set_attribute(names.APPROVAL_ANSWER, "approved" if reason is None else "declined")
        if reason is not None:
            span.set_attribute(names.APPROVAL_REASON, short(reason))
        return reason


def _handoff_span(tracer: trace.Tracer, member: str, owner: object,
                  current_task: Callable[[], Any]) -> Any:
    """`member` handing work to `owner` (`team_queue_work`), under the call's span."""
    to = short(owner)  # the model's argument (checked inside): bounded before it names
    attributes: dict[str, Any] = {names.HANDOFF_FROM: member, names.HANDOFF_TO: to}
    task = current_task()
    if task is not None and getattr(task, "id", None) is not None:
        attributes[names.HANDOFF_TASK_ID] = str(task.id)
    return tracer.start_as_current_span(f"handoff {member} -> {to}", attributes=attributes)


def _record_handoff(span: trace.Span, payload: Any) -> None:
    """A refused handoff (unknown or disallowed owner, a guard, a declined approval, an
    owner already done) says why."""
    if isinstance(payload, dict) and payload.get("success") is True:
        return
    reason = short(_payload_text(payload) or "refused")
    span.set_attribute(names.HANDOFF_REFUSAL, reason)
    failed(span, "handoff_refused", reason)
