"""Why a member's turn failed, and whether trying again can help.

The gateway ends a failed turn with codex's `turn.error = {message, codexErrorInfo,
additionalDetails}` on every runtime. The runner prints the message on the member's
`[round N]` line and decides from the kind:

* **recurring** (configuration): the model endpoint refuses the connection or the
  credentials, the request is malformed, the model is unknown, a key is missing, or the
  gateway refused to start the turn with a 4xx. Every later turn would fail the same way, so
  the run stops at once with that one message instead of retrying for every round.
* **transient** (anything else: a 5xx, a timeout, a rate limit): the task's attempt is
  charged (so it dead-letters after `max_attempts`) and the member waits a backoff before its
  next turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RECURRING_KINDS = frozenset({"unauthorized", "badRequest"})
CONNECTION_KINDS = frozenset({
    "httpConnectionFailed", "responseStreamConnectionFailed", "responseStreamDisconnected",
})
RECURRING_STATUS = frozenset({400, 401, 403, 404, 422})
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 8.0


@dataclass(frozen=True)
class TurnFailure:
    message: str
    recurring: bool


def failure_of_turn(detail: Any, turn_id: str) -> TurnFailure | None:
    """The failure of turn `turn_id` in a `GET /api/sessions/{id}` body, if it failed."""
    thread = detail.get("thread") if isinstance(detail, dict) else None
    turns = thread.get("turns") if isinstance(thread, dict) else None
    for turn in turns if isinstance(turns, list) else []:
        if not isinstance(turn, dict) or turn.get("id") != turn_id:
            continue
        error = turn.get("error")
        if not isinstance(error, dict):
            return None
        message = " ".join(str(error.get("message") or "").split()) or "the turn failed"
        return TurnFailure(message, is_recurring(error.get("codexErrorInfo"), message))
    return None


def is_recurring(info: Any, message: str = "") -> bool:
    if isinstance(info, str):
        return info in RECURRING_KINDS
    if isinstance(info, dict):
        for kind, fields in info.items():
            status = fields.get("httpStatusCode") if isinstance(fields, dict) else None
            if kind in CONNECTION_KINDS and status is None:
                return True  # nothing answered: the endpoint is down or mistyped
            if isinstance(status, int) and status in RECURRING_STATUS:
                return True
        return False
    text = message.lower()
    return any(s in text for s in ("api key", "is not set", "unauthorized", "unknown model"))


def refused_turn(accepted: Any) -> TurnFailure | None:
    """A `POST .../messages` answer that is a structured error: the gateway refused to start
    the turn (e.g. the llm runtime cannot use the model: no key). A 4xx will recur."""
    if not isinstance(accepted, dict) or accepted.get("status") != "error":
        return None
    message = " ".join(str(accepted.get("message") or "").split()) or "turn refused"
    code = str(accepted.get("code") or "")
    transient = code in ("codex_timeout", "codex_error", "store_unavailable",
                         "insufficient_storage")
    return TurnFailure(f"turn not accepted: {message}", recurring=not transient)


def backoff_seconds(attempt: int) -> float:
    """The pause before a member's next turn after `attempt` transient failures in a row."""
    return float(min(BACKOFF_MAX_S, BACKOFF_BASE_S * (2 ** max(0, attempt - 1))))
