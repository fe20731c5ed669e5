"""`/openapi.json`: every route, with request bodies derived from the pydantic models in
`teammesh.wire` (the same models that validate them) and the response shapes of wire §4–§5."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from teammesh.gateway.openapi_upstream import add_upstream_operations
from teammesh.wire import (
    ApprovalDecisionBody,
    CreateSessionBody,
    InterruptBody,
    RenameBody,
    SendMessageBody,
    ToolCallResponseBody,
    ToolInputDecisionBody,
)

_BODIES: list[type[BaseModel]] = [
    CreateSessionBody,
    RenameBody,
    SendMessageBody,
    InterruptBody,
    ToolCallResponseBody,
    ApprovalDecisionBody,
    ToolInputDecisionBody,
]

_OBJ: dict[str, Any] = {"type": "object", "additionalProperties": True}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "properties": props,
        "additionalProperties": True,
    }


_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_INT = {"type": "integer"}

_RESPONSE_SCHEMAS: dict[str, Any] = {
    "ErrorEnvelope": _obj(
        ["status"],
        status=_STR,
        code=_STR,
        message=_STR,
        issues={"type": "array", "items": _OBJ},
        details=_OBJ,
    ),
    "DeletedSession": _obj(
        ["status", "sessionId", "message", "deletedAt"],
        status={"const": "deleted"},
        sessionId=_STR,
        title=_NSTR,
        message=_STR,
        deletedAt=_STR,
    ),
    "NotFound": _obj(
        ["status"], status={"const": "not_found"}, sessionId=_STR, requestId=_STR, approvalId=_STR
    ),
    "SessionSummary": _obj(
        [
            "sessionId",
            "title",
            "materialized",
            "modelProvider",
            "approvalPolicy",
            "sessionControls",
            "createdAt",
            "updatedAt",
            "cwd",
            "source",
            "projectId",
        ],
        sessionId=_STR,
        title=_STR,
        materialized={"type": "boolean"},
        modelProvider=_STR,
        approvalPolicy=_STR,
        sessionControls=_OBJ,
        createdAt=_INT,
        updatedAt=_INT,
        cwd=_STR,
        source=_STR,
        projectId=_NSTR,
    ),
    "Turn": _obj(
        ["id", "status", "items"],
        id=_STR,
        status={"enum": ["inProgress", "completed", "interrupted", "failed"]},
        items={"type": "array", "items": _OBJ},
        error={"type": ["object", "null"]},
    ),
    "Thread": _obj(
        ["id", "preview", "modelProvider", "createdAt", "updatedAt", "cwd", "source"],
        id=_STR,
        preview=_STR,
        modelProvider=_STR,
        createdAt=_INT,
        updatedAt=_INT,
        cwd=_STR,
        source=_STR,
        turns={"type": "array", "items": _ref("Turn")},
    ),
    "TranscriptEntry": _obj(
        ["messageId", "turnId", "role", "type", "content", "status"],
        messageId=_STR,
        turnId=_STR,
        role={"enum": ["user", "assistant", "system"]},
        type=_STR,
        content=_STR,
        status={"enum": ["streaming", "complete", "canceled", "error"]},
        details=_STR,
        startedAt=_INT,
        completedAt=_INT,
    ),
    "SessionDetail": _obj(
        ["session", "thread", "transcript"],
        session=_ref("SessionSummary"),
        thread=_ref("Thread"),
        transcript={"type": "array", "items": _ref("TranscriptEntry")},
    ),
    "SessionCreated": _obj(
        ["session", "thread"], session=_ref("SessionSummary"), thread=_ref("Thread")
    ),
    "SessionList": _obj(
        ["data", "nextCursor", "archived"],
        data={"type": "array", "items": _ref("SessionSummary")},
        nextCursor=_NSTR,
        archived={"type": "boolean"},
    ),
    "PendingList": _obj(["data"], data={"type": "array", "items": _OBJ}),
    "Accepted": _obj(
        ["status", "sessionId", "turnId"], status={"const": "accepted"}, sessionId=_STR, turnId=_STR
    ),
    "Ok": _obj(["status"], status={"const": "ok"}),
    "Conflict": _obj(["status"], status=_STR, code=_STR, requestId=_STR, sessionId=_STR),
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _responses(**by_status: str) -> dict[str, Any]:
    # Every route may also answer 401 (token set) and 500 (a bug).
    codes = {
        "401": "ErrorEnvelope",
        "500": "ErrorEnvelope",
        **{k[1:]: v for k, v in by_status.items()},
    }
    return {
        code: {"description": name, "content": _json(_ref(name))}
        for code, name in sorted(codes.items())
    }


def _op(
    summary: str,
    responses: dict[str, Any],
    body: str | None = None,
    params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if body is not None:
        op["requestBody"] = {"required": False, "content": _json(_ref(body))}
    if params:
        op["parameters"] = params
    return op


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _STR}


_SID = [_path_param("sessionId")]
_BODY_ERRORS = {"_400": "ErrorEnvelope", "_413": "ErrorEnvelope", "_415": "ErrorEnvelope"}
# Past the session ceiling (403), the runtime missing or at its limit (501, 503), a store
# write refused (503, 507): what a create or a turn may also answer.
_ADMISSION = {"_403": "ErrorEnvelope", "_501": "ErrorEnvelope", "_503": "ErrorEnvelope",
              "_507": "ErrorEnvelope"}
_SESSION_GONE = {"_404": "NotFound", "_410": "DeletedSession"}


def _session_post(summary: str, body: str, **responses: str) -> dict[str, Any]:
    """A POST on one session: a body, and 404/410 when the session is unknown or deleted."""
    return {
        "post": _op(
            summary,
            _responses(**responses, **_SESSION_GONE, **_BODY_ERRORS),
            body=body,
            params=_SID,
        )
    }


def _pending_list(summary: str) -> dict[str, Any]:
    """A session's pending server requests of one kind (410 once the session is deleted)."""
    return {"get": _op(summary, _responses(_200="PendingList", _410="DeletedSession"), params=_SID)}


