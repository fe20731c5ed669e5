"""A failed model call as the `error` of a failed turn, in codex's own shape.

codex ends a failed turn with `turn.error = {message, codexErrorInfo, additionalDetails}`;
the llm runtime does the same, so a client (the team runner) can say *why* a turn failed and
tell a failure that will recur (the endpoint refuses the connection or the credentials, the
request is malformed, the model is unknown) from one worth retrying (the server erred, timed
out, or is rate-limiting) with the same fields on every runtime. `codexErrorInfo` takes
codex's names: `unauthorized`, `badRequest`, `internalServerError`, `usageLimitExceeded`,
`{"httpConnectionFailed": {"httpStatusCode": null}}`, `{"responseStreamDisconnected": ...}`,
`other`.
"""

from __future__ import annotations

from typing import Any

from teammesh.gateway.runtimes.turn_events import TurnFailed

MAX_DETAIL = 300


def model_failure(exc: BaseException) -> TurnFailed:
    """The `TurnFailed` a model exception ends its turn with."""
    from pydantic_ai import exceptions as errors

    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if isinstance(exc, errors.ModelHTTPError) and isinstance(status, int):
        body = exc.body
        said = body.get("message") if isinstance(body, dict) else body
        detail = _short(str(said) if said else str(exc))
        return TurnFailed(f"model endpoint answered HTTP {status}: {detail}",
                          info=_http_info(status), details=name)
    if isinstance(exc, errors.ModelAPIError) and "timeout" in name.lower():
        return TurnFailed(f"model request timed out: {_short(str(exc))}",
                          info={"responseStreamDisconnected": {"httpStatusCode": None}},
                          details=name)
    if isinstance(exc, errors.ModelAPIError) and "connection" in name.lower():
        cause = exc.__cause__ or exc.__context__
        reason = _short(str(cause.__cause__ or cause)) if cause is not None else str(exc)
        return TurnFailed(f"model endpoint unreachable: {reason}",
                          info={"httpConnectionFailed": {"httpStatusCode": None}},
                          details=name)
    if isinstance(exc, errors.UsageLimitExceeded):
        return TurnFailed(f"model run stopped: {_short(str(exc))}", info="other", details=name)
    return TurnFailed(f"{name}: {_short(str(exc))}", info="other", details=name)


def _http_info(status: int) -> Any:
    if status in (401, 403):
        return "unauthorized"
    if status == 429:
        return "usageLimitExceeded"
    if status >= 500:
        return "internalServerError"
    if 400 <= status < 500:
        return "badRequest"
    return {"httpConnectionFailed": {"httpStatusCode": status}}


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_DETAIL else line[: MAX_DETAIL - 1] + "…"
