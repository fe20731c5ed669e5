"""What a gateway operation answers over HTTP: a status code and a JSON body.

Its own module so that the request desk, the hub and the route modules can all speak the
wire's answers (and map a runtime failure onto them) without importing the hub.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from teammesh.gateway.runtimes.base import JsonObject, RuntimeFailure
from teammesh.gateway.session_policy import PolicyRefusal

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    """An HTTP answer: status code and JSON body, exactly as the wire specifies."""

    status: int
    body: JsonObject


def error(status: int, code: str, message: str, **extra: Any) -> Outcome:
    """The wire's error envelope `{"status": "error", "code", "message", ...}`."""
    return Outcome(status, {"status": "error", "code": code, "message": message, **extra})


def policy_check(check: Callable[[], T]) -> T | Outcome:
    """A session policy check (session_policy.py): its value, or its refusal as the answer.
    Every route that admits a session, a turn or new controls goes through here."""
    try:
        return check()
    except PolicyRefusal as refusal:
        return Outcome(refusal.status, refusal.body)


def map_runtime_error(exc: BaseException, method: str, session_id: str) -> Outcome:
    """Map a runtime failure like upstream maps app-server errors (wire §2.4)."""
    message = exc.message if isinstance(exc, RuntimeFailure) else str(exc) or type(exc).__name__
    code_num = exc.code if isinstance(exc, RuntimeFailure) else None
    text = message.lower()
    details = {"method": method, "sessionId": session_id}
    if code_num == -32601 or any(
        s in text for s in ("method not found", "unknown variant", "experimental api capability")
    ):
        return error(501, "method_not_supported", message, details=details)
    if code_num == -32602 or any(s in text for s in ("missing field", "invalid type")):
        return error(400, "invalid_params", message, details=details)
    if code_num == -32600 or any(s in text for s in ("turn is in progress", "already in progress")):
        return error(409, "invalid_state", message, details=details)
    if any(s in text for s in ("unauthorized", "authentication required")):
        return error(401, "auth_required", message, details=details)
    if "timed out" in text:
        return error(504, "codex_timeout", message, details=details)
    return error(500, "codex_error", message, details=details)
