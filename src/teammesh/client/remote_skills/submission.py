"""POSTing a tool response with retries, and classifying what the server said.

200 ok → accepted; 409 in_flight and 404 not_found → accepted (idempotent: someone else
answered, or the call is gone); 500 error and malformed bodies → retried; anything else →
a terminal failure. Exceptions (transport errors, unexpected statuses) are retried too.

"Accepted" on a 404/409 is codex-manager's rule and stays the default, but it is not proof
that *our* answer reached the agent. So the outcome also says `answered_elsewhere`: the 404/409
came back although no earlier attempt of ours can have been delivered (every earlier attempt
got an HTTP answer that left the call pending). Then another client answered the call first,
or the gateway expired it; either way the agent did not get this answer. After an attempt
that raised (a timeout: it may have been delivered, only its reply lost), a 404/409 may be
our own first answer, so `answered_elsewhere` stays False (undecidable, not a fault).

With `over_stream` (the event stream's `answers`, when the gateway granted answers over the
websocket) each attempt goes as a frame on that socket and comes back as the same body the
POST would have had; an attempt the socket cannot carry is POSTed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from teammesh.client.api import ToolCallsApi


class StreamAnswerer(Protocol):
    async def answer(self, request_id: str, body: dict[str, Any]) -> Any | None:
        """The POST's body (or its error raised); None when the socket cannot carry it."""
        ...


@dataclass(slots=True)
class SubmitOutcome:
    accepted: bool
    status: str | None
    code: str | None
    attempts: int
    idempotent: bool = False
    error: str | None = None
    # 404/409 with no earlier attempt of ours possibly delivered: not our answer (see above).
    answered_elsewhere: bool = False


@dataclass(slots=True)
class Classification:
    accepted: bool
    retryable: bool
    idempotent: bool
    status: str
    code: str | None
    error: str | None


def classify_response(body: Any) -> Classification:
    if not isinstance(body, dict):
        return Classification(
            False,
            True,
            False,
            "malformed",
            None,
            "tool call response rejected by codex-manager with malformed response payload",
        )
    status = body.get("status")
    raw_code = body.get("code")
    code = raw_code if isinstance(raw_code, str) else None
    if not isinstance(status, str) or not status.strip():
        return Classification(
            False,
            True,
            False,
            "malformed",
            code,
            "tool call response rejected by codex-manager with malformed status payload",
        )
    if status == "ok":
        return Classification(True, False, False, status, code, None)
    if (status == "conflict" and code == "in_flight") or status == "not_found":
        return Classification(True, False, True, status, code, None)
    detail = f"status={status}"
    if code:
        detail += f", code={code}"
    message = body.get("message")
    if isinstance(message, str) and message:
        detail += f", message={message}"
    error = f"tool call response rejected by codex-manager with {detail}"
    return Classification(False, status == "error", False, status, code, error)


async def submit_response(
    tool_calls: ToolCallsApi,
    request_id: str,
    payload: dict[str, Any],
    *,
    max_submit_attempts: int = 3,
    retry_delay_seconds: float = 0.05,
    over_stream: StreamAnswerer | None = None,
) -> SubmitOutcome:
    attempts = max(1, int(max_submit_attempts))
    delay = max(0.0, float(retry_delay_seconds))
    outcome = SubmitOutcome(False, None, None, 0, error="tool call response submission failed")
    maybe_delivered = False  # an earlier attempt raised: the server may have taken it
    for attempt in range(1, attempts + 1):
        try:
            body = None
            if over_stream is not None:
                body = await over_stream.answer(request_id, {"response": payload})
            if body is None:
                body = await tool_calls.respond(request_id, response=payload)
        except Exception as error:
            outcome = SubmitOutcome(
                False,
                "exception",
                None,
                attempt,
                error=f"tool call response submit failed: {error}",
            )
            retryable = True
            maybe_delivered = True
        else:
            verdict = classify_response(body)
            outcome = SubmitOutcome(
                verdict.accepted,
                verdict.status,
                verdict.code,
                attempt,
                idempotent=verdict.idempotent,
                error=verdict.error,
                answered_elsewhere=verdict.idempotent and not maybe_delivered,
            )
            if verdict.accepted:
                return outcome
            retryable = verdict.retryable
        if not retryable or attempt == attempts:
            return outcome
        if delay:
            await asyncio.sleep(delay * attempt)
    return outcome
