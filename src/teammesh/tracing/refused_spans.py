"""`execute_tool <tool>` for a call the registry refused before any handler ran (an unknown
tool, arguments against the schema).

Such a call never reaches `traced_tool` (the handler wrapper), so the runner's dispatch
observer opens and ends its span here, in one go: no time passed in a handler, so the span
is as short as the refusal. Same parent rule as a handled call (the signal's traceparent,
else the member's open turn) and the same outcome attributes, so a viewer shows refusals
where they happened. The tool name is the model's text: bounded before it names a span."""

from __future__ import annotations

from typing import Any, Protocol

from teammesh.tracing import names, state
from teammesh.tracing.run_spans import open_turn_context
from teammesh.tracing.spans import failed, json_size, json_text, short
from teammesh.tracing.tool_spans import remote_parent


class RefusedDispatch(Protocol):
    """What the span reads of the client's `RemoteSkillDispatch` (tracing does not import
    the client: the client imports tracing)."""

    tool: str
    arguments: Any
    request_id: str | int | None
    call_id: str | None
    response_payload: dict[str, Any] | None
    error: str | None
    source: str
    refused_before_handler: bool


def refused_call_span(member: str, session_id: str, dispatch: RefusedDispatch) -> None:
    """The span of one call refused before its handler (nothing when tracing is off, or
    when a handler did run: that call has its span already)."""
    tracer = state.tracer()
    if tracer is None or not dispatch.refused_before_handler:
        return
    tool = short(dispatch.tool)
    reason = short(dispatch.error or "refused")
    attributes: dict[str, Any] = {
        names.OPERATION: "execute_tool", names.TOOL_NAME: tool, names.TOOL_TYPE: "function",
        names.AGENT_NAME: member, names.CONVERSATION_ID: session_id,
        names.CALL_SOURCE: dispatch.source, names.ARGUMENTS_SIZE: json_size(dispatch.arguments),
        names.TOOL_SUCCESS: False, names.BOARD_OUTCOME: "refused",
        names.BOARD_REFUSAL: reason,
        names.RESULT_SIZE: json_size(dispatch.response_payload)}
    if dispatch.request_id is not None:
        attributes[names.TOOL_CALL_ID] = short(dispatch.request_id)
    if dispatch.call_id:
        attributes[names.CODEX_CALL_ID] = short(dispatch.call_id)
    if state.capture_content():
        attributes[names.TOOL_ARGUMENTS] = json_text(dispatch.arguments)
    parent = remote_parent() or open_turn_context(session_id)
    span = tracer.start_span(f"execute_tool {tool}", context=parent, attributes=attributes)
    failed(span, "tool_refused", reason)
    span.end()
