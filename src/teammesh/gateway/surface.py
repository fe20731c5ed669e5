"""The upstream routes app.py has no handler for, and `GET /api/capabilities`.

Every row of `upstream_routes.ROUTES` is registered, so no upstream route answers the
route-miss 404 (`Route GET:/x not found`): codex-manager's client accepts 404 as a value on
some routes ("session not found"), and a route-miss there would pass for data. A row that is
not implemented runs upstream's checks in upstream's order (410 deleted, 404 unknown session,
400 body) and then answers upstream's 501 envelope (routes reference §1.2):

    {"status":"error","code":"method_not_supported","message":…,"details":{"method":…}}

Nothing here pretends to succeed: a route whose meaning is state codex-manager keeps says
"not implemented by this gateway" instead of answering 200 and storing nothing.

The orchestrator-queue rows (kind `queue`) answer instead what upstream itself answers with
`ORCHESTRATOR_QUEUE_ENABLED=false`, after the same guards (routes reference §1.4):

    503 {"status":"error","code":"job_conflict","message":"orchestrator queue is unavailable"}

(+`sessionId` on session routes). It is the truthful answer (health reports the queue
disabled) and the one codex-manager's client and smoke script already handle.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from teammesh.gateway.capabilities import capabilities_report
from teammesh.gateway.clock import iso_now
from teammesh.gateway.codex_passthrough import passthrough_params, shape_result
from teammesh.gateway.config_redact import known_secrets, scrub_values
from teammesh.gateway.http_io import BodyError, read_json, validate
from teammesh.gateway.hub import Hub
from teammesh.gateway.outcome import Outcome, map_runtime_error
from teammesh.gateway.project_routes import HANDLERS as PROJECT_HANDLERS
from teammesh.gateway.runtimes.base import RuntimeUnavailable
from teammesh.gateway.runtimes.registry import parse_spec
from teammesh.gateway.session import Session
from teammesh.gateway.session_controls import HANDLERS as CONTROL_HANDLERS
from teammesh.gateway.session_policy import PolicyRefusal
from teammesh.gateway.suggested_requests import HANDLERS as SUGGESTION_HANDLERS
from teammesh.gateway.transcript_upsert import HANDLERS as TRANSCRIPT_HANDLERS
from teammesh.gateway.upstream_routes import ROUTES, UpstreamRoute
from teammesh.wire import CapabilitiesQuery, SessionSettingsBody

log = logging.getLogger("teammesh.gateway.surface")
B = TypeVar("B")

# Rows implemented for real, by operation name; each module owns its rows' state.
HANDLERS = {**CONTROL_HANDLERS, **PROJECT_HANDLERS, **TRANSCRIPT_HANDLERS,
            **SUGGESTION_HANDLERS}

Handler = Callable[[Request], Awaitable[Response | Outcome]]
Wrap = Callable[[Handler], Callable[[Request], Awaitable[Response]]]


def runtime_name(spec: str) -> str:
    return parse_spec(spec)[0]


def not_supported(route: UpstreamRoute, runtime: str, session_id: str | None) -> Outcome:
    """Upstream's 501 for `route` on a session (or gateway) whose runtime is `runtime`."""
    details: dict[str, Any] = {"method": route.app_server or route.operation}
    if route.refused:  # the same on every runtime: a policy, not a gap
        message = f"method not found: {route.app_server} is {route.why}"
        details["why"] = route.why
    elif route.kind == "state":
        message = f"not implemented by this gateway: {route.operation} ({route.why})"
        details["operation"] = route.operation
    elif runtime == "codex":
        # "method not found" keeps upstream's own text classification (§1.2) true.
        message = (f"method not found: the gateway does not map {route.app_server} "
                   "to the codex runtime yet")
    else:
        message = f"method not found: the {runtime} runtime has no {route.app_server}"
    if session_id is not None:
        details["sessionId"] = session_id
    return Outcome(501, {"status": "error", "code": "method_not_supported",
                         "message": message, "details": details})


def queue_unavailable(session_id: str | None) -> Outcome:
    """Upstream's 503 for a queue route while its orchestrator queue is disabled."""
    body: dict[str, Any] = {"status": "error", "code": "job_conflict",
                            "message": "orchestrator queue is unavailable"}
    if session_id is not None:
        body["sessionId"] = session_id
    return Outcome(503, body)


async def validate_input(route: UpstreamRoute, request: Request) -> None:
    """The row's query and body schema (400 `invalid_request`), as upstream validates them.
    A POST without a schema still has its body read: size, media type and JSON syntax hold
    on every route."""
    if route.query is not None:
        validate(route.query, dict(request.query_params))
    if request.method == "GET":
        return
    raw = await read_json(request)
    if route.body is SessionSettingsBody:
        validate(SessionSettingsBody, raw)
        problem = SessionSettingsBody.parse(raw).form_problem()
        if problem is not None:
            raise BodyError(400, {"status": "error", "code": "invalid_request",
                                  "message": problem})
    elif route.body is not None:
        validate(route.body, raw)


