"""One record per kind of server request a client answers: tool call, approval, tool input.

Everything that differs between the three kinds is a field of its `RequestKindRecord`: the
runtime methods it covers, the key its id goes under, its own fields of the public row, the
events it publishes, how an HTTP answer is parsed and what result that answer sends back to
the runtime. The request desk (request_desk.py) runs one path for all three; a new kind is a
new record here, not a new branch there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from teammesh.gateway.pending import PendingRequest, RequestKind
from teammesh.gateway.signals import (
    approval_fields,
    approval_result,
    tool_call_fields,
    tool_input_fields,
)
from teammesh.wire import (
    APPROVAL_METHODS,
    TOOL_CALL_METHOD,
    TOOL_INPUT_METHODS,
    ApprovalDecisionBody,
    ToolCallResponseBody,
    ToolInputDecisionBody,
    reported_success,
)

JsonObject = dict[str, Any]
Body = TypeVar("Body")


@dataclass(frozen=True)
class Answer:
    """What one accepted HTTP answer means: the `result` the runtime gets, the fields the
    `*_resolved` event adds after `status`, and the transcript line that records it."""

    result: Any
    resolved: JsonObject
    text: str


@dataclass(frozen=True)
class RequestKindRecord(Generic[Body]):
    kind: RequestKind
    methods: frozenset[str]
    id_key: str  # "requestId" or "approvalId": in rows, answers and events alike
    slug: str  # transcript message id prefix, and the turn id of an entry without a turn
    events: tuple[str, str]  # (requested, resolved) event types
    fields: Callable[[str, JsonObject], JsonObject]  # (method, params) -> the row's own fields
    parse: Callable[[Any], Body]  # the HTTP body; raises pydantic's ValidationError
    answer: Callable[[PendingRequest, Body], Answer]
    # The 409 body for an answer racing one in flight; None: such an answer gets the 404.
    conflict: Callable[[str, PendingRequest], JsonObject] | None
    expired: tuple[str, JsonObject]  # transcript line, fields of the expired event
    numbered: bool = False  # message id carries the session's running tool-call number

    @property
    def requested_event(self) -> str:
        return self.events[0]

    @property
    def resolved_event(self) -> str:
        return self.events[1]


def _model(model: type[Any]) -> Callable[[Any], Any]:
    return lambda raw: model.model_validate(raw if raw is not None else {})


def _tool_call_answer(request: PendingRequest, body: ToolCallResponseBody) -> Answer:
    result = body.forwarded_result()
    success = reported_success(result)
    return Answer(result, {"success": success},
                  f"Tool call resolved (success={'true' if success else 'false'})")


def _approval_answer(request: PendingRequest, body: ApprovalDecisionBody) -> Answer:
    return Answer(
        approval_result(request.method, body.decision, body.scope),
        {"decision": body.decision, "scope": body.scope or "turn"},
        f"Approval resolved ({body.decision})",
    )


def _tool_input_answer(request: PendingRequest, body: ToolInputDecisionBody) -> Answer:
    result: Any
    if body.response is not None:
        result = body.response
    elif body.decision == "accept":
        result = {"answers": body.answers or {}}
    else:
        result = {"status": body.decision}
    return Answer(result, {"decision": body.decision}, f"Tool input resolved ({body.decision})")


def _in_flight(raw_id: str, request: PendingRequest) -> JsonObject:
    return {"status": "conflict", "code": "in_flight", "requestId": raw_id}


def _reconciled(raw_id: str, request: PendingRequest) -> JsonObject:
    return {"status": "reconciled", "approvalId": raw_id, "threadId": request.thread_id,
            "code": "conflict"}


TOOL_CALL: RequestKindRecord[ToolCallResponseBody] = RequestKindRecord(
    "tool_call", frozenset({TOOL_CALL_METHOD}), "requestId", "tool-call",
    ("tool_call_requested", "tool_call_resolved"), tool_call_fields,
    ToolCallResponseBody.parse, _tool_call_answer, _in_flight,
    ("Tool call expired (success=false)", {"success": False}), numbered=True,
)
APPROVAL: RequestKindRecord[ApprovalDecisionBody] = RequestKindRecord(
    "approval", APPROVAL_METHODS, "approvalId", "approval",
    ("approval", "approval_resolved"), approval_fields,
    _model(ApprovalDecisionBody), _approval_answer, _reconciled, ("Approval expired", {}),
)
# Upstream has no 409 for tool input: a request being answered right now is "not pending".
TOOL_INPUT: RequestKindRecord[ToolInputDecisionBody] = RequestKindRecord(
    "tool_input", TOOL_INPUT_METHODS, "requestId", "tool-input",
    ("tool_user_input_requested", "tool_user_input_resolved"), tool_input_fields,
    _model(ToolInputDecisionBody), _tool_input_answer, None, ("Tool input expired", {}),
)

KINDS: dict[RequestKind, RequestKindRecord[Any]] = {
    record.kind: record for record in (TOOL_CALL, APPROVAL, TOOL_INPUT)
}
_BY_METHOD = {method: record for record in KINDS.values() for method in record.methods}


def kind_for(method: str) -> RequestKindRecord[Any] | None:
    """The record of the kind a runtime method belongs to; None for a method no client
    can answer (the desk refuses those with -32601)."""
    return _BY_METHOD.get(method)
