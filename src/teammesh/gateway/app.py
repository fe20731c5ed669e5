"""The Starlette app: codex-manager's HTTP routes (wire §4) and `/api/stream` (§6).

Routes stay thin: parse and validate in the order the wire prescribes (§2.5), call the hub,
write its `Outcome`. Every client mistake becomes a structured 4xx; a real bug is logged here
and answered with the `internal_error` envelope, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp

from teammesh.gateway.auth import BearerAuth
from teammesh.gateway.http_io import (
    INTERNAL_ERROR,
    BodyError,
    invalid_request,
    json_response,
    read_body,
    read_json,
    validate,
    validation_issues,
)
from teammesh.gateway.hub import Hub
from teammesh.gateway.outcome import Outcome
from teammesh.gateway.pending import RequestKind
from teammesh.gateway.request_kinds import KINDS
from teammesh.gateway.root_pointer import root_pointer
from teammesh.gateway.session_actions import HANDLERS as SESSION_ACTIONS
from teammesh.gateway.stream import stream_endpoint
from teammesh.gateway.surface import CapabilityClock, served_listing, surface_routes
from teammesh.gateway.turn_route import start_turn
from teammesh.gateway.upstream_routes import ROUTES as UPSTREAM_ROUTES
from teammesh.gateway.upstream_routes import upstream_path
from teammesh.serving.limits import ServerLimits
from teammesh.serving.origin_guard import GuardPolicy, HostOriginGuard
from teammesh.wire import (
    CreateSessionBody,
    InterruptBody,
    ListSessionsQuery,
    RenameBody,
)

log = logging.getLogger("teammesh.gateway.app")

Handler = Callable[[Request], Awaitable[Response | Outcome]]


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except BodyError as exc:
            return json_response(exc.status, exc.body)
        except ClientDisconnect:
            return json_response(
                400, {"status": "error", "code": "request_failed", "message": "client disconnected"}
            )
        except Exception:
            log.exception("unhandled error in %s %s", request.method, request.url.path)
            return json_response(500, INTERNAL_ERROR)
        if isinstance(result, Outcome):
            return json_response(result.status, result.body)
        return result

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _session_id(request: Request) -> str:
    return str(request.path_params["session_id"])


# --- system ----------------------------------------------------------------------------------


async def health(request: Request) -> Outcome:
    return Outcome(200, _hub(request).health())


async def api_info(request: Request) -> Outcome:
    # `routes`: every codex-manager route and whether the default runtime implements it.
    routes = served_listing(_hub(request).runtimes.default_spec)
    return Outcome(
        200,
        {"name": "Codex Manager API", "version": "0.1.0", "server": "teammesh", "routes": routes},
    )


async def openapi(request: Request) -> Outcome:
    # Imported when asked for: the document's module is not needed to serve anything else.
    from teammesh.gateway.openapi import openapi_document

    return Outcome(200, openapi_document())


# --- sessions --------------------------------------------------------------------------------


async def list_sessions(request: Request) -> Outcome:
    query = validate(ListSessionsQuery, dict(request.query_params))
    return _hub(request).list_sessions(
        archived=query.archived, cursor=query.cursor, limit=query.limit
    )


async def create_session(request: Request) -> Outcome:
    body = await read_body(request, CreateSessionBody)
    return await _hub(request).create_session(body)


async def get_session(request: Request) -> Outcome:
    return _hub(request).get_session(_session_id(request))


async def delete_session(request: Request) -> Outcome:
    return await _hub(request).delete_session(_session_id(request))


async def rename_session(request: Request) -> Outcome:
    hub, session_id = _hub(request), _session_id(request)
    if (deleted := hub.deleted_outcome(session_id)) is not None:
        return deleted
    body = await read_body(request, RenameBody)
    return hub.rename_session(session_id, body)


async def send_message(request: Request) -> Outcome:
    # Shared with the stream's `turn.start` command (turn_route.py).
    return await start_turn(_hub(request), _session_id(request), lambda: read_json(request),
                            request.headers)


async def interrupt(request: Request) -> Outcome:
    hub, session_id = _hub(request), _session_id(request)
    if (deleted := hub.deleted_outcome(session_id)) is not None:
        return deleted
    body = await read_body(request, InterruptBody)
    return await hub.interrupt(session_id, body)


def _listing(kind: RequestKind) -> Handler:
    async def handler(request: Request) -> Outcome:
        return _hub(request).list_requests(_session_id(request), kind)

    handler.__name__ = f"list_{kind}"
    return handler


# --- answers to server requests (body validated first, then lookup) ---------------------------


def _answer(kind: RequestKind, id_param: str) -> Handler:
    """One route per kind, one path for all: the kind's record parses the body, the desk
    answers (request_kinds.py, request_desk.py)."""
    record = KINDS[kind]

    async def handler(request: Request) -> Outcome:
        raw = await read_json(request)
        try:
            body = record.parse(raw)
        except ValidationError as exc:
            raise invalid_request(validation_issues(exc)) from None
        return await _hub(request).desk.answer(kind, str(request.path_params[id_param]), body)

    handler.__name__ = f"answer_{kind}"
    return handler


# --- framework errors in the wire's envelope ----------------------------------------------------


async def _http_exception(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        message = f"Route {request.method}:{request.url.path} not found"
    else:
        message = exc.detail if isinstance(exc, HTTPException) else "request failed"
    return json_response(status, {"status": "error", "code": "request_failed", "message": message})


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/api/health", health),
    ("GET", "/api", api_info),
    ("GET", "/openapi.json", openapi),
    ("GET", "/api/sessions", list_sessions),
    ("POST", "/api/sessions", create_session),
    ("GET", "/api/sessions/{session_id}", get_session),
    ("DELETE", "/api/sessions/{session_id}", delete_session),
    ("POST", "/api/sessions/{session_id}/rename", rename_session),
    ("POST", "/api/sessions/{session_id}/messages", send_message),
    ("POST", "/api/sessions/{session_id}/interrupt", interrupt),
    ("GET", "/api/sessions/{session_id}/approvals", _listing("approval")),
    ("GET", "/api/sessions/{session_id}/tool-input", _listing("tool_input")),
    ("GET", "/api/sessions/{session_id}/tool-calls", _listing("tool_call")),
    ("POST", "/api/approvals/{approval_id}/decision", _answer("approval", "approval_id")),
    ("POST", "/api/tool-calls/{request_id}/response", _answer("tool_call", "request_id")),
    ("POST", "/api/tool-input/{request_id}/decision", _answer("tool_input", "request_id")),
]


def build_app(
    hub: Hub,
    *,
    token: str | None = None,
    guard: GuardPolicy | None = None,
    limits: ServerLimits | None = None,
) -> ASGIApp:
    """The gateway app. `guard` (the Host/Origin policy of the bound address) runs first,
    before the token check, so a page in a browser gets nowhere even with no token set."""
    routes: list[Any] = [
        Route(path, _endpoint(handler), methods=[method]) for method, path, handler in ROUTES
    ]
    # The rest of codex-manager's surface (upstream_routes.py): registered, so none of it is
    # a route-miss 404; what is not implemented answers upstream's 501 (surface.py).
    registered = {(method, upstream_path(path)) for method, path, _ in ROUTES}
    # Thread actions (fork, rollback, steer, archive, resume): session_actions.py.
    for row in UPSTREAM_ROUTES:
        if row.operation in SESSION_ACTIONS and row.key not in registered:
            routes.append(Route(row.path, _endpoint(SESSION_ACTIONS[row.operation]),
                                methods=[row.method]))
            registered.add(row.key)
    routes.extend(surface_routes(_endpoint, registered))
    routes.append(WebSocketRoute("/api/stream", stream_endpoint))
    routes.append(Route("/", root_pointer, methods=["GET"]))  # a pointer, not a 404
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_exception})
    app.state.hub = hub
    app.state.capability_clock = CapabilityClock()
    app.state.limits = limits or ServerLimits()
    app.state.turn_start_keys = hub.turn_start_keys  # exactly-once `turn.start` (the hub's)
    app.state.bearer_token = token  # known to config/read's redaction, never logged
    authed = BearerAuth(app, token)
    return authed if guard is None else HostOriginGuard(authed, guard)