def passthrough_handler(route: UpstreamRoute) -> Handler:
    """A row forwarded to the default runtime (only when it is one that `serves` it;
    otherwise the 501 of `unserved_handler`). Errors map as upstream maps app-server ones."""
    fallback = unserved_handler(route)
    method = route.app_server or ""

    async def handler(request: Request) -> Outcome | Response:
        hub: Hub = request.app.state.hub
        spec = hub.runtimes.default_spec
        if not route.served_on(runtime_name(spec)):
            return await fallback(request)
        query = validate(route.query, dict(request.query_params)) if route.query else None
        try:
            params = passthrough_params(route, query, hub.policy)
        except PolicyRefusal as refusal:
            return Outcome(refusal.status, refusal.body)
        try:
            runtime = await hub.runtimes.get(spec)
        except RuntimeUnavailable as exc:
            return Outcome(503, {"status": "error", "code": "runtime_unavailable",
                                 "message": exc.message})
        secrets = known_secrets(hub.policy.settings_for(runtime_name(spec)).model_api_key_env,
                                getattr(request.app.state, "bearer_token", None))
        try:
            result = await runtime.call_method(method, params)
        except Exception as exc:
            log.warning("%s failed", method, exc_info=True)
            outcome = map_runtime_error(exc, method, "")
            outcome.body["details"].pop("sessionId", None)  # a global route: {method}
            if (method.startswith("account/") and outcome.status == 409
                    and "authentication required" in str(outcome.body["message"]).lower()):
                # Departure: codex 0.169 says "no account" with -32600, which upstream's
                # mapping makes a 409; its client (allow-list 200/401/501) and smoke script
                # expect the 401 that the text means.
                outcome = Outcome(401, {**outcome.body, "code": "auth_required"})
            outcome.body["message"] = scrub_values(outcome.body["message"], secrets)
            return outcome
        return Outcome(200, shape_result(route, result, secrets))

    handler.__name__ = route.operation.replace(".", "_")
    handler.__doc__ = route.summary
    return handler


async def run_checks(
    route: UpstreamRoute, hub: Hub, session_id: str | None,
    read_body: Callable[[], Awaitable[B]],
) -> tuple[Session | None, B | None] | Outcome:
    """The row's checks in the row's order (`UpstreamRoute.checks`): `body` runs `read_body`
    (its 4xx raise), `gone` answers 410 for a deleted session, `missing` 410/404 for a
    session that is not live, `queue` upstream's 503 for its disabled queue (no check after
    it runs). Without a session id (a global route) only `body` and `queue` run.
    The live session found (None when no `missing` check ran) and the body come back."""
    body: B | None = None
    found: Session | None = None
    for check in route.checks:
        if check == "body":
            body = await read_body()
        elif check == "queue":
            return queue_unavailable(session_id)
        elif session_id is None:
            continue
        elif check == "gone":
            if (deleted := hub.deleted_outcome(session_id)) is not None:
                return deleted
        else:
            looked = hub.lookup(session_id)
            if isinstance(looked, Outcome):
                return looked
            found = looked
    return found, body


def _body_after_queue(route: UpstreamRoute) -> bool:
    checks = route.checks
    return "body" not in checks or checks.index("body") > checks.index("queue")


def unserved_handler(route: UpstreamRoute) -> Handler:
    async def handler(request: Request) -> Outcome:
        hub: Hub = request.app.state.hub
        session_id = request.path_params.get("sessionId")
        if route.needs_queue and request.method != "GET" and _body_after_queue(route):
            # Upstream's framework parses the JSON before its handler runs: size, media type
            # and syntax answer their 4xx before any guard; the schema comes after the 503.
            await read_json(request)
        checked = await run_checks(route, hub, session_id,
                                   lambda: validate_input(route, request))
        if isinstance(checked, Outcome):
            return checked
        found = checked[0]
        spec = found.runtime_key if found is not None else hub.runtimes.default_spec
        return not_supported(route, runtime_name(spec), session_id)

    handler.__name__ = route.operation.replace(".", "_")
    handler.__doc__ = route.summary
    return handler


class CapabilityClock:
    """When the capability report was last worked out: at start-up and on `refresh=true`
    (upstream's probe times; nothing is probed here, the report follows the route table)."""

    def __init__(self) -> None:
        self.updated_at = iso_now()

    def refresh(self) -> str:
        self.updated_at = iso_now()
        return self.updated_at


async def capabilities(request: Request) -> Outcome:
    query = validate(CapabilitiesQuery, dict(request.query_params))
    clock: CapabilityClock = request.app.state.capability_clock
    if query.refresh == "true":
        clock.refresh()
    hub: Hub = request.app.state.hub
    runtime = hub.runtimes.peek(hub.runtimes.default_spec)
    initialized = bool(runtime.health().get("initialized")) if runtime is not None else False
    return Outcome(200, capabilities_report(runtime_name(hub.runtimes.default_spec),
                                            initialized=initialized,
                                            updated_at=clock.updated_at,
                                            stream_extensions=_extensions_on(request)))


def _extensions_on(request: Request) -> bool:
    limits = getattr(request.app.state, "limits", None)
    return bool(getattr(limits, "ws_extensions", True))


def served_listing(default_spec: str) -> list[dict[str, Any]]:
    """`GET /api`'s `routes`: every upstream route and what the default runtime does."""
    runtime = runtime_name(default_spec)
    return [
        {"method": r.method, "path": r.path, "operation": r.operation,
         "status": "implemented" if r.served_on(runtime) else "not_implemented"}
        for r in ROUTES
    ]


def surface_routes(wrap: Wrap, registered: set[tuple[str, str]]) -> list[Route]:
    """Routes for every upstream row app.py did not register itself (`registered` holds
    `(method, upstream path)` pairs)."""
    routes: list[Route] = []
    for route in ROUTES:
        if route.key in registered:
            continue
        handler: Handler
        if route.path == "/api/capabilities":
            handler = capabilities
        elif route.operation in HANDLERS:
            handler = HANDLERS[route.operation]
        elif route.kind == "runtime" and route.serves and not route.session_scoped:
            handler = passthrough_handler(route)
        else:
            handler = unserved_handler(route)
        routes.append(Route(route.path, wrap(handler), methods=[route.method]))
    return routes
