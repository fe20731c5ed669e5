"""Answers to pending server requests: tool calls, approvals, tool user input."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from teammesh.client.api._base import UNSET, DomainApi, omit_none
from teammesh.wire import ApprovalScope, Decision


class ToolCallsApi(DomainApi):
    def respond(
        self,
        request_id: str | int,
        *,
        response: Any = UNSET,
        success: bool | None = None,
        content_items: Sequence[Mapping[str, Any]] | None = None,
        text: str | None = None,
    ) -> Any:
        """`response` (even `None`) is forwarded verbatim; otherwise the server builds the
        result from `success` / `content_items` / `text`."""
        body = omit_none(
            success=success,
            contentItems=None if content_items is None else [dict(i) for i in content_items],
            text=text,
        )
        if response is not UNSET:
            body = {"response": response, **body}
        return self._op("tool_calls.respond", params={"requestId": request_id}, json_body=body)


class ApprovalsApi(DomainApi):
    def decide(
        self, approval_id: str | int, *, decision: Decision, scope: ApprovalScope | None = None
    ) -> Any:
        return self._op(
            "approvals.decide",
            params={"approvalId": approval_id},
            json_body=omit_none(decision=decision, scope=scope),
        )


class ToolInputApi(DomainApi):
    def decide(
        self,
        request_id: str | int,
        *,
        decision: Decision,
        answers: Mapping[str, Any] | None = None,
        response: Any = UNSET,
    ) -> Any:
        body = omit_none(decision=decision, answers=None if answers is None else dict(answers))
        if response is not UNSET:
            body["response"] = response
        return self._op("tool_input.decide", params={"requestId": request_id}, json_body=body)
