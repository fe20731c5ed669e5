"""Small helpers every span module shares: ending a span with an outcome, sizes, and the
short, single-line text attributes may carry."""

from __future__ import annotations

import json
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from teammesh.tracing import names

# An attribute's free text (a refusal, a failure reason) is cut here: enough to tell why,
# never a whole transcript.
REASON_CHARS = 300


def short(text: object) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + "…"


def model_label(model: str) -> str:
    """A model setting fit for an attribute: a session's `model` may be `<runtime>?k=v`
    with URLs (credentials, even) in the settings, so only what comes before `?`."""
    return short(model.split("?", 1)[0])


def json_size(value: Any) -> int:
    """Bytes of `value` as compact JSON (what went over the wire, near enough)."""
    try:
        return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                              default=str).encode())
    except (TypeError, ValueError):
        return len(str(value).encode())


def json_text(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def failed(span: trace.Span, error_type: str, reason: str | None) -> None:
    """Mark `span` as an error the conventions' way: `error.type` plus an ERROR status."""
    span.set_attribute(names.ERROR_TYPE, error_type)
    span.set_status(Status(StatusCode.ERROR, short(reason) if reason else error_type))
