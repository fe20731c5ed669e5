"""OpenAPI operations for the rows of `upstream_routes.ROUTES` that openapi.py does not
describe by hand: generated from the same table that registers them, with request bodies
and query parameters from the very pydantic models that validate them."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from teammesh.gateway.upstream_routes import ROUTES, RUNTIMES, UpstreamRoute

_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"\{(\w+)\}")


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": _REF.format(model=name)}


def _content(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(name)}}


def _parameters(route: UpstreamRoute) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(route.path)
    ]
    if route.query is not None:
        schema = route.query.model_json_schema()
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in required,
                           "schema": prop})
    return params


# What each implemented row answers besides the generic codes of `_responses` (the
# handlers' own refusals: project_routes.py, session_controls.py, session_actions.py, …);
# tests/reliability/test_bad_input.py fails on any status the document does not list.
_OWN_STATUSES: dict[str, tuple[int, ...]] = {
    "projects.create": (409, 413),  # duplicate_name; past 1000 projects
    "projects.rename": (404, 409),
    "projects.delete": (404, 409),  # project_not_empty
    "projects.agent_sessions.list": (404,),
    "projects.chats.move_all": (404, 409, 501),  # archive: a session's own refusal
    "projects.chats.delete_all": (404,),
    "sessions.transcript.upsert": (413,),
    "sessions.controls.apply": (403, 409, 413, 423, 501),  # ceiling; starting turn; locked
    "sessions.settings.set": (413, 423),
    "sessions.settings.unset": (423,),
    "sessions.approval_policy.set": (403, 409),
    "sessions.fork": (403, 409, 429, 503),  # ceiling; running turn; --fork-session-limit
    "sessions.archive": (409,),
    "sessions.unarchive": (409,),
    "sessions.steer": (400, 409),
    "sessions.resume": (503,),
    "skills.list": (403,),  # a cwd outside the ceiling
    "config.get": (403,),
}
# An app-server failure, mapped as upstream maps it (routes reference §1.2), and the
# runtime's own unavailability.
_MAPPED = (400, 401, 409, 500, 501, 503, 504)
_STORE_REFUSED = (503, 507)  # a write the answer depends on failed (hub._write_first)


def _responses(route: UpstreamRoute) -> dict[str, Any]:
    codes: dict[str, str] = {"200": "Ok", "401": "ErrorEnvelope", "500": "ErrorEnvelope"}
    extra: set[int] = set(_OWN_STATUSES.get(route.operation, ()))
    if route.body is not None or route.query is not None or route.method != "GET":
        codes["400"] = "ErrorEnvelope"
    if route.method != "GET":  # every body is read: size and media type hold everywhere
        extra |= {413, 415}
    if route.session_scoped:
        codes["404"] = "NotFound"
        codes["410"] = "DeletedSession"
    if route.kind == "runtime" and route.serves:
        extra |= set(_MAPPED)
    if route.serves and route.method != "GET":
        extra |= set(_STORE_REFUSED)
    if route.serves != RUNTIMES:
        codes["501"] = "MethodNotSupported"
    for code in sorted(extra):
        codes.setdefault(str(code), "ErrorEnvelope")
    if route.operation == "sessions.project.set":  # project_not_found or not_found
        codes["404"] = "ErrorEnvelope"
    return {code: {"description": name, "content": _content(name)}
            for code, name in sorted(codes.items())}


def _operation(route: UpstreamRoute) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": route.summary,
        "operationId": route.operation,
        "responses": _responses(route),
        # Which runtimes implement it; the others answer 501 method_not_supported.
        "x-teammesh-implemented-on": sorted(route.serves),
    }
    if route.app_server:
        op["x-app-server-method"] = route.app_server
    if route.why and not route.serves:
        op["description"] = f"Answers 501 on this gateway: {route.why}."
    elif route.why and route.serves != RUNTIMES:
        others = ", ".join(sorted(RUNTIMES - route.serves))
        op["description"] = f"Answers 501 on sessions of {others}: {route.why}."
    if route.body is not None:
        op["requestBody"] = {"required": False, "content": _content(route.body.__name__)}
    params = _parameters(route)
    if params:
        op["parameters"] = params
    return op


def add_upstream_operations(paths: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Fill `paths` (an OpenAPI paths object) with every upstream row it lacks, and
    `schemas` with their body models and the 501 envelope."""
    bodies: list[type[BaseModel]] = sorted(
        {r.body for r in ROUTES if r.body is not None}, key=lambda m: m.__name__
    )
    _, defs = models_json_schema([(m, "validation") for m in bodies], ref_template=_REF)
    for name, schema in defs.get("$defs", {}).items():
        schemas.setdefault(name, schema)
    schemas.setdefault("MethodNotSupported", {
        "type": "object",
        "required": ["status", "code", "message", "details"],
        "properties": {
            "status": {"const": "error"},
            "code": {"const": "method_not_supported"},
            "message": {"type": "string"},
            "details": {"type": "object", "required": ["method"],
                        "properties": {"method": {"type": "string"},
                                       "sessionId": {"type": "string"},
                                       "operation": {"type": "string"}}},
        },
    })
    for route in ROUTES:
        methods = paths.setdefault(route.path, {})
        methods.setdefault(route.method.lower(), _operation(route))
