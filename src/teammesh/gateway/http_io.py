"""Reading request bodies and writing the wire's error envelopes (wire §2.1).

Bodies are read with a hard cap (413 past 1 MiB, checked while streaming, never buffered
beyond it); content type and JSON syntax problems are `request_failed` (400/415); schema
problems are the `invalid_request` envelope with zod-like `issues`.

A body is JSON only under the media type `application/json` exactly (`serving.media_type`):
anything else, including `text/plain; charset=application/json`, is 415 even when the body
is empty, so a web page's preflight-free POST never reaches a route.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from teammesh.gateway import json_text
from teammesh.serving.media_type import json_media_type_problem
from teammesh.wire import MAX_BODY_BYTES

M = TypeVar("M", bound=BaseModel)


class BodyError(Exception):
    """A client mistake in the request: answered with `status` and `body`, never a 500."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body


def json_response(status: int, body: Any) -> Response:
    return Response(
        json_text.dumps(body),
        status_code=status,
        media_type="application/json",
    )


def request_failed(status: int, message: str) -> BodyError:
    return BodyError(status, {"status": "error", "code": "request_failed", "message": message})


INTERNAL_ERROR = {"status": "error", "code": "internal_error", "message": "internal server error"}


async def read_json(request: Request) -> Any:
    """The parsed JSON body, or `None` when there is no body at all."""
    content_type = request.headers.get("content-type")
    if content_type is not None and (problem := json_media_type_problem(content_type)):
        raise request_failed(415, problem)  # before reading: a page's body is never read
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise request_failed(400, "invalid content-length header")
        if int(declared) > MAX_BODY_BYTES:
            raise request_failed(413, "Request body is too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise request_failed(413, "Request body is too large")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if content_type is None:
        if not raw:
            return None  # no body at all: the route's defaults
        raise request_failed(415, "Unsupported Media Type: (none); send application/json")
    if not raw:
        raise request_failed(
            400, "Body cannot be empty when content-type is set to 'application/json'"
        )
    try:
        parsed = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise request_failed(400, f"Body is not valid JSON: {exc}") from None
    except RecursionError:
        raise request_failed(400, "Body is not valid JSON: nested too deeply") from None
    check_storable(parsed)
    return parsed


def check_storable(parsed: Any) -> None:
    """Refuse a parsed body no store could keep: NaN / Infinity (not JSON; our answers would
    not be either) and `"\\udfff"`, valid JSON but no Unicode text (UTF-8 refuses lone
    surrogates). Every HTTP body passes here, and so does a body sent over the stream."""
    try:
        json.dumps(parsed, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        raise request_failed(
            400, "Body is not valid JSON text: a \\u escape is a lone UTF-16 surrogate"
        ) from None
    except ValueError as exc:
        raise request_failed(400, f"Body is not valid JSON: {exc}") from None
    except RecursionError:
        raise request_failed(400, "Body is not valid JSON: nested too deeply") from None


def _reject_constant(name: str) -> Any:
    # NaN / Infinity are not JSON; accepting them would make our own answers invalid JSON.
    raise ValueError(f"{name} is not allowed")


# pydantic error type → zod issue code (close enough for clients, which only read the status)
_ZOD_CODES = {
    "missing": "invalid_type",
    "string_type": "invalid_type",
    "bool_type": "invalid_type",
    "bool_parsing": "invalid_type",
    "int_type": "invalid_type",
    "int_parsing": "invalid_type",
    "dict_type": "invalid_type",
    "list_type": "invalid_type",
    "model_type": "invalid_type",
    "model_attributes_type": "invalid_type",
    "string_too_short": "too_small",
    "too_short": "too_small",
    "string_too_long": "too_big",
    "too_long": "too_big",
    "greater_than_equal": "too_small",
    "less_than_equal": "too_big",
    "literal_error": "invalid_value",
    "enum": "invalid_value",
    "union_tag_invalid": "invalid_union",
    "union_tag_not_found": "invalid_union",
}


def validation_issues(error: ValidationError) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    for item in error.errors(include_url=False, include_context=False, include_input=False):
        issues.append(
            {
                "code": _ZOD_CODES.get(item["type"], "custom"),
                "path": [part for part in item["loc"] if not isinstance(part, str) or part],
                "message": item["msg"],
            }
        )
    return issues


def invalid_request(issues: list[dict[str, Any]]) -> BodyError:
    return BodyError(
        400,
        {
            "status": "error",
            "code": "invalid_request",
            "message": "request validation failed",
            "issues": issues,
        },
    )


def validate(model: type[M], raw: Any) -> M:
    try:
        return model.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        raise invalid_request(validation_issues(exc)) from None


async def read_body(request: Request, model: type[M]) -> M:
    return validate(model, await read_json(request))