def _answer(summary: str, body: str, param: str, **responses: str) -> dict[str, Any]:
    """A POST answering one pending server request, named by `param` in the path."""
    return {
        "post": _op(
            summary,
            _responses(**responses, **_BODY_ERRORS),
            body=body,
            params=[_path_param(param)],
        )
    }


@functools.cache
def openapi_document() -> dict[str, Any]:
    _, defs = models_json_schema(
        [(model, "validation") for model in _BODIES],
        ref_template="#/components/schemas/{model}",
    )
    schemas = dict(defs.get("$defs", {}))
    schemas.update(_RESPONSE_SCHEMAS)
    list_query = [
        {"name": "archived", "in": "query", "schema": {"type": "boolean", "default": False}},
        {"name": "cursor", "in": "query", "schema": _STR},
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 100},
        },
        {"name": "includeSystemOwned", "in": "query", "schema": {"type": "boolean"}},
    ]
    paths: dict[str, Any] = {
        "/api/health": {"get": _op("Health", _responses(_200="Ok"))},
        "/api": {"get": _op("Service info", _responses(_200="Ok"))},
        "/api/sessions": {
            "get": _op(
                "List sessions",
                _responses(_200="SessionList", _400="ErrorEnvelope"),
                params=list_query,
            ),
            "post": _op(
                "Create a session",
                _responses(_200="SessionCreated", **_BODY_ERRORS, **_ADMISSION),
                body="CreateSessionBody",
            ),
        },
        "/api/sessions/{sessionId}": {
            "get": _op(
                "Session detail", _responses(_200="SessionDetail", **_SESSION_GONE), params=_SID
            ),
            "delete": _op("Delete a session", _responses(_200="Ok", **_SESSION_GONE), params=_SID),
        },
        "/api/sessions/{sessionId}/rename": _session_post("Rename", "RenameBody", _200="Ok"),
        "/api/sessions/{sessionId}/messages": _session_post(
            "Start a turn", "SendMessageBody", _202="Accepted", _409="ErrorEnvelope",
            **_ADMISSION,
        ),
        "/api/sessions/{sessionId}/interrupt": _session_post(
            "Interrupt the active turn", "InterruptBody", _200="Ok", _409="Conflict"
        ),
        "/api/sessions/{sessionId}/approvals": _pending_list("Pending approvals"),
        "/api/sessions/{sessionId}/tool-input": _pending_list("Pending tool input"),
        "/api/sessions/{sessionId}/tool-calls": _pending_list("Pending dynamic tool calls"),
        "/api/approvals/{approvalId}/decision": _answer(
            "Decide an approval",
            "ApprovalDecisionBody",
            "approvalId",
            _200="Ok",
            _404="NotFound",
            _409="Conflict",
        ),
        "/api/tool-calls/{requestId}/response": _answer(
            "Answer a dynamic tool call",
            "ToolCallResponseBody",
            "requestId",
            _200="Ok",
            _404="NotFound",
            _409="Conflict",
        ),
        "/api/tool-input/{requestId}/decision": _answer(
            "Answer a tool user-input request",
            "ToolInputDecisionBody",
            "requestId",
            _200="Ok",
            _404="NotFound",
        ),
        "/api/stream": {
            "get": {
                "summary": "Websocket event stream (upgrade); frames {type, threadId, payload}",
                "parameters": [{"name": "threadId", "in": "query", "schema": _STR}],
                "responses": {
                    "101": {"description": "Switching protocols"},
                    "401": {"description": "missing or invalid bearer token"},
                    "404": {"description": "a plain HTTP request (not a websocket upgrade)"},
                },
            }
        },
    }
    add_upstream_operations(paths, schemas)  # the rest of upstream's surface, from its table
    return {
        "openapi": "3.1.0",
        "info": {"title": "teammesh gateway (codex-manager wire)", "version": "0.1.0"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
