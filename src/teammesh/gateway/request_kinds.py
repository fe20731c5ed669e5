"""One record per kind of server request a client answers: tool call, approval, tool input.

Everything that differs between the three kinds is a field of its `RequestKindRecord`: the
runtime methods it covers, the key its id goes under, its public row, the events it
publishes, how an HTTP answer is parsed and what result that answer sends back to the
runtime. The request desk (request_desk.py) runs one path for all three; a new kind is a new
record here, not a new branch there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from teammesh.gateway.pending import PendingRequest, RequestKind
from teammesh.gateway.signals import approval_result, approval_row, tool_call_row, tool_input_row
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
# (public id, method, thread id, turn id, params, created at) -> the public listing row
RowBuilder = Callable[[str, str, "str | None", "str | None", JsonObject, str], JsonObject]


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
    requested_event: str
    resolved_event: str
    row: RowBuilder
    parse: Callable[[Any], Body]  # the HTTP body; raises pydantic's ValidationError
    answer: Callable[[PendingRequest, Body], Answer]
    # The 409 body for an answer racing one in flight; None: such an answer gets the 404.
    conflict: Callable[[str, PendingRequest], JsonObject] | None
    expired_text: str
    expired: JsonObject = field(default_factory=dict)  # fields of the expired event
    numbered: bool = False  # message id carries the session's running tool-call number


def _parsed(model: type[Any]) -> Callable[[Any], Any]:
    return lambda raw: model.model_validate(raw if raw is not None else {})


def _tool_call_row(
    public_id: str, method: str, thread: str | None, turn: str | None, params: JsonObject, at: str
) -> JsonObject:
    return tool_call_row(public_id, thread, turn, params, at)


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


TOOL_CALL: RequestKindRecord[ToolCallResponseBody] = RequestKindRecord(
    kind="tool_call",
    methods=frozenset({TOOL_CALL_METHOD}),
    id_key="requestId",
    slug="tool-call",
    requested_event="tool_call_requested",
    resolved_event="tool_call_resolved",
    row=_tool_call_row,
    parse=ToolCallResponseBody.parse,
    answer=_tool_call_answer,
    conflict=lambda raw_id, _: {"status": "conflict", "code": "in_flight", "requestId": raw_id},
    expired_text="Tool call expired (success=false)",
    expired={"success": False},
    numbered=True,
)
APPROVAL: RequestKindRecord[ApprovalDecisionBody] = RequestKindRecord(
    kind="approval",
    methods=APPROVAL_METHODS,
    id_key="approvalId",
    slug="approval",
    requested_event="approval",
    resolved_event="approval_resolved",
    row=approval_row,
    parse=_parsed(ApprovalDecisionBody),
    answer=_approval_answer,
    conflict=lambda raw_id, request: {
        "status": "reconciled",
        "approvalId": raw_id,
        "threadId": request.thread_id,
        "code": "conflict",
    },
    expired_text="Approval expired",
)
TOOL_INPUT: RequestKindRecord[ToolInputDecisionBody] = RequestKindRecord(
    kind="tool_input",
    methods=TOOL_INPUT_METHODS,
    id_key="requestId",
    slug="tool-input",
    requested_event="tool_user_input_requested",
    resolved_event="tool_user_input_resolved",
    row=tool_input_row,
    parse=_parsed(ToolInputDecisionBody),
    answer=_tool_input_answer,
    conflict=None,  # upstream has no 409 here: a request being answered is "not pending"
    expired_text="Tool input expired",
)

KINDS: dict[RequestKind, RequestKindRecord[Any]] = {
    record.kind: record for record in (TOOL_CALL, APPROVAL, TOOL_INPUT)
}
_BY_METHOD = {method: record for record in KINDS.values() for method in record.methods}


def kind_for(method: str) -> RequestKindRecord[Any] | None:
    """The record of the kind a runtime method belongs to; None for a method no client
    can answer (the desk refuses those with -32601)."""
    return _BY_METHOD.get(method)
