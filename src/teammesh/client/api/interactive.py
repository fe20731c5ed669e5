"""Answers to pending server requests: tool calls, approvals, tool user input."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from teammesh.client.api._base import UNSET, DomainApi, omit_none, seg
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
        return self._request(
            "tool_calls.respond",
            "POST",
            f"/tool-calls/{seg(request_id)}/response",
            json_body=body,
            allow_statuses=(404, 409, 500),
        )


class ApprovalsApi(DomainApi):
    def decide(
        self, approval_id: str | int, *, decision: Decision, scope: ApprovalScope | None = None
    ) -> Any:
        return self._request(
            "approvals.decide",
            "POST",
            f"/approvals/{seg(approval_id)}/decision",
            json_body=omit_none(decision=decision, scope=scope),
            allow_statuses=(404, 409, 500),
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
        return self._request(
            "tool_input.decide",
            "POST",
            f"/tool-input/{seg(request_id)}/decision",
            json_body=body,
            allow_statuses=(404, 500),
        )
