"""What the gateway said, for the user: its own message, verbatim.

The client raises `ValidationError: sessions.create failed with status 400` for a refused
request, while the gateway's answer body says why (`unknown runtime 'nosuch' (known: codex,
llm, playbook)`). The runner's messages quote that body instead. It comes from another
process (possibly another machine), so it is cut to one line without control characters
before it reaches a terminal.
"""

from __future__ import annotations

import re

from teammesh.client import ApiError, CodexManagerError

MAX_MESSAGE = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def _clean(text: str) -> str:
    one_line = _CONTROL.sub(" ", text).strip()
    return one_line if len(one_line) <= MAX_MESSAGE else one_line[:MAX_MESSAGE] + "…"


def body_message(error: ApiError) -> str | None:
    """The `message` (or `error`) of the gateway's JSON answer, if it gave one."""
    body = error.details.response_body
    if isinstance(body, dict):
        for key in ("message", "error"):
            value = body.get(key)
            if isinstance(value, dict):  # {"error": {"message": ...}}
                value = value.get("message")
            if isinstance(value, str) and value.strip():
                return _clean(value)
    if isinstance(body, str) and body.strip():
        return _clean(body)
    return None


def gateway_message(error: CodexManagerError) -> str:
    """One line for the user: the gateway's words and what was refused, or the failure."""
    if isinstance(error, ApiError):
        said = body_message(error)
        status = error.details.status_code
        what = f"{error.details.operation}, HTTP {status}"
        return f"{said} ({what})" if said else f"{type(error).__name__}: {_clean(str(error))}"
    return f"{type(error).__name__}: {_clean(str(error))}"


def refused_at_start(error: CodexManagerError) -> bool:
    """A 4xx: the gateway refused the request as made, so retrying it cannot help."""
    if not isinstance(error, ApiError):
        return False
    status = error.details.status_code
    return status is not None and 400 <= status < 500
